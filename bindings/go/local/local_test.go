package local_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sandover/plasmite/bindings/go/api"
	plasmite "github.com/sandover/plasmite/bindings/go/local"
)

func u64(v uint64) *uint64 { return &v }

func newClient(t *testing.T) (*plasmite.Client, string) {
	t.Helper()
	dir := t.TempDir()
	c, err := plasmite.NewClient(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, dir
}

func newPool(t *testing.T, c *plasmite.Client, name string, size uint64) *plasmite.Pool {
	t.Helper()
	p, err := c.CreatePool(plasmite.PoolRefName(name), size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p.(*plasmite.Pool)
}

func appendN(t testing.TB, p *plasmite.Pool, n int, tags ...string) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := p.AppendJSON([]byte(fmt.Sprintf(`{"i":%d}`, i)), tags, plasmite.DurabilityFast); err != nil {
			t.Fatal(err)
		}
	}
}

// The seed README's Go example, as written (with the import named plasmite).
func TestSeedReadmeExampleRunsAsWritten(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)

	client, _ := plasmite.NewClient("./data")
	pool, _ := client.CreatePool(plasmite.PoolRefName("events"), 1024*1024)
	pool.Append(map[string]any{"sensor": "temp", "value": 23.5}, nil, plasmite.DurabilityFast)

	got, err := pool.Get(1)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != `{"sensor":"temp","value":23.5}` {
		t.Fatalf("data %s", got.Data)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "events.plasmite")); err != nil {
		t.Fatal(err)
	}
	pool.Close()
	client.Close()
}

