//! `pls completion bash|zsh|fish|elvish|powershell`: shell completion scripts generated from the
//! command table.
//!
//! Role: turns [`crate::args::COMMANDS`] and [`crate::args::GLOBAL_FLAGS`] — the same table the
//! parser reads — into a description of every command, flag and positional, and renders it
//! through one minijinja template per shell (`completion/*.jinja`). The shells differ only in
//! syntax; what is offered comes from here.
//!
//! # Invariants
//! - Every command, alias and flag in the table appears in every script (a unit test checks
//!   each command's block), so a new flag cannot be forgotten.
//! - An alias (`poke`) completes exactly as the command it names (`feed`).
//! - Flag values offer their `choices`; `PATH` values complete files, `DIR` values directories;
//!   `POOL`/`NAME` positionals complete the pool names in the pool directory (`--dir` if given
//!   on the line).
//! - Help text is escaped for the shell quoting it lands in.
//!
//! Spec: `spec/CLI.md` §2.12.

use crate::args::{COMMANDS, Command, Flag, GLOBAL_FLAGS, Matches, Positional, usage};
use crate::ui::Ui;
use minijinja::Value;
use plasmite_os::{Error, ErrorKind};
use std::collections::BTreeMap;

const BASH: &str = include_str!("completion/bash.jinja");
const ZSH: &str = include_str!("completion/zsh.jinja");
const FISH: &str = include_str!("completion/fish.jinja");
const ELVISH: &str = include_str!("completion/elvish.jinja");
const POWERSHELL: &str = include_str!("completion/powershell.jinja");

/// Runs `completion`.
pub fn run(m: &Matches, ui: &Ui) -> Result<u8, Error> {
    let shell = m.positional(0).unwrap_or_default();
    let script = script(shell).ok_or_else(|| {
        usage(format!("unsupported shell '{shell}'"), Some(m.command))
            .with_hint("Use bash, zsh, fish, elvish or powershell.")
    })??;
    ui.print(script.as_bytes())?;
    Ok(0)
}

/// The completion script for `shell`, or `None` for a shell we do not support.
pub fn script(shell: &str) -> Option<Result<String, Error>> {
    let template = match shell {
        "bash" => BASH,
        "zsh" => ZSH,
        "fish" => FISH,
        "elvish" => ELVISH,
        "powershell" => POWERSHELL,
        _ => return None,
    };
    let mut env = minijinja::Environment::new();
    env.add_filter("zsh", |s: String| zsh_escape(&s));
    env.add_filter("fish", |s: String| fish_escape(&s));
    env.add_filter("quote", |s: String| single_quote(&s));
    Some(
        env.render_str(template, context())
            .map(|s| s + "\n")
            .map_err(|e| Error::new(ErrorKind::Internal, format!("completion template: {e}"))),
    )
}

fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::from(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<BTreeMap<String, Value>>(),
    )
}

/// Everything the templates read.
fn context() -> Value {
    let mut top = Vec::new();
    let mut groups: Vec<(&str, Vec<&Command>)> = Vec::new();
    for c in COMMANDS {
        match c.path {
            [word] => {
                top.push(obj([("word", (*word).into()), ("about", c.about.into())]));
                for alias in c.aliases {
                    let about = format!("alias of {word}");
                    top.push(obj([("word", (*alias).into()), ("about", about.into())]));
                }
            }
            [group, ..] => match groups.iter_mut().find(|(g, _)| g == group) {
                Some((_, subs)) => subs.push(c),
                None => {
                    groups.push((group, vec![c]));
                    let about = format!("{group} subcommands");
                    top.push(obj([("word", (*group).into()), ("about", about.into())]));
                }
            },
            [] => {}
        }
    }
    top.push(obj([
        ("word", "help".into()),
        ("about", "print help for a command".into()),
    ]));
    let group_values: Vec<Value> = groups
        .iter()
        .map(|(word, subs)| {
            let names: Vec<&str> = subs.iter().filter_map(|c| c.path.last().copied()).collect();
            let subs: Vec<Value> = subs
                .iter()
                .map(|c| {
                    obj([
                        ("word", c.path.last().copied().unwrap_or_default().into()),
                        ("about", c.about.into()),
                        ("func", func(c).into()),
                    ])
                })
                .collect();
            obj([
                ("word", (*word).into()),
                ("subwords", names.join(" ").into()),
                ("subs", subs.into()),
            ])
        })
        .collect();
    let group_words: Vec<&str> = groups.iter().map(|(w, _)| *w).collect();
    obj([
        (
            "globals",
            GLOBAL_FLAGS.iter().map(flag).collect::<Vec<_>>().into(),
        ),
        ("global_words", flag_words(GLOBAL_FLAGS).into()),
        ("top_words", top_words().into()),
        ("top", top.into()),
        ("groups", group_values.into()),
        ("group_words", group_words.join(" ").into()),
        ("aliases", aliases().into()),
        (
            "commands",
            COMMANDS.iter().map(command).collect::<Vec<_>>().into(),
        ),
    ])
}

