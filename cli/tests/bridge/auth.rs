//! NKeys, JWTs and creds files minted inside the bridge's authentication tests, so that each
//! test can start a `nats-server` that trusts exactly the keys it made.
//!
//! Role: test support of `tests/bridge.rs`. It writes what `nsc` would: an operator JWT
//! (self-signed), an account JWT signed by the operator (JetStream enabled through its limits),
//! a user JWT signed by the account, and the user's creds file; and the server configurations
//! that trust them (decentralized "operator mode" with a memory resolver) or an NKey user.
//!
//! # Invariants
//! - A JWT is `base64url(header) . base64url(claims) . base64url(ed25519 signature of the first
//!   two parts)`, unpadded, with the header `{"typ":"JWT","alg":"ed25519-nkey"}` and claims of
//!   version 2 (`nats.version`), as the server's JWT library decodes them.
//! - `jti` is computed as that library computes it (SHA-512/256 of the standard claims with an
//!   empty `jti`, base32 unpadded), although the server does not check it.
//! - `iss` is always the signer's public key; limits are unlimited (`-1`) and JetStream storage
//!   too, so that the account may create streams and consumers.
//!
//! Spec: `spec/BRIDGE.md` §4.2 (credentials).

use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD};
use nkeys::KeyPair;
use serde_json::{Value, json};
use sha2::{Digest, Sha512_256};
use std::time::{SystemTime, UNIX_EPOCH};

/// `claims` (its `sub`, `name` and `nats` set by the caller) signed by `signer` as a JWT.
fn sign(mut claims: Value, signer: &KeyPair) -> String {
    let iat = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // The standard claims alone, keys in the order the server's library writes them (serde_json
    // sorts keys, which is that order for these four), hashed into the id.
    let standard = json!({
        "iat": iat,
        "iss": signer.public_key(),
        "name": claims["name"],
        "sub": claims["sub"],
    });
    let jti = BASE32_NOPAD.encode(&Sha512_256::digest(standard.to_string().as_bytes()));
    claims["iat"] = json!(iat);
    claims["iss"] = json!(signer.public_key());
    claims["jti"] = json!(jti);
    let header = json!({"typ": "JWT", "alg": "ed25519-nkey"});
    let signed = format!(
        "{}.{}",
        BASE64URL_NOPAD.encode(header.to_string().as_bytes()),
        BASE64URL_NOPAD.encode(claims.to_string().as_bytes())
    );
    let signature = signer.sign(signed.as_bytes()).expect("sign a JWT");
    format!("{signed}.{}", BASE64URL_NOPAD.encode(&signature))
}

/// A key pair and the JWT that names it.
pub(crate) struct Identity {
    pub(crate) key: KeyPair,
    pub(crate) jwt: String,
}

impl Identity {
    pub(crate) fn public_key(&self) -> String {
        self.key.public_key()
    }

    pub(crate) fn seed(&self) -> String {
        self.key.seed().expect("a seed")
    }
}

/// A new operator, self-signed.
pub(crate) fn operator(name: &str) -> Identity {
    let key = KeyPair::new_operator();
    let jwt = sign(
        json!({
            "sub": key.public_key(),
            "name": name,
            "nats": {"type": "operator", "version": 2},
        }),
        &key,
    );
    Identity { key, jwt }
}

/// A new account signed by `issuer` (an operator's key), with no limits and JetStream on.
pub(crate) fn account(issuer: &KeyPair, name: &str) -> Identity {
    account_with(issuer, name, true)
}

fn account_with(issuer: &KeyPair, name: &str, jetstream: bool) -> Identity {
    let key = KeyPair::new_account();
    let mut limits = json!({
        "subs": -1, "data": -1, "payload": -1,
        "imports": -1, "exports": -1, "wildcards": true, "conn": -1, "leaf": -1,
    });
    if jetstream {
        // JetStream is on for an account whose memory or disk storage limit is not 0.
        for k in ["mem_storage", "disk_storage", "streams", "consumer"] {
            limits[k] = json!(-1);
        }
    }
    let jwt = sign(
        json!({
            "sub": key.public_key(),
            "name": name,
            "nats": {
                "limits": limits,
                "default_permissions": {"pub": {}, "sub": {}},
                "type": "account",
                "version": 2,
            },
        }),
        issuer,
    );
    Identity { key, jwt }
}

/// A new user signed by `issuer` (an account's key), allowed everything.
pub(crate) fn user(issuer: &KeyPair, name: &str) -> Identity {
    let key = KeyPair::new_user();
    let jwt = sign(
        json!({
            "sub": key.public_key(),
            "name": name,
            "nats": {
                "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1,
                "type": "user",
                "version": 2,
            },
        }),
        issuer,
    );
    Identity { key, jwt }
}

/// A creds file for `user`: its JWT and its seed, decorated as `nsc generate creds` writes them.
pub(crate) fn creds(user: &Identity) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\
         NKEYs are sensitive and should be treated as secrets.\n\n\
         -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n\n\
         *************************************************************\n",
        user.jwt,
        user.seed()
    )
}

/// A server configuration in operator mode that trusts `operator` and knows `accounts`
/// (preloaded in a memory resolver), plus a system account of its own, which the server needs
/// for JetStream in this mode ("system account not setup" otherwise).
pub(crate) fn operator_config(operator: &Identity, accounts: &[&Identity]) -> String {
    let system = account_with(&operator.key, "SYS", false);
    let preload: Vec<String> = accounts
        .iter()
        .chain([&&system])
        .map(|a| format!("  {}: {}\n", a.public_key(), a.jwt))
        .collect();
    format!(
        "operator: {}\nsystem_account: {}\nresolver: MEMORY\nresolver_preload: {{\n{}}}\n",
        operator.jwt,
        system.public_key(),
        preload.concat()
    )
}

/// A server configuration with one user known by its NKey (public key).
pub(crate) fn nkey_config(user_public_key: &str) -> String {
    format!("authorization {{\n  users = [\n    {{ nkey: {user_public_key} }}\n  ]\n}}\n")
}
