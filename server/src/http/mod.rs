//! Everything a request meets: the router, the shared state, errors and
//! extractors, who is calling (auth, client address), limits, idempotency,
//! security headers, the web apps, the OpenAPI document — and one module per
//! feature's handlers.

pub mod adapter_protocol;
pub mod adapters;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod client_ip;
pub mod connect;
pub mod credentials;
pub mod embed;
pub mod error;
pub mod extract;
pub mod health;
pub mod idempotency;
pub mod incidents;
pub mod lifetimes;
pub mod metrics_endpoint;
pub mod notice_funnel;
pub mod observe;
pub mod openapi;
pub mod operators;
pub mod organisations;
pub mod rate_limit;
pub mod readiness;
pub mod router;
pub mod security_headers;
pub mod serving;
pub mod single_sign_on;
pub mod spa;
pub mod state;
pub mod unsubscribe;
pub mod webhooks;
