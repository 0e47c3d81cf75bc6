//! The readiness check's database probe, shared by every `GET /api/ready` of
//! this process and run at most once a second whatever the traffic (case 48).

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::infra::store::{outage, Database};

/// How long one database check answers every readiness request.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// An outage a request met this recently keeps readiness failing even when
/// the probe's own write succeeds; with no traffic, it recovers after this.
const OUTAGE_MET_WITHIN: Duration = Duration::from_secs(5);

/// The last database check, shared by every readiness request of this process.
#[derive(Debug, Default)]
pub struct Readiness {
    last: Mutex<Option<(Instant, &'static str)>>,
}

impl Readiness {
    /// `"ok"`, `"unreachable"` or `"not writable"`: the last check if it is
    /// younger than a second, otherwise a new one (requests arriving during
    /// it wait for its answer instead of probing again).
    pub async fn database(&self, db: &Database, now_ms: i64) -> &'static str {
        let mut last = self.last.lock().await;
        if let Some((at, answer)) = *last {
            if at.elapsed() < PROBE_EVERY {
                return answer;
            }
        }
        let answer = probe(db, now_ms).await;
        *last = Some((Instant::now(), answer));
        answer
    }
}

/// One line per outage, not one per probe: a request that met it first has
/// logged it already.
async fn probe(db: &Database, now_ms: i64) -> &'static str {
    if let Err(error) = db.ping().await {
        if !outage::under_way() {
            tracing::warn!(
                error = format!("{error:#}"),
                "readiness: database unreachable"
            );
        }
        return "unreachable";
    }
    match db.probe_write(now_ms).await {
        // The probe's one row went in, yet requests just met an outage.
        Ok(()) => match outage::met_within(OUTAGE_MET_WITHIN) {
            Some(outage::Outage::StorageFull) => "not writable",
            Some(outage::Outage::Unreachable) => "unreachable",
            None => {
                outage::served();
                "ok"
            }
        },
        Err(error) => {
            if !outage::under_way() {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "readiness: database not writable"
                );
            }
            "not writable"
        }
    }
}
