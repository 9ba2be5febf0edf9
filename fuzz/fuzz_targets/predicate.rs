//! `predicate::Program::eval` and `eval_checked` on arbitrary payloads: never panic, and when
//! the full check accepts a payload, reading only what the program needs gives the same answer.
//!
//! Input: the payload bytes, used as they are and XORed over a valid envelope (so mutations
//! start from a payload that passes the root, `meta.tags` and `data` lookups). The programs
//! cover every operation: paths into `data` and `meta.tags`, `.seq`, literals, comparisons,
//! `and`/`or`/`//`/`not`, `length`, `has`, the string tests and `|`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plasmite_core::lite3::envelope;
use plasmite_core::lite3::write::{Key, Value};
use plasmite_core::predicate::{Cmp, Literal, Message, Program, Step, StrTest};

fuzz_target!(|data: &[u8]| {
    let programs = programs();
    check(&programs, data);
    let mut buf = [0u8; 2048];
    let (mut w, at) = envelope::begin(&mut buf, ["prod", "a"]).unwrap();
    w.insert(at, Key::Name("n"), Value::I64(30)).unwrap();
    w.insert(at, Key::Name("s"), Value::Str("abc")).unwrap();
    let list = w.insert(at, Key::Name("l"), Value::Array).unwrap();
    w.insert(list, Key::Append, Value::F64(-0.0)).unwrap();
    let len = w.len() as usize;
    let mut valid = buf[..len].to_vec();
    for (dst, src) in valid.iter_mut().zip(data) {
        *dst ^= src;
    }
    check(&programs, &valid);
});

fn check(programs: &[Program], payload: &[u8]) {
    for seq in [0, 42, u64::MAX] {
        let msg = Message {
            seq,
            timestamp_ns: seq.wrapping_mul(1_000_000_007),
            payload,
        };
        for p in programs {
            let lazy = p.eval(&msg);
            if let Ok(answer) = p.eval_checked(&msg) {
                assert_eq!(lazy, Ok(answer), "{p:?}");
            }
        }
    }
}

fn programs() -> Vec<Program> {
    let mut out = Vec::new();
    // `.data.n > 25 and (.meta.tags | length == 2)`
    let mut p = Program::new();
    p.push_path(&[Step::Key("data"), Step::Key("n")]).unwrap();
    p.push_literal(Literal::Int(25)).unwrap();
    p.push_cmp(Cmp::Gt).unwrap();
    p.push_path(&[Step::Key("meta"), Step::Key("tags")])
        .unwrap();
    p.push_bind().unwrap();
    p.push_path(&[]).unwrap();
    p.push_length().unwrap();
    p.push_literal(Literal::Int(2)).unwrap();
    p.push_cmp(Cmp::Eq).unwrap();
    p.push_unbind().unwrap();
    p.push_and().unwrap();
    out.push(p);
    // `(.data.s | startswith("a")) or (.data.l[0] // .seq) == 0`
    let mut p = Program::new();
    p.push_path(&[Step::Key("data"), Step::Key("s")]).unwrap();
    p.push_str_test(StrTest::StartsWith, "a").unwrap();
    p.push_path(&[Step::Key("data"), Step::Key("l"), Step::Index(0)])
        .unwrap();
    p.push_path(&[Step::Key("seq")]).unwrap();
    p.push_alt().unwrap();
    p.push_literal(Literal::Float(0.0)).unwrap();
    p.push_cmp(Cmp::Eq).unwrap();
    p.push_or().unwrap();
    out.push(p);
    // `(.data | has("s") | not) or (.meta.tags[1] | test("a"))`
    let mut p = Program::new();
    p.push_path(&[Step::Key("data")]).unwrap();
    p.push_has("s").unwrap();
    p.push_not().unwrap();
    p.push_path(&[Step::Key("meta"), Step::Key("tags"), Step::Index(1)])
        .unwrap();
    p.push_str_test(StrTest::Contains, "a").unwrap();
    p.push_or().unwrap();
    out.push(p);
    out
}
