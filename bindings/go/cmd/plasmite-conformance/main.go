// Command plasmite-conformance is the Go runner of the conformance suite
// (spec/CONFORMANCE.md).
//
// It runs manifests through the local package (cgo over libplasmite) and prints, per manifest,
// "conformance: N passed, M failed, K unsupported (go: PATH)"; failed steps as
// "step I (ID): REASON" and unsupported ones as "step I (ID): unsupported FEATURE: WHY" on
// stderr. Every step is run and counted. Exit 1 when a step failed, 2 when a manifest could not
// be read. The command line (spawn_poke, spawn_reader) is $PLASMITE_BIN.
//
// Usage: plasmite-conformance MANIFEST...
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sandover/plasmite/bindings/go/api"
	"github.com/sandover/plasmite/bindings/go/local"
)

// unsupported lists the features (spec/CONFORMANCE.md §5) this package does not offer.
var unsupported = map[string]bool{}

var kinds = map[api.ErrorKind]string{
	1: "Internal", 2: "Usage", 3: "NotFound", 4: "AlreadyExists", 5: "Busy",
	6: "Permission", 7: "Corrupt", 8: "Io", 9: "RetentionGap",
}

type fail struct{ reason string }

func (f fail) Error() string { return f.reason }

type notOffered struct{ feature, why string }

func (n notOffered) Error() string { return n.feature + ": " + n.why }

func failf(format string, a ...any) error { return fail{fmt.Sprintf(format, a...)} }

type failure struct {
	kind, message      string
	hasPath, hasOffset bool
	seq                *uint64
}

func (f *failure) String() string {
	s := f.kind + ": " + f.message
	if f.seq != nil {
		s += fmt.Sprintf(" (seq: %d)", *f.seq)
	}
	return s
}

func failureOf(err error) (*failure, bool) {
	var e *api.Error
	if !errors.As(err, &e) {
		return nil, false
	}
	return &failure{kind: kinds[e.Kind], message: e.Message, hasPath: e.Path != "",
		hasOffset: e.Offset != nil, seq: e.Seq}, true
}

type obj = map[string]any

func str(v any) (string, bool) { s, ok := v.(string); return s, ok }

func num(v any) (uint64, bool) {
	f, ok := v.(float64)
	if !ok || f < 0 || f != float64(uint64(f)) {
		return 0, false
	}
	return uint64(f), true
}

func tagsOf(v any) ([]string, error) {
	if v == nil {
		return []string{}, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fail{"tags must be array"}
	}
	out := make([]string, 0, len(list))
	for _, t := range list {
		s, ok := t.(string)
		if !ok {
			return nil, fail{"expected string array"}
		}
		out = append(out, s)
	}
	return out, nil
}

type pending struct {
	data any
	tags []string
}

func messagesOf(v any) ([]pending, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fail{"input.messages must be array"}
	}
	var out []pending
	for _, m := range list {
		mo, _ := m.(obj)
		data, ok := mo["data"]
		if !ok {
			return nil, fail{"message.data is required"}
		}
		tags, err := tagsOf(mo["tags"])
		if err != nil {
			return nil, err
		}
		out = append(out, pending{data, tags})
	}
	return out, nil
}

func matchError(w obj, e *failure) error {
	kind, ok := str(w["kind"])
	if !ok {
		return fail{"expect.error.kind is required"}
	}
	if kind != e.kind {
		return failf("expected error kind %s, got %s", kind, e.kind)
	}
	if sub, ok := str(w["message_contains"]); ok && !strings.Contains(e.message, sub) {
		return failf("expected message to contain '%s', got '%s'", sub, e.message)
	}
	for _, c := range []struct {
		key, what string
		has       bool
	}{{"has_path", "path", e.hasPath}, {"has_seq", "seq", e.seq != nil}, {"has_offset", "offset", e.hasOffset}} {
		if b, ok := w[c.key].(bool); ok && b != c.has {
			return failf("%s presence mismatch", c.what)
		}
	}
	if want, ok := num(w["seq"]); ok && (e.seq == nil || *e.seq != want) {
		return failf("expected error seq %d, got %v", want, e.seq)
	}
	return nil
}

