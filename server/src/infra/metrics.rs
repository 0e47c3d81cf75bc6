//! Prometheus metrics: every metric Gridlink exports, named and described in
//! one place, and the process-wide recorder that renders them.
//!
//! Code anywhere records through the `metrics` macros with these names; with
//! no recorder installed (`GRIDLINK_METRICS_LISTEN` unset) they cost next to
//! nothing. Labels stay low-cardinality: route templates, utility ids, status
//! details, job names and outcomes, never an organisation, credential or path.

use std::sync::OnceLock;

use metrics::Unit;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const HTTP_REQUEST_DURATION: &str = "gridlink_http_request_duration_seconds";
pub const UTILITY_CALLS: &str = "gridlink_utility_calls_total";
pub const UTILITY_CALL_DURATION: &str = "gridlink_utility_call_duration_seconds";
pub const CREDENTIALS: &str = "gridlink_credentials";
pub const TOKENS_EXPIRING: &str = "gridlink_session_tokens_expiring";
pub const CONNECT_FLOWS_STARTED: &str = "gridlink_connect_flows_started_total";
pub const CONNECT_STEPS_REACHED: &str = "gridlink_connect_steps_reached_total";
pub const CONNECT_FLOWS_FINISHED: &str = "gridlink_connect_flows_finished_total";
pub const WEBHOOK_BACKLOG: &str = "gridlink_webhook_backlog";
pub const WEBHOOK_BACKLOG_OLDEST_AGE: &str = "gridlink_webhook_backlog_oldest_age_seconds";
pub const WEBHOOK_DELIVERIES: &str = "gridlink_webhook_delivery_attempts_total";
pub const MAIL_BACKLOG: &str = "gridlink_mail_backlog";
pub const MAIL_BACKLOG_OLDEST_AGE: &str = "gridlink_mail_backlog_oldest_age_seconds";
pub const MAIL_DELIVERIES: &str = "gridlink_mail_delivery_attempts_total";
pub const JOB_LAST_RUN: &str = "gridlink_job_last_run_timestamp_seconds";
pub const JOB_LAG: &str = "gridlink_job_lag_seconds";
pub const JOB_RUN_DURATION: &str = "gridlink_job_run_duration_seconds";
pub const UTILITY_INCIDENTS_OPEN: &str = "gridlink_utility_incidents_open";
pub const SIGN_IN_FAILURES: &str = "gridlink_sign_in_failures_total";
pub const RATE_LIMIT_REFUSALS: &str = "gridlink_rate_limit_refusals_total";
pub const SQLITE_WRITER_QUEUE: &str = "gridlink_sqlite_writer_queue_depth";
pub const DATABASE_OUTAGES: &str = "gridlink_database_outages_total";

/// Bucket bounds of every `_seconds` histogram: from a quick local read to a
/// utility's whole timeout.
const SECONDS_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's recorder (once; later calls return the same handle)
/// and describes every metric, so each has its `# HELP` and `# TYPE`.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)?
        .build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        // Another thread won the race: its recorder is the one in use.
        return HANDLE
            .get()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("another metrics recorder is installed"));
    }
    describe_all();
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// Whether a recorder is installed: callers that build labels (allocating)
/// check it first, so a server without metrics pays nothing for them.
pub fn enabled() -> bool {
    HANDLE.get().is_some()
}

fn describe_all() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "HTTP requests served, by method, route template and status class."
    );
    describe_counter!(
        UTILITY_CALLS,
        "Calls to utility adapters, by utility, call and outcome."
    );
    describe_histogram!(
        UTILITY_CALL_DURATION,
        Unit::Seconds,
        "How long calls to utility adapters took, by utility and call."
    );
    describe_gauge!(
        CREDENTIALS,
        "Active credentials by status detail (from the credential counts)."
    );
    describe_gauge!(
        TOKENS_EXPIRING,
        "Connected credentials whose session token expires within the warning window."
    );
    describe_counter!(CONNECT_FLOWS_STARTED, "Connect flows started.");
    describe_counter!(
        DATABASE_OUTAGES,
        "Episodes in which the database could not serve (reason: unreachable, storage_full); requests meanwhile answer 503."
    );
    describe_counter!(
        CONNECT_STEPS_REACHED,
        "Connect flows reaching a step (connecting, choose_method, enter_code)."
    );
    describe_counter!(
        CONNECT_FLOWS_FINISHED,
        "Connect flows finished, by outcome (succeeded, failed)."
    );
    describe_gauge!(WEBHOOK_BACKLOG, "Webhook deliveries waiting to be sent.");
    describe_gauge!(
        WEBHOOK_BACKLOG_OLDEST_AGE,
        Unit::Seconds,
        "Age of the oldest webhook delivery waiting to be sent."
    );
    describe_counter!(
        WEBHOOK_DELIVERIES,
        "Webhook delivery attempts, by outcome (delivered, retrying, given_up)."
    );
    describe_gauge!(MAIL_BACKLOG, "Mail messages waiting to be sent.");
    describe_gauge!(
        MAIL_BACKLOG_OLDEST_AGE,
        Unit::Seconds,
        "Age of the oldest mail message waiting to be sent."
    );
    describe_counter!(
        MAIL_DELIVERIES,
        "Mail delivery attempts, by outcome (delivered, retrying, given_up)."
    );
    describe_gauge!(
        JOB_LAST_RUN,
        Unit::Seconds,
        "When each background job of this process last finished a run (Unix time)."
    );
    describe_gauge!(
        JOB_LAG,
        Unit::Seconds,
        "How far each background job is behind its schedule (0 when on time)."
    );
    describe_histogram!(
        JOB_RUN_DURATION,
        Unit::Seconds,
        "How long each background job's runs took."
    );
    describe_gauge!(UTILITY_INCIDENTS_OPEN, "Open utility incidents.");
    describe_counter!(
        SIGN_IN_FAILURES,
        "Operator sign-ins refused, by reason (wrong_password, too_many_failures)."
    );
    describe_counter!(
        RATE_LIMIT_REFUSALS,
        "Requests refused with 429, by limit (client, unauthenticated)."
    );
    describe_gauge!(
        SQLITE_WRITER_QUEUE,
        "Writers waiting for SQLite's one write connection."
    );
}
