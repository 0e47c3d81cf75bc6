//! The sandbox's memory: challenges, sessions, the outbox, lockouts, faults
//! and its own clock (which the admin API can move forward).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use rand::{Rng, RngCore};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::infra::webhook_signing::SigningSecret;

/// A one-time code that was sent; the same code is re-sent while it is valid.
#[derive(Debug, Clone)]
pub struct IssuedCode {
    pub value: String,
    pub expires_at: OffsetDateTime,
}

/// A login waiting for its second factor.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub utility_id: &'static str,
    pub username: String,
    pub methods: Vec<&'static str>,
    pub expires_at: OffsetDateTime,
    pub code: Option<IssuedCode>,
    pub sends: u32,
    pub wrong_codes: u32,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub utility_id: &'static str,
    pub username: String,
    pub expires_at: OffsetDateTime,
    /// When the token was last used (issued, or a read with it).
    pub last_used_at: OffsetDateTime,
}

/// A code "sent" to a person, as the outbox shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxEntry {
    pub utility: String,
    pub utility_id: String,
    pub username: String,
    pub method: String,
    pub destination: String,
    pub code: String,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
}

/// Faults an operator or a test switches on for one utility.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Faults {
    /// Every call answers 503.
    pub down: bool,
    /// Added to every answer.
    pub latency_ms: u64,
    /// This share (0 to 1) of calls answers 500.
    pub failure_rate: f64,
    /// The next this-many calls answer 503, then calls work again.
    pub fail_next: u32,
}

#[derive(Debug, Default)]
pub struct SandboxData {
    pub clock_offset: Duration,
    /// Signed request ids seen in the last 5 minutes, with their timestamps: a replay is refused.
    pub seen_requests: HashMap<String, i64>,
    pub challenges: HashMap<String, Challenge>,
    pub sessions: HashMap<String, Session>,
    pub outbox: Vec<OutboxEntry>,
    /// Messages the mail catcher took, oldest first.
    pub mail: Vec<CaughtMail>,
    /// The mail catcher turns every connection away while set.
    pub mail_down: bool,
    /// (utility id, username) → locked until.
    pub lockouts: HashMap<(&'static str, String), OffsetDateTime>,
    pub faults: HashMap<&'static str, Faults>,
    /// utility id → call name (`login`, `sendCode`, …) → calls received.
    pub calls: HashMap<&'static str, HashMap<&'static str, u64>>,
    /// utility id → calls being answered now, and the most there ever were at once.
    pub in_flight: HashMap<&'static str, InFlight>,
}

/// Calls one utility is answering at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct InFlight {
    pub now: u64,
    pub peak: u64,
}

impl SandboxData {
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.clock_offset
    }

    /// Forgets everything but keeps the clock, so time never runs backwards.
    pub fn reset(&mut self) {
        let clock_offset = self.clock_offset;
        *self = SandboxData {
            clock_offset,
            ..SandboxData::default()
        };
    }
}

/// The sandbox's shared state. Locks are held only for bookkeeping, never across an await.
#[derive(Debug, Clone, Default)]
pub struct Sandbox {
    data: Arc<Mutex<SandboxData>>,
    options: Arc<SandboxOptions>,
}

/// How a sandbox is set up when it starts.
#[derive(Debug, Clone, Default)]
pub struct SandboxOptions {
    /// When set, every protocol call must be signed with it (as Gridlink signs
    /// adapter calls), within 5 minutes, and never replayed.
    pub secret: Option<SigningSecret>,
    /// When set, only these utilities are offered (a second adapter in tests).
    pub utilities: Option<Vec<String>>,
}

impl Sandbox {
    pub fn with_options(options: SandboxOptions) -> Sandbox {
        Sandbox {
            data: Arc::default(),
            options: Arc::new(options),
        }
    }

    pub fn options(&self) -> &SandboxOptions {
        &self.options
    }

    /// Whether this sandbox offers `utility_id`.
    pub fn offers(&self, utility_id: &str) -> bool {
        self.options
            .utilities
            .as_ref()
            .is_none_or(|only| only.iter().any(|id| id == utility_id))
    }

    pub fn lock(&self) -> MutexGuard<'_, SandboxData> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.data
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// 256 random bits, hex-encoded: session tokens and challenge ids.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{prefix}{hex}")
}

/// A six-digit code.
pub fn random_code() -> String {
    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000))
}

/// A message the catcher took.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaughtMail {
    /// The recipients, comma-separated.
    pub to: String,
    pub from: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The `List-Unsubscribe` header, when the message has one.
    pub list_unsubscribe: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
}
