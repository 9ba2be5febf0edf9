//! Evaluation of a [`Program`] over a message: values, paths and jq's operations on them.
//!
//! Role: the run-time half of `predicate`; the module above builds programs, this one runs
//! them on Lite³ bytes with fixed stacks and no allocation.
//!
//! # Invariants
//! - See the parent module: one output per sub-expression, jq's (jaq's) value semantics, and
//!   `Undecided` rather than a guess.
//!
//! Spec: `spec/API.md` §10 (filters, the fast path's grammar).

use core::cmp::Ordering;

use heapless::Vec;

use super::time::{TIME_LEN, rfc3339};
use super::{Cmp, EvalError, Lit, Message, Op, PathStep, Program, STACK_MAX, StrTest};
use crate::lite3::envelope::Envelope;
use crate::lite3::read::{Container, Doc, Iter, ValueRef};
use crate::lite3::{Lite3Error, Lite3ErrorKind, djb2};

impl Program {
    /// Runs the program on `msg`: `Ok(true)` when its value is truthy, `Ok(false)` when it is
    /// falsy or a jq runtime error. A damaged payload is [`EvalError::Corrupt`]; a message this
    /// program cannot decide exactly is [`EvalError::Undecided`]; so is an incomplete program.
    ///
    /// Reads only what the program needs, in place: the root node, then `data` or `meta.tags`
    /// and the members the paths name, each checked as it is read. Damage elsewhere in the
    /// payload goes unnoticed here (see [`Program::eval_checked`]).
    pub fn eval(&self, msg: &Message<'_>) -> Result<bool, EvalError> {
        if !self.is_complete() {
            return Err(EvalError::Undecided);
        }
        let root = Doc::new(msg.payload)?.root();
        let mut buf = [0u8; TIME_LEN];
        let time = self.time(&mut buf, msg);
        self.run(msg, time, &mut Parts::Lazy(root))
    }

    /// [`Program::eval`] after the checks a full conversion of the envelope makes (its shape,
    /// every tag, and a walk of all of `data` bounded by the payload's node budget), so that a
    /// damaged payload is [`EvalError::Corrupt`] whatever the program reads.
    pub fn eval_checked(&self, msg: &Message<'_>) -> Result<bool, EvalError> {
        if !self.is_complete() {
            return Err(EvalError::Undecided);
        }
        let env = open(msg.payload)?;
        let mut buf = [0u8; TIME_LEN];
        let time = self.time(&mut buf, msg);
        self.run(msg, time, &mut Parts::Open(env))
    }

    /// The envelope's `time`, formatted only when a path may read it.
    fn time<'b>(&self, buf: &'b mut [u8; TIME_LEN], msg: &Message<'_>) -> &'b str {
        if self.uses_time {
            rfc3339(buf, msg.timestamp_ns)
        } else {
            ""
        }
    }

