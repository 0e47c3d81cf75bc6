//! Hostile case 36: clients that trickle their headers or bodies, or sit on
//! idle connections, are closed in time while normal clients are served, and
//! open connections are capped; over plain HTTP and HTTPS alike.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::tls::TestCa;
use common::{spawn_app_with, Backend, TestApp, TestAppOptions};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// The limits of these tests' servers: short, so that the tests are too.
fn tight_limits() -> Vec<String> {
    vec![
        "--header-timeout=2s".to_owned(),
        "--body-timeout=2s".to_owned(),
        "--max-connections=16".to_owned(),
    ]
}

/// A connection to the app, over TLS when it serves HTTPS.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

struct Target {
    port: u16,
    tls: Option<(Arc<rustls::ClientConfig>, TestCa)>,
}

impl Target {
    async fn connect(&self) -> Box<dyn Stream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        match &self.tls {
            None => Box::new(tcp),
            Some((config, _)) => {
                let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
                let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
                Box::new(connector.connect(name, tcp).await.unwrap())
            }
        }
    }
}

async fn app(tls: bool) -> (TestApp, Target) {
    let ca = tls.then(TestCa::new);
    let app = spawn_app_with(
        Backend::Sqlite,
        TestAppOptions {
            tls: ca
                .as_ref()
                .map(|ca| (ca.cert_file.clone(), ca.key_file.clone())),
            extra_args: tight_limits(),
            ..TestAppOptions::default()
        },
    )
    .await;
    let port = reqwest::Url::parse(&app.base_url).unwrap().port().unwrap();
    let target = Target {
        port,
        tls: ca.map(|ca| (ca.client_config(), ca)),
    };
    (app, target)
}

/// Sends `first`, then `drip` every 300 ms, until the server closes the
/// connection (or answers and closes); how long that took.
async fn trickle(mut stream: Box<dyn Stream>, first: &str, drip: &str) -> Duration {
    let started = Instant::now();
    stream.write_all(first.as_bytes()).await.unwrap();
    let mut buffer = [0u8; 4096];
    while started.elapsed() < Duration::from_secs(20) {
        if stream.write_all(drip.as_bytes()).await.is_err() {
            return started.elapsed();
        }
        match tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buffer)).await {
            Err(_) => {}
            // An answer (408 or 400) is followed by the close.
            Ok(Ok(read)) if read > 0 => {}
            Ok(_) => return started.elapsed(),
        }
    }
    panic!("the server kept a trickling connection open for 20 s");
}

/// One whole request on a fresh connection; its status line.
async fn request(target: &Target, raw: &str) -> String {
    let mut stream = target.connect().await;
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

const HEALTH: &str = "GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

async fn slow_clients_are_closed_in_time_while_others_are_served(tls: bool) {
    let (_app, target) = app(tls).await;
    let mut slow = Vec::new();
    for _ in 0..6 {
        let stream = target.connect().await;
        slow.push(tokio::spawn(trickle(
            stream,
            "GET /api/health HTTP/1.1\r\nHost: localhost\r\n",
            "X-Slow: 1\r\n",
        )));
    }
    // A body that never arrives whole, and a keep-alive connection left idle.
    let stream = target.connect().await;
    let body = tokio::spawn(trickle(
        stream,
        "POST /api/session HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: 1000\r\n\r\n{\"email\":",
        " ",
    ));
    let idle = {
        let mut stream = target.connect().await;
        stream
            .write_all(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        tokio::spawn(async move {
            let started = Instant::now();
            let mut buffer = [0u8; 4096];
            // The answer, then nothing until the server closes the idle connection.
            loop {
                match tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buffer)).await
                {
                    Err(_) => panic!("an idle keep-alive connection stayed open for 20 s"),
                    Ok(Ok(read)) if read > 0 => {}
                    // Closed (over TLS, perhaps without a close_notify).
                    Ok(_) => return started.elapsed(),
                }
            }
        })
    };

    // Meanwhile, normal clients are served.
    for _ in 0..5 {
        let started = Instant::now();
        assert_eq!(request(&target, HEALTH).await, "HTTP/1.1 200 OK");
        assert!(started.elapsed() < Duration::from_secs(2));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    for task in slow {
        let closed_after = task.await.unwrap();
        assert!(
            (Duration::from_millis(1500)..Duration::from_secs(6)).contains(&closed_after),
            "a trickling header was closed after {closed_after:?}"
        );
    }
    let body_closed_after = body.await.unwrap();
    assert!(
        body_closed_after < Duration::from_secs(6),
        "a trickling body was closed after {body_closed_after:?}"
    );
    let idle_closed_after = idle.await.unwrap();
    assert!(
        (Duration::from_millis(1500)..Duration::from_secs(6)).contains(&idle_closed_after),
        "an idle connection was closed after {idle_closed_after:?}"
    );
}

async fn open_connections_are_capped(tls: bool) {
    let (_app, target) = app(tls).await;
    // Sixteen connections that say nothing take every slot...
    let mut held = Vec::new();
    for _ in 0..16 {
        held.push(target.connect().await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ...so the next one is closed at once (over TLS, after its handshake),
    // and nothing is answered on it.
    let refused = {
        let mut stream = target.connect().await;
        let _ = stream.write_all(HEALTH.as_bytes()).await;
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(1), stream.read_to_end(&mut answer))
            .await
            .expect("a connection over the cap was kept open")
            .ok();
        answer
    };
    assert!(refused.is_empty(), "{}", String::from_utf8_lossy(&refused));
    // Once the silent ones reach the header deadline, their slots are free.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(request(&target, HEALTH).await, "HTTP/1.1 200 OK");
    drop(held);
}

#[tokio::test]
async fn case_36_slow_clients_are_closed_in_time_over_http() {
    slow_clients_are_closed_in_time_while_others_are_served(false).await;
}

#[tokio::test]
async fn case_36_slow_clients_are_closed_in_time_over_https() {
    slow_clients_are_closed_in_time_while_others_are_served(true).await;
}

#[tokio::test]
async fn case_36_open_connections_are_capped_over_http() {
    open_connections_are_capped(false).await;
}

#[tokio::test]
async fn case_36_open_connections_are_capped_over_https() {
    open_connections_are_capped(true).await;
}
