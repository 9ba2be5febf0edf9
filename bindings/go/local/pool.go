package local

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/sandover/plasmite/bindings/go/api"
)

// Pool is an open pool. Its methods may be called from many goroutines at once.
type Pool struct {
	mu  sync.RWMutex
	ptr cPool
}

func newPool(p cPool) *Pool { return &Pool{ptr: p} }

// Close closes the pool handle (idempotent). Streams and tails opened from it go on.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ptr != nil {
		cPoolFree(p.ptr)
		p.ptr = nil
	}
}

// with runs f with the live handle, or fails with ClosedError("pool"). Close waits for it.
func (p *Pool) with(f func(cPool) error) error {
	if p == nil {
		return api.ClosedError("pool")
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.ptr == nil {
		return api.ClosedError("pool")
	}
	return f(p.ptr)
}

// AppendJSON appends the JSON object payload with tags and returns the committed envelope
// ({"seq","time","meta","data"}).
func (p *Pool) AppendJSON(payload []byte, tags []string, durability Durability) ([]byte, error) {
	if len(payload) == 0 {
		if err := p.with(func(cPool) error { return nil }); err != nil {
			return nil, err
		}
		return nil, api.InvalidArgumentError("payload is required")
	}
	packed, err := packStrings(tags, "tags")
	if err != nil {
		return nil, err
	}
	var out []byte
	err = p.with(func(cp cPool) (err error) {
		out, err = cAppendJSON(cp, payload, packed, len(tags), durability)
		return err
	})
	return out, err
}

// Append marshals value with encoding/json, appends it, and returns the committed message.
// opts may be durabilities themselves: pool.Append(v, nil, DurabilityFlush).
func (p *Pool) Append(value any, tags []string, opts ...AppendOption) (*Message, error) {
	payload, err := json.Marshal(value)
	if err != nil {
		return nil, fmt.Errorf("plasmite: marshal payload: %w", err)
	}
	raw, err := p.AppendJSON(payload, tags, api.ApplyAppendOptions(opts...).Durability)
	if err != nil {
		return nil, err
	}
	return api.DecodeOwnedMessage(raw, false)
}

// AppendBatchJSONL (extension) appends every non-blank line of jsonl (one JSON object per
// line) with the same tags under one acquisition of the writer lock; a bad line appends
// nothing. It returns the first new sequence (0 when there were no lines) and the count.
func (p *Pool) AppendBatchJSONL(jsonl []byte, tags []string, durability Durability) (first, count uint64, err error) {
	packed, err := packStrings(tags, "tags")
	if err != nil {
		return 0, 0, err
	}
	err = p.with(func(cp cPool) (err error) {
		first, count, err = cAppendBatch(cp, jsonl, packed, len(tags), durability)
		return err
	})
	return first, count, err
}

// AppendLite3 appends a message-shaped Lite³ document verbatim and returns its sequence.
func (p *Pool) AppendLite3(payload []byte, durability Durability) (uint64, error) {
	if len(payload) == 0 {
		if err := p.with(func(cPool) error { return nil }); err != nil {
			return 0, err
		}
		return 0, api.InvalidArgumentError("payload is required")
	}
	var seq uint64
	err := p.with(func(cp cPool) (err error) {
		seq, err = cAppendLite3(cp, payload, durability)
		return err
	})
	return seq, err
}

// scratch buffers for GetJSON: the envelope lands in one, then is copied at its exact size.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// GetJSON fetches message seq as an envelope (absent or evicted: ErrNotFound).
func (p *Pool) GetJSON(seq uint64) ([]byte, error) {
	bp := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(bp)
	var out []byte
	err := p.with(func(cp cPool) error {
		raw, err := cGetJSON(cp, seq, *bp)
		out = exact(raw, *bp)
		return err
	})
	return out, err
}

// exact is raw as its own slice: copied when it lies in scratch.
func exact(raw, scratch []byte) []byte {
	if raw == nil {
		return nil
	}
	if len(raw) > 0 && len(scratch) > 0 && &raw[0] == &scratch[0] {
		return append(make([]byte, 0, len(raw)), raw...)
	}
	return raw
}

// Get fetches message seq (absent or evicted: ErrNotFound).
func (p *Pool) Get(seq uint64) (*Message, error) {
	raw, err := p.GetJSON(seq)
	if err != nil {
		return nil, err
	}
	return api.DecodeOwnedMessage(raw, false)
}

// GetLite3 fetches message seq as a raw frame.
func (p *Pool) GetLite3(seq uint64) (*Lite3Frame, error) {
	var out *Lite3Frame
	err := p.with(func(cp cPool) (err error) {
		out, err = cGetLite3(cp, seq)
		return err
	})
	return out, err
}

// Info (extension) describes the pool: geometry, bounds, metrics.
func (p *Pool) Info() (*PoolInfo, error) {
	var raw []byte
	err := p.with(func(cp cPool) (err error) {
		raw, err = cPoolInfo(cp)
		return err
	})
	if err != nil {
		return nil, err
	}
	var info PoolInfo
	if err := jsonUnmarshal(raw, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

func jsonUnmarshal(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return &api.Error{Kind: api.ErrorInternal, Message: "unexpected answer: " + err.Error()}
	}
	return nil
}

// OpenStream opens a stream of envelopes: from sinceSeq (nil: the oldest retained message),
// at most maxMessages, ending timeoutMs after it opened with nothing more to deliver
// (messages in the pool at open are delivered in full; nil: waits for ever). Evicted
// messages are skipped.
func (p *Pool) OpenStream(sinceSeq, maxMessages, timeoutMs *uint64) (api.Stream, error) {
	return p.openStream(&streamSpec{since: sinceSeq, max: maxMessages, timeoutMs: timeoutMs})
}

// OpenLite3Stream is OpenStream for raw frames.
func (p *Pool) OpenLite3Stream(sinceSeq, maxMessages, timeoutMs *uint64) (api.Lite3Stream, error) {
	s, err := p.openStream(&streamSpec{
		lite3: true, since: sinceSeq, max: maxMessages, timeoutMs: timeoutMs,
	})
	if err != nil {
		return nil, err
	}
	return &Lite3Stream{core: s.core}, nil
}

// OpenStreamOptions (extension) opens a stream selecting what Tail would deliver: SinceSeq,
// MaxMessages, Tags, Where, Live, Last, ErrorOnGap, MaxWait.
func (p *Pool) OpenStreamOptions(opts TailOptions) (*Stream, error) {
	spec, err := specOf(opts, false)
	if err != nil {
		return nil, err
	}
	return p.openStream(spec)
}

// OpenLite3StreamOptions (extension) is OpenStreamOptions for raw frames.
func (p *Pool) OpenLite3StreamOptions(opts TailOptions) (*Lite3Stream, error) {
	spec, err := specOf(opts, true)
	if err != nil {
		return nil, err
	}
	s, err := p.openStream(spec)
	if err != nil {
		return nil, err
	}
	return &Lite3Stream{core: s.core}, nil
}

func specOf(opts TailOptions, lite3 bool) (*streamSpec, error) {
	tags, err := packStrings(opts.Tags, "tags")
	if err != nil {
		return nil, err
	}
	where, err := packStrings(opts.Where, "where")
	if err != nil {
		return nil, err
	}
	s := &streamSpec{
		lite3:      lite3,
		errorOnGap: opts.ErrorOnGap,
		since:      opts.SinceSeq,
		max:        opts.MaxMessages,
		start:      startDefault,
		tags:       tags,
		ntags:      len(opts.Tags),
		where:      where,
		nwhere:     len(opts.Where),
	}
	switch {
	case opts.Live && opts.Last != nil:
		return nil, api.InvalidArgumentError("Live and Last exclude each other")
	case opts.Live:
		s.start = startLive
	case opts.Last != nil:
		s.start, s.lastN = startLast, *opts.Last
	}
	if opts.MaxWait > 0 {
		// Whole milliseconds, rounded up: a sub-millisecond wait is not "no wait".
		ms := uint64((opts.MaxWait + 999_999) / 1_000_000)
		s.timeoutMs = &ms
	}
	return s, nil
}

func (p *Pool) openStream(spec *streamSpec) (*Stream, error) {
	var s *Stream
	err := p.with(func(cp cPool) error {
		ptr, err := cStreamOpen(cp, spec)
		if err != nil {
			return err
		}
		s = &Stream{core: &streamCore{ptr: ptr, lite3: spec.lite3}}
		return nil
	})
	return s, err
}
