//! The command line's grammar: one table of commands, positionals and flags, and the lexopt
//! parser that reads `argv` against it.
//!
//! Role: everything that knows which flags exist. Help text is generated from [`COMMANDS`] and
//! [`GLOBAL_FLAGS`], and the command parser accepts exactly what [`COMMANDS`] lists, so a flag
//! cannot exist in one place and be missing from another (global flags are matched by hand). Commands turn the generic
//! [`Matches`] into their own plain argument structs.
//!
//! # Invariants
//! - Global flags (`--dir`, `--color`) come before the command, as in the reference.
//! - Every parse failure is a `Usage` error naming the fix (exit 2); nothing panics on input.
//! - Repeatable flags keep every value in order; other flags keep the last value given.
//! - A command's code asks [`Matches`] only for flags its table entry declares (or that of the
//!   command whose parser it reuses): a debug build panics at any other look-up, and the unit
//!   tests run every parser with each flag set in turn, so a misspelt name cannot go unnoticed.
//! - Help, usage lines and hints name the program as it was run ([`program`]).
//!
//! Spec: `spec/CLI.md` §1 (global behaviour).

mod help;
mod table;

pub use help::{command_help, overview, usage_line};
pub use table::{COMMANDS, GLOBAL_FLAGS};

use plasmite_os::{Error, ErrorKind};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A flag of a command.
#[derive(Debug)]
pub struct Flag {
    /// `--long` name, without dashes.
    pub long: &'static str,
    /// `-s` short name.
    pub short: Option<char>,
    /// The value's placeholder when the flag takes one.
    pub value: Option<&'static str>,
    /// The values a completion may offer (empty: free text or a file).
    pub choices: &'static [&'static str],
    /// One line of help.
    pub help: &'static str,
    /// Meant to be given more than once (every value is kept; completions keep offering it).
    pub repeat: bool,
}

/// A positional argument.
#[derive(Debug)]
pub struct Positional {
    /// Placeholder (`POOL`).
    pub name: &'static str,
    /// Must be given.
    pub required: bool,
    /// Takes every remaining value.
    pub many: bool,
    /// Takes every remaining argument verbatim, flags included (`tap POOL -- CMD…`).
    pub trailing: bool,
    /// The values a completion may offer (empty: free text).
    pub choices: &'static [&'static str],
}

/// A command (`feed`) or subcommand (`pool create`).
#[derive(Debug)]
pub struct Command {
    /// Words that select it (`["pool", "create"]`).
    pub path: &'static [&'static str],
    /// One line of help.
    pub about: &'static str,
    /// Positional arguments, in order.
    pub positionals: &'static [Positional],
    /// Flags.
    pub flags: &'static [Flag],
    /// A first-workflow example shown in `--help`, without the program name.
    pub example: &'static str,
    /// Other words that select it: the first release's names (`poke` for `feed`).
    pub aliases: &'static [&'static str],
    /// The path of the command whose argument parser this one reuses (`duplex` reads its
    /// flags with `follow`'s): look-ups of that command's flags are allowed and answer "not
    /// given" when this command does not declare them.
    pub parsed_with: &'static [&'static str],
}

/// How to color output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Color {
    /// Color when the stream is a terminal (and `NO_COLOR` is unset).
    #[default]
    Auto,
    /// Always color.
    Always,
    /// Never color.
    Never,
}

