package local

import (
	"context"
	"io"
	"time"
)

// watch cancels a stream when ctx is done, until the returned stop is called; stop returns
// once the watching goroutine is gone (none is started for a context that is never done).
func watch(ctx context.Context, s *streamCore) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-ctx.Done():
			s.cancel()
		case <-done:
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

func bufferSize(n int) int {
	if n <= 0 {
		return 64
	}
	return n
}

// Tail delivers messages on a channel as opts selects them — from SinceSeq (or the oldest
// retained message; Live and Last start elsewhere), carrying every tag in Tags, passing every
// Where predicate — waiting for new ones on the pool's wake-up. Both channels close when the
// tail ends: after MaxMessages, after MaxWait with nothing more, on an error (sent once on the
// error channel), or when ctx is done (ctx.Err() is sent; the pending wait ends at once).
// A slow reader holds the tail back (the channel holds opts.Buffer messages, default 64).
//
//	msgs, errs := pool.Tail(ctx, local.TailOptions{Tags: []string{"alert"}})
//	for m := range msgs { ... }
//	if err := <-errs; err != nil && !errors.Is(err, context.Canceled) { ... }
func (p *Pool) Tail(ctx context.Context, opts TailOptions) (<-chan *Message, <-chan error) {
	s, err := p.OpenStreamOptions(opts)
	if err != nil {
		return failed[*Message](err)
	}
	return pump(ctx, opts.Buffer, s.core, s.nextMessageAhead, s.Close)
}

// TailLite3 is Tail for raw frames (Tags and Where apply too).
func (p *Pool) TailLite3(ctx context.Context, opts TailOptions) (<-chan *Lite3Frame, <-chan error) {
	s, err := p.OpenLite3StreamOptions(opts)
	if err != nil {
		return failed[*Lite3Frame](err)
	}
	return pump(ctx, opts.Buffer, s.core, s.Next, s.Close)
}

// failed is a tail that could not open: no items, and err once on the error channel.
func failed[T any](err error) (<-chan T, <-chan error) {
	out := make(chan T)
	close(out)
	errs := make(chan error, 1)
	errs <- err
	close(errs)
	return out, errs
}

// pump moves a stream's items into a channel (buffered by buffer, default 64) on its own
// goroutine until the stream ends (io.EOF: quietly, or ctx.Err() when ctx ended it), fails
// (the error is sent once), or ctx is done; then it closes the stream and both channels.
func pump[T any](ctx context.Context, buffer int, core *streamCore, next func() (T, error), closeStream func()) (<-chan T, <-chan error) {
	out := make(chan T, bufferSize(buffer))
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		defer close(out)
		defer closeStream()
		defer watch(ctx, core)()
		for {
			item, err := next()
			if err != nil {
				if err != io.EOF {
					errs <- err
				} else if ctx.Err() != nil {
					errs <- ctx.Err()
				}
				return
			}
			// Room in the channel: a plain send, without select's bookkeeping. (A done ctx
			// has cancelled the stream, so next ends soon either way.)
			select {
			case out <- item:
				continue
			default:
			}
			select {
			case out <- item:
			case <-ctx.Done():
				errs <- ctx.Err()
				return
			}
		}
	}()
	return out, errs
}

// Replay delivers messages (from SinceSeq, at most MaxMessages) spaced as they were written,
// divided by Speed: the pool's messages at open, plus those appended within Timeout of it.
// Both channels close at the end; ctx done sends ctx.Err().
func (p *Pool) Replay(ctx context.Context, opts ReplayOptions) (<-chan *Message, <-chan error) {
	out := make(chan *Message, 64)
	errs := make(chan error, 1)
	var ms uint64
	if opts.Timeout > 0 {
		ms = uint64((opts.Timeout + 999_999) / 1_000_000)
	}
	s, err := p.openStream(&streamSpec{since: opts.SinceSeq, max: opts.MaxMessages, timeoutMs: &ms})
	speed := opts.Speed
	if speed <= 0 {
		speed = 1
	}
	go func() {
		defer close(errs)
		defer close(out)
		if err != nil {
			errs <- err
			return
		}
		defer s.Close()
		defer watch(ctx, s.core)()
		var prev time.Time
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		defer timer.Stop()
		for {
			msg, err := s.NextMessage()
			if err != nil {
				if err != io.EOF {
					errs <- err
				} else if ctx.Err() != nil {
					errs <- ctx.Err()
				}
				return
			}
			if !prev.IsZero() {
				if d := time.Duration(float64(msg.Time.Sub(prev)) / speed); d > 0 {
					timer.Reset(d)
					select {
					case <-timer.C:
					case <-ctx.Done():
						errs <- ctx.Err()
						return
					}
				}
			}
			prev = msg.Time
			select {
			case out <- msg:
			case <-ctx.Done():
				errs <- ctx.Err()
				return
			}
		}
	}()
	return out, errs
}
