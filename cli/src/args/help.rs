//! Help text generated from the table: the overview, a command's help and its usage line.
//!
//! Spec: `spec/CLI.md` §1 (help).

use super::{COMMANDS, Command, Flag, GLOBAL_FLAGS, Positional, program};

/// The overview printed by `pls --help`.
pub fn overview() -> String {
    let p = program();
    let mut s = format!(
        "{p} — persistent JSON message pools\n\nUsage: {p} [--dir DIR] [--color WHEN] <COMMAND> [ARGS]\n\nCommands:\n"
    );
    for c in COMMANDS {
        s.push_str(&format!("  {:<14} {}", c.path.join(" "), c.about));
        if !c.aliases.is_empty() {
            s.push_str(&format!(" (alias: {})", c.aliases.join(", ")));
        }
        s.push('\n');
    }
    s.push_str("\nGlobal options (before the command):\n");
    for f in GLOBAL_FLAGS {
        s.push_str(&flag_line(f));
    }
    s.push_str(&format!(
        "\nFirst steps:\n  {p} feed chat --create '{{\"msg\":\"hi\"}}'   # append (creates ~/.plasmite/pools/chat.plasmite)\n  {p} follow chat                          # in another terminal: print new messages\n\nRun `{p} <COMMAND> --help` for a command's options.\n"
    ));
    s
}

fn flag_line(f: &Flag) -> String {
    let name = match (f.short, f.value) {
        (Some(s), Some(v)) => format!("-{s}, --{} <{v}>", f.long),
        (Some(s), None) => format!("-{s}, --{}", f.long),
        (None, Some(v)) => format!("    --{} <{v}>", f.long),
        (None, None) => format!("    --{}", f.long),
    };
    format!("  {name:<30} {}\n", f.help)
}

/// `Usage: pls feed <POOL> [DATA] [OPTIONS]`, without a newline.
pub fn usage_line(c: &Command) -> String {
    let mut line = format!("Usage: {} {}", program(), c.path.join(" "));
    let (trailing, plain): (Vec<&Positional>, Vec<&Positional>) =
        c.positionals.iter().partition(|p| p.trailing);
    for p in plain {
        let dots = if p.many { "..." } else { "" };
        if p.required {
            line.push_str(&format!(" <{}>{dots}", p.name));
        } else {
            line.push_str(&format!(" [{}]{dots}", p.name));
        }
    }
    if !c.flags.is_empty() {
        line.push_str(" [OPTIONS]");
    }
    for p in trailing {
        line.push_str(&format!(" -- <{}>...", p.name));
    }
    line
}

/// `pls <command> --help`.
pub fn command_help(c: &Command) -> String {
    let p = program();
    let mut s = format!("{p} {} — {}\n\n", c.path.join(" "), c.about);
    if !c.aliases.is_empty() {
        s.push_str(&format!("Aliases: {}\n\n", c.aliases.join(", ")));
    }
    s.push_str(&usage_line(c));
    s.push_str("\n\nOptions:\n");
    for f in c.flags {
        s.push_str(&flag_line(f));
    }
    s.push_str(&format!("\nExample:\n  {p} {}\n", c.example));
    s
}