    fn run<'a>(
        &'a self,
        msg: &Message<'a>,
        time: &'a str,
        parts: &mut Parts<'a>,
    ) -> Result<bool, EvalError> {
        let env = parts;
        let root = V::Envelope;
        let mut stack: Vec<V<'_>, STACK_MAX> = Vec::new();
        let mut inputs: Vec<V<'_>, STACK_MAX> = Vec::new();
        for op in &self.ops {
            let v = match *op {
                Op::Path(p) => {
                    let input = inputs.last().copied().unwrap_or(root);
                    self.path(input, p, env, (msg.seq, time))?
                }
                Op::Lit(i) => match self.lits.get(usize::from(i)) {
                    Some(Lit::Null) => V::Null,
                    Some(Lit::Bool(b)) => V::Bool(*b),
                    Some(Lit::Int(n)) => V::Int(*n),
                    Some(Lit::Float(x)) => V::Float(*x),
                    Some(Lit::Str(t)) => V::Str(self.text(*t)),
                    None => return Err(EvalError::Undecided),
                },
                Op::Cmp(c) => {
                    let (l, r) = pop2(&mut stack)?;
                    compare(l, r, c)?
                }
                Op::And | Op::Or => {
                    let (l, r) = pop2(&mut stack)?;
                    let stop = matches!(op, Op::Or);
                    match (truthy(l), truthy(r)) {
                        (None, _) => V::Err,
                        (Some(lb), _) if lb == stop => V::Bool(stop),
                        (_, None) => V::Err,
                        (_, Some(rb)) => V::Bool(rb),
                    }
                }
                Op::Alt => {
                    let (l, r) = pop2(&mut stack)?;
                    match truthy(l) {
                        None => V::Err,
                        Some(true) => l,
                        Some(false) => r,
                    }
                }
                Op::Not => match truthy(pop(&mut stack)?) {
                    None => V::Err,
                    Some(b) => V::Bool(!b),
                },
                Op::Length => length(pop(&mut stack)?)?,
                Op::Has(t) => has(pop(&mut stack)?, self.text(t))?,
                Op::Str(test, t) => str_test(pop(&mut stack)?, test, self.text(t)),
                Op::Bind => {
                    let v = pop(&mut stack)?;
                    inputs.push(v).map_err(|_| EvalError::Undecided)?;
                    continue;
                }
                Op::Unbind => {
                    let input = inputs.pop().ok_or(EvalError::Undecided)?;
                    let v = pop(&mut stack)?;
                    if matches!(input, V::Err) { V::Err } else { v }
                }
            };
            stack.push(v).map_err(|_| EvalError::Undecided)?;
        }
        match stack.pop() {
            Some(v) => Ok(truthy(v).unwrap_or(false)),
            None => Err(EvalError::Undecided),
        }
    }

    /// Path `p` applied to `input`.
    fn path<'a>(
        &'a self,
        input: V<'a>,
        p: u8,
        env: &mut Parts<'a>,
        (seq, time): (u64, &'a str),
    ) -> Result<V<'a>, EvalError> {
        let r = self.paths.get(usize::from(p)).ok_or(EvalError::Undecided)?;
        let first = usize::from(r.first);
        let steps = self
            .steps
            .get(first..first.saturating_add(usize::from(r.len)))
            .ok_or(EvalError::Undecided)?;
        let mut here = input;
        for step in steps {
            here = match (here, *step) {
                (V::Err, _) => V::Err,
                (V::Null, _) => V::Null,
                (V::Envelope, PathStep::Key(t, _)) => match self.text(t) {
                    "data" => container(env.data()?),
                    "seq" => V::Int(i64::try_from(seq).map_err(|_| EvalError::Undecided)?),
                    "meta" => V::Meta,
                    "time" => V::Str(time),
                    _ => V::Null,
                },
                (V::Meta, PathStep::Key(t, _)) => match self.text(t) {
                    "tags" => V::Arr(env.tags()?),
                    _ => V::Null,
                },
                // An object indexed by a number has no such member.
                (V::Envelope | V::Meta | V::Obj(_), PathStep::Index(_)) => V::Null,
                (V::Obj(c), PathStep::Key(t, h)) => match c.get_hashed(self.text(t), h)? {
                    Some(v) => value(v)?,
                    None => V::Null,
                },
                (V::Arr(c), PathStep::Index(i)) => match c.index(i)? {
                    Some(v) => value(v)?,
                    None => V::Null,
                },
                (V::Arr(_), PathStep::Key(..)) => V::Err,
                (V::Bool(_) | V::Int(_) | V::Float(_) | V::Str(_), _) => V::Err,
            };
        }
        Ok(here)
    }
}

