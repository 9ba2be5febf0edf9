//! The jq engine of [`super::Filter`]: jaq with its whole standard library, over a message
//! envelope converted to jaq values.
//!
//! Role: compile one expression (with jaq's standard library: `jaq_core` + `jaq_std` +
//! `jaq_json` definitions and native filters, so `select`, `test` (regex), `length`, `not`,
//! `contains`, `any`, `all`, `type`, `startswith`, `ascii_downcase`, `map`, `tostring`, `has`,
//! `keys`, `//`, `if … then … else … end`, `fromdateiso8601`, … work), render its compile errors
//! with columns, and run it on an envelope under jq truthiness.
//!
//! # Invariants
//! - A run is true at the first truthy output, false at the end of the outputs or at the first
//!   error (including `halt`, which must not end the process). Outputs before the error count.
//! - Integers of the envelope stay integers (`42 | tostring` is `"42"`), floats stay floats.
//! - `input`/`inputs` see an empty input stream; `env` and `$ENV` are the process environment.
//!
//! Spec: `spec/API.md` §10 (filters).

use jaq_core::data::HasLut;
use jaq_core::load::{self, Arena, File, Loader, lex, parse};
use jaq_core::native::{bome, run, v};
use jaq_core::{Compiler, Ctx, DataT, Lut, ValT as _, Vars, compile};
use jaq_json::{Num, Val};
use jaq_std::input::{HasInputs, Inputs, RcIter};
use plasmite_core::lite3::Lite3Error;
#[cfg(test)]
use serde_json::Value;

use crate::message::{Build, Printed};

/// Name of the only global variable an expression may use.
const ENV_VAR: &str = "$ENV";

/// One expression compiled by jaq.
pub(super) struct Program {
    /// The jaq program.
    program: jaq_core::Filter<EnvelopeData>,
    /// True when the source mentions `$ENV`, so the environment is passed to each run.
    uses_env: bool,
}

impl Program {
    /// Runs the program on `input`: true at the first truthy output, false at the end of the
    /// outputs or at the first error (including `halt`, which must not end the process).
    pub(super) fn matches(&self, input: Val) -> bool {
        let env = if self.uses_env { env_val() } else { Val::Null };
        let no_inputs = RcIter::new(core::iter::empty::<Result<Val, String>>());
        let data = Globals {
            lut: &self.program.lut,
            inputs: &no_inputs,
        };
        let ctx = Ctx::<EnvelopeData>::new(data, Vars::new([env]));
        for out in self.program.id.run((ctx, input)) {
            match out {
                Ok(v) if v.as_bool() => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        false
    }
}

/// Parses and compiles one expression; the error is the rendered details (what, and where).
pub(super) fn compile(expr: &str) -> Result<Program, String> {
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let arena = Arena::default();
    let modules = Loader::new(defs)
        .load(
            &arena,
            File {
                code: expr,
                path: (),
            },
        )
        .map_err(render_load_errors)?;
    let program = Compiler::<_, EnvelopeData>::default()
        .with_funs(natives())
        .with_global_vars([ENV_VAR])
        .compile(modules)
        .map_err(render_compile_errors)?;
    Ok(Program {
        program,
        uses_env: expr.contains(ENV_VAR),
    })
}

/// Marker for the data our programs run on: `Val`s, the look-up table and an inputs stream.
struct EnvelopeData;

impl DataT for EnvelopeData {
    type V<'a> = Val;
    type Data<'a> = Globals<'a>;
}

/// Run-time globals of one run: the program's look-up table and the (empty) `inputs`.
#[derive(Clone)]
struct Globals<'a> {
    lut: &'a Lut<EnvelopeData>,
    inputs: Inputs<'a, Val>,
}

impl<'a> HasLut<'a, EnvelopeData> for Globals<'a> {
    fn lut(&self) -> &'a Lut<EnvelopeData> {
        self.lut
    }
}

impl<'a> HasInputs<'a, Val> for Globals<'a> {
    fn inputs(&self) -> Inputs<'a, Val> {
        self.inputs
    }
}

/// The process environment as a jq object; never panics on non-UTF-8 entries. Built once per
/// thread (pls never changes its environment), then shared: `$ENV` and `env` are per message.
fn env_val() -> Val {
    thread_local! {
        static ENV: std::cell::OnceCell<Val> = const { std::cell::OnceCell::new() };
    }
    ENV.with(|env| {
        env.get_or_init(|| {
            Val::obj(
                std::env::vars_os()
                    .map(|(k, v)| {
                        let k = Val::from(k.to_string_lossy().into_owned());
                        let v = Val::from(v.to_string_lossy().into_owned());
                        (k, v)
                    })
                    .collect(),
            )
        })
        .clone()
    })
}

/// Native filters: the whole jaq library, with `env` replaced by a version that does not panic
/// on a non-UTF-8 environment, plus `input`/`inputs`.
fn natives() -> impl Iterator<Item = jaq_core::native::Fun<EnvelopeData>> {
    let env: jaq_core::native::Fun<EnvelopeData> = run(("env", v(0), |_| bome(Ok(env_val()))));
    jaq_core::funs()
        .chain(jaq_std::funs().filter(|(name, _, _)| *name != "env"))
        .chain([env])
        .chain(jaq_std::input::funs().into_vec().into_iter().map(run))
        .chain(jaq_json::funs())
}

