//! The webhook delivery worker: sends queued messages to their organisation's
//! endpoint, signed, and retries failures with exponential backoff for 24
//! hours. Messages are claimed with a lease (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL); each attempt is recorded, and a delivery's outcome is written
//! only by the worker that still holds its lease, so replicas never send a
//! message twice unless a worker outlives its lease mid-request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::state::AppState;
use crate::store::DatabaseKind;
use crate::webhooks::endpoint;
use crate::webhooks::signing::signature_header;

/// Messages being sent at once by this process.
const CONCURRENCY: usize = 8;
/// How long an endpoint has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The pause after the first failure; each next one is six times longer, up to [`MAX_PAUSE_MS`].
const FIRST_PAUSE_MS: i64 = 5_000;
const MAX_PAUSE_MS: i64 = 6 * 60 * 60 * 1000;

/// A claimed message.
#[derive(Debug, Clone)]
struct Claimed {
    id: String,
    organisation_id: String,
    payload: String,
    attempts: i64,
    give_up_at: i64,
    lease_until: i64,
}

pub async fn run(
    state: AppState,
    poll: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Gridlink-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let wakeup = Arc::clone(&state.wakeups.webhooks);
    super::run_claimed(
        state,
        poll,
        shutdown,
        wakeup,
        CONCURRENCY,
        |state, limit| async move { claim_due(&state, limit).await },
        move |state, message| {
            let client = client.clone();
            async move {
                if let Err(error) = deliver(&state, &client, &message).await {
                    tracing::error!(
                        message_id = message.id,
                        error = format!("{error:#}"),
                        "webhook delivery failed; the lease will run out and it is tried again"
                    );
                }
            }
        },
    )
    .await
}

async fn claim_due(state: &AppState, limit: usize) -> anyhow::Result<Vec<Claimed>> {
    let now = state.clock.now_ms();
    let lease_until = now + state.settings.jobs.lease.whole_milliseconds() as i64;
    let skip_locked = match state.db.kind() {
        DatabaseKind::Postgres => "FOR UPDATE SKIP LOCKED",
        DatabaseKind::Sqlite => "",
    };
    let rows: Vec<(String, String, String, i64, i64)> = sqlx::query_as(&format!(
        "UPDATE webhook_deliveries SET lease_until = $1 \
         WHERE id IN (SELECT id FROM webhook_deliveries WHERE state = 'PENDING' AND next_attempt_at <= $2 \
                        AND (lease_until IS NULL OR lease_until <= $2) \
                      ORDER BY next_attempt_at LIMIT {limit} {skip_locked}) \
           AND state = 'PENDING' AND (lease_until IS NULL OR lease_until <= $2) \
         RETURNING id, organisation_id, payload, attempts, give_up_at"
    ))
    .bind(lease_until)
    .bind(now)
    .fetch_all(state.db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, organisation_id, payload, attempts, give_up_at)| Claimed {
                id,
                organisation_id,
                payload,
                attempts,
                give_up_at,
                lease_until,
            },
        )
        .collect())
}

/// What one attempt got.
#[derive(Debug)]
struct Attempt {
    url: String,
    response_status: Option<u16>,
    error: Option<String>,
    duration_ms: i64,
}

impl Attempt {
    fn succeeded(&self) -> bool {
        self.response_status
            .is_some_and(|status| (200..300).contains(&status))
    }
}

