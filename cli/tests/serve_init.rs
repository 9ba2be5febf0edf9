//! `pls serve check`, `pls serve init` and the startup banner, black-box: what `check` reports
//! and refuses, what `init` writes and prints, and that a server started with `init`'s files
//! serves HTTPS that an ordinary client (curl) trusts.
#![cfg(feature = "serve")]

mod common;
use common::*;

use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// `serve ARGS… check --json`'s `check` object.
#[track_caller]
fn check(env: &Env, args: &[&str]) -> Value {
    let mut a = vec!["serve"];
    a.extend_from_slice(args);
    a.push("check");
    let out = env.pls(&a);
    out.code(0);
    out.json()["check"].clone()
}

/// `serve ARGS… check`'s Usage error message.
#[track_caller]
fn check_refused(env: &Env, args: &[&str]) -> String {
    let mut a = vec!["serve"];
    a.extend_from_slice(args);
    a.push("check");
    let e = env.pls(&a).fails(2, "Usage");
    str_of(&e, "message").to_owned()
}

/// `serve init --output-dir OUT ARGS…` (piped: JSON); its `init` object.
#[track_caller]
fn init(env: &Env, out: &Path, args: &[&str]) -> Value {
    let mut a = vec!["serve", "init", "--output-dir", out.to_str().unwrap()];
    a.extend_from_slice(args);
    let o = env.pls(&a);
    o.code(0);
    o.json()["init"].clone()
}

fn keys_dir(env: &Env) -> PathBuf {
    env.root.join("keys")
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        || Command::new(program)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
}

#[test]
fn check_describes_the_default_configuration() {
    let env = env("check-defaults");
    let c = check(&env, &[]);
    assert_eq!(
        c,
        json!({
            "access": "read-write",
            "auth": "none",
            "base_url": "http://127.0.0.1:9700",
            "cors_allowed_origins": [],
            "limits": {
                "max_body_bytes": 1048576,
                "max_tail_concurrency": 64,
                "max_tail_timeout_ms": 30000,
            },
            "listen": "127.0.0.1:9700",
            "mcp": "http://127.0.0.1:9700/mcp",
            "status": "valid",
            "tls": "disabled",
            "tls_fingerprint": null,
            "web_ui": "http://127.0.0.1:9700/ui",
            "web_ui_pool": "http://127.0.0.1:9700/ui/pools/{pool}",
        })
    );
    // `--json` asks for the same object explicitly.
    let out = env.pls(&["serve", "check", "--json"]);
    assert_eq!(out.code(0).json()["check"], c);
}

#[test]
fn check_reports_limits_access_and_a_token_from_the_command_line() {
    let env = env("check-limits");
    let c = check(
        &env,
        &[
            "--access",
            "read-only",
            "--token",
            "dev",
            "--max-body-bytes",
            "2048",
            "--max-tail-timeout-ms",
            "1500",
            "--max-tail-concurrency",
            "3",
        ],
    );
    assert_eq!(c["access"], "read-only");
    assert_eq!(c["auth"], "bearer token (--token)");
    assert_eq!(
        c["limits"],
        json!({"max_body_bytes": 2048, "max_tail_concurrency": 3, "max_tail_timeout_ms": 1500})
    );
    assert!(
        !c.to_string().contains("dev\""),
        "the token is never shown: {c}"
    );
}

#[test]
fn check_with_init_files_reports_the_token_file_and_the_certificates_fingerprint() {
    let env = env("check-files");
    let out = keys_dir(&env);
    let i = init(&env, &out, &["--bind", "127.0.0.1:9700"]);
    let paths = &i["artifact_paths"];
    let c = check(
        &env,
        &[
            "--token-file",
            paths["token_file"].as_str().unwrap(),
            "--tls-cert",
            paths["tls_cert"].as_str().unwrap(),
            "--tls-key",
            paths["tls_key"].as_str().unwrap(),
        ],
    );
    assert_eq!(c["auth"], "bearer token (--token-file)");
    assert_eq!(c["tls"], "enabled");
    assert_eq!(c["base_url"], "https://127.0.0.1:9700");
    assert_eq!(c["mcp"], "https://127.0.0.1:9700/mcp");
    assert_eq!(c["tls_fingerprint"], i["tls_fingerprint"]);
}

