//! JSON text as the decoders see it: whitespace and structure bytes, line and indent counts,
//! and the words and snippets a rejection carries.
//!
//! Role: small pure functions over byte slices, shared by every decoder.
//!
//! # Invariants
//! - [`snippet`] returns at most 200 bytes (plus "..."), cut on a char boundary.
//!
//! Spec: `spec/CLI.md` (feed input modes, ingest notices).

/// Longest snippet of record text kept in a [`super::Rejected`] (before the "..." marker).
const SNIPPET_BYTES: usize = 200;

/// JSON whitespace.
pub(super) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

pub(super) fn is_structural(b: u8) -> bool {
    matches!(b, b'{' | b'}' | b'[' | b']' | b'"' | b',' | b':')
}

pub(super) fn is_blank(text: &[u8]) -> bool {
    text.iter().all(|&b| is_ws(b))
}

/// Leading spaces and tabs.
pub(super) fn indent(line: &[u8]) -> usize {
    line.iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count()
}

/// Whether the first non-whitespace byte opens an object or array.
pub(super) fn opens_container(line: &[u8]) -> bool {
    matches!(line.iter().find(|&&b| !is_ws(b)), Some(b'{' | b'['))
}

pub(super) fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

pub(super) fn parse_message(e: &serde_json::Error) -> String {
    format!("invalid JSON: {e}")
}

pub(super) fn oversize_message(limit: usize) -> String {
    format!("record exceeds {limit} bytes")
}

/// At most 200 bytes (`SNIPPET_BYTES`) of `text` (whitespace-trimmed, invalid UTF-8
/// replaced), cut on a char boundary, with "..." appended when anything was cut.
pub fn snippet(text: &[u8]) -> String {
    let start = text.iter().position(|&b| !is_ws(b)).unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|&b| !is_ws(b))
        .map_or(start, |i| i + 1);
    let text = &text[start..end];
    let is_cont = |b: u8| b & 0xC0 == 0x80;
    let mut cut = text.len().min(SNIPPET_BYTES);
    if cut < text.len() {
        // Back off to the lead byte of a UTF-8 sequence split by the cut.
        let mut k = cut;
        while k > 0 && cut - k < 3 && is_cont(text[k]) {
            k -= 1;
        }
        if !is_cont(text[k]) {
            cut = k;
        }
    }
    let mut s = String::from_utf8_lossy(&text[..cut]).into_owned();
    let mut truncated = cut < text.len();
    if s.len() > SNIPPET_BYTES {
        // Replacement characters made it longer.
        let mut c = SNIPPET_BYTES;
        while !s.is_char_boundary(c) {
            c -= 1;
        }
        s.truncate(c);
        truncated = true;
    }
    if truncated {
        s.push_str("...");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::*;

    #[test]
    fn snippet_is_at_most_200_bytes_cut_on_a_char_boundary_with_an_ellipsis() {
        assert_eq!(snippet(b"  short \n"), "short");
        let exact = "e".repeat(200);
        assert_eq!(snippet(exact.as_bytes()), exact);
        // 199 ASCII bytes, then a 3-byte char straddling byte 200.
        let text = format!("{}€tail", "a".repeat(199));
        assert_eq!(snippet(text.as_bytes()), format!("{}...", "a".repeat(199)));
        let text = format!("{}€tail", "a".repeat(197));
        assert_eq!(snippet(text.as_bytes()), format!("{}€...", "a".repeat(197)));
        // Invalid bytes become U+FFFD and the result still stays within 200 bytes.
        let s = snippet(&[0xFF; 300]);
        assert!(
            s.ends_with("...") && s.len() <= 203 && s.starts_with('\u{FFFD}'),
            "{s}"
        );

        let line = format!("{{\"k\": \"{}\" nope}}\n", "ü".repeat(150));
        let items = run(line.as_bytes(), Mode::Jsonl, Policy::Stop);
        let bad = rejections(&items)[0];
        assert!(bad.snippet.ends_with("...") && bad.snippet.len() <= 203);
        assert_eq!(bad.snippet.len(), 7 + 2 * 96 + 3);
    }
}
