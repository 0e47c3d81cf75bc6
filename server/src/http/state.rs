//! What every request handler can reach: the domain context (which the state
//! dereferences to, so `state.db` and `&state` as a `&Ctx` both work) and what
//! only requests need.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;

use crate::domain::ctx::Ctx;
use crate::domain::incidents::tally::CallTally;
use crate::http::client_ip::TrustedProxies;
use crate::http::rate_limit::RateLimits;
use crate::http::readiness::Readiness;
use crate::http::spa::SpaAssets;
use crate::infra::utility::adapters::AdapterSet;
use crate::infra::utility::catalog::UtilityCatalog;
use crate::infra::utility::UtilityConnector;
use crate::jobs::JobCtx;

/// Shared, cheaply cloned application state.
#[derive(Clone)]
pub struct AppState {
    pub ctx: Ctx,
    /// How Gridlink reaches utilities (the embedded sandbox by default).
    pub utility: Arc<dyn UtilityConnector>,
    /// The adapters behind `utility`, for their health page.
    pub adapters: Arc<AdapterSet>,
    pub utilities: UtilityCatalog,
    /// How each utility answered, counted until the incident watch stores it.
    pub utility_calls: CallTally,
    pub spa: Arc<SpaAssets>,
    /// Proxies whose forwarding headers name the client (`GRIDLINK_TRUSTED_PROXIES`).
    pub trusted_proxies: Arc<TrustedProxies>,
    /// Per-client request limits (this process's share).
    pub rate_limits: Arc<RateLimits>,
    /// The readiness check's last database probe.
    pub readiness: Arc<Readiness>,
}

impl AppState {
    /// The jobs' context, sharing this state's connections and counters.
    pub fn job_ctx(&self) -> JobCtx {
        JobCtx {
            ctx: self.ctx.clone(),
            utility: Arc::clone(&self.utility),
            utilities: self.utilities.clone(),
            utility_calls: self.utility_calls.clone(),
        }
    }
}

impl Deref for AppState {
    type Target = Ctx;

    fn deref(&self) -> &Ctx {
        &self.ctx
    }
}

// What extractors and middleware below the state take from it.

impl FromRef<AppState> for Arc<TrustedProxies> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.trusted_proxies)
    }
}

impl FromRef<AppState> for Arc<RateLimits> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.rate_limits)
    }
}
