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
