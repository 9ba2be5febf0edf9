//! `pls serve init`: creates what serving other machines needs — a bearer token and a
//! self-signed certificate with its key — and prints the commands that use them.
//!
//! Role: the first step of `spec/HTTP.md`'s "beyond loopback" setup. The token and the key are
//! secrets and are written for their owner only; the certificate is public (clients pin it with
//! `--tls-ca` / `--cacert`).
//!
//! # Invariants
//! - Nothing is written unless all three files may be: an existing one without `--force` is an
//!   `AlreadyExists` error before any file changes; the three paths must differ.
//! - The token file and the key file are mode 0600 from their first byte: each file is written
//!   to a new temporary file created with that mode, then renamed over its path, so an
//!   overwritten file never keeps looser permissions and no reader sees half a file.
//! - The token is 32 bytes from the operating system's generator, printed nowhere but its file.
//! - The fingerprint printed is that of the certificate file as written (read back), which is
//!   what `openssl x509 -noout -fingerprint -sha256` reports for it.
//!
//! Spec: `spec/CLI.md` §2.14.

use super::check::{EXAMPLE_POOL, shell_word};
use super::config::{self, is_loopback};
use super::tls;
use crate::args::{Matches, program};
use crate::ui::Ui;
use plasmite_os::{Error, ErrorKind};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::json;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `--bind` of `serve init`: every interface, the default port.
pub const DEFAULT_BIND: &str = "0.0.0.0:9700";
/// The token file's default name.
pub const DEFAULT_TOKEN_FILE: &str = "plasmite-auth-token.txt";
/// The certificate's default name.
pub const DEFAULT_TLS_CERT: &str = "plasmite-tls-cert.pem";
/// The key's default name.
pub const DEFAULT_TLS_KEY: &str = "plasmite-tls-key.pem";

fn usage(message: impl Into<String>, hint: &str) -> Error {
    Error::new(ErrorKind::Usage, message).with_hint(hint)
}

/// One file to write.
struct Artifact {
    path: PathBuf,
    mode: u32,
    bytes: Vec<u8>,
}

