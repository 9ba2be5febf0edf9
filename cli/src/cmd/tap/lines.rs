//! A captured line as pool messages: one `line` message, or consecutive parts when it is too
//! large for one.
//!
//! Role: turns the raw bytes of a line into `{"kind":"line","line":…,"stream":…}` payloads —
//! lossy UTF-8, one trailing CR stripped — splitting at UTF-8 character boundaries when the
//! whole line does not fit the pool's largest payload.
//!
//! # Invariants
//! - Every payload fits `max`; the `line` strings of the parts concatenate to the whole line.
//! - Parts carry `"part":i,"parts":n` (1-based) and come out in order; a line that fits is one
//!   message without those keys.
//! - A character is never cut in two, so each part is valid UTF-8 on its own.
//!
//! Spec: `spec/CLI.md` §2.11.

use plasmite_os::Error;
use plasmite_os::core::lite3::write::{Key, Value as Lv};
use plasmite_os::message::encode_with;

/// Room left beside a part's text for what the estimate of the envelope may miss.
const SLACK: usize = 64;

/// The payloads of line `bytes` (without its LF) read from `stream`.
pub fn payloads(
    stream: &str,
    bytes: &[u8],
    tags: &[&str],
    max: usize,
) -> Result<Vec<Vec<u8>>, Error> {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    // Invalid UTF-8 becomes U+FFFD: the message stays valid JSON and the line keeps its place.
    let text = String::from_utf8_lossy(bytes);
    let err = match encode(stream, &text, None, tags, max) {
        Ok(p) => return Ok(vec![p]),
        Err(e) => e,
    };
    // The envelope of a part around an empty text, with the largest numbers it will carry.
    let most = Some((text.len(), text.len()));
    let Ok(empty) = encode(stream, "", most, tags, max) else {
        return Err(err);
    };
    let mut budget = max.saturating_sub(empty.len() + SLACK);
    // The text of a part costs its length plus a little; if the estimate is short, shrink by
    // an eighth and try again (a handful of rounds at most).
    while budget >= 4 {
        let chunks = split(&text, budget);
        let n = chunks.len();
        let encoded: Result<Vec<Vec<u8>>, Error> = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| encode(stream, c, Some((i + 1, n)), tags, max))
            .collect();
        if let Ok(parts) = encoded {
            return Ok(parts);
        }
        budget -= budget / 8 + 1;
    }
    Err(err)
}

/// The payload of `{"kind":"line","line":TEXT,"stream":STREAM}`, with `"part":I,"parts":N`
/// when `part` is `Some((I, N))`: written member by member (a `serde_json::Value` of it cost
/// more than the rest of the encode), in the key order `message::encode` uses, so the bytes
/// are the same.
fn encode(
    stream: &str,
    text: &str,
    part: Option<(usize, usize)>,
    tags: &[&str],
    max: usize,
) -> Result<Vec<u8>, Error> {
    let int = |n: usize| Lv::I64(i64::try_from(n).unwrap_or(i64::MAX));
    encode_with(tags, max, text.len() + 96, |w, at| {
        w.insert(at, Key::Name("kind"), Lv::Str("line"))?;
        w.insert(at, Key::Name("line"), Lv::Str(text))?;
        if let Some((i, n)) = part {
            w.insert(at, Key::Name("part"), int(i))?;
            w.insert(at, Key::Name("parts"), int(n))?;
        }
        w.insert(at, Key::Name("stream"), Lv::Str(stream))?;
        Ok(())
    })
}

/// `text` in consecutive pieces of at most `budget` bytes (`budget` ≥ 4, the longest UTF-8
/// character), each ending at a character boundary.
fn split(text: &str, budget: usize) -> Vec<&str> {
    let mut out = Vec::with_capacity(text.len() / budget + 1);
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = budget.min(rest.len());
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (head, tail) = rest.split_at(end);
        out.push(head);
        rest = tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use plasmite_os::message::{Printed, to_value};
    use serde_json::{Value, json};

    #[test]
    fn a_line_is_encoded_to_the_bytes_its_json_object_gives() {
        for (text, part) in [
            ("", None),
            ("hello", None),
            ("é€😀 and a \0 NUL", None),
            (&"x".repeat(5000)[..], None),
            ("piece", Some((1, 2))),
            ("", Some((12, 12))),
        ] {
            for tags in [&[][..], &["a", "b"][..]] {
                let mut obj = json!({"kind": "line", "line": text, "stream": "stderr"});
                if let Some((i, n)) = part {
                    obj["part"] = json!(i);
                    obj["parts"] = json!(n);
                }
                let want = plasmite_os::message::encode(&obj, tags, 1 << 20).unwrap();
                let got = encode("stderr", text, part, tags, 1 << 20).unwrap();
                assert_eq!(got, want, "{text:?} {part:?} {tags:?}");
            }
        }
    }

    fn decode(payload: &[u8]) -> Value {
        let v = to_value(&Printed {
            seq: 1,
            timestamp_ns: 0,
            payload,
        })
        .unwrap();
        v["data"].clone()
    }

    #[test]
    fn line_that_fits_is_one_message_without_parts() {
        let p = payloads("stdout", b"hello\r", &["t"], 4096).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(
            decode(&p[0]),
            json!({"kind": "line", "line": "hello", "stream": "stdout"})
        );
    }

    #[test]
    fn invalid_utf8_is_stored_lossily_in_place() {
        let p = payloads("stderr", b"a\xffb\xc3", &[], 4096).unwrap();
        assert_eq!(decode(&p[0])["line"], "a\u{fffd}b\u{fffd}");
    }

    #[test]
    fn oversized_line_splits_into_parts_that_fit_and_concatenate_to_it() {
        // Multi-byte characters of every width, so cuts fall inside characters.
        let line: String = "aé€😀".repeat(700);
        // The envelope of a part takes about 500 bytes here.
        for max in [640, 641, 642, 643, 777, 1000, 4096] {
            let p = payloads("stdout", line.as_bytes(), &["x", "y"], max).unwrap();
            assert!(p.len() > 1, "max {max}");
            let mut joined = String::new();
            for (i, payload) in p.iter().enumerate() {
                assert!(payload.len() <= max, "part {i} of max {max}");
                let d = decode(payload);
                assert_eq!(d["part"], i + 1);
                assert_eq!(d["parts"], p.len());
                assert_eq!(d["stream"], "stdout");
                assert_eq!(d["kind"], "line");
                joined.push_str(d["line"].as_str().unwrap());
            }
            assert_eq!(joined, line, "max {max}");
            // Parts are not needlessly small: each takes nearly all the room beside the envelope.
            assert!(
                p.len() <= line.len() / (max - 570) + 1,
                "max {max}: {}",
                p.len()
            );
        }
    }

    #[test]
    fn pool_too_small_for_any_part_is_an_error_not_a_loop() {
        for max in [40, 520] {
            assert!(
                payloads("stdout", &[b'a'; 1000], &[], max).is_err(),
                "max {max}"
            );
        }
    }

    #[test]
    fn split_never_cuts_a_character() {
        let s = "é😀a€";
        for budget in 4..12 {
            let parts = split(s, budget);
            assert_eq!(parts.concat(), s);
            assert!(parts.iter().all(|p| !p.is_empty() && p.len() <= budget));
        }
    }
}