#[test]
fn check_of_a_self_signed_setup_has_no_fingerprint_before_start() {
    let env = env("check-self-signed");
    let c = check(&env, &["--tls-self-signed"]);
    assert_eq!(c["tls"], "self-signed");
    assert_eq!(c["base_url"], "https://127.0.0.1:9700");
    assert_eq!(c["tls_fingerprint"], Value::Null);
}

#[test]
fn check_lists_cors_origins_as_browsers_send_them() {
    let env = env("check-cors");
    let c = check(
        &env,
        &[
            "--cors-origin",
            "HTTPS://App.Example.com/",
            "--cors-origin",
            "http://localhost:5173",
        ],
    );
    assert_eq!(
        c["cors_allowed_origins"],
        json!(["https://app.example.com", "http://localhost:5173"])
    );
}

#[test]
fn unspecified_binds_show_loopback_urls_and_listen_everywhere() {
    let env = env("check-unspecified");
    let c = check(
        &env,
        &[
            "--bind",
            "0.0.0.0:9700",
            "--allow-non-loopback",
            "--access",
            "read-only",
        ],
    );
    assert_eq!(c["listen"], "0.0.0.0:9700");
    assert_eq!(c["base_url"], "http://127.0.0.1:9700");
    assert_eq!(c["web_ui"], "http://127.0.0.1:9700/ui");
    let c = check(
        &env,
        &[
            "--bind",
            "[::]:9701",
            "--allow-non-loopback",
            "--access",
            "read-only",
        ],
    );
    assert_eq!(c["listen"], "[::]:9701");
    assert_eq!(c["base_url"], "http://[::1]:9701");
}

#[test]
fn check_refuses_every_configuration_the_server_would_refuse() {
    let env = env("check-refuses");
    let keys = keys_dir(&env);
    let i = init(&env, &keys, &[]);
    let token = i["artifact_paths"]["token_file"]
        .as_str()
        .unwrap()
        .to_owned();
    let cert = i["artifact_paths"]["tls_cert"].as_str().unwrap().to_owned();
    let key = i["artifact_paths"]["tls_key"].as_str().unwrap().to_owned();
    let empty = env.root.join("empty-token");
    std::fs::write(&empty, "  \n").unwrap();
    let empty = empty.to_str().unwrap();
    let wide = ["--bind", "0.0.0.0:9700", "--allow-non-loopback"];
    let with = |extra: &[&'static str]| -> Vec<String> {
        wide.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--bind".into(), "nope".into()], "invalid --bind"),
        (vec!["--bind".into(), "127.0.0.1".into()], "invalid --bind"),
        (
            vec![
                "--token".into(),
                "t".into(),
                "--token-file".into(),
                token.clone(),
            ],
            "cannot be used together",
        ),
        (vec!["--token".into(), " ".into()], "--token is empty"),
        (vec!["--token-file".into(), empty.into()], "is empty"),
        (
            vec!["--bind".into(), "0.0.0.0:9700".into()],
            "not a loopback address",
        ),
        (
            vec!["--bind".into(), "192.0.2.1:9700".into()],
            "not a loopback address",
        ),
        (with(&[]), "needs --token-file"),
        (
            with(&["--token", "t", "--tls-self-signed"]),
            "needs --token-file",
        ),
        (
            {
                let mut v = with(&["--token-file"]);
                v.push(token.clone());
                v
            },
            "needs TLS",
        ),
        (
            vec!["--tls-cert".into(), cert.clone()],
            "must be given together",
        ),
        (
            vec!["--tls-key".into(), key.clone()],
            "must be given together",
        ),
        (
            vec![
                "--tls-self-signed".into(),
                "--tls-cert".into(),
                cert.clone(),
                "--tls-key".into(),
                key.clone(),
            ],
            "cannot be used with",
        ),
        (
            vec!["--max-body-bytes".into(), "0".into()],
            "--max-body-bytes must be greater than zero",
        ),
        (
            vec!["--max-tail-timeout-ms".into(), "0".into()],
            "--max-tail-timeout-ms must be greater than zero",
        ),
        (
            vec!["--max-tail-concurrency".into(), "0".into()],
            "--max-tail-concurrency must be greater than zero",
        ),
    ];
    for (args, want) in &cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let msg = check_refused(&env, &a);
        assert!(msg.contains(want), "{args:?}: {msg:?} lacks {want:?}");
    }
    let origins = [
        ("", "empty"),
        ("*", "wildcards"),
        ("ftp://example.com", "scheme"),
        ("mailto:someone@example.com", "not an http(s) URL"),
        ("http://", "no host"),
        ("http://user@example.com", "user information"),
        ("http://example.com/app", "no path"),
        ("http://example.com?x=1", "no query"),
        ("http://example.com/#top", "no query or fragment"),
    ];
    for (origin, why) in origins {
        let msg = check_refused(&env, &["--cors-origin", origin]);
        assert!(
            msg.contains("invalid --cors-origin") && msg.contains(why),
            "{origin:?}: {msg:?} lacks {why:?}"
        );
    }
}

