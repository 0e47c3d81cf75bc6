//! A real HTTP endpoint that receives webhooks for tests: it records every
//! request and can be told to fail the first few.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio_util::sync::CancellationToken;

/// One received request.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    /// What the receiver answered.
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Inner {
    received: Mutex<Vec<Received>>,
    failures_left: AtomicUsize,
    /// How long each request waits before it is answered.
    delay: std::time::Duration,
    /// Answers for the first requests: a status and an optional `Retry-After`.
    script: Mutex<std::collections::VecDeque<(u16, Option<String>)>>,
}

/// How a [`WebhookReceiver`] behaves.
#[derive(Default)]
pub struct ReceiverOptions {
    /// Answer 500 to this many requests first.
    pub fail_first: usize,
    /// Wait this long before answering each request.
    pub delay: std::time::Duration,
    /// Serve HTTPS with this configuration (the URL then names `localhost`).
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    /// Answer the first requests with these statuses (and `Retry-After` values).
    pub script: Vec<(u16, Option<String>)>,
}

pub struct WebhookReceiver {
    pub url: String,
    inner: Arc<Inner>,
    shutdown: CancellationToken,
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl WebhookReceiver {
    /// Starts on 127.0.0.1, port 0; answers 500 to the first `fail_first` requests.
    pub async fn start(fail_first: usize) -> WebhookReceiver {
        Self::start_with(ReceiverOptions {
            fail_first,
            ..ReceiverOptions::default()
        })
        .await
    }

    pub async fn start_with(options: ReceiverOptions) -> WebhookReceiver {
        let inner = Arc::new(Inner {
            received: Mutex::default(),
            failures_left: AtomicUsize::new(options.fail_first),
            delay: options.delay,
            script: Mutex::new(options.script.into_iter().collect()),
        });
        let app = Router::new()
            .route("/hooks", post(receive))
            .with_state(Arc::clone(&inner));
        let shutdown = CancellationToken::new();
        let url = match options.tls {
            Some(config) => {
                let port = super::tls::serve_https(app, config, shutdown.clone()).await;
                format!("https://localhost:{port}/hooks")
            }
            None => {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let url = format!("http://{}/hooks", listener.local_addr().unwrap());
                let stop = shutdown.clone();
                tokio::spawn(async move {
                    axum::serve(listener, app)
                        .with_graceful_shutdown(stop.cancelled_owned())
                        .await
                        .ok();
                });
                url
            }
        };
        WebhookReceiver {
            url,
            inner,
            shutdown,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Waits (up to 20 s) until `count` requests arrived; returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "only {} of {count} webhooks arrived: {received:#?}",
                received.len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    /// The messages of `kind` about `credential_id` delivered, each once.
    /// Delivery is at least once (a test that jumps the clock past a lease
    /// can have a message sent again); a receiver deduplicates by
    /// `webhook-id`, as Standard Webhooks ask, and so does this.
    pub fn delivered(&self, kind: &str, credential_id: &str) -> Vec<serde_json::Value> {
        let mut seen = std::collections::HashSet::new();
        self.received()
            .into_iter()
            .filter(|received| received.answered == 200 && seen.insert(received.id.clone()))
            .map(|received| received.json())
            .filter(|body| body["type"] == kind && body["data"]["credentialId"] == credential_id)
            .collect()
    }

    /// Waits (up to 15 s) for a delivered message of `kind` about `credential_id`; returns it.
    pub async fn wait_for_delivered(&self, kind: &str, credential_id: &str) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            if let Some(message) = self.delivered(kind, credential_id).into_iter().next() {
                return message;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {kind} for {credential_id}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    /// How many different messages were answered 2xx.
    pub fn delivered_count(&self) -> usize {
        let ids: std::collections::HashSet<String> = self
            .received()
            .into_iter()
            .filter(|received| (200..300).contains(&received.answered))
            .map(|received| received.id)
            .collect();
        ids.len()
    }

    /// How many different messages arrived.
    pub fn distinct_messages(&self) -> usize {
        let ids: std::collections::HashSet<String> = self
            .received()
            .into_iter()
            .map(|received| received.id)
            .collect();
        ids.len()
    }
}

async fn receive(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, HeaderMap) {
    if !inner.delay.is_zero() {
        tokio::time::sleep(inner.delay).await;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let fail = inner
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
            left.checked_sub(1)
        })
        .is_ok();
    let scripted = inner.script.lock().unwrap().pop_front();
    let mut answer_headers = HeaderMap::new();
    let status = match scripted {
        Some((status, retry_after)) => {
            if let Some(retry_after) = retry_after {
                answer_headers.insert("retry-after", retry_after.parse().unwrap());
            }
            StatusCode::from_u16(status).unwrap()
        }
        None if fail => StatusCode::INTERNAL_SERVER_ERROR,
        None => StatusCode::OK,
    };
    inner.received.lock().unwrap().push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
        answered: status.as_u16(),
    });
    (status, answer_headers)
}

/// Verifies a message as the Standard Webhooks specification describes:
/// base64-decode the secret after `whsec_`, HMAC-SHA256 over
/// `"{id}.{timestamp}.{body}"`, base64, and compare with each `v1,` entry of
/// the space-separated signature header.
pub fn verify(secret: &str, received: &Received) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .expect("a base64 secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", received.id, received.timestamp, received.body).as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    received
        .signature
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .any(|signature| signature == expected)
}
