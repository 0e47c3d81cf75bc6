//! What every request handler can reach.

use std::sync::Arc;

use reqwest::Url;

use crate::clock::Clock;
use crate::config::JobSettings;
use crate::crypto::Keyring;
use crate::jobs::Wakeups;
use crate::spa::SpaAssets;
use crate::store::Database;
use crate::utility::catalog::UtilityCatalog;
use crate::utility::UtilityConnector;

/// Shared, cheaply cloned application state.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub spa: Arc<SpaAssets>,
    pub settings: Arc<Settings>,
    /// How Gridlink reaches utilities (the embedded sandbox by default).
    pub utility: Arc<dyn UtilityConnector>,
    pub utilities: UtilityCatalog,
    pub keyring: Arc<Keyring>,
    pub clock: Clock,
    /// Nudges the background jobs when there is new work for them.
    pub wakeups: Wakeups,
}

/// Runtime settings derived from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The URL people reach Gridlink at, without a trailing slash.
    pub public_url: Url,
    pub demo: bool,
    pub jobs: JobSettings,
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

    pub fn sync_interval_ms(&self) -> i64 {
        self.jobs.sync_interval.whole_milliseconds() as i64
    }

    /// An absolute URL under the public URL, e.g. `/connect/TOKEN`.
    pub fn absolute_url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.as_str().trim_end_matches('/'))
    }
}
