//! The server's configuration: the `serve` flags, parsed and checked before anything binds.
//!
//! # Invariants
//! - A [`Config`] exists only once every rule of `spec/HTTP.md` §2 holds: a non-loopback bind
//!   needs `--allow-non-loopback`; with write access it also needs a token from a file and TLS
//!   (unless `--insecure-no-tls`); limits are positive; CORS origins are exact `scheme://host[:port]`.
//! - The token is never printed or logged; [`Config`]'s `Debug` shows only where it came from.
//!
//! Spec: `spec/HTTP.md` §2.

use crate::args::Matches;
use crate::cmd::mcp::Access;
use crate::values;
use plasmite_os::{Error, ErrorKind};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where `pls serve` listens by default.
pub const DEFAULT_BIND: &str = "127.0.0.1:9700";
/// Request bodies larger than this are refused (413), by default.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1 << 20;
/// The longest (and default) tail, by default.
pub const DEFAULT_MAX_TAIL_TIMEOUT_MS: u64 = 30_000;
/// Concurrent tails and MCP waits, and concurrent storage operations, by default.
pub const DEFAULT_MAX_CONCURRENCY: usize = 64;

/// The flags of `serve` (and `serve check`) that `serve init` refuses before it.
pub const PARENT_FLAGS: &[&str] = &[
    "bind",
    "port",
    "access",
    "cors-origin",
    "token",
    "token-file",
    "tls-cert",
    "tls-key",
    "tls-self-signed",
    "allow-non-loopback",
    "insecure-no-tls",
    "max-body-bytes",
    "max-tail-timeout-ms",
    "max-tail-concurrency",
];

/// Where the bearer token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// `--token` (for development: visible in the process list).
    Flag,
    /// `--token-file`.
    File,
}

/// The bearer token every `/v0` route and `POST /mcp` require.
#[derive(Clone)]
pub struct Token {
    /// The secret.
    pub value: String,
    /// Where it came from.
    pub source: TokenSource,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// How the server terminates TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tls {
    /// Plain TCP (HTTP/1.1 and prior-knowledge h2c).
    Off,
    /// A certificate chain and its key, PEM files.
    Files {
        /// The certificate chain.
        cert: PathBuf,
        /// The private key.
        key: PathBuf,
    },
    /// A certificate generated at start, kept in memory.
    SelfSigned,
}

/// A checked server configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The socket address to bind (port 0: any free port).
    pub bind: SocketAddr,
    /// Which operations are allowed.
    pub access: Access,
    /// Origins allowed by CORS, exactly as browsers send them.
    pub cors: Vec<String>,
    /// The bearer token, when one is required.
    pub token: Option<Token>,
    /// TLS.
    pub tls: Tls,
    /// Request bodies larger than this are refused.
    pub max_body_bytes: u64,
    /// The default and longest tail.
    pub max_tail_timeout: Duration,
    /// Concurrent tails and MCP waits; also concurrent storage operations.
    pub max_concurrency: usize,
    /// The pool directory.
    pub dir: PathBuf,
}

fn usage(message: impl Into<String>, hint: &str) -> Error {
    Error::new(ErrorKind::Usage, message).with_hint(hint)
}

/// Whether `ip` is a loopback address (an IPv4-mapped loopback counts).
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// A `--bind` value.
pub fn parse_bind(s: &str) -> Result<SocketAddr, Error> {
    s.trim().parse::<SocketAddr>().map_err(|_| {
        usage(
            format!("invalid --bind '{s}'"),
            "Give an IP address and a port, e.g. 127.0.0.1:9700 or [::1]:9700.",
        )
    })
}

