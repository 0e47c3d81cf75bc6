//! The webhook delivery worker: sends queued messages to their organisation's
//! endpoint, signed, and retries failures with exponential backoff for 24
//! hours. Messages are claimed with a lease (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL); each attempt is recorded, and a delivery's outcome is written
//! only by the worker that still holds its lease, so replicas never send a
//! message twice unless a worker outlives its lease mid-request.
//!
//! Delivery is fair: an organisation has at most [`PER_ORGANISATION_IN_FLIGHT`]
//! messages in flight across all replicas, and claims go round-robin (each
//! organisation's oldest first), so one slow or failing endpoint cannot hold
//! up everybody else's messages. Targets must be public addresses unless
//! `GRIDLINK_WEBHOOK_ALLOW_PRIVATE` is set (see [`address_policy`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::domain::ctx::Ctx;
use crate::domain::webhooks::endpoint;
use crate::infra::outbound::address_policy::{self, ForbiddenAddress, PublicOnlyResolver};
use crate::infra::outbound::bounded_body::{read_at_most, BoundedBody};
use crate::infra::outbound::{self, TrustRoots};
use crate::infra::webhook_signing::signature_header;

/// Messages being sent at once by this process.
const CONCURRENCY: usize = 8;
/// Messages of one organisation in flight at once, across every replica.
pub const PER_ORGANISATION_IN_FLIGHT: i64 = 2;
/// How long an endpoint has to answer, the whole exchange included.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The most of an endpoint's answer that is read and kept on the attempt.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
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

