//! Black-box tests of the `pls` command line: every test runs the built binary with its own
//! pool directory (`--dir`) and `HOME`, and checks exit codes and output shapes field by field.
//!
//! Contract: `spec/CLI.md`, and the reference pools (`PLASMITE_REFERENCE`, by default
//! `../shared/reference/pools`; copied before use, never modified).
//!
//! Nothing here can hang: every child runs under a hard deadline and is killed past it; every
//! `follow` has `--timeout`, `--one` (with a feeder) or a closed pipe to end it.

mod common;

use common::*;

use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// version, help, usage errors
// ---------------------------------------------------------------------------------------------

#[test]
fn version_piped_names_the_product_plasmite_whichever_name_ran_it() {
    let e = env("version_piped");
    for bin in [PLS, PLASMITE] {
        let out = run(e.cmd_of(bin, &["version"]), None);
        assert_eq!(
            out.code(0).json(),
            json!({"name": "plasmite", "version": VERSION})
        );
        assert!(
            out.stdout.starts_with("{\"name\":\"plasmite\""),
            "compact, sorted keys\n{}",
            out.show()
        );
    }
}

#[test]
fn version_on_a_terminal_prints_plasmite_and_the_version() {
    let e = env("version_tty");
    let out = e.tty(&["version"], &[]);
    out.code(0);
    assert_eq!(
        out.stdout.trim_end(),
        format!("plasmite {VERSION}"),
        "{}",
        out.show()
    );
}

#[test]
fn dash_dash_version_prints_one_plain_line_whichever_name_ran_it() {
    let e = env("dash_version");
    for bin in [PLS, PLASMITE] {
        for flag in ["--version", "-V"] {
            let out = run(e.cmd_of(bin, &[flag]), None);
            out.code(0);
            assert_eq!(
                out.stdout,
                format!("plasmite {VERSION}\n"),
                "{}",
                out.show()
            );
            assert!(out.stderr.is_empty(), "{}", out.show());
        }
    }
    let out = e.tty(&["--version"], &[]);
    assert_eq!(out.code(0).stdout, format!("plasmite {VERSION}\n"));
}

#[test]
fn no_arguments_prints_the_overview_on_stderr_and_exits_2() {
    let e = env("no_args");
    for out in [run(e.bare(&[]), None), e.pls(&["pool"])] {
        out.code(2);
        assert!(out.stdout.is_empty(), "{}", out.show());
        assert!(out.stderr.contains("Usage: pls"), "{}", out.show());
        for c in [
            "pool create",
            "feed",
            "fetch",
            "follow",
            "doctor",
            "version",
        ] {
            assert!(out.stderr.contains(c), "help lists {c}\n{}", out.show());
        }
    }
}

#[test]
fn dash_dash_help_exits_0() {
    let e = env("help_flag");
    let out = run(e.bare(&["--help"]), None);
    out.code(0);
    assert!(out.stdout.contains("Usage:"), "{}", out.show());
    assert!(out.stderr.is_empty(), "{}", out.show());
}

#[test]
fn follow_help_shows_options_and_the_example() {
    let e = env("follow_help");
    let out = e.pls(&["follow", "--help"]);
    out.code(0);
    assert!(out.stdout.contains("Usage: pls follow"), "{}", out.show());
    assert!(out.stdout.contains("Example:"), "{}", out.show());
    assert!(
        out.stdout.contains("pls follow chat --tail 10"),
        "{}",
        out.show()
    );
    for f in [
        "--tail",
        "--since",
        "--where",
        "--timeout",
        "--jsonl",
        "--replay",
    ] {
        assert!(out.stdout.contains(f), "help lists {f}\n{}", out.show());
    }
}

#[test]
fn help_subcommand_prints_the_same_text_as_dash_dash_help() {
    let e = env("help_sub");
    let a = e.pls(&["help", "follow"]);
    a.code(0);
    let b = e.pls(&["follow", "--help"]);
    assert_eq!(a.stdout, b.stdout);
    let p = e.pls(&["help", "pool", "create"]);
    p.code(0);
    assert!(p.stdout.contains("--size"), "{}", p.show());
}

#[test]
fn unknown_command_is_a_one_line_usage_error_json_exit_2() {
    let e = env("unknown_cmd");
    let out = run(e.bare(&["bogus"]), None);
    let err = out.fails(2, "Usage");
    assert_eq!(
        keys(&Value::Object(err.clone())),
        ["hint", "kind", "message"]
    );
    assert!(str_of(&err, "message").contains("bogus"), "{}", out.show());
    assert!(str_of(&err, "hint").contains("--help"), "{}", out.show());
    assert!(out.stdout.is_empty(), "{}", out.show());
}

#[test]
fn unknown_flag_is_a_usage_error_naming_the_flag_and_the_command_help() {
    let e = env("unknown_flag");
    let out = e.pls(&["fetch", "--bogus"]);
    let err = out.fails(2, "Usage");
    assert!(
        str_of(&err, "message").contains("--bogus"),
        "{}",
        out.show()
    );
    assert!(
        str_of(&err, "hint").contains("pls fetch --help"),
        "{}",
        out.show()
    );
    let out = run(e.bare(&["--nope", "version"]), None);
    out.fails(2, "Usage");
}

#[test]
fn missing_required_argument_prints_the_error_then_the_usage_on_stderr_exit_2() {
    let e = env("missing_positional");
    for (args, missing, usage) in [
        (&["fetch", "x"][..], "SEQ", "Usage: pls fetch <POOL> <SEQ>"),
        (&["fetch"], "POOL", "Usage: pls fetch <POOL> <SEQ>"),
        (&["follow"], "POOL", "Usage: pls follow <POOL> [OPTIONS]"),
        (&["pool", "info"], "NAME", "Usage: pls pool info <NAME>"),
        (
            &["tap", "x"],
            "COMMAND",
            "Usage: pls tap <POOL> [OPTIONS] -- <COMMAND>...",
        ),
    ] {
        let out = e.pls(args);
        out.code(2);
        assert!(out.stdout.is_empty(), "{}", out.show());
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "the error, then the usage\n{}", out.show());
        let err: Value = serde_json::from_str(lines[0]).unwrap_or_else(|e| {
            panic!("first stderr line is the JSON error ({e})\n{}", out.show())
        });
        assert_eq!(err["error"]["kind"], "Usage", "{}", out.show());
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(missing), "{}", out.show());
        assert!(lines[1].starts_with(usage), "{}", out.show());
    }
    let out = e.pls(&["follow"]);
    assert!(
        out.stderr
            .contains("Provide a pool ref, for example: `pls follow chat -n 1`."),
        "{}",
        out.show()
    );
}

#[test]
fn missing_required_argument_on_a_terminal_prints_error_hint_and_usage_lines() {
    let e = env("missing_positional_tty");
    let out = e.tty(&["fetch", "x"], &[("NO_COLOR", "1")]);
    out.code(2);
    let lines: Vec<&str> = out.stdout.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{}", out.show());
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains("SEQ"),
        "{}",
        out.show()
    );
    assert!(
        lines[1].starts_with("hint: ") && lines[1].contains("--help"),
        "{}",
        out.show()
    );
    assert!(
        lines[2].starts_with("Usage: pls fetch <POOL> <SEQ>"),
        "{}",
        out.show()
    );
}

#[test]
fn usage_error_on_a_terminal_prints_error_and_hint_lines() {
    let e = env("usage_tty");
    let out = e.tty(&["bogus"], &[("NO_COLOR", "1")]);
    out.code(2);
    let lines: Vec<&str> = out.stdout.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2, "{}", out.show());
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains("bogus"),
        "{}",
        out.show()
    );
    assert!(
        lines[1].starts_with("hint: ") && lines[1].contains("--help"),
        "{}",
        out.show()
    );
    assert!(
        !out.stdout.contains('\u{1b}'),
        "NO_COLOR: no escapes\n{}",
        out.show()
    );
}

#[test]
fn usage_error_on_a_terminal_colors_the_labels_by_default() {
    let e = env("usage_tty_color");
    let out = e.tty(&["bogus"], &[]);
    out.code(2);
    assert!(
        out.stdout.contains("\u{1b}[31merror:\u{1b}[0m"),
        "{}",
        out.show()
    );
    assert!(
        out.stdout.contains("\u{1b}[33mhint:\u{1b}[0m"),
        "{}",
        out.show()
    );
}

#[test]
fn invalid_color_value_is_a_usage_error() {
    let e = env("bad_color");
    let out = e.pls(&["--color", "sometimes", "version"]);
    out.fails(2, "Usage");
}

// ---------------------------------------------------------------------------------------------
// pool create / info / list / delete
// ---------------------------------------------------------------------------------------------

const POOL_INFO_KEYS: [&str; 10] = [
    "bounds",
    "file_size",
    "index_capacity",
    "index_offset",
    "index_size_bytes",
    "metrics",
    "name",
    "path",
    "ring_offset",
    "ring_size",
];

