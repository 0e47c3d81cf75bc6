//! A throwaway certificate authority made for one test, and a server
//! certificate it issued for `localhost` and `127.0.0.1`, written as PEM
//! files (the way an operator would hand them to Gridlink).

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};

use super::TempDir;

pub struct TestCa {
    /// The CA's certificate: what a client must trust.
    pub ca_file: PathBuf,
    /// The server's certificate chain and its key, issued by the CA.
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// A key that does not belong to `cert_file`.
    pub other_key_file: PathBuf,
    ca_pem: String,
    _dir: TempDir,
}

impl TestCa {
    pub fn new() -> TestCa {
        let dir = TempDir::new("gridlink-test-ca");
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Gridlink throwaway test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();

        let server_key = KeyPair::generate().unwrap();
        let mut server_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        server_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let server_cert = server_params
            .signed_by(&server_key, &ca_cert, &ca_key)
            .unwrap();

        let write = |name: &str, pem: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, pem).unwrap();
            path
        };
        let ca_pem = ca_cert.pem();
        TestCa {
            ca_file: write("ca.pem", &ca_pem),
            cert_file: write("server.pem", &server_cert.pem()),
            key_file: write("server-key.pem", &server_key.serialize_pem()),
            other_key_file: write(
                "other-key.pem",
                &KeyPair::generate().unwrap().serialize_pem(),
            ),
            ca_pem,
            _dir: dir,
        }
    }

    /// A rustls server configuration with the issued certificate.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        server::infra::https::load_server_config(&self.cert_file, &self.key_file).unwrap()
    }

    /// The roots Gridlink would load from `SSL_CERT_FILE` pointing at the CA.
    pub fn trust_roots(&self) -> server::infra::outbound::TrustRoots {
        server::infra::outbound::TrustRoots::load(Some(&self.ca_file)).unwrap()
    }

    /// A TLS client configuration that trusts only this CA, for tests that
    /// speak to a server byte by byte.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        use rustls_pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls_pki_types::CertificateDer::from_pem_slice(self.ca_pem.as_bytes()).unwrap())
            .unwrap();
        Arc::new(
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
        )
    }

    /// An HTTP client of the tests' own that trusts only this CA.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }
}

/// Serves `router` over HTTPS on 127.0.0.1, port 0, with `config`; returns
/// the port. Stops when `shutdown` is cancelled.
pub async fn serve_https(
    router: axum::Router,
    config: Arc<rustls::ServerConfig>,
    shutdown: tokio_util::sync::CancellationToken,
) -> u16 {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let listener = server::infra::https::TlsListener::new(tcp, config, shutdown.clone()).unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
            .ok();
    });
    port
}