#[test]
fn beyond_loopback_reads_need_no_token_and_writes_can_waive_tls() {
    let env = env("check-exposure");
    let keys = keys_dir(&env);
    let i = init(&env, &keys, &[]);
    let token = i["artifact_paths"]["token_file"].as_str().unwrap();
    let c = check(
        &env,
        &[
            "--bind",
            "0.0.0.0:9700",
            "--allow-non-loopback",
            "--access",
            "read-only",
        ],
    );
    assert_eq!(c["auth"], "none");
    let c = check(
        &env,
        &[
            "--bind",
            "0.0.0.0:9700",
            "--allow-non-loopback",
            "--token-file",
            token,
            "--insecure-no-tls",
        ],
    );
    assert_eq!(c["tls"], "disabled");
    let c = check(
        &env,
        &[
            "--bind",
            "0.0.0.0:9700",
            "--allow-non-loopback",
            "--token-file",
            token,
            "--tls-self-signed",
        ],
    );
    assert_eq!(c["tls"], "self-signed");
}

#[test]
fn check_loads_the_certificate_and_key_without_binding() {
    let env = env("check-tls-files");
    let a = init(&env, &env.root.join("a"), &[]);
    let b = init(&env, &env.root.join("b"), &[]);
    let garbage = env.root.join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let g = garbage.to_str().unwrap();
    let path = |i: &Value, k: &str| i["artifact_paths"][k].as_str().unwrap().to_owned();
    let msg = check_refused(&env, &["--tls-cert", g, "--tls-key", &path(&a, "tls_key")]);
    assert!(msg.contains("certificate"), "{msg}");
    let msg = check_refused(&env, &["--tls-cert", &path(&a, "tls_cert"), "--tls-key", g]);
    assert!(msg.contains("private key"), "{msg}");
    let msg = check_refused(
        &env,
        &[
            "--tls-cert",
            &path(&a, "tls_cert"),
            "--tls-key",
            &path(&b, "tls_key"),
        ],
    );
    assert!(msg.contains("do not work together"), "{msg}");
    // A port in use does not matter: check binds nothing.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().to_string();
    check(&env, &["--bind", &port]);
}

#[test]
fn check_takes_serve_options_before_check_and_only_json_after() {
    let env = env("check-placement");
    let e = env
        .pls(&["serve", "check", "--bind", "127.0.0.1:1"])
        .fails(2, "Usage");
    assert!(str_of(&e, "message").contains("--bind"), "{e:?}");
    let e = env.pls(&["serve", "--json", "check"]).fails(2, "Usage");
    assert!(str_of(&e, "message").contains("--json"), "{e:?}");
    for flag in [["--force", ""], ["--output-dir", "x"]] {
        let mut a = vec!["serve", "check"];
        a.extend(flag.iter().filter(|s| !s.is_empty()));
        let e = env.pls(&a).fails(2, "Usage");
        assert!(str_of(&e, "message").contains(flag[0]), "{e:?}");
    }
    let e = env.pls(&["serve", "launch"]).fails(2, "Usage");
    assert!(str_of(&e, "message").contains("launch"), "{e:?}");
}

