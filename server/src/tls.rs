//! HTTPS, which cameras need across machines (a page is a secure context only over HTTPS or on
//! localhost): a certificate from files, or, for a LAN test, one made on the spot.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the certificate comes from.
#[derive(Clone, Debug)]
pub enum Certificate {
    /// PEM files: the chain and its private key.
    Files { cert: PathBuf, key: PathBuf },
    /// Made now, valid for these names and addresses, trusted by nobody: each browser must accept
    /// it once.
    SelfSigned { names: Vec<String> },
}

/// Why HTTPS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("could not read the certificate or key ({cert} / {key}): {reason}. Pass PEM files to --tls-cert and --tls-key.")]
    Files {
        cert: String,
        key: String,
        reason: String,
    },
    #[error("could not make a self-signed certificate: {0}")]
    SelfSigned(#[from] rcgen::Error),
    #[error("the certificate was refused: {0}")]
    Refused(#[from] rustls::Error),
}

/// The server's TLS configuration for `certificate`, speaking HTTP/1.1 (all the server speaks).
pub fn config(certificate: &Certificate) -> Result<Arc<ServerConfig>, TlsError> {
    // rustls is built with ring alone; make it the process's provider (a second call is a no-op).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (chain, key) = match certificate {
        Certificate::Files { cert, key } => {
            let read = || -> Result<_, rustls::pki_types::pem::Error> {
                let chain = CertificateDer::pem_file_iter(cert)?.collect::<Result<Vec<_>, _>>()?;
                Ok((chain, PrivateKeyDer::from_pem_file(key)?))
            };
            read().map_err(|e| TlsError::Files {
                cert: cert.display().to_string(),
                key: key.display().to_string(),
                reason: e.to_string(),
            })?
        }
        Certificate::SelfSigned { names } => {
            let made = rcgen::generate_simple_self_signed(names.clone())?;
            let key = PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into());
            (vec![made.cert.der().clone()], key)
        }
    };
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_is_made_for_the_names_given() {
        let names = vec!["localhost".to_owned(), "192.0.2.7".to_owned()];
        let config = config(&Certificate::SelfSigned { names }).unwrap();
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
    }

    #[test]
    fn a_certificate_and_key_in_pem_files_are_read() {
        let made = rcgen::generate_simple_self_signed(vec!["call.example.org".to_owned()]).unwrap();
        let dir = std::env::temp_dir().join(format!("loopback-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = (dir.join("fullchain.pem"), dir.join("privkey.pem"));
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
        let read = config(&Certificate::Files { cert, key });
        let _ = std::fs::remove_dir_all(&dir);
        assert!(read.is_ok(), "{:?}", read.err());
    }

    #[test]
    fn missing_certificate_files_are_named() {
        let missing = Certificate::Files {
            cert: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
        };
        let Err(error) = config(&missing) else {
            panic!("missing files accepted");
        };
        let error = error.to_string();
        assert!(error.contains("/nonexistent/cert.pem"), "{error}");
        assert!(error.contains("--tls-cert"), "{error}");
    }
}
