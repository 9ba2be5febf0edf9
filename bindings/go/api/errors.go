package api

import (
	"errors"
	"fmt"
)

// ErrorKind is the stable kind of an error (the same numbers as the C ABI's plsm_error_kind_t
// and the command line's exit codes).
type ErrorKind int32

// The error kinds.
const (
	ErrorInternal      ErrorKind = 1
	ErrorUsage         ErrorKind = 2
	ErrorNotFound      ErrorKind = 3
	ErrorAlreadyExists ErrorKind = 4
	ErrorBusy          ErrorKind = 5
	ErrorPermission    ErrorKind = 6
	ErrorCorrupt       ErrorKind = 7
	ErrorIO            ErrorKind = 8
	ErrorRetentionGap  ErrorKind = 9
)

var kindNames = [...]string{
	ErrorInternal:      "Internal",
	ErrorUsage:         "Usage",
	ErrorNotFound:      "NotFound",
	ErrorAlreadyExists: "AlreadyExists",
	ErrorBusy:          "Busy",
	ErrorPermission:    "Permission",
	ErrorCorrupt:       "Corrupt",
	ErrorIO:            "Io",
	ErrorRetentionGap:  "RetentionGap",
}

// String is the kind's name ("NotFound"), or "ErrorKind(n)" for a number outside 1–9.
func (k ErrorKind) String() string {
	if k >= ErrorInternal && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("ErrorKind(%d)", int32(k))
}

// Error is an error reported by the library: its kind, what went wrong, and where (path,
// sequence, ring offset), plus a hint saying what to do next. Match it with errors.As, or its
// kind with errors.Is against the Err* kind sentinels:
//
//	var perr *api.Error
//	if errors.As(err, &perr) { fmt.Println(perr.Kind, perr.Hint) }
//	if errors.Is(err, api.ErrNotFound) { ... }
type Error struct {
	Kind    ErrorKind
	Message string
	Path    string
	Seq     *uint64
	Offset  *uint64
	// Hint says what to do next ("" when there is nothing to add). Not part of Error().
	Hint string
}

// Error is "plasmite: <Message> (<Path>)", or "plasmite: <Message>" without a path.
func (e *Error) Error() string {
	if e == nil {
		return "plasmite: <nil error>"
	}
	if e.Path != "" {
		return "plasmite: " + e.Message + " (" + e.Path + ")"
	}
	return "plasmite: " + e.Message
}

// Is reports whether target is the sentinel of e's kind (ErrNotFound for ErrorNotFound, …).
func (e *Error) Is(target error) bool {
	s, ok := target.(*kindSentinel)
	return ok && e != nil && s.kind == e.Kind
}

// kindSentinel is the value behind the Err* kind sentinels.
type kindSentinel struct{ kind ErrorKind }

func (s *kindSentinel) Error() string { return "plasmite: " + s.kind.String() }

// Kind sentinels: errors.Is(err, ErrNotFound) holds for every *Error of that kind.
var (
	ErrInternal      error = &kindSentinel{ErrorInternal}
	ErrUsage         error = &kindSentinel{ErrorUsage}
	ErrNotFound      error = &kindSentinel{ErrorNotFound}
	ErrAlreadyExists error = &kindSentinel{ErrorAlreadyExists}
	ErrBusy          error = &kindSentinel{ErrorBusy}
	ErrPermission    error = &kindSentinel{ErrorPermission}
	ErrCorrupt       error = &kindSentinel{ErrorCorrupt}
	ErrIO            error = &kindSentinel{ErrorIO}
	ErrRetentionGap  error = &kindSentinel{ErrorRetentionGap}
)

// Errors of the Go layer itself: a handle used after Close, an argument refused before the
// library is called.
var (
	ErrClosed          = errors.New("plasmite: closed")
	ErrInvalidArgument = errors.New("plasmite: invalid argument")
)

// ClosedError says `target` ("client", "pool", "stream") was used after Close; it wraps
// ErrClosed.
func ClosedError(target string) error {
	return fmt.Errorf("%w: %s is closed", ErrClosed, target)
}

// InvalidArgumentError says an argument was refused; it wraps ErrInvalidArgument.
func InvalidArgumentError(message string) error {
	return fmt.Errorf("%w: %s", ErrInvalidArgument, message)
}
