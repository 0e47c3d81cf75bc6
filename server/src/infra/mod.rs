//! The ground floor: what Gridlink stands on and that knows nothing of its
//! features — configuration errors and option names, the database, crypto,
//! bearer tokens, the clock, passwords, CSV and HTML text, TLS, connections to
//! the outside, the mail transport, webhook signing, the utility connector,
//! and the names of the metrics everything records.

pub mod clock;
pub mod config;
pub mod crypto;
pub mod csv;
pub mod html;
pub mod https;
pub mod mail_transport;
pub mod metrics;
pub mod outbound;
pub mod passwords;
pub mod store;
pub mod tokens;
pub mod trace_context;
pub mod utility;
pub mod webhook_signing;
