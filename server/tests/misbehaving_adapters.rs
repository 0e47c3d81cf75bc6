//! A utility adapter that misbehaves at the level of bytes: it resets the
//! connection, cuts its body short, answers something that is not JSON or a
//! status the protocol does not know, or stalls mid-body past the timeout.
//! Each answer is classified (unavailable, or a protocol error), reads are
//! retried only when the failure is one that may pass, calls with effects
//! (log in) never are, nothing panics — and a credential whose login meets
//! any of it ends at PROVIDER_WEBSITE_INACCESSIBLE with the incident
//! counted, never stuck at CONNECTING. (An answer larger than the cap is
//! `utility_answers.rs`'.)

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{expect_json, spawn_app_with, Backend, TestAppOptions};
use serde_json::json;
use server::infra::utility::http::{HttpUtilityConnector, RetryPolicy};
use server::infra::utility::{SecretToken, UtilityConnector, UtilityError};
use shared::validation::{Password, Username};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Misbehaviour {
    ResetConnection,
    TruncatedBody,
    NotJson,
    UnknownStatus,
    StallMidBody,
}

const CATALOGUE: &str =
    r#"[{"id":"broken-power","name":"Broken Power","mfaMethods":["SMS"],"tokenLifetimeDays":30}]"#;

/// The broken adapter: the catalogue it answers properly (so Gridlink
/// starts); every other request meets the current misbehaviour.
struct BrokenAdapter {
    url: String,
    misbehaviour: Arc<Mutex<Misbehaviour>>,
    /// Requests other than the catalogue's.
    calls: Arc<AtomicUsize>,
}

impl BrokenAdapter {
    async fn start(misbehaviour: Misbehaviour) -> BrokenAdapter {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let current = Arc::new(Mutex::new(misbehaviour));
        let calls = Arc::new(AtomicUsize::new(0));
        {
            let current = Arc::clone(&current);
            let calls = Arc::clone(&calls);
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let misbehaviour = *current.lock().unwrap();
                    let calls = Arc::clone(&calls);
                    tokio::spawn(answer(stream, misbehaviour, calls));
                }
            });
        }
        BrokenAdapter {
            url,
            misbehaviour: current,
            calls,
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// Reads one request (head and body) and answers it as `misbehaviour` says.
async fn answer(mut stream: TcpStream, misbehaviour: Misbehaviour, calls: Arc<AtomicUsize>) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        let Ok(read) = stream.read(&mut buffer).await else {
            return;
        };
        if read == 0 {
            return;
        }
        request.extend_from_slice(&buffer[..read]);
        if let Some(end) = request.windows(4).position(|window| window == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_lowercase();
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while request.len() < head_end + length {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => request.extend_from_slice(&buffer[..read]),
        }
    }
    if head.starts_with("get /api/utilities ") {
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{CATALOGUE}",
            CATALOGUE.len()
        );
        let _ = stream.write_all(reply.as_bytes()).await;
        return;
    }
    calls.fetch_add(1, Ordering::SeqCst);
    let head_with = |status: &str, length: usize| {
        format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n")
    };
    match misbehaviour {
        Misbehaviour::ResetConnection => {
            // SO_LINGER 0: closing sends a reset, not a goodbye. (Tokio
            // deprecates it because a non-zero linger blocks on drop; a zero
            // one closes at once.)
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
            drop(stream);
        }
        Misbehaviour::TruncatedBody => {
            let _ = stream
                .write_all(format!("{}{{\"accou", head_with("200 OK", 200)).as_bytes())
                .await;
        }
        Misbehaviour::NotJson => {
            let body = "<html><body>Service busy, please wait</body></html>";
            let _ = stream
                .write_all(format!("{}{body}", head_with("200 OK", body.len())).as_bytes())
                .await;
        }
        Misbehaviour::UnknownStatus => {
            let body = r#"{"teapot":true}"#;
            let _ = stream
                .write_all(
                    format!("{}{body}", head_with("418 I'm a teapot", body.len())).as_bytes(),
                )
                .await;
        }
        Misbehaviour::StallMidBody => {
            let _ = stream
                .write_all(format!("{}[{{\"number\":", head_with("200 OK", 100)).as_bytes())
                .await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    }
}