// checkError compares an operation's error with expect.error: ok is true when the operation
// succeeded and no error was expected (the caller compares its result).
func checkError(expect obj, err error) (ok bool, verdict error) {
	want, _ := expect["error"].(obj)
	if err == nil {
		if want != nil {
			return false, fail{"expected error but operation succeeded"}
		}
		return true, nil
	}
	if errors.As(err, new(fail)) || errors.As(err, new(notOffered)) {
		return false, err
	}
	e, isPlasmite := failureOf(err)
	if !isPlasmite {
		return false, failf("unexpected error: %v", err)
	}
	if want == nil {
		return false, failf("unexpected error: %s", e)
	}
	return false, matchError(want, e)
}

type msg struct {
	seq  uint64
	data any
	tags []string
}

func msgOf(m *api.Message) (msg, error) {
	var data any
	if err := json.Unmarshal(m.Data, &data); err != nil {
		return msg{}, err
	}
	tags := m.Meta.Tags
	if tags == nil {
		tags = []string{}
	}
	return msg{m.Seq, data, tags}, nil
}

func matches(w obj, m msg) bool {
	if d, ok := w["data"]; ok && !reflect.DeepEqual(d, m.data) {
		return false
	}
	if t, ok := w["tags"]; ok {
		tags, err := tagsOf(t)
		if err != nil || !reflect.DeepEqual(tags, m.tags) {
			return false
		}
	}
	if s, ok := num(w["seq"]); ok && s != m.seq {
		return false
	}
	return true
}

func checkMessages(expect obj, got []msg, required bool) error {
	ordered, hasOrdered := expect["messages"].([]any)
	unordered, hasUnordered := expect["messages_unordered"].([]any)
	if hasOrdered && hasUnordered {
		return fail{"expect.messages and expect.messages_unordered are mutually exclusive"}
	}
	if !hasOrdered && !hasUnordered {
		if required {
			return fail{"expect.messages or expect.messages_unordered is required"}
		}
		return nil
	}
	want := ordered
	if hasUnordered {
		want = unordered
	}
	if len(want) != len(got) {
		seqs := make([]uint64, len(got))
		for i, m := range got {
			seqs[i] = m.seq
		}
		return failf("expected %d messages, got %d (seqs %v)", len(want), len(got), seqs)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1].seq >= got[i].seq {
			return fail{"tail messages out of order"}
		}
	}
	if hasOrdered {
		for i, w := range want {
			wo, _ := w.(obj)
			if !matches(wo, got[i]) {
				return failf("message mismatch at %d: got seq %d", i, got[i].seq)
			}
		}
		return nil
	}
	used := make([]bool, len(got))
	for _, w := range want {
		wo, _ := w.(obj)
		found := false
		for j := range got {
			if !used[j] && matches(wo, got[j]) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return fail{"message mismatch: nothing matches an expected message"}
		}
	}
	return nil
}

type reader struct {
	cmd   *exec.Cmd
	lines chan []string
}

type run struct {
	dir, workdir, pls string
	client            *local.Client
	readers           map[string]*reader
}

func (r *run) resolve(pool string) string {
	if strings.Contains(pool, "/") {
		return pool
	}
	if !strings.HasSuffix(pool, ".plasmite") {
		pool += ".plasmite"
	}
	return filepath.Join(r.workdir, pool)
}

func (r *run) open(pool string) (*local.Pool, error) {
	p, err := r.client.OpenPool(local.PoolRefName(pool))
	if err != nil {
		return nil, err
	}
	return p.(*local.Pool), nil
}

func (r *run) sideAppend(pool string, data any, tags []string) (uint64, error) {
	p, err := r.open(pool)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	m, err := p.Append(data, tags)
	if err != nil {
		return 0, err
	}
	return m.Seq, nil
}