/// Options given before the command.
#[derive(Clone, Debug, Default)]
pub struct Global {
    /// `--dir`.
    pub dir: Option<PathBuf>,
    /// `--color`.
    pub color: Color,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    /// Print help (for a command, or the overview) on stdout and exit 0.
    Help(Option<&'static Command>),
    /// No command (`pls`, `pls pool`): print the overview on stderr and exit 2.
    Overview,
    /// A command without its required arguments: print the error, then the command's usage
    /// line, on stderr; exit 2.
    Incomplete(Error, &'static Command),
    /// `--version`: one plain line.
    Version,
    /// Run a command.
    Run(Matches),
}

/// The name the program was run as (`pls`, `plasmite`), for help, usage lines and hints.
static PROGRAM: OnceLock<String> = OnceLock::new();

/// Records the name this process was run as: the file name of `argv0` (without the platform's
/// executable suffix), else `fallback` (the binary's own name) when `argv0` is missing, empty
/// or not UTF-8. Only the first call counts.
pub fn set_program(argv0: Option<&OsStr>, fallback: &str) {
    let _ = PROGRAM.set(program_name(argv0, fallback));
}

fn program_name(argv0: Option<&OsStr>, fallback: &str) -> String {
    argv0
        .and_then(|a| Path::new(a).file_name())
        .and_then(OsStr::to_str)
        .map(|n| n.strip_suffix(std::env::consts::EXE_SUFFIX).unwrap_or(n))
        .filter(|n| !n.is_empty())
        .unwrap_or(fallback)
        .to_owned()
}

/// The name this process was run as (`pls` until [`set_program`] is called).
pub fn program() -> &'static str {
    PROGRAM.get().map_or("pls", String::as_str)
}

/// A command with the flags and positionals it was given.
///
/// Flag look-ups are checked against the command's table: asking for a flag the command does
/// not declare (a typo, or a flag moved to another command) is a bug that a debug build stops
/// at with a panic naming it, in every test that reaches the look-up; a release build answers
/// "not given".
#[derive(Debug)]
pub struct Matches {
    /// The command.
    pub command: &'static Command,
    flags: Vec<(&'static str, Option<String>)>,
    /// Positionals, in order.
    pub positionals: Vec<String>,
    /// How many flags came before the first positional (a subcommand word such as
    /// `serve check`); `None` without positionals.
    pub flags_before_positional: Option<usize>,
}

impl Matches {
    /// Whether `long` was given.
    pub fn has(&self, long: &str) -> bool {
        self.declared(long);
        self.flags.iter().any(|(f, _)| *f == long)
    }

