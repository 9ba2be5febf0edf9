//go:build go1.23

package local_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	plasmite "github.com/sandover/plasmite/bindings/go/local"
)

func TestAllIteratesSelectedMessagesAndEnds(t *testing.T) {
	c, _ := newClient(t)
	p := newPool(t, c, "iter", 0)
	appendN(t, p, 3)
	appendN(t, p, 3, "x")
	var seqs []uint64
	for msg, err := range p.All(context.Background(), plasmite.TailOptions{Tags: []string{"x"}, MaxMessages: u64(2)}) {
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, msg.Seq)
	}
	if fmt.Sprint(seqs) != "[4 5]" {
		t.Fatalf("seqs %v", seqs)
	}
	var frames []uint64
	for f, err := range p.AllLite3(context.Background(), plasmite.TailOptions{SinceSeq: u64(5), MaxWait: time.Millisecond}) {
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f.Seq)
	}
	if fmt.Sprint(frames) != "[5 6]" {
		t.Fatalf("frames %v", frames)
	}
}

// Breaking out of the loop frees the stream; cancelling the context ends a pending wait with
// ctx.Err() as the last item; no goroutine is left either way.
func TestAllBreakAndCancelLeaveNoGoroutine(t *testing.T) {
	c, _ := newClient(t)
	p := newPool(t, c, "iterc", 0)
	appendN(t, p, 5)
	baseline := baselineGoroutines()
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	for _, err := range p.All(ctx, plasmite.TailOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 2 {
			break
		}
	}
	time.AfterFunc(100*time.Millisecond, cancel)
	var last error
	n = 0
	for _, err := range p.All(ctx, plasmite.TailOptions{}) {
		if err != nil {
			last = err
			continue
		}
		n++
	}
	if n != 5 || !errors.Is(last, context.Canceled) {
		t.Fatalf("read %d, last %v", n, last)
	}
	if got := settledGoroutines(baseline); got > baseline {
		t.Fatalf("goroutines %d > baseline %d", got, baseline)
	}
}
