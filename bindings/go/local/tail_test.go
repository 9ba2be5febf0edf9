package local_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	plasmite "github.com/sandover/plasmite/bindings/go/local"
)

func collect(msgs <-chan *plasmite.Message, errs <-chan error) ([]uint64, error) {

	var seqs []uint64
	for m := range msgs {
		seqs = append(seqs, m.Seq)
	}
	return seqs, <-errs
}

func TestTailSinceMaxAndTags(t *testing.T) {
	c, _ := newClient(t)
	p := newPool(t, c, "t", 0)
	appendN(t, p, 3)
	appendN(t, p, 3, "a")
	appendN(t, p, 3, "a", "b")

	seqs, err := collect(p.Tail(context.Background(), plasmite.TailOptions{SinceSeq: u64(2), MaxMessages: u64(3)}))
	if err != nil || fmt.Sprint(seqs) != "[2 3 4]" {
		t.Fatalf("since/max: %v %v", seqs, err)
	}
	// Tags: every tag must be present; the count is of matching messages.
	seqs, err = collect(p.Tail(context.Background(), plasmite.TailOptions{Tags: []string{"a", "b"}, MaxMessages: u64(3)}))
	if err != nil || fmt.Sprint(seqs) != "[7 8 9]" {
		t.Fatalf("tags: %v %v", seqs, err)
	}
	seqs, err = collect(p.Tail(context.Background(), plasmite.TailOptions{Tags: []string{"a"}, MaxMessages: u64(4), Buffer: 1}))
	if err != nil || fmt.Sprint(seqs) != "[4 5 6 7]" {
		t.Fatalf("tag a: %v %v", seqs, err)
	}
	var frames []uint64
	fr, ferrs := p.TailLite3(context.Background(), plasmite.TailOptions{Tags: []string{"b"}, MaxMessages: u64(2)})
	for f := range fr {
		frames = append(frames, f.Seq)
	}
	if err := <-ferrs; err != nil || fmt.Sprint(frames) != "[7 8]" {
		t.Fatalf("lite3 tags: %v %v", frames, err)
	}
	// Last N matching, then live ones.
	seqs, err = collect(p.Tail(context.Background(), plasmite.TailOptions{Last: u64(2), Tags: []string{"a"}, MaxMessages: u64(2)}))
	if err != nil || fmt.Sprint(seqs) != "[8 9]" {
		t.Fatalf("last: %v %v", seqs, err)
	}
}

// Timeout is no idle limit (a tail keeps waiting past it, as 0.8.0's did); MaxWait is: the
// tail delivers what the pool holds, waits that long for more, then ends without error.
func TestTailTimeoutKeepsWaitingAndMaxWaitEnds(t *testing.T) {
	c, _ := newClient(t)
	p := newPool(t, c, "timeout", 0)
	appendN(t, p, 2)

	msgs, errs := p.Tail(context.Background(), plasmite.TailOptions{Timeout: 20 * time.Millisecond, MaxMessages: u64(3)})
	<-msgs
	<-msgs
	time.Sleep(100 * time.Millisecond)
	appendN(t, p, 1)
	select {
	case m := <-msgs:
		if m == nil || m.Seq != 3 {
			t.Fatalf("third: %v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the tail ended at its Timeout")
	}
	if _, err := collect(msgs, errs); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	seqs, err := collect(p.Tail(context.Background(), plasmite.TailOptions{MaxWait: 100 * time.Millisecond}))
	if err != nil || len(seqs) != 3 {
		t.Fatalf("max wait: %v %v", seqs, err)
	}
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Fatalf("ended after %v, before MaxWait", el)
	}
	// Live: only what comes after the tail opened.
	msgs, errs = p.Tail(context.Background(), plasmite.TailOptions{Live: true, MaxMessages: u64(1)})
	time.Sleep(50 * time.Millisecond)
	appendN(t, p, 1)
	seqs, err = collect(msgs, errs)
	if err != nil || fmt.Sprint(seqs) != "[4]" {
		t.Fatalf("live: %v %v", seqs, err)
	}
}

// baselineGoroutines is the goroutine count with nothing of the test running.
func baselineGoroutines() int {
	time.Sleep(20 * time.Millisecond)
	return runtime.NumGoroutine()
}

