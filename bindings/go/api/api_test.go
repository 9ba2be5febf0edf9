package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

const envelope = `{"seq":12,"time":"2026-12-05T02:22:10.5Z","meta":{"tags":["a","b c"]},"data":{"k":"}","n":[1,{"x":null}]}}`

// The library's layout, read without reflection, gives what encoding/json gives.
func TestFastEnvelopeDecodeAgreesWithEncodingJSON(t *testing.T) {
	cases := []string{
		envelope,
		`{"seq":1,"time":"2026-01-01T00:00:00Z","meta":{"tags":[]},"data":{}}`,
		`{"seq":18446744073709551615,"time":"2026-02-28T23:59:59.123456789Z","meta":{"tags":["x"]},"data":{"s":"\"\\{"}}`,
		// Not the library's layout: encoding/json decides.
		`{"seq":3, "time":"2026-01-01T00:00:00Z","meta":{"tags":[]},"data":{}}`,
		`{"seq":4,"time":"2026-01-01T00:00:00Z","meta":{"tags":["\u00e9"]},"data":{}}`,
		`{"data":{"a":1},"meta":{"tags":["t"]},"seq":5,"time":"2026-01-01T01:00:00+01:00"}`,
	}
	for _, raw := range cases {
		got, ok := decodeLayout([]byte(raw), true)
		slow := &Message{}
		if err := json.Unmarshal([]byte(raw), slow); err != nil {
			t.Fatal(err)
		}
		ts, err := time.Parse(time.RFC3339Nano, slow.TimeRFC3339)
		if err != nil {
			t.Fatal(err)
		}
		slow.Time, slow.Raw = ts.UTC(), []byte(raw)
		if ok && !reflect.DeepEqual(got, slow) {
			t.Fatalf("%s:\nfast %+v\nslow %+v", raw, got, slow)
		}
		m, err := DecodeMessage([]byte(raw))
		if err != nil || !reflect.DeepEqual(m, slow) {
			t.Fatalf("%s: %+v %v", raw, m, err)
		}
	}
}

func TestDecodeMessageRefusesWhatIsNotAMessage(t *testing.T) {
	for raw, want := range map[string]string{
		`{"seq":1,"time":"2026-01-01T00:00:00Z","meta":{"tags":[]},"data":{"a":}}`:        "decode message",
		`{"seq":1,"time":"2026-01-01T00:00:00Z","meta":{"tags":[]},"data":{"a":1},"x":2}`: "",
		`{"seq":1,"time":"yesterday","meta":{"tags":[]},"data":{}}`:                       "parse message time",
		`{"seq":1,"time":"2026-02-30T00:00:00Z","meta":{"tags":[]},"data":{}}`:            "parse message time",
		`[1]`: "decode message",
	} {
		_, err := DecodeMessage([]byte(raw))
		if want == "" {
			if err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "plasmite: "+want) {
			t.Fatalf("%s: %v", raw, err)
		}
	}
}

func TestDecodeMessageCopiesRaw(t *testing.T) {
	raw := []byte(envelope)
	m, err := DecodeMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	raw[0] = 'X'
	if m.Raw[0] != '{' || string(m.Data) != `{"k":"}","n":[1,{"x":null}]}` || m.Seq != 12 ||
		m.Time != time.Date(2026, 12, 5, 2, 22, 10, 500_000_000, time.UTC) || len(m.Tags()) != 2 {
		t.Fatalf("%+v", m)
	}
	var nilMsg *Message
	if nilMsg.Tags() != nil {
		t.Fatal("nil message tags")
	}
}

func TestAppendOptionsFoldOverFast(t *testing.T) {
	if c := ApplyAppendOptions(); c.Durability != DurabilityFast {
		t.Fatal(c)
	}
	if c := ApplyAppendOptions(nil, WithDurability(DurabilityFlush)); c.Durability != DurabilityFlush {
		t.Fatal(c)
	}
	if c := ApplyAppendOptions(DurabilityFlush, DurabilityFast); c.Durability != DurabilityFast {
		t.Fatal(c)
	}
	custom := AppendOptionFunc(func(c *AppendConfig) { c.Durability = DurabilityFlush })
	if c := ApplyAppendOptions(custom); c.Durability != DurabilityFlush {
		t.Fatal(c)
	}
}

func TestPoolRefsAndFrameTimes(t *testing.T) {
	if PoolRefName("a") != "a" || PoolRefPath("./a") != "./a" || PoolRefURI("http://h/a") != "http://h/a" {
		t.Fatal("pool refs are not passed through")
	}
	var nilFrame *Lite3Frame
	if !nilFrame.Time().IsZero() {
		t.Fatal("nil frame time")
	}
	f := &Lite3Frame{TimestampNs: 1_500_000_000}
	if f.Time() != time.Unix(1, 500_000_000).UTC() {
		t.Fatal(f.Time())
	}
	if DefaultPoolSize != 1048576 {
		t.Fatal(DefaultPoolSize)
	}
}
