//! Credentials as data: reading rows ([`store`]), sealing their secrets
//! ([`secrets`]) and counting them by status detail ([`counts`]).

pub mod counts;
pub mod secrets;
pub mod store;

use shared::validation::{Password, Username};

use crate::domain::lifecycle::records::Contact;

/// A new credential's fields, validated.
#[derive(Debug, Clone)]
pub struct ValidatedCredential {
    pub utility_id: String,
    pub username: Username,
    pub password: Password,
    pub correlation_id: Option<String>,
    pub owner: shared::credentials::Owner,
    pub contact: Option<Contact>,
}
