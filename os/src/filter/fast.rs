//! The fast path of [`super::Filter`]: jq expressions compiled to the core's predicate program.
//!
//! Role: parse an expression with jaq's own parser (the same syntax tree jaq compiles, so the
//! two engines never disagree on precedence or escapes) and translate the part of it that
//! [`plasmite_core::predicate`] covers into a [`Program`]; anything else declines, and the
//! expression runs on jaq.
//!
//! # Invariants
//! - Only called on expressions jaq compiled, so names such as `not` or `length` are jaq's
//!   definitions (a `def` that could shadow them is not in the grammar).
//! - Translated: `.` and constant paths (`.a`, `."a"`, `.["a"]`, `.[N]` with N a plain
//!   non-negative integer, no `?`); literals `null`, `true`, `false`, integers that fit `i64`,
//!   finite floats, strings without interpolation or format, and `-` of a number literal;
//!   `== != < <= > >=`, `and`, `or`, `//`, `|` (without `as`); `not`, `length`, `has(S)`,
//!   `startswith(S)`, `endswith(S)` and `test(S)` with a string literal `S` (for `test`, one
//!   that is non-empty and has no character with a meaning in regexes). Nothing else.
//! - Integer literals that do not fit `i64` (jaq makes big integers) and non-finite floats
//!   decline; so does a program over the core's fixed capacities.
//!
//! Spec: `spec/API.md` §10 (filters).

use jaq_core::load::{self, lex::StrPart, parse::BinaryOp, parse::Term};
use jaq_core::ops;
use jaq_core::path::{Opt, Part};
use plasmite_core::predicate::{Cmp, Literal, Program, Step, StrTest};

/// The core program for `expr`, or `None` when it must run on jaq.
pub(super) fn compile(expr: &str) -> Option<Program> {
    let term = load::parse(expr, |p| p.term())?;
    let mut program = Program::new();
    emit(&term, &mut program)?;
    program.is_complete().then_some(program)
}

/// Appends the operations computing `term` (one value) to `p`.
fn emit(term: &Term<&str>, p: &mut Program) -> Option<()> {
    match term {
        Term::Id => p.push_path(&[]).ok(),
        Term::Path(..) => {
            let mut keys = Vec::new();
            path(term, &mut keys)?;
            let steps: Vec<Step<'_>> = keys
                .iter()
                .map(|k| match k {
                    Key::Name(s) => Step::Key(s),
                    Key::Index(i) => Step::Index(*i),
                })
                .collect();
            p.push_path(&steps).ok()
        }
        Term::Num(_) | Term::Neg(_) | Term::Str(..) => {
            let lit = literal(term)?;
            p.push_literal(lit.as_literal()).ok()
        }
        Term::Call(name, args) => call(name, args, p),
        Term::BinOp(l, op, r) => {
            if let BinaryOp::Pipe(None) = op {
                emit(l, p)?;
                p.push_bind().ok()?;
                emit(r, p)?;
                return p.push_unbind().ok();
            }
            emit(l, p)?;
            emit(r, p)?;
            match op {
                BinaryOp::Alt => p.push_alt().ok(),
                BinaryOp::Or => p.push_or().ok(),
                BinaryOp::And => p.push_and().ok(),
                BinaryOp::Cmp(c) => p.push_cmp(cmp(*c)).ok(),
                _ => None,
            }
        }
        _ => None,
    }
}

fn cmp(c: ops::Cmp) -> Cmp {
    match c {
        ops::Cmp::Lt => Cmp::Lt,
        ops::Cmp::Le => Cmp::Le,
        ops::Cmp::Gt => Cmp::Gt,
        ops::Cmp::Ge => Cmp::Ge,
        ops::Cmp::Eq => Cmp::Eq,
        ops::Cmp::Ne => Cmp::Ne,
    }
}

/// A call to one of the definitions the fast path knows; they all apply to the current input.
fn call(name: &str, args: &[Term<&str>], p: &mut Program) -> Option<()> {
    match (name, args) {
        ("true", []) => return p.push_literal(Literal::Bool(true)).ok(),
        ("false", []) => return p.push_literal(Literal::Bool(false)).ok(),
        ("null", []) => return p.push_literal(Literal::Null).ok(),
        _ => {}
    }
    let arg = match args {
        [] => None,
        [a] => Some(string(a)?),
        _ => return None,
    };
    let test = match (name, arg.as_deref()) {
        ("not", None) | ("length", None) | ("has", Some(_)) => None,
        ("startswith", Some(_)) => Some(StrTest::StartsWith),
        ("endswith", Some(_)) => Some(StrTest::EndsWith),
        ("test", Some(re)) if plain(re) => Some(StrTest::Contains),
        _ => return None,
    };
    p.push_path(&[]).ok()?;
    match (name, arg.as_deref(), test) {
        ("not", _, _) => p.push_not().ok(),
        ("length", _, _) => p.push_length().ok(),
        ("has", Some(k), _) => p.push_has(k).ok(),
        (_, Some(s), Some(t)) => p.push_str_test(t, s).ok(),
        _ => None,
    }
}

