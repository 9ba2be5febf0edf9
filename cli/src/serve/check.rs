//! `pls serve check` and the startup banner: what a configuration serves, where, and how a
//! client reaches it — as JSON for scripts, as text for people.
//!
//! Role: a checked [`Config`] in, words out. `check` proves a configuration would start (flags,
//! token file, TLS files) without binding; the banner says the same of a server that just
//! started, with the address it actually bound.
//!
//! # Invariants
//! - Nothing here prints a token: commands that need one read it from the token file
//!   (`$(cat FILE)`) or name a placeholder.
//! - `check` fails exactly when `pls serve` with the same options would fail before binding:
//!   it runs the same [`Config::from_matches`] and loads TLS with the same [`tls::load`].
//! - A certificate generated at start has no fingerprint worth showing before the server runs:
//!   `check` reports `null` (text: "generated at start"); the banner shows the real one.
//!
//! Spec: `spec/CLI.md` §2.14, `spec/HTTP.md` §2.

use super::config::{self, Config, Tls, TokenSource};
use super::tls;
use crate::args::{Matches, program};
use crate::ui::Ui;
use plasmite_os::Error;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

/// The pool name used in printed example commands.
pub const EXAMPLE_POOL: &str = "demo";

/// `serve check`: validates the options given before `check`; prints what they serve.
pub fn run(m: &Matches, ui: &Ui, dir: &Path) -> Result<u8, Error> {
    let config = Config::from_matches(m, dir)?;
    let loaded = tls::load(&config.tls, config.bind.ip())?;
    let fingerprint = match config.tls {
        Tls::Files { .. } => loaded.map(|l| l.fingerprint),
        Tls::Off | Tls::SelfSigned => None,
    };
    if m.has("json") || !ui.stdout_tty {
        ui.print(&ui.json(&json!({ "check": describe(&config, fingerprint.as_deref()) })))?;
    } else {
        ui.print(human(&config, fingerprint.as_deref(), &start_command(m)).as_bytes())?;
    }
    Ok(0)
}

/// The `check` object: every value a client or a script needs to know about the server.
pub fn describe(config: &Config, fingerprint: Option<&str>) -> Value {
    let base = config.base_url(config.bind);
    json!({
        "access": config.access.as_str(),
        "auth": config.auth_label(),
        "base_url": base,
        "cors_allowed_origins": config.cors,
        "limits": {
            "max_body_bytes": config.max_body_bytes,
            "max_tail_concurrency": config.max_concurrency,
            "max_tail_timeout_ms": u64::try_from(config.max_tail_timeout.as_millis())
                .unwrap_or(u64::MAX),
        },
        "listen": config.bind.to_string(),
        "mcp": format!("{base}/mcp"),
        "status": "valid",
        "tls": config.tls_label(),
        "tls_fingerprint": fingerprint,
        "web_ui": format!("{base}/ui"),
        "web_ui_pool": format!("{base}/ui/pools/{{pool}}"),
    })
}

/// `serve check` for people.
fn human(config: &Config, fingerprint: Option<&str>, start: &str) -> String {
    let base = config.base_url(config.bind);
    let mut s = String::from("Configuration valid.\n");
    let _ = writeln!(s, "  Bind:    {} {}", config.bind, reach(config.bind));
    let _ = writeln!(s, "  URL:     {base}");
    let _ = writeln!(s, "  Web UI:  {base}/ui");
    let _ = writeln!(s, "  MCP:     {base}/mcp");
    let _ = writeln!(s, "  Auth:    {}", config.auth_label());
    let _ = writeln!(s, "  TLS:     {}", config.tls_label());
    let _ = writeln!(s, "  Access:  {}", config.access.as_str());
    let _ = writeln!(s, "  CORS:    {}", cors_text(config));
    let _ = writeln!(s, "  Limits:  {}", limits_text(config));
    match (&config.tls, fingerprint) {
        (Tls::Off, _) => {}
        (_, Some(f)) => {
            let _ = writeln!(s, "  TLS fingerprint: {f}");
        }
        (_, None) => {
            let _ = writeln!(s, "  TLS fingerprint: generated at start");
        }
    }
    let _ = writeln!(s, "Start with: {start}");
    s
}

/// The banner `pls serve` prints on a terminal once it listens on `bound`; `token_file` is the
/// `--token-file` given, for the example commands.
pub fn banner(
    config: &Config,
    bound: SocketAddr,
    fingerprint: Option<&str>,
    token_file: Option<&str>,
) -> String {
    let base = config.base_url(bound);
    let mut s = String::new();
    let _ = writeln!(s, "Serving pools on {base} {}", reach(bound));
    let _ = writeln!(s, "  Pools: {}", config.dir.display());
    let _ = writeln!(s, "  UI:    {base}/ui");
    let _ = writeln!(s, "  MCP:   {base}/mcp");
    let auth = match config.token.as_ref().map(|t| t.source) {
        None => "none",
        Some(_) => "bearer token",
    };
    let tls = match config.tls {
        Tls::Off => "off",
        Tls::Files { .. } => "on",
        Tls::SelfSigned => "self-signed",
    };
    let _ = writeln!(
        s,
        "  Auth: {auth}    TLS: {tls}    Access: {}    CORS: {}",
        config.access.as_str(),
        cors_text(config)
    );
    if let Some(f) = fingerprint {
        let _ = writeln!(s, "  TLS fingerprint: {f}");
    }
    let examples = examples(config, &base, token_file);
    if !examples.is_empty() {
        let _ = writeln!(s, "\nTry it (pool `{EXAMPLE_POOL}` must exist):");
        for e in examples {
            let _ = writeln!(s, "  {e}");
        }
    }
    s.push_str("\nPress Ctrl-C to stop.\n");
    s
}