/// The address clients use for `bind`: an unspecified IP shows as loopback.
pub fn display_addr(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// A CORS origin, checked: `http(s)://host[:port]` with nothing after but an optional `/`.
/// Returned as browsers send it (lowercase scheme and host, no trailing `/`).
pub fn parse_origin(s: &str) -> Result<String, Error> {
    let hint = "Give an exact origin such as https://app.example.com or http://localhost:5173.";
    let bad = |why: &str| usage(format!("invalid --cors-origin '{s}': {why}"), hint);
    let t = s.trim();
    if t.is_empty() {
        return Err(bad("empty"));
    }
    if t == "*" {
        return Err(bad("wildcards are not allowed"));
    }
    let (scheme, rest) = t
        .split_once("://")
        .ok_or_else(|| bad("not an http(s) URL"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(bad("the scheme must be http or https"));
    }
    if rest.contains(['?', '#']) {
        return Err(bad("an origin has no query or fragment"));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if !path.is_empty() && path != "/" {
        return Err(bad("an origin has no path"));
    }
    if authority.contains('@') {
        return Err(bad("an origin has no user information"));
    }
    if authority.is_empty() || authority.starts_with(':') {
        return Err(bad("no host"));
    }
    check_authority(authority).map_err(bad)?;
    let authority = authority.to_ascii_lowercase();
    // Browsers leave the scheme's default port out of the Origin they send.
    let default_port = if scheme == "http" { ":80" } else { ":443" };
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Ok(format!("{scheme}://{authority}"))
}

fn check_authority(a: &str) -> Result<(), &'static str> {
    let (host, port) = if let Some(rest) = a.strip_prefix('[') {
        let (v6, after) = rest.split_once(']').ok_or("unclosed IPv6 address")?;
        v6.parse::<Ipv6Addr>().map_err(|_| "invalid IPv6 address")?;
        (None, after.strip_prefix(':'))
    } else {
        match a.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(a), None),
        }
    };
    if let Some(h) = host {
        let ok = !h.is_empty()
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
        if !ok {
            return Err("invalid host");
        }
    }
    if let Some(p) = port
        && (p.is_empty() || p.parse::<u16>().is_err())
    {
        return Err("invalid port");
    }
    Ok(())
}

/// Reads a token file: trimmed; empty is a Usage error.
pub fn read_token_file(path: &Path) -> Result<String, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::io(e, "failed to read token file", path)
            .with_hint("Check the path, or create one with `serve init`.")
    })?;
    let t = text.trim();
    if t.is_empty() {
        return Err(usage(
            format!("token file '{}' is empty", path.display()),
            "Put the token on the file's first line, or create one with `serve init`.",
        )
        .with_path(path));
    }
    Ok(t.to_owned())
}

fn positive(flag: &str, s: &str) -> Result<u64, Error> {
    let n = values::count(&format!("--{flag}"), s)?;
    if n == 0 {
        return Err(usage(
            format!("--{flag} must be greater than zero"),
            "Give a positive number, or leave the flag out for the default.",
        ));
    }
    Ok(n)
}

impl Config {
    /// The configuration `m`'s flags describe, checked; `dir` is the pool directory.
    pub fn from_matches(m: &Matches, dir: &Path) -> Result<Config, Error> {
        let mut bind = parse_bind(m.value("bind").unwrap_or(DEFAULT_BIND))?;
        if let Some(p) = m.value("port") {
            if m.value("bind").is_some() {
                return Err(usage(
                    "--port and --bind both give the port",
                    "Give the whole address with --bind IP:PORT, or the port alone with --port.",
                ));
            }
            bind.set_port(p.trim().parse::<u16>().map_err(|_| {
                usage(
                    format!("invalid --port '{p}'"),
                    "Give a port number from 0 to 65535 (0: any free port).",
                )
            })?);
        }
        let access = match m.value("access") {
            None => Access::ReadWrite,
            Some(s) => Access::parse(s).ok_or_else(|| {
                usage(
                    format!("invalid --access '{s}'"),
                    "Use read-only, write-only or read-write.",
                )
            })?,
        };
        let cors = m
            .values("cors-origin")
            .into_iter()
            .map(parse_origin)
            .collect::<Result<Vec<_>, _>>()?;
        let token = match (m.value("token"), m.value("token-file")) {
            (Some(_), Some(_)) => {
                return Err(usage(
                    "--token and --token-file cannot be used together",
                    "Keep --token-file (the token stays out of the process list).",
                ));
            }
            (Some(t), None) => {
                if t.trim().is_empty() {
                    return Err(usage("--token is empty", "Give a non-empty token."));
                }
                Some(Token {
                    value: t.trim().to_owned(),
                    source: TokenSource::Flag,
                })
            }
            (None, Some(p)) => Some(Token {
                value: read_token_file(Path::new(p))?,
                source: TokenSource::File,
            }),
            (None, None) => None,
        };
        let self_signed = m.has("tls-self-signed");
        let tls = match (m.value("tls-cert"), m.value("tls-key"), self_signed) {
            (Some(_), _, true) | (_, Some(_), true) => {
                return Err(usage(
                    "--tls-self-signed cannot be used with --tls-cert/--tls-key",
                    "Use either your own certificate and key, or --tls-self-signed.",
                ));
            }
            (Some(c), Some(k), false) => Tls::Files {
                cert: PathBuf::from(c),
                key: PathBuf::from(k),
            },
            (Some(_), None, false) | (None, Some(_), false) => {
                return Err(usage(
                    "--tls-cert and --tls-key must be given together",
                    "Pass both PEM files, or create a pair with `serve init`.",
                ));
            }
            (None, None, true) => Tls::SelfSigned,
            (None, None, false) => Tls::Off,
        };
        let max_body_bytes = match m.value("max-body-bytes") {
            Some(s) => positive("max-body-bytes", s)?,
            None => DEFAULT_MAX_BODY_BYTES,
        };
        let max_tail_timeout = Duration::from_millis(match m.value("max-tail-timeout-ms") {
            Some(s) => positive("max-tail-timeout-ms", s)?,
            None => DEFAULT_MAX_TAIL_TIMEOUT_MS,
        });
        let max_concurrency = match m.value("max-tail-concurrency") {
            Some(s) => usize::try_from(positive("max-tail-concurrency", s)?).unwrap_or(usize::MAX),
            None => DEFAULT_MAX_CONCURRENCY,
        };
        let config = Config {
            bind,
            access,
            cors,
            token,
            tls,
            max_body_bytes,
            max_tail_timeout,
            max_concurrency,
            dir: dir.to_path_buf(),
        };
        config.check_exposure(m.has("allow-non-loopback"), m.has("insecure-no-tls"))?;
        Ok(config)
    }