#[tracing::instrument(skip_all, fields(message_id = message.id))]
async fn deliver(
    state: &AppState,
    client: &reqwest::Client,
    message: &Claimed,
) -> anyhow::Result<()> {
    let Some(target) = endpoint::signing_target(state, &message.organisation_id).await? else {
        return finish(
            state,
            message,
            &Attempt {
                url: String::new(),
                response_status: None,
                error: Some("The organisation has no webhook endpoint any more.".into()),
                duration_ms: 0,
            },
            true,
        )
        .await;
    };
    let timestamp = state.clock.now().unix_timestamp();
    let signature = signature_header(&target.secrets, &message.id, timestamp, &message.payload);
    let started = Instant::now();
    let sent = client
        .post(&target.url)
        .header("content-type", "application/json")
        .header("webhook-id", &message.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(message.payload.clone())
        .send()
        .await;
    let duration_ms = started.elapsed().as_millis() as i64;
    let attempt = match sent {
        Ok(response) => {
            let status = response.status();
            Attempt {
                url: target.url,
                response_status: Some(status.as_u16()),
                error: (!status.is_success()).then(|| format!("The endpoint answered {status}.")),
                duration_ms,
            }
        }
        Err(error) => Attempt {
            url: target.url,
            response_status: None,
            error: Some(describe(&error)),
            duration_ms,
        },
    };
    finish(state, message, &attempt, false).await
}

/// Words for a failed request, without the URL (it may carry a secret).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        format!(
            "The endpoint did not answer within {} seconds.",
            TIMEOUT.as_secs()
        )
    } else if error.is_connect() {
        "Could not connect to the endpoint.".into()
    } else {
        format!("The request failed: {}.", error_chain(error))
    }
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut words = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        words.push(cause.to_string());
        source = cause.source();
    }
    words.join(": ")
}

/// Records the attempt and decides: delivered, try again later, or give up.
async fn finish(
    state: &AppState,
    message: &Claimed,
    attempt: &Attempt,
    give_up: bool,
) -> anyhow::Result<()> {
    let now = state.clock.now_ms();
    let attempts = message.attempts + 1;
    let (next_state, next_attempt_at) = if attempt.succeeded() {
        ("DELIVERED", None)
    } else if give_up {
        ("FAILED", None)
    } else {
        match next_attempt(now, attempts, message.give_up_at) {
            Some(at) => ("PENDING", Some(at)),
            None => ("FAILED", None),
        }
    };
    let mut tx = state.db.pool().begin().await?;
    let updated = sqlx::query(
        "UPDATE webhook_deliveries SET state = $1, attempts = $2, next_attempt_at = $3, lease_until = NULL, \
           delivered_at = $4, last_response_status = $5, last_error = $6 \
         WHERE id = $7 AND lease_until = $8",
    )
    .bind(next_state)
    .bind(attempts)
    .bind(next_attempt_at)
    .bind(attempt.succeeded().then_some(now))
    .bind(attempt.response_status.map(i64::from))
    .bind(attempt.error.as_deref())
    .bind(&message.id)
    .bind(message.lease_until)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        // The lease ran out meanwhile and another worker owns the message now.
        tx.rollback().await?;
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, attempted_at, url, response_status, error, duration_ms) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&message.id)
    .bind(now)
    .bind(&attempt.url)
    .bind(attempt.response_status.map(i64::from))
    .bind(attempt.error.as_deref())
    .bind(attempt.duration_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    match next_state {
        "DELIVERED" => tracing::debug!(attempts, "webhook delivered"),
        "FAILED" => tracing::warn!(attempts, error = attempt.error, "webhook given up"),
        _ => tracing::info!(
            attempts,
            error = attempt.error,
            "webhook attempt failed; retrying later"
        ),
    }
    Ok(())
}

/// When to try again after `failures` failed attempts: 5 s, 30 s, 3 min,
/// 18 min, 1.8 h, then every 6 h, with a last try at the end of the window.
/// `None` once the window has closed.
fn next_attempt(now: i64, failures: i64, give_up_at: i64) -> Option<i64> {
    if now >= give_up_at {
        return None;
    }
    let mut pause = FIRST_PAUSE_MS;
    for _ in 1..failures {
        pause = (pause * 6).min(MAX_PAUSE_MS);
    }
    Some((now + pause).min(give_up_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_and_stop_after_the_window() {
        let window = 24 * 60 * 60 * 1000;
        let pauses: Vec<i64> = (1..=6)
            .map(|failures| next_attempt(0, failures, window).unwrap())
            .collect();
        assert_eq!(
            pauses,
            [5_000, 30_000, 180_000, 1_080_000, 6_480_000, MAX_PAUSE_MS]
        );
        assert_eq!(next_attempt(window - 1_000, 9, window), Some(window));
        assert_eq!(next_attempt(window, 10, window), None);
    }
}