/// Example client commands for a running server, as far as its access mode allows.
fn examples(config: &Config, base: &str, token_file: Option<&str>) -> Vec<String> {
    let pls = program();
    let url = format!("{base}/{EXAMPLE_POOL}");
    let api = format!("{base}/v0/pools/{EXAMPLE_POOL}");
    let mut client = String::new();
    let mut curl = String::new();
    match config.token.as_ref().map(|t| t.source) {
        None => {}
        Some(TokenSource::File) => {
            let file = token_file.map_or_else(|| "TOKEN-FILE".to_owned(), shell_word);
            let _ = write!(client, " --token-file {file}");
            let _ = write!(curl, " -H \"Authorization: Bearer $(cat {file})\"");
        }
        Some(TokenSource::Flag) => {
            client.push_str(" --token YOUR-TOKEN");
            curl.push_str(" -H 'Authorization: Bearer YOUR-TOKEN'");
        }
    }
    match &config.tls {
        Tls::Off => {}
        Tls::Files { cert, .. } => {
            let cert = shell_word(&cert.display().to_string());
            let _ = write!(client, " --tls-ca {cert}");
            let _ = write!(curl, " --cacert {cert}");
        }
        Tls::SelfSigned => {
            // The certificate lives only in the server's memory: clients cannot pin it.
            client.push_str(" --tls-skip-verify");
            curl.push_str(" -k");
        }
    }
    let data = shell_word(r#"{"hello":"world"}"#);
    let body = shell_word(r#"{"data":{"hello":"world"}}"#);
    let mut out = Vec::new();
    if config.access.can_write() {
        out.push(format!("{pls} feed {url}{client} {data}"));
    }
    if config.access.can_read() {
        out.push(format!("{pls} follow {url}{client}"));
    }
    if config.access.can_write() {
        out.push(format!(
            "curl -sS{curl} -H 'Content-Type: application/json' -d {body} {api}/append"
        ));
    }
    if config.access.can_read() {
        out.push(format!("curl -sSN{curl} {api}/tail"));
    }
    out
}

/// Who can reach a server bound to `addr`.
fn reach(addr: SocketAddr) -> String {
    if config::is_loopback(addr.ip()) {
        "(loopback only)".to_owned()
    } else if addr.ip().is_unspecified() {
        "(all interfaces)".to_owned()
    } else {
        format!("(interface {})", addr.ip())
    }
}

fn cors_text(config: &Config) -> String {
    if config.cors.is_empty() {
        "same-origin".to_owned()
    } else {
        config.cors.join(", ")
    }
}

/// `body 1M, timeout 30s, concurrency 64`: sizes in the `--size` grammar's units.
pub fn limits_text(config: &Config) -> String {
    let ms = config.max_tail_timeout.as_millis();
    let timeout = if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    };
    format!(
        "body {}, timeout {timeout}, concurrency {}",
        size_text(config.max_body_bytes),
        config.max_concurrency
    )
}

fn size_text(n: u64) -> String {
    for (unit, shift) in [("G", 30), ("M", 20), ("K", 10)] {
        if n >= 1 << shift && n.is_multiple_of(1 << shift) {
            return format!("{}{unit}", n >> shift);
        }
    }
    n.to_string()
}

/// The `serve` command that starts what `check` validated: the serve options as given, with a
/// `--token` value replaced by a placeholder.
fn start_command(m: &Matches) -> String {
    let (before, _) = m.flags_around_positional();
    let mut words = vec![program().to_owned(), "serve".to_owned()];
    for f in m.command.flags {
        if !before.contains(&f.long) {
            continue;
        }
        if f.value.is_none() {
            words.push(format!("--{}", f.long));
            continue;
        }
        let values = if f.repeat {
            m.values(f.long)
        } else {
            m.value(f.long).into_iter().collect()
        };
        for v in values {
            words.push(format!("--{}", f.long));
            words.push(if f.long == "token" {
                "YOUR-TOKEN".to_owned()
            } else {
                shell_word(v)
            });
        }
    }
    words.join(" ")
}

/// `s` as one `sh` word: as it is when it holds only characters no shell treats specially,
/// else single-quoted.
pub fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ':' | '=' | '@' | ',' | '+' | '%')
        });
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_in_the_largest_exact_unit() {
        assert_eq!(size_text(1 << 20), "1M");
        assert_eq!(size_text(3 << 10), "3K");
        assert_eq!(size_text(2 << 30), "2G");
        assert_eq!(size_text(1500), "1500");
        assert_eq!(size_text(0), "0");
    }

    #[test]
    fn shell_words_quote_only_what_a_shell_would_split_or_expand() {
        assert_eq!(shell_word("plasmite-tls-cert.pem"), "plasmite-tls-cert.pem");
        assert_eq!(shell_word("my dir/x"), "'my dir/x'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(r#"{"a":1}"#), r#"'{"a":1}'"#);
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("$HOME"), "'$HOME'");
    }
}
