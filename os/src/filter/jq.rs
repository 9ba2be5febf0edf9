//! `follow --where`: jq predicates over a message envelope, compiled once and run per message.
//!
//! Role: turn the repeatable `--where EXPR` arguments into one [`Filter`] that `pls follow` asks,
//! for every message it reads, whether to print it. Expressions are jq syntax, run by jaq with
//! its whole standard library (`jaq_core` + `jaq_std` + `jaq_json` definitions and native
//! filters), so the usual idioms work: `select`, `test` (regex), `length`, `not`, `contains`,
//! `any`, `all`, `type`, `startswith`, `ascii_downcase`, `map`, `tostring`, `has`, `keys`, `//`,
//! `if … then … else … end`, `fromdateiso8601`, …. The input of each expression is the message
//! envelope `{"seq":N,"time":"…","meta":{"tags":[…]},"data":{…}}`.
//!
//! # Invariants
//! - Compilation happens once, in [`Filter::compile`]; [`Filter::matches`] only converts the
//!   envelope and runs the already compiled programs.
//! - An expression matches when any of its outputs is truthy in the jq sense: anything except
//!   `false` and `null` (so `select(…)`, `.data.flag` and `.meta.tags | index("x")` work as
//!   predicates; note that `0`, `""` and `[]` are truthy, as in jq). No output means no match.
//! - A runtime error inside an expression (type errors, `error`, `halt`, a bad regex) means that
//!   expression does not match; it is never an error of `matches`, never a panic and never
//!   exits the process. Outputs before the error still count.
//! - Several expressions are ANDed; an empty list matches every message.
//! - Compile errors (syntax, undefined names) are reported as `invalid filter expression` with
//!   a hint that names the offending expression and says what was wrong where.
//! - Integers of the envelope stay integers (`42 | tostring` is `"42"`), floats stay floats.
//! - `input`/`inputs` see an empty input stream; `env` and `$ENV` are the process environment.
//!
//! Spec: `spec/CLI.md` (follow --where).

use std::fmt;

use jaq_core::data::HasLut;
use jaq_core::load::{self, Arena, File, Loader, lex, parse};
use jaq_core::native::{bome, run, v};
use jaq_core::{Compiler, Ctx, DataT, Lut, ValT as _, Vars, compile};
use jaq_json::{Num, Val};
use jaq_std::input::{HasInputs, Inputs, RcIter};
use plasmite_os::core::lite3::Lite3Error;
use plasmite_os::message::{Build, Printed};
#[cfg(test)]
use serde_json::Value;

/// Name of the only global variable an expression may use.
const ENV_VAR: &str = "$ENV";

/// A set of compiled `--where` expressions, ANDed together.
///
/// Built once by [`Filter::compile`], then asked [`Filter::matches`] for every message.
pub(crate) struct Filter {
    exprs: Vec<Compiled>,
}

/// One compiled expression and what it needs at run time.
struct Compiled {
    /// The expression as the user wrote it (for `Debug` and messages).
    source: String,
    /// The jaq program.
    program: jaq_core::Filter<EnvelopeData>,
    /// True when the source mentions `$ENV`, so the environment is passed to each run.
    uses_env: bool,
}

/// Why a `--where` expression was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilterError {
    /// What went wrong, in a few words (e.g. `invalid filter expression`).
    pub(crate) message: String,
    /// Details for the user: the offending expression and what is wrong in it.
    pub(crate) hint: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.hint)
    }
}

impl std::error::Error for FilterError {}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sources: Vec<&str> = self.exprs.iter().map(|c| c.source.as_str()).collect();
        f.debug_struct("Filter").field("exprs", &sources).finish()
    }
}

