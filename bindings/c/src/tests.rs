//! Rust-side checks of the ABI (the C tests in `bindings/c/tests` cover it from C).

use super::*;
use std::ptr::{null, null_mut};

fn client(dir: &Path) -> *mut plsm_client {
    let d = CString::new(dir.as_os_str().as_bytes()).unwrap();
    let mut c = null_mut();
    // SAFETY: rules 2 and 4 — a valid string and out-pointer.
    let rc = unsafe { plsm_client_new(d.as_ptr(), &mut c, null_mut()) };
    assert_eq!(rc, 0);
    c
}

fn temp(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("plsm-c-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    p
}

#[test]
fn append_then_get_returns_identical_envelope_bytes() {
    let dir = temp("get");
    let c = client(&dir);
    let mut pool = null_mut();
    let name = CString::new("p").unwrap();
    // SAFETY: every pointer is valid for the call; handles are freed once.
    unsafe {
        assert_eq!(
            plsm_pool_create(c, name.as_ptr(), 0, &mut pool, null_mut()),
            0
        );
        let json = br#"{"b":1,"a":[true]}"#;
        let mut out = plsm_buf {
            data: null_mut(),
            len: 0,
        };
        assert_eq!(
            plsm_pool_append_json(
                pool,
                json.as_ptr(),
                json.len(),
                null(),
                0,
                0,
                &mut out,
                null_mut()
            ),
            0
        );
        let appended = std::slice::from_raw_parts(out.data, out.len).to_vec();
        let text = String::from_utf8(appended.clone()).unwrap();
        assert!(text.starts_with(r#"{"seq":1,"time":""#), "{text}");
        assert!(
            text.ends_with(r#""meta":{"tags":[]},"data":{"a":[true],"b":1}}"#),
            "{text}"
        );
        let mut got = plsm_buf {
            data: null_mut(),
            len: 0,
        };
        assert_eq!(plsm_pool_get_json(pool, 1, &mut got, null_mut()), 0);
        assert_eq!(std::slice::from_raw_parts(got.data, got.len), &appended[..]);
        plsm_buf_free(&mut out);
        plsm_buf_free(&mut got);
        plsm_buf_free(&mut got);
        let mut err = null_mut();
        assert_eq!(plsm_pool_get_json(pool, 9, &mut got, &mut err), -1);
        assert_eq!((*err).kind, 3);
        plsm_error_free(err);
        plsm_pool_free(pool);
        plsm_client_free(c);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn null_arguments_are_usage_errors() {
    let mut err = null_mut();
    // SAFETY: NULL handles are checked before use.
    unsafe {
        assert_eq!(plsm_client_new(null(), null_mut(), &mut err), -1);
        assert_eq!((*err).kind, 2);
        assert_eq!(
            CStr::from_ptr((*err).message).to_str().unwrap(),
            "out_client is null"
        );
        plsm_error_free(err);
        assert_eq!(plsm_stream_next(null_mut(), null_mut(), null_mut()), -1);
        plsm_buf_free(null_mut());
        plsm_error_free(null_mut());
    }
}

#[test]
fn envelope_moves_seq_and_time_first_whatever_the_strings_hold() {
    let data = serde_json::json!({"a\"}": "x}\\\"{,\"meta\":", "n": [1, {"m": "]"}]});
    let payload = message::encode(&data, &["t\"}", "u"], 1 << 20).unwrap();
    let out = envelope(&Printed {
        seq: 7,
        timestamp_ns: 1_000_000_000,
        payload: &payload,
    })
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with(r#"{"seq":7,"time":"1970-01-01T00:00:01Z","meta":{"tags":["#),
        "{text}"
    );
    let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed["data"], data);
    assert_eq!(parsed["meta"]["tags"], serde_json::json!(["t\"}", "u"]));
    let keys: Vec<&String> = parsed.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4);
}

/// Appends `n` messages `{"i":…}` to a new pool `p` of a client over `dir`.
fn pool_with(dir: &Path, n: u32) -> (*mut plsm_client, *mut plsm_pool) {
    let c = client(dir);
    let mut pool = null_mut();
    let name = CString::new("p").unwrap();
    // SAFETY: every pointer is valid for the call.
    unsafe {
        assert_eq!(
            plsm_pool_create(c, name.as_ptr(), 0, &mut pool, null_mut()),
            0
        );
        for i in 0..n {
            let json = format!(r#"{{"i":{i}}}"#);
            let mut out = plsm_buf {
                data: null_mut(),
                len: 0,
            };
            let rc = plsm_pool_append_json(
                pool,
                json.as_ptr(),
                json.len(),
                null(),
                0,
                0,
                &mut out,
                null_mut(),
            );
            assert_eq!(rc, 0);
            plsm_buf_free(&mut out);
        }
    }
    (c, pool)
}

#[test]
fn a_batch_holds_the_envelopes_next_would_return_one_per_line_within_its_limits() {
    let dir = temp("batch");
    let (c, pool) = pool_with(&dir, 5);
    // SAFETY: every pointer is valid for the call; handles are freed once.
    unsafe {
        let mut expected = Vec::new();
        for seq in 1..=5 {
            let mut got = plsm_buf {
                data: null_mut(),
                len: 0,
            };
            assert_eq!(plsm_pool_get_json(pool, seq, &mut got, null_mut()), 0);
            expected.push(std::slice::from_raw_parts(got.data, got.len).to_vec());
            plsm_buf_free(&mut got);
        }
        let mut s = null_mut();
        assert_eq!(
            plsm_stream_open(pool, 0, 0, 0, 0, 0, 1, &mut s, null_mut()),
            0
        );
        let mut lines = plsm_buf {
            data: null_mut(),
            len: 0,
        };
        let mut count = 0usize;
        let batch = |max_count, max_bytes, lines: &mut plsm_buf, count: &mut usize| {
            plsm_stream_next_batch(s, max_count, max_bytes, lines, count, null_mut())
        };
        // At most three.
        assert_eq!(batch(3, 1 << 20, &mut lines, &mut count), 1);
        assert_eq!(count, 3);
        let text = std::slice::from_raw_parts(lines.data, lines.len).to_vec();
        let want: Vec<u8> = expected[..3]
            .iter()
            .flat_map(|e| [&e[..], b"\n"].concat())
            .collect();
        assert_eq!(text, want);
        plsm_buf_free(&mut lines);
        // One byte of budget still takes the first message (one is always taken).
        assert_eq!(batch(9, 1, &mut lines, &mut count), 1);
        assert_eq!(count, 1);
        assert_eq!(
            std::slice::from_raw_parts(lines.data, lines.len),
            [&expected[3][..], b"\n"].concat()
        );
        plsm_buf_free(&mut lines);
        // A single next between batches reads on from the same place.
        let mut one = plsm_buf {
            data: null_mut(),
            len: 0,
        };
        assert_eq!(plsm_stream_next(s, &mut one, null_mut()), 1);
        assert_eq!(
            std::slice::from_raw_parts(one.data, one.len),
            &expected[4][..]
        );
        plsm_buf_free(&mut one);
        // The stream's timeout ends it: 0, nothing written.
        assert_eq!(batch(9, 1 << 20, &mut lines, &mut count), 0);
        let mut err = null_mut();
        assert_eq!(
            plsm_stream_next_batch(s, 9, 9, null_mut(), &mut count, &mut err),
            -1
        );
        assert_eq!((*err).kind, 2);
        plsm_error_free(err);
        plsm_stream_free(s);
        plsm_pool_free(pool);
        plsm_client_free(c);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
