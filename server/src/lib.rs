//! Gridlink's server: the HTTP API, the web app's host, the background jobs,
//! the sandbox utilities and the CLI that starts them.

// The OpenAPI document is one large `serde_json::json!` literal.
#![recursion_limit = "256"]

pub mod api_keys;
pub mod app;
pub mod auth;
pub mod banner;
pub mod cli;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod conformance;
pub mod connect;
pub mod credentials;
pub mod crypto;
pub mod csv;
pub mod demo;
pub mod embed;
pub mod error;
pub mod extract;
pub mod health;
pub mod html;
pub mod https;
pub mod idempotency;
pub mod incidents;
pub mod jobs;
pub mod key_check;
pub mod key_rotation;
pub mod lifecycle;
pub mod lifetimes;
pub mod mail;
pub mod openapi;
pub mod operators;
pub mod organisations;
pub mod outbound;
pub mod passwords;
pub mod rate_limit;
pub mod sandbox;
pub mod security_headers;
pub mod server;
pub mod serving;
pub mod shutdown;
pub mod spa;
pub mod state;
pub mod store;
pub mod sync;
pub mod tokens;
pub mod utility;
pub mod webhooks;
