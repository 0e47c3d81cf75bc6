//! Credentials (utility logins) and their timelines: request and response bodies.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::i18n::Language;
use crate::status::{CredentialStatus, Status, StatusDetail};

crate::wire_enum! {
    /// Who owns the utility login: the organisation itself, or one of its end-users.
    #[derive(Default)]
    pub enum Owner {
        #[default]
        Organisation = "ORGANISATION",
        EndUser = "END_USER",
    }
}

/// `POST /api/v1/credentials`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewCredential {
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::UtilityId"))]
    pub utility_id: String,
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 128), extend("pattern" = r"^(?=.*\S)[^\x00-\x1f\x7f-\x9f]*$")))]
    pub username: String,
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 256)))]
    pub password: String,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(max = 200), extend("pattern" = r"^[^\x00-\x1f\x7f-\x9f]*$")))]
    pub correlation_id: Option<String>,
    #[serde(default)]
    pub owner: Owner,
    /// The end-user's email, for notices when the credential needs them
    /// (the organisation's `notifyEndUsers`). Given here, it may appear in
    /// webhooks. Blank means none.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(max = 254), extend("pattern" = crate::validation::EmailAddress::PATTERN_OR_BLANK)))]
    pub contact_email: Option<String>,
    /// The language of those notices; default: the organisation's Connect language.
    #[serde(default)]
    pub contact_language: Option<Language>,
}

/// `PATCH /api/v1/credentials/{id}`: a new password starts a new connection attempt.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialChange {
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 256)))]
    pub password: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(max = 200), extend("pattern" = r"^[^\x00-\x1f\x7f-\x9f]*$")))]
    pub correlation_id: Option<String>,
    /// The end-user's email for notices; an empty string removes it.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(max = 254), extend("pattern" = crate::validation::EmailAddress::PATTERN_OR_BLANK)))]
    pub contact_email: Option<String>,
    #[serde(default)]
    pub contact_language: Option<Language>,
}

/// A credential as the API shows it. Never carries the password or token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    pub id: String,
    pub utility_id: String,
    pub username: String,
    pub correlation_id: Option<String>,
    pub owner: Owner,
    #[serde(flatten)]
    pub status: CredentialStatus,
    /// Why the last attempt failed, in words, when it did.
    pub status_message: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub token_expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub last_synced_at: Option<OffsetDateTime>,
    /// When the next scheduled sync is due; absent when none is scheduled.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub next_sync_at: Option<OffsetDateTime>,
    /// Set while the credential is stale: connected, yet without a successful
    /// sync for `GRIDLINK_STALE_AFTER`. Cleared by the next successful sync.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub stale_since: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub deactivated_at: Option<OffsetDateTime>,
    /// The end-user's email for notices; masked (`j•••@example.com`) in lists.
    #[serde(default)]
    pub contact_email: Option<String>,
    #[serde(default)]
    pub contact_language: Option<Language>,
    /// The utility stated no expiry: `tokenExpiresAt` is predicted from the
    /// lives of its recent tokens (absent while there is no history).
    #[serde(default)]
    pub token_expiry_predicted: bool,
}

/// One page of `GET /api/v1/credentials`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CredentialPage {
    pub items: Vec<Credential>,
    pub page: u32,
    pub page_size: u32,
    /// Credentials matching the filters, over all pages.
    pub total: u64,
}

/// The sort orders of the credential list (`-` before a name sorts descending).
pub const CREDENTIAL_SORTS: [&str; 5] = [
    "createdAt",
    "username",
    "utilityId",
    "statusDetail",
    "tokenExpiresAt",
];

/// `GET /api/v1/credentials/counts`: how many active credentials are in each state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CredentialCounts {
    pub total: u64,
    /// Active credentials flagged stale (no data for `GRIDLINK_STALE_AFTER`).
    #[serde(default)]
    pub stale: u64,
    pub by_status: Vec<StatusCount>,
    pub by_status_detail: Vec<StatusDetailCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatusCount {
    pub status: Status,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatusDetailCount {
    pub status_detail: StatusDetail,
    pub count: u64,
}

/// One entry of a credential's timeline. Never contains a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CredentialEvent {
    pub id: i64,
    /// `CREATED`, `STATUS_CHANGE`, `PASSWORD_CHANGED`, `MFA_CODE_SENT`, `MFA_CODE_REJECTED`,
    /// `UPDATE_LINK_CREATED`, `UPDATE_LINK_REVOKED`, `CONNECT_STARTED`, `SYNCED`, `DEACTIVATED`,
    /// `UTILITY_ERROR` (what the utility or the network said, for operators only),
    /// `END_USER_NOTIFIED` (an update link or reminder mailed), `MAIL_NOT_DELIVERED`,
    /// `CONTACT_CHANGED`.
    pub kind: String,
    pub from_status_detail: Option<StatusDetail>,
    pub to_status_detail: Option<StatusDetail>,
    /// `operator:ID`, `api_key:ID`, `end_user` or `job:NAME`.
    pub actor: String,
    /// The actor as people see it: an operator's email, "API key ‘Billing
    /// sync’", "End-user via Connect", "Gridlink (sync)".
    pub actor_name: String,
    pub message: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub created_at: OffsetDateTime,
}

/// `GET /api/v1/credentials/expiries?days=N`: how many connected credentials'
/// tokens expire on each of the next N days (index 0 is the next 24 hours).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExpiryForecast {
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub from: OffsetDateTime,
    pub per_day: Vec<u64>,
}

