//! The one table of the command line: every command, its positionals, flags, examples and
//! aliases, and the global flags. The parser, the help text and the completion scripts all read
//! it, so a flag cannot exist in one place and be missing from another.
//!
//! Spec: `spec/CLI.md` §2 (commands).

use super::{Command, Flag, Positional};

/// The defaults of the fields most commands leave empty.
const PLAIN: Command = Command {
    path: &[],
    about: "",
    positionals: &[],
    flags: &[],
    example: "",
    aliases: &[],
    parsed_with: &[],
};

const fn flag(long: &'static str, help: &'static str) -> Flag {
    Flag {
        long,
        short: None,
        value: None,
        choices: &[],
        help,
        repeat: false,
    }
}

const fn opt(long: &'static str, value: &'static str, help: &'static str) -> Flag {
    Flag {
        long,
        short: None,
        value: Some(value),
        choices: &[],
        help,
        repeat: false,
    }
}

const fn short(mut f: Flag, c: char) -> Flag {
    f.short = Some(c);
    f
}

const fn repeat(mut f: Flag) -> Flag {
    f.repeat = true;
    f
}

const fn choices(mut f: Flag, c: &'static [&'static str]) -> Flag {
    f.choices = c;
    f
}

const fn pos(name: &'static str) -> Positional {
    Positional {
        name,
        required: true,
        many: false,
        trailing: false,
        choices: &[],
    }
}

const fn pos_opt(name: &'static str) -> Positional {
    Positional {
        required: false,
        ..pos(name)
    }
}

const fn pos_many(name: &'static str) -> Positional {
    Positional {
        many: true,
        ..pos(name)
    }
}

/// The server and credentials flags of `bridge out` and `bridge in`.
const NATS_TOKEN: Flag = opt(
    "token",
    "TOKEN",
    "NATS token (development; prefer --token-file)",
);
const NATS_TOKEN_FILE: Flag = opt("token-file", "PATH", "NATS token in this file");
const NATS_USER: Flag = opt("user", "USER", "NATS user (with --password-file)");
const NATS_PASSWORD_FILE: Flag = opt("password-file", "PATH", "NATS password in this file");
const NATS_NKEY_FILE: Flag = opt("nkey-file", "PATH", "NKey seed in this file");
const NATS_CREDS: Flag = opt("creds", "PATH", "NATS creds file (JWT and NKey seed)");
const NATS_TLS_CA: Flag = opt(
    "tls-ca",
    "PATH",
    "CA certificates (PEM) for the server's TLS",
);
const NATS_TLS_CERT: Flag = opt(
    "tls-cert",
    "PEM",
    "client certificate for TLS (with --tls-key)",
);
const NATS_TLS_KEY: Flag = opt("tls-key", "PEM", "client key for TLS");
const STREAM: Flag = opt("stream", "NAME", "the JetStream stream (required)");
const CATCH_UP: Flag = flag("catch-up", "bridge what is there when it starts, then exit");

const HELP: Flag = short(flag("help", "print help"), 'h');
const JSON: Flag = flag("json", "print JSON");
const DURABILITY: Flag = choices(
    opt(
        "durability",
        "fast|flush",
        "fast: return once written; flush: msync before returning",
    ),
    &["fast", "flush"],
);

/// Flags accepted before the command.
pub static GLOBAL_FLAGS: &[Flag] = &[
    opt(
        "dir",
        "DIR",
        "pool directory for named pools (default ~/.plasmite/pools)",
    ),
    choices(
        opt("color", "auto|always|never", "color output (default auto)"),
        &["auto", "always", "never"],
    ),
    HELP,
    short(flag("version", "print the version"), 'V'),
];