#[test]
fn plain_serve_refuses_the_actions_flags() {
    let env = env("serve-action-flags");
    for args in [
        vec!["serve", "--json"],
        vec!["serve", "--force"],
        vec!["serve", "--output-dir", "x"],
    ] {
        let e = env.pls(&args).fails(2, "Usage");
        assert!(str_of(&e, "message").contains(args[1]), "{args:?}: {e:?}");
    }
}

#[test]
fn init_writes_a_token_a_certificate_and_a_key_with_owner_only_secrets() {
    let env = env("init-files");
    let out = keys_dir(&env).join("nested");
    let i = init(&env, &out, &[]);
    let paths = &i["artifact_paths"];
    let token = PathBuf::from(paths["token_file"].as_str().unwrap());
    let cert = PathBuf::from(paths["tls_cert"].as_str().unwrap());
    let key = PathBuf::from(paths["tls_key"].as_str().unwrap());
    assert_eq!(token, out.join("plasmite-auth-token.txt"));
    assert_eq!(cert, out.join("plasmite-tls-cert.pem"));
    assert_eq!(key, out.join("plasmite-tls-key.pem"));
    let t = std::fs::read_to_string(&token).unwrap();
    assert_eq!(t.len(), 65, "{t:?}");
    assert!(t.ends_with('\n'));
    assert!(
        t.trim_end()
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{t:?}"
    );
    assert_eq!(mode(&token), 0o600);
    assert_eq!(mode(&key), 0o600);
    assert_ne!(mode(&cert) & 0o044, 0, "the certificate is public");
    let c = std::fs::read_to_string(&cert).unwrap();
    assert!(c.starts_with("-----BEGIN CERTIFICATE-----"), "{c}");
    let k = std::fs::read_to_string(&key).unwrap();
    assert!(k.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8: {k}");
    let f = i["tls_fingerprint"].as_str().unwrap();
    assert!(f.starts_with("SHA256:") && f.len() == 7 + 32 * 3 - 1, "{f}");
    // Nothing else is left beside them (no temporary files).
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "plasmite-auth-token.txt",
            "plasmite-tls-cert.pem",
            "plasmite-tls-key.pem"
        ]
    );
}

#[test]
fn init_fingerprint_is_what_openssl_reports_for_the_written_certificate() {
    if !have("openssl") {
        return;
    }
    let env = env("init-openssl");
    let i = init(&env, &keys_dir(&env), &["--bind", "192.0.2.7:9700"]);
    let cert = i["artifact_paths"]["tls_cert"].as_str().unwrap();
    let o = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in", cert])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let theirs = text.trim().rsplit('=').next().unwrap();
    assert_eq!(
        i["tls_fingerprint"].as_str().unwrap(),
        format!("SHA256:{theirs}")
    );
    let o = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in", cert])
        .output()
        .unwrap();
    let san = String::from_utf8_lossy(&o.stdout);
    for name in [
        "DNS:localhost",
        "IP Address:127.0.0.1",
        "IP Address:192.0.2.7",
    ] {
        assert!(san.contains(name), "{name} missing: {san}");
    }
}