/// A value during evaluation.
#[derive(Clone, Copy, Debug)]
enum V<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    Arr(Container<'a>),
    Obj(Container<'a>),
    /// The whole envelope (the root input).
    Envelope,
    /// The envelope's `meta`, which holds only `tags`.
    Meta,
    /// A jq runtime error.
    Err,
}

/// The envelope's parts, found as they are needed ([`Program::eval`]) or all at once with
/// every check ([`Program::eval_checked`]).
enum Parts<'a> {
    /// The payload's root; `data` and `meta.tags` are looked up on first use.
    Lazy(Container<'a>),
    /// An envelope opened and checked.
    Open(Envelope<'a>),
}

const DATA: u32 = djb2(b"data");
const META: u32 = djb2(b"meta");
const TAGS: u32 = djb2(b"tags");

impl<'a> Parts<'a> {
    /// `data`: an object (or an array, as readers of the reference accept); anything else is
    /// a damaged envelope, as [`Envelope::parse`] says.
    fn data(&mut self) -> Result<Container<'a>, Lite3Error> {
        let root = match self {
            Parts::Open(env) => return Ok(env.data),
            Parts::Lazy(root) => *root,
        };
        // `lookup` + `child_container` rather than `get`: no value is decoded on the way.
        let at = root.lookup(b"data", DATA)?.ok_or(shape())?;
        match root.child_container(at, false)? {
            Some(c) => Ok(c),
            None => root.child_container(at, true)?.ok_or(shape()),
        }
    }

    /// `meta.tags`: an array inside an object.
    fn tags(&mut self) -> Result<Container<'a>, Lite3Error> {
        let root = match self {
            Parts::Open(env) => return Ok(env.tags),
            Parts::Lazy(root) => *root,
        };
        let Some(ValueRef::Object(meta)) = root.get_hashed("meta", META)? else {
            return Err(shape());
        };
        match meta.get_hashed("tags", TAGS)? {
            Some(ValueRef::Array(c)) => Ok(c),
            _ => Err(Lite3Error {
                kind: Lite3ErrorKind::NotAContainer,
                offset: meta.offset(),
            }),
        }
    }
}

/// The envelope is not `{"meta":{"tags":[…]},"data":{…}}`.
fn shape() -> Lite3Error {
    Lite3Error {
        kind: Lite3ErrorKind::NotAContainer,
        offset: 0,
    }
}

/// Opens the payload with the checks a full conversion makes: the envelope's shape, its tags,
/// and every node, key and value of `data` within the payload's node budget.
fn open(payload: &[u8]) -> Result<Envelope<'_>, Lite3Error> {
    let doc = Doc::new(payload)?;
    let env = Envelope::parse(payload)?;
    let mut budget = doc.node_budget();
    walk(&mut env.data.iter_budgeted(&mut budget))?;
    Ok(env)
}

fn walk(it: &mut Iter<'_, '_>) -> Result<(), Lite3Error> {
    while let Some(e) = it.next() {
        if let (_, ValueRef::Object(c) | ValueRef::Array(c)) = e? {
            walk(&mut it.nested(&c))?;
        }
    }
    Ok(())
}

fn container(c: Container<'_>) -> V<'_> {
    if c.is_array() { V::Arr(c) } else { V::Obj(c) }
}

/// A stored value as an evaluation value: non-finite floats print (and convert) as null;
/// bytes values print as base64 strings, which this evaluator does not build.
fn value(v: ValueRef<'_>) -> Result<V<'_>, EvalError> {
    Ok(match v {
        ValueRef::Null => V::Null,
        ValueRef::Bool(b) => V::Bool(b),
        ValueRef::I64(n) => V::Int(n),
        ValueRef::F64(x) if x.is_finite() => V::Float(x),
        ValueRef::F64(_) => V::Null,
        ValueRef::Str(s) => V::Str(s),
        ValueRef::Bytes(_) => return Err(EvalError::Undecided),
        ValueRef::Object(c) => V::Obj(c),
        ValueRef::Array(c) => V::Arr(c),
    })
}

fn pop<'a>(stack: &mut Vec<V<'a>, STACK_MAX>) -> Result<V<'a>, EvalError> {
    stack.pop().ok_or(EvalError::Undecided)
}

fn pop2<'a>(stack: &mut Vec<V<'a>, STACK_MAX>) -> Result<(V<'a>, V<'a>), EvalError> {
    let r = pop(stack)?;
    let l = pop(stack)?;
    Ok((l, r))
}

/// jq truthiness; `None` for an error.
fn truthy(v: V<'_>) -> Option<bool> {
    match v {
        V::Err => None,
        V::Null | V::Bool(false) => Some(false),
        _ => Some(true),
    }
}