// settledGoroutines is the goroutine count once it is at most max, or after 2 s (finished
// goroutines can take a moment to leave the count).
func settledGoroutines(max int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 200 && n > max; i++ {
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// Cancelling the context of a tail waiting for messages ends it promptly with ctx.Err(), and
// every goroutine it started is gone afterwards.
func TestCancelledTailEndsItsWaitAndLeavesNoGoroutine(t *testing.T) {
	c, _ := newClient(t)
	p := newPool(t, c, "cancel", 0)
	appendN(t, p, 1)
	baseline := baselineGoroutines()

	ctx, cancel := context.WithCancel(context.Background())
	msgs, errs := p.Tail(ctx, plasmite.TailOptions{})
	lctx, lcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer lcancel()
	frames, ferrs := p.TailLite3(lctx, plasmite.TailOptions{})
	rctx, rcancel := context.WithCancel(context.Background())
	replayed, rerrs := p.Replay(rctx, plasmite.ReplayOptions{Timeout: time.Hour})
	if m := <-msgs; m == nil || m.Seq != 1 {
		t.Fatalf("first: %v", m)
	}
	<-replayed
	time.Sleep(100 * time.Millisecond) // all three now wait in the library
	if n := runtime.NumGoroutine(); n <= baseline {
		t.Fatalf("no goroutines while tailing: %d <= %d", n, baseline)
	}
	start := time.Now()
	cancel()
	rcancel()
	seqs, err := collect(msgs, errs)
	if !errors.Is(err, context.Canceled) || len(seqs) != 0 {
		t.Fatalf("after cancel: %v %v", seqs, err)
	}
	for range replayed {
	}
	if err := <-rerrs; !errors.Is(err, context.Canceled) {
		t.Fatalf("replay: %v", err)
	}
	for range frames {
	}
	if err := <-ferrs; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lite3 tail: %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("cancellation took %v", el)
	}
	if n := settledGoroutines(baseline); n > baseline {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutines %d > baseline %d:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
}

// A tail reads ahead in batches; every message still arrives once, in order, whole — also
// one larger than a batch's byte budget, and across batch boundaries.
func TestTailReadingAheadKeepsEveryMessageInOrderAndWhole(t *testing.T) {
	c, _ := newClient(t)
	p := newPool(t, c, "ahead", 8<<20)
	const n = 2000
	big := strings.Repeat("b", 100_000)
	for i := 0; i < n; i++ {
		text := fmt.Sprintf(`{"i":%d}`, i)
		if i == 700 {
			text = fmt.Sprintf(`{"i":%d,"big":%q}`, i, big)
		}
		if _, err := p.AppendJSON([]byte(text), nil, plasmite.DurabilityFast); err != nil {
			t.Fatal(err)
		}
	}
	msgs, errs := p.Tail(context.Background(), plasmite.TailOptions{MaxMessages: u64(n), Buffer: 7})
	i := 0
	for m := range msgs {
		var data struct {
			I   int    `json:"i"`
			Big string `json:"big"`
		}
		if err := json.Unmarshal(m.Data, &data); err != nil || m.Seq != uint64(i+1) || data.I != i {
			t.Fatalf("message %d: seq %d data %s err %v", i, m.Seq, m.Data, err)
		}
		if (i == 700) != (data.Big == big) {
			t.Fatalf("message %d: big field of %d bytes", i, len(data.Big))
		}
		i++
	}
	if err := <-errs; err != nil || i != n {
		t.Fatalf("read %d of %d: %v", i, n, err)
	}
}

// A tail whose reader stopped reading ends when its context is cancelled (it was blocked
// sending, not waiting).
func TestCancelledTailBlockedOnSendEnds(t *testing.T) {
	c, _ := newClient(t)
	p := newPool(t, c, "blocked", 0)
	appendN(t, p, 10)
	baseline := baselineGoroutines()
	ctx, cancel := context.WithCancel(context.Background())
	msgs, errs := p.Tail(ctx, plasmite.TailOptions{Buffer: 1})
	<-msgs
	time.Sleep(20 * time.Millisecond)
	cancel()
	for range msgs {
	}
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if n := settledGoroutines(baseline); n > baseline {
		t.Fatalf("goroutines %d > baseline %d", n, baseline)
	}
}

func TestReplayKeepsOrderAndSpacing(t *testing.T) {
	c, _ := newClient(t)
	p := newPool(t, c, "replay", 0)
	appendN(t, p, 2)
	time.Sleep(200 * time.Millisecond)
	appendN(t, p, 1)
	start := time.Now()
	seqs, err := collect(p.Replay(context.Background(), plasmite.ReplayOptions{Speed: 2, SinceSeq: u64(1), MaxMessages: u64(3)}))
	if err != nil || fmt.Sprint(seqs) != "[1 2 3]" {
		t.Fatalf("replay %v %v", seqs, err)
	}
	if el := time.Since(start); el < 90*time.Millisecond {
		t.Fatalf("replay at speed 2 took %v (< 100 ms)", el)
	}
}

// Many goroutines append through one handle and through handles of their own: every append
// gets its own sequence, none is lost.
func TestConcurrentAppendsFromManyGoroutines(t *testing.T) {
	c, _ := newClient(t)
	p := newPool(t, c, "many", 8*1024*1024)
	const workers, each = 16, 200
	var mu sync.Mutex
	var seqs []uint64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			pool := p
			if w%2 == 1 {
				own, err := c.OpenPool(plasmite.PoolRefName("many"))
				if err != nil {
					t.Error(err)
					return
				}
				defer own.Close()
				pool = own.(*plasmite.Pool)
			}
			for i := 0; i < each; i++ {
				m, err := pool.Append(map[string]int{"w": w, "i": i}, []string{fmt.Sprint("w", w)})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seqs = append(seqs, m.Seq)
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	if len(seqs) != workers*each {
		t.Fatalf("%d appends", len(seqs))
	}
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("seq %d at %d", s, i)
		}
	}
	// Every writer's messages come back in its own order.
	seen, err := collect(p.Tail(context.Background(), plasmite.TailOptions{Tags: []string{"w3"}, MaxMessages: u64(each)}))
	if err != nil || len(seen) != each || !sort.SliceIsSorted(seen, func(i, j int) bool { return seen[i] < seen[j] }) {
		t.Fatalf("w3: %d %v", len(seen), err)
	}
}

// A `pls feed` process appending while a Go tail waits: the tail sees every message, in order.
func TestTailSeesAnotherProcessFeeding(t *testing.T) {
	pls := os.Getenv("PLASMITE_PLS")
	if pls == "" {
		t.Skip("PLASMITE_PLS (the pls binary) is not set; ci/go-tests sets it")
	}
	c, dir := newClient(t)
	p := newPool(t, c, "fed", 0)
	const n = 200
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	msgs, errs := p.Tail(ctx, plasmite.TailOptions{MaxMessages: u64(n), Tags: []string{"proc"}})

	cmd := exec.Command(pls, "--dir", dir, "feed", "--tag", "proc", "fed")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(stdin)
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "{\"i\":%d}\n", i)
		if i%20 == 19 {
			w.Flush()
			time.Sleep(5 * time.Millisecond) // arrivals while the tail waits
		}
	}
	w.Flush()
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("pls feed: %v", err)
	}
	i := 0
	for m := range msgs {
		if string(m.Data) != fmt.Sprintf(`{"i":%d}`, i) {
			t.Fatalf("message %d: %s", i, m.Data)
		}
		i++
	}
	if err := <-errs; err != nil || i != n {
		t.Fatalf("tail saw %d: %v", i, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "fed.plasmite")); err != nil {
		t.Fatal(err)
	}
}

// Closing a pool while other goroutines append through it: every append either lands or fails
// with ErrClosed; nothing uses the freed handle.
func TestPoolCloseDuringConcurrentAppendsIsSafe(t *testing.T) {
	c, _ := newClient(t)
	p := newPool(t, c, "closing", 0)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if _, err := p.AppendJSON([]byte(`{"x":1}`), nil, plasmite.DurabilityFast); err != nil {
					if !errors.Is(err, plasmite.ErrClosed) {
						t.Error(err)
					}
					return
				}
			}
		}()
	}
	time.Sleep(time.Millisecond)
	p.Close()
	wg.Wait()
}
