//! HTTPS, which cameras need across machines (a page is a secure context only over HTTPS or on
//! localhost): a certificate from files, or, for a LAN test, one made on the spot.

use axum_server::tls_rustls::RustlsConfig;
use std::path::PathBuf;

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
    #[error("could not read the certificate or key ({cert} / {key}): {source}. Pass PEM files to --tls-cert and --tls-key.")]
    Files {
        cert: String,
        key: String,
        source: std::io::Error,
    },
    #[error("could not make a self-signed certificate: {0}")]
    SelfSigned(#[from] rcgen::Error),
    #[error("the certificate was refused: {0}")]
    Refused(std::io::Error),
}

/// The server's TLS configuration for `certificate`.
pub async fn config(certificate: &Certificate) -> Result<RustlsConfig, TlsError> {
    // rustls is built with ring alone; make it the process's provider (a second call is a no-op).
    let _ = rustls::crypto::ring::default_provider().install_default();
    match certificate {
        Certificate::Files { cert, key } => {
            RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(|source| TlsError::Files {
                    cert: cert.display().to_string(),
                    key: key.display().to_string(),
                    source,
                })
        }
        Certificate::SelfSigned { names } => {
            let made = rcgen::generate_simple_self_signed(names.clone())?;
            RustlsConfig::from_pem(
                made.cert.pem().into_bytes(),
                made.signing_key.serialize_pem().into_bytes(),
            )
            .await
            .map_err(TlsError::Refused)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_self_signed_certificate_is_made_for_the_names_given() {
        let names = vec!["localhost".to_owned(), "192.0.2.7".to_owned()];
        assert!(config(&Certificate::SelfSigned { names }).await.is_ok());
    }

    #[tokio::test]
    async fn missing_certificate_files_are_named() {
        let missing = Certificate::Files {
            cert: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
        };
        let Err(error) = config(&missing).await else {
            panic!("missing files accepted");
        };
        let error = error.to_string();
        assert!(error.contains("/nonexistent/cert.pem"), "{error}");
        assert!(error.contains("--tls-cert"), "{error}");
    }
}