fn connector(url: &str) -> HttpUtilityConnector {
    HttpUtilityConnector::new(
        reqwest::Url::parse(url).unwrap(),
        Duration::from_millis(700),
        RetryPolicy {
            attempts: 3,
            first_delay: Duration::from_millis(10),
        },
        &server::infra::outbound::TrustRoots::only(Vec::new()),
    )
    .unwrap()
}

#[tokio::test]
async fn each_misbehaviour_is_classified_and_retried_only_where_safe() {
    // (misbehaviour, unavailable (may pass: reads retried) or a protocol error)
    for (misbehaviour, unavailable) in [
        (Misbehaviour::ResetConnection, true),
        (Misbehaviour::TruncatedBody, false),
        (Misbehaviour::NotJson, false),
        (Misbehaviour::UnknownStatus, false),
        (Misbehaviour::StallMidBody, true),
    ] {
        let adapter = BrokenAdapter::start(misbehaviour).await;
        let connector = connector(&adapter.url);
        let read = connector
            .accounts("broken-power", &SecretToken::new("token".into()))
            .await
            .unwrap_err();
        match (&read, unavailable) {
            (UtilityError::Unavailable(_), true) | (UtilityError::Protocol(_), false) => {}
            _ => panic!("{misbehaviour:?}: a read came back as {read:?}"),
        }
        let reads = adapter.calls();
        assert_eq!(
            reads,
            if unavailable { 3 } else { 1 },
            "{misbehaviour:?}: a read is tried again only when the failure may pass"
        );
        let login = connector
            .login(
                "broken-power",
                &Username::parse("someone").unwrap(),
                &Password::parse("pass_good").unwrap(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                login,
                UtilityError::Unavailable(_) | UtilityError::Protocol(_)
            ),
            "{misbehaviour:?}: a login came back as {login:?}"
        );
        assert_eq!(
            adapter.calls(),
            reads + 1,
            "{misbehaviour:?}: a login (it has effects) is never sent twice"
        );
    }
}

async fn a_login_that_meets_a_broken_adapter_never_stays_connecting(backend: Backend) {
    let adapter = BrokenAdapter::start(Misbehaviour::ResetConnection).await;
    let app = spawn_app_with(
        backend,
        TestAppOptions {
            utility_url: Some(adapter.url.clone()),
            ..TestAppOptions::default()
        },
    )
    .await;
    let org = app.organisation("Broken Co").await;
    for (n, misbehaviour) in [
        Misbehaviour::ResetConnection,
        Misbehaviour::TruncatedBody,
        Misbehaviour::NotJson,
        Misbehaviour::UnknownStatus,
        Misbehaviour::StallMidBody,
    ]
    .into_iter()
    .enumerate()
    {
        *adapter.misbehaviour.lock().unwrap() = misbehaviour;
        let created = expect_json(
            org.api
                .post(
                    "/api/v1/credentials",
                    json!({"utilityId": "broken-power", "username": format!("someone{n}"), "password": "pass_good"}),
                )
                .await,
            201,
        )
        .await;
        let id = created["id"].as_str().unwrap();
        app.wait_for_detail(&org.api, id, "PROVIDER_WEBSITE_INACCESSIBLE")
            .await;
    }
    // Each failure counts toward the utility's incidents.
    server::jobs::incident_watch::watch_once(&app.state().job_ctx())
        .await
        .unwrap();
    let (failures,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(failures), 0) AS BIGINT) FROM utility_call_tallies WHERE utility_id = 'broken-power'",
    )
    .fetch_one(app.state().db.pool())
    .await
    .unwrap();
    assert!(failures >= 5, "{failures} failures counted");
    app.stop().await.unwrap();
}

database_tests!(a_login_that_meets_a_broken_adapter_never_stays_connecting);
