//! Credentials as data: reading rows ([`store`]), sealing their secrets
//! ([`secrets`]) and counting them by status detail ([`counts`]).

pub mod counts;
pub mod secrets;
pub mod store;
