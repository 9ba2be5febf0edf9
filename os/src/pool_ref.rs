//! Pool references: what a user may type to name a pool — a name, a path or a URL — parsed
//! once, the same way by every front end.
//!
//! Role: [`PoolName`] is the validated name of a pool in a pool directory (never a path: the
//! rule MCP and the HTTP server rely on so that a client cannot reach files outside the
//! directory); [`PoolRef::parse`] tells names, paths and remote `http(s)://` references apart.
//! Turning a local reference into a file path is [`crate::dir::resolve`]'s rule.
//!
//! # Invariants
//! - A [`PoolName`] is one file-name component: non-empty, not only whitespace, not `.`/`..`,
//!   no `/`, no `\`, no NUL or other control character, and the file it names
//!   (`<name>.plasmite`, or the name itself when it already ends in `.plasmite`) is at most
//!   255 bytes long. `chat` and `chat.plasmite` name the same pool; `.plasmite` alone is not a
//!   name.
//! - A reference starting with `http://` or `https://` (scheme in any case) is remote; any
//!   other `scheme://` is refused; one containing `/` is a path used as given; anything else
//!   is a name and must be a valid [`PoolName`].
//! - A remote reference is `scheme://host[:port]/<pool>`: no user info, no query, no
//!   fragment, exactly one path segment (percent-escapes decoded, then a valid [`PoolName`]).
//! - Every refusal is `Usage` with a hint that names no front end.
//!
//! Spec: `spec/API.md` §1.

use crate::dir;
use crate::error::{Cause, Error, ErrorKind};
use std::fmt;
use std::path::{Path, PathBuf};

/// The longest file name most file systems take (`NAME_MAX`).
const FILE_NAME_MAX: usize = 255;
/// The pool file suffix, with its dot.
const SUFFIX: &str = ".plasmite";

/// A validated pool name (see the module invariants): a file in the pool directory, never a
/// path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PoolName(String);

impl PoolName {
    /// Checks `name` against the rule; `Usage` naming what is wrong otherwise.
    pub fn new(name: &str) -> Result<PoolName, Error> {
        let bad = |why: &str| {
            Error::new(
                ErrorKind::Usage,
                format!("invalid pool name '{name}': {why}"),
            )
            .with_hint(
                "A pool name is one file name in the pool directory, e.g. `chat` or \
                 `chat.plasmite`.",
            )
        };
        if name.trim().is_empty() {
            return Err(bad("it is empty"));
        }
        if name.contains("://") {
            return Err(bad("it is a URL, not a name"));
        }
        if name.contains('/') || name.contains('\\') {
            return Err(bad("it is a path, not a name"));
        }
        if name.chars().any(char::is_control) {
            return Err(bad("it contains a control character"));
        }
        if name == "." || name == ".." || name == SUFFIX {
            return Err(bad("it names no file"));
        }
        let file_len = if name.ends_with(SUFFIX) {
            name.len()
        } else {
            name.len() + SUFFIX.len()
        };
        if file_len > FILE_NAME_MAX {
            return Err(bad(&format!(
                "its file name would be {file_len} bytes, more than {FILE_NAME_MAX}"
            )));
        }
        Ok(PoolName(name.to_owned()))
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name without a `.plasmite` suffix (as the directory listing shows it).
    pub fn stem(&self) -> &str {
        self.0.strip_suffix(SUFFIX).unwrap_or(&self.0)
    }

    /// The pool's file name: the name with `.plasmite` added when it does not end in it.
    pub fn file_name(&self) -> String {
        format!("{}{SUFFIX}", self.stem())
    }

    /// The pool's path in directory `dir`.
    pub fn path_in(&self, dir: &Path) -> PathBuf {
        dir.join(self.file_name())
    }
}

impl fmt::Display for PoolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for PoolName {
    type Err = Error;
    fn from_str(s: &str) -> Result<PoolName, Error> {
        PoolName::new(s)
    }
}

impl AsRef<str> for PoolName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A pool on another machine, served over HTTP: `http(s)://host[:port]/<pool>`.
///
/// Values made by [`PoolRef::parse`] keep the module invariants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteRef {
    /// `https://` rather than `http://`.
    pub https: bool,
    /// The host as written (an IPv6 address keeps its brackets), lower-cased.
    pub host: String,
    /// The port: as written, else 80 (http) or 443 (https).
    pub port: u16,
    /// The pool on that server.
    pub pool: PoolName,
    /// The server's base URL, `scheme://host:port/` (the port always written).
    pub base_url: String,
}

impl fmt::Display for RemoteRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.base_url, self.pool)
    }
}

/// What a pool reference names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PoolRef {
    /// A pool in the pool directory.
    Name(PoolName),
    /// A pool file at this path (the reference contained `/`), used as given.
    Path(PathBuf),
    /// A pool on an HTTP server.
    Url(RemoteRef),
}

