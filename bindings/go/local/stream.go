package local

import (
	"bytes"
	"io"
	"sync"
	"unsafe"

	"github.com/sandover/plasmite/bindings/go/api"
)

// streamCore owns a library stream handle.
//
// The library allows one thread at a time in a stream's `next`, `cancel` from any thread at
// any time, and `free` with nothing else in flight. So: `busy` is held across every call that
// uses the handle (next, free); `state` guards the pointer against free while cancel uses it.
// Close cancels first — a pending next returns within 50 ms — then takes `busy` and frees.
//
// A tail's JSON stream reads ahead (as its channel does): one library call fetches the
// envelopes available at that moment (at most a batch) and nextAhead hands them out one by
// one. Cancelling drops what was read ahead. Stream.NextJSON reads one message per call.
type streamCore struct {
	state     sync.Mutex
	busy      sync.Mutex
	ptr       unsafe.Pointer
	lite3     bool
	cancelled bool     // guarded by state
	scratch   []byte   // guarded by busy
	ahead     [][]byte // guarded by busy: envelopes fetched, not yet handed out
}

// Read-ahead bounds of one library call: messages and bytes.
const (
	batchCount = 256
	batchBytes = 32 << 10
)

// acquire holds busy and returns the live handle (nil when closed, busy then released).
func (s *streamCore) acquire() unsafe.Pointer {
	s.busy.Lock()
	s.state.Lock()
	p := s.ptr
	s.state.Unlock()
	if p == nil {
		s.busy.Unlock()
	}
	return p
}

// cancel ends the stream's pending and future waits; any goroutine may call it.
func (s *streamCore) cancel() {
	s.state.Lock()
	if s.ptr != nil {
		cStreamCancel(s.ptr, s.lite3)
	}
	s.cancelled = true
	s.state.Unlock()
}

func (s *streamCore) close() {
	s.state.Lock()
	live := s.ptr != nil
	if live {
		cStreamCancel(s.ptr, s.lite3)
	}
	s.state.Unlock()
	if !live {
		return
	}
	s.busy.Lock()
	s.state.Lock()
	if s.ptr != nil {
		cStreamFree(s.ptr, s.lite3)
		s.ptr = nil
	}
	s.state.Unlock()
	s.busy.Unlock()
}

// buffer is the scratch space a message lands in (4 KiB, grown to what the last one needed).
func (s *streamCore) buffer(need int) []byte {
	if need > len(s.scratch) {
		size := 4096
		for size < need {
			size *= 2
		}
		s.scratch = make([]byte, size)
	}
	return s.scratch
}

// Stream is a stream of message envelopes. Close may be called from any goroutine, also while
// another one waits in NextJSON (which then returns io.EOF).
type Stream struct {
	core *streamCore
}

// NextJSON waits for the next envelope; io.EOF at the end of the stream.
func (s *Stream) NextJSON() ([]byte, error) {
	if s == nil || s.core == nil {
		return nil, api.ClosedError("stream")
	}
	c := s.core
	p := c.acquire()
	if p == nil {
		return nil, api.ClosedError("stream")
	}
	defer c.busy.Unlock()
	buf := c.buffer(1)
	raw, ok, err := cStreamNext(p, buf)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, io.EOF
	}
	if len(raw) > len(buf) {
		c.buffer(len(raw)) // spilled: the next one of this size lands directly
		return raw, nil
	}
	return exact(raw, buf), nil
}

// nextAhead is NextJSON through the read-ahead (a tail's stream only).
func (s *Stream) nextAhead() ([]byte, error) {
	c := s.core
	p := c.acquire()
	if p == nil {
		return nil, api.ClosedError("stream")
	}
	defer c.busy.Unlock()
	c.state.Lock()
	cancelled := c.cancelled
	c.state.Unlock()
	if cancelled {
		c.ahead = nil
	}
	if len(c.ahead) == 0 {
		if err := c.fetch(p); err != nil {
			return nil, err
		}
		if len(c.ahead) == 0 {
			return nil, io.EOF
		}
	}
	raw := c.ahead[0]
	c.ahead[0] = nil
	c.ahead = c.ahead[1:]
	return raw, nil
}

// nextMessageAhead is NextMessage through the read-ahead.
func (s *Stream) nextMessageAhead() (*Message, error) {
	raw, err := s.nextAhead()
	if err != nil {
		return nil, err
	}
	return api.DecodeOwnedMessage(raw, false)
}

// fetch reads the next batch of envelopes into ahead, each in its own slice (none at the
// end of the stream). busy is held.
func (c *streamCore) fetch(p unsafe.Pointer) error {
	buf := c.buffer(batchBytes)
	lines, count, err := cStreamNextBatch(p, batchCount, buf)
	if err != nil || count == 0 {
		return err
	}
	if cap(c.ahead) < count {
		c.ahead = make([][]byte, 0, count)
	}
	c.ahead = c.ahead[:0]
	for len(lines) > 0 {
		end := bytes.IndexByte(lines, '\n')
		next := end + 1
		if end < 0 {
			end, next = len(lines), len(lines)
		}
		c.ahead = append(c.ahead, append(make([]byte, 0, end), lines[:end]...))
		lines = lines[next:]
	}
	return nil
}

// NextMessage (extension) waits for the next message; io.EOF at the end of the stream.
func (s *Stream) NextMessage() (*Message, error) {
	raw, err := s.NextJSON()
	if err != nil {
		return nil, err
	}
	return api.DecodeOwnedMessage(raw, false)
}

// Close ends the stream and frees it (idempotent).
func (s *Stream) Close() {
	if s != nil && s.core != nil {
		s.core.close()
	}
}

// Lite3Stream is a stream of raw frames, with Stream's rules.
type Lite3Stream struct {
	core *streamCore
}

// Next waits for the next frame; io.EOF at the end of the stream.
func (s *Lite3Stream) Next() (*Lite3Frame, error) {
	if s == nil || s.core == nil {
		return nil, api.ClosedError("stream")
	}
	c := s.core
	p := c.acquire()
	if p == nil {
		return nil, api.ClosedError("stream")
	}
	defer c.busy.Unlock()
	buf := c.buffer(1)
	f, payload, err := cLite3Next(p, buf)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, io.EOF
	}
	if len(payload) > len(buf) {
		c.buffer(len(payload))
		f.Payload = payload
	} else {
		f.Payload = exact(payload, buf)
	}
	return f, nil
}

// Close ends the stream and frees it (idempotent).
func (s *Lite3Stream) Close() {
	if s != nil && s.core != nil {
		s.core.close()
	}
}