/// Rank of a value's type in jq's total order.
fn rank(v: &V<'_>) -> u8 {
    match v {
        V::Null | V::Err => 0,
        V::Bool(_) => 1,
        V::Int(_) | V::Float(_) => 2,
        V::Str(_) => 3,
        V::Arr(_) => 4,
        V::Obj(_) | V::Envelope | V::Meta => 5,
    }
}

/// jaq's float order: both zeros equal, otherwise the IEEE total order (no NaN reaches here:
/// literals and stored values are finite).
pub(super) fn float_cmp(l: f64, r: f64) -> Ordering {
    if l == 0.0 && r == 0.0 {
        Ordering::Equal
    } else {
        l.total_cmp(&r)
    }
}

/// `i as f64`, rounding to nearest as jaq's conversion does.
#[allow(clippy::cast_precision_loss)] // the rounding is jq's semantics
fn int_f64(i: i64) -> f64 {
    i as f64
}

fn order(l: V<'_>, r: V<'_>) -> Result<Ordering, EvalError> {
    let (rl, rr) = (rank(&l), rank(&r));
    if rl != rr {
        return Ok(rl.cmp(&rr));
    }
    Ok(match (l, r) {
        (V::Bool(a), V::Bool(b)) => a.cmp(&b),
        (V::Int(a), V::Int(b)) => a.cmp(&b),
        (V::Int(a), V::Float(b)) => float_cmp(int_f64(a), b),
        (V::Float(a), V::Int(b)) => float_cmp(a, int_f64(b)),
        (V::Float(a), V::Float(b)) => float_cmp(a, b),
        (V::Str(a), V::Str(b)) => a.as_bytes().cmp(b.as_bytes()),
        // Containers: only an empty one is decided here (empty sorts first).
        (V::Arr(a), V::Arr(b)) | (V::Obj(a), V::Obj(b)) => match (a.is_empty()?, b.is_empty()?) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => return Err(EvalError::Undecided),
        },
        (V::Null, V::Null) => Ordering::Equal,
        _ => return Err(EvalError::Undecided),
    })
}

fn compare<'a>(l: V<'a>, r: V<'a>, op: Cmp) -> Result<V<'a>, EvalError> {
    if matches!(l, V::Err) || matches!(r, V::Err) {
        return Ok(V::Err);
    }
    let o = order(l, r)?;
    Ok(V::Bool(match op {
        Cmp::Eq => o == Ordering::Equal,
        Cmp::Ne => o != Ordering::Equal,
        Cmp::Lt => o == Ordering::Less,
        Cmp::Le => o != Ordering::Greater,
        Cmp::Gt => o == Ordering::Greater,
        Cmp::Ge => o != Ordering::Less,
    }))
}

fn length(v: V<'_>) -> Result<V<'_>, EvalError> {
    Ok(match v {
        V::Err | V::Bool(_) => V::Err,
        V::Null => V::Int(0),
        V::Int(n) => V::Int(n.checked_abs().ok_or(EvalError::Undecided)?),
        V::Float(x) => V::Float(f64::from_bits(x.to_bits() & !(1 << 63))),
        V::Str(s) => V::Int(i64::try_from(s.chars().count()).map_err(|_| EvalError::Undecided)?),
        V::Arr(c) | V::Obj(c) => V::Int(i64::from(c.len()?)),
        V::Envelope | V::Meta => return Err(EvalError::Undecided),
    })
}

fn has<'a>(v: V<'a>, key: &str) -> Result<V<'a>, EvalError> {
    Ok(match v {
        V::Null => V::Bool(false),
        V::Obj(c) => V::Bool(c.get(key)?.is_some()),
        V::Envelope | V::Meta => return Err(EvalError::Undecided),
        _ => V::Err,
    })
}

fn str_test<'a>(v: V<'a>, test: StrTest, lit: &str) -> V<'a> {
    let V::Str(s) = v else {
        return V::Err;
    };
    let (s, lit) = (s.as_bytes(), lit.as_bytes());
    V::Bool(match test {
        StrTest::StartsWith => s.starts_with(lit),
        StrTest::EndsWith => s.ends_with(lit),
        StrTest::Contains => lit.is_empty() || s.windows(lit.len()).any(|w| w == lit),
    })
}