/// Renders lexing, parsing and import errors as `expected X, found Y at column N; …`.
fn render_load_errors(errs: load::Errors<&str, ()>) -> String {
    let mut out = Vec::new();
    for (file, err) in errs {
        match err {
            load::Error::Io(errs) => {
                for (path, msg) in errs {
                    out.push(format!("cannot load module \"{path}\": {msg}"));
                }
            }
            load::Error::Lex(errs) => {
                for (expect, at) in errs {
                    out.push(render_lex_error(file.code, &expect, at));
                }
            }
            load::Error::Parse(errs) => {
                for (expect, found) in errs {
                    out.push(render_parse_error(file.code, &expect, found));
                }
            }
        }
    }
    if out.is_empty() {
        "could not parse the expression".to_owned()
    } else {
        out.join("; ")
    }
}

/// Renders one lexer error; `at` is the unlexed rest of `code` where lexing stopped.
fn render_lex_error(code: &str, expect: &lex::Expect<&str>, at: &str) -> String {
    match expect {
        lex::Expect::Delim(open) => {
            let close = match *open {
                "(" => ")",
                "[" => "]",
                "{" => "}",
                other => other,
            };
            let opened = position(code, open);
            match at.chars().next() {
                None => format!("unclosed `{open}`{opened}: expected `{close}` before the end"),
                Some(c) => format!(
                    "unclosed `{open}`{opened}: expected `{close}`, found `{c}`{}",
                    position(code, at)
                ),
            }
        }
        lex::Expect::Token => match at.chars().next() {
            Some(c) => format!("unexpected character `{c}`{}", position(code, at)),
            None => "unexpected end of the expression".to_owned(),
        },
        other => format!("expected {}{}", other.as_str(), position(code, at)),
    }
}

/// Renders one parser error; `found` is the offending token in `code` (empty at the end).
fn render_parse_error(code: &str, expect: &parse::Expect<&str>, found: &str) -> String {
    let found = if found.is_empty() {
        "the end of the expression".to_owned()
    } else {
        format!("`{found}`{}", position(code, found))
    };
    match expect {
        parse::Expect::Nothing => format!("unexpected {found}"),
        parse::Expect::Just(tok) => format!("expected `{tok}`, found {found}"),
        other => format!("expected {}, found {found}", other.as_str()),
    }
}

/// ` at column N` for a slice of `code` (1-based, in characters), ` at the end` when the slice
/// is the end of `code`, and nothing when the slice is not inside `code`.
fn position(code: &str, at: &str) -> String {
    let start = code.as_ptr() as usize;
    let p = at.as_ptr() as usize;
    let offset = match p.checked_sub(start) {
        Some(offset) if offset + at.len() <= code.len() => offset,
        _ => return String::new(),
    };
    match code.get(..offset) {
        Some(_) if offset == code.len() => " at the end".to_owned(),
        Some(before) => format!(" at column {}", before.chars().count() + 1),
        None => String::new(),
    }
}

/// Renders undefined-name errors as `undefined filter \`name/arity\`; …`.
fn render_compile_errors(errs: compile::Errors<&str, ()>) -> String {
    let mut out = Vec::new();
    for (_file, errs) in errs {
        for (name, undefined) in errs {
            let what = match undefined {
                compile::Undefined::Filter(arity) => format!("filter `{name}/{arity}`"),
                other => format!("{} `{name}`", other.as_str()),
            };
            out.push(format!("undefined {what}"));
        }
    }
    if out.is_empty() {
        "could not compile the expression".to_owned()
    } else {
        out.join("; ")
    }
}

/// The envelope `{data, meta: {tags}, seq, time}` of a stored message as a jaq value, read
/// straight from the Lite³ payload with the codec's checks.
pub(super) fn envelope_val(msg: &Printed<'_>) -> Result<Val, Lite3Error> {
    crate::message::build::<Jaq>(msg).map(|v| v.0)
}

/// A jaq value, as `message::build` makes it.
struct Jaq(Val);

impl Build for Jaq {
    fn null() -> Jaq {
        Jaq(Val::Null)
    }

    fn bool(b: bool) -> Jaq {
        Jaq(Val::Bool(b))
    }

    fn int(n: i128) -> Jaq {
        // jaq's machine integers overflow in `length` and negation at `isize::MIN` (a panic
        // with overflow checks, a wrong answer without): that one value goes in as a big
        // integer, which jaq computes exactly.
        if isize::try_from(n) == Ok(isize::MIN) {
            return Jaq(Val::Num(Num::big_int(num_bigint::BigInt::from(n))));
        }
        Jaq(Val::Num(Num::from_integral(n)))
    }

    fn float(x: f64) -> Jaq {
        Jaq(Val::Num(Num::Float(x)))
    }

    fn string(s: String) -> Jaq {
        Jaq(Val::from(s))
    }

    fn object(entries: Vec<(String, Jaq)>) -> Jaq {
        Jaq(Val::obj(
            entries
                .into_iter()
                .map(|(k, v)| (Val::from(k), v.0))
                .collect(),
        ))
    }

    fn array(items: Vec<Jaq>) -> Jaq {
        Jaq(items.into_iter().map(|v| v.0).collect())
    }
}

/// Converts a JSON value into a jaq value: integers stay integers, floats stay floats.
#[cfg(test)]
pub(super) fn to_val(v: &Value) -> Val {
    match v {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => Val::Num(if let Some(i) = n.as_i64() {
            Num::from_integral(i)
        } else if let Some(u) = n.as_u64() {
            Num::from_integral(u)
        } else {
            Num::Float(n.as_f64().unwrap_or(f64::NAN))
        }),
        Value::String(s) => Val::from(s.clone()),
        Value::Array(a) => a.iter().map(to_val).collect(),
        Value::Object(o) => Val::obj(
            o.iter()
                .map(|(k, v)| (Val::from(k.clone()), to_val(v)))
                .collect(),
        ),
    }
}