func TestClientCreateOpenPoolDeleteListInfo(t *testing.T) {
	c, dir := newClient(t)
	p := newPool(t, c, "a", 0)
	info, err := p.Info()
	if err != nil || info.Name != "a" || info.FileSize != api.DefaultPoolSizeBytes {
		t.Fatalf("info %+v %v", info, err)
	}
	if info.Bounds.Oldest != nil {
		t.Fatal("empty pool has bounds")
	}
	appendN(t, p, 3)
	info, err = c.PoolInfo(plasmite.PoolRefName("a"))
	if err != nil || *info.Bounds.Oldest != 1 || *info.Bounds.Newest != 3 {
		t.Fatalf("info %+v %v", info, err)
	}

	// Pool opens an existing pool and creates a missing one.
	same, err := c.Pool(plasmite.PoolRefName("a"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := same.Get(3); err != nil || m.Seq != 3 {
		t.Fatal(m, err)
	}
	same.Close()
	b, err := c.Pool(plasmite.PoolRefName("b"), 2*1024*1024)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	byPath, err := c.OpenPool(plasmite.PoolRefPath(filepath.Join(dir, "b.plasmite")))
	if err != nil {
		t.Fatal(err)
	}
	byPath.Close()

	list, err := c.ListPools()
	if err != nil || len(list) != 2 || list[0].Name != "a" || list[1].Name != "b" ||
		list[1].FileSize != 2*1024*1024 {
		t.Fatalf("list %+v %v", list, err)
	}
	if err := c.DeletePool(plasmite.PoolRefName("b")); err != nil {
		t.Fatal(err)
	}
	if err := c.DeletePool(plasmite.PoolRefName("b")); !errors.Is(err, plasmite.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if list, _ := c.ListPools(); len(list) != 1 {
		t.Fatalf("after delete: %+v", list)
	}
	// An open handle keeps reading a deleted pool.
	if err := c.DeletePool(plasmite.PoolRefName("a")); err != nil {
		t.Fatal(err)
	}
	if m, err := p.Get(2); err != nil || m.Seq != 2 {
		t.Fatal(m, err)
	}
}

func TestDefaultClientUsesHomeDirectory(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	want := filepath.Join(home, ".plasmite", "pools")
	if got := plasmite.DefaultPoolDir(); got != want {
		t.Fatalf("DefaultPoolDir %q, want %q", got, want)
	}
	c, err := plasmite.NewDefaultClient()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := c.CreatePool(plasmite.PoolRefName("x"), 0)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if _, err := os.Stat(filepath.Join(want, "x.plasmite")); err != nil {
		t.Fatal(err)
	}
}

func TestVersionIsSemver(t *testing.T) {
	if v := plasmite.Version(); strings.Count(v, ".") != 2 {
		t.Fatalf("version %q", v)
	}
}

func TestAppendAndGetRoundTrip(t *testing.T) {
	c, _ := newClient(t)
	p := newPool(t, c, "p", 0)

	env, err := p.AppendJSON([]byte(`{"b":1,"a":[1,2]}`), []string{"x", "y"}, plasmite.DurabilityFlush)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(env, []byte(`{"seq":1,"time":"`)) ||
		!bytes.HasSuffix(env, []byte(`"meta":{"tags":["x","y"]},"data":{"a":[1,2],"b":1}}`)) {
		t.Fatalf("envelope %s", env)
	}
	got, err := p.GetJSON(1)
	if err != nil || !bytes.Equal(got, env) {
		t.Fatalf("get %s %v", got, err)
	}

	m, err := p.Append(map[string]any{"k": "v"}, []string{"t"}, plasmite.WithDurability(plasmite.DurabilityFast))
	if err != nil || m.Seq != 2 || len(m.Tags()) != 1 || m.Tags()[0] != "t" || string(m.Data) != `{"k":"v"}` {
		t.Fatalf("append %+v %v", m, err)
	}
	if m.Time.IsZero() || m.Time.Location().String() != "UTC" {
		t.Fatalf("time %v", m.Time)
	}
	g, err := p.Get(2)
	if err != nil || !bytes.Equal(g.Raw, m.Raw) || !g.Time.Equal(m.Time) {
		t.Fatalf("get %+v %v", g, err)
	}
	if _, err := p.Append(func() {}, nil); err == nil || !strings.Contains(err.Error(), "marshal payload") {
		t.Fatalf("marshal error: %v", err)
	}

	first, count, err := p.AppendBatchJSONL([]byte("{\"n\":1}\n\n{\"n\":2}\n"), []string{"batch"}, plasmite.DurabilityFast)
	if err != nil || first != 3 || count != 2 {
		t.Fatal(first, count, err)
	}
	if _, _, err := p.AppendBatchJSONL([]byte("{\"n\":1}\nnot json\n"), nil, plasmite.DurabilityFast); !errors.Is(err, plasmite.ErrUsage) {
		t.Fatalf("bad batch: %v", err)
	}

	// Lite³: the raw payload of a stored message appends verbatim.
	f, err := p.GetLite3(1)
	if err != nil || f.Seq != 1 || len(f.Payload) == 0 || f.Time().IsZero() {
		t.Fatalf("lite3 %+v %v", f, err)
	}
	seq, err := p.AppendLite3(f.Payload, plasmite.DurabilityFast)
	if err != nil || seq != 5 {
		t.Fatal(seq, err)
	}
	copyMsg, err := p.Get(5)
	if err != nil || string(copyMsg.Data) != `{"a":[1,2],"b":1}` {
		t.Fatal(copyMsg, err)
	}

	// A large envelope (beyond any first guess of its size) comes back whole.
	big := strings.Repeat("é", 50000)
	bm, err := p.Append(map[string]string{"s": big}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]string
	if err := json.Unmarshal(bm.Data, &back); err != nil || back["s"] != big {
		t.Fatal("large message differs", err)
	}
}

func TestStreamsReadInOrderAndEnd(t *testing.T) {
	c, _ := newClient(t)
	p := newPool(t, c, "s", 0)
	appendN(t, p, 10)

	s, err := p.OpenStream(u64(4), u64(3), u64(0))
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for {
		raw, err := s.NextJSON()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		m, err := api.DecodeMessage(raw)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, m.Seq)
	}
	s.Close()
	s.Close()
	if fmt.Sprint(seqs) != "[4 5 6]" {
		t.Fatalf("seqs %v", seqs)
	}
	if _, err := s.NextJSON(); !errors.Is(err, plasmite.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}

	ls, err := p.OpenLite3Stream(nil, nil, u64(0))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		f, err := ls.Next()
		if err == io.EOF {
			break
		}
		if err != nil || f.Seq != uint64(n+1) || len(f.Payload) == 0 {
			t.Fatal(f, err)
		}
		n++
	}
	ls.Close()
	if _, err := ls.Next(); !errors.Is(err, plasmite.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if n != 10 {
		t.Fatalf("lite3 stream read %d", n)
	}

	// Options: tags and where, last N.
	appendN(t, p, 5, "hot")
	fs, err := p.OpenStreamOptions(plasmite.TailOptions{
		Tags: []string{"hot"}, Where: []string{".data.i >= 3"}, MaxWait: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		m, err := fs.NextMessage()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%s", m.Seq, m.Data))
	}
	fs.Close()
	if fmt.Sprint(got) != `[14:{"i":3} 15:{"i":4}]` {
		t.Fatalf("filtered %v", got)
	}
	lo, err := p.OpenLite3StreamOptions(plasmite.TailOptions{Last: u64(2), MaxMessages: u64(2)})
	if err != nil {
		t.Fatal(err)
	}
	f1, _ := lo.Next()
	f2, _ := lo.Next()
	_, end := lo.Next()
	lo.Close()
	if f1 == nil || f2 == nil || f1.Seq != 14 || f2.Seq != 15 || end != io.EOF {
		t.Fatalf("last 2: %v %v %v", f1, f2, end)
	}
	if _, err := p.OpenStreamOptions(plasmite.TailOptions{Where: []string{"(("}}); !errors.Is(err, plasmite.ErrUsage) {
		t.Fatalf("bad where: %v", err)
	}
	if _, err := p.OpenStreamOptions(plasmite.TailOptions{Live: true, Last: u64(1)}); !errors.Is(err, plasmite.ErrInvalidArgument) {
		t.Fatalf("live and last: %v", err)
	}
	if _, err := p.OpenStreamOptions(plasmite.TailOptions{Live: true, SinceSeq: u64(1)}); !errors.Is(err, plasmite.ErrUsage) {
		t.Fatalf("live and since: %v", err)
	}
}

// Close from another goroutine ends a NextJSON that waits without a deadline.
func TestStreamCloseEndsPendingNext(t *testing.T) {
	c, _ := newClient(t)
	p := newPool(t, c, "w", 0)
	s, err := p.OpenStream(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := s.NextJSON()
		done <- err
	}()
	s.Close()
	if err := <-done; err != io.EOF && !errors.Is(err, plasmite.ErrClosed) {
		t.Fatalf("pending next: %v", err)
	}
}

// Handles used after Close fail with ErrClosed; Close is idempotent and nil-safe.
func TestClosedHandlesFailWithErrClosed(t *testing.T) {
	c, _ := newClient(t)
	p := newPool(t, c, "c", 0)
	p.Close()
	p.Close()
	if _, err := p.AppendJSON([]byte(`{}`), nil, 0); !errors.Is(err, plasmite.ErrClosed) || err.Error() != "plasmite: closed: pool is closed" {
		t.Fatalf("append: %v", err)
	}
	if _, err := p.AppendJSON(nil, nil, 0); !errors.Is(err, plasmite.ErrClosed) {
		t.Fatalf("empty append on closed pool: %v", err)
	}
	if _, err := p.Get(1); !errors.Is(err, plasmite.ErrClosed) {
		t.Fatalf("get: %v", err)
	}
	if _, err := p.OpenStream(nil, nil, nil); !errors.Is(err, plasmite.ErrClosed) {
		t.Fatalf("stream: %v", err)
	}
	c.Close()
	c.Close()
	if _, err := c.OpenPool(plasmite.PoolRefName("c")); !errors.Is(err, plasmite.ErrClosed) {
		t.Fatalf("open: %v", err)
	}
	var nilClient *plasmite.Client
	nilClient.Close()
	var nilPool *plasmite.Pool
	nilPool.Close()
	if _, err := nilPool.GetJSON(1); !errors.Is(err, plasmite.ErrClosed) {
		t.Fatal(err)
	}
}
