package local

// The one file that talks to libplasmite. Every C call of the package is a Go function here,
// so the rules of the boundary sit in one place:
//
//   - Go memory handed to C never holds Go pointers (byte slices, scalars, and structs C
//     fills with C pointers), and C keeps none of it after the call.
//   - Strings go in as NUL-separated bytes packed in one Go buffer (tags, predicates); the C
//     helpers below point into it for the duration of the call, so no C allocation per string.
//   - Buffers come back through one call: a helper copies the library's buffer into a Go
//     buffer when it fits and frees it, or leaves it for a second call ("spill") when not.
//   - Every error is converted and freed here (takeError).
//
// Linking: see link_static.go and link_pkgconfig.go.

/*
#include <stdlib.h>
#include <string.h>
#include "plasmite.h"

// Points tags[0..n) at the n NUL-terminated strings laid end to end in buf; stack holds up to
// 16. NULL when n is 0 or on allocation failure (*failed then).
static const char **plsmgo_strings(const char *buf, size_t n, const char **stack, int *failed) {
	*failed = 0;
	if (n == 0) return NULL;
	const char **out = n <= 16 ? stack : (const char **)malloc(n * sizeof *out);
	if (out == NULL) { *failed = 1; return NULL; }
	for (size_t i = 0; i < n; i++) { out[i] = buf; buf += strlen(buf) + 1; }
	return out;
}

static void plsmgo_strings_free(const char **s, const char **stack) {
	if (s != NULL && s != stack) free((void *)s);
}

// Copies *buf into dst when it fits (then frees it), else moves it to *spill.
static void plsmgo_land(plsm_buf_t *buf, uint8_t *dst, size_t cap, size_t *out_len, plsm_buf_t *spill) {
	*out_len = buf->len;
	if (buf->len <= cap) {
		if (buf->len != 0) memcpy(dst, buf->data, buf->len);
		plsm_buf_free(buf);
	} else {
		*spill = *buf;
		buf->data = NULL;
		buf->len = 0;
	}
}

#define PLSMGO_NOMEM (-2)

static int plsmgo_append_json(plsm_pool_t *pool, const uint8_t *json, size_t len,
		const char *tagbuf, size_t ntags, uint32_t durability, uint8_t *dst, size_t cap,
		size_t *out_len, plsm_buf_t *spill, plsm_error_t **err) {
	const char *stack[16];
	int failed;
	const char **tags = plsmgo_strings(tagbuf, ntags, stack, &failed);
	if (failed) return PLSMGO_NOMEM;
	plsm_buf_t buf = {0};
	int rc = plsm_pool_append_json(pool, json, len, tags, ntags, durability, &buf, err);
	plsmgo_strings_free(tags, stack);
	if (rc == 0) plsmgo_land(&buf, dst, cap, out_len, spill);
	return rc;
}

static int plsmgo_append_batch(plsm_pool_t *pool, const uint8_t *jsonl, size_t len,
		const char *tagbuf, size_t ntags, uint32_t durability, uint64_t *first, uint64_t *count,
		plsm_error_t **err) {
	const char *stack[16];
	int failed;
	const char **tags = plsmgo_strings(tagbuf, ntags, stack, &failed);
	if (failed) return PLSMGO_NOMEM;
	int rc = plsm_pool_append_batch_jsonl(pool, jsonl, len, tags, ntags, durability, first,
		count, err);
	plsmgo_strings_free(tags, stack);
	return rc;
}

static int plsmgo_get_json(plsm_pool_t *pool, uint64_t seq, uint8_t *dst, size_t cap,
		size_t *out_len, plsm_buf_t *spill, plsm_error_t **err) {
	plsm_buf_t buf = {0};
	int rc = plsm_pool_get_json(pool, seq, &buf, err);
	if (rc == 0) plsmgo_land(&buf, dst, cap, out_len, spill);
	return rc;
}

static int plsmgo_stream_next(plsm_stream_t *s, uint8_t *dst, size_t cap, size_t *out_len,
		plsm_buf_t *spill, plsm_error_t **err) {
	plsm_buf_t buf = {0};
	int rc = plsm_stream_next(s, &buf, err);
	if (rc == 1) plsmgo_land(&buf, dst, cap, out_len, spill);
	return rc;
}

static int plsmgo_stream_next_batch(plsm_stream_t *s, size_t max_count, uint8_t *dst,
		size_t cap, size_t *out_len, size_t *out_count, plsm_buf_t *spill, plsm_error_t **err) {
	plsm_buf_t buf = {0};
	int rc = plsm_stream_next_batch(s, max_count, cap, &buf, out_count, err);
	if (rc == 1) plsmgo_land(&buf, dst, cap, out_len, spill);
	return rc;
}

static int plsmgo_lite3_next(plsm_lite3_stream_t *s, uint8_t *dst, size_t cap,
		size_t *out_len, plsm_lite3_frame_t *meta, plsm_buf_t *spill, plsm_error_t **err) {
	plsm_lite3_frame_t f;
	memset(&f, 0, sizeof f);
	int rc = plsm_lite3_stream_next(s, &f, err);
	if (rc == 1) {
		meta->seq = f.seq;
		meta->timestamp_ns = f.timestamp_ns;
		meta->flags = f.flags;
		plsmgo_land(&f.payload, dst, cap, out_len, spill);
	}
	return rc;
}

static int plsmgo_stream_open(plsm_pool_t *pool, int lite3, uint32_t gap, uint64_t since,
		uint32_t has_since, uint64_t max, uint32_t has_max, uint64_t timeout_ms,
		uint32_t has_timeout, uint32_t start, uint64_t last_n, const char *tagbuf, size_t ntags,
		const char *wherebuf, size_t nwhere, void **out, plsm_error_t **err) {
	plsm_stream_options_t o;
	memset(&o, 0, sizeof o);
	o.struct_size = sizeof o;
	o.gap_policy = gap;
	o.since_seq = since;
	o.has_since = has_since;
	o.max_messages = max;
	o.has_max = has_max;
	o.timeout_ms = timeout_ms;
	o.has_timeout = has_timeout;
	const char *tstack[16], *wstack[16];
	int failed_t, failed_w;
	const char **tags = plsmgo_strings(tagbuf, ntags, tstack, &failed_t);
	const char **where = plsmgo_strings(wherebuf, nwhere, wstack, &failed_w);
	int rc = PLSMGO_NOMEM;
	if (!failed_t && !failed_w) {
		plsm_stream_filter_t f;
		memset(&f, 0, sizeof f);
		f.struct_size = sizeof f;
		f.start = start;
		f.last_n = last_n;
		f.tags = tags;
		f.tags_len = ntags;
		f.where_exprs = where;
		f.where_len = nwhere;
		if (lite3) {
			rc = plsm_lite3_stream_open_ex2(pool, &o, &f, (plsm_lite3_stream_t **)out, err);
		} else {
			rc = plsm_stream_open_ex2(pool, &o, &f, (plsm_stream_t **)out, err);
		}
	}
	plsmgo_strings_free(tags, tstack);
	plsmgo_strings_free(where, wstack);
	return rc;
}
*/
import "C"

