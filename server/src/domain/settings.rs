//! What the domain is told at start: the public URL, the jobs' pace, outgoing
//! TLS trust, the webhook address policy and the mail sender.

use rand::Rng;
use reqwest::Url;

use crate::infra::outbound::TrustRoots;

/// Runtime settings derived from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The URL people reach Gridlink at, without a trailing slash.
    pub public_url: Url,
    pub demo: bool,
    pub jobs: JobSettings,
    /// The CAs outgoing TLS trusts (webhook receivers, utilities).
    pub trust: TrustRoots,
    /// Whether webhooks may go to non-public addresses (`GRIDLINK_WEBHOOK_ALLOW_PRIVATE`).
    pub webhook_allow_private: bool,
    /// The sender of Gridlink's mail (`GRIDLINK_MAIL_FROM`).
    pub mail_from: lettre::message::Mailbox,
}

impl Settings {
    /// Whether Gridlink is reached over HTTPS (then HSTS and `Secure` cookies apply).
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// Cookies are `Secure` except for plain HTTP on this machine (development and demo).
    pub fn cookies_are_secure(&self) -> bool {
        let local = match self.public_url.host() {
            Some(url::Host::Domain(domain)) => domain == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        self.is_https() || !local
    }

    /// How long after a sync the next one is due: the sync interval less up to
    /// a tenth of it, at random, so credentials connected together do not all
    /// reach their utility at the same moment every day.
    pub fn next_sync_delay_ms(&self) -> i64 {
        let interval = self.jobs.sync_interval.whole_milliseconds() as i64;
        interval - rand::thread_rng().gen_range(0..=interval / 10)
    }

    /// An absolute URL under the public URL, e.g. `/connect/TOKEN`.
    pub fn absolute_url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.as_str().trim_end_matches('/'))
    }
}

/// Without GRIDLINK_STALE_AFTER, a credential is stale after this many sync intervals.
pub const STALE_AFTER_SYNC_INTERVALS: i32 = 3;

/// How the background jobs pace their work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobSettings {
    pub sync_interval: time::Duration,
    pub expiry_warning: time::Duration,
    /// A connected credential without data for this long is flagged stale.
    pub stale_after: time::Duration,
    pub lease: time::Duration,
    /// Syncs this server runs at once.
    pub sync_concurrency: usize,
    /// Requests this server keeps open to one utility at a time.
    pub utility_max_in_flight: usize,
    /// How long the audit trail keeps a record.
    pub audit_retention: time::Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            sync_interval: time::Duration::hours(24),
            expiry_warning: time::Duration::days(7),
            stale_after: time::Duration::hours(24) * STALE_AFTER_SYNC_INTERVALS,
            lease: time::Duration::minutes(2),
            sync_concurrency: 256,
            utility_max_in_flight: 64,
            audit_retention: time::Duration::days(400),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_syncs_spread_over_the_last_tenth_of_the_interval() {
        let settings = Settings {
            public_url: Url::parse("http://127.0.0.1:3000").unwrap(),
            demo: false,
            jobs: JobSettings::default(),
            trust: TrustRoots::only(Vec::new()),
            webhook_allow_private: false,
            mail_from: "no-reply@gridlink.localhost".parse().unwrap(),
        };
        let day = 24 * 60 * 60 * 1000;
        let delays: Vec<i64> = (0..200).map(|_| settings.next_sync_delay_ms()).collect();
        assert!(delays
            .iter()
            .all(|delay| (day * 9 / 10..=day).contains(delay)));
        assert!(
            delays.iter().any(|delay| *delay != delays[0]),
            "spread, not fixed"
        );
    }
}