func (r *run) fillPast(pool string, seq uint64) error {
	p, err := r.open(pool)
	if err != nil {
		return err
	}
	defer p.Close()
	for n := 0; n < 10000; n++ {
		if _, err := p.Get(seq); err != nil {
			if f, ok := failureOf(err); ok && f.kind == "NotFound" {
				return nil
			}
			return err
		}
		if _, err := p.Append(obj{"i": n, "padding": strings.Repeat("x", 4096)}, nil); err != nil {
			return err
		}
	}
	return failf("sequence %d remained retained after filling pool", seq)
}

// tail reads a tail; hook runs right after it opened (0) and after each message.
func (r *run) tail(pool string, in obj, hook func(int) error) ([]msg, *failure, error) {
	opts := local.TailOptions{}
	if s, ok := num(in["since_seq"]); ok {
		opts.SinceSeq = &s
	}
	if m, ok := num(in["max"]); ok {
		opts.MaxMessages = &m
	}
	tags, err := tagsOf(in["tags"])
	if err != nil {
		return nil, nil, err
	}
	opts.Tags = tags
	switch w := in["where"].(type) {
	case string:
		opts.Where = []string{w}
	case []any:
		if opts.Where, err = tagsOf(w); err != nil {
			return nil, nil, err
		}
	}
	switch start, _ := str(in["start"]); start {
	case "", "oldest":
	case "live":
		opts.Live = true
	case "last":
		n, ok := num(in["last"])
		if !ok {
			n = 1
		}
		opts.Last = &n
	default:
		return nil, nil, failf("invalid input.start: %s", start)
	}
	switch gap, _ := str(in["gap"]); gap {
	case "", "continue":
	case "error":
		opts.ErrorOnGap = true
	default:
		return nil, nil, failf("invalid input.gap: %s", gap)
	}
	timeout, ok := num(in["timeout_ms"])
	if !ok {
		timeout = 1000
	}
	opts.MaxWait = time.Duration(timeout) * time.Millisecond
	p, err := r.open(pool)
	if err != nil {
		f, isPlasmite := failureOf(err)
		if !isPlasmite {
			return nil, nil, err
		}
		return nil, f, nil
	}
	defer p.Close()
	s, err := p.OpenStreamOptions(opts)
	if err != nil {
		f, isPlasmite := failureOf(err)
		if !isPlasmite {
			return nil, nil, err
		}
		return nil, f, nil
	}
	defer s.Close()
	if err := hook(0); err != nil {
		return nil, nil, err
	}
	var out []msg
	for {
		m, err := s.NextMessage()
		if err == io.EOF {
			return out, nil, nil
		}
		if err != nil {
			f, isPlasmite := failureOf(err)
			if !isPlasmite {
				return nil, nil, err
			}
			return out, f, nil
		}
		mm, err := msgOf(m)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, mm)
		if err := hook(len(out)); err != nil {
			return nil, nil, err
		}
	}
}