import (
	"strings"
	"unsafe"

	"github.com/sandover/plasmite/bindings/go/api"
)

type (
	cClient = *C.plsm_client_t
	cPool   = *C.plsm_pool_t
)

const noMem = C.PLSMGO_NOMEM

// takeError converts a library error (nil: none was given) and frees it.
func takeError(rc C.int, e *C.plsm_error_t) error {
	if rc == noMem {
		return &api.Error{Kind: api.ErrorInternal, Message: "out of memory"}
	}
	if e == nil {
		return &api.Error{Kind: api.ErrorInternal, Message: "unknown error"}
	}
	defer C.plsm_error_free(e)
	out := &api.Error{Kind: api.ErrorKind(e.kind), Message: "unknown error"}
	if e.message != nil {
		if m := C.GoString(e.message); m != "" {
			out.Message = m
		}
	}
	if e.path != nil {
		out.Path = C.GoString(e.path)
	}
	if e.has_seq != 0 {
		seq := uint64(e.seq)
		out.Seq = &seq
	}
	if e.has_offset != 0 {
		off := uint64(e.offset)
		out.Offset = &off
	}
	if h := C.plsm_error_hint(e); h != nil {
		out.Hint = C.GoString(h)
	}
	return out
}

// packStrings lays out ss as NUL-terminated strings end to end; a string holding a NUL is
// refused (what names it is `what`).
func packStrings(ss []string, what string) ([]byte, error) {
	if len(ss) == 0 {
		return nil, nil
	}
	n := 0
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 {
			return nil, api.InvalidArgumentError(what + " contains a NUL byte")
		}
		n += len(s) + 1
	}
	buf := make([]byte, 0, n)
	for _, s := range ss {
		buf = append(buf, s...)
		buf = append(buf, 0)
	}
	return buf, nil
}

