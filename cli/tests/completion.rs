//! Black-box tests of `pls completion`: each script is valid for its shell and, where the shell
//! can be driven non-interactively (bash, fish, elvish), offers commands, aliases, flags, flag
//! values and pool names. zsh, fish and elvish are checked when installed (CI installs them);
//! otherwise those checks say they were skipped. PowerShell's script is checked for its
//! structure, and parsed by `pwsh` where that exists.

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
t pls --dir {dir} peek ""
t pls poke x --dur
t pls --dir {dir} get ""
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
        "pool feed poke fetch get follow peek duplex tap doctor completion mcp serve bridge version help"
    );
    assert_eq!(lines[1], "alpha beta", "pool names from --dir");
    assert_eq!(lines[2], "--tail --tag");
    assert_eq!(lines[3], "fast flush");
    assert_eq!(lines[4], "auto always never");
    assert_eq!(lines[5], "create info list delete");
    assert_eq!(lines[6], "bash zsh fish elvish powershell");
    assert_eq!(lines[7], "--quiet");
    // Aliases complete as the commands they name.
    assert_eq!(lines[8], "alpha beta", "peek takes pool names");
    assert_eq!(lines[9], "--durability");
    assert_eq!(lines[10], "alpha beta", "get takes pool names");
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
    assert_eq!(
        complete("pls completion "),
        ["bash", "elvish", "fish", "powershell", "zsh"]
    );
    assert_eq!(complete("pls peek --ta"), ["--tag", "--tail"]);
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
    let err = e.pls(&["completion", "tcsh"]).fails(2, "Usage");
    assert!(str_of(&err, "message").contains("tcsh"));
    assert!(str_of(&err, "hint").contains("bash, zsh, fish, elvish or powershell"));
    let out = e.pls(&["completion"]);
    out.code(2);
    assert!(
        out.stderr.contains("Usage: pls completion <SHELL>"),
        "{}",
        out.show()
    );
}

#[test]
fn elvish_script_is_valid_and_completes_commands_aliases_flags_values_and_pools() {
    if !has("elvish") {
        eprintln!("elvish is not installed: skipped");
        return;
    }
    let e = env("completion_elvish");
    pools(&e);
    let path = script(&e, "elvish");
    let text = std::fs::read_to_string(&path).unwrap();
    // The editor's completion table exists only in an interactive shell: the test drives the
    // completer itself, from everything the script defines before registering it.
    let at = text
        .find("\n# Registration")
        .expect("the script registers its completer last");
    assert!(text[at..].contains("set edit:completion:arg-completer[pls] = $-pls-complete~"));
    assert!(text[at..].contains("set edit:completion:arg-completer[plasmite] = $-pls-complete~"));
    let mut driver = text[..at].to_owned();
    driver.push_str("\nfn t {|@w| echo (str:join ' ' [(-pls-complete $@w)]) }\n");
    let dir = e.dir_str().replace('\'', "''");
    for line in [
        "t pls ''".to_owned(),
        format!("t pls --dir '{dir}' follow ''"),
        format!("t pls --dir '{dir}' peek ''"),
        "t pls follow --ta".to_owned(),
        "t pls feed x --durability ''".to_owned(),
        "t pls --color ''".to_owned(),
        "t pls pool ''".to_owned(),
        "t pls completion ''".to_owned(),
        "t plasmite poke x --d".to_owned(),
    ] {
        driver.push_str(&line);
        driver.push('\n');
    }
    let driver_path = e.root.join("driver.elv");
    std::fs::write(&driver_path, driver).unwrap();
    let mut c = Command::new("elvish");
    c.arg(&driver_path).env("HOME", &e.home);
    let out = run(c, None);
    out.code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "pool feed poke fetch get follow peek duplex tap doctor completion mcp serve bridge version help",
        "{}",
        out.show()
    );
    assert_eq!(lines[1], "alpha beta", "pool names from --dir");
    assert_eq!(lines[2], "alpha beta", "an alias completes as its command");
    // elvish filters candidates by the typed prefix itself.
    let follow: Vec<&str> = lines[3].split(' ').collect();
    assert!(
        follow.contains(&"--tail") && follow.contains(&"--tag"),
        "{}",
        out.show()
    );
    assert_eq!(lines[4], "fast flush");
    assert_eq!(lines[5], "auto always never");
    assert_eq!(lines[6], "create info list delete");
    assert_eq!(lines[7], "bash zsh fish elvish powershell");
    assert!(
        lines[8].split(' ').any(|w| w == "--durability"),
        "{}",
        out.show()
    );
}