/// `serve init`.
pub fn run(m: &Matches, ui: &Ui) -> Result<u8, Error> {
    let bind = config::parse_bind(m.value("bind").unwrap_or(DEFAULT_BIND))?;
    let out_dir = PathBuf::from(m.value("output-dir").unwrap_or("."));
    let force = m.has("force");
    let under = |flag: &str, default: &str| {
        let p = PathBuf::from(m.value(flag).unwrap_or(default));
        if p.is_absolute() || out_dir == Path::new(".") {
            p
        } else {
            out_dir.join(p)
        }
    };
    let token_path = under("token-file", DEFAULT_TOKEN_FILE);
    let cert_path = under("tls-cert", DEFAULT_TLS_CERT);
    let key_path = under("tls-key", DEFAULT_TLS_KEY);
    let same = |a: &Path, b: &Path| a.components().eq(b.components());
    if same(&token_path, &cert_path) || same(&token_path, &key_path) || same(&cert_path, &key_path)
    {
        return Err(usage(
            "--token-file, --tls-cert and --tls-key must name three different files",
            "Give each its own path, or leave the flags out for the default names.",
        ));
    }
    let mut existing = 0;
    for p in [&token_path, &cert_path, &key_path] {
        match std::fs::symlink_metadata(p) {
            Ok(meta) if meta.is_dir() => {
                return Err(usage(
                    format!("'{}' is a directory", p.display()),
                    "Name a file, not a directory.",
                )
                .with_path(p));
            }
            Ok(_) if !force => {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("'{}' already exists", p.display()),
                )
                .with_hint("Pass --force to replace the token and certificate, or choose another --output-dir.")
                .with_path(p));
            }
            Ok(_) => existing += 1,
            Err(_) => {}
        }
    }
    // What clients type as the server's host, and the certificate's extra name: a specific
    // bind address, else this machine's address on its default route.
    let host_ip = if bind.ip().is_unspecified() {
        primary_ip()
    } else {
        Some(bind.ip())
    };
    let host = match host_ip {
        Some(ip) => SocketAddr::new(ip, bind.port()).to_string(),
        None => format!("YOUR-HOST:{}", bind.port()),
    };
    let generated = tls::generate(host_ip)?;
    let token = new_token()?;
    std::fs::create_dir_all(&out_dir).map_err(|e| {
        Error::io(e, "failed to create the output directory", &out_dir)
            .with_hint("Check --output-dir: its parent must be writable.")
    })?;
    for a in [
        Artifact {
            path: token_path.clone(),
            mode: 0o600,
            bytes: token.into_bytes(),
        },
        Artifact {
            path: key_path.clone(),
            mode: 0o600,
            bytes: generated.key_pem.into_bytes(),
        },
        Artifact {
            path: cert_path.clone(),
            mode: 0o644,
            bytes: generated.cert_pem.into_bytes(),
        },
    ] {
        write_file(&a)?;
    }
    let fingerprint = written_fingerprint(&cert_path)?;
    let paths = Paths {
        token: shell_word(&token_path.display().to_string()),
        cert: shell_word(&cert_path.display().to_string()),
        key: shell_word(&key_path.display().to_string()),
    };
    let commands = Commands::new(&paths, bind, &host);
    if m.has("json") || !ui.stdout_tty {
        let v = json!({ "init": {
            "artifact_paths": {
                "tls_cert": cert_path.display().to_string(),
                "tls_key": key_path.display().to_string(),
                "token_file": token_path.display().to_string(),
            },
            "client_commands": commands.client,
            "curl_client_commands": commands.curl,
            "server_commands": [commands.server],
            "tls_fingerprint": fingerprint,
        }});
        ui.print(&ui.json(&v))?;
    } else {
        let mut s = String::new();
        let again = if existing > 0 {
            "re-initialized"
        } else {
            "initialized"
        };
        let _ = writeln!(s, "Secure serving {again}.\n");
        let _ = writeln!(
            s,
            "  Token:       {}  (secret, mode 0600)",
            token_path.display()
        );
        let _ = writeln!(s, "  Certificate: {}", cert_path.display());
        let _ = writeln!(
            s,
            "  Key:         {}  (secret, mode 0600)",
            key_path.display()
        );
        let _ = writeln!(s, "  Fingerprint: {fingerprint}\n");
        let _ = writeln!(s, "Start the server:\n  {}\n", commands.server);
        let _ = writeln!(
            s,
            "On a client (copy {} and {} there first; pool `{EXAMPLE_POOL}` must exist):",
            paths.token, paths.cert
        );
        for c in commands.client.iter().chain(&commands.curl) {
            let _ = writeln!(s, "  {c}");
        }
        if host_ip.is_none() {
            s.push_str("\nReplace YOUR-HOST with this machine's address.\n");
        }
        ui.print(s.as_bytes())?;
    }
    Ok(0)
}

/// The artifacts' paths as shell words.
struct Paths {
    token: String,
    cert: String,
    key: String,
}

/// The commands `init` prints.
struct Commands {
    server: String,
    client: Vec<String>,
    curl: Vec<String>,
}

impl Commands {
    fn new(p: &Paths, bind: SocketAddr, host: &str) -> Commands {
        let pls = program();
        let exposure = if is_loopback(bind.ip()) {
            ""
        } else {
            " --allow-non-loopback"
        };
        let server = format!(
            "{pls} serve --bind {bind}{exposure} --token-file {} --tls-cert {} --tls-key {}",
            p.token, p.cert, p.key
        );
        let url = format!("https://{host}/{EXAMPLE_POOL}");
        let api = format!("https://{host}/v0/pools/{EXAMPLE_POOL}");
        let creds = format!("--token-file {} --tls-ca {}", p.token, p.cert);
        let auth = format!(
            "--cacert {} -H \"Authorization: Bearer $(cat {})\"",
            p.cert, p.token
        );
        Commands {
            server,
            client: vec![
                format!(
                    "{pls} feed {url} {creds} {}",
                    shell_word(r#"{"hello":"world"}"#)
                ),
                format!("{pls} follow {url} {creds}"),
            ],
            curl: vec![
                format!(
                    "curl -sS {auth} -H 'Content-Type: application/json' -d {} {api}/append",
                    shell_word(r#"{"data":{"hello":"world"}}"#)
                ),
                format!("curl -sSN {auth} {api}/tail"),
            ],
        }
    }
}

/// 32 random bytes as 64 lowercase hex digits and a newline.
fn new_token() -> Result<String, Error> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| {
            Error::new(
                ErrorKind::Internal,
                "the system's random number generator failed",
            )
            .with_hint("Retry; the token must come from the operating system's generator.")
        })?;
    let mut s = String::with_capacity(65);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s.push('\n');
    Ok(s)
}

