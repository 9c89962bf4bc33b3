//! The mock's TLS identity: a certificate made at start, or the user's own.
//!
//! The widget contract requires HTTPS and WSS, so the mock never speaks
//! plain HTTP; browsers under test accept the self-signed certificate
//! through WebDriver's `acceptInsecureCerts`.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

/// Why no TLS identity could be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen refused to make a certificate.
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// A PEM file could not be read or holds nothing usable.
    #[error("cannot use {path}: {message}")]
    Pem {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// rustls rejected the certificate/key pair.
    #[error("certificate and key do not make a TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// Certificate chain and private key the server presents.
pub struct TlsIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    /// Whether the mock made the certificate itself.
    pub self_signed: bool,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("fingerprint", &self.fingerprint())
            .field("self_signed", &self.self_signed)
            .finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// A fresh self-signed certificate for `localhost`, `127.0.0.1` and `::1`.
    ///
    /// # Errors
    /// [`TlsError::Generate`] if key generation fails.
    pub fn self_signed() -> Result<Self, TlsError> {
        let names = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        let made = rcgen::generate_simple_self_signed(names)?;
        Ok(Self {
            chain: vec![made.cert.der().clone()],
            key: PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into()),
            self_signed: true,
        })
    }

    /// The certificate chain and key from PEM files (`--cert`, `--key`).
    ///
    /// # Errors
    /// [`TlsError::Pem`] naming the file that is unreadable or empty.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let pem_err = |path: &Path, message: String| TlsError::Pem {
            path: path.display().to_string(),
            message,
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(|e| pem_err(cert, e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_err(cert, e.to_string()))?;
        if chain.is_empty() {
            return Err(pem_err(cert, "no CERTIFICATE block".into()));
        }
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| pem_err(key, e.to_string()))?;
        Ok(Self {
            chain,
            key: key_der,
            self_signed: false,
        })
    }

    /// The leaf certificate, DER; tests and tools trust exactly this one.
    pub fn certificate_der(&self) -> &[u8] {
        self.chain[0].as_ref()
    }

    /// SHA-256 of the leaf certificate, as colon-separated hex, for the banner.
    pub fn fingerprint(&self) -> String {
        let hex = hex::encode_upper(Sha256::digest(self.chain[0].as_ref()));
        // Pairs of digits joined with colons, as browsers show fingerprints.
        hex.as_bytes()
            .chunks(2)
            .map(|pair| std::str::from_utf8(pair).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(":")
    }

    /// A rustls server configuration offering HTTP/1.1 only, so WebSocket
    /// upgrades work with every browser.
    ///
    /// # Errors
    /// [`TlsError::Config`] when the key does not match the certificate.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// A client configuration that trusts exactly one certificate (DER), with
/// the same provider and ALPN as the server: what the benchmark and the
/// tests use to talk to a mock with a self-signed certificate.
///
/// # Errors
/// [`TlsError::Config`] when the certificate is not usable as a trust anchor.
pub fn client_trusting(cert_der: &[u8]) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert_der.to_vec().into())?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(client))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fingerprint_is_the_certificates_sha256_in_colon_pairs() {
        use sha2::{Digest, Sha256};
        let id = super::TlsIdentity::self_signed().unwrap();
        let shown = id.fingerprint();
        assert_eq!(shown.len(), 32 * 3 - 1, "{shown}");
        let digits: String = shown.split(':').collect();
        assert_eq!(
            digits,
            hex::encode_upper(Sha256::digest(id.certificate_der()))
        );
    }
}
