//! Webhooks: the organisation's endpoint, the events Gridlink sends, and the
//! deliveries with their attempts.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

crate::wire_enum! {
    /// What a webhook tells. The body's `type` field carries this name.
    pub enum WebhookEventType {
        /// A credential's status detail changed.
        StatusChange = "STATUS_CHANGE",
        /// A sync stored accounts or statements it had not seen before.
        NewDataAvailable = "NEW_DATA_AVAILABLE",
        /// The session token expires soon; a refresh ahead of time avoids a gap.
        SessionTokenExpiring = "SESSION_TOKEN_EXPIRING",
        /// A credential that needed action connects again.
        CredentialRepaired = "CREDENTIAL_REPAIRED",
        /// A connected credential has had no successful sync for `GRIDLINK_STALE_AFTER`.
        CredentialStale = "CREDENTIAL_STALE",
        /// A stale credential synced again.
        CredentialRecovered = "CREDENTIAL_RECOVERED",
        /// Gridlink mailed the end-user an update link (a notice or a reminder).
        EndUserNotified = "END_USER_NOTIFIED",
        /// A utility stopped answering for many calls at once; its syncs wait.
        UtilityIncidentOpened = "UTILITY_INCIDENT_OPENED",
        /// The utility answers again; its credentials resume by themselves.
        UtilityIncidentResolved = "UTILITY_INCIDENT_RESOLVED",
        /// Sent from the dashboard or the API to try the endpoint.
        WebhookTest = "WEBHOOK_TEST",
    }
}

/// `PUT /api/v1/webhook-endpoint`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookEndpointChange {
    /// https://…, or http:// for localhost.
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 2048)))]
    pub url: String,
    /// The read-only fields of [`WebhookEndpoint`], accepted when unchanged so
    /// the body a GET answered can be sent back as it is.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub secret_created_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub previous_secret_expires_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub created_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub updated_at: Option<OffsetDateTime>,
    /// Accepted and ignored: saving the endpoint enables it again.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub disabled_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub disabled_reason: Option<String>,
}

/// The organisation's webhook endpoint. The signing secret is shown only when
/// it is created or rotated ([`WebhookSecret`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpoint {
    pub url: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub secret_created_at: OffsetDateTime,
    /// Until then the previous secret signs too (after a rotation).
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub previous_secret_expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub updated_at: OffsetDateTime,
    /// Set when the endpoint answered 410 Gone: nothing is sent to it (its
    /// messages wait) until it is saved again.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub disabled_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub disabled_reason: Option<String>,
}

/// A new signing secret (`whsec_…`), shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookSecret {
    pub endpoint: WebhookEndpoint,
    pub secret: String,
}

crate::wire_enum! {
    /// Where a delivery stands.
    pub enum DeliveryState {
        /// Not delivered yet; the next attempt is scheduled.
        Pending = "PENDING",
        /// The endpoint answered 2xx.
        Delivered = "DELIVERED",
        /// Every attempt over 24 hours failed.
        Failed = "FAILED",
    }
}

/// One webhook message and how its delivery goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    /// Also the `webhook-id` header, the same on every attempt.
    pub id: String,
    pub event_type: WebhookEventType,
    pub credential_id: Option<String>,
    pub state: DeliveryState,
    pub attempts: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub next_attempt_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::schema::DateTime>"))]
    pub delivered_at: Option<OffsetDateTime>,
    pub last_response_status: Option<u16>,
    pub last_error: Option<String>,
    /// Who caused the message, as credential events name actors
    /// (`operator:…`, `api_key:…`, `end_user`, `job:…`); absent on messages
    /// queued before Gridlink recorded it.
    pub actor: Option<String>,
    /// The same as people see it: an operator's email, "API key ‘Billing
    /// sync’", "End-user via Connect", "Gridlink (sync)".
    pub actor_name: Option<String>,
}

/// `GET /api/v1/webhook-deliveries`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookDeliveryPage {
    pub deliveries: Vec<WebhookDelivery>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// One try at delivering a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookAttempt {
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub attempted_at: OffsetDateTime,
    pub url: String,
    pub response_status: Option<u16>,
    /// The start of the endpoint's answer (at most 64 KiB), when it sent one.
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// `GET /api/v1/webhook-deliveries/{id}`: the message and every attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookDeliveryDetail {
    #[serde(flatten)]
    pub delivery: WebhookDelivery,
    /// The exact body sent, as JSON text.
    pub payload: String,
    pub attempt_log: Vec<WebhookAttempt>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_names_round_trip() {
        for kind in WebhookEventType::ALL {
            assert_eq!(WebhookEventType::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
        assert_eq!(WebhookEventType::parse("status_change"), None);
    }
}
