//! Webhooks as data: the organisation's endpoint and its sealed signing
//! secrets ([`endpoint`]) and the outbox messages are written to ([`outbox`]).

pub mod endpoint;
pub mod outbox;