/// `GET /api/v1/events`: an event with the credential it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OrganisationEvent {
    pub credential_id: String,
    pub username: String,
    pub utility_id: String,
    #[serde(flatten)]
    pub event: CredentialEvent,
}

/// A utility account of a credential (`GET /api/v1/credentials/{id}/accounts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UtilityAccount {
    pub account_number: String,
    pub service_address: String,
    /// `electricity`, `gas` or `water`.
    pub fuel: String,
    /// When a sync first stored it.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub first_synced_at: OffsetDateTime,
}

/// A monthly statement (`GET /api/v1/credentials/{id}/statements`, newest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UtilityStatement {
    pub id: String,
    pub account_number: String,
    /// `YYYY-MM-DD`
    pub period_start: String,
    /// `YYYY-MM-DD`
    pub period_end: String,
    pub usage: f64,
    pub usage_unit: String,
    pub amount_cents: i64,
    pub currency: String,
    /// When a sync first stored it: integrators fetch what is newer than their last look.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub first_synced_at: OffsetDateTime,
}

/// `GET /api/v1/utility-incidents`: a utility that stopped answering for many
/// calls at once, as one organisation sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UtilityIncident {
    pub id: String,
    pub utility_id: String,
    pub utility_name: String,
    /// When the failures began (the first failing minute of the window).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub failing_since: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub opened_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub resolved_at: Option<OffsetDateTime>,
    /// The organisation's active credentials at this utility.
    pub affected_credentials: u64,
}

/// `GET /api/v1/adapters`: one utility adapter as the deployment configured it, and how it is doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdapterHealth {
    pub name: String,
    /// Whether Gridlink signs its calls to this adapter.
    pub signed: bool,
    /// The utilities it serves (its last catalogue).
    pub utilities: Vec<crate::connect::Utility>,
    /// When its catalogue was last read successfully.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub last_refresh_at: Option<OffsetDateTime>,
    /// Whether the last attempt to read its catalogue failed. Organisations
    /// share the deployment's adapters, so neither an adapter's address nor
    /// its errors are shown to them: the server's log names both.
    pub last_refresh_failed: bool,
    /// Calls to its utilities in the last hour, and how many found them not answering.
    pub calls_last_hour: u64,
    pub failures_last_hour: u64,
}

/// `GET /api/v1/utilities/lifetimes`: how long a utility's session tokens
/// were seen to live (issued until refused, or until their stated expiry),
/// over the last 180 days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UtilityLifetime {
    pub utility_id: String,
    /// Tokens observed.
    pub observed: u64,
    pub median_days: f64,
    /// 90 % of tokens lived at most this long.
    pub p90_days: f64,
}

/// `GET /api/v1/notices/funnel`: how well refresh notices work, over the last 30 days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RefreshFunnel {
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub since: OffsetDateTime,
    /// Credentials whose end-user was mailed an update link.
    pub notices_sent: u64,
    /// …whose mailed link was opened (mail scanners open links too).
    pub links_opened: u64,
    /// …whose end-user went on past the link's first screen ("Continue"),
    /// which only a person does: the utility is contacted from there.
    pub links_continued: u64,
    /// …repaired within 72 hours of the first mail.
    pub repaired_within_72h: u64,
    /// Every repair in the period (mailed or not): the median time from the
    /// credential needing its MFA refreshed to working again, in hours.
    pub median_hours_to_repair: Option<f64>,
    /// The repairs that median is taken over.
    pub repairs: u64,
}

/// How people see an event's `actor`, given the operator's email or the API
/// key's name it refers to (`None` when it was removed since).
pub fn actor_name(actor: &str, operator_email: Option<&str>, key_name: Option<&str>) -> String {
    if actor.starts_with("operator:") {
        return operator_email.map_or_else(|| "A removed operator".to_owned(), str::to_owned);
    }
    if actor.starts_with("api_key:") {
        return key_name.map_or_else(
            || "A removed API key".to_owned(),
            |name| format!("API key \u{2018}{name}\u{2019}"),
        );
    }
    if actor == "end_user" {
        return "End-user via Connect".to_owned();
    }
    if actor.starts_with("demo:") {
        return "Gridlink (demo data)".to_owned();
    }
    match actor.strip_prefix("job:") {
        Some(job) => format!("Gridlink ({})", job.replace('_', " ")),
        None => actor.to_owned(),
    }
}

#[cfg(test)]
mod actor_name_tests {
    use super::actor_name;

    #[test]
    fn each_kind_of_actor_reads_as_people_see_it() {
        assert_eq!(
            actor_name("operator:op_1", Some("ana@example.com"), None),
            "ana@example.com"
        );
        assert_eq!(
            actor_name("operator:op_1", None, None),
            "A removed operator"
        );
        assert_eq!(
            actor_name("api_key:key_b4a7", None, Some("Billing sync")),
            "API key \u{2018}Billing sync\u{2019}"
        );
        assert_eq!(actor_name("end_user", None, None), "End-user via Connect");
        assert_eq!(actor_name("job:sync", None, None), "Gridlink (sync)");
        assert_eq!(
            actor_name("job:expiry_sweep", None, None),
            "Gridlink (expiry sweep)"
        );
        assert_eq!(actor_name("demo:seed", None, None), "Gridlink (demo data)");
    }
}