impl PoolRef {
    /// Parses what a user typed (see the module invariants).
    pub fn parse(reference: &str) -> Result<PoolRef, Error> {
        if let Some((scheme, _)) = reference.split_once("://") {
            let scheme = scheme.to_ascii_lowercase();
            if scheme == "http" || scheme == "https" {
                return parse_url(reference).map(PoolRef::Url);
            }
            return Err(Error::new(
                ErrorKind::Usage,
                "remote pool ref must use http or https scheme",
            )
            .with_hint("Use a local pool name or path, or an http(s)://host:port/pool URL."));
        }
        if dir::is_path(reference) {
            return Ok(PoolRef::Path(PathBuf::from(reference)));
        }
        PoolName::new(reference).map(PoolRef::Name)
    }

    /// The file of a local reference in pool directory `dir`; a remote reference is `Usage`
    /// (cause [`Cause::RemoteRef`]) for callers that only open local pools.
    pub fn local_path(&self, dir: &Path) -> Result<PathBuf, Error> {
        match self {
            PoolRef::Name(n) => Ok(n.path_in(dir)),
            PoolRef::Path(p) => Ok(p.clone()),
            PoolRef::Url(_) => Err(Error::new(
                ErrorKind::Usage,
                "remote pool refs are not supported by this build",
            )
            .with_cause(Cause::RemoteRef)
            .with_hint("Use a local pool name or path.")),
        }
    }

    /// Whether this is a remote reference.
    pub fn is_remote(&self) -> bool {
        matches!(self, PoolRef::Url(_))
    }
}

impl fmt::Display for PoolRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolRef::Name(n) => n.fmt(f),
            PoolRef::Path(p) => p.display().fmt(f),
            PoolRef::Url(r) => r.fmt(f),
        }
    }
}

const URL_HINT: &str = "Write a remote pool as http://host:port/pool or https://host/pool.";

fn bad_url(url: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::Usage,
        format!("invalid remote pool ref '{url}': {why}"),
    )
    .with_hint(URL_HINT)
}

/// Parses `http(s)://host[:port]/<pool>`; the caller checked the scheme.
fn parse_url(url: &str) -> Result<RemoteRef, Error> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let https = scheme.eq_ignore_ascii_case("https");
    if rest.contains('?') {
        return Err(bad_url(url, "a query string is not allowed"));
    }
    if rest.contains('#') {
        return Err(bad_url(url, "a fragment is not allowed"));
    }
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    if authority.contains('@') {
        return Err(bad_url(url, "user info is not allowed").with_hint(
            "Pass credentials another way than in the URL; write the URL as http://host:port/pool.",
        ));
    }
    let (host, port) = host_port(authority).ok_or_else(|| bad_url(url, "bad host or port"))?;
    if path.is_empty() {
        return Err(bad_url(url, "it names no pool")
            .with_hint("Add the pool's name: http://host:port/pool."));
    }
    if path.contains('/') {
        let why = if path.starts_with("v0/") {
            "an API URL is not a pool ref"
        } else {
            "the pool must be the only path segment"
        };
        return Err(bad_url(url, why)
            .with_hint("Write the server and the pool only, e.g. http://host:port/pool."));
    }
    let name = percent_decode(path).ok_or_else(|| bad_url(url, "bad percent-escape"))?;
    let pool = PoolName::new(&name).map_err(|e| {
        let why = e.message().to_owned();
        bad_url(url, &why)
    })?;
    let port = port.unwrap_or(if https { 443 } else { 80 });
    let host = host.to_ascii_lowercase();
    let scheme = if https { "https" } else { "http" };
    Ok(RemoteRef {
        https,
        base_url: format!("{scheme}://{host}:{port}/"),
        host,
        port,
        pool,
    })
}