/// Whether every `(`/`)`, `{`/`}` and `[`/`]` of a PowerShell script pairs up, outside its
/// single-quoted strings (a quote doubled inside one), double-quoted strings and `#` comments.
fn powershell_brackets_balance(script: &str) -> Result<(), String> {
    let mut open: Vec<(char, usize)> = Vec::new();
    let mut chars = script.chars().peekable();
    let mut line = 1;
    while let Some(ch) = chars.next() {
        match ch {
            '\n' => line += 1,
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            '\'' => loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                    }
                    Some('\'') => break,
                    Some('\n') => line += 1,
                    Some(_) => {}
                    None => return Err(format!("unterminated string on line {line}")),
                }
            },
            '"' => loop {
                match chars.next() {
                    Some('`') => {
                        chars.next();
                    }
                    Some('"') => break,
                    Some('\n') => line += 1,
                    Some(_) => {}
                    None => return Err(format!("unterminated string on line {line}")),
                }
            },
            '(' | '{' | '[' => open.push((ch, line)),
            ')' | '}' | ']' => {
                let want = match ch {
                    ')' => '(',
                    '}' => '{',
                    _ => '[',
                };
                match open.pop() {
                    Some((o, _)) if o == want => {}
                    Some((o, at)) => {
                        return Err(format!("`{ch}` on line {line} closes `{o}` of line {at}"));
                    }
                    None => return Err(format!("unopened `{ch}` on line {line}")),
                }
            }
            _ => {}
        }
    }
    match open.pop() {
        Some((o, at)) => Err(format!("`{o}` of line {at} is never closed")),
        None => Ok(()),
    }
}

#[test]
fn powershell_script_is_well_formed_and_registers_for_both_names() {
    let e = env("completion_powershell");
    let path = script(&e, "powershell");
    let text = std::fs::read_to_string(&path).unwrap();
    if has("pwsh") {
        let mut c = Command::new("pwsh");
        c.args(["-NoProfile", "-NonInteractive", "-Command"]).arg(format!(
            "$e = $null; [void][System.Management.Automation.Language.Parser]::ParseFile({}, [ref]$null, [ref]$e); if ($e.Count) {{ $e; exit 1 }}",
            sh_quote(path.to_str().unwrap())
        ));
        run(c, None).code(0);
    } else {
        eprintln!("pwsh is not installed: checking the script's structure only");
    }
    powershell_brackets_balance(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(
        text.contains("Register-ArgumentCompleter -Native -CommandName 'pls', 'plasmite'"),
        "{text}"
    );
    for alias in ["'poke' = 'feed'", "'peek' = 'follow'", "'get' = 'fetch'"] {
        assert!(text.contains(alias), "{alias}");
    }
}

#[test]
fn the_bracket_check_catches_what_it_is_for() {
    assert!(powershell_brackets_balance("@{ a = @('x', 'y)') }").is_ok());
    assert!(powershell_brackets_balance("# (\n$x = \"(\"").is_ok());
    assert!(powershell_brackets_balance("@{ a = @('x' }").is_err());
    assert!(powershell_brackets_balance("'it''s (").is_err());
    assert!(powershell_brackets_balance("}").is_err());
}
