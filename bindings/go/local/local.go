// Package local opens plasmite pools on this machine through libplasmite (cgo): clients for a
// pool directory, pools to append to and read from, streams, and tails with context
// cancellation — as channels (Tail), and as iterators with Go 1.23 (All).
//
// Role: a thin front end. The library decides everything (pool references, validation,
// selection, gaps, waiting); this package converts arguments, calls it, and returns Go values.
//
// # Invariants
//
//   - Handles are safe for concurrent use: Client and Pool methods from many goroutines at
//     once (appends serialise on the pool's writer lock); Close waits for calls in flight, and
//     a handle used after Close returns an error wrapping ErrClosed.
//   - A Stream's Close may come from another goroutine while Next waits: the wait ends within
//     50 ms and Close frees the stream after it.
//   - A tail or iterator whose context is cancelled ends its pending wait through the
//     library's stream cancellation and leaves no goroutine behind once its channels close.
//   - Library errors are *Error values with kind, message, path, seq, offset and hint;
//     errors.Is matches them against the kind sentinels (ErrNotFound, …).
//
// Spec: the C ABI in bindings/c/include/plasmite.h; API layout compatible with plasmite
// 0.8.0's Go module.
package local

import (
	"errors"
	"os"
	"path/filepath"
	"sync"

	"github.com/sandover/plasmite/bindings/go/api"
)

// Aliases of package api, so that one import suffices.
type (
	ErrorKind     = api.ErrorKind
	Error         = api.Error
	Durability    = api.Durability
	PoolRef       = api.PoolRef
	Message       = api.Message
	Lite3Frame    = api.Lite3Frame
	TailOptions   = api.TailOptions
	ReplayOptions = api.ReplayOptions
	AppendOption  = api.AppendOption
	PoolInfo      = api.PoolInfo
)

// Error kinds.
const (
	ErrorInternal      = api.ErrorInternal
	ErrorUsage         = api.ErrorUsage
	ErrorNotFound      = api.ErrorNotFound
	ErrorAlreadyExists = api.ErrorAlreadyExists
	ErrorBusy          = api.ErrorBusy
	ErrorPermission    = api.ErrorPermission
	ErrorCorrupt       = api.ErrorCorrupt
	ErrorIO            = api.ErrorIO
	ErrorRetentionGap  = api.ErrorRetentionGap
)

// Durabilities.
const (
	DurabilityFast  = api.DurabilityFast
	DurabilityFlush = api.DurabilityFlush
)

// Sentinels (see package api).
var (
	ErrClosed          = api.ErrClosed
	ErrInvalidArgument = api.ErrInvalidArgument
	ErrInternal        = api.ErrInternal
	ErrUsage           = api.ErrUsage
	ErrNotFound        = api.ErrNotFound
	ErrAlreadyExists   = api.ErrAlreadyExists
	ErrBusy            = api.ErrBusy
	ErrPermission      = api.ErrPermission
	ErrCorrupt         = api.ErrCorrupt
	ErrIO              = api.ErrIO
	ErrRetentionGap    = api.ErrRetentionGap
)

// PoolRefName refers to a pool by name in the client's directory.
func PoolRefName(name string) PoolRef { return api.PoolRefName(name) }

// PoolRefPath refers to a pool file by path.
func PoolRefPath(path string) PoolRef { return api.PoolRefPath(path) }

// PoolRefURI refers to a pool by URI (refused by local clients).
func PoolRefURI(uri string) PoolRef { return api.PoolRefURI(uri) }

// WithDurability sets an append's durability.
func WithDurability(d Durability) AppendOption { return api.WithDurability(d) }

// Version is libplasmite's version ("major.minor.patch").
func Version() string { return cVersion() }

var (
	_ api.Client      = (*Client)(nil)
	_ api.Pool        = (*Pool)(nil)
	_ api.Stream      = (*Stream)(nil)
	_ api.Lite3Stream = (*Lite3Stream)(nil)
)

// Client resolves pool references in one pool directory.
type Client struct {
	mu  sync.RWMutex
	ptr cClient
}