pub async fn run(ctx: Ctx, poll: Duration, shutdown: CancellationToken) -> anyhow::Result<()> {
    let client = client(&ctx.settings.trust, ctx.settings.webhook_allow_private)?;
    let wakeup = Arc::clone(&ctx.wakeups.webhooks);
    super::run_claimed(
        ctx,
        super::Cadence::new("webhook_delivery", poll),
        shutdown,
        wakeup,
        CONCURRENCY,
        |ctx, limit| async move { claim_due(&ctx, limit).await },
        move |ctx, message| {
            let client = client.clone();
            async move {
                if let Err(error) = deliver(&ctx, &client, &message).await {
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

/// The HTTP client for webhooks: TLS verified against `trust`, no redirects,
/// no proxy from the environment (the address check must see the real
/// target), and, unless `allow_private`, a resolver that refuses names
/// resolving to non-public addresses.
pub fn client(trust: &TrustRoots, allow_private: bool) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .use_preconfigured_tls(trust.client_config())
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("Gridlink-Webhooks/", env!("CARGO_PKG_VERSION")));
    if !allow_private {
        builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
    }
    Ok(builder.build()?)
}

/// Claims up to `limit` due messages, round-robin over organisations: each
/// organisation's oldest messages first, never more than its free in-flight
/// slots. The candidates are read first, then leased with a guarded UPDATE
/// (it re-checks each row, so two replicas never lease one message).
async fn claim_due(ctx: &Ctx, limit: usize) -> anyhow::Result<Vec<Claimed>> {
    let now = ctx.clock.now_ms();
    let lease_until = ctx.lease_until(now);
    super::give_up_overdue(ctx, super::RetriedQueue::WebhookDeliveries, now).await?;
    let candidates: Vec<(String,)> = sqlx::query_as(&format!(
        "WITH in_flight AS ( \
             SELECT organisation_id, COUNT(*) AS leased FROM webhook_deliveries \
              WHERE state = 'PENDING' AND lease_until > $1 GROUP BY organisation_id), \
         due AS ( \
             SELECT id, organisation_id, next_attempt_at, \
                    ROW_NUMBER() OVER (PARTITION BY organisation_id ORDER BY next_attempt_at, id) AS turn \
               FROM webhook_deliveries \
              WHERE state = 'PENDING' AND next_attempt_at <= $1 AND give_up_at > $1 \
                AND (lease_until IS NULL OR lease_until <= $1) \
                AND organisation_id NOT IN \
                    (SELECT organisation_id FROM webhook_endpoints WHERE disabled_at IS NOT NULL)) \
         SELECT due.id FROM due LEFT JOIN in_flight ON in_flight.organisation_id = due.organisation_id \
          WHERE due.turn + COALESCE(in_flight.leased, 0) <= $2 \
          ORDER BY due.turn, due.next_attempt_at LIMIT {limit}"
    ))
    .bind(now)
    .bind(PER_ORGANISATION_IN_FLIGHT)
    .fetch_all(ctx.db.pool())
    .await?;
    let rows: Vec<(String, String, String, i64, i64)> = super::lease(
        ctx,
        super::RetriedQueue::WebhookDeliveries,
        &candidates,
        "id, organisation_id, payload, attempts, give_up_at",
        now,
    )
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
    /// The start of the endpoint's answer (at most [`MAX_RESPONSE_BYTES`]).
    response_body: Option<String>,
    /// How long the endpoint asked to be left alone (`Retry-After` on a 429 or 503).
    retry_after_ms: Option<i64>,
    error: Option<String>,
    duration_ms: i64,
}

impl Attempt {
    fn refused(url: String, error: String) -> Attempt {
        Attempt {
            url,
            response_status: None,
            response_body: None,
            retry_after_ms: None,
            error: Some(error),
            duration_ms: 0,
        }
    }

    fn succeeded(&self) -> bool {
        self.response_status
            .is_some_and(|status| (200..300).contains(&status))
    }
}

#[tracing::instrument(skip_all, fields(message_id = message.id))]
async fn deliver(ctx: &Ctx, client: &reqwest::Client, message: &Claimed) -> anyhow::Result<()> {
    let Some(target) = endpoint::signing_target(ctx, &message.organisation_id).await? else {
        let attempt = Attempt::refused(
            String::new(),
            "The organisation has no webhook endpoint any more.".into(),
        );
        return finish(ctx, message, &attempt, true).await;
    };
    let url = match reqwest::Url::parse(&target.url) {
        Ok(url) => url,
        Err(_) => {
            let attempt = Attempt::refused(target.url, "The endpoint URL is not valid.".into());
            return finish(ctx, message, &attempt, false).await;
        }
    };
    if !ctx.settings.webhook_allow_private {
        // IP literals never reach the resolver hook, so they are checked here.
        if let Err(forbidden) = address_policy::check_literal_host(&url) {
            let attempt = Attempt::refused(target.url, refusal(&forbidden));
            return finish(ctx, message, &attempt, false).await;
        }
    }
    let timestamp = ctx.clock.now().unix_timestamp();
    let signature = signature_header(&target.secrets, &message.id, timestamp, &message.payload);
    let started = Instant::now();
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &message.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(message.payload.clone())
        .send()
        .await;
    let attempt = match sent {
        Ok(response) => {
            let status = response.status();
            let retry_after_ms = matches!(status.as_u16(), 429 | 503)
                .then(|| retry_after_ms(response.headers(), ctx.clock.now()))
                .flatten();
            let response_body = match read_at_most(response, MAX_RESPONSE_BYTES).await {
                Ok(BoundedBody::Complete(bytes) | BoundedBody::Truncated(bytes)) => {
                    Some(String::from_utf8_lossy(&bytes).into_owned())
                }
                Err(_) => None,
            };
            Attempt {
                url: target.url,
                response_status: Some(status.as_u16()),
                response_body: response_body.filter(|body| !body.is_empty()),
                retry_after_ms,
                error: (!status.is_success()).then(|| format!("The endpoint answered {status}.")),
                duration_ms: started.elapsed().as_millis() as i64,
            }
        }
        Err(error) => Attempt {
            url: target.url,
            response_status: None,
            response_body: None,
            retry_after_ms: None,
            error: Some(describe(&error)),
            duration_ms: started.elapsed().as_millis() as i64,
        },
    };
    if attempt.response_status == Some(410) {
        let reason = "The endpoint answered 410 Gone: nothing is sent until it is saved again.";
        if endpoint::disable(ctx, &message.organisation_id, reason).await? {
            tracing::warn!(
                organisation_id = message.organisation_id,
                "webhook endpoint answered 410 Gone; disabled until an admin saves it again"
            );
        }
    }
    finish(ctx, message, &attempt, false).await
}

/// `Retry-After` in seconds or as an HTTP date, in milliseconds from `now`.
fn retry_after_ms(headers: &reqwest::header::HeaderMap, now: time::OffsetDateTime) -> Option<i64> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<i64>() {
        return Some(seconds.max(0).saturating_mul(1000));
    }
    let at =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    Some((at - now).whole_milliseconds().max(0) as i64)
}

fn refusal(forbidden: &ForbiddenAddress) -> String {
    format!("Not sent: {forbidden} (set GRIDLINK_WEBHOOK_ALLOW_PRIVATE only for development).")
}

/// Words for a failed request, without the URL (it may carry a secret) and
/// without anything the target sent.
fn describe(error: &reqwest::Error) -> String {
    if let Some(forbidden) = outbound::find_cause::<ForbiddenAddress>(error) {
        refusal(forbidden)
    } else if let Some(tls) = outbound::describe_tls_failure(error) {
        format!("Could not connect securely: {tls}.")
    } else if error.is_timeout() {
        format!(
            "The endpoint did not answer within {} seconds.",
            TIMEOUT.as_secs()
        )
    } else if error.is_connect() {
        "Could not connect to the endpoint.".into()
    } else {
        let causes: Vec<String> = outbound::error_chain(error)
            .iter()
            .map(ToString::to_string)
            .collect();
        outbound::truncate(&format!("The request failed: {}.", causes.join(": ")), 500)
    }
}

/// Records the attempt and decides: delivered, try again later, or give up.
/// An attempt's outcome as the metrics name it, from the message's next state.
pub(super) fn attempt_outcome(next_state: &str) -> &'static str {
    match next_state {
        "DELIVERED" | "SENT" => "delivered",
        "FAILED" => "given_up",
        _ => "retrying",
    }
}

async fn finish(
    ctx: &Ctx,
    message: &Claimed,
    attempt: &Attempt,
    give_up: bool,
) -> anyhow::Result<()> {
    let now = ctx.clock.now_ms();
    let attempts = message.attempts + 1;
    let (next_state, next_attempt_at) = if attempt.succeeded() {
        ("DELIVERED", None)
    } else if give_up {
        ("FAILED", None)
    } else {
        // A receiver that asked for time (429/503 with Retry-After) gets it,
        // up to the longest pause, within the retry window.
        let asked = attempt
            .retry_after_ms
            .filter(|_| now < message.give_up_at)
            .map(|wait| now + wait.min(MAX_PAUSE_MS))
            .filter(|at| *at < message.give_up_at);
        match asked.or_else(|| next_attempt(now, attempts, message.give_up_at)) {
            Some(at) => ("PENDING", Some(at)),
            None => ("FAILED", None),
        }
    };
    let mut tx = ctx.db.begin_write().await?;
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
        "INSERT INTO webhook_attempts (delivery_id, attempted_at, url, response_status, response_body, error, duration_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&message.id)
    .bind(now)
    .bind(&attempt.url)
    .bind(attempt.response_status.map(i64::from))
    .bind(attempt.response_body.as_deref())
    .bind(attempt.error.as_deref())
    .bind(attempt.duration_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    metrics::counter!(crate::infra::metrics::WEBHOOK_DELIVERIES, "outcome" => attempt_outcome(next_state)).increment(1);
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
pub(super) fn next_attempt(now: i64, failures: i64, give_up_at: i64) -> Option<i64> {
    if now >= give_up_at {
        return None;
    }
    let mut pause = FIRST_PAUSE_MS;
    for _ in 1..failures {
        pause = (pause * 6).min(MAX_PAUSE_MS);
    }
    // Every attempt falls inside the window: claims take nothing past
    // `give_up_at` (case 38), so one planned after it would never run.
    Some(now + pause).filter(|at| *at < give_up_at)
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
        assert_eq!(
            next_attempt(window - MAX_PAUSE_MS - 1, 9, window),
            Some(window - 1)
        );
        assert_eq!(next_attempt(window - 1_000, 9, window), None);
        assert_eq!(next_attempt(window, 10, window), None);
    }
}
