//! Gridlink's server: the HTTP API, the web app's host, the background jobs,
//! the sandbox utilities and the CLI that starts them.

pub mod app;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod demo;
pub mod error;
pub mod extract;
pub mod health;
pub mod sandbox;
pub mod security_headers;
pub mod server;
pub mod shutdown;
pub mod spa;
pub mod state;
pub mod store;
pub mod utility;