impl Filter {
    /// Compiles every expression; the resulting filter is the AND of them.
    ///
    /// An empty list gives a filter that matches everything. The first expression that does
    /// not compile gives `FilterError { message: "invalid filter expression", hint }`, where the
    /// hint quotes the expression (and its position in the list when there are several) and
    /// renders the syntax or undefined-name errors with their column.
    pub(crate) fn compile(exprs: &[String]) -> Result<Filter, FilterError> {
        let compiled = exprs
            .iter()
            .enumerate()
            .map(|(i, expr)| {
                let label = if exprs.len() > 1 {
                    format!("`--where` #{} `{expr}`", i + 1)
                } else {
                    format!("`--where` `{expr}`")
                };
                compile_one(expr).map_err(|details| FilterError {
                    message: "invalid filter expression".to_owned(),
                    hint: format!("{label}: {details}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Filter { exprs: compiled })
    }

    /// Tells whether the envelope `input` passes every expression.
    ///
    /// `input` is the message envelope (`{"seq":N,"time":"…","meta":{"tags":[…]},"data":{…}}`).
    /// An expression matches when any of its outputs is truthy (jq truthiness: anything except
    /// `false` and `null`); outputs are read lazily and the first truthy one decides. An
    /// expression with no output, or whose run fails before a truthy output (e.g.
    /// `.data.x | test(1)`), does not match. The filter matches when all expressions match;
    /// with no expressions it always matches.
    ///
    /// Under truthiness no outcome is an error today; the `Result` is kept so that a later
    /// stricter mode can report one without changing callers.
    #[cfg(test)]
    pub(crate) fn matches(&self, input: &Value) -> Result<bool, FilterError> {
        if self.exprs.is_empty() {
            return Ok(true);
        }
        self.matches_val(to_val(input))
    }

    /// [`Filter::matches`] on a stored message, converted straight from its Lite³ bytes (no
    /// intermediate JSON). A payload that does not decode is a Corrupt error.
    pub(crate) fn matches_message(&self, msg: &Printed<'_>) -> Result<bool, plasmite_os::Error> {
        if self.exprs.is_empty() {
            return Ok(true);
        }
        let input = envelope_val(msg).map_err(|e| {
            plasmite_os::Error::new(plasmite_os::ErrorKind::Corrupt, e.to_string())
                .with_seq(msg.seq)
                .with_hint(plasmite_os::error::HINT_CORRUPT)
        })?;
        self.matches_val(input).map_err(|e| {
            plasmite_os::Error::new(plasmite_os::ErrorKind::Usage, e.message).with_hint(e.hint)
        })
    }

    fn matches_val(&self, input: Val) -> Result<bool, FilterError> {
        let mut env = None;
        for expr in &self.exprs {
            let env = if expr.uses_env {
                env.get_or_insert_with(env_val).clone()
            } else {
                Val::Null
            };
            if !expr.matches(input.clone(), env) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

impl Compiled {
    /// Runs the program on `input`: true at the first truthy output, false at the end of the
    /// outputs or at the first error (including `halt`, which must not end the process).
    fn matches(&self, input: Val, env: Val) -> bool {
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

/// Parses and compiles one expression; the error is the rendered details for the hint.
fn compile_one(expr: &str) -> Result<Compiled, String> {
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
    Ok(Compiled {
        source: expr.to_owned(),
        program,
        uses_env: expr.contains(ENV_VAR),
    })
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
fn envelope_val(msg: &Printed<'_>) -> Result<Val, Lite3Error> {
    plasmite_os::message::build::<Jaq>(msg).map(|v| v.0)
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
fn to_val(v: &Value) -> Val {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope() -> Value {
        json!({
            "seq": 42,
            "time": "2024-05-01T12:00:00.5Z",
            "meta": {"tags": ["deploy", "prod"]},
            "data": {
                "msg": "kernel panic: oops",
                "level": "ERROR",
                "value": 30,
                "ratio": 0.75,
                "flag": true,
                "nothing": null,
                "items": [1, 2, 3, 4],
                "empty": [],
                "big": 18446744073709551615u64,
                "user": {"name": "Ada", "roles": ["admin", "dev"]}
            }
        })
    }

    fn compile(exprs: &[&str]) -> Filter {
        let exprs: Vec<String> = exprs.iter().map(|s| s.to_string()).collect();
        Filter::compile(&exprs).unwrap_or_else(|e| panic!("{exprs:?} should compile: {e}"))
    }

    fn eval(expr: &str) -> bool {
        compile(&[expr])
            .matches(&envelope())
            .expect("matches never errs")
    }

    fn assert_all(exprs: &[&str], expected: bool) {
        for expr in exprs {
            assert_eq!(eval(expr), expected, "`{expr}` should give {expected}");
        }
    }

    fn compile_err(exprs: &[&str]) -> FilterError {
        let exprs: Vec<String> = exprs.iter().map(|s| s.to_string()).collect();
        Filter::compile(&exprs).expect_err("should not compile")
    }

    #[test]
    fn test_empty_expression_list_matches_everything() {
        let filter = compile(&[]);
        assert!(filter.matches(&envelope()).unwrap());
        assert!(filter.matches(&Value::Null).unwrap());
    }

    #[test]
    fn test_function_matches_a_regex_on_a_field() {
        assert_all(
            &[
                r#".data.msg | test("panic")"#,
                r#".data.msg | test("^kernel\\s+panic")"#,
                r#".data.msg | test("PANIC"; "i")"#,
                r#".data.level | test("^(WARN|ERROR)$")"#,
            ],
            true,
        );
        assert_all(
            &[
                r#".data.msg | test("^panic")"#,
                r#".data.msg | test("PANIC")"#,
            ],
            false,
        );
    }

    #[test]
    fn test_comparisons_on_numbers_and_strings() {
        assert_all(
            &[
                ".data.value > 25",
                ".data.value >= 30",
                ".seq == 42",
                ".data.ratio < 1",
                ".data.level != \"INFO\"",
            ],
            true,
        );
        assert_all(
            &[".data.value > 30", ".seq < 42", ".data.ratio == 1"],
            false,
        );
    }

    #[test]
    fn test_and_or_combine_conditions() {
        assert!(eval(".data.value > 25 and .data.flag"));
        assert!(!eval(".data.value > 25 and .data.value < 28"));
        assert!(eval(".data.value > 100 or .data.level == \"ERROR\""));
        assert!(!eval(".data.value > 100 or .data.level == \"INFO\""));
    }

    #[test]
    fn test_expressions_are_anded_across_the_list() {
        let env = envelope();
        assert!(
            compile(&[".data.value > 25", r#".data.msg | test("panic")"#])
                .matches(&env)
                .unwrap()
        );
        assert!(
            !compile(&[".data.value > 25", r#".data.msg | test("nope")"#])
                .matches(&env)
                .unwrap()
        );
        assert!(
            !compile(&[".data.value > 99", ".data.flag", ".seq == 42"])
                .matches(&env)
                .unwrap()
        );
    }

    #[test]
    fn test_select_is_a_predicate_through_truthiness() {
        assert!(eval("select(.data.value > 25)"));
        assert!(!eval("select(.data.value > 100)"));
        assert!(eval(r#"select(.meta.tags | index("prod"))"#));
    }

    #[test]
    fn test_truthiness_decides_a_match() {
        // true and every non-false, non-null value are truthy, as in jq (0 and "" included)
        assert_all(
            &[".data.flag", ".data.msg", ".data.items", "0", "\"\"", "{}"],
            true,
        );
        assert_all(
            &[".data.nothing", ".data.missing", "false", "null", "empty"],
            false,
        );
    }

    #[test]
    fn test_any_truthy_output_among_several_makes_a_match() {
        assert!(eval("false, null, true"));
        assert!(eval(".data.items[] > 3"));
        assert!(!eval(".data.items[] > 10"));
        assert!(!eval("false, null"));
    }

    #[test]
    fn test_not_negates() {
        assert!(eval(".data.value > 100 | not"));
        assert!(!eval(".data.flag | not"));
        assert!(eval(".data.missing | not"));
    }

    #[test]
    fn test_length_works_on_strings_and_arrays() {
        assert_all(
            &[
                ".data.msg | length > 3",
                ".data.items | length > 3",
                ".meta.tags | length == 2",
                ".data.empty | length == 0",
                ".data.user | length == 2",
            ],
            true,
        );
        assert_all(
            &[".data.level | length > 5", ".data.items | length > 4"],
            false,
        );
    }

    #[test]
    fn test_any_and_all_over_arrays() {
        assert_all(
            &[
                "any(.data.items[]; . > 2)",
                "all(.data.items[]; . > 0)",
                ".data.items | any(. > 3)",
                ".data.items | all(. < 5)",
                ".data.empty | all(. > 100)",
            ],
            true,
        );
        assert_all(
            &[
                "any(.data.items[]; . > 4)",
                "all(.data.items[]; . > 2)",
                ".data.empty | any(. > 0)",
            ],
            false,
        );
    }

    #[test]
    fn test_type_names_the_json_type() {
        assert_all(
            &[
                ".data | type == \"object\"",
                ".data.items | type == \"array\"",
                ".data.msg | type == \"string\"",
                ".data.value | type == \"number\"",
                ".data.flag | type == \"boolean\"",
                ".data.missing | type == \"null\"",
            ],
            true,
        );
        assert!(!eval(".data | type == \"array\""));
    }

    #[test]
    fn test_contains_on_strings_arrays_and_objects() {
        assert_all(
            &[
                r#".data.msg | contains("panic")"#,
                r#".meta.tags | contains(["prod"])"#,
                r#".data | contains({"user": {"name": "Ada"}})"#,
            ],
            true,
        );
        assert_all(
            &[
                r#".data.msg | contains("calm")"#,
                r#".meta.tags | contains(["staging"])"#,
            ],
            false,
        );
    }

    #[test]
    fn test_string_helpers_startswith_and_ascii_downcase() {
        assert_all(
            &[
                r#".data.msg | startswith("kernel")"#,
                r#".data.msg | endswith("oops")"#,
                r#".data.level | ascii_downcase == "error""#,
            ],
            true,
        );
        assert!(!eval(r#".data.msg | startswith("panic")"#));
    }

    #[test]
    fn test_map_and_tostring() {
        assert!(eval(".data.items | map(. * 2) | add == 20"));
        assert!(eval(
            ".data.items | map(tostring) == [\"1\", \"2\", \"3\", \"4\"]"
        ));
        assert!(eval("(.seq | tostring) == \"42\""));
    }

    #[test]
    fn test_has_and_keys() {
        assert_all(
            &[
                r#".data | has("msg")"#,
                r#".meta | keys == ["tags"]"#,
                r#".data.user | keys == ["name", "roles"]"#,
                ".data.items | has(3)",
            ],
            true,
        );
        assert!(!eval(r#".data | has("missing")"#));
    }

    #[test]
    fn test_alternative_operator_supplies_a_default() {
        assert!(eval(r#"(.data.missing // "dflt") == "dflt""#));
        assert!(eval(r#"(.data.level // "dflt") == "ERROR""#));
        assert!(eval(".data.nothing // true"));
    }

    #[test]
    fn test_if_then_else_end() {
        assert!(eval(
            r#"if .data.level == "ERROR" then .data.value > 25 else false end"#
        ));
        assert!(!eval(
            r#"if .data.level == "INFO" then true else false end"#
        ));
        assert!(eval(
            r#"if .data.value > 100 then false elif .data.flag then true else false end"#
        ));
    }

    #[test]
    fn test_tags_can_be_searched_with_index_and_any() {
        assert_all(
            &[
                r#".meta.tags | index("prod")"#,
                // index 0 is truthy in jq: the tag is found
                r#".meta.tags | index("deploy")"#,
                r#"(.meta.tags | any(. == "prod"))"#,
                r#".meta.tags | index("prod") != null"#,
            ],
            true,
        );
        assert_all(
            &[
                r#".meta.tags | index("x")"#,
                r#"(.meta.tags | any(. == "x"))"#,
            ],
            false,
        );
    }

    #[test]
    fn test_nested_and_missing_fields() {
        assert_all(
            &[
                r#".data.user.name == "Ada""#,
                r#".data.user.roles | index("admin")"#,
                ".data.missing == null",
                ".data.missing.deeper.still == null",
                ".data.nothing == null",
                ".nope == null",
            ],
            true,
        );
        assert!(!eval(".data.missing == 1"));
    }

    #[test]
    fn test_runtime_errors_mean_no_match() {
        assert_all(
            &[
                ".data.x | test(1)",
                r#".data.value | test("3")"#,
                r#".data.msg | test("(unclosed")"#,
                ".data.msg + 1 > 0",
                ".data.items.foo == null",
                r#"error("boom")"#,
                ".data.flag | length > 0",
                // the error comes before any truthy output
                r#".data.items[] | test("1")"#,
            ],
            false,
        );
    }

    #[test]
    fn test_outputs_before_a_runtime_error_still_count() {
        assert!(eval(r#"true, error("later")"#));
        assert!(!eval(r#"false, error("later"), true"#));
    }

    #[test]
    fn test_runtime_error_in_one_expression_fails_the_whole_filter() {
        let filter = compile(&[".data.value > 25", ".data.x | test(1)"]);
        assert_eq!(filter.matches(&envelope()), Ok(false));
    }

    #[test]
    fn test_halt_does_not_exit_and_does_not_match() {
        assert_all(&["halt", r#""bye" | halt_error"#, "halt_error(3)"], false);
    }

    #[test]
    fn test_integers_stay_integers_and_floats_stay_floats() {
        assert_all(
            &[
                r#"(.seq | tostring) == "42""#,
                r#"(.data.value | tostring) == "30""#,
                r#"(.data.ratio | tostring) == "0.75""#,
                r#"(.data.big | tostring) == "18446744073709551615""#,
                ".data.value == 30",
                ".data.value == 30.0",
            ],
            true,
        );
        let filter = compile(&[r#"(.data.f | tostring) == "2.0""#]);
        assert!(filter.matches(&json!({"data": {"f": 2.0}})).unwrap());
    }

    #[test]
    fn test_io_and_environment_functions_do_not_crash() {
        assert_all(
            &[
                "[inputs] == []",
                "[input] == []",
                "env | type == \"object\"",
                "$ENV | type == \"object\"",
                "now > 1000000000",
                r#"(.time | fromdateiso8601) > 1700000000"#,
            ],
            true,
        );
        assert!(!eval("input"));
    }

    #[test]
    fn test_env_sees_the_process_environment() {
        // PATH is set for cargo test runs; compare against what std sees.
        let Some(path) = std::env::var_os("PATH") else {
            return;
        };
        let expected = serde_json::to_string(&path.to_string_lossy()).unwrap();
        assert!(eval(&format!("$ENV.PATH == {expected}")));
        assert!(eval(&format!("env.PATH == {expected}")));
    }

    #[test]
    fn test_syntax_error_is_an_invalid_expression_with_a_located_hint() {
        let err = compile_err(&[".data.x |||"]);
        assert_eq!(err.message, "invalid filter expression");
        assert!(err.hint.contains("`.data.x |||`"), "hint: {}", err.hint);
        assert!(
            err.hint.contains("unexpected `|||` at column 9"),
            "hint: {}",
            err.hint
        );

        let err = compile_err(&["{a;}"]);
        assert!(
            err.hint.contains("found `;` at column 3"),
            "hint: {}",
            err.hint
        );

        let err = compile_err(&[".a & .b"]);
        assert!(
            err.hint.contains("unexpected character `&` at column 4"),
            "hint: {}",
            err.hint
        );
    }

    #[test]
    fn test_unclosed_delimiter_and_empty_expression_are_invalid() {
        for (expr, wanted) in [
            ("(.data", "unclosed `(` at column 1"),
            ("[.data", "unclosed `[` at column 1"),
            ("{a: 1", "unclosed `{` at column 1"),
            (r#".data.msg | test("x)"#, "unclosed `\"` at column 18"),
            (
                "(.a ]",
                "unclosed `(` at column 1: expected `)`, found `]` at column 5",
            ),
            ("", "expected term, found the end of the expression"),
            ("   ", "expected term, found the end of the expression"),
            ("if . then 1", "expected else or end"),
            (r#""\q""#, "expected string escape sequence at column 3"),
        ] {
            let err = compile_err(&[expr]);
            assert_eq!(err.message, "invalid filter expression", "{expr:?}");
            assert!(err.hint.contains(wanted), "{expr:?} hint: {}", err.hint);
        }
    }

    #[test]
    fn test_filter_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Filter>();
    }

    #[test]
    fn test_undefined_function_is_named_in_the_hint() {
        let err = compile_err(&["nosuchfn"]);
        assert_eq!(err.message, "invalid filter expression");
        assert!(err.hint.contains("`nosuchfn`"), "hint: {}", err.hint);
        assert!(
            err.hint.contains("undefined filter `nosuchfn/0`"),
            "hint: {}",
            err.hint
        );

        let err = compile_err(&[".data | select($nope)"]);
        assert!(
            err.hint.contains("undefined variable `$nope`"),
            "hint: {}",
            err.hint
        );
    }

    #[test]
    fn test_hint_names_which_expression_of_several_failed() {
        let err = compile_err(&[".data.value > 25", "nosuchfn(1)"]);
        assert!(err.hint.contains("#2"), "hint: {}", err.hint);
        assert!(err.hint.contains("nosuchfn/1"), "hint: {}", err.hint);
        assert!(!err.hint.contains(".data.value"), "hint: {}", err.hint);
    }

    #[test]
    fn test_imports_are_refused_at_compile_time() {
        let err = compile_err(&[r#"import "x" as x; x::f"#]);
        assert_eq!(err.message, "invalid filter expression");
        assert!(
            err.hint.contains("cannot load module"),
            "hint: {}",
            err.hint
        );
    }

    #[test]
    fn test_debug_shows_the_expressions() {
        let filter = compile(&[".data.value > 25"]);
        assert_eq!(
            format!("{filter:?}"),
            r#"Filter { exprs: [".data.value > 25"] }"#
        );
    }

    #[test]
    fn test_a_compiled_filter_is_reused_across_messages() {
        let filter = compile(&[".data.value > 25"]);
        for (value, expected) in [(30, true), (10, false), (26, true), (25, false)] {
            let msg = json!({"seq": 1, "data": {"value": value}});
            assert_eq!(filter.matches(&msg), Ok(expected), "value {value}");
        }
    }

    #[test]
    fn test_stored_messages_match_as_their_printed_json_does() {
        // The tests above run on JSON values; `follow` runs on the stored bytes. Both paths
        // must agree, whatever the value kinds and key order.
        let data = json!({"zeta": 1, "alpha": -2.5, "msg": "hello", "n": null, "ok": true,
            "list": [1, "two", {"b": 2, "a": 1}], "big": i64::MAX});
        let payload = plasmite_os::message::encode(&data, &["t1", "t2"], 1 << 16).unwrap();
        let msg = Printed {
            seq: 42,
            timestamp_ns: 1_732_180_000_123_456_789,
            payload: &payload,
        };
        let printed = plasmite_os::message::to_value(&msg).unwrap();
        for expr in [
            ".data.alpha == -2.5",
            ".data.big == 9223372036854775807",
            ".data.n == null",
            r#"(.data | keys_unsorted) == (.data | keys)"#,
            r#"(.data.list[2] | keys_unsorted) == ["a", "b"]"#,
            r#".meta.tags == ["t1", "t2"]"#,
            ".seq == 42",
            r#".time | startswith("2024-11-21T")"#,
            ".data.ok and (.data.msg | test(\"^h\"))",
            ".data.zeta > 1",
        ] {
            let f = compile(&[expr]);
            assert_eq!(
                f.matches_message(&msg).unwrap(),
                f.matches(&printed).unwrap(),
                "{expr}"
            );
        }
        assert!(compile(&[".seq == 42"]).matches_message(&msg).unwrap());
    }
}
