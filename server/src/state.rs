//! What every request handler can reach.

use std::sync::Arc;

use reqwest::Url;

use crate::spa::SpaAssets;
use crate::store::Database;
use crate::utility::UtilityConnector;

/// Shared, cheaply cloned application state.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub spa: Arc<SpaAssets>,
    pub settings: Arc<Settings>,
    /// How Gridlink reaches utilities (the embedded sandbox by default).
    pub utility: Arc<dyn UtilityConnector>,
}

/// Runtime settings derived from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The URL people reach Gridlink at, without a trailing slash.
    pub public_url: Url,
    pub demo: bool,
}

impl Settings {
    /// Whether Gridlink is reached over HTTPS (then HSTS and `Secure` cookies apply).
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}
