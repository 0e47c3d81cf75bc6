//! Types shared by the server and the wasm app: what both sides must agree on.
//!
//! Nothing here may depend on sqlx, tokio or anything else that does not
//! compile to `wasm32-unknown-unknown`.

mod wire;

pub mod audit;
pub mod connect;
pub mod credentials;
pub mod error;
pub mod health;
pub mod i18n;
pub mod mfa;
pub mod operators;
pub mod routes;
#[cfg(feature = "schema")]
pub mod schema;
pub mod single_sign_on;
pub mod status;
pub mod validation;
pub mod webhooks;

pub use error::{ErrorBody, ErrorCode, FieldError};
pub use mfa::MfaMethod;
pub use status::{CredentialStatus, Status, StatusDetail};