/// Whether `re` means the same as a literal substring search: non-empty, made of letters,
/// digits and punctuation that regexes take literally (no `\ . + * ? ( ) | [ ] { } ^ $ #`, no
/// white space other than a plain space).
fn plain(re: &str) -> bool {
    !re.is_empty()
        && re
            .chars()
            .all(|c| c.is_alphanumeric() || " _-:/,=@!'\"<>%&~;`".contains(c))
}

/// A path step's key, owned (a key may hold escapes).
enum Key {
    Name(String),
    Index(u32),
}

/// The steps of a constant path from the current input (`.a.b[0]`), outermost first.
fn path(term: &Term<&str>, out: &mut Vec<Key>) -> Option<()> {
    match term {
        Term::Id => Some(()),
        Term::Path(base, parts) => {
            path(base, out)?;
            for (part, opt) in &parts.0 {
                let (Part::Index(index), Opt::Essential) = (part, opt) else {
                    return None;
                };
                out.push(match index {
                    Term::Num(n) if n.bytes().all(|b| b.is_ascii_digit()) => {
                        Key::Index(n.parse().ok()?)
                    }
                    Term::Str(..) => Key::Name(string(index)?),
                    _ => return None,
                });
            }
            Some(())
        }
        _ => None,
    }
}

/// A literal's value, owned.
enum Lit {
    Int(i64),
    Float(f64),
    Str(String),
}

impl Lit {
    fn as_literal(&self) -> Literal<'_> {
        match self {
            Lit::Int(n) => Literal::Int(*n),
            Lit::Float(x) => Literal::Float(*x),
            Lit::Str(s) => Literal::Str(s),
        }
    }
}

/// A number or string literal, or `-` of a number literal. Integers are digit strings that fit
/// `i64` (jaq parses them as integers too); other numbers parse as jaq parses decimals.
fn literal(term: &Term<&str>) -> Option<Lit> {
    match term {
        Term::Num(n) if n.bytes().all(|b| b.is_ascii_digit()) => n.parse().ok().map(Lit::Int),
        Term::Num(n) => n
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Lit::Float),
        Term::Neg(inner) => match literal(inner)? {
            Lit::Int(n) => n.checked_neg().map(Lit::Int),
            Lit::Float(x) => Some(Lit::Float(-x)),
            Lit::Str(_) => None,
        },
        Term::Str(..) => string(term).map(Lit::Str),
        _ => None,
    }
}

/// A string literal without interpolation or format (`"a\nb"`), unescaped.
fn string(term: &Term<&str>) -> Option<String> {
    let Term::Str(None, parts) = term else {
        return None;
    };
    let mut s = String::new();
    for part in parts {
        match part {
            StrPart::Str(raw) => s.push_str(raw),
            StrPart::Char(c) => s.push(*c),
            StrPart::Term(_) => return None,
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::compile;

    #[test]
    fn grammar_of_the_fast_path_compiles() {
        for expr in [
            ".data.value > 25",
            ".seq == 42",
            r#".data."a b" != null"#,
            r#".data["k"][0] < -1.5"#,
            ".meta.tags | length == 2",
            r#".meta.tags[0] == "prod" or (.data.x // 3) >= 3"#,
            r#".data | has("k") and (.k | not)"#,
            r#".data.msg | startswith("a") and endswith("z") and test("b c")"#,
            ". and true and false == null",
        ] {
            assert!(compile(expr).is_some(), "{expr}");
        }
    }

    #[test]
    fn constructs_outside_the_grammar_decline() {
        for expr in [
            "select(.data.value > 25)",
            ".data.items[] > 3",
            ".data.x? == 1",
            ".data.x + 1 > 2",
            ".[-1] == 1",
            ".data.x == 99999999999999999999",
            r#".data.msg | test("^a")"#,
            r#".data.msg | test("")"#,
            r#".data.msg | test("a"; "i")"#,
            r#".data.msg | startswith(.x)"#,
            r#""\(.seq)" == "1""#,
            ".data as $d | $d.x == 1",
            "def f: 1; f == 1",
            "1, 2",
            "[1] == [1]",
            "if . then true else false end",
            ".data.x == 1e999",
        ] {
            assert!(compile(expr).is_none(), "{expr}");
        }
    }
}