    /// The rules for binds other than loopback.
    fn check_exposure(&self, allow_non_loopback: bool, insecure_no_tls: bool) -> Result<(), Error> {
        if self.loopback() {
            return Ok(());
        }
        if !allow_non_loopback {
            return Err(usage(
                format!("refusing to bind {} (not a loopback address)", self.bind),
                "Add --allow-non-loopback to serve other machines (see `serve init` for a \
                 token and a certificate), or bind 127.0.0.1.",
            ));
        }
        if self.access.can_write() {
            if self.token.as_ref().map(|t| t.source) != Some(TokenSource::File) {
                return Err(usage(
                    "serving writes beyond loopback needs --token-file",
                    "Create a token with `serve init` and pass --token-file, or serve with \
                     --access read-only.",
                ));
            }
            if self.tls == Tls::Off && !insecure_no_tls {
                return Err(usage(
                    "serving writes beyond loopback needs TLS",
                    "Pass --tls-cert and --tls-key (from `serve init`) or --tls-self-signed; \
                     --insecure-no-tls accepts plain HTTP on a trusted network.",
                ));
            }
        }
        Ok(())
    }

    /// Whether the server binds loopback only.
    pub fn loopback(&self) -> bool {
        is_loopback(self.bind.ip())
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        if self.tls == Tls::Off {
            "http"
        } else {
            "https"
        }
    }

    /// The base URL clients use, for the address actually bound.
    pub fn base_url(&self, bound: SocketAddr) -> String {
        format!("{}://{}", self.scheme(), display_addr(bound))
    }

    /// How clients authenticate, for `serve check` and the banner.
    pub fn auth_label(&self) -> &'static str {
        match self.token.as_ref().map(|t| t.source) {
            None => "none",
            Some(TokenSource::Flag) => "bearer token (--token)",
            Some(TokenSource::File) => "bearer token (--token-file)",
        }
    }

    /// TLS, for `serve check` and the banner.
    pub fn tls_label(&self) -> &'static str {
        match self.tls {
            Tls::Off => "disabled",
            Tls::Files { .. } => "enabled",
            Tls::SelfSigned => "self-signed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_kept_as_browsers_send_them() {
        let ok = |s: &str| parse_origin(s).expect(s);
        assert_eq!(ok("https://App.Example.com/"), "https://app.example.com");
        assert_eq!(ok("http://localhost:5173"), "http://localhost:5173");
        assert_eq!(ok("http://host:80"), "http://host");
        assert_eq!(ok("https://host:443"), "https://host");
        assert_eq!(ok("https://host:80"), "https://host:80");
        assert_eq!(ok("http://[::1]:8080"), "http://[::1]:8080");
        for bad in [
            "",
            "*",
            "ftp://x",
            "x",
            "http://",
            "http://a/b",
            "http://a?q",
            "http://u@a",
            "http://a:99999",
            "http://a b",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_includes_ipv4_mapped_loopback() {
        assert!(is_loopback("127.0.0.1".parse().expect("ip")));
        assert!(is_loopback("::1".parse().expect("ip")));
        assert!(is_loopback("::ffff:127.0.0.1".parse().expect("ip")));
        assert!(!is_loopback("0.0.0.0".parse().expect("ip")));
        assert!(!is_loopback("10.0.0.1".parse().expect("ip")));
    }
}