/// `{alias, command}` for every alias, which each script turns into its command's word.
fn aliases() -> Vec<Value> {
    COMMANDS
        .iter()
        .flat_map(|c| {
            c.aliases
                .iter()
                .map(|a| obj([("alias", (*a).into()), ("command", c.path.join(" ").into())]))
        })
        .collect()
}

/// The words that may follow the global flags: command words, each followed by its aliases.
fn top_words() -> String {
    let mut words: Vec<&str> = Vec::new();
    for c in COMMANDS {
        if let Some(w) = c.path.first()
            && !words.contains(w)
        {
            words.push(w);
            words.extend(c.aliases);
        }
    }
    words.push("help");
    words.join(" ")
}

/// A shell-function-safe name for a command (`pool_create`).
fn func(c: &Command) -> String {
    c.path.join("_").replace('-', "_")
}

fn flag_words(flags: &[Flag]) -> String {
    let mut words = Vec::new();
    for f in flags {
        if let Some(s) = f.short {
            words.push(format!("-{s}"));
        }
        words.push(format!("--{}", f.long));
    }
    words.join(" ")
}

fn is_file(f: &Flag) -> bool {
    f.value == Some("PATH")
}

fn is_dir(f: &Flag) -> bool {
    f.value == Some("DIR")
}

/// Whether positional `p` of `c` names an existing pool (`pool create` names new ones).
fn is_pool(c: &Command, p: &Positional) -> bool {
    p.name == "POOL" || (p.name == "NAME" && c.path != ["pool", "create"])
}

fn flag(f: &Flag) -> Value {
    let names = match f.short {
        Some(s) => format!("-{s}|--{}", f.long),
        None => format!("--{}", f.long),
    };
    obj([
        ("long", f.long.into()),
        ("short", f.short.map(String::from).into()),
        ("value", f.value.is_some().into()),
        ("names", names.into()),
        ("choices", f.choices.join(" ").into()),
        ("file", is_file(f).into()),
        ("dir", is_dir(f).into()),
        ("help", f.help.into()),
        ("zsh", zsh_flag(f).into()),
        ("kind", kind(f).into()),
        ("choice_list", quoted(f.choices).into()),
    ])
}

/// What a flag's value completes to, beyond its choices: `file`, `dir` or nothing.
fn kind(f: &Flag) -> &'static str {
    if is_file(f) {
        "file"
    } else if is_dir(f) {
        "dir"
    } else {
        ""
    }
}

fn command(c: &Command) -> Value {
    let choices: Vec<&str> = c
        .positionals
        .iter()
        .flat_map(|p| p.choices.iter().copied())
        .collect();
    obj([
        ("key", c.path.join(" ").into()),
        ("func", func(c).into()),
        ("top", (c.path.len() == 1).into()),
        ("flags", c.flags.iter().map(flag).collect::<Vec<_>>().into()),
        ("flag_words", flag_words(c.flags).into()),
        ("pools", c.positionals.iter().any(|p| is_pool(c, p)).into()),
        ("choices", choices.join(" ").into()),
        ("trailing", c.positionals.iter().any(|p| p.trailing).into()),
        ("zsh_positionals", zsh_positionals(c).into()),
        (
            "zsh_pattern",
            c.path
                .iter()
                .take(1)
                .chain(c.aliases)
                .copied()
                .collect::<Vec<_>>()
                .join("|")
                .into(),
        ),
        ("choice_list", quoted(&choices).into()),
    ])
}

/// An `_arguments` option spec: `'(-f --file)'{-f,--file}'[help]:PATH:_files'`.
fn zsh_flag(f: &Flag) -> String {
    let arg = match f.value {
        None => String::new(),
        Some(v) => {
            let action = if !f.choices.is_empty() {
                format!("({})", f.choices.join(" "))
            } else if is_file(f) {
                "_files".to_owned()
            } else if is_dir(f) {
                "_files -/".to_owned()
            } else {
                " ".to_owned()
            };
            format!(":{}:{action}", zsh_escape(v))
        }
    };
    let help = format!("[{}]{arg}'", zsh_escape(f.help));
    let star = if f.repeat { "*" } else { "" };
    match f.short {
        Some(s) if f.repeat => format!("'*'{{-{s},--{}}}'{help}", f.long),
        Some(s) => format!("'(-{s} --{l})'{{-{s},--{l}}}'{help}", l = f.long),
        None => format!("'{star}--{}{help}", f.long),
    }
}

/// `_arguments` positional specs: `'1:POOL:_pls_pools'`, `'*::COMMAND:_normal'`.
fn zsh_positionals(c: &Command) -> Vec<String> {
    c.positionals
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let action = if !p.choices.is_empty() {
                format!("({})", p.choices.join(" "))
            } else if is_pool(c, p) {
                "_pls_pools".to_owned()
            } else {
                " ".to_owned()
            };
            match (p.trailing, p.many, p.required) {
                (true, _, _) => format!("'*::{}:_normal'", p.name),
                (false, true, _) => format!("'*:{}:{action}'", p.name),
                (false, false, true) => format!("'{}:{}:{action}'", i + 1, p.name),
                (false, false, false) => format!("'{}::{}:{action}'", i + 1, p.name),
            }
        })
        .collect()
}

