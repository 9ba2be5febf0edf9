//go:build go1.23

package local

import (
	"context"
	"io"
	"iter"
)

// All is Tail as an iterator, without channels or a goroutine per message:
//
//	for msg, err := range pool.(*local.Pool).All(ctx, local.TailOptions{Tags: []string{"a"}}) {
//		if err != nil { ... } // the last thing yielded: ctx.Err() when cancelled
//		...
//	}
//
// The stream opens when iteration starts and is freed when it stops (break included);
// cancelling ctx ends a pending wait at once.
func (p *Pool) All(ctx context.Context, opts TailOptions) iter.Seq2[*Message, error] {
	return func(yield func(*Message, error) bool) {
		s, err := p.OpenStreamOptions(opts)
		if err != nil {
			yield(nil, err)
			return
		}
		defer s.Close()
		defer watch(ctx, s.core)()
		for {
			msg, err := s.NextMessage()
			if err != nil {
				if err != io.EOF {
					yield(nil, err)
				} else if ctx.Err() != nil {
					yield(nil, ctx.Err())
				}
				return
			}
			if !yield(msg, nil) {
				return
			}
		}
	}
}

// AllLite3 is All for raw frames.
func (p *Pool) AllLite3(ctx context.Context, opts TailOptions) iter.Seq2[*Lite3Frame, error] {
	return func(yield func(*Lite3Frame, error) bool) {
		s, err := p.OpenLite3StreamOptions(opts)
		if err != nil {
			yield(nil, err)
			return
		}
		defer s.Close()
		defer watch(ctx, s.core)()
		for {
			f, err := s.Next()
			if err != nil {
				if err != io.EOF {
					yield(nil, err)
				} else if ctx.Err() != nil {
					yield(nil, ctx.Err())
				}
				return
			}
			if !yield(f, nil) {
				return
			}
		}
	}
}