    /// The last value of `long`.
    pub fn value(&self, long: &str) -> Option<&str> {
        self.declared(long);
        self.flags
            .iter()
            .rev()
            .find(|(f, _)| *f == long)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Every value of `long`, in order.
    pub fn values(&self, long: &str) -> Vec<&str> {
        self.declared(long);
        self.flags
            .iter()
            .filter(|(f, _)| *f == long)
            .filter_map(|(_, v)| v.as_deref())
            .collect()
    }

    /// The flags given before the first positional, and those given after it.
    #[cfg(feature = "serve")]
    pub fn flags_around_positional(&self) -> (Vec<&'static str>, Vec<&'static str>) {
        let split = self.flags_before_positional.unwrap_or(self.flags.len());
        let names = |fs: &[(&'static str, Option<String>)]| fs.iter().map(|(f, _)| *f).collect();
        (names(&self.flags[..split]), names(&self.flags[split..]))
    }

    /// Positional `i`.
    pub fn positional(&self, i: usize) -> Option<&str> {
        self.positionals.get(i).map(String::as_str)
    }

    /// Checks that `long` is a flag this command (or the command whose parser it reuses)
    /// declares.
    fn declared(&self, long: &str) {
        debug_assert!(
            may_look_up(self.command, long),
            "`{}` looks up --{long}, which its flag table does not declare",
            self.command.path.join(" ")
        );
    }
}

/// Whether a command's code may ask for flag `long`: its own flags, and those of the command
/// whose argument parser it reuses.
fn may_look_up(command: &Command, long: &str) -> bool {
    let declares = |c: &Command| c.flags.iter().any(|f| f.long == long);
    declares(command)
        || (!command.parsed_with.is_empty()
            && COMMANDS
                .iter()
                .any(|c| c.path == command.parsed_with && declares(c)))
}

/// A usage error with the standard hint for `command`.
pub fn usage(message: impl Into<String>, command: Option<&Command>) -> Error {
    let hint = match command {
        Some(c) => format!("Try `{} {} --help`.", program(), c.path.join(" ")),
        None => format!("Try `{} --help`.", program()),
    };
    Error::new(ErrorKind::Usage, message).with_hint(hint)
}

fn text(v: OsString, command: Option<&Command>) -> Result<String, Error> {
    v.into_string()
        .map_err(|v| usage(format!("argument is not valid UTF-8: {v:?}"), command))
}

/// The command `words` select: its path, or (for one word) one of its aliases.
fn find(words: &[String]) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| {
        c.path.iter().copied().eq(words.iter().map(String::as_str))
            || matches!(words, [w] if c.path.len() == 1 && c.aliases.contains(&w.as_str()))
    })
}

/// Whether `word` starts a command group (`pool`).
fn is_group(word: &str) -> bool {
    COMMANDS
        .iter()
        .any(|c| c.path.len() > 1 && c.path[0] == word)
}

/// Parses `args` (without the program name).
pub fn parse(args: Vec<OsString>) -> Result<(Global, Invocation), Error> {
    use lexopt::Arg;
    let mut global = Global::default();
    let mut p = lexopt::Parser::from_args(args);
    let lex = |e: lexopt::Error, c: Option<&Command>| usage(e.to_string(), c);
    // Global flags, then the command's words.
    let first = loop {
        match p.next().map_err(|e| lex(e, None))? {
            None => return Ok((global, Invocation::Overview)),
            Some(Arg::Long("dir")) => {
                global.dir = Some(PathBuf::from(p.value().map_err(|e| lex(e, None))?));
            }
            Some(Arg::Long("color")) => {
                let v = text(p.value().map_err(|e| lex(e, None))?, None)?;
                global.color = match v.as_str() {
                    "auto" => Color::Auto,
                    "always" => Color::Always,
                    "never" => Color::Never,
                    other => {
                        return Err(usage(
                            format!("invalid --color '{other}': use auto, always or never"),
                            None,
                        ));
                    }
                };
            }
            Some(Arg::Short('h') | Arg::Long("help")) => {
                return Ok((global, Invocation::Help(None)));
            }
            Some(Arg::Short('V') | Arg::Long("version")) => {
                return Ok((global, Invocation::Version));
            }
            Some(Arg::Value(v)) => break text(v, None)?,
            Some(other) => {
                return Err(usage(
                    format!("unexpected argument '{}'", describe(&other)),
                    None,
                ));
            }
        }
    };
    let mut words = vec![first];
    if words[0] == "help" {
        let mut rest = Vec::new();
        while let Some(arg) = p.next().map_err(|e| lex(e, None))? {
            if let Arg::Value(v) = arg {
                rest.push(text(v, None)?);
            }
        }
        // A command group (`help pool`) shows the overview, which lists its subcommands.
        if rest.is_empty() || (rest.len() == 1 && is_group(&rest[0])) {
            return Ok((global, Invocation::Help(None)));
        }
        return match find(&rest) {
            Some(c) => Ok((global, Invocation::Help(Some(c)))),
            None => Err(usage(format!("unknown command '{}'", rest.join(" ")), None)),
        };
    }
    if is_group(&words[0]) {
        match p.next().map_err(|e| lex(e, None))? {
            Some(Arg::Value(v)) => words.push(text(v, None)?),
            Some(Arg::Short('h') | Arg::Long("help")) => {
                return Ok((global, Invocation::Help(None)));
            }
            None => return Ok((global, Invocation::Overview)),
            Some(other) => {
                return Err(usage(
                    format!(
                        "'{}' needs a subcommand before '{}'",
                        words[0],
                        describe(&other)
                    ),
                    None,
                ));
            }
        }
    }
    let Some(command) = find(&words) else {
        return Err(usage(
            format!("unknown command '{}'", words.join(" ")),
            None,
        ));
    };
    let c = Some(command);
    let mut m = Matches {
        command,
        flags: Vec::new(),
        positionals: Vec::new(),
        flags_before_positional: None,
    };
    while let Some(arg) = p.next().map_err(|e| lex(e, c))? {
        let found = match &arg {
            Arg::Value(_) => None,
            Arg::Short('h') | Arg::Long("help") => {
                return Ok((global, Invocation::Help(c)));
            }
            Arg::Short(s) => command.flags.iter().find(|f| f.short == Some(*s)),
            Arg::Long(l) => command.flags.iter().find(|f| f.long == *l),
        };
        match (arg, found) {
            (Arg::Value(v), _) => {
                let trailing = command
                    .positionals
                    .get(m.positionals.len())
                    .is_some_and(|p| p.trailing);
                if m.positionals.is_empty() {
                    m.flags_before_positional = Some(m.flags.len());
                }
                m.positionals.push(text(v, c)?);
                if trailing {
                    // The wrapped command's own flags are its business.
                    for v in p.raw_args().map_err(|e| lex(e, c))? {
                        m.positionals.push(text(v, c)?);
                    }
                }
            }
            (_, Some(f)) if f.value.is_some() => {
                let v = p.value().map_err(|e| lex(e, c))?;
                m.flags.push((f.long, Some(text(v, c)?)));
            }
            (_, Some(f)) => m.flags.push((f.long, None)),
            (other, None) => {
                return Err(usage(
                    format!("unexpected argument '{}'", describe(&other)),
                    c,
                ));
            }
        }
    }
    check_extra(&m)?;
    if let Some(err) = missing(&m) {
        return Ok((global, Invocation::Incomplete(err, command)));
    }
    Ok((global, Invocation::Run(m)))
}

fn describe(arg: &lexopt::Arg<'_>) -> String {
    match arg {
        lexopt::Arg::Short(s) => format!("-{s}"),
        lexopt::Arg::Long(l) => format!("--{l}"),
        lexopt::Arg::Value(v) => v.to_string_lossy().into_owned(),
    }
}

fn check_extra(m: &Matches) -> Result<(), Error> {
    let spec = m.command.positionals;
    let many = spec.iter().any(|p| p.many);
    if !many && m.positionals.len() > spec.len() {
        let extra = &m.positionals[spec.len()];
        return Err(usage(
            format!("unexpected argument '{extra}'"),
            Some(m.command),
        ));
    }
    Ok(())
}

/// The error for the first required positional `m` lacks.
fn missing(m: &Matches) -> Option<Error> {
    let spec = m.command.positionals;
    let missing = spec.iter().skip(m.positionals.len()).find(|p| p.required)?;
    let mut err = usage(
        format!(
            "the following required arguments were not provided: <{}>",
            missing.name
        ),
        Some(m.command),
    );
    if m.command.path == ["follow"] {
        err = err.with_hint(format!(
            "Provide a pool ref, for example: `{} follow chat -n 1`.",
            program()
        ));
    }
    if missing.trailing {
        err = err.with_hint(format!(
            "Put the command after --, for example: `{} {}`.",
            program(),
            m.command.example
        ));
    }
    Some(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value a parser accepts for flag `f` (so it reads on to its next look-up).
    fn sample(f: &Flag) -> String {
        if let Some(c) = f.choices.first() {
            return (*c).to_owned();
        }
        match f.value.unwrap_or_default() {
            "N" | "SPEED" => "1",
            "SIZE" => "1M",
            "DUR" => "1s",
            "WHEN" => "1h",
            "PATH" => "-",
            "EXPR" => "true",
            _ => "x",
        }
        .to_owned()
    }

    /// Matches for `c` with every required positional and, when given, flag `set`.
    fn matches(c: &'static Command, set: Option<&'static Flag>) -> Matches {
        let positionals = c
            .positionals
            .iter()
            .map(|p| match p.name {
                "DATA" => "{}".to_owned(),
                "SEQ" => "1".to_owned(),
                "COMMAND" => "true".to_owned(),
                _ => p.choices.first().map_or("x", |c| c).to_owned(),
            })
            .collect();
        Matches {
            command: c,
            flags: set
                .map(|f| (f.long, f.value.map(|_| sample(f))))
                .into_iter()
                .collect(),
            positionals,
            flags_before_positional: None,
        }
    }

    /// Runs the argument parser the command's code runs, where it has one (the other commands
    /// read their few flags in `run`, which the black-box tests exercise).
    fn parse_as(m: &Matches) {
        match m.command.path {
            ["feed"] => drop(crate::cmd::feed::parse(m)),
            // `duplex` reads its flags with `follow`'s parser.
            ["follow"] | ["duplex"] => drop(crate::cmd::follow::parse(m)),
            ["tap"] => drop(crate::cmd::tap::parse(m)),
            _ => {}
        }
    }

    fn command(path: &[&str]) -> &'static Command {
        COMMANDS
            .iter()
            .find(|c| c.path == path)
            .expect("a command of the table")
    }

    #[test]
    fn every_parser_looks_up_only_flags_its_command_declares() {
        for c in COMMANDS {
            parse_as(&matches(c, None));
            for f in c.flags {
                parse_as(&matches(c, Some(f)));
            }
        }
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "`fetch` looks up --json, which its flag table does not declare")]
    fn looking_up_an_undeclared_flag_stops_a_debug_build() {
        matches(command(&["fetch"]), None).has("json");
    }

