//! What every request handler can reach.

use std::sync::Arc;

use rand::Rng;
use reqwest::Url;

use crate::domain::incidents::tally::CallTally;
use crate::http::client_ip::TrustedProxies;
use crate::http::health::Readiness;
use crate::http::rate_limit::RateLimits;
use crate::http::spa::SpaAssets;
use crate::infra::clock::Clock;
use crate::infra::config::JobSettings;
use crate::infra::crypto::Keyring;
use crate::infra::outbound::TrustRoots;
use crate::infra::store::Database;
use crate::infra::utility::adapters::AdapterSet;
use crate::infra::utility::catalog::UtilityCatalog;
use crate::infra::utility::UtilityConnector;
use crate::jobs::Wakeups;

/// Shared, cheaply cloned application state.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub spa: Arc<SpaAssets>,
    pub settings: Arc<Settings>,
    /// How Gridlink reaches utilities (the embedded sandbox by default).
    pub utility: Arc<dyn UtilityConnector>,
    /// The adapters behind `utility`, for their health page.
    pub adapters: Arc<AdapterSet>,
    pub utilities: UtilityCatalog,
    pub keyring: Arc<Keyring>,
    pub clock: Clock,
    /// Nudges the background jobs when there is new work for them.
    pub wakeups: Wakeups,
    /// How each utility answered, counted until the incident watch stores it.
    pub utility_calls: CallTally,
    /// Per-client request limits (this process's share).
    pub rate_limits: Arc<RateLimits>,
    /// The readiness check's last database probe.
    pub readiness: Arc<Readiness>,
}

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
    /// Proxies whose forwarding headers name the client (`GRIDLINK_TRUSTED_PROXIES`).
    pub trusted_proxies: TrustedProxies,
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
            trusted_proxies: TrustedProxies::default(),
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
