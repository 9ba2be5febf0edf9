// Package api holds the types and interfaces of plasmite pools in Go, with no cgo: messages,
// frames, options, the error type, and the Client/Pool/Stream contracts that package local
// implements over libplasmite.
//
// Role: the contract both sides agree on — code can depend on these interfaces and test
// against fakes, while package local is the implementation over libplasmite.
//
// # Invariants
//
//   - Everything here is plain data: nothing touches a pool or calls C.
//   - Sequence numbers start at 1 and only grow; a Message's Raw is the envelope as the library
//     produced it, and its other fields are read from it.
//   - Error kinds are the C ABI's numbers, stable across releases.
//
// Spec: bindings/c/include/plasmite.h (envelopes, kinds); API layout compatible with plasmite
// 0.8.0's Go module.
package api

import (
	"context"
	"time"
)

// Durability says when an append returns: DurabilityFast once the message is visible to every
// process, DurabilityFlush once its pages were also flushed to disk.
type Durability uint32

// Durabilities.
const (
	DurabilityFast  Durability = 0
	DurabilityFlush Durability = 1
)

// ApplyAppend makes a Durability usable as an AppendOption:
// pool.Append(v, nil, api.DurabilityFast).
func (d Durability) ApplyAppend(c *AppendConfig) { c.Durability = d }

// AppendConfig is what AppendOptions set.
type AppendConfig struct {
	Durability Durability
}

// AppendOption sets part of an AppendConfig: WithDurability(d), a Durability itself, or an
// AppendOptionFunc.
type AppendOption interface {
	ApplyAppend(*AppendConfig)
}

// AppendOptionFunc is an AppendOption written as a function.
type AppendOptionFunc func(*AppendConfig)

// ApplyAppend calls f.
func (f AppendOptionFunc) ApplyAppend(c *AppendConfig) { f(c) }

// WithDurability sets the durability of an append.
func WithDurability(d Durability) AppendOption {
	return AppendOptionFunc(func(c *AppendConfig) { c.Durability = d })
}

// ApplyAppendOptions folds opts (nil entries skipped) over the default config (Fast).
func ApplyAppendOptions(opts ...AppendOption) AppendConfig {
	cfg := AppendConfig{Durability: DurabilityFast}
	for _, o := range opts {
		if o != nil {
			o.ApplyAppend(&cfg)
		}
	}
	return cfg
}

// DefaultPoolSizeBytes is the size of a pool created with size 0 (1 MiB).
const DefaultPoolSizeBytes uint64 = 1048576

// DefaultPoolSize is DefaultPoolSizeBytes.
const DefaultPoolSize = DefaultPoolSizeBytes

// PoolRef names a pool: a name ("events" ⇒ <pool dir>/events.plasmite) or, when it contains a
// '/', a file path. The library interprets it; the constructors only say what was meant.
type PoolRef string

// PoolRefName refers to a pool by name in the client's directory.
func PoolRefName(name string) PoolRef { return PoolRef(name) }

// PoolRefPath refers to a pool file by path (a path needs a '/': "./x.plasmite").
func PoolRefPath(path string) PoolRef { return PoolRef(path) }

// PoolRefURI refers to a pool by URI (remote pools are not supported by local clients).
func PoolRefURI(uri string) PoolRef { return PoolRef(uri) }

// TailOptions selects what a tail delivers.
type TailOptions struct {
	// SinceSeq: start at this sequence (inclusive); nil: the oldest retained message.
	SinceSeq *uint64
	// MaxMessages: end after delivering this many (matching) messages.
	MaxMessages *uint64
	// Tags: deliver only messages carrying every one of these tags (exact match).
	Tags []string
	// Timeout is accepted for compatibility and does not end a tail: a tail waits on the
	// pool's wake-up and notices cancellation at once, so it needs no polling window. Use
	// MaxWait to end a tail after a while.
	Timeout time.Duration
	// Buffer: capacity of the message channel (≤ 0: 64).
	Buffer int
	// ErrorOnGap: fail with ErrorRetentionGap when messages were evicted before the tail read
	// them (else they are skipped).
	ErrorOnGap bool

	// Where (extension): jq predicates every delivered message's envelope must pass.
	Where []string
	// Live (extension): start with messages appended after the tail opens.
	Live bool
	// Last (extension): start with the last *Last matching messages, then live ones.
	Last *uint64
	// MaxWait (extension): end the tail once this long has passed since it opened with
	// nothing more to deliver (messages already in the pool are delivered in full);
	// 0: never.
	MaxWait time.Duration
}

// ReplayOptions selects what a replay delivers and how fast.
type ReplayOptions struct {
	// Speed: 2 replays twice as fast as the messages were written (≤ 0: 1).
	Speed float64
	// SinceSeq: start at this sequence (inclusive); nil: the oldest retained message.
	SinceSeq *uint64
	// MaxMessages: at most this many messages.
	MaxMessages *uint64
	// Timeout: also replay messages appended until this long after the replay opened
	// (≤ 0: only what the pool holds when it opens).
	Timeout time.Duration
}

// Client opens and creates pools in one pool directory.
type Client interface {
	Close()
	CreatePool(ref PoolRef, sizeBytes uint64) (Pool, error)
	OpenPool(ref PoolRef) (Pool, error)
	// Pool opens ref, creating it (sizeBytes; 0: the default) when it does not exist.
	Pool(ref PoolRef, sizeBytes uint64) (Pool, error)
}

// Pool is an open pool.
type Pool interface {
	Close()
	AppendJSON(payload []byte, tags []string, durability Durability) ([]byte, error)
	Append(value any, tags []string, opts ...AppendOption) (*Message, error)
	AppendLite3(payload []byte, durability Durability) (uint64, error)
	GetJSON(seq uint64) ([]byte, error)
	Get(seq uint64) (*Message, error)
	GetLite3(seq uint64) (*Lite3Frame, error)
	OpenStream(sinceSeq, maxMessages, timeoutMs *uint64) (Stream, error)
	OpenLite3Stream(sinceSeq, maxMessages, timeoutMs *uint64) (Lite3Stream, error)
	Tail(ctx context.Context, opts TailOptions) (<-chan *Message, <-chan error)
	TailLite3(ctx context.Context, opts TailOptions) (<-chan *Lite3Frame, <-chan error)
	Replay(ctx context.Context, opts ReplayOptions) (<-chan *Message, <-chan error)
}

// Stream yields message envelopes; io.EOF at its end.
type Stream interface {
	NextJSON() ([]byte, error)
	Close()
}

// Lite3Stream yields raw frames; io.EOF at its end.
type Lite3Stream interface {
	Next() (*Lite3Frame, error)
	Close()
}