func cstr(b []byte) *C.char {
	if len(b) == 0 {
		return nil
	}
	return (*C.char)(unsafe.Pointer(&b[0]))
}

func cbytes(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

// landed is the Go side of plsmgo_land: dst[:n] when it fit, else a copy of the spilled
// buffer (freed here).
func landed(dst []byte, n C.size_t, spill *C.plsm_buf_t) []byte {
	if spill.data == nil {
		return dst[:n:n]
	}
	out := C.GoBytes(unsafe.Pointer(spill.data), C.int(spill.len))
	C.plsm_buf_free(spill)
	return out
}

func withCString(s string, f func(*C.char) error) error {
	if strings.IndexByte(s, 0) >= 0 {
		return api.InvalidArgumentError("string contains a NUL byte")
	}
	cs := C.CString(s)
	defer C.free(unsafe.Pointer(cs))
	return f(cs)
}

// ---- Clients ------------------------------------------------------------------------------

func cClientNew(dir string) (cClient, error) {
	var out cClient
	err := withCString(dir, func(cs *C.char) error {
		var e *C.plsm_error_t
		if rc := C.plsm_client_new(cs, &out, &e); rc != 0 {
			return takeError(rc, e)
		}
		return nil
	})
	return out, err
}

func cClientFree(c cClient) { C.plsm_client_free(c) }

func cPoolCreate(c cClient, ref string, size uint64) (cPool, error) {
	var out cPool
	err := withCString(ref, func(cs *C.char) error {
		var e *C.plsm_error_t
		if rc := C.plsm_pool_create(c, cs, C.uint64_t(size), &out, &e); rc != 0 {
			return takeError(rc, e)
		}
		return nil
	})
	return out, err
}

func cPoolOpen(c cClient, ref string) (cPool, error) {
	var out cPool
	err := withCString(ref, func(cs *C.char) error {
		var e *C.plsm_error_t
		if rc := C.plsm_pool_open(c, cs, &out, &e); rc != 0 {
			return takeError(rc, e)
		}
		return nil
	})
	return out, err
}

func cPoolDelete(c cClient, ref string) error {
	return withCString(ref, func(cs *C.char) error {
		var e *C.plsm_error_t
		if rc := C.plsm_pool_delete(c, cs, &e); rc != 0 {
			return takeError(rc, e)
		}
		return nil
	})
}

func cPoolList(c cClient) ([]byte, error) {
	var buf C.plsm_buf_t
	var e *C.plsm_error_t
	if rc := C.plsm_pool_list_json(c, &buf, &e); rc != 0 {
		return nil, takeError(rc, e)
	}
	return takeBuf(&buf), nil
}

func takeBuf(buf *C.plsm_buf_t) []byte {
	if buf.data == nil || buf.len == 0 {
		return []byte{}
	}
	out := C.GoBytes(unsafe.Pointer(buf.data), C.int(buf.len))
	C.plsm_buf_free(buf)
	return out
}

func cVersion() string { return C.GoString(C.plsm_version()) }

// ---- Pools --------------------------------------------------------------------------------

func cPoolFree(p cPool) { C.plsm_pool_free(p) }

func cPoolInfo(p cPool) ([]byte, error) {
	var buf C.plsm_buf_t
	var e *C.plsm_error_t
	if rc := C.plsm_pool_info_json(p, &buf, &e); rc != 0 {
		return nil, takeError(rc, e)
	}
	return takeBuf(&buf), nil
}

// cAppendJSON appends payload and returns the envelope.
func cAppendJSON(p cPool, payload, tags []byte, ntags int, d api.Durability) ([]byte, error) {
	// The envelope is the payload re-printed plus seq, time and tags: this size fits it
	// nearly always (else the library's buffer is copied in a second call).
	dst := make([]byte, len(payload)+len(tags)+2*ntags+96)
	var n C.size_t
	var spill C.plsm_buf_t
	var e *C.plsm_error_t
	rc := C.plsmgo_append_json(p, cbytes(payload), C.size_t(len(payload)), cstr(tags),
		C.size_t(ntags), C.uint32_t(d), cbytes(dst), C.size_t(len(dst)), &n, &spill, &e)
	if rc != 0 {
		return nil, takeError(rc, e)
	}
	return landed(dst, n, &spill), nil
}

func cAppendBatch(p cPool, jsonl, tags []byte, ntags int, d api.Durability) (uint64, uint64, error) {
	var first, count C.uint64_t
	var e *C.plsm_error_t
	rc := C.plsmgo_append_batch(p, cbytes(jsonl), C.size_t(len(jsonl)), cstr(tags),
		C.size_t(ntags), C.uint32_t(d), &first, &count, &e)
	if rc != 0 {
		return 0, 0, takeError(rc, e)
	}
	return uint64(first), uint64(count), nil
}

func cAppendLite3(p cPool, payload []byte, d api.Durability) (uint64, error) {
	var seq C.uint64_t
	var e *C.plsm_error_t
	rc := C.plsm_pool_append_lite3(p, cbytes(payload), C.size_t(len(payload)), C.uint32_t(d),
		&seq, &e)
	if rc != 0 {
		return 0, takeError(rc, e)
	}
	return uint64(seq), nil
}

func cGetJSON(p cPool, seq uint64, dst []byte) ([]byte, error) {
	var n C.size_t
	var spill C.plsm_buf_t
	var e *C.plsm_error_t
	rc := C.plsmgo_get_json(p, C.uint64_t(seq), cbytes(dst), C.size_t(len(dst)), &n, &spill, &e)
	if rc != 0 {
		return nil, takeError(rc, e)
	}
	return landed(dst, n, &spill), nil
}

func cGetLite3(p cPool, seq uint64) (*api.Lite3Frame, error) {
	var f C.plsm_lite3_frame_t
	var e *C.plsm_error_t
	if rc := C.plsm_pool_get_lite3(p, C.uint64_t(seq), &f, &e); rc != 0 {
		return nil, takeError(rc, e)
	}
	out := &api.Lite3Frame{
		Seq:         uint64(f.seq),
		TimestampNs: uint64(f.timestamp_ns),
		Flags:       uint32(f.flags),
		Payload:     takeBuf(&f.payload),
	}
	C.plsm_lite3_frame_free(&f)
	return out, nil
}

// ---- Streams ------------------------------------------------------------------------------

// streamSpec is a stream's options and filter, ready for plsmgo_stream_open.
type streamSpec struct {
	lite3         bool
	errorOnGap    bool
	since, max    *uint64
	timeoutMs     *uint64
	start         uint32
	lastN         uint64
	tags, where   []byte
	ntags, nwhere int
}

const (
	startDefault = uint32(C.PLSM_START_DEFAULT)
	startLive    = uint32(C.PLSM_START_LIVE)
	startLast    = uint32(C.PLSM_START_LAST)
)

func opt(v *uint64) (C.uint64_t, C.uint32_t) {
	if v == nil {
		return 0, 0
	}
	return C.uint64_t(*v), 1
}

func cStreamOpen(p cPool, s *streamSpec) (unsafe.Pointer, error) {
	gap := C.uint32_t(C.PLSM_GAP_CONTINUE)
	if s.errorOnGap {
		gap = C.PLSM_GAP_ERROR
	}
	lite3 := C.int(0)
	if s.lite3 {
		lite3 = 1
	}
	since, hasSince := opt(s.since)
	max, hasMax := opt(s.max)
	timeout, hasTimeout := opt(s.timeoutMs)
	var out unsafe.Pointer
	var e *C.plsm_error_t
	rc := C.plsmgo_stream_open(p, lite3, gap, since, hasSince, max, hasMax, timeout, hasTimeout,
		C.uint32_t(s.start), C.uint64_t(s.lastN), cstr(s.tags), C.size_t(s.ntags),
		cstr(s.where), C.size_t(s.nwhere), &out, &e)
	if rc != 0 {
		return nil, takeError(rc, e)
	}
	return out, nil
}

// cStreamNext: (envelope, true, nil) for a message, (nil, false, nil) at the end.
func cStreamNext(s unsafe.Pointer, dst []byte) ([]byte, bool, error) {
	var n C.size_t
	var spill C.plsm_buf_t
	var e *C.plsm_error_t
	rc := C.plsmgo_stream_next((*C.plsm_stream_t)(s), cbytes(dst), C.size_t(len(dst)), &n,
		&spill, &e)
	switch rc {
	case 1:
		return landed(dst, n, &spill), true, nil
	case 0:
		return nil, false, nil
	default:
		return nil, false, takeError(rc, e)
	}
}

// cStreamNextBatch: envelopes each followed by a newline (waiting for the first, then what
// is there now, up to maxCount and about len(dst) bytes) and their number; 0 at the end.
func cStreamNextBatch(s unsafe.Pointer, maxCount int, dst []byte) ([]byte, int, error) {
	var n, count C.size_t
	var spill C.plsm_buf_t
	var e *C.plsm_error_t
	rc := C.plsmgo_stream_next_batch((*C.plsm_stream_t)(s), C.size_t(maxCount), cbytes(dst),
		C.size_t(len(dst)), &n, &count, &spill, &e)
	switch rc {
	case 1:
		return landed(dst, n, &spill), int(count), nil
	case 0:
		return nil, 0, nil
	default:
		return nil, 0, takeError(rc, e)
	}
}

func cLite3Next(s unsafe.Pointer, dst []byte) (*api.Lite3Frame, []byte, error) {
	var n C.size_t
	var meta C.plsm_lite3_frame_t
	var spill C.plsm_buf_t
	var e *C.plsm_error_t
	rc := C.plsmgo_lite3_next((*C.plsm_lite3_stream_t)(s), cbytes(dst), C.size_t(len(dst)), &n,
		&meta, &spill, &e)
	switch rc {
	case 1:
		return &api.Lite3Frame{
			Seq:         uint64(meta.seq),
			TimestampNs: uint64(meta.timestamp_ns),
			Flags:       uint32(meta.flags),
		}, landed(dst, n, &spill), nil
	case 0:
		return nil, nil, nil
	default:
		return nil, nil, takeError(rc, e)
	}
}

func cStreamCancel(s unsafe.Pointer, lite3 bool) {
	if lite3 {
		C.plsm_lite3_stream_cancel((*C.plsm_lite3_stream_t)(s))
	} else {
		C.plsm_stream_cancel((*C.plsm_stream_t)(s))
	}
}

func cStreamFree(s unsafe.Pointer, lite3 bool) {
	if lite3 {
		C.plsm_lite3_stream_free((*C.plsm_lite3_stream_t)(s))
	} else {
		C.plsm_stream_free((*C.plsm_stream_t)(s))
	}
}
