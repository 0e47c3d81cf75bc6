//! Credentials as data: reading rows ([`store`]), sealing their secrets
//! ([`secrets`]) and counting them by status detail ([`counts`]).

pub mod counts;
pub mod secrets;
pub mod store;

use shared::validation::{Password, Username};

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

shared::wire_enum! {
    /// Who gave a credential its contact email (`contact_email_source`, as stored).
    pub enum ContactSource {
        /// Through the API: it may appear in webhooks.
        Integrator = "INTEGRATOR",
        /// An operator on the credential page.
        Operator = "OPERATOR",
        /// The end-user, on Connect's success screen.
        EndUser = "END_USER",
    }
}

/// A credential's end-user contact, validated.
#[derive(Debug, Clone)]
pub struct Contact {
    pub email: shared::validation::EmailAddress,
    pub source: ContactSource,
    pub language: Option<shared::i18n::Language>,
}
