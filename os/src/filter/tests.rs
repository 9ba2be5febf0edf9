//! The filter's behaviour on JSON envelopes (jq semantics) and on stored messages.
use super::*;
use serde_json::{Value, json};

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
    compile(&[expr]).matches_json(&envelope())
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
    assert!(filter.matches_json(&envelope()));
    assert!(filter.matches_json(&Value::Null));
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
    assert!(compile(&[".data.value > 25", r#".data.msg | test("panic")"#]).matches_json(&env));
    assert!(!compile(&[".data.value > 25", r#".data.msg | test("nope")"#]).matches_json(&env));
    assert!(!compile(&[".data.value > 99", ".data.flag", ".seq == 42"]).matches_json(&env));
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
    assert!(!filter.matches_json(&envelope()));
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
    assert!(filter.matches_json(&json!({"data": {"f": 2.0}})));
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

    assert!(
        err.labelled("`--where`").contains("`.data.x |||`"),
        "hint: {}",
        err.labelled("`--where`")
    );
    assert!(
        err.labelled("`--where`")
            .contains("unexpected `|||` at column 9"),
        "hint: {}",
        err.labelled("`--where`")
    );

    let err = compile_err(&["{a;}"]);
    assert!(
        err.labelled("`--where`").contains("found `;` at column 3"),
        "hint: {}",
        err.labelled("`--where`")
    );

    let err = compile_err(&[".a & .b"]);
    assert!(
        err.labelled("`--where`")
            .contains("unexpected character `&` at column 4"),
        "hint: {}",
        err.labelled("`--where`")
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

        assert!(
            err.labelled("`--where`").contains(wanted),
            "{expr:?} hint: {}",
            err.labelled("`--where`")
        );
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

    assert!(
        err.labelled("`--where`").contains("`nosuchfn`"),
        "hint: {}",
        err.labelled("`--where`")
    );
    assert!(
        err.labelled("`--where`")
            .contains("undefined filter `nosuchfn/0`"),
        "hint: {}",
        err.labelled("`--where`")
    );

    let err = compile_err(&[".data | select($nope)"]);
    assert!(
        err.labelled("`--where`")
            .contains("undefined variable `$nope`"),
        "hint: {}",
        err.labelled("`--where`")
    );
}

#[test]
fn test_hint_names_which_expression_of_several_failed() {
    let err = compile_err(&[".data.value > 25", "nosuchfn(1)"]);
    assert!(
        err.labelled("`--where`").contains("#2"),
        "hint: {}",
        err.labelled("`--where`")
    );
    assert!(
        err.labelled("`--where`").contains("nosuchfn/1"),
        "hint: {}",
        err.labelled("`--where`")
    );
    assert!(
        !err.labelled("`--where`").contains(".data.value"),
        "hint: {}",
        err.labelled("`--where`")
    );
}

#[test]
fn test_imports_are_refused_at_compile_time() {
    let err = compile_err(&[r#"import "x" as x; x::f"#]);

    assert!(
        err.labelled("`--where`").contains("cannot load module"),
        "hint: {}",
        err.labelled("`--where`")
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
        assert_eq!(filter.matches_json(&msg), expected, "value {value}");
    }
}

#[test]
fn test_stored_messages_match_as_their_printed_json_does() {
    // The tests above run on JSON values; `follow` runs on the stored bytes. Both paths
    // must agree, whatever the value kinds and key order.
    let data = json!({"zeta": 1, "alpha": -2.5, "msg": "hello", "n": null, "ok": true,
        "list": [1, "two", {"b": 2, "a": 1}], "big": i64::MAX});
    let payload = crate::message::encode(&data, &["t1", "t2"], 1 << 16).unwrap();
    let msg = Printed {
        seq: 42,
        timestamp_ns: 1_732_180_000_123_456_789,
        payload: &payload,
    };
    let printed = crate::message::to_value(&msg).unwrap();
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
        assert_eq!(f.matches(&msg).unwrap(), f.matches_json(&printed), "{expr}");
    }
    assert!(compile(&[".seq == 42"]).matches(&msg).unwrap());
}

#[test]
fn damaged_payload_read_by_either_engine_is_corrupt_with_its_seq() {
    let payload = crate::message::encode(&json!({"value": 30}), &["t"], 1 << 16).unwrap();
    // Cut the payload short: the root node is still there, the members are not.
    let cut = &payload[..payload.len().min(100)];
    let msg = Printed {
        seq: 7,
        timestamp_ns: 0,
        payload: cut,
    };
    for expr in [".data.value > 25", "select(.data.value > 25)"] {
        let filter = compile(&[expr]);
        let err = filter.matches(&msg).expect_err("damaged");
        assert_eq!(err.kind(), crate::ErrorKind::Corrupt, "{expr}");
        assert_eq!(err.seq(), Some(7), "{expr}");
    }
    assert!(compile(&[".data.value > 25"]).is_fast());
}

#[test]
fn the_smallest_integer_in_a_payload_has_its_exact_length_and_negation_on_jaq() {
    let payload = crate::message::encode(&json!({"x": i64::MIN}), &[], 1 << 16).unwrap();
    let msg = Printed {
        seq: 1,
        timestamp_ns: 0,
        payload: &payload,
    };
    // `length` of i64::MIN is undecided on the fast path, so jaq answers; `-x` runs on jaq.
    for expr in [
        ".data.x | length > 0",
        "(-.data.x) > 0",
        "select(.data.x | length > 0)",
    ] {
        assert!(compile(&[expr]).matches(&msg).unwrap(), "{expr}");
    }
}
