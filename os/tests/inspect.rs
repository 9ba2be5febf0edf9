//! Opening reference pool files from the OS side maps every failure to its stable kind and hint.

#[path = "../../core/tests/support/mod.rs"]
mod support;

use plasmite_os::ErrorKind;
use plasmite_os::inspect::PoolCopy;
use std::path::PathBuf;

fn pool(name: &str) -> PathBuf {
    support::reference_dir().join(format!("pools/{name}.plasmite"))
}

fn expected(name: &str) -> serde_json::Value {
    let path = pool(name).with_extension("expected.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn refused_pools_report_the_reference_kind_message_and_hint() {
    for name in ["bad-magic", "bad-version", "truncated"] {
        let err = PoolCopy::read(&pool(name)).unwrap_err();
        let want = &expected(name)["info_stderr"]["error"];
        assert_eq!(err.kind().as_str(), want["kind"], "{name}");
        assert!(
            err.message().starts_with(want["message"].as_str().unwrap()),
            "{name}: {}",
            err.message()
        );
        let want_hint = want["hint"].as_str().unwrap();
        if name == "bad-version" {
            // The reference's CLI hint ends with a command; the engine's names none, and the
            // CLI adds it back from the structured cause (tested in cli/tests).
            assert!(
                matches!(
                    err.cause(),
                    Some(plasmite_os::Cause::UnsupportedVersion {
                        found: 4,
                        supported: 3
                    })
                ),
                "{name}"
            );
            let engine = err.hint().unwrap();
            assert!(!engine.contains("doctor"), "{engine}");
            assert!(want_hint.starts_with(engine), "{name}: {engine}");
        } else {
            assert_eq!(err.hint(), Some(want_hint), "{name}");
        }
        assert_eq!(err.path(), Some(pool(name).as_path()), "{name}");
    }
}

#[test]
fn missing_pool_is_not_found_with_a_hint() {
    let err = PoolCopy::read(&pool("does-not-exist")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.hint().is_some());
}

#[test]
fn damaged_frame_is_reported_with_its_offset() {
    let copy = PoolCopy::read(&pool("corrupt-frame")).unwrap();
    let report = copy.validate().unwrap();
    let issue = report.issue.expect("corrupt");
    let err = plasmite_os::Error::from(issue.corrupt);
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert_eq!(err.offset(), Some(1488));
    assert!(
        err.message().contains("payload length xor mismatch"),
        "{}",
        err.message()
    );
}
