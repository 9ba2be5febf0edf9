//! Black-box tests of `pls completion`: each script is valid for its shell and, where the shell
//! can be driven non-interactively (bash, fish), offers commands, flags, flag values and pool
//! names. zsh and fish are checked when installed (CI installs them); otherwise those checks
//! say they were skipped.

mod common;

use common::*;
use std::process::Command;

fn has(shell: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {shell}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Writes `pls completion SHELL` to a file in the test's directory.
fn script(e: &Env, shell: &str) -> std::path::PathBuf {
    let out = e.pls(&["completion", shell]);
    out.code(0);
    let path = e.root.join(format!("completion.{shell}"));
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

/// A directory with pools `alpha` and `beta`.
fn pools(e: &Env) {
    e.create("alpha", "64K");
    e.create("beta", "64K");
}

#[test]
fn bash_script_is_valid_and_completes_commands_flags_values_and_pools() {
    let e = env("completion_bash");
    pools(&e);
    let path = script(&e, "bash");
    let driver = format!(
        r#"set -e
source {script}
t() {{ COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _pls; echo "${{COMPREPLY[*]}}"; }}
t pls ""
t pls --dir {dir} follow ""
t pls follow --ta
t pls feed x --durability ""
t pls --color ""
t pls pool ""
t pls completion ""
t plasmite tap x --q
"#,
        script = sh_quote(path.to_str().unwrap()),
        dir = sh_quote(e.dir_str()),
    );
    let syntax = run(
        {
            let mut c = Command::new("bash");
            c.arg("-n").arg(&path);
            c
        },
        None,
    );
    syntax.code(0);
    let mut c = Command::new("bash");
    c.args(["-c", &driver]);
    let out = run(c, None);
    out.code(0);
    let lines = out.lines();
    assert_eq!(
        lines[0],
        "pool feed fetch follow duplex tap doctor completion mcp version help"
    );
    assert_eq!(lines[1], "alpha beta", "pool names from --dir");
    assert_eq!(lines[2], "--tail --tag");
    assert_eq!(lines[3], "fast flush");
    assert_eq!(lines[4], "auto always never");
    assert_eq!(lines[5], "create info list delete");
    assert_eq!(lines[6], "bash zsh fish");
    assert_eq!(lines[7], "--quiet");
}

#[test]
fn zsh_script_is_valid_and_registers_for_both_names() {
    if !has("zsh") {
        eprintln!("zsh is not installed: skipped");
        return;
    }
    let e = env("completion_zsh");
    let path = script(&e, "zsh");
    let mut c = Command::new("zsh");
    c.arg("-n").arg(&path);
    run(c, None).code(0);
    let mut c = Command::new("zsh");
    c.arg("-fc").arg(format!(
        "autoload -U compinit; compinit -u -d {dump}; source {script}; \
         print -r -- ${{_comps[pls]}} ${{_comps[plasmite]}}; whence -w _pls_cmd_pool_create _pls_cmd_tap",
        dump = sh_quote(e.root.join("zcompdump").to_str().unwrap()),
        script = sh_quote(path.to_str().unwrap()),
    ));
    let out = run(c, None);
    out.code(0);
    assert_eq!(
        out.lines(),
        [
            "_pls _pls",
            "_pls_cmd_pool_create: function",
            "_pls_cmd_tap: function"
        ],
        "{}",
        out.show()
    );
}

#[test]
fn fish_script_is_valid_and_completes_commands_flags_values_and_pools() {
    if !has("fish") {
        eprintln!("fish is not installed: skipped");
        return;
    }
    let e = env("completion_fish");
    pools(&e);
    let path = script(&e, "fish");
    let mut c = Command::new("fish");
    c.arg("-n").arg(&path);
    run(c, None).code(0);
    let complete = |line: &str| -> Vec<String> {
        let mut c = Command::new("fish");
        c.env("HOME", &e.home).arg("-c").arg(format!(
            "source {}; complete -C {}",
            sh_quote(path.to_str().unwrap()),
            sh_quote(line)
        ));
        let out = run(c, None);
        out.code(0);
        out.lines()
            .iter()
            .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(complete("pls follow --ta"), ["--tag", "--tail"]);
    assert_eq!(
        complete(&format!("pls --dir {} follow ", e.dir_str())),
        ["alpha", "beta"]
    );
    assert_eq!(complete("pls pool "), ["create", "delete", "info", "list"]);
    assert_eq!(complete("plasmite feed x --durability "), ["fast", "flush"]);
    assert_eq!(complete("pls completion "), ["bash", "fish", "zsh"]);
    assert!(complete("pls ").contains(&"duplex".to_owned()));
    // After `tap … --`, the words there are a command line of their own, whatever came before.
    assert_eq!(complete("pls tap chat -- ech"), ["echo"]);
    assert_eq!(
        complete(&format!(
            "pls --dir {} tap chat --tag x -- ech",
            e.dir_str()
        )),
        ["echo"]
    );
}

#[test]
fn unknown_shell_is_a_usage_error_naming_the_shells() {
    let e = env("completion_unknown");
    let err = e.pls(&["completion", "powershell"]).fails(2, "Usage");
    assert!(str_of(&err, "message").contains("powershell"));
    assert!(str_of(&err, "hint").contains("bash, zsh or fish"));
    e.pls(&["completion"]).fails(2, "Usage");
}