// NewClient makes a client for poolDir (neither created nor checked here; creating a pool
// makes it).
func NewClient(poolDir string) (*Client, error) {
	if poolDir == "" {
		return nil, api.InvalidArgumentError("poolDir is required")
	}
	ptr, err := cClientNew(poolDir)
	if err != nil {
		return nil, err
	}
	return &Client{ptr: ptr}, nil
}

// NewDefaultClient is NewClient(DefaultPoolDir()).
func NewDefaultClient() (*Client, error) { return NewClient(DefaultPoolDir()) }

// DefaultPoolDir is ~/.plasmite/pools (or <temp dir>/plasmite/pools without a home).
func DefaultPoolDir() string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return filepath.Join(os.TempDir(), "plasmite", "pools")
	}
	return filepath.Join(home, ".plasmite", "pools")
}

// Close releases the client (idempotent; pools opened through it stay open).
func (c *Client) Close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ptr != nil {
		cClientFree(c.ptr)
		c.ptr = nil
	}
}

// with runs f with the live handle, or fails with ClosedError("client").
func (c *Client) with(f func(cClient) error) error {
	if c == nil {
		return api.ClosedError("client")
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return api.ClosedError("client")
	}
	return f(c.ptr)
}

// CreatePool creates the pool file ref names, sizeBytes large (0: 1 MiB), and opens it;
// an existing file is ErrAlreadyExists.
func (c *Client) CreatePool(ref PoolRef, sizeBytes uint64) (api.Pool, error) {
	if ref == "" {
		if err := c.with(func(cClient) error { return nil }); err != nil {
			return nil, err
		}
		return nil, api.InvalidArgumentError("pool ref is required")
	}
	if sizeBytes == 0 {
		sizeBytes = api.DefaultPoolSizeBytes
	}
	var p cPool
	err := c.with(func(cc cClient) (err error) {
		p, err = cPoolCreate(cc, string(ref), sizeBytes)
		return err
	})
	if err != nil {
		return nil, err
	}
	return newPool(p), nil
}

// OpenPool opens an existing pool (missing: ErrNotFound).
func (c *Client) OpenPool(ref PoolRef) (api.Pool, error) {
	if ref == "" {
		if err := c.with(func(cClient) error { return nil }); err != nil {
			return nil, err
		}
		return nil, api.InvalidArgumentError("pool ref is required")
	}
	var p cPool
	err := c.with(func(cc cClient) (err error) {
		p, err = cPoolOpen(cc, string(ref))
		return err
	})
	if err != nil {
		return nil, err
	}
	return newPool(p), nil
}

// Pool opens ref, creating it (sizeBytes; 0: 1 MiB) when it does not exist. Two processes
// racing to create it both end up with the pool.
func (c *Client) Pool(ref PoolRef, sizeBytes uint64) (api.Pool, error) {
	p, err := c.OpenPool(ref)
	if !errors.Is(err, api.ErrNotFound) {
		return p, err
	}
	p, err = c.CreatePool(ref, sizeBytes)
	if errors.Is(err, api.ErrAlreadyExists) {
		return c.OpenPool(ref)
	}
	return p, err
}

// DeletePool (extension) deletes the pool file ref names (missing: ErrNotFound). Handles and
// streams already open keep reading what they mapped.
func (c *Client) DeletePool(ref PoolRef) error {
	if ref == "" {
		return api.InvalidArgumentError("pool ref is required")
	}
	return c.with(func(cc cClient) error { return cPoolDelete(cc, string(ref)) })
}

// ListPools (extension) describes every pool in the client's directory, sorted by name (a
// missing directory lists as none).
func (c *Client) ListPools() ([]PoolInfo, error) {
	var raw []byte
	err := c.with(func(cc cClient) (err error) {
		raw, err = cPoolList(cc)
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []PoolInfo
	if err := jsonUnmarshal(raw, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// PoolInfo (extension) describes the pool ref names.
func (c *Client) PoolInfo(ref PoolRef) (*PoolInfo, error) {
	p, err := c.OpenPool(ref)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return p.(*Pool).Info()
}