/// Text inside a single-quoted zsh word, also safe inside `_arguments`' `[…]` and `:…:`.
fn zsh_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\'' => out.push_str(r"'\''"),
            '[' | ']' | ':' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            _ => out.push(ch),
        }
    }
    out
}

/// A single-quoted elvish or PowerShell string: a quote inside is doubled.
fn single_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Each of `words` single-quoted for elvish and PowerShell.
fn quoted(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| single_quote(w)).collect()
}

/// Text inside a single-quoted fish word.
fn fish_escape(s: &str) -> String {
    s.replace('\\', r"\\").replace('\'', r"\'")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The part of `script` between `# command: KEY` and the next marker.
    fn block<'s>(script: &'s str, key: &str) -> &'s str {
        let marker = format!("# command: {key}\n");
        let start = script
            .find(&marker)
            .unwrap_or_else(|| panic!("no block for `{key}`"));
        let rest = &script[start + marker.len()..];
        let end = rest.find("# command: ").unwrap_or(rest.len());
        &rest[..end]
    }

    const SHELLS: [&str; 5] = ["bash", "zsh", "fish", "elvish", "powershell"];

    /// How `shell`'s script spells a flag's long name.
    fn long(shell: &str, name: &str) -> String {
        match shell {
            "fish" => format!("-l {name}"),
            "elvish" => format!("&long='{name}'"),
            "powershell" => format!("Long = '{name}'"),
            _ => format!("--{name}"),
        }
    }

    #[test]
    fn every_flag_of_every_command_is_in_its_block_for_every_shell() {
        for shell in SHELLS {
            let s = script(shell).unwrap().unwrap();
            for c in COMMANDS {
                let b = block(&s, &c.path.join(" "));
                for f in c.flags {
                    let long = long(shell, f.long);
                    assert!(
                        b.contains(&long),
                        "{shell}: {long} missing for {:?}",
                        c.path
                    );
                    if let Some(short) = f.short {
                        let short = match shell {
                            "fish" => format!("-s {short}"),
                            "elvish" => format!("&short='{short}'"),
                            "powershell" => format!("Short = '{short}'"),
                            _ => format!("-{short}"),
                        };
                        assert!(b.contains(&short), "{shell}: {short} missing");
                    }
                    for choice in f.choices {
                        assert!(b.contains(choice), "{shell}: {choice} missing");
                    }
                }
            }
            for f in GLOBAL_FLAGS {
                let long = long(shell, f.long);
                assert!(s.contains(&long), "{shell}: global {long} missing");
            }
        }
    }

    #[test]
    fn every_command_word_and_alias_is_offered() {
        for shell in SHELLS {
            let s = script(shell).unwrap().unwrap();
            for c in COMMANDS {
                for w in c.path.iter().chain(c.aliases) {
                    // How each script offers a word: a compgen list, `_describe` entries,
                    // `complete -a` lines.
                    let offered = match shell {
                        "bash" => s.split("compgen -W \"").skip(1).any(|list| {
                            let words = list.split('"').next().unwrap_or_default();
                            words.split_whitespace().any(|x| x == *w)
                        }),
                        "zsh" => s.contains(&format!("'{w}:")),
                        "elvish" => {
                            s.contains(&format!("[&word='{w}'")) || s.contains(&format!("'{w}'"))
                        }
                        "powershell" => {
                            s.contains(&format!("@{{ Word = '{w}'"))
                                || s.contains(&format!("'{w}'"))
                        }
                        _ => s.contains(&format!("-a {w} -d")),
                    };
                    assert!(offered, "{shell}: command word {w} is not offered");
                }
            }
        }
    }

    #[test]
    fn unknown_shell_is_none() {
        assert!(script("tcsh").is_none());
    }

    #[test]
    fn every_alias_completes_as_its_command_in_every_shell() {
        for shell in SHELLS {
            let s = script(shell).unwrap().unwrap();
            for c in COMMANDS {
                for a in c.aliases {
                    let command = c.path.join(" ");
                    let mapped = match shell {
                        "bash" => format!("{a}) cmd=\"{command}\" ;;"),
                        "zsh" => format!("{command}|{a})"),
                        "fish" => format!("case {a}\n                        set cmd[1] {command}"),
                        "elvish" => format!("&'{a}'='{command}'"),
                        _ => format!("'{a}' = '{command}'"),
                    };
                    assert!(s.contains(&mapped), "{shell}: {a} is not {command}");
                }
            }
        }
    }

    #[test]
    fn help_text_quotes_are_escaped() {
        assert_eq!(single_quote("it's"), "'it''s'");
        assert_eq!(zsh_escape("a'b[c]:d"), r"a'\''b\[c\]\:d");
        assert_eq!(fish_escape(r"it's \"), r"it\'s \\");
    }
}