func (r *run) step(step obj) error {
	op, ok := str(step["op"])
	if !ok {
		return fail{"missing op"}
	}
	if op == "fetch" {
		op = "get"
	}
	if req, ok := step["requires"].([]any); ok {
		for _, f := range req {
			if s, _ := str(f); unsupported[s] {
				return notOffered{s, "a step this one builds on needs it"}
			}
		}
	}
	in, _ := step["input"].(obj)
	if in == nil {
		in = obj{}
	}
	expect, _ := step["expect"].(obj)
	if expect == nil {
		expect = obj{}
	}
	pool := func() (string, error) {
		p, ok := str(step["pool"])
		if !ok {
			return "", fail{"missing pool"}
		}
		return p, nil
	}
	switch op {
	case "create_pool":
		name, err := pool()
		if err != nil {
			return err
		}
		size, ok := num(in["size_bytes"])
		if !ok {
			size = 1048576
		}
		p, err := r.client.CreatePool(local.PoolRefName(name), size)
		if err == nil {
			p.Close()
		}
		_, v := checkError(expect, err)
		return v
	case "append":
		name, err := pool()
		if err != nil {
			return err
		}
		if _, ok := step["input"]; !ok {
			return fail{"missing input"}
		}
		data, ok := in["data"]
		if !ok {
			return fail{"missing input.data"}
		}
		tags, err := tagsOf(in["tags"])
		if err != nil {
			return err
		}
		seq, err := r.sideAppend(name, data, tags)
		if ok, v := checkError(expect, err); !ok {
			return v
		}
		if want, ok := num(expect["seq"]); ok && want != seq {
			return failf("expected seq %d, got %d", want, seq)
		}
		return nil
	case "append_batch", "append_many":
		name, err := pool()
		if err != nil {
			return err
		}
		var msgs []pending
		if op == "append_batch" {
			if msgs, err = messagesOf(in["messages"]); err != nil {
				return err
			}
		} else {
			count, ok := num(in["count"])
			if !ok {
				count = 1
			}
			base, ok := in["data"].(obj)
			if !ok && in["data"] != nil {
				return fail{"input.data must be an object"}
			}
			tags, err := tagsOf(in["tags"])
			if err != nil {
				return err
			}
			for k := uint64(1); k <= count; k++ {
				d := obj{}
				for key, v := range base {
					d[key] = v
				}
				d["i"] = k
				msgs = append(msgs, pending{d, tags})
			}
		}
		first, count, last, err := r.batch(name, msgs)
		if ok, v := checkError(expect, err); !ok {
			return v
		}
		if want, ok := num(expect["first_seq"]); ok && (first == nil || *first != want) {
			return failf("expected first_seq %d, got %v", want, first)
		}
		if want, ok := num(expect["count"]); ok && want != count {
			return failf("expected count %d, got %d", want, count)
		}
		if want, ok := num(expect["last_seq"]); ok && want != last {
			return failf("expected last_seq %d, got %d", want, last)
		}
		return nil
	case "get":
		name, err := pool()
		if err != nil {
			return err
		}
		seq, ok := num(in["seq"])
		if !ok {
			return fail{"missing input.seq"}
		}
		p, err := r.open(name)
		var m *api.Message
		if err == nil {
			m, err = p.Get(seq)
			p.Close()
		}
		if ok, v := checkError(expect, err); !ok {
			return v
		}
		got, err := msgOf(m)
		if err != nil {
			return err
		}
		if d, ok := expect["data"]; ok && !reflect.DeepEqual(d, got.data) {
			return failf("data mismatch")
		}
		if t, ok := expect["tags"]; ok {
			tags, err := tagsOf(t)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(tags, got.tags) {
				return fail{"tags mismatch"}
			}
		}
		if got.seq != seq {
			return failf("expected seq %d, got %d", seq, got.seq)
		}
		return nil
	case "tail":
		name, err := pool()
		if err != nil {
			return err
		}
		var after []pending
		if a, ok := in["append_after_open"]; ok {
			if after, err = messagesOf(a); err != nil {
				return err
			}
		}
		got, f, err := r.tail(name, in, func(n int) error {
			if n == 0 {
				for _, m := range after {
					if _, err := r.sideAppend(name, m.data, m.tags); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		want, _ := expect["error"].(obj)
		switch {
		case f == nil && want != nil:
			return fail{"expected error but operation succeeded"}
		case f != nil && want == nil:
			return failf("unexpected error: %s", f)
		case f != nil:
			if err := matchError(want, f); err != nil {
				return err
			}
		}
		return checkMessages(expect, got, want == nil)
	case "retention_gap":
		name, err := pool()
		if err != nil {
			return err
		}
		size, ok := num(in["size_bytes"])
		if !ok {
			size = 65536
		}
		return r.retentionGap(name, size)
	case "list_pools":
		infos, err := r.client.ListPools()
		if ok, v := checkError(expect, err); !ok {
			return v
		}
		if want, ok := expect["names"]; ok {
			w, err := tagsOf(want)
			if err != nil {
				return err
			}
			var names []string
			for _, i := range infos {
				names = append(names, i.Name)
			}
			sort.Strings(w)
			sort.Strings(names)
			if len(w) != len(names) || (len(w) > 0 && !reflect.DeepEqual(w, names)) {
				return failf("pool list mismatch: expected %v, got %v", w, names)
			}
		}
		return nil
	case "pool_info":
		name, err := pool()
		if err != nil {
			return err
		}
		info, err := r.client.PoolInfo(local.PoolRefName(name))
		if ok, v := checkError(expect, err); !ok {
			return v
		}
		raw, _ := json.Marshal(info)
		var got obj
		_ = json.Unmarshal(raw, &got)
		for _, key := range []string{"file_size", "ring_size"} {
			if want, ok := expect[key]; ok && !reflect.DeepEqual(want, got[key]) {
				return failf("%s mismatch: expected %v, got %v", key, want, got[key])
			}
		}
		if b, ok := expect["bounds"].(obj); ok {
			gb, _ := got["bounds"].(obj)
			for key, want := range b {
				if _, isNum := want.(float64); want != nil && !isNum {
					return failf("bounds.%s must be a number or null", key)
				}
				if !reflect.DeepEqual(want, gb[key]) {
					return failf("bounds.%s mismatch", key)
				}
			}
		}
		return nil
	case "delete_pool":
		name, err := pool()
		if err != nil {
			return err
		}
		_, v := checkError(expect, r.client.DeletePool(local.PoolRefName(name)))
		return v
	case "spawn_poke":
		name, err := pool()
		if err != nil {
			return err
		}
		msgs, err := messagesOf(in["messages"])
		if err != nil {
			return err
		}
		var cmds []*exec.Cmd
		for _, m := range msgs {
			data, _ := json.Marshal(m.data)
			args := []string{"--dir", r.workdir, "feed", name, string(data)}
			for _, t := range m.tags {
				args = append(args, "--tag", t)
			}
			c := exec.Command(r.pls, args...)
			c.Stderr = os.Stderr
			if err := c.Start(); err != nil {
				return fail{"feed process failed"}
			}
			cmds = append(cmds, c)
		}
		ok := true
		for _, c := range cmds {
			ok = c.Wait() == nil && ok
		}
		if !ok {
			return fail{"feed process failed"}
		}
		return nil
	case "corrupt_pool_header":
		name, err := pool()
		if err != nil {
			return err
		}
		return os.WriteFile(r.resolve(name), []byte("NOPE"), 0o644)
	case "install_pool":
		name, err := pool()
		if err != nil {
			return err
		}
		fixture, _ := str(in["fixture"])
		b, err := os.ReadFile(filepath.Join(r.dir, "pools", fixture))
		if err != nil {
			return failf("cannot install %s: %v", fixture, err)
		}
		return os.WriteFile(r.resolve(name), b, 0o644)
	case "chmod_path":
		path, ok := str(in["path"])
		if !ok {
			return fail{"missing input.path"}
		}
		m, _ := str(in["mode"])
		mode, err := strconv.ParseUint(m, 8, 32)
		if err != nil {
			return fail{"invalid input.mode"}
		}
		return os.Chmod(path, os.FileMode(mode))
	case "spawn_reader":
		name, err := pool()
		if err != nil {
			return err
		}
		return r.spawnReader(name, in)
	case "await_reader":
		name, _ := str(in["name"])
		rd, ok := r.readers[name]
		if !ok {
			return failf("no reader named %s", name)
		}
		delete(r.readers, name)
		lines := <-rd.lines
		_ = rd.cmd.Process.Kill()
		_ = rd.cmd.Wait()
		var got []msg
		for _, l := range lines {
			var env struct {
				Seq  uint64 `json:"seq"`
				Data any    `json:"data"`
				Meta struct {
					Tags []string `json:"tags"`
				} `json:"meta"`
			}
			if err := json.Unmarshal([]byte(l), &env); err != nil {
				return failf("reader printed %q", l)
			}
			got = append(got, msg{env.Seq, env.Data, env.Meta.Tags})
		}
		return checkMessages(expect, got, true)
	}
	return failf("unknown op: %s", op)
}

// batch appends msgs in one call per run of equal tags; the first seq, the count and the last.
func (r *run) batch(pool string, msgs []pending) (*uint64, uint64, uint64, error) {
	p, err := r.open(pool)
	if err != nil {
		return nil, 0, 0, err
	}
	defer p.Close()
	var first *uint64
	var count, last uint64
	for i := 0; i < len(msgs); {
		j := i + 1
		for j < len(msgs) && j-i < 1000 && reflect.DeepEqual(msgs[j].tags, msgs[i].tags) {
			j++
		}
		var jsonl []byte
		for _, m := range msgs[i:j] {
			b, err := json.Marshal(m.data)
			if err != nil {
				return nil, 0, 0, err
			}
			jsonl = append(append(jsonl, b...), '\n')
		}
		f, n, err := p.AppendBatchJSONL(jsonl, msgs[i].tags, api.DurabilityFast)
		if err != nil {
			return nil, 0, 0, err
		}
		if first == nil {
			first = &f
		}
		count += n
		last = f + n - 1
		i = j
	}
	return first, count, last, nil
}

func (r *run) spawnReader(pool string, in obj) error {
	name, _ := str(in["name"])
	since, ok := num(in["since_seq"])
	if !ok {
		since = 1
	}
	max, ok := num(in["max"])
	if !ok {
		max = 1
	}
	timeout, ok := num(in["timeout_ms"])
	if !ok {
		timeout = 10000
	}
	args := []string{"--dir", r.workdir, "follow", pool, "--jsonl", "--tail", "1000000000",
		"--where", fmt.Sprintf(".seq >= %d", since), "--timeout", fmt.Sprintf("%dms", timeout)}
	tags, err := tagsOf(in["tags"])
	if err != nil {
		return err
	}
	for _, t := range tags {
		args = append(args, "--tag", t)
	}
	cmd := exec.Command(r.pls, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return failf("cannot start a reader: %v", err)
	}
	lines := make(chan []string, 1)
	go func() {
		var got []string
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for uint64(len(got)) < max && sc.Scan() {
			got = append(got, sc.Text())
		}
		lines <- got
	}()
	target, _ := filepath.EvalSymlinks(r.resolve(pool))
	if abs, err := filepath.Abs(target); err == nil {
		target = abs
	}
	for i := 0; i < 500; i++ {
		maps, _ := os.ReadFile(fmt.Sprintf("/proc/%d/maps", cmd.Process.Pid))
		if strings.Contains(string(maps), target) {
			time.Sleep(30 * time.Millisecond)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.readers[name] = &reader{cmd, lines}
	return nil
}

func (r *run) retentionGap(base string, size uint64) error {
	stale := base + "-stale"
	p, err := r.client.CreatePool(local.PoolRefName(stale), size)
	if err != nil {
		return failf("create: unexpected error: %v", err)
	}
	p.Close()
	first, err := r.sideAppend(stale, obj{"kind": "first"}, nil)
	if err != nil {
		return err
	}
	if err := r.fillPast(stale, first); err != nil {
		return err
	}
	none := func(int) error { return nil }
	msgs, f, err := r.tail(stale, obj{"since_seq": float64(first), "max": float64(1)}, none)
	if err != nil {
		return err
	}
	if f != nil || len(msgs) != 1 || msgs[0].seq <= first {
		return fail{"default tail did not continue after gap"}
	}
	msgs, f, err = r.tail(stale, obj{"since_seq": float64(first), "gap": "error", "tags": []any{"never"}}, none)
	if err != nil {
		return err
	}
	if len(msgs) != 0 || f == nil || f.kind != "RetentionGap" || f.seq == nil || *f.seq != first {
		return failf("fail-closed tail did not fail with RetentionGap at %d: %v", first, f)
	}
	est := base + "-established"
	if p, err = r.client.CreatePool(local.PoolRefName(est), size); err != nil {
		return failf("create: unexpected error: %v", err)
	}
	p.Close()
	s1, err := r.sideAppend(est, obj{"kind": "seed"}, nil)
	if err != nil {
		return err
	}
	if _, err := r.sideAppend(est, obj{"kind": "second"}, nil); err != nil {
		return err
	}
	var missing uint64
	msgs, f, err = r.tail(est, obj{"since_seq": float64(s1), "gap": "error"}, func(n int) error {
		if n == 2 {
			m, err := r.sideAppend(est, obj{"kind": "first-missing"}, nil)
			if err != nil {
				return err
			}
			missing = m
			return r.fillPast(est, m)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(msgs) != 2 || msgs[0].seq != s1 || msgs[1].seq != s1+1 {
		return failf("tail established the wrong sequence: %v", msgs)
	}
	if f == nil || f.kind != "RetentionGap" || f.seq == nil || *f.seq != missing {
		return failf("gap after an established position: expected RetentionGap at %d, got %v", missing, f)
	}
	return nil
}

func runManifest(path string) (passed, failed, unsup int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("failed to read manifest: %v", err)
	}
	var m obj
	if err := json.Unmarshal(b, &m); err != nil {
		return 0, 0, 0, fmt.Errorf("failed to parse manifest json: %v", err)
	}
	v, ok := m["conformance_version"].(float64)
	if !ok {
		return 0, 0, 0, errors.New("missing conformance_version")
	}
	if v != 0 {
		return 0, 0, 0, fmt.Errorf("unsupported conformance_version: %v", v)
	}
	steps, ok := m["steps"].([]any)
	if !ok {
		return 0, 0, 0, errors.New("manifest steps must be an array")
	}
	wd, _ := str(m["workdir"])
	if wd == "" {
		wd = "work"
	}
	workdir := filepath.Join(filepath.Dir(path), wd)
	_ = os.RemoveAll(workdir)
	if err := os.MkdirAll(workdir, 0o755); err != nil {
		return 0, 0, 0, err
	}
	client, err := local.NewClient(workdir)
	if err != nil {
		return 0, 0, 0, err
	}
	defer client.Close()
	pls := os.Getenv("PLASMITE_BIN")
	if pls == "" {
		pls = "pls"
	}
	r := &run{dir: filepath.Dir(path), workdir: workdir, pls: pls, client: client, readers: map[string]*reader{}}
	for i, s := range steps {
		step, _ := s.(obj)
		label := fmt.Sprintf("step %d", i)
		if id, ok := str(step["id"]); ok {
			label = fmt.Sprintf("step %d (%s)", i, id)
		}
		err := r.step(step)
		var n notOffered
		switch {
		case err == nil:
			passed++
		case errors.As(err, &n):
			fmt.Fprintf(os.Stderr, "%s: unsupported %s: %s\n", label, n.feature, n.why)
			unsup++
		default:
			fmt.Fprintf(os.Stderr, "%s: %v\n", label, err)
			failed++
		}
	}
	for _, rd := range r.readers {
		_ = rd.cmd.Process.Kill()
		_ = rd.cmd.Wait()
	}
	return passed, failed, unsup, nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: plasmite-conformance MANIFEST...")
		os.Exit(2)
	}
	status := 0
	for _, path := range os.Args[1:] {
		p, f, u, err := runManifest(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "conformance: %s: %v\n", path, err)
			os.Exit(2)
		}
		fmt.Printf("conformance: %d passed, %d failed, %d unsupported (go: %s)\n", p, f, u, path)
		if f > 0 {
			status = 1
		}
	}
	os.Exit(status)
}