#[test]
fn init_commands_use_the_files_and_the_bound_host() {
    let env = env("init-commands");
    let out = keys_dir(&env);
    let i = init(
        &env,
        &out,
        &["--bind", "127.0.0.1:9701", "--token-file", "t.txt"],
    );
    let token = out.join("t.txt");
    let cert = out.join("plasmite-tls-cert.pem");
    let key = out.join("plasmite-tls-key.pem");
    let (t, c, k) = (
        token.to_str().unwrap(),
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
    );
    assert_eq!(
        i["server_commands"],
        json!([format!(
            "pls serve --bind 127.0.0.1:9701 --token-file {t} --tls-cert {c} --tls-key {k}"
        )])
    );
    let clients = i["client_commands"].as_array().unwrap();
    assert_eq!(clients.len(), 2);
    assert!(clients[0].as_str().unwrap().starts_with(&format!(
        "pls feed https://127.0.0.1:9701/demo --token-file {t} --tls-ca {c}"
    )));
    assert_eq!(
        clients[1],
        format!("pls follow https://127.0.0.1:9701/demo --token-file {t} --tls-ca {c}")
    );
    let curls = i["curl_client_commands"].as_array().unwrap();
    assert_eq!(curls.len(), 2);
    for (cmd, route) in curls.iter().zip(["append", "tail"]) {
        let cmd = cmd.as_str().unwrap();
        assert!(cmd.starts_with("curl "), "{cmd}");
        assert!(cmd.contains(&format!("--cacert {c}")), "{cmd}");
        assert!(
            cmd.contains(&format!("-H \"Authorization: Bearer $(cat {t})\"")),
            "{cmd}"
        );
        assert!(
            cmd.ends_with(&format!("https://127.0.0.1:9701/v0/pools/demo/{route}")),
            "{cmd}"
        );
    }
    // Every interface: the server command allows it; clients get a host to reach.
    let i = init(&env, &env.root.join("wide"), &[]);
    let server = i["server_commands"][0].as_str().unwrap();
    assert!(
        server.starts_with("pls serve --bind 0.0.0.0:9700 --allow-non-loopback --token-file "),
        "{server}"
    );
    let feed = i["client_commands"][0].as_str().unwrap();
    assert!(feed.starts_with("pls feed https://"), "{feed}");
    assert!(!feed.contains("0.0.0.0"), "{feed}");
}

#[test]
fn init_refuses_to_overwrite_without_force_and_rewrites_secrets_owner_only_with_it() {
    let env = env("init-force");
    let out = keys_dir(&env);
    let first = init(&env, &out, &[]);
    let token = PathBuf::from(first["artifact_paths"]["token_file"].as_str().unwrap());
    let key = PathBuf::from(first["artifact_paths"]["tls_key"].as_str().unwrap());
    let before = std::fs::read(&token).unwrap();
    let o = out.to_str().unwrap();
    let e = env
        .pls(&["serve", "init", "--output-dir", o])
        .fails(4, "AlreadyExists");
    assert!(str_of(&e, "hint").contains("--force"), "{e:?}");
    assert_eq!(std::fs::read(&token).unwrap(), before, "nothing rewritten");
    // One file already there is enough to refuse, and none is written.
    let partial = env.root.join("partial");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::write(partial.join("plasmite-tls-key.pem"), "mine").unwrap();
    env.pls(&["serve", "init", "--output-dir", partial.to_str().unwrap()])
        .fails(4, "AlreadyExists");
    assert!(!partial.join("plasmite-auth-token.txt").exists());
    assert!(!partial.join("plasmite-tls-cert.pem").exists());
    // --force replaces them, and a secret loosened meanwhile is owner-only again.
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o666)).unwrap();
    let second = init(&env, &out, &["--force"]);
    assert_ne!(std::fs::read(&token).unwrap(), before, "a new token");
    assert_ne!(second["tls_fingerprint"], first["tls_fingerprint"]);
    assert_eq!(mode(&token), 0o600);
    assert_eq!(mode(&key), 0o600);
}

