//! Compiled message predicates: a small jq subset evaluated over Lite³ bytes, without allocating.
//!
//! Role: lets an embedded user of the core (and the `os` filter's fast path) decide whether a
//! stored message passes a jq-like predicate. A [`Program`] is a postfix sequence of at most
//! [`OPS_MAX`] operations over fixed pools of literals, path steps and text; it is built with the
//! `push_*` methods (a front end's parser emits them) and run by [`Program::eval`] on a
//! [`Message`]: the envelope `{"seq":N,"time":…,"meta":{"tags":[…]},"data":{…}}` whose `seq`
//! and `time` (the append stamp as RFC 3339 text, as printed) come from the frame and whose
//! `meta`/`data` come from the Lite³ payload.
//!
//! The grammar (the operations): paths of constant steps from the current input (`.data.a`,
//! `.meta.tags[0]`, `.seq`, `."key"`, `.[2]`), literals (`null`, booleans, `i64` integers,
//! finite floats, strings), comparisons (`== != < <= > >=`) under jq's total order, `and`,
//! `or`, `not`, `//`, `length`, `has("k")`, `startswith("s")`, `endswith("s")`, substring
//! search (`test("lit")` where the literal has no regex syntax), and `X | Y` (bind the input).
//!
//! # Invariants
//! - Every sub-expression has exactly one output: a value or a jq runtime error. So
//!   evaluation is eager and order-free: `l and r` is an error when `l` is, `false` when `l` is
//!   falsy (whatever `r` is), else the truthiness of `r` (or its error); `l or r` likewise with
//!   `true`; `l // r` is `l`'s error, else `l` when truthy, else `r`; a comparison or function
//!   of an error is that error; `X | Y` is `X`'s error when `X` fails. The program matches when
//!   its value is truthy (neither `false` nor `null`); an error is no match.
//! - Values follow jq (jaq) exactly: order null < false < true < numbers < strings < arrays <
//!   objects; an integer and a float compare as `i as f64` against the float, `-0.0 == 0`;
//!   strings compare by bytes; `length` of null is 0, of a number its absolute value, of a
//!   string its code points, of a container its entries, of a boolean an error; `.k` of null is
//!   null, of an object its member or null, of anything else an error; `.[i]` of an object is
//!   null; `has("k")` of null is `false`, of a non-object an error.
//! - What the program cannot decide exactly it does not guess: [`EvalError::Undecided`]
//!   (comparing two non-empty containers, bytes values, a whole envelope used as a
//!   value, `seq` above `i64::MAX`, the absolute value of `i64::MIN`). The caller then asks a
//!   full jq engine.
//! - [`Program::eval`] reads only what the program needs, checking each node, key and value as
//!   it reads it: damage there is [`EvalError::Corrupt`], damage elsewhere goes unnoticed (as
//!   with a tag check). [`Program::eval_checked`] first checks what a full conversion of the
//!   envelope checks (its shape, every tag, a walk of `data` bounded by the payload's node
//!   budget), so a damaged payload is Corrupt whatever the program; it costs a walk of the
//!   whole message.
//! - No allocation, no panic, bounded work: the value and input stacks are fixed arrays, a
//!   program holds at most [`OPS_MAX`] operations, and the walk of `data` is budgeted.
//!
//! Spec: `spec/API.md` §10 (filters, the fast path's grammar).

mod eval;
mod time;

use heapless::Vec;

use crate::lite3::{Lite3Error, djb2};

/// Most operations in a program.
pub const OPS_MAX: usize = 32;
/// Most literals in a program.
pub const LITERALS_MAX: usize = 16;
/// Most path steps in a program, all paths together.
pub const STEPS_MAX: usize = 32;
/// Most paths in a program.
pub const PATHS_MAX: usize = 16;
/// Most bytes of string literals and keys in a program, all together.
pub const TEXT_MAX: usize = 256;
/// Deepest value stack (and nesting of `|`) a program may need.
const STACK_MAX: usize = 16;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A string test against a literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrTest {
    /// `startswith("s")`
    StartsWith,
    /// `endswith("s")`
    EndsWith,
    /// `test("s")` where `s` has no regex syntax: substring search.
    Contains,
}

/// A literal value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Literal<'t> {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A finite float.
    Float(f64),
    /// A string.
    Str(&'t str),
}

/// One step of a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step<'t> {
    /// `.key` (or `."key"`, `.["key"]`).
    Key(&'t str),
    /// `.[i]`, a non-negative index.
    Index(u32),
}

/// Why a program could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// A fixed capacity (operations, literals, steps, paths, text or stack) is exhausted.
    Full,
    /// An operation found fewer operands than it needs, or `unbind` had no `bind`.
    Malformed,
}

