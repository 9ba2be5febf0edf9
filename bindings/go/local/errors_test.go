package local_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sandover/plasmite/bindings/go/api"
	plasmite "github.com/sandover/plasmite/bindings/go/local"
)

// Library errors are *Error values with kind, path, seq, hint, matched by errors.As and by the
// kind sentinels through errors.Is (and by no other kind's sentinel).
func TestLibraryErrorsCarryKindPathSeqAndHint(t *testing.T) {
	c, dir := newClient(t)

	_, err := c.OpenPool(plasmite.PoolRefName("missing"))
	var perr *plasmite.Error
	if !errors.As(err, &perr) {
		t.Fatalf("not an *Error: %T %v", err, err)
	}
	if perr.Kind != plasmite.ErrorNotFound || !strings.HasPrefix(perr.Path, dir) ||
		!strings.HasSuffix(perr.Path, "missing.plasmite") || perr.Hint == "" {
		t.Fatalf("not found: %+v", perr)
	}
	if !errors.Is(err, plasmite.ErrNotFound) || errors.Is(err, plasmite.ErrAlreadyExists) ||
		errors.Is(err, plasmite.ErrUsage) {
		t.Fatal("errors.Is does not follow the kind")
	}
	if perr.Error() != "plasmite: "+perr.Message+" ("+perr.Path+")" {
		t.Fatalf("text %q", perr.Error())
	}

	p := newPool(t, c, "e", 0)
	_, err = c.CreatePool(plasmite.PoolRefName("e"), 0)
	if !errors.Is(err, plasmite.ErrAlreadyExists) || !errors.As(err, &perr) || perr.Path == "" {
		t.Fatalf("already exists: %v", err)
	}

	_, err = p.Get(42)
	if !errors.As(err, &perr) || perr.Kind != plasmite.ErrorNotFound || perr.Seq == nil || *perr.Seq != 42 {
		t.Fatalf("missing seq: %+v", err)
	}

	_, err = c.OpenPool(plasmite.PoolRefURI("http://localhost:1/x"))
	if !errors.Is(err, plasmite.ErrUsage) || !errors.As(err, &perr) || perr.Hint == "" {
		t.Fatalf("remote ref: %+v", err)
	}
	if _, err := p.AppendJSON([]byte(`[1]`), nil, 0); !errors.Is(err, plasmite.ErrUsage) {
		t.Fatalf("non-object: %v", err)
	}
	if _, err := p.AppendJSON([]byte(`{}`), nil, 7); !errors.Is(err, plasmite.ErrUsage) {
		t.Fatalf("bad durability: %v", err)
	}
	if _, err := p.AppendLite3([]byte{1, 2, 3}, 0); !errors.Is(err, plasmite.ErrCorrupt) {
		t.Fatalf("bad lite3: %v", err)
	}
}

// Errors of the Go layer: invalid arguments before the library is called.
func TestInvalidArgumentsAreRefusedBeforeTheLibrary(t *testing.T) {
	if _, err := plasmite.NewClient(""); !errors.Is(err, plasmite.ErrInvalidArgument) ||
		err.Error() != "plasmite: invalid argument: poolDir is required" {
		t.Fatalf("empty dir: %v", err)
	}
	c, _ := newClient(t)
	if _, err := c.CreatePool("", 0); !errors.Is(err, plasmite.ErrInvalidArgument) {
		t.Fatalf("empty ref: %v", err)
	}
	if _, err := c.OpenPool(""); !errors.Is(err, plasmite.ErrInvalidArgument) {
		t.Fatalf("empty ref: %v", err)
	}
	if err := c.DeletePool(""); !errors.Is(err, plasmite.ErrInvalidArgument) {
		t.Fatalf("empty ref: %v", err)
	}
	if _, err := c.OpenPool("a\x00b"); !errors.Is(err, plasmite.ErrInvalidArgument) {
		t.Fatalf("NUL in ref: %v", err)
	}
	p := newPool(t, c, "v", 0)
	if _, err := p.AppendJSON(nil, nil, 0); !errors.Is(err, plasmite.ErrInvalidArgument) {
		t.Fatalf("empty payload: %v", err)
	}
	if _, err := p.AppendLite3(nil, 0); !errors.Is(err, plasmite.ErrInvalidArgument) {
		t.Fatalf("empty lite3: %v", err)
	}
	if _, err := p.AppendJSON([]byte(`{}`), []string{"a\x00"}, 0); !errors.Is(err, plasmite.ErrInvalidArgument) {
		t.Fatalf("NUL in tag: %v", err)
	}
}

// A tail with ErrorOnGap fails with a RetentionGap error naming the first missing seq when
// messages were evicted before it read them.
func TestTailErrorOnGapReportsRetentionGap(t *testing.T) {
	c, _ := newClient(t)
	p := newPool(t, c, "gap", 64*1024)
	appendN(t, p, 10)
	s, err := p.OpenStreamOptions(plasmite.TailOptions{SinceSeq: u64(1), ErrorOnGap: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if m, err := s.NextMessage(); err != nil || m.Seq != 1 {
		t.Fatal(m, err)
	}
	// Wrap the ring far past seq 2.
	payload := `{"pad":"` + strings.Repeat("x", 1000) + `"}`
	for i := 0; i < 200; i++ {
		if _, err := p.AppendJSON([]byte(payload), nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.NextMessage()
	var perr *plasmite.Error
	if !errors.Is(err, plasmite.ErrRetentionGap) || !errors.As(err, &perr) || perr.Seq == nil || *perr.Seq != 2 {
		t.Fatalf("gap: %+v", err)
	}

	// The same through Tail's error channel.
	msgs, errs := p.Tail(context.Background(), plasmite.TailOptions{SinceSeq: u64(1), ErrorOnGap: true})
	for range msgs {
	}
	if err := <-errs; !errors.Is(err, plasmite.ErrRetentionGap) {
		t.Fatalf("tail gap: %v", err)
	}
}

func TestApiErrorTextsAndKindNames(t *testing.T) {
	var nilErr *api.Error
	if nilErr.Error() != "plasmite: <nil error>" {
		t.Fatal(nilErr.Error())
	}
	if (&api.Error{Message: "m"}).Error() != "plasmite: m" {
		t.Fatal("text without path")
	}
	if api.ErrorRetentionGap.String() != "RetentionGap" || api.ErrorKind(42).String() != "ErrorKind(42)" {
		t.Fatal("kind names")
	}
	if api.ErrNotFound.Error() != "plasmite: NotFound" {
		t.Fatal(api.ErrNotFound.Error())
	}
	if err := api.ClosedError("stream"); !errors.Is(err, api.ErrClosed) || err.Error() != "plasmite: closed: stream is closed" {
		t.Fatal(err)
	}
}
