//! Which certificate authorities outgoing TLS trusts: the operating system's
//! store, or the PEM bundle in `SSL_CERT_FILE` (as OpenSSL and the Rust
//! ecosystem read it), so a company CA can be added without a rebuild.
//! Certificates are always verified; there is no switch to skip that.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::infra::config::{ConfigError, SSL_CERT_FILE};

/// The roots every outgoing TLS connection is verified against.
#[derive(Debug, Clone)]
pub struct TrustRoots {
    config: Arc<rustls::ClientConfig>,
    /// The same roots as certificates, for clients configured another way (SMTP).
    certificates: Arc<Vec<CertificateDer<'static>>>,
    /// Where the roots came from, for the start-up log.
    pub source: String,
    pub count: usize,
}

impl TrustRoots {
    /// Loads the roots from `ca_file` when given, else from the system store.
    pub fn load(ca_file: Option<&Path>) -> Result<TrustRoots, ConfigError> {
        let (certificates, source) = match ca_file {
            Some(path) => (read_pem_bundle(path)?, path.display().to_string()),
            None => {
                let found = rustls_native_certs::load_native_certs();
                for error in &found.errors {
                    tracing::warn!(%error, "a system CA certificate could not be read");
                }
                (found.certs, "the system store".to_owned())
            }
        };
        let mut roots = RootCertStore::empty();
        let (count, _ignored) = roots.add_parsable_certificates(certificates.iter().cloned());
        if count == 0 {
            if let Some(path) = ca_file {
                return Err(ConfigError::new(
                    SSL_CERT_FILE,
                    format!("{} holds no usable CA certificate", path.display()),
                ));
            }
            tracing::warn!(
                "no CA certificates were found in the system store: every outgoing TLS connection \
                 will fail; install ca-certificates or set SSL_CERT_FILE"
            );
        }
        Ok(TrustRoots {
            config: Arc::new(client_config(roots)),
            certificates: Arc::new(certificates),
            source,
            count,
        })
    }

    /// Only the given certificates (tests that make their own CA).
    pub fn only(certificates: Vec<CertificateDer<'static>>) -> TrustRoots {
        let mut roots = RootCertStore::empty();
        let (count, _) = roots.add_parsable_certificates(certificates.iter().cloned());
        TrustRoots {
            config: Arc::new(client_config(roots)),
            certificates: Arc::new(certificates),
            source: "given certificates".to_owned(),
            count,
        }
    }

    /// The root certificates themselves.
    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.certificates
    }

    /// A rustls client configuration verifying against these roots.
    pub fn client_config(&self) -> rustls::ClientConfig {
        (*self.config).clone()
    }
}

fn client_config(roots: RootCertStore) -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

fn read_pem_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let problem = |what: String| ConfigError::new(SSL_CERT_FILE, what);
    let pem = std::fs::read(path)
        .map_err(|error| problem(format!("cannot read {}: {error}", path.display())))?;
    CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| {
            problem(format!(
                "{} is not a PEM bundle of certificates ({error})",
                path.display()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_ca_file_names_ssl_cert_file() {
        let error = TrustRoots::load(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert_eq!(error.option, SSL_CERT_FILE);
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let path =
            std::env::temp_dir().join(format!("gridlink-empty-ca-{}.pem", std::process::id()));
        std::fs::write(&path, "not a certificate\n").unwrap();
        let error = TrustRoots::load(Some(&path)).unwrap_err();
        std::fs::remove_file(&path).ok();
        assert_eq!(error.option, SSL_CERT_FILE);
        assert!(
            error.problem.contains("no usable CA certificate"),
            "{error}"
        );
    }
}