/// `host[:port]` or `[v6][:port]`; `None` when the host is empty or the port is not a u16.
fn host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, after) = authority.split_at(end + 1);
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let valid_host = |h: &str| {
        !h.is_empty()
            && (h.starts_with('[')
                || h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
    };
    if !valid_host(host) || host == "[]" {
        return None;
    }
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok()?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

/// Decodes `%XX` escapes; `None` on a malformed escape or a result that is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            // Two hex digits exactly (`from_str_radix` alone would take a sign).
            let hex = s.get(i + 1..i + 3)?;
            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(r: Result<impl fmt::Debug, Error>) -> Error {
        let e = r.expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
        assert!(e.hint().is_some_and(|h| !h.is_empty()), "{e}");
        e
    }

    #[test]
    fn names_are_single_file_names() {
        for good in [
            "chat",
            "chat.plasmite",
            "a.b",
            ".hidden",
            "with space",
            "ü",
            "-x",
        ] {
            let n = PoolName::new(good).expect(good);
            assert_eq!(n.as_str(), good);
        }
        for bad in [
            "",
            "   ",
            ".",
            "..",
            ".plasmite",
            "a/b",
            "/abs",
            "a\\b",
            "nul\0",
            "line\nbreak",
            "http://h/p",
        ] {
            usage(PoolName::new(bad));
        }
    }

    #[test]
    fn a_name_and_its_suffixed_form_name_the_same_file() {
        let dir = Path::new("/pools");
        let a = PoolName::new("chat").unwrap();
        let b = PoolName::new("chat.plasmite").unwrap();
        assert_eq!(a.path_in(dir), PathBuf::from("/pools/chat.plasmite"));
        assert_eq!(a.path_in(dir), b.path_in(dir));
        assert_eq!(b.stem(), "chat");
    }

    #[test]
    fn names_are_refused_when_their_file_name_exceeds_255_bytes() {
        assert!(PoolName::new(&"a".repeat(246)).is_ok());
        usage(PoolName::new(&"a".repeat(247)));
        let suffixed = format!("{}.plasmite", "a".repeat(246));
        assert!(PoolName::new(&suffixed).is_ok());
        usage(PoolName::new(&format!("a{suffixed}")));
    }

    #[test]
    fn name_resolution_matches_the_directory_rule() {
        let dir = Path::new("/pools");
        for r in ["chat", "chat.plasmite", "x.y"] {
            let PoolRef::Name(n) = PoolRef::parse(r).unwrap() else {
                panic!("{r} is a name");
            };
            assert_eq!(n.path_in(dir), dir::resolve(dir, r), "{r}");
        }
    }

    #[test]
    fn references_with_a_slash_are_paths_as_given() {
        for r in ["./x", "/abs/p.plasmite", "a/b", "../up"] {
            assert_eq!(PoolRef::parse(r).unwrap(), PoolRef::Path(PathBuf::from(r)));
        }
    }

    #[test]
    fn http_and_https_urls_parse_into_host_port_and_pool() {
        let r = PoolRef::parse("http://localhost:9700/chat").unwrap();
        let PoolRef::Url(u) = r else { panic!("remote") };
        assert!(!u.https);
        assert_eq!(u.host, "localhost");
        assert_eq!(u.port, 9700);
        assert_eq!(u.pool.as_str(), "chat");
        assert_eq!(u.base_url, "http://localhost:9700/");
        let PoolRef::Url(u) = PoolRef::parse("HTTPS://Example.COM/a%20b").unwrap() else {
            panic!("remote")
        };
        assert!(u.https);
        assert_eq!((u.host.as_str(), u.port), ("example.com", 443));
        assert_eq!(u.pool.as_str(), "a b");
        assert_eq!(u.base_url, "https://example.com:443/");
        let PoolRef::Url(u) = PoolRef::parse("http://[::1]:8080/p").unwrap() else {
            panic!("remote")
        };
        assert_eq!((u.host.as_str(), u.port), ("[::1]", 8080));
        assert_eq!(u.base_url, "http://[::1]:8080/");
        let PoolRef::Url(u) = PoolRef::parse("http://h/p").unwrap() else {
            panic!("remote")
        };
        assert_eq!(u.port, 80);
    }

    #[test]
    fn malformed_urls_are_usage_errors_that_say_why() {
        for (url, why) in [
            ("tcp://h/p", "http or https"),
            ("ftp://h:1/p", "http or https"),
            ("http://user:pw@h/p", "user info"),
            ("http://h/p?x=1", "query"),
            ("http://h/p#top", "fragment"),
            ("http://h", "no pool"),
            ("http://h/", "no pool"),
            ("http://h/a/b", "only path segment"),
            ("http://h/p/", "only path segment"),
            ("http://h/v0/pools/x/tail", "API URL"),
            ("http://h/a%2fb", "path"),
            ("http://h/%zz", "percent"),
            ("http://h/a%+fb", "percent"),
            ("http://h/a%2", "percent"),
            ("http://:80/p", "host"),
            ("http://h:99999/p", "port"),
            ("http://h:x/p", "port"),
            ("http://h/..", "names no file"),
        ] {
            let e = usage(PoolRef::parse(url));
            assert!(e.message().contains(why), "{url}: {}", e.message());
        }
    }

    #[test]
    fn a_remote_ref_has_no_local_path() {
        let r = PoolRef::parse("http://h:1/p").unwrap();
        assert!(r.is_remote());
        let e = usage(r.local_path(Path::new("/d")));
        assert_eq!(e.cause(), Some(Cause::RemoteRef));
        let local = PoolRef::parse("p").unwrap();
        assert_eq!(
            local.local_path(Path::new("/d")).unwrap(),
            PathBuf::from("/d/p.plasmite")
        );
    }
}