    #[test]
    fn a_command_may_look_up_the_flags_of_the_parser_it_reuses_and_no_others() {
        let duplex = command(&["duplex"]);
        assert!(may_look_up(duplex, "me"));
        assert!(
            may_look_up(duplex, "one"),
            "follow's flag, read by follow's parser"
        );
        assert!(!may_look_up(duplex, "json"));
        assert!(!may_look_up(command(&["follow"]), "me"));
        let m = matches(duplex, None);
        assert!(
            !m.has("one"),
            "a flag duplex does not declare is never given"
        );
    }

    #[test]
    fn the_table_is_consistent() {
        let mut words: Vec<&str> = Vec::new();
        for c in COMMANDS {
            if !c.parsed_with.is_empty() {
                command(c.parsed_with);
            }
            assert!(
                c.aliases.is_empty() || c.path.len() == 1,
                "{:?}: only top-level commands have aliases",
                c.path
            );
            let mut longs: Vec<&str> = c.flags.iter().map(|f| f.long).collect();
            longs.sort_unstable();
            longs.dedup();
            assert_eq!(longs.len(), c.flags.len(), "{:?}: a flag twice", c.path);
            for w in c.path.iter().take(1).chain(c.aliases) {
                if !words.contains(w) {
                    words.push(w);
                } else {
                    assert!(is_group(w), "{w} names two commands");
                }
            }
            assert!(!c.example.starts_with("pls "), "examples omit the program");
        }
    }

    #[test]
    fn aliases_select_their_command() {
        for (alias, path) in [("poke", "feed"), ("peek", "follow"), ("get", "fetch")] {
            let c = find(&[alias.to_owned()]).expect("alias");
            assert_eq!(c.path, [path]);
        }
        assert!(find(&["pool".to_owned(), "poke".to_owned()]).is_none());
    }

    #[test]
    fn the_program_name_is_argv0s_file_name_else_the_fallback() {
        let name = |a: Option<&str>| program_name(a.map(OsStr::new), "pls");
        assert_eq!(name(Some("plasmite")), "plasmite");
        assert_eq!(name(Some("/usr/local/bin/plasmite")), "plasmite");
        assert_eq!(name(Some("./pls")), "pls");
        assert_eq!(name(Some("")), "pls");
        assert_eq!(name(Some("/")), "pls");
        assert_eq!(name(None), "pls");
    }
}