/// Every command.
pub static COMMANDS: &[Command] = &[
    Command {
        path: &["pool", "create"],
        about: "create pools",
        positionals: &[pos_many("NAME")],
        flags: &[
            opt(
                "size",
                "SIZE",
                "file size: bytes or 64K, 1M, 2G (default 1M)",
            ),
            opt(
                "index-capacity",
                "N",
                "index slots (default: automatic; 0 disables)",
            ),
            JSON,
            HELP,
        ],
        example: "pool create chat --size 8M",
        ..PLAIN
    },
    Command {
        path: &["pool", "info"],
        about: "show a pool's bounds, size and utilization",
        positionals: &[pos("NAME")],
        flags: &[
            JSON,
            opt("token", "TOKEN", "remote pools only"),
            opt("token-file", "PATH", "remote pools only"),
            opt("tls-ca", "PATH", "remote pools only"),
            flag("tls-skip-verify", "remote pools only"),
            HELP,
        ],
        example: "pool info chat --json",
        ..PLAIN
    },
    Command {
        path: &["pool", "list"],
        about: "list the pools in the pool directory",
        positionals: &[],
        flags: &[JSON, HELP],
        example: "pool list",
        ..PLAIN
    },
    Command {
        path: &["pool", "delete"],
        about: "delete pools",
        positionals: &[pos_many("NAME")],
        flags: &[JSON, HELP],
        example: "pool delete chat",
        ..PLAIN
    },
    Command {
        path: &["feed"],
        aliases: &["poke"],
        about: "append JSON messages to a pool",
        positionals: &[pos("POOL"), pos_opt("DATA")],
        flags: &[
            repeat(opt("tag", "TAG", "tag the messages (repeatable)")),
            short(
                opt("file", "PATH", "read records from a file (- for stdin)"),
                'f',
            ),
            short(
                choices(
                    opt("in", "MODE", "input format: auto, jsonl, json, seq, jq"),
                    &["auto", "jsonl", "json", "seq", "jq"],
                ),
                'i',
            ),
            short(
                choices(
                    opt(
                        "errors",
                        "stop|skip",
                        "on a bad record: stop (default) or skip it",
                    ),
                    &["stop", "skip"],
                ),
                'e',
            ),
            DURABILITY,
            flag("create", "create the pool if it is missing"),
            opt("create-size", "SIZE", "size of a pool made by --create"),
            opt("retry", "N", "retry a busy or interrupted append N times"),
            opt("retry-delay", "DUR", "delay between retries (default 50ms)"),
            opt("token", "TOKEN", "remote pools only"),
            opt("token-file", "PATH", "remote pools only"),
            opt("tls-ca", "PATH", "remote pools only"),
            flag("tls-skip-verify", "remote pools only"),
            HELP,
        ],
        example: "feed chat '{\"from\":\"alice\",\"msg\":\"hi\"}'",
        ..PLAIN
    },
    Command {
        path: &["fetch"],
        aliases: &["get"],
        about: "print one message by sequence number",
        positionals: &[pos("POOL"), pos("SEQ")],
        flags: &[
            opt("token", "TOKEN", "remote pools only"),
            opt("token-file", "PATH", "remote pools only"),
            opt("tls-ca", "PATH", "remote pools only"),
            flag("tls-skip-verify", "remote pools only"),
            HELP,
        ],
        example: "fetch chat 1",
        ..PLAIN
    },
    Command {
        path: &["follow"],
        aliases: &["peek"],
        about: "print new messages as they arrive",
        positionals: &[pos("POOL")],
        flags: &[
            short(
                opt("tail", "N", "first print the last N matching messages"),
                'n',
            ),
            opt(
                "since",
                "WHEN",
                "start at messages since 5m, 2h, 1d or an RFC 3339 time",
            ),
            flag("one", "exit after one message"),
            repeat(opt(
                "where",
                "EXPR",
                "jq predicate on the message (repeatable, all must hold)",
            )),
            repeat(opt(
                "tag",
                "TAG",
                "only messages with this tag (repeatable)",
            )),
            choices(
                opt("format", "pretty|jsonl", "output format (default pretty)"),
                &["pretty", "jsonl"],
            ),
            flag("jsonl", "one compact JSON message per line"),
            flag("data-only", "print only the data"),
            opt(
                "template",
                "TPL",
                "print each message through a template, e.g. '{{ seq }} {{ data.msg }}'",
            ),
            opt(
                "timeout",
                "DUR",
                "exit 124 when nothing arrives for DUR (e.g. 500ms, 5s)",
            ),
            opt(
                "replay",
                "SPEED",
                "replay history with its timing (with --tail or --since)",
            ),
            flag("create", "create the pool if it is missing"),
            flag("quiet-drops", "do not report dropped messages"),
            flag("no-notify", "poll instead of waiting for wake-ups"),
            opt("token", "TOKEN", "remote pools only"),
            opt("token-file", "PATH", "remote pools only"),
            opt("tls-ca", "PATH", "remote pools only"),
            flag("tls-skip-verify", "remote pools only"),
            HELP,
        ],
        example: "follow chat --tail 10",
        ..PLAIN
    },
    Command {
        path: &["duplex"],
        parsed_with: &["follow"],
        about: "follow a pool and send to it from one terminal",
        positionals: &[pos("POOL")],
        flags: &[
            opt(
                "me",
                "NAME",
                "your name: terminal lines are sent as {\"from\":NAME,\"msg\":LINE}",
            ),
            flag("echo-self", "also show your own messages"),
            flag("create", "create the pool if it is missing"),
            short(opt("tail", "N", "first print the last N messages"), 'n'),
            opt(
                "since",
                "WHEN",
                "start at messages since 5m, 2h, 1d or an RFC 3339 time",
            ),
            choices(
                opt("format", "pretty|jsonl", "output format (default pretty)"),
                &["pretty", "jsonl"],
            ),
            flag("jsonl", "one compact JSON message per line"),
            opt(
                "timeout",
                "DUR",
                "exit 124 when nothing arrives for DUR (e.g. 500ms, 5s)",
            ),
            opt("token", "TOKEN", "remote pools only"),
            opt("token-file", "PATH", "remote pools only"),
            opt("tls-ca", "PATH", "remote pools only"),
            flag("tls-skip-verify", "remote pools only"),
            HELP,
        ],
        example: "duplex chat --me alice",
        ..PLAIN
    },
    Command {
        path: &["tap"],
        about: "run a command and capture its output lines into a pool",
        positionals: &[
            pos("POOL"),
            Positional {
                many: true,
                trailing: true,
                ..pos("COMMAND")
            },
        ],
        flags: &[
            flag("create", "create the pool if it is missing"),
            opt("create-size", "SIZE", "size of a pool made by --create"),
            repeat(opt("tag", "TAG", "tag the captured lines (repeatable)")),
            short(flag("quiet", "do not pass the output through"), 'q'),
            DURABILITY,
            HELP,
        ],
        example: "tap build --create -- make test",
        ..PLAIN
    },
    Command {
        path: &["doctor"],
        about: "check pools for damage",
        positionals: &[pos_opt("POOL")],
        flags: &[flag("all", "check every pool in the directory"), JSON, HELP],
        example: "doctor chat",
        ..PLAIN
    },
    Command {
        path: &["completion"],
        about: "print a shell completion script",
        positionals: &[Positional {
            choices: &["bash", "zsh", "fish", "elvish", "powershell"],
            ..pos("SHELL")
        }],
        flags: &[HELP],
        example: "completion bash > ~/.local/share/bash-completion/completions/pls",
        ..PLAIN
    },
    Command {
        path: &["mcp"],
        about: "serve pools to AI agents over MCP (JSON-RPC on stdin/stdout)",
        positionals: &[],
        flags: &[
            opt("dir", "DIR", "pool directory (overrides the global --dir)"),
            HELP,
        ],
        example: "mcp --dir ./pools",
        ..PLAIN
    },
    Command {
        path: &["serve"],
        about: "serve pools over HTTP (and MCP over HTTP); `serve check` validates, `serve init` \
                creates a token and a TLS certificate",
        positionals: &[Positional {
            choices: &["check", "init"],
            ..pos_opt("ACTION|DIR")
        }],
        flags: &[
            opt(
                "bind",
                "ADDR",
                "socket address (default 127.0.0.1:9700; init: 0.0.0.0:9700)",
            ),
            opt(
                "port",
                "PORT",
                "port to listen on, at the default address (instead of --bind)",
            ),
            choices(
                opt(
                    "access",
                    "MODE",
                    "read-only, write-only or read-write (default)",
                ),
                &["read-only", "write-only", "read-write"],
            ),
            repeat(opt(
                "cors-origin",
                "ORIGIN",
                "allow this browser origin (repeatable)",
            )),
            opt("token", "TOKEN", "require this bearer token (development)"),
            opt(
                "token-file",
                "PATH",
                "require the bearer token in this file",
            ),
            opt("tls-cert", "PEM", "TLS certificate chain"),
            opt("tls-key", "PEM", "TLS private key"),
            flag(
                "tls-self-signed",
                "TLS with a certificate generated at start",
            ),
            flag(
                "allow-non-loopback",
                "allow binding addresses other than loopback",
            ),
            flag(
                "insecure-no-tls",
                "allow writes beyond loopback without TLS",
            ),
            opt(
                "max-body-bytes",
                "N",
                "request body limit (default 1048576)",
            ),
            opt(
                "max-tail-timeout-ms",
                "N",
                "longest and default tail (default 30000)",
            ),
            opt(
                "max-tail-concurrency",
                "N",
                "concurrent tails, MCP waits and storage operations (default 64)",
            ),
            opt("dir", "DIR", "pool directory (overrides the global --dir)"),
            JSON,
            opt(
                "output-dir",
                "DIR",
                "init: where to write the files (default .)",
            ),
            flag("force", "init: overwrite existing files"),
            HELP,
        ],
        example: "serve --bind 127.0.0.1:9700",
        ..PLAIN
    },
    Command {
        path: &["bridge", "out"],
        about: "publish a pool's messages to a NATS JetStream stream",
        positionals: &[pos("POOL"), pos("URL")],
        flags: &[
            STREAM,
            opt("subject-prefix", "P", "subjects are P.SOURCE (default pls)"),
            opt(
                "source",
                "NAME",
                "this pool's name in the stream (default: the pool's name)",
            ),
            flag("subject-tags", "add one subject token per tag"),
            flag(
                "allow-gap",
                "go on past messages overwritten before they were published",
            ),
            flag(
                "create-stream",
                "create the stream if it is missing, sized from the pool",
            ),
            opt(
                "window",
                "N",
                "publishes awaiting acknowledgement (default 4096)",
            ),
            CATCH_UP,
            NATS_TOKEN,
            NATS_TOKEN_FILE,
            NATS_USER,
            NATS_PASSWORD_FILE,
            NATS_NKEY_FILE,
            NATS_CREDS,
            NATS_TLS_CA,
            NATS_TLS_CERT,
            NATS_TLS_KEY,
            HELP,
        ],
        example: "bridge out events nats://127.0.0.1:4222 --stream EVENTS --create-stream",
        ..PLAIN
    },
    Command {
        path: &["bridge", "in"],
        about: "append a NATS JetStream stream's messages to a pool",
        positionals: &[pos("URL"), pos("POOL")],
        flags: &[
            STREAM,
            opt(
                "filter-subject",
                "S",
                "only messages on subjects matching S",
            ),
            opt("durable", "NAME", "the durable consumer (default pls-POOL)"),
            opt("batch", "N", "messages per pull (default 1024)"),
            flag("create", "create the pool if it is missing"),
            opt("create-size", "SIZE", "size of a pool made by --create"),
            CATCH_UP,
            NATS_TOKEN,
            NATS_TOKEN_FILE,
            NATS_USER,
            NATS_PASSWORD_FILE,
            NATS_NKEY_FILE,
            NATS_CREDS,
            NATS_TLS_CA,
            NATS_TLS_CERT,
            NATS_TLS_KEY,
            HELP,
        ],
        example: "bridge in nats://127.0.0.1:4222 --stream EVENTS all-events --create",
        ..PLAIN
    },
    Command {
        path: &["version"],
        about: "print the version",
        positionals: &[],
        flags: &[HELP],
        example: "version",
        ..PLAIN
    },
];