#[test]
fn init_refuses_parent_options_given_before_init() {
    let env = env("init-parent");
    let token = env.root.join("t");
    let t = token.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["--bind", "0.0.0.0:9700"],
        vec!["--access", "read-only"],
        vec!["--cors-origin", "http://a.example"],
        vec!["--token", "x"],
        vec!["--token-file", t],
        vec!["--tls-cert", t],
        vec!["--tls-key", t],
        vec!["--tls-self-signed"],
        vec!["--allow-non-loopback"],
        vec!["--insecure-no-tls"],
        vec!["--max-body-bytes", "10"],
        vec!["--max-tail-timeout-ms", "10"],
        vec!["--max-tail-concurrency", "10"],
    ];
    for flag in cases {
        let mut a = vec!["serve"];
        a.extend(&flag);
        a.extend(["init", "--output-dir", env.root.to_str().unwrap()]);
        let e = env.pls(&a).fails(2, "Usage");
        assert_eq!(
            str_of(&e, "message"),
            format!("serve init does not use parent option {}", flag[0])
        );
    }
    // After `init`, only its own flags.
    let e = env
        .pls(&["serve", "init", "--access", "read-only"])
        .fails(2, "Usage");
    assert!(str_of(&e, "message").contains("--access"), "{e:?}");
    assert!(!token.exists());
}

#[test]
fn init_paths_must_name_three_different_files() {
    let env = env("init-distinct");
    let o = env.root.to_str().unwrap().to_owned();
    for args in [
        ["--token-file", "same.pem", "--tls-cert", "same.pem"],
        ["--tls-key", "same.pem", "--tls-cert", "./same.pem"],
        ["--token-file", "k.pem", "--tls-key", "k.pem"],
    ] {
        let mut a = vec!["serve", "init", "--output-dir", &o];
        a.extend(args);
        let e = env.pls(&a).fails(2, "Usage");
        assert!(str_of(&e, "message").contains("different"), "{e:?}");
    }
    assert!(!env.root.join("same.pem").exists());
}

/// Runs curl with `args`; its stdout then the HTTP status on a last line.
fn curl(args: &[&str]) -> (String, u16) {
    let o = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (
        body.to_owned(),
        code.trim().parse().unwrap_or_else(|_| {
            panic!(
                "curl {args:?} failed: {}",
                String::from_utf8_lossy(&o.stderr)
            )
        }),
    )
}

#[test]
fn a_server_started_with_init_files_serves_https_that_curl_trusts_with_the_token() {
    if !have("curl") {
        return;
    }
    let env = env("init-serve");
    let out = keys_dir(&env);
    let i = init(&env, &out, &["--bind", "127.0.0.1:9700"]);
    let p = |k: &str| i["artifact_paths"][k].as_str().unwrap().to_owned();
    let (token_file, cert, key) = (p("token_file"), p("tls_cert"), p("tls_key"));
    env.create("demo", "1M");
    let served = env.serve(&[
        "--token-file",
        &token_file,
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
    ]);
    let token = std::fs::read_to_string(&token_file).unwrap();
    let auth = format!("Authorization: Bearer {}", token.trim());
    let base = format!("https://127.0.0.1:{}/v0/pools/demo", served.addr.port());
    let (body, code) = curl(&[
        "--cacert",
        &cert,
        "-H",
        &auth,
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"data":{"hello":"world"}}"#,
        &format!("{base}/append"),
    ]);
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["message"]["data"], json!({"hello": "world"}));
    let (body, code) = curl(&[
        "--cacert",
        &cert,
        "-H",
        &auth,
        &format!("{base}/tail?since_seq=1&max=1&timeout_ms=2000"),
    ]);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"hello\":\"world\""), "{body}");
    let (body, code) = curl(&[
        "--cacert",
        &cert,
        "-H",
        "Authorization: Bearer not-the-token",
        &format!("{base}/info"),
    ]);
    assert_eq!(code, 401, "{body}");
    let (body, code) = curl(&["--cacert", &cert, &format!("{base}/info")]);
    assert_eq!(code, 401, "{body}");
}