/// Why [`Program::eval`] gave no verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvalError {
    /// The payload does not decode (where, in its bytes).
    Corrupt(Lite3Error),
    /// This message needs a full jq engine to be decided exactly (see the module invariants).
    Undecided,
}

impl From<Lite3Error> for EvalError {
    fn from(e: Lite3Error) -> EvalError {
        EvalError::Corrupt(e)
    }
}

/// The message a program runs on: the frame's sequence and the Lite³ payload.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    /// The message sequence (`.seq`).
    pub seq: u64,
    /// The append time, Unix nanoseconds (`.time`, as RFC 3339 text).
    pub timestamp_ns: u64,
    /// The Lite³ envelope `{"meta":{"tags":[…]},"data":{…}}`.
    pub payload: &'a [u8],
}

/// A text range in the program's text pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Text {
    start: u16,
    len: u16,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Text),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PathStep {
    /// A key and its djb2 hash.
    Key(Text, u32),
    Index(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PathRef {
    first: u8,
    len: u8,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    /// Push the path applied to the current input.
    Path(u8),
    /// Push a literal.
    Lit(u8),
    Cmp(Cmp),
    And,
    Or,
    Alt,
    Not,
    Length,
    /// `has` with a string literal.
    Has(Text),
    Str(StrTest, Text),
    /// Pop a value and make it the current input.
    Bind,
    /// Drop the current input; when it was an error, the value on top becomes that error.
    Unbind,
}

/// A compiled predicate: operations in postfix order over fixed pools.
#[derive(Clone, Debug, Default)]
pub struct Program {
    ops: Vec<Op, OPS_MAX>,
    lits: Vec<Lit, LITERALS_MAX>,
    steps: Vec<PathStep, STEPS_MAX>,
    paths: Vec<PathRef, PATHS_MAX>,
    text: heapless::String<TEXT_MAX>,
    /// Values on the stack after the operations so far.
    depth: u8,
    /// Deepest the stack gets.
    max_depth: u8,
    /// Open `bind`s.
    binds: u8,
    /// Whether a path names `time` (the envelope's `.time` is then formatted per message).
    uses_time: bool,
}

impl Program {
    /// An empty program (complete once exactly one value is on its stack, see
    /// [`Program::is_complete`]).
    pub fn new() -> Program {
        Program::default()
    }

    /// Whether the program leaves exactly one value and closes every `bind`.
    pub fn is_complete(&self) -> bool {
        self.depth == 1 && self.binds == 0
    }

    /// Pushes the value of `steps` applied to the current input (`.` when `steps` is empty).
    pub fn push_path(&mut self, steps: &[Step<'_>]) -> Result<(), BuildError> {
        let first = u8::try_from(self.steps.len()).map_err(|_| BuildError::Full)?;
        let len = u8::try_from(steps.len()).map_err(|_| BuildError::Full)?;
        for step in steps {
            let s = match *step {
                Step::Key(k) => {
                    self.uses_time |= k == "time";
                    PathStep::Key(self.intern(k)?, djb2(k.as_bytes()))
                }
                Step::Index(i) => PathStep::Index(i),
            };
            self.steps.push(s).map_err(|_| BuildError::Full)?;
        }
        let at = u8::try_from(self.paths.len()).map_err(|_| BuildError::Full)?;
        self.paths
            .push(PathRef { first, len })
            .map_err(|_| BuildError::Full)?;
        self.op(Op::Path(at), 0, 1)
    }

    /// Pushes a literal (a float must be finite).
    pub fn push_literal(&mut self, lit: Literal<'_>) -> Result<(), BuildError> {
        let l = match lit {
            Literal::Null => Lit::Null,
            Literal::Bool(b) => Lit::Bool(b),
            Literal::Int(n) => Lit::Int(n),
            Literal::Float(x) if x.is_finite() => Lit::Float(x),
            Literal::Float(_) => return Err(BuildError::Malformed),
            Literal::Str(s) => Lit::Str(self.intern(s)?),
        };
        let at = u8::try_from(self.lits.len()).map_err(|_| BuildError::Full)?;
        self.lits.push(l).map_err(|_| BuildError::Full)?;
        self.op(Op::Lit(at), 0, 1)
    }

    /// Replaces the two values on top (`l`, then `r`) by `l op r`.
    pub fn push_cmp(&mut self, op: Cmp) -> Result<(), BuildError> {
        self.op(Op::Cmp(op), 2, 1)
    }

    /// Replaces the two values on top (`l`, then `r`) by `l and r`.
    pub fn push_and(&mut self) -> Result<(), BuildError> {
        self.op(Op::And, 2, 1)
    }

    /// Replaces the two values on top (`l`, then `r`) by `l or r`.
    pub fn push_or(&mut self) -> Result<(), BuildError> {
        self.op(Op::Or, 2, 1)
    }

    /// Replaces the two values on top (`l`, then `r`) by `l // r`.
    pub fn push_alt(&mut self) -> Result<(), BuildError> {
        self.op(Op::Alt, 2, 1)
    }

    /// Replaces the value on top by `not` of it.
    pub fn push_not(&mut self) -> Result<(), BuildError> {
        self.op(Op::Not, 1, 1)
    }

    /// Replaces the value on top by its `length`.
    pub fn push_length(&mut self) -> Result<(), BuildError> {
        self.op(Op::Length, 1, 1)
    }

    /// Replaces the value on top by `has(key)` of it.
    pub fn push_has(&mut self, key: &str) -> Result<(), BuildError> {
        let t = self.intern(key)?;
        self.op(Op::Has(t), 1, 1)
    }

    /// Replaces the value on top by the string test `test` of it against `lit`.
    pub fn push_str_test(&mut self, test: StrTest, lit: &str) -> Result<(), BuildError> {
        let t = self.intern(lit)?;
        self.op(Op::Str(test, t), 1, 1)
    }

    /// Pops the value on top and makes it the current input (the left side of `X | Y`).
    pub fn push_bind(&mut self) -> Result<(), BuildError> {
        self.op(Op::Bind, 1, 0)?;
        self.binds = self.binds.checked_add(1).ok_or(BuildError::Full)?;
        if usize::from(self.binds) >= STACK_MAX {
            return Err(BuildError::Full);
        }
        Ok(())
    }

    /// Ends the innermost `bind` (after `Y` of `X | Y`).
    pub fn push_unbind(&mut self) -> Result<(), BuildError> {
        self.binds = self.binds.checked_sub(1).ok_or(BuildError::Malformed)?;
        self.op(Op::Unbind, 1, 1)
    }

    fn op(&mut self, op: Op, pops: u8, pushes: u8) -> Result<(), BuildError> {
        let depth = self
            .depth
            .checked_sub(pops)
            .ok_or(BuildError::Malformed)?
            .checked_add(pushes)
            .ok_or(BuildError::Full)?;
        if usize::from(depth) > STACK_MAX {
            return Err(BuildError::Full);
        }
        self.ops.push(op).map_err(|_| BuildError::Full)?;
        self.depth = depth;
        self.max_depth = self.max_depth.max(depth);
        Ok(())
    }

    fn intern(&mut self, s: &str) -> Result<Text, BuildError> {
        let start = u16::try_from(self.text.len()).map_err(|_| BuildError::Full)?;
        let len = u16::try_from(s.len()).map_err(|_| BuildError::Full)?;
        self.text.push_str(s).map_err(|_| BuildError::Full)?;
        Ok(Text { start, len })
    }

    fn text(&self, t: Text) -> &str {
        let end = usize::from(t.start).saturating_add(usize::from(t.len));
        self.text.get(usize::from(t.start)..end).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cmp::Ordering;
    use eval::float_cmp;

    #[test]
    fn incomplete_program_is_undecided_not_a_panic() {
        let p = Program::new();
        let msg = Message {
            seq: 1,
            timestamp_ns: 0,
            payload: &[],
        };
        assert_eq!(p.eval(&msg), Err(EvalError::Undecided));
    }

    #[test]
    fn operations_without_operands_are_refused_at_build() {
        let mut p = Program::new();
        assert_eq!(p.push_and(), Err(BuildError::Malformed));
        assert_eq!(p.push_unbind(), Err(BuildError::Malformed));
        p.push_literal(Literal::Bool(true)).unwrap();
        assert_eq!(p.push_cmp(Cmp::Eq), Err(BuildError::Malformed));
        assert!(p.is_complete());
    }

    #[test]
    fn capacity_is_a_build_error() {
        let mut p = Program::new();
        let mut full = false;
        for _ in 0..=OPS_MAX {
            if p.push_literal(Literal::Null) == Err(BuildError::Full) {
                full = true;
                break;
            }
        }
        assert!(full);
        let long = [b'x'; TEXT_MAX + 1];
        let long = core::str::from_utf8(&long).unwrap();
        assert_eq!(
            Program::new().push_literal(Literal::Str(long)),
            Err(BuildError::Full)
        );
    }

    #[test]
    fn float_order_treats_zeros_as_equal() {
        assert_eq!(float_cmp(-0.0, 0.0), Ordering::Equal);
        assert_eq!(float_cmp(-1.0, 0.0), Ordering::Less);
    }

    /// `{"meta":{"tags":["prod"]},"data":{"n":30,"s":"abc"}}` in `buf`; returns its length.
    fn envelope(buf: &mut [u8]) -> usize {
        use crate::lite3::envelope::begin;
        use crate::lite3::write::{Key, Value};
        let (mut w, data) = begin(buf, ["prod"]).unwrap();
        w.insert(data, Key::Name("n"), Value::I64(30)).unwrap();
        w.insert(data, Key::Name("s"), Value::Str("abc")).unwrap();
        w.len() as usize
    }

    /// Runs `build` on the envelope above with seq 42.
    fn run(build: impl FnOnce(&mut Program)) -> Result<bool, EvalError> {
        let mut buf = [0u8; 1024];
        let len = envelope(&mut buf);
        let mut p = Program::new();
        build(&mut p);
        let msg = Message {
            seq: 42,
            timestamp_ns: 1_732_180_000_123_456_789,
            payload: &buf[..len],
        };
        let lazy = p.eval(&msg);
        assert_eq!(lazy, p.eval_checked(&msg));
        lazy
    }

    fn path(p: &mut Program, steps: &[Step<'_>]) {
        p.push_path(steps).unwrap();
    }

    #[test]
    fn field_against_literal_compares_int_and_float_as_jq() {
        let n = [Step::Key("data"), Step::Key("n")];
        for (lit, op, want) in [
            (Literal::Int(25), Cmp::Gt, true),
            (Literal::Float(30.0), Cmp::Eq, true),
            (Literal::Float(30.5), Cmp::Lt, true),
            (Literal::Str("30"), Cmp::Lt, true),
            (Literal::Null, Cmp::Gt, true),
        ] {
            let got = run(|p| {
                path(p, &n);
                p.push_literal(lit).unwrap();
                p.push_cmp(op).unwrap();
            });
            assert_eq!(got, Ok(want), "{lit:?} {op:?}");
        }
    }

    #[test]
    fn runtime_error_is_no_match_unless_and_or_decide_first() {
        // `.data.s.x` is an error (a string has no members).
        let err = [Step::Key("data"), Step::Key("s"), Step::Key("x")];
        assert_eq!(run(|p| path(p, &err)), Ok(false));
        let and = |left: bool| {
            run(|p| {
                p.push_literal(Literal::Bool(left)).unwrap();
                path(p, &err);
                p.push_and().unwrap();
                p.push_not().unwrap();
            })
        };
        // `false and E` is false, so `not` matches; `true and E` is E: no match.
        assert_eq!(and(false), Ok(true));
        assert_eq!(and(true), Ok(false));
        let alt = run(|p| {
            path(p, &err);
            p.push_literal(Literal::Bool(true)).unwrap();
            p.push_alt().unwrap();
        });
        assert_eq!(alt, Ok(false), "E // true is E's error");
    }

    #[test]
    fn tags_length_and_string_tests_read_the_payload() {
        let tags = [Step::Key("meta"), Step::Key("tags")];
        assert_eq!(
            run(|p| {
                path(p, &tags);
                p.push_length().unwrap();
                p.push_literal(Literal::Int(1)).unwrap();
                p.push_cmp(Cmp::Eq).unwrap();
            }),
            Ok(true)
        );
        assert_eq!(
            run(|p| {
                path(p, &[Step::Key("meta"), Step::Key("tags"), Step::Index(0)]);
                p.push_str_test(StrTest::Contains, "ro").unwrap();
            }),
            Ok(true)
        );
        assert_eq!(
            run(|p| {
                path(p, &[Step::Key("data")]);
                p.push_has("missing").unwrap();
            }),
            Ok(false)
        );
        assert_eq!(
            run(|p| {
                path(p, &[Step::Key("seq")]);
                p.push_literal(Literal::Int(42)).unwrap();
                p.push_cmp(Cmp::Eq).unwrap();
            }),
            Ok(true)
        );
    }

    #[test]
    fn time_is_the_printed_stamp_and_container_comparisons_are_undecided() {
        assert_eq!(
            run(|p| {
                path(p, &[Step::Key("time")]);
                p.push_literal(Literal::Str("2024-11-21T09:06:40.123456789Z"))
                    .unwrap();
                p.push_cmp(Cmp::Eq).unwrap();
            }),
            Ok(true)
        );
        assert_eq!(
            run(|p| {
                path(p, &[Step::Key("data")]);
                path(p, &[Step::Key("data")]);
                p.push_cmp(Cmp::Eq).unwrap();
            }),
            Err(EvalError::Undecided)
        );
    }

    #[test]
    fn truncated_payload_is_corrupt_never_a_panic() {
        let mut buf = [0u8; 1024];
        let len = envelope(&mut buf);
        let mut p = Program::new();
        p.push_path(&[Step::Key("data"), Step::Key("n")]).unwrap();
        for cut in 0..len {
            let msg = Message {
                seq: 1,
                timestamp_ns: 0,
                payload: &buf[..cut],
            };
            assert!(matches!(p.eval(&msg), Err(EvalError::Corrupt(_)) | Ok(_)));
            assert!(matches!(p.eval_checked(&msg), Err(EvalError::Corrupt(_))));
        }
    }
}
