//! Serving HTTPS directly (`GRIDLINK_TLS_CERT` / `GRIDLINK_TLS_KEY`), for
//! single-binary deployments without a TLS-terminating proxy. Handshakes run
//! in their own tasks with a deadline, so a client that stalls mid-handshake
//! never holds up the others; finished connections are handed to the HTTP
//! server (`http::serving`).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::infra::config::{ConfigError, TLS_CERT, TLS_KEY};

/// How long a client has to finish the TLS handshake.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for the HTTP server to take them.
const READY_QUEUE: usize = 64;

/// Reads the certificate chain and its key, checking that they belong together.
pub fn load_server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, ConfigError> {
    let chain_pem = std::fs::read(cert).map_err(|error| {
        ConfigError::new(TLS_CERT, format!("cannot read {}: {error}", cert.display()))
    })?;
    let chain = CertificateDer::pem_slice_iter(&chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .ok()
        .filter(|chain| !chain.is_empty())
        .ok_or_else(|| {
            ConfigError::new(
                TLS_CERT,
                format!("{} holds no PEM certificate", cert.display()),
            )
        })?;
    let key_pem = std::fs::read(key).map_err(|error| {
        ConfigError::new(TLS_KEY, format!("cannot read {}: {error}", key.display()))
    })?;
    let private_key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| {
        ConfigError::new(
            TLS_KEY,
            format!("{} holds no PEM private key", key.display()),
        )
    })?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default protocol versions")
            .with_no_client_auth()
            .with_single_cert(chain, private_key)
            .map_err(|error| {
                ConfigError::new(
                    TLS_KEY,
                    format!(
                        "{} does not fit the certificate in {} ({error})",
                        key.display(),
                        cert.display()
                    ),
                )
            })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A listener that yields TLS connections whose handshake has finished.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `tcp`; stops when `shutdown` is cancelled.
    pub fn new(
        tcp: TcpListener,
        config: Arc<ServerConfig>,
        shutdown: CancellationToken,
    ) -> std::io::Result<TlsListener> {
        let local_addr = tcp.local_addr()?;
        let (sender, ready) = mpsc::channel(READY_QUEUE);
        tokio::spawn(accept_loop(
            tcp,
            TlsAcceptor::from(config),
            sender,
            shutdown,
        ));
        Ok(TlsListener { ready, local_addr })
    }
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = tcp.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_DEADLINE, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl TlsListener {
    /// The next handshaken connection and its peer.
    pub async fn accept(&mut self) -> (TlsStream<TcpStream>, SocketAddr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop stopped (shutdown): wait for the server's own shutdown.
            None => std::future::pending().await,
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}
