//! Calling utilities, watched: [`ObservedConnector`] wraps the real connector,
//! holds each utility's calls under the in-flight ceiling
//! (`GRIDLINK_UTILITY_MAX_IN_FLIGHT`) and adds each call's outcome to a
//! [`CallTally`] in memory; the incident watch moves the counts into the
//! database every few seconds, so a call costs no database write and every
//! replica's calls count. Each call is also a trace span and two metrics
//! (outcome and latency, per utility and call).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use std::future::Future;
use std::time::Instant;

use async_trait::async_trait;
use shared::validation::{OtpCode, Password, Username};
use shared::MfaMethod;
use tracing::Instrument;

use crate::infra::clock::Clock;
use crate::infra::metrics as metrics_names;
use crate::infra::utility::in_flight::InFlightSlots;
use crate::infra::utility::{
    Account, CodeSent, LoginOutcome, SecretToken, SessionToken, Statement, UtilityConnector,
    UtilityError, UtilityInfo,
};

const MINUTE_MS: i64 = 60_000;

/// Calls and availability failures per utility and minute, not yet stored.
#[derive(Debug, Clone, Default)]
pub struct CallTally {
    counts: Arc<Mutex<HashMap<TallyKey, Counts>>>,
}

/// `(utility_id, minute)`, the minute as the milliseconds of its start.
type TallyKey = (String, i64);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub calls: i64,
    pub failures: i64,
}

impl CallTally {
    pub fn record(&self, utility_id: &str, at_ms: i64, failed: bool) {
        let minute = at_ms - at_ms.rem_euclid(MINUTE_MS);
        let mut counts = self.lock();
        let entry = counts.entry((utility_id.to_owned(), minute)).or_default();
        entry.calls += 1;
        entry.failures += i64::from(failed);
    }

    /// Everything counted so far, leaving the tally empty.
    pub fn take(&self) -> Vec<(TallyKey, Counts)> {
        self.lock().drain().collect()
    }

    /// Puts counts back that could not be stored, so none is lost.
    pub fn put_back(&self, taken: Vec<(TallyKey, Counts)>) {
        let mut counts = self.lock();
        for (key, more) in taken {
            let entry = counts.entry(key).or_default();
            entry.calls += more.calls;
            entry.failures += more.failures;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TallyKey, Counts>> {
        // A panic while holding the lock leaves plain counts behind: keep them.
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A [`UtilityConnector`] that keeps each utility's calls in flight under a
/// ceiling and counts each call's outcome per utility. Only "not answering"
/// counts as a failure: a wrong password is an answer.
pub struct ObservedConnector {
    inner: Arc<dyn UtilityConnector>,
    slots: InFlightSlots,
    tally: CallTally,
    clock: Clock,
}

impl ObservedConnector {
    pub fn new(
        inner: Arc<dyn UtilityConnector>,
        slots: InFlightSlots,
        tally: CallTally,
        clock: Clock,
    ) -> Self {
        ObservedConnector {
            inner,
            slots,
            tally,
            clock,
        }
    }

    /// Runs `call` (named `name`) to `utility` in a free in-flight slot,
    /// inside its own span, and counts how it went.
    async fn observe<T>(
        &self,
        utility: &str,
        name: &'static str,
        call: impl Future<Output = Result<T, UtilityError>>,
    ) -> Result<T, UtilityError> {
        let span = tracing::info_span!(
            "utility call",
            otel.name = %format_args!("utility {name}"),
            otel.kind = "client",
            utility,
            call = name,
            outcome = tracing::field::Empty,
        );
        async {
            let _slot = self.slots.take(utility).await;
            let started = Instant::now();
            let result = call.await;
            let outcome = match &result {
                Ok(_) => "ok",
                Err(error) => error.kind(),
            };
            tracing::Span::current().record("outcome", outcome);
            if metrics_names::enabled() {
                let labels = [("utility", utility.to_owned()), ("call", name.to_owned())];
                metrics::histogram!(metrics_names::UTILITY_CALL_DURATION, &labels)
                    .record(started.elapsed());
                metrics::counter!(
                    metrics_names::UTILITY_CALLS,
                    &[
                        ("utility", utility.to_owned()),
                        ("call", name.to_owned()),
                        ("outcome", outcome.to_owned())
                    ]
                )
                .increment(1);
            }
            // Not answering, or answering what the protocol does not allow
            // (a cut body, not JSON, an unknown status): the utility's
            // failure either way, and its incidents count both.
            let failed = matches!(
                &result,
                Err(UtilityError::Unavailable(_) | UtilityError::Protocol(_))
            );
            self.tally.record(utility, self.clock.now_ms(), failed);
            result
        }
        .instrument(span)
        .await
    }
}

#[async_trait]
impl UtilityConnector for ObservedConnector {
    async fn list_utilities(&self) -> Result<Vec<UtilityInfo>, UtilityError> {
        self.inner.list_utilities().await
    }

    async fn login(
        &self,
        utility: &str,
        username: &Username,
        password: &Password,
    ) -> Result<LoginOutcome, UtilityError> {
        self.observe(
            utility,
            "login",
            self.inner.login(utility, username, password),
        )
        .await
    }

    async fn send_code(
        &self,
        utility: &str,
        challenge_id: &str,
        method: MfaMethod,
    ) -> Result<CodeSent, UtilityError> {
        self.observe(
            utility,
            "send_code",
            self.inner.send_code(utility, challenge_id, method),
        )
        .await
    }

    async fn verify_code(
        &self,
        utility: &str,
        challenge_id: &str,
        code: &OtpCode,
    ) -> Result<SessionToken, UtilityError> {
        self.observe(
            utility,
            "verify_code",
            self.inner.verify_code(utility, challenge_id, code),
        )
        .await
    }

    async fn accounts(
        &self,
        utility: &str,
        token: &SecretToken,
    ) -> Result<Vec<Account>, UtilityError> {
        self.observe(utility, "accounts", self.inner.accounts(utility, token))
            .await
    }

    async fn statements(
        &self,
        utility: &str,
        token: &SecretToken,
        account_number: &str,
    ) -> Result<Vec<Statement>, UtilityError> {
        self.observe(
            utility,
            "statements",
            self.inner.statements(utility, token, account_number),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_utility_and_minute_and_keeps_what_is_put_back() {
        let tally = CallTally::default();
        tally.record("gas", 60_000, true);
        tally.record("gas", 119_999, false);
        tally.record("gas", 120_000, true);
        tally.record("water", 60_500, false);
        let mut taken = tally.take();
        taken.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            taken,
            vec![
                (
                    ("gas".into(), 60_000),
                    Counts {
                        calls: 2,
                        failures: 1
                    }
                ),
                (
                    ("gas".into(), 120_000),
                    Counts {
                        calls: 1,
                        failures: 1
                    }
                ),
                (
                    ("water".into(), 60_000),
                    Counts {
                        calls: 1,
                        failures: 0
                    }
                ),
            ]
        );
        assert!(tally.take().is_empty());
        tally.put_back(taken);
        tally.record("gas", 60_001, true);
        let gas = tally
            .take()
            .into_iter()
            .find(|(key, _)| key == &("gas".to_owned(), 60_000))
            .unwrap();
        assert_eq!(
            gas.1,
            Counts {
                calls: 3,
                failures: 2
            }
        );
    }
}