/// Writes `a` whole with its mode: a new temporary file beside the path, created with the mode
/// (and set to it, whatever the umask kept), then renamed over the path.
fn write_file(a: &Artifact) -> Result<(), Error> {
    let hint = "Check that the output directory is writable.";
    let name = a.path.file_name().map_or_else(
        || std::ffi::OsString::from("plasmite"),
        std::ffi::OsStr::to_os_string,
    );
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(&name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = a.path.with_file_name(tmp_name);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(a.mode)
            .open(&tmp)?;
        if a.mode & 0o077 == 0 {
            // The umask can only take bits away; set the exact mode anyway so a secret is
            // never readable by others, even under an unusual umask.
            f.set_permissions(std::fs::Permissions::from_mode(a.mode))?;
        }
        f.write_all(&a.bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &a.path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(e, "failed to write", &a.path).with_hint(hint)
    })
}

/// The fingerprint of the certificate in `path`, as a client reading that file sees it.
fn written_fingerprint(path: &Path) -> Result<String, Error> {
    let der = CertificateDer::from_pem_file(path).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot read back '{}': {e}", path.display()),
        )
        .with_hint("Check that nothing else writes to the output directory, then retry.")
        .with_path(path)
    })?;
    Ok(tls::fingerprint(&der))
}

/// This machine's address on its default route: the local end of a UDP socket "connected" to
/// a public address. `connect` on UDP only picks a route; no packet is sent.
fn primary_ip() -> Option<IpAddr> {
    let probe = |bind: &str, to: &str| {
        let s = UdpSocket::bind(bind).ok()?;
        s.connect(to).ok()?;
        let ip = s.local_addr().ok()?.ip();
        (!ip.is_unspecified() && !ip.is_loopback()).then_some(ip)
    };
    probe("0.0.0.0:0", "8.8.8.8:53").or_else(|| probe("[::]:0", "[2001:4860:4860::8888]:53"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_64_lowercase_hex_digits_and_a_newline() {
        let t = new_token().expect("token");
        assert_eq!(t.len(), 65);
        assert!(t.ends_with('\n'));
        assert!(
            t.trim_end()
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
        assert_ne!(t, new_token().expect("token"), "two tokens differ");
    }

    #[test]
    fn commands_quote_paths_and_name_the_host() {
        let p = Paths {
            token: shell_word("my dir/t.txt"),
            cert: shell_word("c.pem"),
            key: shell_word("k.pem"),
        };
        let bind: SocketAddr = "0.0.0.0:9700".parse().unwrap();
        let c = Commands::new(&p, bind, "10.0.0.5:9700");
        assert!(
            c.server
                .contains("--bind 0.0.0.0:9700 --allow-non-loopback")
        );
        assert!(c.server.contains("--token-file 'my dir/t.txt'"));
        assert!(c.client[0].contains("https://10.0.0.5:9700/demo"));
        assert!(c.curl[0].contains(r#"$(cat 'my dir/t.txt')"#));
        let local: SocketAddr = "127.0.0.1:9700".parse().unwrap();
        assert!(
            !Commands::new(&p, local, "127.0.0.1:9700")
                .server
                .contains("--allow-non-loopback")
        );
    }
}
