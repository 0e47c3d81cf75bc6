//! Each job run observed: a trace span, its duration, when it last finished
//! and how far behind its schedule the job is (the metrics
//! `gridlink_job_*`), for this process's jobs.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::infra::metrics::{JOB_LAG, JOB_LAST_RUN, JOB_RUN_DURATION};

/// A job's name (in logs, traces and metrics) and how often it runs, or
/// polls when nothing wakes it.
#[derive(Debug, Clone, Copy)]
pub struct Cadence {
    pub job: &'static str,
    pub every: Duration,
}

impl Cadence {
    pub fn new(job: &'static str, every: Duration) -> Cadence {
        Cadence { job, every }
    }

    /// The span one run of the job runs in.
    pub fn span(self) -> tracing::Span {
        let span = tracing::info_span!(
            "job run",
            otel.name = %format_args!("job {}", self.job),
            job = self.job,
            trace_id = tracing::field::Empty,
        );
        if let Some(trace_id) = crate::infra::trace_context::trace_id(&span) {
            span.record("trace_id", trace_id);
        }
        span
    }

    /// Starts timing one run; [`Run::finished`] records it.
    pub fn start(self) -> Run {
        Run {
            cadence: self,
            started: Instant::now(),
        }
    }
}

/// One run of a job, being timed.
#[derive(Debug)]
pub struct Run {
    cadence: Cadence,
    started: Instant,
}

impl Run {
    pub fn finished(self) {
        let job = self.cadence.job;
        metrics::histogram!(JOB_RUN_DURATION, "job" => job).record(self.started.elapsed());
        let unix_seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64());
        metrics::gauge!(JOB_LAST_RUN, "job" => job).set(unix_seconds);
        last_runs().insert(job, (Instant::now(), self.cadence.every));
    }
}

/// When each job last finished a run, and its cadence.
static LAST_RUNS: Mutex<BTreeMap<&'static str, (Instant, Duration)>> = Mutex::new(BTreeMap::new());

fn last_runs() -> MutexGuard<'static, BTreeMap<&'static str, (Instant, Duration)>> {
    LAST_RUNS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sets each job's lag: how long since it last finished, beyond its cadence
/// (0 while on schedule). Called when metrics are scraped.
pub fn report_lag() {
    for (job, (finished, every)) in last_runs().iter() {
        let lag = finished.elapsed().saturating_sub(*every);
        metrics::gauge!(JOB_LAG, "job" => *job).set(lag.as_secs_f64());
    }
}