#[test]
fn check_on_a_terminal_prints_the_configuration_for_people() {
    let env = env("check-tty");
    let out = env.tty(
        &[
            "serve",
            "--tls-self-signed",
            "--cors-origin",
            "http://localhost:5173",
            "check",
        ],
        &[],
    );
    out.code(0);
    let s = &out.stdout;
    for want in [
        "Configuration valid.",
        "127.0.0.1:9700 (loopback only)",
        "https://127.0.0.1:9700/mcp",
        "https://127.0.0.1:9700/ui",
        "Auth:    none",
        "TLS:     self-signed",
        "Access:  read-write",
        "CORS:    http://localhost:5173",
        "Limits:  body 1M, timeout 30s, concurrency 64",
        "TLS fingerprint: generated at start",
        "Start with: pls serve --cors-origin http://localhost:5173 --tls-self-signed",
    ] {
        assert!(s.contains(want), "{want:?} missing:\n{s}");
    }
    // --json on a terminal: the same object, pretty.
    let out = env.tty(&["serve", "check", "--json"], &[("NO_COLOR", "1")]);
    let v = out.code(0).json_stream();
    assert_eq!(v[0]["check"]["status"], "valid", "{}", out.stdout);
}

#[test]
fn init_on_a_terminal_says_initialized_then_re_initialized() {
    let env = env("init-tty");
    let o = keys_dir(&env);
    let o = o.to_str().unwrap();
    let out = env.tty(&["serve", "init", "--output-dir", o], &[]);
    out.code(0);
    assert!(
        out.stdout.contains("Secure serving initialized."),
        "{}",
        out.stdout
    );
    for want in [
        "SHA256:",
        "pls serve --bind 0.0.0.0:9700",
        "pls feed https://",
        "curl ",
    ] {
        assert!(
            out.stdout.contains(want),
            "{want:?} missing:\n{}",
            out.stdout
        );
    }
    let out = env.tty(&["serve", "init", "--output-dir", o, "--force"], &[]);
    out.code(0);
    assert!(
        out.stdout.contains("Secure serving re-initialized."),
        "{}",
        out.stdout
    );
}

#[test]
fn serve_on_a_terminal_prints_a_banner_once_listening() {
    let env = env("serve-banner");
    let ready = env.root.join("ready");
    let cmd = env.tty_cmd(
        &["serve", "--bind", "127.0.0.1:0"],
        &[("PLASMITE_SERVE_READY_FILE", ready.to_str().unwrap())],
    );
    let (child, started) = spawn(cmd, false);
    let script = child.id();
    let addr = loop {
        if let Ok(s) = std::fs::read_to_string(&ready)
            && !s.trim().is_empty()
        {
            break s.trim().to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the server did not listen"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    // `script` runs `pls` as its only child; stop that child as Ctrl-C would.
    let children = std::fs::read_to_string(format!("/proc/{script}/task/{script}/children"))
        .unwrap_or_default();
    for pid in children.split_whitespace() {
        let _ = Command::new("kill").args(["-TERM", pid]).status();
    }
    let out = finish(
        child,
        None,
        "pls serve on a terminal".into(),
        Instant::now(),
    );
    let s = out.stdout_no_cr();
    assert_eq!(out.code, 0, "{s}");
    for want in [
        format!("Serving pools on http://{addr} (loopback only)"),
        format!("http://{addr}/ui"),
        format!("http://{addr}/mcp"),
        "Auth: none    TLS: off    Access: read-write    CORS: same-origin".to_owned(),
        format!("pls feed http://{addr}/demo"),
        format!("pls follow http://{addr}/demo"),
        format!("http://{addr}/v0/pools/demo/append"),
        "Press Ctrl-C to stop.".to_owned(),
    ] {
        assert!(s.contains(&want), "{want:?} missing:\n{s}");
    }
    assert_eq!(s.matches("Serving pools on").count(), 1, "{s}");
}

#[test]
fn serve_with_stderr_piped_prints_no_banner() {
    let env = env("serve-no-banner");
    let served = env.serve(&[]);
    std::thread::sleep(Duration::from_millis(100));
    let log = std::fs::read_to_string(&served.stderr_file).unwrap();
    assert!(!log.contains("Serving pools on"), "{log}");
    assert!(!log.contains("Press Ctrl-C"), "{log}");
}