/// Checks the §3.1 pool-info shape and its internal consistency.
#[track_caller]
fn assert_pool_info(i: &Value, name: &str, file_size: u64) {
    assert_eq!(keys(i), POOL_INFO_KEYS, "pool-info keys: {i}");
    assert_eq!(i["name"], name);
    assert!(
        i["path"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{name}.plasmite")),
        "path: {i}"
    );
    assert_eq!(i["file_size"], file_size);
    assert_eq!(i["index_offset"], 4096);
    let cap = i["index_capacity"].as_u64().unwrap();
    assert_eq!(
        i["index_size_bytes"].as_u64().unwrap(),
        cap * 16,
        "16-byte slots: {i}"
    );
    let ring_offset = i["ring_offset"].as_u64().unwrap();
    let ring_size = i["ring_size"].as_u64().unwrap();
    assert!(ring_offset >= 4096 + cap * 16, "ring after the index: {i}");
    assert_eq!(
        ring_offset + ring_size,
        file_size,
        "ring runs to the end: {i}"
    );
    let m = &i["metrics"];
    assert_eq!(
        keys(m),
        ["age", "message_count", "seq_span", "utilization"],
        "{i}"
    );
    assert_eq!(
        keys(&m["age"]),
        [
            "newest_age_ms",
            "newest_time",
            "oldest_age_ms",
            "oldest_time"
        ],
        "{i}"
    );
    assert_eq!(
        keys(&m["utilization"]),
        ["free_bytes", "used_bytes", "used_percent"],
        "{i}"
    );
    let used = m["utilization"]["used_bytes"].as_u64().unwrap();
    let free = m["utilization"]["free_bytes"].as_u64().unwrap();
    assert_eq!(used + free, ring_size, "used + free = ring: {i}");
    let pct = m["utilization"]["used_percent"].as_f64().unwrap();
    let want = used as f64 * 100.0 / ring_size as f64;
    assert!(
        (pct - want).abs() <= 0.011,
        "used_percent {pct} vs {want}: {i}"
    );
}

#[test]
fn pool_create_json_reports_the_full_pool_info_of_an_empty_default_pool() {
    let e = env("create_json");
    let v = e.pls(&["pool", "create", "a", "--json"]).code(0).json();
    assert_eq!(keys(&v), ["created"]);
    let list = v["created"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    let i = &list[0];
    assert_pool_info(i, "a", 1_048_576);
    assert_eq!(i["bounds"], json!({}), "empty pool: bounds {{}}");
    let m = &i["metrics"];
    assert_eq!(m["message_count"], 0);
    assert_eq!(m["seq_span"], 0);
    assert_eq!(
        m["age"],
        json!({"newest_age_ms": null, "newest_time": null, "oldest_age_ms": null, "oldest_time": null})
    );
    assert_eq!(m["utilization"]["used_bytes"], 0);
    assert_eq!(m["utilization"]["used_percent"].as_f64(), Some(0.0));
    assert_eq!(
        std::fs::metadata(e.path("a")).unwrap().len(),
        1_048_576,
        "file on disk"
    );
}

#[test]
fn pool_create_size_64k_makes_a_65536_byte_file() {
    let e = env("create_64k");
    let v = e
        .pls(&["pool", "create", "s", "--size", "64K", "--json"])
        .code(0)
        .json();
    assert_pool_info(&v["created"][0], "s", 65536);
    assert_eq!(std::fs::metadata(e.path("s")).unwrap().len(), 65536);
    let v = e
        .pls(&["pool", "create", "t", "--size", "64k", "--json"])
        .code(0)
        .json();
    assert_eq!(v["created"][0]["file_size"], 65536, "lower-case suffix");
}

#[test]
fn pool_create_index_capacity_sets_the_slot_count() {
    let e = env("create_index");
    let v = e
        .pls(&[
            "pool",
            "create",
            "x",
            "--size",
            "64K",
            "--index-capacity",
            "8",
            "--json",
        ])
        .code(0)
        .json();
    let i = &v["created"][0];
    assert_pool_info(i, "x", 65536);
    assert_eq!(i["index_capacity"], 8);
    assert_eq!(i["index_size_bytes"], 128);
    let v = e
        .pls(&[
            "pool",
            "create",
            "y",
            "--size",
            "64K",
            "--index-capacity",
            "0",
            "--json",
        ])
        .code(0)
        .json();
    assert_eq!(v["created"][0]["index_capacity"], 0, "0 disables the index");
    // An index bigger than half the file is refused.
    let out = e.pls(&[
        "pool",
        "create",
        "z",
        "--size",
        "64K",
        "--index-capacity",
        "100000",
    ]);
    out.fails(2, "Usage");
    assert!(!e.path("z").exists());
}

#[test]
fn pool_create_several_names_reports_each_in_order() {
    let e = env("create_many");
    let v = e
        .pls(&["pool", "create", "b", "a", "--size", "64K", "--json"])
        .code(0)
        .json();
    let names: Vec<&str> = v["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["b", "a"]);
    assert!(e.path("a").exists() && e.path("b").exists());
}

#[test]
fn pool_create_of_an_existing_pool_exits_4_and_leaves_the_file_untouched() {
    let e = env("create_exists");
    e.create("a", "64K");
    e.feed("a", r#"{"keep":"me"}"#, &[]);
    let before = std::fs::read(e.path("a")).unwrap();
    let out = e.pls(&["pool", "create", "a", "--size", "128K"]);
    let err = out.fails(4, "AlreadyExists");
    assert!(err.contains_key("hint"), "{}", out.show());
    assert!(
        str_of(&err, "path").ends_with("a.plasmite"),
        "{}",
        out.show()
    );
    assert_eq!(
        std::fs::read(e.path("a")).unwrap(),
        before,
        "file unchanged"
    );
    assert_eq!(e.fetch("a", 1)["data"], json!({"keep": "me"}));
}

#[test]
fn pool_create_too_small_exits_2_naming_the_minimum_size() {
    let e = env("create_small");
    let out = e.pls(&["pool", "create", "tiny", "--size", "4096"]);
    let err = out.fails(2, "Usage");
    let hint = str_of(&err, "hint");
    // The hint names a minimum byte count above 4096.
    let min: Option<u64> = hint
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .max();
    assert!(
        min.is_some_and(|m| m > 4096),
        "minimum size in the hint: {}",
        out.show()
    );
    assert!(!e.path("tiny").exists(), "nothing created");
}

#[test]
fn pool_create_refuses_iec_size_suffixes() {
    let e = env("create_mib");
    for bad in ["1MiB", "2Gi", "1.5M", "M", "12X"] {
        let out = e.pls(&["pool", "create", "p", "--size", bad]);
        let err = out.fails(2, "Usage");
        assert!(err.contains_key("hint"), "{}", out.show());
    }
    assert!(!e.path("p").exists());
}

#[test]
fn pool_create_makes_the_pool_directory() {
    let e = env("create_mkdir");
    assert!(!e.dir.exists());
    e.create("p", "64K");
    assert!(e.path("p").is_file());
}

#[test]
fn pool_create_text_when_piped_is_a_table() {
    let e = env("create_table");
    let out = e.pls(&["pool", "create", "p", "--size", "64K"]);
    out.code(0);
    let lines = out.lines();
    assert_eq!(lines.len(), 2, "{}", out.show());
    let head: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(head, ["NAME", "SIZE", "INDEX", "PATH"]);
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(row[0], "p");
    assert_eq!(row[1], "65536");
}

#[test]
fn pool_info_json_reports_bounds_counts_and_ages_after_appends() {
    let e = env("info_json");
    e.create("p", "64K");
    e.feed("p", r#"{"a":1}"#, &[]);
    e.feed("p", r#"{"a":2}"#, &[]);
    let i = e.info("p");
    assert_pool_info(&i, "p", 65536);
    assert_eq!(i["bounds"], json!({"newest": 2, "oldest": 1}));
    let m = &i["metrics"];
    assert_eq!(m["message_count"], 2);
    assert_eq!(m["seq_span"], 2);
    assert!(m["utilization"]["used_bytes"].as_u64().unwrap() > 0);
    assert_time(&m["age"]["oldest_time"]);
    assert_time(&m["age"]["newest_time"]);
    let oldest_age = m["age"]["oldest_age_ms"].as_u64().unwrap();
    let newest_age = m["age"]["newest_age_ms"].as_u64().unwrap();
    assert!(oldest_age >= newest_age && oldest_age < 60_000, "{i}");
    assert_eq!(m["age"]["newest_time"], e.fetch("p", 2)["time"]);
}

#[test]
fn pool_info_text_when_piped_has_the_seven_labelled_lines() {
    let e = env("info_text");
    e.create("p", "64K");
    e.feed("p", r#"{"a":1}"#, &[]);
    e.feed("p", r#"{"a":2}"#, &[]);
    let out = e.pls(&["pool", "info", "p"]);
    out.code(0);
    let lines = out.lines();
    let labels: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        labels,
        [
            "Pool:",
            "Path:",
            "Size:",
            "Bounds:",
            "Utilization:",
            "Oldest:",
            "Newest:"
        ],
        "{}",
        out.show()
    );
    assert_eq!(lines[0], "Pool: p");
    let path = lines[1].strip_prefix("Path: ").unwrap();
    assert!(
        Path::new(path).is_absolute() && path.ends_with("p.plasmite"),
        "{}",
        out.show()
    );
    assert!(
        lines[2].starts_with("Size: 65536 bytes (index: offset=4096 "),
        "{}",
        out.show()
    );
    assert_eq!(lines[3], "Bounds: oldest=1 newest=2 count=2");
    assert!(lines[4].starts_with("Utilization: used="), "{}", out.show());
    assert!(lines[5].ends_with(" ago)"), "{}", out.show());
    assert!(lines[6].ends_with(" ago)"), "{}", out.show());
}

#[test]
fn pool_info_text_of_an_empty_pool_says_empty() {
    let e = env("info_text_empty");
    e.create("p", "64K");
    let out = e.pls(&["pool", "info", "p"]);
    out.code(0);
    assert!(out.lines().contains(&"Bounds: empty"), "{}", out.show());
}

#[test]
fn pool_info_of_a_missing_pool_exits_3_with_a_create_hint() {
    let e = env("info_missing");
    let out = e.pls(&["pool", "info", "nope", "--json"]);
    let err = out.fails(3, "NotFound");
    assert!(
        str_of(&err, "hint").contains("pool create nope"),
        "{}",
        out.show()
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn pool_list_json_is_sorted_and_shows_a_broken_pool_as_an_error_entry() {
    let e = env("list_json");
    e.create("zeta", "64K");
    e.create("alpha", "64K");
    e.feed("alpha", r#"{"x":1}"#, &[]);
    e.feed("alpha", r#"{"x":2}"#, &[]);
    e.copy_ref("bad-magic");
    std::fs::write(e.dir.join("notes.txt"), "not a pool").unwrap();
    let out = e.pls(&["pool", "list", "--json"]);
    out.code(0);
    let v = out.json();
    assert_eq!(keys(&v), ["pools"]);
    let pools = v["pools"].as_array().unwrap();
    let names: Vec<&str> = pools.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["alpha", "bad-magic", "zeta"],
        "sorted, other files ignored"
    );
    let alpha = &pools[0];
    assert_eq!(
        keys(alpha),
        ["bounds", "file_size", "mtime", "name", "path"]
    );
    assert_eq!(alpha["bounds"], json!({"newest": 2, "oldest": 1}));
    assert_eq!(alpha["file_size"], 65536);
    assert_time(&alpha["mtime"]);
    assert!(alpha["path"].as_str().unwrap().ends_with("alpha.plasmite"));
    assert_eq!(pools[2]["bounds"], json!({}), "empty pool");
    let bad = &pools[1];
    assert!(bad.get("error").is_some(), "error entry: {bad}");
    assert!(
        bad.get("bounds").is_none(),
        "no bounds for a broken pool: {bad}"
    );
    // Nested once (spec/CLI.md §9.6; the reference nests a whole envelope).
    let err = &bad["error"];
    assert!(err.get("error").is_none(), "nested once: {bad}");
    assert_eq!(err["kind"], "Corrupt", "{bad}");
    assert!(err["message"].is_string(), "{bad}");
    assert!(
        bad["path"]
            .as_str()
            .unwrap()
            .ends_with("bad-magic.plasmite")
    );
}

#[test]
fn pool_list_of_a_missing_directory_is_empty() {
    let e = env("list_missing_dir");
    let v = e.pls(&["pool", "list", "--json"]).code(0).json();
    assert_eq!(v, json!({"pools": []}));
}

#[test]
fn pool_list_text_when_piped_has_status_columns() {
    let e = env("list_text");
    e.create("a", "64K");
    e.copy_ref("bad-magic");
    let out = e.pls(&["pool", "list"]);
    out.code(0);
    let lines = out.lines();
    assert_eq!(lines.len(), 3, "{}", out.show());
    let head: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        head,
        [
            "NAME", "STATUS", "SIZE", "OLDEST", "NEWEST", "MTIME", "PATH", "DETAIL"
        ]
    );
    assert!(
        lines[1].starts_with("a ") && lines[1].contains(" OK "),
        "{}",
        out.show()
    );
    assert!(
        lines[2].starts_with("bad-magic ") && lines[2].contains(" ERR "),
        "{}",
        out.show()
    );
}

#[test]
fn pool_delete_json_reports_deleted_and_failed_and_exits_3_when_one_is_missing() {
    let e = env("delete_json");
    e.create("a", "64K");
    let out = e.pls(&["pool", "delete", "a", "ghost", "--json"]);
    out.code(3);
    let v = out.json();
    assert_eq!(keys(&v), ["deleted", "failed"]);
    let deleted = v["deleted"].as_array().unwrap();
    assert_eq!(deleted.len(), 1);
    assert_eq!(keys(&deleted[0]), ["path", "pool"]);
    assert_eq!(deleted[0]["pool"], "a");
    assert!(deleted[0]["path"].as_str().unwrap().ends_with("a.plasmite"));
    let failed = v["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(keys(&failed[0]), ["error", "pool"]);
    assert_eq!(failed[0]["pool"], "ghost");
    assert_eq!(failed[0]["error"]["kind"], "NotFound");
    assert!(failed[0]["error"]["message"].is_string());
    assert!(!e.path("a").exists(), "a was deleted");
}

#[test]
fn pool_delete_of_existing_pools_exits_0() {
    let e = env("delete_ok");
    e.create("a", "64K");
    e.create("b", "64K");
    let v = e
        .pls(&["pool", "delete", "a", "b", "--json"])
        .code(0)
        .json();
    assert_eq!(v["deleted"].as_array().unwrap().len(), 2);
    assert_eq!(v["failed"], json!([]));
    assert!(!e.path("a").exists() && !e.path("b").exists());
}

#[test]
fn pool_delete_tries_every_name_even_after_a_failure() {
    let e = env("delete_best_effort");
    e.create("b", "64K");
    let out = e.pls(&["pool", "delete", "ghost", "b", "--json"]);
    out.code(3);
    let v = out.json();
    assert_eq!(v["deleted"][0]["pool"], "b");
    assert!(!e.path("b").exists());
}

// ---------------------------------------------------------------------------------------------
// feed: inline data
// ---------------------------------------------------------------------------------------------

#[test]
fn feed_inline_data_prints_a_receipt_without_data() {
    let e = env("feed_inline");
    e.create("p", "64K");
    let out = e.pls(&["feed", "p", r#"{"from":"alice","msg":"hi"}"#]);
    out.code(0);
    assert!(out.stderr.is_empty(), "{}", out.show());
    let r = out.json();
    assert_receipt(&r, 1, &[]);
    assert!(
        out.stdout.starts_with("{\"meta\":"),
        "compact with sorted keys: {}",
        out.stdout
    );
    assert_receipt(&e.feed("p", r#"{"n":2}"#, &[]), 2, &[]);
    assert_envelope(
        &e.fetch("p", 1),
        1,
        &json!({"from": "alice", "msg": "hi"}),
        &[],
    );
    assert_eq!(
        e.fetch("p", 1)["time"],
        r["time"],
        "receipt time = message time"
    );
}

#[test]
fn feed_tags_are_kept_in_order_in_receipt_and_message() {
    let e = env("feed_tags");
    e.create("p", "64K");
    let r = e.feed("p", r#"{"x":1}"#, &["b", "a"]);
    assert_receipt(&r, 1, &["b", "a"]);
    assert_envelope(&e.fetch("p", 1), 1, &json!({"x": 1}), &["b", "a"]);
}

#[test]
fn feed_receipt_on_a_terminal_is_text() {
    let e = env("feed_tty");
    e.create("p", "64K");
    let out = e.tty(
        &["feed", "p", r#"{"x":1}"#, "--tag", "a", "--tag", "b"],
        &[],
    );
    out.code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("fed seq=1 at 20") && lines[0].ends_with('Z'),
        "{}",
        out.show()
    );
    assert_eq!(lines[1], "  tags: a,b", "{}", out.show());
}

#[test]
fn feed_without_data_from_a_terminal_exits_2_missing_data_input() {
    let e = env("feed_tty_stdin");
    e.create("p", "64K");
    let out = e.tty(&["feed", "p"], &[("NO_COLOR", "1")]);
    out.code(2);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "error: missing data input", "{}", out.show());
    assert!(lines[1].starts_with("hint: "), "{}", out.show());
    assert_eq!(e.info("p")["bounds"], json!({}));
}

#[test]
fn feed_invalid_json_exits_2_and_appends_nothing() {
    let e = env("feed_invalid");
    e.create("p", "64K");
    let out = e.pls(&["feed", "p", "{bad"]);
    let err = out.fails(2, "Usage");
    assert!(
        str_of(&err, "message").to_lowercase().contains("json"),
        "{}",
        out.show()
    );
    assert!(out.stdout.is_empty());
    assert_eq!(e.info("p")["bounds"], json!({}));
}

#[test]
fn feed_non_object_data_exits_2_data_must_be_object() {
    let e = env("feed_non_object");
    e.create("p", "64K");
    for data in ["[1]", "3", "\"s\"", "null"] {
        let out = e.pls(&["feed", "p", data]);
        let err = out.fails(2, "Usage");
        assert!(
            str_of(&err, "message").contains("data must be object"),
            "{}",
            out.show()
        );
    }
    assert_eq!(e.info("p")["bounds"], json!({}));
}

#[test]
fn feed_to_a_missing_pool_exits_3_with_a_create_hint() {
    let e = env("feed_missing");
    let out = e.pls(&["feed", "nope", r#"{"a":1}"#]);
    let err = out.fails(3, "NotFound");
    let hint = str_of(&err, "hint");
    assert!(hint.contains("--create"), "{}", out.show());
    assert!(hint.contains("feed nope"), "retry command: {}", out.show());
    assert!(!e.path("nope").exists());
}

#[test]
fn the_create_hint_is_a_command_a_shell_runs_as_given() {
    let e = env("feed_missing_hint_shell");
    let data = r#"{"a":"$HOME `false` it's \\ \"q\""}"#;
    let out = e.pls(&["feed", "nope", data]);
    let err = out.fails(3, "NotFound");
    let hint = str_of(&err, "hint");
    let cmd = hint
        .split_once("--create: pls ")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no command in the hint: {hint}"));
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(format!("{} {cmd}", sh_quote(PLS)));
    run(sh, None).code(0);
    let stored = e.fetch("nope", 1);
    assert_eq!(stored["data"], serde_json::from_str::<Value>(data).unwrap());
}

#[test]
fn feed_create_makes_a_default_1m_pool() {
    let e = env("feed_create");
    let r = e
        .pls(&["feed", "p", r#"{"a":1}"#, "--create"])
        .code(0)
        .json();
    assert_receipt(&r, 1, &[]);
    assert_eq!(e.info("p")["file_size"], 1_048_576);
    // --create on an existing pool just appends.
    let r = e
        .pls(&["feed", "p", r#"{"a":2}"#, "--create"])
        .code(0)
        .json();
    assert_receipt(&r, 2, &[]);
}

#[test]
fn feed_create_size_sets_the_new_pool_size() {
    let e = env("feed_create_size");
    e.pls(&[
        "feed",
        "p",
        r#"{"a":1}"#,
        "--create",
        "--create-size",
        "64K",
    ])
    .code(0);
    assert_eq!(e.info("p")["file_size"], 65536);
}

#[test]
fn feed_create_size_without_create_exits_2() {
    let e = env("feed_create_size_alone");
    let out = e.pls(&["feed", "p", r#"{"a":1}"#, "--create-size", "64K"]);
    let err = out.fails(2, "Usage");
    assert!(
        str_of(&err, "message").contains("--create"),
        "{}",
        out.show()
    );
    assert!(!e.path("p").exists());
}

#[test]
fn feed_without_dir_uses_home_plasmite_pools() {
    let e = env("feed_home");
    let out = run(e.bare(&["feed", "chat", r#"{"a":1}"#, "--create"]), None);
    out.code(0);
    assert!(
        e.home.join(".plasmite/pools/chat.plasmite").is_file(),
        "{}",
        out.show()
    );
}

#[test]
fn feed_durability_flush_appends_and_an_unknown_durability_exits_2() {
    let e = env("feed_durability");
    e.create("p", "64K");
    let r = e
        .pls(&["feed", "p", r#"{"a":1}"#, "--durability", "flush"])
        .code(0)
        .json();
    assert_receipt(&r, 1, &[]);
    let r = e
        .pls(&["feed", "p", r#"{"a":2}"#, "--durability", "fast"])
        .code(0)
        .json();
    assert_receipt(&r, 2, &[]);
    let out = e.pls(&["feed", "p", r#"{"a":3}"#, "--durability", "x"]);
    let err = out.fails(2, "Usage");
    assert!(
        str_of(&err, "message").contains("durability"),
        "{}",
        out.show()
    );
    assert_eq!(e.info("p")["bounds"]["newest"], 2);
}

#[test]
fn feed_remote_only_flags_on_a_local_pool_exit_2() {
    let e = env("feed_remote_flags");
    e.create("p", "64K");
    let out = e.pls(&["feed", "p", r#"{"a":1}"#, "--token", "t"]);
    out.fails(2, "Usage");
    let out = e.pls(&["feed", "ftp://host/p", r#"{"a":1}"#]);
    out.fails(2, "Usage");
}

// ---------------------------------------------------------------------------------------------
// feed: streams
// ---------------------------------------------------------------------------------------------

#[test]
fn feed_stdin_jsonl_of_1000_lines_appends_1000_records_in_order() {
    let e = env("feed_1000");
    e.create("p", "1M");
    let out = e.pls_in(&["feed", "p"], jsonl(1000));
    out.code(0);
    let receipts = out.json_lines();
    assert_eq!(receipts.len(), 1000, "{}", out.show());
    for (i, r) in receipts.iter().enumerate() {
        assert_receipt(r, i as u64 + 1, &[]);
    }
    assert_envelope(&e.fetch("p", 500), 500, &json!({"i": 499}), &[]);
    assert_envelope(&e.fetch("p", 1000), 1000, &json!({"i": 999}), &[]);
    assert_eq!(e.info("p")["metrics"]["message_count"], 1000);
}

#[test]
fn feed_stream_applies_tags_to_every_record() {
    let e = env("feed_stream_tags");
    e.create("p", "64K");
    let out = e.pls_in(&["feed", "p", "--tag", "t"], jsonl(3));
    out.code(0);
    for (i, r) in out.json_lines().iter().enumerate() {
        assert_receipt(r, i as u64 + 1, &["t"]);
    }
    assert_envelope(&e.fetch("p", 3), 3, &json!({"i": 2}), &["t"]);
}

#[test]
fn feed_file_reads_records_from_a_file() {
    let e = env("feed_file");
    e.create("p", "64K");
    let f = e.root.join("in.jsonl");
    std::fs::write(&f, "{\"a\":1}\n\n{\"a\":2}\r\n{\"a\":3}").unwrap();
    let out = e.pls(&["feed", "p", "--file", f.to_str().unwrap()]);
    out.code(0);
    assert_eq!(seqs(&out.json_lines()), [1, 2, 3], "{}", out.show());
    assert_eq!(e.fetch("p", 2)["data"], json!({"a": 2}));
    assert_eq!(e.fetch("p", 3)["data"], json!({"a": 3}));
    // -f - reads stdin.
    let out = e.pls_in(&["feed", "p", "-f", "-"], "{\"a\":4}\n");
    out.code(0);
    assert_eq!(seqs(&out.json_lines()), [4]);
}

#[test]
fn feed_file_that_does_not_exist_fails_without_appending() {
    let e = env("feed_file_missing");
    e.create("p", "64K");
    let out = e.pls(&[
        "feed",
        "p",
        "--file",
        e.root.join("nope.jsonl").to_str().unwrap(),
    ]);
    let err = out.fails(3, "NotFound");
    assert!(
        err["hint"].as_str().unwrap().contains("input file"),
        "the hint is about the input file: {err:?}"
    );
    assert_eq!(e.info("p")["bounds"], json!({}));
}

#[test]
fn feed_data_with_file_exits_2() {
    let e = env("feed_data_and_file");
    e.create("p", "64K");
    let f = e.root.join("in.jsonl");
    std::fs::write(&f, "{\"a\":1}\n").unwrap();
    let out = e.pls(&["feed", "p", r#"{"a":0}"#, "--file", f.to_str().unwrap()]);
    out.fails(2, "Usage");
    assert_eq!(e.info("p")["bounds"], json!({}));
}

const FIVE_WITH_BAD_LINE_3: &str = "{\"i\":1}\n{\"i\":2}\nnot json\n{\"i\":4}\n{\"i\":5}\n";

#[test]
fn feed_stop_mode_keeps_records_before_the_bad_line() {
    let e = env("feed_stop");
    e.create("p", "64K");
    let out = e.pls_in(&["feed", "p"], FIVE_WITH_BAD_LINE_3);
    let err = out.fails(2, "Usage");
    assert!(str_of(&err, "message").contains("line 3"), "{}", out.show());
    assert!(err.contains_key("hint"), "{}", out.show());
    assert_eq!(
        seqs(&out.json_lines()),
        [1, 2],
        "receipts for records 1-2\n{}",
        out.show()
    );
    let i = e.info("p");
    assert_eq!(
        i["bounds"],
        json!({"newest": 2, "oldest": 1}),
        "nothing after the bad line"
    );
    assert_eq!(e.fetch("p", 2)["data"], json!({"i": 2}));
}

#[test]
fn feed_from_a_slow_pipe_on_a_terminal_shows_progress_and_finishes_it() {
    let e = env("feed_progress_tty");
    e.create("p", "64K");
    let fifo = e.home.join("input.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("mkfifo is not available: skipped");
        return;
    }
    let path = fifo.to_str().unwrap().to_owned();
    let (mut child, started) = spawn(
        e.tty_cmd(&["feed", "p", "--file", &path], &[("NO_COLOR", "1")]),
        true,
    );
    let stdin = child.stdin.take().unwrap();
    // Two records at once, the third well after the refresh interval, so the line is drawn
    // at least once.
    let writer = std::thread::spawn(move || {
        let mut w = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
        w.write_all(b"{\"i\":1}\n{\"i\":2}\n").unwrap();
        w.flush().unwrap();
        std::thread::sleep(Duration::from_millis(700));
        w.write_all(b"{\"i\":3}\n").unwrap();
    });
    let out = finish(child, None, "feed from a fifo on a tty".into(), started);
    drop(stdin);
    writer.join().unwrap();
    out.code(0);
    assert_eq!(
        seqs(
            &e.pls(&["follow", "p", "--tail", "9", "--jsonl", "--timeout", "20ms"])
                .json_lines()
        ),
        [1, 2, 3]
    );
    // On the terminal: the line drawn in place (erase, then the counts and rate; which counts
    // depends on when the reads land) and the final totals that replace it.
    assert!(out.stdout.contains("\r\x1b[Kfeeding p: "), "{}", out.show());
    assert!(out.stdout.contains(" records/s"), "{}", out.show());
    assert!(
        out.stdout
            .contains("\r\x1b[Kfeeding p: 3 records, 24 read in "),
        "{}",
        out.show()
    );
    assert!(out.stdout.contains("fed seq=3 at "), "{}", out.show());
}

#[test]
fn feed_with_stderr_not_a_terminal_shows_no_progress() {
    let e = env("feed_progress_piped");
    e.create("p", "64K");
    let out = e.pls_in(&["feed", "p"], "{\"i\":1}\n{\"i\":2}\n");
    out.code(0);
    assert_eq!(out.stderr, "", "{}", out.show());
}

#[test]
fn feed_skip_mode_appends_the_good_records_and_exits_1_with_notices() {
    let e = env("feed_skip");
    e.create("p", "64K");
    let out = e.pls_in(&["feed", "p", "--errors", "skip"], FIVE_WITH_BAD_LINE_3);
    out.code(1);
    assert_eq!(seqs(&out.json_lines()), [1, 2, 3, 4], "{}", out.show());
    assert_eq!(
        e.fetch("p", 3)["data"],
        json!({"i": 4}),
        "line 4 became seq 3"
    );
    assert_eq!(e.info("p")["bounds"], json!({"newest": 4, "oldest": 1}));
    let notices = out.stderr_json();
    assert_eq!(
        notices.len(),
        2,
        "one skip and one summary notice\n{}",
        out.show()
    );
    let skip = &notices[0]["notice"];
    assert_eq!(keys(&notices[0]), ["notice"]);
    assert_eq!(
        keys(skip),
        ["cmd", "details", "kind", "message", "pool", "time"],
        "{skip}"
    );
    assert_eq!(skip["cmd"], "feed");
    assert_eq!(skip["kind"], "ingest_skip");
    assert_eq!(skip["pool"], "p");
    assert!(skip["message"].is_string());
    assert_time(&skip["time"]);
    let d = &skip["details"];
    assert_eq!(d["line"], 3, "{skip}");
    assert_eq!(d["error_kind"], "Parse", "{skip}");
    assert_eq!(d["index"], 3, "records count from 1, as lines do: {skip}");
    assert_eq!(d["mode"], "jsonl", "the sniffed mode: {skip}");
    assert!(
        d["pool_path"].as_str().unwrap().ends_with("p.plasmite"),
        "{skip}"
    );
    assert_eq!(d["snippet"], "not json", "{skip}");
    let summary = &notices[1]["notice"];
    assert_eq!(summary["kind"], "ingest_summary", "{summary}");
    assert_eq!(summary["cmd"], "feed");
    let d = &summary["details"];
    assert_eq!(d["failed"], 1, "{summary}");
    assert_eq!(d["ok"], 4, "{summary}");
    assert_eq!(d["total"], 5, "{summary}");
    assert!(d["pool_path"].is_string(), "{summary}");
}

#[test]
fn feed_skip_mode_with_only_good_records_exits_0() {
    let e = env("feed_skip_clean");
    e.create("p", "64K");
    let out = e.pls_in(&["feed", "p", "-e", "skip"], jsonl(3));
    out.code(0);
    assert!(out.stderr.is_empty(), "{}", out.show());
}

#[test]
fn feed_auto_mode_reads_multi_line_pretty_printed_records() {
    let e = env("feed_multiline");
    e.create("p", "64K");
    let input = "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2\n  ]\n}\n{\n  \"a\": 2\n}\n{\"a\":3}\n";
    let out = e.pls_in(&["feed", "p"], input);
    out.code(0);
    assert_eq!(seqs(&out.json_lines()), [1, 2, 3], "{}", out.show());
    assert_eq!(e.fetch("p", 1)["data"], json!({"a": 1, "b": [1, 2]}));
    assert_eq!(e.fetch("p", 2)["data"], json!({"a": 2}));
    assert_eq!(e.fetch("p", 3)["data"], json!({"a": 3}));
}

#[test]
fn feed_in_jsonl_reads_one_value_per_line() {
    let e = env("feed_in_jsonl");
    e.create("p", "64K");
    let out = e.pls_in(
        &["feed", "p", "--in", "jsonl"],
        "{\"a\":1}\n   \n{\"a\":2}\r\n",
    );
    out.code(0);
    assert_eq!(seqs(&out.json_lines()), [1, 2], "{}", out.show());
    assert_eq!(e.fetch("p", 2)["data"], json!({"a": 2}));
}

#[test]
fn feed_in_seq_splits_on_rfc7464_record_separators() {
    let e = env("feed_in_seq");
    e.create("p", "64K");
    let input = "\u{1e}{\"a\":1}\n\u{1e}{\n \"a\": 2\n}\n\u{1e}  \n";
    let out = e.pls_in(&["feed", "p", "--in", "seq"], input);
    out.code(0);
    assert_eq!(
        seqs(&out.json_lines()),
        [1, 2],
        "whitespace-only records ignored\n{}",
        out.show()
    );
    assert_eq!(e.fetch("p", 1)["data"], json!({"a": 1}));
    assert_eq!(e.fetch("p", 2)["data"], json!({"a": 2}));
}

#[test]
fn feed_auto_mode_detects_rfc7464_record_separators() {
    let e = env("feed_auto_seq");
    e.create("p", "64K");
    let out = e.pls_in(&["feed", "p"], "\u{1e}{\"a\":1}\n\u{1e}{\"a\":2}\n");
    out.code(0);
    assert_eq!(seqs(&out.json_lines()), [1, 2], "{}", out.show());
    assert_eq!(e.fetch("p", 2)["data"], json!({"a": 2}));
}

#[test]
fn feed_in_json_reads_the_whole_input_as_one_document() {
    let e = env("feed_in_json");
    e.create("p", "64K");
    let out = e.pls_in(
        &["feed", "p", "-i", "json"],
        "{\n  \"a\": [1,\n 2],\n  \"b\": {\"c\": true}\n}\n",
    );
    out.code(0);
    assert_eq!(seqs(&out.json_lines()), [1], "{}", out.show());
    assert_eq!(
        e.fetch("p", 1)["data"],
        json!({"a": [1, 2], "b": {"c": true}})
    );
}

#[test]
fn feed_in_jq_reads_concatenated_values() {
    let e = env("feed_in_jq");
    e.create("p", "64K");
    let out = e.pls_in(
        &["feed", "p", "--in", "jq"],
        "{\"a\":1}{\"a\":2} {\"a\":\n3}\n",
    );
    out.code(0);
    assert_eq!(seqs(&out.json_lines()), [1, 2, 3], "{}", out.show());
    assert_eq!(e.fetch("p", 1)["data"], json!({"a": 1}));
    assert_eq!(e.fetch("p", 3)["data"], json!({"a": 3}));
}

#[test]
fn feed_in_jq_with_errors_skip_exits_2() {
    let e = env("feed_jq_skip");
    e.create("p", "64K");
    let out = e.pls_in(&["feed", "p", "--in", "jq", "-e", "skip"], "{\"a\":1}");
    out.fails(2, "Usage");
    assert!(out.stdout.is_empty());
    assert_eq!(e.info("p")["bounds"], json!({}));
}

#[test]
fn feed_auto_mode_reads_sse_data_lines() {
    let e = env("feed_sse");
    e.create("p", "64K");
    let input = ": keep-alive\nevent: message\ndata: {\"a\":1}\n\nevent: message\nid: 7\ndata: {\"a\":2}\n\ndata: {\"a\":\ndata: 3}\n\n";
    let out = e.pls_in(&["feed", "p"], input);
    out.code(0);
    assert_eq!(seqs(&out.json_lines()), [1, 2, 3], "{}", out.show());
    assert_eq!(e.fetch("p", 1)["data"], json!({"a": 1}));
    assert_eq!(e.fetch("p", 2)["data"], json!({"a": 2}));
    assert_eq!(
        e.fetch("p", 3)["data"],
        json!({"a": 3}),
        "data: lines joined"
    );
}

#[test]
fn feed_oversize_record_stops_with_a_clear_error_and_writes_nothing_after_it() {
    let e = env("feed_oversize");
    e.create("p", "64K");
    let big = format!("{{\"big\":\"{}\"}}", "x".repeat(100_000));
    let input = format!("{{\"i\":1}}\n{big}\n{{\"i\":3}}\n");
    let out = e.pls_in(&["feed", "p"], input);
    let err = out.fails(2, "Usage");
    let msg = str_of(&err, "message");
    assert!(msg.contains("line 2"), "names the record: {}", out.show());
    assert!(
        msg.contains("exceed") || msg.contains("too large") || msg.contains("size"),
        "says it is too big: {}",
        out.show()
    );
    assert_eq!(seqs(&out.json_lines()), [1], "{}", out.show());
    assert_eq!(e.info("p")["bounds"], json!({"newest": 1, "oldest": 1}));
}

#[test]
fn feed_oversize_inline_data_exits_2() {
    let e = env("feed_oversize_inline");
    e.create("p", "64K");
    let big = format!("{{\"big\":\"{}\"}}", "x".repeat(100_000));
    let out = e.pls(&["feed", "p", &big]);
    out.fails(2, "Usage");
    assert_eq!(e.info("p")["bounds"], json!({}));
}

#[test]
fn feed_empty_stdin_exits_2_missing_data_input() {
    let e = env("feed_empty");
    e.create("p", "64K");
    let out = e.pls_in(&["feed", "p"], "");
    let err = out.fails(2, "Usage");
    assert_eq!(
        str_of(&err, "message"),
        "missing data input",
        "{}",
        out.show()
    );
    let out = e.pls_in(&["feed", "p"], "\n  \n");
    let err = out.fails(2, "Usage");
    assert_eq!(
        str_of(&err, "message"),
        "missing data input",
        "blank lines: {}",
        out.show()
    );
}

// ---------------------------------------------------------------------------------------------
// fetch
// ---------------------------------------------------------------------------------------------

#[test]
fn fetch_piped_prints_one_compact_envelope_with_sorted_keys() {
    let e = env("fetch_piped");
    e.create("p", "64K");
    e.feed("p", r#"{"z":1,"a":{"y":2,"b":3},"f":1.5,"n":null}"#, &["t"]);
    let out = e.pls(&["fetch", "p", "1"]);
    out.code(0);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.show());
    assert!(out.stdout.starts_with("{\"data\":{\"a\":{\"b\":3,\"y\":2},\"f\":1.5,\"n\":null,\"z\":1},\"meta\":{\"tags\":[\"t\"]},\"seq\":1,\"time\":\""), "{}", out.show());
    assert_envelope(
        &out.json(),
        1,
        &json!({"a": {"b": 3, "y": 2}, "f": 1.5, "n": null, "z": 1}),
        &["t"],
    );
}

#[test]
fn fetch_on_a_terminal_prints_pretty_json() {
    let e = env("fetch_tty");
    e.create("p", "64K");
    e.feed("p", r#"{"a":1,"b":[1,2]}"#, &[]);
    let piped = e.fetch("p", 1);
    let out = e.tty(&["fetch", "p", "1"], &[("NO_COLOR", "1")]);
    out.code(0);
    assert!(out.stdout.lines().count() > 5, "multi-line\n{}", out.show());
    assert!(
        out.stdout.contains("\n  \"data\": {"),
        "2-space indent\n{}",
        out.show()
    );
    assert!(
        !out.stdout.contains('\u{1b}'),
        "NO_COLOR: no escapes\n{}",
        out.show()
    );
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v, piped);
}

#[test]
fn fetch_on_a_terminal_is_colored_by_default() {
    let e = env("fetch_tty_color");
    e.create("p", "64K");
    e.feed("p", r#"{"a":"s"}"#, &[]);
    let out = e.tty(&["fetch", "p", "1"], &[]);
    out.code(0);
    assert!(
        out.stdout.contains("\u{1b}[36m\"data\""),
        "cyan keys\n{}",
        out.show()
    );
    assert!(
        out.stdout.contains("\u{1b}[32m\"s\""),
        "green strings\n{}",
        out.show()
    );
}

#[test]
fn color_always_colors_piped_fetch_and_never_does_not() {
    let e = env("fetch_color_always");
    e.create("p", "64K");
    e.feed("p", r#"{"a":1}"#, &[]);
    let out = e.pls_global(&["--color", "always"], &["fetch", "p", "1"]);
    out.code(0);
    assert!(
        out.stdout.contains("\u{1b}["),
        "ANSI escapes\n{}",
        out.show()
    );
    assert!(
        out.stdout.contains("\u{1b}[33m1\u{1b}[0m"),
        "yellow number\n{}",
        out.show()
    );
    let out = e.pls_global(&["--color", "never"], &["fetch", "p", "1"]);
    out.code(0);
    assert!(!out.stdout.contains('\u{1b}'), "{}", out.show());
    assert_eq!(
        out.stdout.lines().count(),
        1,
        "compact when piped\n{}",
        out.show()
    );
}

#[test]
fn fetch_of_a_missing_seq_exits_3_naming_the_retained_range() {
    let e = env("fetch_missing_seq");
    e.copy_ref("noindex"); // holds 7..30
    let out = e.pls(&["fetch", "noindex", "3"]);
    let err = out.fails(3, "NotFound");
    assert_eq!(err["seq"], 3, "{}", out.show());
    let hint = str_of(&err, "hint");
    assert!(
        hint.contains('7') && hint.contains("30"),
        "range in hint: {}",
        out.show()
    );
    let out = e.pls(&["fetch", "noindex", "31"]);
    out.fails(3, "NotFound");
    assert!(out.stdout.is_empty());
}

#[test]
fn fetch_of_a_missing_pool_exits_3() {
    let e = env("fetch_missing_pool");
    let out = e.pls(&["fetch", "nope", "1"]);
    let err = out.fails(3, "NotFound");
    assert!(err.contains_key("hint"), "{}", out.show());
}

#[test]
fn fetch_of_a_non_numeric_seq_exits_2() {
    let e = env("fetch_bad_seq");
    e.create("p", "64K");
    e.pls(&["fetch", "p", "one"]).fails(2, "Usage");
    e.pls(&["fetch", "p", "-1"]).fails(2, "Usage");
}

#[test]
fn fetch_reads_every_message_of_the_reference_pools_as_the_reference_printed_it() {
    let e = env("fetch_reference");
    for name in [
        "empty",
        "few",
        "full",
        "noindex",
        "wrapmark",
        "implicit",
        "crash-writing",
        "crash-committed",
        "varied",
    ] {
        e.copy_ref(name);
        let exp = expected(name);
        let messages = exp["messages"].as_array().unwrap();
        for m in messages {
            let seq = m["seq"].as_u64().unwrap();
            let got = e.fetch(name, seq);
            assert_eq!(&got, m, "{name} seq {seq}");
        }
        // Bounds match the reference's info.
        let i = e.info(name);
        assert_eq!(i["bounds"], exp["info"]["bounds"], "{name} bounds");
        for k in [
            "file_size",
            "index_capacity",
            "index_offset",
            "index_size_bytes",
            "ring_offset",
            "ring_size",
        ] {
            assert_eq!(i[k], exp["info"][k], "{name} {k}");
        }
    }
}

#[test]
fn crash_committed_frame_stays_invisible_and_the_next_append_is_seq_6() {
    let e = env("crash_committed");
    e.copy_ref("crash-committed");
    e.pls(&["fetch", "crash-committed", "6"])
        .fails(3, "NotFound");
    assert_receipt(&e.feed("crash-committed", r#"{"new":true}"#, &[]), 6, &[]);
    assert_eq!(e.fetch("crash-committed", 6)["data"], json!({"new": true}));
    assert_eq!(e.fetch("crash-committed", 5)["data"], json!({"i": 4}));
}

#[test]
fn crash_writing_frame_is_ignored_and_the_next_append_is_seq_6() {
    let e = env("crash_writing");
    e.copy_ref("crash-writing");
    assert_receipt(&e.feed("crash-writing", r#"{"new":true}"#, &[]), 6, &[]);
    assert_eq!(e.fetch("crash-writing", 6)["data"], json!({"new": true}));
    e.pls(&["doctor", "crash-writing"]).code(0);
}

#[test]
fn appends_keep_working_on_wrapmark_and_implicit_wrap_pools() {
    let e = env("append_wraps");
    for (name, next) in [
        ("wrapmark", 13u64),
        ("implicit", 15),
        ("full", 41),
        ("varied", 601),
    ] {
        e.copy_ref(name);
        for k in 0..10u64 {
            let r = e.feed(name, &format!("{{\"k\":{k}}}"), &[]);
            assert_receipt(&r, next + k, &[]);
        }
        assert_eq!(e.fetch(name, next + 9)["data"], json!({"k": 9}), "{name}");
        e.pls(&["doctor", name]).code(0);
    }
}

#[test]
fn fetch_of_a_corrupt_frame_exits_7_naming_its_offset_and_others_still_read() {
    let e = env("fetch_corrupt_frame");
    e.copy_ref("corrupt-frame");
    let out = e.pls(&["fetch", "corrupt-frame", "4"]);
    let err = out.fails(7, "Corrupt");
    assert_eq!(err["offset"], 1488, "{}", out.show());
    assert!(err.contains_key("hint"), "{}", out.show());
    assert!(out.elapsed < Duration::from_secs(5), "fails fast");
    let exp = expected("corrupt-frame");
    for m in exp["messages"].as_array().unwrap() {
        let seq = m["seq"].as_u64().unwrap();
        if seq == 4 {
            continue;
        }
        assert_eq!(&e.fetch("corrupt-frame", seq), m, "seq {seq}");
    }
}

#[test]
fn bad_version_pool_is_refused_with_exit_2_naming_the_versions() {
    let e = env("bad_version");
    e.copy_ref("bad-version");
    for args in [
        &["fetch", "bad-version", "1"][..],
        &["pool", "info", "bad-version"][..],
    ] {
        let out = e.pls(args);
        let err = out.fails(2, "Usage");
        let msg = str_of(&err, "message");
        assert!(
            msg.contains("version") && msg.contains('4') && msg.contains('3'),
            "{}",
            out.show()
        );
        assert!(err.contains_key("hint"), "{}", out.show());
    }
}

#[test]
fn bad_version_hint_names_the_doctor_command_as_the_program_was_called() {
    let e = env("bad_version_hint");
    e.copy_ref("bad-version");
    let want = expected("bad-version");
    // As `plasmite`, stderr is the reference's line exactly.
    let out = Command::new(env!("CARGO_BIN_EXE_plasmite"))
        .args(["--dir", e.dir_str(), "pool", "info", "bad-version"])
        .env("HOME", &e.home)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    let mut got = err.clone();
    got["error"].as_object_mut().unwrap().remove("path");
    assert_eq!(got, want["info_stderr"], "{err}");
    // As `pls`, the same hint names `pls`.
    let out = e.pls(&["pool", "info", "bad-version"]);
    let err = out.fails(2, "Usage");
    assert!(
        str_of(&err, "hint").ends_with("Run `pls doctor <pool>` for guidance."),
        "{}",
        out.show()
    );
    let v = e.pls(&["doctor", "bad-version", "--json"]).code(7).json();
    assert_eq!(
        v["reports"][0]["remediation_hints"][0],
        str_of(&err, "hint"),
        "{v}"
    );
}

#[test]
fn url_pool_refs_are_usage_errors_saying_why() {
    let e = env("url_refs");
    for (args, says) in [
        // Commands without remote support (feed, follow, fetch, duplex and pool info have it).
        (
            &["tap", "http://localhost:9700/chat", "--", "true"][..],
            "takes local pools only",
        ),
        (&["doctor", "https://h/p"][..], "local pools only"),
        (
            &["follow", "tcp://h/p", "--timeout", "1s"][..],
            "remote pool ref must use http or https scheme",
        ),
        (&["fetch", "http://h/p?x=1", "1"][..], "query string"),
        (&["fetch", "http://u@h/p", "1"][..], "user info"),
        (&["fetch", "http://h/v0/pools/p/tail", "1"][..], "API URL"),
        (&["pool", "create", ".."][..], "invalid pool name"),
    ] {
        let out = e.pls(args);
        let err = out.fails(2, "Usage");
        assert!(str_of(&err, "message").contains(says), "{}", out.show());
        assert!(!str_of(&err, "hint").is_empty(), "{}", out.show());
    }
}

#[test]
fn bad_magic_and_truncated_pools_are_corrupt_exit_7() {
    let e = env("bad_magic");
    e.copy_ref("bad-magic");
    e.copy_ref("truncated");
    for name in ["bad-magic", "truncated"] {
        let out = e.pls(&["fetch", name, "1"]);
        let err = out.fails(7, "Corrupt");
        assert!(err.contains_key("hint"), "{}", out.show());
        e.pls(&["pool", "info", name]).fails(7, "Corrupt");
        e.pls(&["feed", name, r#"{"a":1}"#]).fails(7, "Corrupt");
    }
    // Nothing was written to them.
    for name in ["bad-magic", "truncated"] {
        let orig = std::fs::read(reference_dir().join(format!("{name}.plasmite"))).unwrap();
        assert_eq!(
            std::fs::read(e.path(name)).unwrap(),
            orig,
            "{name} untouched"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// follow
// ---------------------------------------------------------------------------------------------

/// The last `n` messages of a reference pool's expected list, as (seq, data).
fn last_expected(name: &str, n: usize) -> Vec<(u64, Value)> {
    let exp = expected(name);
    let m = exp["messages"].as_array().unwrap();
    m[m.len() - n..]
        .iter()
        .map(|v| (v["seq"].as_u64().unwrap(), v["data"].clone()))
        .collect()
}

fn seq_data(values: &[Value]) -> Vec<(u64, Value)> {
    values
        .iter()
        .map(|v| (v["seq"].as_u64().unwrap(), v["data"].clone()))
        .collect()
}

#[test]
fn follow_tail_3_on_the_full_reference_ring_prints_the_last_three_and_times_out() {
    let e = env("follow_tail_full");
    e.copy_ref("full");
    let out = e.pls(&[
        "follow",
        "full",
        "--tail",
        "3",
        "--jsonl",
        "--timeout",
        "200ms",
    ]);
    out.code(124);
    assert_eq!(
        seq_data(&out.json_lines()),
        last_expected("full", 3),
        "{}",
        out.show()
    );
    assert_eq!(seqs(&out.json_lines()), [38, 39, 40]);
}

#[test]
fn follow_tail_3_on_the_wrapmark_reference_pool_prints_the_last_three() {
    let e = env("follow_tail_wrapmark");
    e.copy_ref("wrapmark");
    let out = e.pls(&[
        "follow",
        "wrapmark",
        "-n",
        "3",
        "--jsonl",
        "--timeout",
        "200ms",
    ]);
    out.code(124);
    assert_eq!(
        seq_data(&out.json_lines()),
        last_expected("wrapmark", 3),
        "{}",
        out.show()
    );
}

#[test]
fn follow_tail_larger_than_the_pool_prints_every_retained_message_of_implicit() {
    let e = env("follow_tail_implicit");
    e.copy_ref("implicit");
    let out = e.pls(&[
        "follow",
        "implicit",
        "--tail",
        "100",
        "--jsonl",
        "--timeout",
        "200ms",
    ]);
    out.code(124);
    let exp = expected("implicit");
    let all = exp["messages"].as_array().unwrap().len();
    assert_eq!(
        seq_data(&out.json_lines()),
        last_expected("implicit", all),
        "{}",
        out.show()
    );
}

#[test]
fn plain_follow_on_a_full_ring_prints_nothing_old() {
    let e = env("follow_plain_full");
    e.copy_ref("full");
    let out = e.pls(&["follow", "full", "--jsonl", "--timeout", "200ms"]);
    out.code(124);
    assert!(out.stdout.is_empty(), "{}", out.show());
}

#[test]
fn plain_follow_on_a_wrapmark_ring_prints_nothing_old() {
    let e = env("follow_plain_wrapmark");
    e.copy_ref("wrapmark");
    let out = e.pls(&["follow", "wrapmark", "--jsonl", "--timeout", "200ms"]);
    out.code(124);
    assert!(out.stdout.is_empty(), "{}", out.show());
}

#[test]
fn plain_follow_on_a_full_ring_prints_messages_appended_after_it_started() {
    let e = env("follow_live_full");
    e.copy_ref("full"); // newest 40, head == tail
    let (out, fed) = follow_while_feeding(
        &e,
        "full",
        &["--one", "--jsonl", "--timeout", "5s"],
        |_| vec![],
    );
    out.code(0);
    let lines = out.json_lines();
    assert_eq!(lines.len(), 1, "{}", out.show());
    let n = lines[0]["data"]["n"]
        .as_u64()
        .unwrap_or_else(|| panic!("a new message: {}", out.show()));
    assert!((1..=fed).contains(&n), "{}", out.show());
    assert_envelope(&lines[0], 40 + n, &json!({ "n": n }), &[]);
}

#[test]
fn follow_timeout_exit_124_has_nothing_on_stderr_when_piped() {
    let e = env("follow_timeout_quiet");
    e.create("p", "64K");
    let out = e.pls(&["follow", "p", "--timeout", "100ms"]);
    out.code(124);
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "{}",
        out.show()
    );
    assert!(out.elapsed >= Duration::from_millis(100), "{}", out.show());
}

#[test]
fn follow_timeout_on_a_terminal_says_nothing_was_received() {
    let e = env("follow_timeout_tty");
    e.create("p", "64K");
    let out = e.tty(&["follow", "p", "--timeout", "100ms"], &[]);
    out.code(124);
    assert!(
        out.stdout
            .contains("No messages received (timed out after 100ms)."),
        "{}",
        out.show()
    );
}

/// Spawns `follow` and feeds `{"n":k}` (k = 1, 2, …; tagged `tags(k)`) every 20 ms until it
/// exits; returns its output and the number of messages fed.
fn follow_while_feeding(
    e: &Env,
    pool: &str,
    follow_args: &[&str],
    tags: impl Fn(u64) -> Vec<&'static str>,
) -> (Out, u64) {
    let mut args = vec!["follow", pool];
    args.extend_from_slice(follow_args);
    let cmd = e.cmd(&args);
    let what = format!("{cmd:?}");
    let (mut child, started) = spawn(cmd, false);
    let mut fed = 0u64;
    loop {
        if child.try_wait().unwrap().is_some() || started.elapsed() > Duration::from_secs(5) {
            break;
        }
        fed += 1;
        let mut fargs = vec![
            "feed".to_owned(),
            pool.to_owned(),
            format!("{{\"n\":{fed}}}"),
        ];
        for t in tags(fed) {
            fargs.push("--tag".into());
            fargs.push(t.into());
        }
        let fargs: Vec<&str> = fargs.iter().map(String::as_str).collect();
        e.pls(&fargs).code(0);
        std::thread::sleep(Duration::from_millis(20));
    }
    (finish(child, None, what, started), fed)
}

#[test]
fn follow_one_prints_a_message_fed_after_it_started_and_exits_0() {
    let e = env("follow_one");
    e.create("p", "64K");
    e.feed("p", r#"{"old":true}"#, &[]);
    let (out, fed) = follow_while_feeding(
        &e,
        "p",
        &["--one", "--jsonl", "--timeout", "5s"],
        |_| vec![],
    );
    out.code(0);
    let lines = out.json_lines();
    assert_eq!(lines.len(), 1, "{}", out.show());
    let m = &lines[0];
    let n = m["data"]["n"]
        .as_u64()
        .unwrap_or_else(|| panic!("a fed message, not the old one: {m}"));
    assert!((1..=fed).contains(&n), "{m}");
    assert_eq!(m["seq"], n + 1, "{m}");
    assert_envelope(m, n + 1, &json!({ "n": n }), &[]);
}

#[test]
fn follow_one_with_a_tag_filter_skips_live_messages_without_the_tag() {
    let e = env("follow_one_tag");
    e.create("p", "64K");
    // Odd messages are untagged, even ones carry "a"; the follower wants "a".
    let (out, fed) = follow_while_feeding(
        &e,
        "p",
        &["--one", "--jsonl", "--tag", "a", "--timeout", "5s"],
        |k| if k % 2 == 0 { vec!["a"] } else { vec![] },
    );
    out.code(0);
    let lines = out.json_lines();
    assert_eq!(lines.len(), 1, "{}", out.show());
    let n = lines[0]["data"]["n"].as_u64().unwrap();
    assert!(n % 2 == 0 && n <= fed, "{}", out.show());
    assert_envelope(&lines[0], n, &json!({ "n": n }), &["a"]);
}

#[test]
fn follow_one_with_tail_prints_only_the_newest_of_the_last_n() {
    let e = env("follow_one_tail");
    tag_pool(&e);
    let out = e.pls(&[
        "follow",
        "t",
        "--one",
        "--tail",
        "2",
        "--jsonl",
        "--timeout",
        "5s",
    ]);
    out.code(0);
    assert_eq!(seqs(&out.json_lines()), [3], "{}", out.show());
    assert!(out.elapsed < Duration::from_secs(4), "{}", out.show());
}

/// A pool for filter tests:
/// 1 `{"msg":"all good","n":1,"ok":true,"tags":["x"]}`,
/// 2 `{"msg":"kernel panic here","n":2,"ok":false,"tags":["x","y"]}`,
/// 3 `{"msg":"fine","n":3,"ok":true,"tags":["x","y","z"]}`,
/// 4 `{"msg":"panic again","n":0,"ok":false,"tags":[]}`.
fn filter_pool(e: &Env) {
    e.create("f", "64K");
    e.feed(
        "f",
        r#"{"msg":"all good","n":1,"ok":true,"tags":["x"]}"#,
        &[],
    );
    e.feed(
        "f",
        r#"{"msg":"kernel panic here","n":2,"ok":false,"tags":["x","y"]}"#,
        &[],
    );
    e.feed(
        "f",
        r#"{"msg":"fine","n":3,"ok":true,"tags":["x","y","z"]}"#,
        &[],
    );
    e.feed(
        "f",
        r#"{"msg":"panic again","n":0,"ok":false,"tags":[]}"#,
        &[],
    );
}

fn follow_where(e: &Env, wheres: &[&str]) -> Out {
    let mut args = vec![
        "follow",
        "f",
        "--tail",
        "10",
        "--jsonl",
        "--timeout",
        "200ms",
    ];
    for w in wheres {
        args.push("--where");
        args.push(w);
    }
    e.pls(&args)
}

#[test]
fn feed_with_bad_inline_data_creates_no_pool() {
    let e = env("feed_bad_data_no_pool");
    for data in ["not json", "[1]"] {
        e.pls(&["feed", "newpool", "--create", data])
            .fails(2, "Usage");
        assert!(!e.path("newpool").exists(), "{data} created the pool");
    }
}

#[test]
fn follow_reports_a_damaged_payload_where_it_is_and_goes_on_whatever_the_filters() {
    let e = env("follow_damaged_payload");
    e.create("p", "64K");
    e.feed("p", r#"{"a":"xyz"}"#, &["x"]);
    e.feed("p", r#"{"a":"abc"}"#, &["x"]);
    let ring = e.info("p")["ring_offset"].as_u64().unwrap() as usize;
    let path = e.path("p");
    let mut bytes = std::fs::read(&path).unwrap();
    // No CRC (flag bit 0 clear, crc 0), so only the payload's own checks can see the damage.
    bytes[ring + 8..ring + 12].copy_from_slice(&0u32.to_le_bytes());
    bytes[ring + 40..ring + 44].copy_from_slice(&0u32.to_le_bytes());
    for b in &mut bytes[ring + 64..ring + 72] {
        *b = 0xff;
    }
    std::fs::write(&path, &bytes).unwrap();
    for extra in [&[][..], &["--tag", "x"][..], &["--where", ".data.a"][..]] {
        let mut args = vec![
            "follow",
            "p",
            "--tail",
            "2",
            "--jsonl",
            "--timeout",
            "200ms",
        ];
        args.extend_from_slice(extra);
        let out = e.pls(&args);
        out.code(124);
        assert_eq!(seqs(&out.json_lines()), [2], "{extra:?}: {}", out.show());
        let notices = out.stderr_json();
        let n = &notices[0]["notice"];
        assert_eq!(n["kind"], "corrupt", "{extra:?}: {}", out.show());
        assert_eq!(n["cmd"], "follow");
        assert_eq!(n["details"]["seq"], 1, "{extra:?}: {}", out.show());
        assert_eq!(n["details"]["offset"], 0, "{extra:?}: {}", out.show());
        assert!(n["details"]["pool_path"].is_string(), "{}", out.show());
    }
}

#[test]
fn follow_where_sees_object_keys_sorted_as_they_print() {
    let e = env("where_key_order");
    e.create("f", "64K");
    e.feed(
        "f",
        r#"{"zeta":1,"alpha":2,"mid":3,"b":4,"aa":5,"zz":6}"#,
        &[],
    );
    let out = follow_where(
        &e,
        &[r#"(.data | keys_unsorted) == ["aa","alpha","b","mid","zeta","zz"]"#],
    );
    out.code(124);
    assert_eq!(seqs(&out.json_lines()), [1], "{}", out.show());
}

#[test]
fn follow_where_test_regex_matches_only_panics() {
    let e = env("where_test");
    filter_pool(&e);
    let out = follow_where(&e, &[r#".data.msg | test("panic")"#]);
    out.code(124);
    assert_eq!(seqs(&out.json_lines()), [2, 4], "{}", out.show());
}

#[test]
fn follow_where_select_prints_the_selected_messages() {
    let e = env("where_select");
    filter_pool(&e);
    let out = follow_where(&e, &["select(.data.n > 1)"]);
    out.code(124);
    assert_eq!(seqs(&out.json_lines()), [2, 3], "{}", out.show());
}

#[test]
fn follow_where_length_counts_array_elements() {
    let e = env("where_length");
    filter_pool(&e);
    let out = follow_where(&e, &["(.data.tags | length) > 1"]);
    out.code(124);
    assert_eq!(seqs(&out.json_lines()), [2, 3], "{}", out.show());
}

#[test]
fn follow_where_not_negates() {
    let e = env("where_not");
    filter_pool(&e);
    let out = follow_where(&e, &[".data.ok | not"]);
    out.code(124);
    assert_eq!(seqs(&out.json_lines()), [2, 4], "{}", out.show());
}

#[test]
fn follow_two_wheres_must_both_hold() {
    let e = env("where_and");
    filter_pool(&e);
    let out = follow_where(&e, &[r#".data.msg | test("panic")"#, ".data.n > 1"]);
    out.code(124);
    assert_eq!(seqs(&out.json_lines()), [2], "{}", out.show());
}

#[test]
fn follow_where_sees_the_whole_envelope() {
    let e = env("where_envelope");
    filter_pool(&e);
    let out = follow_where(&e, &[".seq >= 3", ".meta.tags == []"]);
    out.code(124);
    assert_eq!(seqs(&out.json_lines()), [3, 4], "{}", out.show());
}

#[test]
fn follow_where_with_tail_prints_the_last_n_matching() {
    let e = env("where_tail");
    filter_pool(&e);
    let out = e.pls(&[
        "follow",
        "f",
        "--tail",
        "1",
        "--where",
        ".data.ok",
        "--jsonl",
        "--timeout",
        "200ms",
    ]);
    out.code(124);
    assert_eq!(seqs(&out.json_lines()), [3], "{}", out.show());
}

#[test]
fn follow_where_with_an_invalid_expression_exits_2() {
    let e = env("where_invalid");
    filter_pool(&e);
    let out = follow_where(&e, &[".data.("]);
    let err = out.fails(2, "Usage");
    assert!(str_of(&err, "message").contains("filter"), "{}", out.show());
    assert!(out.stdout.is_empty(), "{}", out.show());
}

/// Pool `t`: 1 tagged a, 2 tagged a+b, 3 tagged b.
fn tag_pool(e: &Env) {
    e.create("t", "64K");
    e.feed("t", r#"{"m":1}"#, &["a"]);
    e.feed("t", r#"{"m":2}"#, &["a", "b"]);
    e.feed("t", r#"{"m":3}"#, &["b"]);
}

#[test]
fn follow_repeated_tags_must_all_be_present() {
    let e = env("follow_tags_and");
    tag_pool(&e);
    let out = e.pls(&[
        "follow",
        "t",
        "--tail",
        "10",
        "--tag",
        "a",
        "--tag",
        "b",
        "--jsonl",
        "--timeout",
        "200ms",
    ]);
    out.code(124);
    assert_eq!(seqs(&out.json_lines()), [2], "{}", out.show());
    let out = e.pls(&[
        "follow",
        "t",
        "--tail",
        "10",
        "--tag",
        "a",
        "--jsonl",
        "--timeout",
        "200ms",
    ]);
    out.code(124);
    assert_eq!(seqs(&out.json_lines()), [1, 2], "{}", out.show());
    let out = e.pls(&[
        "follow",
        "t",
        "--tail",
        "10",
        "--tag",
        "c",
        "--jsonl",
        "--timeout",
        "200ms",
    ]);
    out.code(124);
    assert!(out.stdout.is_empty(), "{}", out.show());
}

#[test]
fn follow_tail_with_a_tag_prints_the_last_n_matching_not_the_last_n() {
    let e = env("follow_tail_tag");
    tag_pool(&e);
    let out = e.pls(&[
        "follow",
        "t",
        "--tail",
        "1",
        "--tag",
        "a",
        "--jsonl",
        "--timeout",
        "200ms",
    ]);
    out.code(124);
    assert_eq!(seqs(&out.json_lines()), [2], "{}", out.show());
}

#[test]
fn follow_data_only_prints_only_the_data() {
    let e = env("follow_data_only");
    tag_pool(&e);
    let out = e.pls(&[
        "follow",
        "t",
        "--tail",
        "2",
        "--data-only",
        "--jsonl",
        "--timeout",
        "200ms",
    ]);
    out.code(124);
    assert_eq!(
        out.json_lines(),
        [json!({"m": 2}), json!({"m": 3})],
        "{}",
        out.show()
    );
}

#[test]
fn follow_format_pretty_prints_multi_line_json_also_when_piped() {
    let e = env("follow_pretty");
    tag_pool(&e);
    for args in [
        &[
            "follow",
            "t",
            "--tail",
            "2",
            "--format",
            "pretty",
            "--timeout",
            "200ms",
        ][..],
        &["follow", "t", "--tail", "2", "--timeout", "200ms"][..],
    ] {
        let out = e.pls(args);
        out.code(124);
        let values = out.json_stream();
        assert_eq!(seqs(&values), [2, 3], "{}", out.show());
        assert!(out.stdout.lines().count() > 4, "multi-line\n{}", out.show());
        assert!(out.stdout.contains("\n  \"data\": {"), "{}", out.show());
        assert_envelope(&values[0], 2, &json!({"m": 2}), &["a", "b"]);
    }
}

#[test]
fn follow_format_jsonl_equals_dash_dash_jsonl() {
    let e = env("follow_format_jsonl");
    tag_pool(&e);
    let a = e.pls(&[
        "follow",
        "t",
        "--tail",
        "3",
        "--format",
        "jsonl",
        "--timeout",
        "100ms",
    ]);
    let b = e.pls(&[
        "follow",
        "t",
        "--tail",
        "3",
        "--jsonl",
        "--timeout",
        "100ms",
    ]);
    a.code(124);
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(a.lines().len(), 3);
}

#[test]
fn follow_jsonl_with_format_pretty_is_a_conflict_exit_2() {
    let e = env("follow_conflict");
    tag_pool(&e);
    let out = e.pls(&[
        "follow",
        "t",
        "--jsonl",
        "--format",
        "pretty",
        "--timeout",
        "100ms",
    ]);
    let err = out.fails(2, "Usage");
    assert_eq!(
        str_of(&err, "message"),
        "conflicting output options",
        "{}",
        out.show()
    );
}

#[test]
fn follow_tail_with_since_exits_2() {
    let e = env("follow_tail_since");
    tag_pool(&e);
    let out = e.pls(&[
        "follow",
        "t",
        "--tail",
        "1",
        "--since",
        "1m",
        "--timeout",
        "100ms",
    ]);
    out.fails(2, "Usage");
    assert!(out.stdout.is_empty());
}

#[test]
fn follow_since_1h_prints_the_recent_messages() {
    let e = env("follow_since");
    tag_pool(&e);
    let out = e.pls(&[
        "follow",
        "t",
        "--since",
        "1h",
        "--jsonl",
        "--timeout",
        "200ms",
    ]);
    out.code(124);
    assert_eq!(seqs(&out.json_lines()), [1, 2, 3], "{}", out.show());
}

#[test]
fn follow_since_an_old_rfc3339_time_prints_everything_and_a_later_one_skips_older() {
    let e = env("follow_since_rfc");
    e.copy_ref("few"); // written 2026-11-21T09:28:51.75…Z
    let out = e.pls(&[
        "follow",
        "few",
        "--since",
        "2020-01-01T00:00:00Z",
        "--jsonl",
        "--timeout",
        "200ms",
    ]);
    out.code(124);
    assert_eq!(seqs(&out.json_lines()), [1, 2, 3, 4], "{}", out.show());
    let out = e.pls(&[
        "follow",
        "few",
        "--since",
        "2026-11-21T09:28:51.7595Z",
        "--jsonl",
        "--timeout",
        "200ms",
    ]);
    out.code(124);
    assert_eq!(seqs(&out.json_lines()), [3, 4], "{}", out.show());
}

#[test]
fn follow_since_beyond_the_clock_means_nothing_yet_and_before_1970_everything() {
    let e = env("follow_since_extremes");
    tag_pool(&e);
    let out = e.pls(&[
        "follow",
        "t",
        "--since",
        "2999-01-01T00:00:00Z",
        "--timeout",
        "5s",
    ]);
    out.code(0);
    assert!(out.stdout.is_empty(), "{}", out.show());
    assert!(out.elapsed < Duration::from_secs(4), "{}", out.show());
    e.pls(&["follow", "missing", "--since", "2999-01-01T00:00:00Z"])
        .fails(3, "NotFound");
    let out = e.pls(&[
        "follow",
        "t",
        "--since",
        "1900-01-01T00:00:00Z",
        "--jsonl",
        "--timeout",
        "200ms",
    ]);
    out.code(124);
    let all = e.info("t")["metrics"]["message_count"].as_u64().unwrap();
    assert_eq!(seqs(&out.json_lines()), (1..=all).collect::<Vec<_>>());
}

#[test]
fn follow_since_a_future_time_exits_0_with_no_output() {
    let e = env("follow_since_future");
    tag_pool(&e);
    let out = e.pls(&[
        "follow",
        "t",
        "--since",
        "2099-01-01T00:00:00Z",
        "--jsonl",
        "--timeout",
        "5s",
    ]);
    out.code(0);
    assert!(out.stdout.is_empty(), "{}", out.show());
    assert!(
        out.elapsed < Duration::from_secs(4),
        "immediately: {}",
        out.show()
    );
}

#[test]
fn follow_since_past_the_last_storable_instant_is_not_a_usage_error() {
    // 2999 is past 2554, the last instant u64 nanoseconds can hold: later than every message.
    let e = env("follow_since_2999");
    tag_pool(&e);
    let out = e.pls(&[
        "follow",
        "t",
        "--since",
        "2999-01-01T00:00:00Z",
        "--jsonl",
        "--timeout",
        "1s",
    ]);
    assert_ne!(out.code, 2, "{}", out.show());
    assert!(out.stdout.is_empty(), "{}", out.show());
}

#[test]
fn follow_since_before_1970_prints_everything() {
    let e = env("follow_since_1969");
    e.copy_ref("few");
    let out = e.pls(&[
        "follow",
        "few",
        "--since",
        "1969-07-20T20:17:40Z",
        "--jsonl",
        "--timeout",
        "200ms",
    ]);
    out.code(124);
    assert_eq!(seqs(&out.json_lines()), [1, 2, 3, 4], "{}", out.show());
}

#[test]
fn follow_since_an_invalid_value_exits_2() {
    let e = env("follow_since_invalid");
    tag_pool(&e);
    for bad in ["500ms", "yesterday", "5x"] {
        e.pls(&["follow", "t", "--since", bad, "--timeout", "100ms"])
            .fails(2, "Usage");
    }
}

#[test]
fn follow_template_formats_each_message() {
    let e = env("follow_template");
    e.create("p", "64K");
    e.feed("p", r#"{"msg":"hello"}"#, &[]);
    let out = e.pls(&[
        "follow",
        "p",
        "--tail",
        "1",
        "--template",
        "{{ seq }} {{ data.msg }}",
        "--timeout",
        "200ms",
    ]);
    out.code(124);
    assert_eq!(out.stdout, "1 hello\n", "{}", out.show());
}

#[test]
fn follow_replay_0_with_tail_prints_the_history_and_exits_0() {
    let e = env("follow_replay");
    tag_pool(&e);
    let out = e.pls(&[
        "follow",
        "t",
        "--replay",
        "0",
        "--tail",
        "2",
        "--jsonl",
        "--timeout",
        "5s",
    ]);
    out.code(0);
    assert_eq!(seqs(&out.json_lines()), [2, 3], "{}", out.show());
    assert!(
        out.elapsed < Duration::from_secs(4),
        "no live phase: {}",
        out.show()
    );
}

#[test]
fn follow_replay_without_tail_or_since_exits_2() {
    let e = env("follow_replay_alone");
    tag_pool(&e);
    let out = e.pls(&["follow", "t", "--replay", "1", "--timeout", "100ms"]);
    let err = out.fails(2, "Usage");
    assert!(str_of(&err, "message").contains("--tail"), "{}", out.show());
}

#[test]
fn follow_replay_negative_or_not_finite_exits_2() {
    let e = env("follow_replay_negative");
    tag_pool(&e);
    for bad in ["-1", "NaN", "inf", "fast"] {
        let out = e.pls(&[
            "follow",
            "t",
            "--replay",
            bad,
            "--tail",
            "1",
            "--timeout",
            "100ms",
        ]);
        out.fails(2, "Usage");
        assert!(out.stdout.is_empty(), "{}", out.show());
    }
}

#[test]
fn follow_invalid_timeout_exits_2() {
    let e = env("follow_bad_timeout");
    tag_pool(&e);
    for bad in ["5", "1.5s", "5S", "x"] {
        e.pls(&["follow", "t", "--timeout", bad]).fails(2, "Usage");
    }
}

#[test]
fn follow_of_a_missing_pool_exits_3_with_a_create_hint() {
    let e = env("follow_missing");
    let out = e.pls(&["follow", "nope", "--timeout", "100ms"]);
    let err = out.fails(3, "NotFound");
    let hint = str_of(&err, "hint");
    assert!(
        hint.contains("--create") && hint.contains("follow nope"),
        "{}",
        out.show()
    );
    assert!(!e.path("nope").exists());
}

#[test]
fn follow_create_makes_the_pool_then_times_out() {
    let e = env("follow_create");
    let out = e.pls(&[
        "follow",
        "newp",
        "--create",
        "--jsonl",
        "--timeout",
        "200ms",
    ]);
    out.code(124);
    assert!(out.stdout.is_empty(), "{}", out.show());
    assert_eq!(e.info("newp")["file_size"], 1_048_576);
}

#[test]
fn follow_with_a_closed_stdout_exits_0_quietly() {
    let e = env("follow_closed_stdout");
    e.create("big", "1M");
    // Five 40 KB messages: more than a pipe holds, so `follow` writes after `head` is gone.
    let data = format!("{{\"blob\":\"{}\"}}", "x".repeat(40_000));
    for _ in 0..5 {
        e.pls(&["feed", "big", &data]).code(0);
    }
    let script = r#"{ "$0" --dir "$1" follow big --tail 5 --jsonl --timeout 5s; echo "follow-exit=$?" >&2; } | head -1"#;
    let mut c = Command::new("sh");
    c.args(["-c", script, PLS, e.dir_str()])
        .env("HOME", &e.home);
    let out = run(c, None);
    out.code(0);
    assert_eq!(
        out.stdout.lines().count(),
        1,
        "one line through head\n{}",
        out.show()
    );
    let first: Value = serde_json::from_str(out.stdout.trim_end()).unwrap();
    assert_eq!(first["seq"], 1);
    assert_eq!(
        out.stderr.trim(),
        "follow-exit=0",
        "exit 0, nothing else on stderr\n{}",
        out.show()
    );
    assert!(!out.stderr.contains("panic"), "{}", out.show());
    assert!(
        out.elapsed < Duration::from_secs(4),
        "quickly, not by --timeout\n{}",
        out.show()
    );
}

#[test]
fn follow_remote_only_flags_on_a_local_pool_exit_2() {
    let e = env("follow_remote_flags");
    tag_pool(&e);
    e.pls(&["follow", "t", "--token", "x", "--timeout", "100ms"])
        .fails(2, "Usage");
    e.pls(&["follow", "t", "--tls-skip-verify", "--timeout", "100ms"])
        .fails(2, "Usage");
}

// ---------------------------------------------------------------------------------------------
// doctor
// ---------------------------------------------------------------------------------------------

const DOCTOR_KEYS: [&str; 10] = [
    "crc_checked",
    "frames_checked",
    "issue_count",
    "issues",
    "last_good_seq",
    "path",
    "pool_ref",
    "remediation_hints",
    "snapshot_path",
    "status",
];

#[track_caller]
fn assert_doctor_report(r: &Value) {
    for k in DOCTOR_KEYS {
        assert!(r.get(k).is_some(), "doctor report has `{k}`: {r}");
    }
    assert!(
        r["issues"].is_array() && r["remediation_hints"].is_array(),
        "{r}"
    );
    assert_eq!(
        r["issue_count"].as_u64().unwrap() as usize,
        r["issues"].as_array().unwrap().len(),
        "{r}"
    );
    assert!(r["snapshot_path"].is_null(), "{r}");
}

#[test]
fn doctor_on_a_healthy_pool_prints_ok_and_exits_0() {
    let e = env("doctor_ok");
    e.create("good", "64K");
    e.feed("good", r#"{"a":1}"#, &[]);
    let out = e.pls(&["doctor", "good"]);
    out.code(0);
    assert_eq!(out.stdout, "OK: good\n", "{}", out.show());
}

#[test]
fn doctor_json_reports_the_reference_keys() {
    let e = env("doctor_json");
    e.create("good", "64K");
    e.feed("good", r#"{"a":1}"#, &[]);
    e.feed("good", r#"{"a":2}"#, &[]);
    let v = e.pls(&["doctor", "good", "--json"]).code(0).json();
    assert_eq!(keys(&v), ["reports"]);
    let r = &v["reports"][0];
    assert_doctor_report(r);
    assert_eq!(r["status"], "ok");
    assert_eq!(r["issue_count"], 0);
    assert_eq!(r["issues"], json!([]));
    assert_eq!(r["last_good_seq"], 2);
    assert_eq!(r["pool_ref"], "good");
    assert!(r["path"].as_str().unwrap().ends_with("good.plasmite"));
    assert_eq!(r["remediation_hints"], json!([]));
    assert_eq!(r["frames_checked"], 2, "both frames walked");
    assert_eq!(r["crc_checked"], 2, "both CRCs verified");
}

#[test]
fn doctor_on_the_corrupt_frame_pool_exits_7_with_the_issue_offset() {
    let e = env("doctor_corrupt");
    e.copy_ref("corrupt-frame");
    let out = e.pls(&["doctor", "corrupt-frame", "--json"]);
    out.code(7);
    let v = out.json();
    let r = &v["reports"][0];
    assert_doctor_report(r);
    assert_eq!(r["status"], "corrupt");
    assert_eq!(r["issue_count"], 1);
    assert_eq!(r["last_good_seq"], 3);
    let issue = &r["issues"][0];
    assert_eq!(keys(issue), ["code", "message", "offset", "seq"], "{issue}");
    assert_eq!(issue["code"], "corrupt");
    assert_eq!(issue["offset"], 1488, "{issue}");
    assert!(issue["message"].is_string());
    assert!(!r["remediation_hints"].as_array().unwrap().is_empty());
    let out = e.pls(&["doctor", "corrupt-frame"]);
    out.code(7);
    assert!(
        out.stdout
            .starts_with("CORRUPT: corrupt-frame last_good_seq=3 issue="),
        "{}",
        out.show()
    );
    // doctor never writes.
    let orig = std::fs::read(reference_dir().join("corrupt-frame.plasmite")).unwrap();
    assert_eq!(std::fs::read(e.path("corrupt-frame")).unwrap(), orig);
}

#[test]
fn doctor_reports_bad_magic_and_bad_version_as_corrupt() {
    let e = env("doctor_bad_header");
    e.copy_ref("bad-magic");
    e.copy_ref("bad-version");
    let v = e.pls(&["doctor", "bad-magic", "--json"]).code(7).json();
    assert_eq!(v["reports"][0]["status"], "corrupt");
    assert!(v["reports"][0]["last_good_seq"].is_null());
    // A pool that cannot be walked still has every report key.
    let keys: Vec<&str> = v["reports"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, DOCTOR_KEYS, "{v}");
    let v = e.pls(&["doctor", "bad-version", "--json"]).code(7).json();
    let issue = &v["reports"][0]["issues"][0];
    assert_eq!(issue["code"], "format", "{issue}");
    assert!(
        issue["message"].as_str().unwrap().contains("version"),
        "{issue}"
    );
}

#[test]
fn doctor_all_over_a_good_and_a_corrupt_pool_exits_7() {
    let e = env("doctor_all");
    e.create("good", "64K");
    e.copy_ref("corrupt-frame");
    let out = e.pls(&["doctor", "--all"]);
    out.code(7);
    let lines = out.lines();
    assert_eq!(lines.len(), 2, "{}", out.show());
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("CORRUPT: ") && l.contains("corrupt-frame")),
        "{}",
        out.show()
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("OK: ") && l.contains("good")),
        "{}",
        out.show()
    );
    let v = e.pls(&["doctor", "--all", "--json"]).code(7).json();
    let reports = v["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 2);
    let mut status: Vec<&str> = reports
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    status.sort_unstable();
    assert_eq!(status, ["corrupt", "ok"]);
    for r in reports {
        assert_doctor_report(r);
    }
}

#[test]
fn doctor_all_over_healthy_pools_exits_0() {
    let e = env("doctor_all_ok");
    e.create("a", "64K");
    e.create("b", "64K");
    let out = e.pls(&["doctor", "--all"]);
    out.code(0);
    assert_eq!(out.lines().len(), 2, "{}", out.show());
}

#[test]
fn doctor_needs_exactly_one_of_pool_or_all() {
    let e = env("doctor_usage");
    e.create("a", "64K");
    e.pls(&["doctor"]).fails(2, "Usage");
    e.pls(&["doctor", "a", "--all"]).fails(2, "Usage");
}

#[test]
fn doctor_of_a_missing_pool_exits_3() {
    let e = env("doctor_missing");
    e.create("a", "64K");
    e.pls(&["doctor", "nope"]).fails(3, "NotFound");
}

#[test]
fn feed_from_a_live_pipe_appends_each_record_as_it_arrives() {
    let e = env("feed_live_pipe");
    e.create("p", "64K");
    let mut child = e
        .cmd(&["feed", "p"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for i in 1..=2u64 {
        writeln!(stdin, "{{\"i\":{i}}}").unwrap();
        stdin.flush().unwrap();
        // The pipe stays open: the record must be in the pool without waiting for more input.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while e.info("p")["bounds"]["newest"] != i {
            assert!(
                std::time::Instant::now() < deadline,
                "record {i} not appended while the pipe is open"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn follow_timeout_never_cuts_history_short() {
    let e = env("follow_timeout_history");
    e.create("p", "8M");
    let mut lines = "{\"i\":1}\n".repeat(20_000);
    lines.push_str("{\"i\":2}\n");
    e.pls_in(&["feed", "p"], lines).code(0);
    // Reading 20 000 messages that do not match takes far longer than 1 ms; history is
    // delivered in full all the same, and the timeout counts from its end.
    for start in [&["--since", "1d"][..], &["--tail", "5"]] {
        let mut args = vec!["follow", "p", "--where", ".data.i == 2", "--timeout", "1ms"];
        args.extend_from_slice(start);
        args.push("--jsonl");
        let out = e.pls(&args);
        out.code(124);
        assert_eq!(
            seqs(&out.json_lines()),
            [20_001],
            "{start:?}: {}",
            out.show()
        );
    }
}

#[test]
fn help_for_a_command_group_exits_zero_and_a_bare_group_exits_two() {
    let e = env("help_group");
    for args in [&["pool", "--help"][..], &["pool", "-h"], &["help", "pool"]] {
        let out = e.pls(args);
        out.code(0);
        assert!(
            out.stdout.contains("pool create"),
            "{args:?}: {}",
            out.show()
        );
    }
    e.pls(&["pool"]).code(2);
}

// ---------------------------------------------------------------------------------------------
// the program's name, first-release command names
// ---------------------------------------------------------------------------------------------

#[test]
fn the_program_names_itself_as_invoked_in_help_usage_lines_and_hints() {
    let e = env("program_name");
    e.create("p", "64K");
    for (bin, name) in [(PLS, "pls"), (PLASMITE, "plasmite")] {
        let other = if name == "pls" { "plasmite " } else { "pls " };
        let out = run(e.cmd_of(bin, &["--help"]), None);
        out.code(0);
        assert!(
            out.stdout.contains(&format!("Usage: {name} [--dir")),
            "{}",
            out.show()
        );
        assert!(
            out.stdout
                .contains(&format!("Run `{name} <COMMAND> --help`")),
            "{}",
            out.show()
        );
        assert!(!out.stdout.contains(other), "{}", out.show());
        let out = run(e.cmd_of(bin, &["follow", "--help"]), None);
        assert!(
            out.stdout.contains(&format!("Usage: {name} follow <POOL>")),
            "{}",
            out.show()
        );
        assert!(
            out.stdout
                .contains(&format!("  {name} follow chat --tail 10")),
            "the example\n{}",
            out.show()
        );
        let err = run(e.cmd_of(bin, &["fetch", "--bogus"]), None).fails(2, "Usage");
        assert_eq!(str_of(&err, "hint"), format!("Try `{name} fetch --help`."));
        let out = run(e.cmd_of(bin, &["fetch"]), None);
        assert!(
            out.stderr
                .contains(&format!("\nUsage: {name} fetch <POOL> <SEQ>")),
            "{}",
            out.show()
        );
        let err = run(e.cmd_of(bin, &["pool", "info", "ghost"]), None).fails(3, "NotFound");
        assert!(
            str_of(&err, "hint").contains(&format!("{name} pool create ghost")),
            "{err:?}"
        );
        let err = run(e.cmd_of(bin, &["feed", "ghost", "{}"]), None).fails(3, "NotFound");
        assert!(
            str_of(&err, "hint").contains(&format!(": {name} --dir ")),
            "the retry command runs the same program\n{err:?}"
        );
        let err = run(e.cmd_of(bin, &["fetch", "p", "9"]), None).fails(3, "NotFound");
        assert!(
            str_of(&err, "hint").contains(&format!("{name} pool info p")),
            "{err:?}"
        );
    }
}

#[test]
fn the_program_name_is_argv0s_file_name_else_the_binarys_own() {
    use std::os::unix::process::CommandExt;
    let e = env("program_argv0");
    for (bin, argv0, name) in [
        (PLS, "my-pools", "my-pools"),
        (PLS, "/opt/tools/bin/plasmite", "plasmite"),
        (PLASMITE, "./pls", "pls"),
        (PLS, "", "pls"),
        (PLASMITE, "", "plasmite"),
    ] {
        let mut c = e.cmd_of(bin, &["--help"]);
        c.arg0(argv0);
        let out = run(c, None);
        out.code(0);
        assert!(
            out.stdout.contains(&format!("\nUsage: {name} [--dir")),
            "argv[0] {argv0:?}\n{}",
            out.show()
        );
    }
}

#[test]
fn pool_delete_text_when_piped_says_ok_and_err_like_pool_list() {
    let e = env("delete_text");
    e.create("a", "64K");
    let out = e.pls(&["pool", "delete", "a", "ghost"]);
    out.code(3);
    let lines = out.lines();
    assert_eq!(lines.len(), 3, "{}", out.show());
    let head: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(head, ["NAME", "STATUS", "PATH", "DETAIL"]);
    let a: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(a[..2], ["a", "OK"], "{}", out.show());
    assert!(
        a[2].ends_with("a.plasmite") && a[3] == "-",
        "{}",
        out.show()
    );
    let ghost: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(ghost[..2], ["ghost", "ERR"], "{}", out.show());
    assert!(
        lines[2].contains("NotFound: "),
        "DETAIL is `KIND: message`, as in pool list\n{}",
        out.show()
    );
}

#[test]
fn doctor_all_on_a_terminal_shows_each_pools_message_and_issue_counts() {
    let e = env("doctor_all_tty");
    e.create("good", "64K");
    for i in 0..3 {
        e.feed("good", &format!("{{\"i\":{i}}}"), &[]);
    }
    e.create("empty", "64K");
    e.copy_ref("corrupt-frame");
    let out = e.tty(&["doctor", "--all"], &[("NO_COLOR", "1")]);
    out.code(7);
    let lines: Vec<&str> = out.stdout.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 4, "{}", out.show());
    assert_eq!(lines[0], "1 of 3 pools unhealthy.", "{}", out.show());
    let row = |name: &str| {
        *lines
            .iter()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no row for {name}\n{}", out.show()))
    };
    let good = row("good");
    assert!(good.contains('✓'), "{}", out.show());
    assert!(good.contains("3 messages (seq 1..3)"), "{}", out.show());
    assert!(good.contains("0 issues"), "{}", out.show());
    let empty = row("empty");
    assert!(
        empty.contains("0 messages") && empty.contains("0 issues"),
        "{}",
        out.show()
    );
    let bad = row("corrupt-frame");
    assert!(bad.contains('✗'), "{}", out.show());
    assert!(bad.contains("1 issue "), "{}", out.show());
    assert!(
        bad.contains("run `pls doctor corrupt-frame`"),
        "{}",
        out.show()
    );
    // The columns line up: each count starts at the same place on every row.
    let at = |l: &str, what: &str| l.find(what).map(|b| l[..b].chars().count());
    assert_eq!(
        at(good, "3 messages"),
        at(empty, "0 messages"),
        "{}",
        out.show()
    );
}

/// Starts `pls ARGS…` (a follower that does not end by itself), then runs `poke` every 20 ms
/// until the follower's output contains `want`; returns that output.
fn peek_sees(e: &Env, args: &[&str], poke: &[&str], want: &str) -> String {
    use std::io::Read;
    use std::sync::{Arc, Mutex};
    let mut cmd = e.cmd(args);
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().unwrap();
    let buf = Arc::clone(&seen);
    let reader = std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut chunk) {
            buf.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
        if text.contains(want) || std::time::Instant::now() > deadline {
            break text;
        }
        e.pls(poke).code(0);
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    assert!(
        text.contains(want),
        "`{args:?}` never printed {want}:\n{text}"
    );
    text
}

#[test]
fn first_release_names_poke_peek_and_get_run_the_0_1_readme_examples() {
    let e = env("readme_0_1");
    // The opening example.
    let r = e
        .pls(&[
            "poke",
            "chat",
            "--create",
            r#"{"from": "alice", "msg": "hello bob"}"#,
        ])
        .code(0)
        .json();
    assert_receipt(&r, 1, &[]);
    let r = e
        .pls(&["poke", "chat", r#"{"from": "alice", "msg": "you there?"}"#])
        .code(0)
        .json();
    assert_receipt(&r, 2, &[]);
    let m = e.pls(&["get", "chat", "1"]).code(0).json();
    assert_envelope(&m, 1, &json!({"from": "alice", "msg": "hello bob"}), &[]);
    peek_sees(
        &e,
        &["peek", "chat"],
        &["poke", "chat", r#"{"from": "alice", "msg": "you there?"}"#],
        "you there?",
    );
    // Watch your CI from the couch.
    e.pls(&[
        "poke",
        "build",
        "--create",
        r#"{"step": "compile", "status": "running"}"#,
    ])
    .code(0);
    peek_sees(
        &e,
        &["peek", "build"],
        &["poke", "build", r#"{"step": "test", "status": "running"}"#],
        r#""step": "test""#,
    );
    // Gate one script on another: the gate waits for the green message, then exits 0.
    e.create("ci", "1M");
    let gate = e.cmd(&[
        "peek",
        "ci",
        "--where",
        r#".data.status == "green""#,
        "--one",
    ]);
    let (mut child, started) = spawn(gate, false);
    let mut n = 0;
    while child.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(5) {
        n += 1;
        let status = if n < 3 { "red" } else { "green" };
        let data = format!(r#"{{"status": "{status}", "commit": "abc123"}}"#);
        e.pls(&["poke", "ci", "--create", &data]).code(0);
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = finish(child, None, "peek ci --one".into(), started);
    assert_eq!(out.code(0).json_stream()[0]["data"]["status"], "green");
    // Funnel streams into one place: an event stream, and RFC 7464 JSON text sequences.
    e.pls_in(
        &["poke", "events", "--create"],
        "data: {\"sensor\": \"temp\", \"value\": 23.5}\n\n",
    )
    .code(0);
    assert_eq!(e.fetch("events", 1)["data"]["value"], 23.5);
    e.pls_in(
        &["poke", "syslog", "--create"],
        "\u{1e}{\"MESSAGE\":\"a\"}\n\u{1e}{\"MESSAGE\":\"b\"}\n",
    )
    .code(0);
    assert_eq!(e.fetch("syslog", 2)["data"]["MESSAGE"], "b");
    // Filter, tag, replay.
    e.create("incidents", "1M");
    let r = e
        .pls(&[
            "poke",
            "incidents",
            "--tag",
            "sev1",
            "--tag",
            "billing",
            r#"{"msg": "payment gateway timeout"}"#,
        ])
        .code(0)
        .json();
    assert_receipt(&r, 1, &["sev1", "billing"]);
    let poke = [
        "poke",
        "incidents",
        "--tag",
        "sev1",
        r#"{"msg": "second timeout"}"#,
    ];
    peek_sees(
        &e,
        &["peek", "incidents", "--tag", "sev1"],
        &poke,
        "second timeout",
    );
    peek_sees(
        &e,
        &[
            "peek",
            "incidents",
            "--where",
            r#".data.msg | test("timeout")"#,
        ],
        &poke,
        "second timeout",
    );
    let out = e.pls(&["peek", "incidents", "--since", "1h", "--replay", "10"]);
    let replayed = out.code(0).json_stream();
    assert!(replayed.len() >= 2, "{}", out.show());
    assert_eq!(replayed[0]["data"]["msg"], "payment gateway timeout");
}

#[test]
fn help_lists_the_first_release_names_as_aliases() {
    let e = env("help_aliases");
    let out = e.pls(&["--help"]);
    for (command, alias) in [("feed", "poke"), ("fetch", "get"), ("follow", "peek")] {
        let line = out
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(command))
            .unwrap_or_else(|| panic!("no {command} line\n{}", out.show()));
        assert!(line.ends_with(&format!("(alias: {alias})")), "{line}");
        let by_alias = e.pls(&[alias, "--help"]);
        let by_name = e.pls(&[command, "--help"]);
        assert_eq!(by_alias.code(0).stdout, by_name.stdout);
        assert!(
            by_name.stdout.contains(&format!("Aliases: {alias}\n")),
            "{}",
            by_name.show()
        );
        assert_eq!(e.pls(&["help", alias]).code(0).stdout, by_name.stdout);
    }
}

// ---------------------------------------------------------------------------------------------
// flag look-ups
// ---------------------------------------------------------------------------------------------

/// `(long, placeholder)` of each flag in the `Options:` of `pls COMMAND --help`.
fn help_flags(e: &Env, command: &[&str]) -> Vec<(String, Option<String>)> {
    let mut args = command.to_vec();
    args.push("--help");
    let out = e.pls(&args);
    out.code(0);
    let options = out
        .stdout
        .split("Options:\n")
        .nth(1)
        .expect("an Options section");
    options
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| {
            let at = l.find("--")?;
            let mut words = l[at + 2..].split_whitespace();
            let long = words.next()?.to_owned();
            let value = words
                .next()
                .filter(|w| w.starts_with('<'))
                .map(|w| w.trim_matches(['<', '>']).to_owned());
            Some((long, value))
        })
        .collect()
}

/// A value each command accepts for a flag with this placeholder.
fn sample_value(placeholder: &str, dir: &str) -> String {
    match placeholder.split('|').next().unwrap_or_default() {
        "N" => "1".into(),
        "SPEED" => "0".into(),
        "SIZE" => "1M".into(),
        "DUR" => "1ms".into(),
        "WHEN" => "1h".into(),
        "PATH" => "/dev/null".into(),
        "EXPR" => "true".into(),
        "TPL" => "{{ seq }}".into(),
        "DIR" => dir.into(),
        "MODE" => "jsonl".into(),
        first => first.into(),
    }
}

/// Every command run with each of its flags in turn (as `--help` lists them) gets past every
/// flag look-up its code makes: a debug build stops with a panic (exit 101) at a look-up of a
/// flag the command does not declare, so a misspelt or moved flag cannot go unnoticed.
#[test]
fn every_flag_of_every_command_is_looked_up_by_a_name_its_command_declares() {
    let e = env("flag_lookups");
    e.create("p", "1M");
    e.feed("p", "{\"a\":1}", &["t"]);
    let overview = e.pls(&["--help"]);
    let commands: Vec<Vec<&str>> = overview
        .stdout
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands section")
        .lines()
        .take_while(|l| !l.is_empty())
        // `  NAME…` padded to 14 columns, then the description.
        .map(|l| l.get(..16).unwrap_or(l).split_whitespace().collect())
        .collect();
    assert!(commands.len() >= 13, "{}", overview.show());
    let mut runs = 0;
    for (i, command) in commands.iter().enumerate() {
        let flags = help_flags(&e, command);
        let fresh = format!("n{i}");
        let positionals: Vec<&str> = match command[..] {
            ["pool", "create"] | ["pool", "delete"] => vec![&fresh],
            ["pool", "list"] | ["mcp"] | ["version"] => vec![],
            ["pool", "info"] | ["doctor"] | ["follow"] | ["duplex"] => vec!["p"],
            ["feed"] => vec!["p", "{\"b\":2}"],
            ["fetch"] => vec!["p", "1"],
            ["tap"] => vec!["p"],
            ["completion"] => vec!["bash"],
            // `check` validates without binding, so no server is left running.
            ["serve"] => vec!["check"],
            // Nothing listens on port 1: every look-up happens before the connection fails.
            ["bridge", "out"] => vec!["p", "nats://127.0.0.1:1", "--stream", "S"],
            ["bridge", "in"] => vec!["nats://127.0.0.1:1", "p", "--stream", "S"],
            _ => panic!("no sample arguments for {command:?}: add them here"),
        };
        for set in std::iter::once(None).chain(flags.iter().map(Some)) {
            let mut args: Vec<String> = command.iter().map(|w| (*w).to_owned()).collect();
            args.extend(positionals.iter().map(|p| (*p).to_owned()));
            if let Some((long, value)) = set {
                if long == "help" {
                    continue;
                }
                args.push(format!("--{long}"));
                if let Some(v) = value {
                    args.push(sample_value(v, e.dir_str()));
                }
            }
            // Nothing may wait: followers time out at once, tap runs `true`.
            let waits = matches!(command[..], ["follow"] | ["duplex"]);
            if waits && !args.iter().any(|a| a == "--timeout") {
                args.extend(["--timeout".to_owned(), "1ms".to_owned()]);
            }
            if command[..] == ["tap"] {
                args.extend(["--".to_owned(), "true".to_owned()]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = e.pls_in(&args, "");
            runs += 1;
            assert_ne!(out.code, 101, "a panic\n{}", out.show());
            assert!(!out.stderr.contains("does not declare"), "{}", out.show());
        }
    }
    assert!(runs > 60, "every flag of every command ran: {runs} runs");
}
