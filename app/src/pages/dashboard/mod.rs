//! The operator dashboard's pages.

mod account;
mod attention;
mod audit_log;
mod charts;
mod credential;
mod credentials;
mod layout;
mod overview;
mod password_links;
mod settings;
mod sign_in;
mod webhooks;

pub use account::Account;
pub use audit_log::AuditLog;
pub use credential::CredentialDetail;
pub use credentials::CredentialList;
pub use layout::DashboardLayout;
pub use overview::Overview;
pub use password_links::{ForgotPassword, SetPassword};
pub use settings::Settings;
pub use sign_in::SignIn;
pub use webhooks::Webhooks;

use leptos::prelude::*;
use shared::operators::Session;

use crate::api::DashboardApi;

/// The signed-in operator, provided by the dashboard's layout to its pages.
#[derive(Clone)]
pub struct Operator {
    pub session: Session,
    pub api: StoredValue<DashboardApi>,
}

pub fn operator() -> Operator {
    expect_context::<Operator>()
}

/// `2026-11-28T13:00:00Z` → `2026-11-28 13:00 UTC`.
pub fn format_time(moment: time::OffsetDateTime) -> String {
    format!(
        "{}-{:02}-{:02} {:02}:{:02} UTC",
        moment.year(),
        u8::from(moment.month()),
        moment.day(),
        moment.hour(),
        moment.minute()
    )
}
