//! TLS: the server's rustls configuration (ring provider, ALPN `h2` and `http/1.1`) from PEM
//! files or a certificate generated at start, and certificate fingerprints.
//!
//! # Invariants
//! - The fingerprint shown for a certificate is the SHA-256 of the DER of the certificate the
//!   server presents (the first of the chain), `SHA256:AA:BB:…`.
//! - A private key is only ever read from the file given or generated in memory; it is never
//!   logged or printed.
//!
//! Spec: `spec/HTTP.md` §2 (TLS).

use super::config::Tls;
use plasmite_os::{Error, ErrorKind};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

/// A ready TLS configuration and the fingerprint of its certificate.
#[derive(Debug)]
pub struct Loaded {
    /// For the acceptor.
    pub config: Arc<rustls::ServerConfig>,
    /// `SHA256:AA:BB:…` of the certificate presented.
    pub fingerprint: String,
}

/// A generated certificate and key, PEM, with the certificate's DER.
#[derive(Debug)]
pub struct Generated {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key (PKCS#8), PEM.
    pub key_pem: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
}

/// `SHA256:AA:BB:…`: the uppercase hex SHA-256 of `der`, in colon-separated bytes.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let hex: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    format!("SHA256:{}", hex.join(":"))
}

fn tls_error(message: impl Into<String>, hint: &str) -> Error {
    Error::new(ErrorKind::Usage, message).with_hint(hint)
}

/// A self-signed certificate for `localhost`, 127.0.0.1, ::1 and `extra` (the bind address,
/// when it is a specific one).
pub fn generate(extra: Option<IpAddr>) -> Result<Generated, Error> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if let Some(ip) = extra
        && !ip.is_unspecified()
        && !names.contains(&ip.to_string())
    {
        names.push(ip.to_string());
    }
    let ck = rcgen::generate_simple_self_signed(names).map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("failed to generate a certificate: {e}"),
        )
        .with_hint("Retry; or pass your own certificate and key.")
    })?;
    Ok(Generated {
        cert_pem: ck.cert.pem(),
        key_pem: ck.signing_key.serialize_pem(),
        cert_der: ck.cert.der().to_vec(),
    })
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let hint = "Give a PEM file holding the certificate chain (BEGIN CERTIFICATE).";
    let iter = CertificateDer::pem_file_iter(path).map_err(|e| {
        tls_error(
            format!("cannot read TLS certificate '{}': {e}", path.display()),
            hint,
        )
        .with_path(path)
    })?;
    let certs = iter.collect::<Result<Vec<_>, _>>().map_err(|e| {
        tls_error(
            format!("invalid TLS certificate '{}': {e}", path.display()),
            hint,
        )
        .with_path(path)
    })?;
    if certs.is_empty() {
        return Err(
            tls_error(format!("no certificate in '{}'", path.display()), hint).with_path(path),
        );
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| {
        tls_error(
            format!("cannot read TLS private key '{}': {e}", path.display()),
            "Give a PEM file holding the private key (PKCS#8, PKCS#1 or SEC1).",
        )
        .with_path(path)
    })
}

fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, Error> {
    // The ring provider, by choice: it builds without a C toolchain (aws-lc needs one). Its
    // deprecation only notes that ring offers no post-quantum key exchange.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Internal, format!("TLS setup failed: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            tls_error(
                format!("the TLS certificate and key do not work together: {e}"),
                "Check that the key is the certificate's own key (both PEM).",
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The TLS configuration `tls` asks for (`None`: plain TCP); `bind_ip` is added to a
/// generated certificate's names.
pub fn load(tls: &Tls, bind_ip: IpAddr) -> Result<Option<Loaded>, Error> {
    match tls {
        Tls::Off => Ok(None),
        Tls::Files { cert, key } => {
            let certs = read_certs(cert)?;
            let fingerprint = fingerprint(&certs[0]);
            let key = read_key(key)?;
            Ok(Some(Loaded {
                config: server_config(certs, key)?,
                fingerprint,
            }))
        }
        Tls::SelfSigned => {
            let g = generate(Some(bind_ip))?;
            let key = PrivateKeyDer::from_pem_slice(g.key_pem.as_bytes()).map_err(|e| {
                Error::new(
                    ErrorKind::Internal,
                    format!("generated key unreadable: {e}"),
                )
            })?;
            let fingerprint = fingerprint(&g.cert_der);
            Ok(Some(Loaded {
                config: server_config(vec![CertificateDer::from(g.cert_der)], key)?,
                fingerprint,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_sha256_in_uppercase_colon_hex() {
        // SHA-256("") = e3b0c442…
        let f = fingerprint(b"");
        assert!(f.starts_with("SHA256:E3:B0:C4:42:"), "{f}");
        assert_eq!(f.len(), "SHA256:".len() + 32 * 3 - 1);
    }

    #[test]
    fn a_generated_certificate_loads_and_its_fingerprint_is_of_its_der() {
        let g = generate(None).expect("generated");
        let der = CertificateDer::from_pem_slice(g.cert_pem.as_bytes()).expect("pem");
        assert_eq!(der.as_ref(), g.cert_der.as_slice());
        let key = PrivateKeyDer::from_pem_slice(g.key_pem.as_bytes()).expect("key");
        server_config(vec![der], key).expect("usable");
    }
}
