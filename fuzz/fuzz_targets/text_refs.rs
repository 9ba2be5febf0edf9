//! The engine's text parsers — `PoolRef::parse`, `PoolName::new`, `time::parse_rfc3339`,
//! `time::since`, `time::duration` — on arbitrary strings: never a panic, every refusal is
//! `Usage` with a hint, and what is accepted keeps its invariants (a name's file is one path
//! component; a remote ref's parts put back together parse to the same ref; an instant in the
//! storable range prints and parses back to itself).
#![no_main]

use libfuzzer_sys::fuzz_target;
use plasmite_os::{ErrorKind, PoolName, PoolRef, time};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match PoolRef::parse(text) {
        Ok(PoolRef::Name(n)) => check_name(&n),
        Ok(PoolRef::Path(p)) => assert!(text.contains('/') && p == Path::new(text)),
        Ok(PoolRef::Url(r)) => {
            check_name(&r.pool);
            let again = PoolRef::parse(&format!("{}{}", r.base_url, r.pool.as_str()));
            if !r.pool.as_str().contains(['%', '?', '#']) {
                assert_eq!(again.ok(), Some(PoolRef::Url(r)));
            }
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Usage);
            assert!(e.hint().is_some());
        }
    }
    if let Ok(n) = PoolName::new(text) {
        check_name(&n);
    }
    if let Some(ns) = time::parse_rfc3339(text) {
        let stored = time::saturating_ns(ns);
        if u64::try_from(ns).is_ok() {
            assert_eq!(time::parse_rfc3339(&time::rfc3339(stored)), Some(ns));
        }
    }
    match time::since(text, 1_800_000_000_000_000_000) {
        Ok(_) => {}
        Err(e) => assert_eq!(e.kind(), ErrorKind::Usage),
    }
    if let Err(e) = time::duration(text) {
        assert_eq!(e.kind(), ErrorKind::Usage);
    }
});

fn check_name(n: &PoolName) {
    let file = n.file_name();
    assert!(file.len() <= 255 && file.ends_with(".plasmite"));
    let path = n.path_in(Path::new("/d"));
    assert_eq!(path.parent(), Some(Path::new("/d")));
    assert_eq!(PoolName::new(n.as_str()).ok().as_ref(), Some(n));
}
