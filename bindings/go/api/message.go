package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// MessageMeta is a message's metadata.
type MessageMeta struct {
	Tags []string `json:"tags"`
}

// Message is one message: its sequence, the time it was appended, its tags and its JSON data.
type Message struct {
	Seq uint64 `json:"seq"`
	// Time is TimeRFC3339 parsed, in UTC.
	Time        time.Time       `json:"-"`
	TimeRFC3339 string          `json:"time"`
	Data        json.RawMessage `json:"data"`
	Meta        MessageMeta     `json:"meta"`
	// Raw is the whole envelope as the library produced it (Data may share its bytes).
	Raw []byte `json:"-"`
}

// Tags are the message's tags (nil for a nil message).
func (m *Message) Tags() []string {
	if m == nil {
		return nil
	}
	return m.Meta.Tags
}

// Lite3Frame is a message as stored: its sequence, append time, frame flags and the raw Lite³
// payload.
type Lite3Frame struct {
	Seq         uint64
	TimestampNs uint64
	Flags       uint32
	Payload     []byte
}

// Time is the append time in UTC (zero for a nil frame).
func (f *Lite3Frame) Time() time.Time {
	if f == nil {
		return time.Time{}
	}
	return time.Unix(0, int64(f.TimestampNs)).UTC()
}

// PoolBounds are the oldest and newest retained sequences (both nil when the pool is empty).
type PoolBounds struct {
	Oldest *uint64 `json:"oldest,omitempty"`
	Newest *uint64 `json:"newest,omitempty"`
}

// PoolInfo describes a pool file (the shape of `pls pool info --json`). A pool in a listing
// that could not be read has only Name, Path and Error.
type PoolInfo struct {
	Name           string          `json:"name"`
	Path           string          `json:"path"`
	FileSize       uint64          `json:"file_size"`
	IndexOffset    uint64          `json:"index_offset"`
	IndexCapacity  uint64          `json:"index_capacity"`
	IndexSizeBytes uint64          `json:"index_size_bytes"`
	RingOffset     uint64          `json:"ring_offset"`
	RingSize       uint64          `json:"ring_size"`
	Bounds         PoolBounds      `json:"bounds"`
	Metrics        json.RawMessage `json:"metrics,omitempty"`
	Error          json.RawMessage `json:"error,omitempty"`
}

// DecodeMessage parses a message envelope ({"seq","time","meta","data"}). Raw is a copy of
// raw; Time is parsed as RFC 3339 and converted to UTC.
func DecodeMessage(raw []byte) (*Message, error) {
	return DecodeOwnedMessage(append([]byte(nil), raw...), true)
}

// DecodeOwnedMessage is DecodeMessage without the copy: the message keeps raw as Raw (and
// Data shares its bytes). With validate false, raw is trusted to be well-formed JSON when it
// has the library's layout (only its structure is checked) — for envelopes straight from the
// library.
func DecodeOwnedMessage(raw []byte, validate bool) (*Message, error) {
	if m, ok := decodeLayout(raw, validate); ok {
		return m, nil
	}
	var m Message
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("plasmite: decode message: %w", err)
	}
	t, err := time.Parse(time.RFC3339Nano, m.TimeRFC3339)
	if err != nil {
		return nil, fmt.Errorf("plasmite: parse message time: %w", err)
	}
	m.Time = t.UTC()
	m.Raw = raw
	return &m, nil
}

// decodeLayout reads the library's envelope layout
// {"seq":N,"time":"…","meta":{"tags":[…]},"data":{…}} without reflection; anything else
// (escaped tags, other key orders or spacing) is left to encoding/json (false).
func decodeLayout(raw []byte, validate bool) (*Message, bool) {
	const (
		seqKey  = `{"seq":`
		timeKey = `,"time":"`
		metaKey = `","meta":{"tags":[`
		dataKey = `]},"data":`
	)
	p := raw
	if !bytes.HasPrefix(p, []byte(seqKey)) {
		return nil, false
	}
	p = p[len(seqKey):]
	var seq uint64
	n := 0
	for n < len(p) && p[n] >= '0' && p[n] <= '9' && n < 20 {
		seq = seq*10 + uint64(p[n]-'0')
		n++
	}
	if n == 0 || n >= 20 || (n > 1 && p[0] == '0') {
		return nil, false
	}
	p = p[n:]
	if !bytes.HasPrefix(p, []byte(timeKey)) {
		return nil, false
	}
	p = p[len(timeKey):]
	end := bytes.IndexByte(p, '"')
	if end < 0 {
		return nil, false
	}
	ts := p[:end]
	t, ok := parseUTC(ts)
	if !ok {
		return nil, false
	}
	p = p[end:]
	if !bytes.HasPrefix(p, []byte(metaKey)) {
		return nil, false
	}
	p = p[len(metaKey):]
	tags := []string{}
	for len(p) > 0 && p[0] != ']' {
		if len(tags) > 0 {
			if p[0] != ',' {
				return nil, false
			}
			p = p[1:]
		}
		if len(p) == 0 || p[0] != '"' {
			return nil, false
		}
		p = p[1:]
		end := bytes.IndexByte(p, '"')
		if end < 0 || bytes.IndexByte(p[:end], '\\') >= 0 || hasControl(p[:end]) {
			return nil, false
		}
		tags = append(tags, string(p[:end]))
		p = p[end+1:]
	}
	if !bytes.HasPrefix(p, []byte(dataKey)) {
		return nil, false
	}
	p = p[len(dataKey):]
	if len(p) < 3 || p[0] != '{' || p[len(p)-1] != '}' {
		return nil, false
	}
	data := p[:len(p)-1]
	if objectEnd(data) != len(data) {
		return nil, false
	}
	if validate && !json.Valid(data) {
		return nil, false
	}
	return &Message{
		Seq:         seq,
		Time:        t,
		TimeRFC3339: string(ts),
		Data:        json.RawMessage(data),
		Meta:        MessageMeta{Tags: tags},
		Raw:         raw,
	}, true
}

func hasControl(s []byte) bool {
	for _, c := range s {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// objectEnd is the end (exclusive) of the JSON object starting at b[0], judged by brackets
// outside strings; -1 when it does not close.
func objectEnd(b []byte) int {
	depth := 0
	inString, escaped := false, false
	for i, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// parseUTC reads "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (what the library writes); anything else
// is left to time.Parse (false).
func parseUTC(s []byte) (time.Time, bool) {
	if len(s) < 20 || s[len(s)-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
		s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(b []byte) (int, bool) {
		v := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok1 := num(s[0:4])
	month, ok2 := num(s[5:7])
	day, ok3 := num(s[8:10])
	hour, ok4 := num(s[11:13])
	minute, ok5 := num(s[14:16])
	sec, ok6 := num(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nanos := 0
	frac := s[19 : len(s)-1]
	if len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		v, ok := num(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for i := len(frac) - 1; i < 9; i++ {
			v *= 10
		}
		nanos = v
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.UTC)
	if t.Day() != day {
		return time.Time{}, false // 31 February and the like: let time.Parse say why
	}
	return t, true
}
