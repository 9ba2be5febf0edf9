package local_test

import (
	"bytes"
	"context"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	plasmite "github.com/sandover/plasmite/bindings/go/local"
)

// The message of the benchmarks (the C benchmark's).
var benchPayload = []byte(`{"kind":"tick","n":12345,"ok":true}`)

func benchPool(b *testing.B, size uint64) (*plasmite.Pool, func()) {
	dir, err := os.MkdirTemp("", "plasmite-go-bench")
	if err != nil {
		b.Fatal(err)
	}
	c, err := plasmite.NewClient(dir)
	if err != nil {
		b.Fatal(err)
	}
	p, err := c.CreatePool(plasmite.PoolRefName("bench"), size)
	if err != nil {
		b.Fatal(err)
	}
	return p.(*plasmite.Pool), func() {
		p.Close()
		c.Close()
		os.RemoveAll(dir)
	}
}

// benchClock is where a measurement started: wall time and the process's CPU time (all
// threads, Go and C), so that rates can also be read per CPU second — the figure that stays
// meaningful on a machine busy with other work.
type benchClock struct {
	wall time.Time
	cpu  time.Duration
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startClock() benchClock { return benchClock{time.Now(), cpuTime()} }

func reportRate(b *testing.B, start benchClock, n int) {
	b.ReportMetric(float64(n)/time.Since(start.wall).Seconds(), "msgs/s")
	if cpu := cpuTime() - start.cpu; cpu > 0 {
		b.ReportMetric(float64(n)/cpu.Seconds(), "msgs/cpu-s")
	}
}

// One AppendJSON per message (envelope returned), one goroutine.
func BenchmarkAppendJSON(b *testing.B) {
	p, done := benchPool(b, 64<<20)
	defer done()
	b.ResetTimer()
	start := startClock()
	for i := 0; i < b.N; i++ {
		if _, err := p.AppendJSON(benchPayload, nil, plasmite.DurabilityFast); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, start, b.N)
}

// A full 64 MiB pool (wrapped: the oldest messages evicted), shared by the tail benchmarks.
var (
	fullOnce  sync.Once
	fullPool  *plasmite.Pool
	fullFirst uint64
	fullCount uint64
)

func fullPoolOf(b *testing.B) (*plasmite.Pool, uint64, uint64) {
	fullOnce.Do(func() {
		p, _ := benchPool(b, 64<<20) // kept for the whole run
		batch := bytes.Repeat(append(append([]byte(nil), benchPayload...), '\n'), 4096)
		for {
			if _, _, err := p.AppendBatchJSONL(batch, nil, plasmite.DurabilityFast); err != nil {
				b.Fatal(err)
			}
			info, err := p.Info()
			if err != nil {
				b.Fatal(err)
			}
			if *info.Bounds.Oldest > 1 {
				fullPool, fullFirst = p, *info.Bounds.Oldest
				fullCount = *info.Bounds.Newest - *info.Bounds.Oldest + 1
				return
			}
		}
	})
	return fullPool, fullFirst, fullCount
}

// Tail over the whole full pool, messages decoded and received from the channel; passes are
// repeated until b.N messages were read.
func BenchmarkTailFullPool(b *testing.B) {
	p, first, count := fullPoolOf(b)
	b.ResetTimer()
	start := startClock()
	read := 0
	for read < b.N {
		msgs, errs := p.Tail(context.Background(), plasmite.TailOptions{SinceSeq: &first, MaxMessages: &count, Buffer: 1024})
		for m := range msgs {
			if m.Seq == 0 {
				b.Fatal("seq 0")
			}
			read++
		}
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, start, read)
}

// Stream.NextMessage over the whole full pool, in the calling goroutine (no channel).
func BenchmarkStreamFullPool(b *testing.B) {
	p, first, count := fullPoolOf(b)
	b.ResetTimer()
	start := startClock()
	read := 0
	for read < b.N {
		s, err := p.OpenStreamOptions(plasmite.TailOptions{SinceSeq: &first, MaxMessages: &count})
		if err != nil {
			b.Fatal(err)
		}
		for {
			m, err := s.NextMessage()
			if err != nil {
				break
			}
			_ = m
			read++
		}
		s.Close()
	}
	reportRate(b, start, read)
}

// TailLite3 over the whole full pool (raw frames, no JSON).
func BenchmarkTailLite3FullPool(b *testing.B) {
	p, first, count := fullPoolOf(b)
	b.ResetTimer()
	start := startClock()
	read := 0
	for read < b.N {
		frames, errs := p.TailLite3(context.Background(), plasmite.TailOptions{SinceSeq: &first, MaxMessages: &count, Buffer: 1024})
		for range frames {
			read++
		}
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, start, read)
}
