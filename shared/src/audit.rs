//! The audit trail (`GET /api/v1/audit-events`): who did what to what, when
//! and from where. Each action has one wire name here, which the server
//! stores, the API filters by and the dashboard labels.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

crate::wire_enum! {
    /// What was done.
    pub enum AuditAction {
        /// An operator signed in (`details.factor` says with what).
        SignInSucceeded = "SIGN_IN_SUCCEEDED",
        /// A sign-in to an existing operator's account was refused.
        SignInFailed = "SIGN_IN_FAILED",
        /// An operator set up a second factor (`details.factor`).
        SecondFactorEnabled = "SECOND_FACTOR_ENABLED",
        /// An operator removed their second factor.
        SecondFactorDisabled = "SECOND_FACTOR_DISABLED",
        /// An operator registered a passkey (`details.name`).
        PasskeyAdded = "PASSKEY_ADDED",
        /// An operator removed one of their passkeys.
        PasskeyRemoved = "PASSKEY_REMOVED",
        /// An admin set up or changed single sign-on (`details.fields`).
        SsoSettingsChanged = "SSO_SETTINGS_CHANGED",
        /// An admin turned single sign-on off.
        SsoSettingsRemoved = "SSO_SETTINGS_REMOVED",
        /// An operator signed out.
        SignedOut = "SIGNED_OUT",
        /// An operator ended one of their sessions from the account page.
        SessionEnded = "SESSION_ENDED",
        /// An operator changed their own password.
        PasswordChanged = "PASSWORD_CHANGED",
        /// "Forgot password?" mailed a link to an operator.
        PasswordResetRequested = "PASSWORD_RESET_REQUESTED",
        /// A password was chosen with a mailed link (reset or invitation).
        PasswordReset = "PASSWORD_RESET",
        /// An admin added or invited an operator.
        OperatorInvited = "OPERATOR_INVITED",
        /// An admin changed an operator's role.
        OperatorRoleChanged = "OPERATOR_ROLE_CHANGED",
        /// An admin removed an operator.
        OperatorRemoved = "OPERATOR_REMOVED",
        /// An admin created an API key.
        ApiKeyCreated = "API_KEY_CREATED",
        /// An admin revoked an API key.
        ApiKeyRevoked = "API_KEY_REVOKED",
        /// The organisation's settings changed (`details.fields` names which).
        OrganisationSettingsChanged = "ORGANISATION_SETTINGS_CHANGED",
        /// The webhook endpoint was set or changed.
        WebhookEndpointChanged = "WEBHOOK_ENDPOINT_CHANGED",
        /// The webhook endpoint was removed.
        WebhookEndpointRemoved = "WEBHOOK_ENDPOINT_REMOVED",
        /// The webhook signing secret was rotated.
        WebhookSecretRotated = "WEBHOOK_SECRET_ROTATED",
        /// A test message was queued to the webhook endpoint.
        WebhookTestSent = "WEBHOOK_TEST_SENT",
        /// One delivered or failed message was queued again.
        WebhookDeliveryResent = "WEBHOOK_DELIVERY_RESENT",
        /// Failed messages were replayed.
        WebhookDeliveriesReplayed = "WEBHOOK_DELIVERIES_REPLAYED",
        /// A credential was created (through the API, the dashboard or Connect).
        CredentialCreated = "CREDENTIAL_CREATED",
        /// A credential's correlation id or password was changed.
        CredentialChanged = "CREDENTIAL_CHANGED",
        /// A credential was deactivated.
        CredentialDeactivated = "CREDENTIAL_DEACTIVATED",
        /// A credential's contact email was set or changed.
        CredentialContactChanged = "CREDENTIAL_CONTACT_CHANGED",
        /// A sync was started by hand.
        CredentialSyncRequested = "CREDENTIAL_SYNC_REQUESTED",
        /// A Connect token for a new credential was issued.
        ConnectTokenCreated = "CONNECT_TOKEN_CREATED",
        /// "Retry MFA Verification": Connect in update mode for a credential.
        MfaRetryStarted = "MFA_RETRY_STARTED",
        /// A 72-hour update link was generated.
        UpdateLinkCreated = "UPDATE_LINK_CREATED",
        /// An update link was revoked.
        UpdateLinkRevoked = "UPDATE_LINK_REVOKED",
        /// Update links were generated for every credential matching filters.
        UpdateLinksBulkCreated = "UPDATE_LINKS_BULK_CREATED",
        /// The credentials were exported as CSV.
        CredentialsExported = "CREDENTIALS_EXPORTED",
        /// The audit trail was exported as CSV.
        AuditLogExported = "AUDIT_LOG_EXPORTED",
        /// Every adapter's catalogue was read again by hand.
        CatalogueRefreshed = "CATALOGUE_REFRESHED",
        /// `gridlink create-organisation`.
        OrganisationCreated = "ORGANISATION_CREATED",
        /// `gridlink rotate-key`: every secret sealed again with a new master key.
        MasterKeyRotated = "MASTER_KEY_ROTATED",
    }
}

impl AuditAction {
    /// What the dashboard shows for the action.
    pub fn label(self) -> &'static str {
        match self {
            AuditAction::SignInSucceeded => "Signed in",
            AuditAction::SignInFailed => "Sign-in refused",
            AuditAction::SecondFactorEnabled => "Two-factor sign-in set up",
            AuditAction::SecondFactorDisabled => "Two-factor sign-in removed",
            AuditAction::PasskeyAdded => "Passkey added",
            AuditAction::PasskeyRemoved => "Passkey removed",
            AuditAction::SsoSettingsChanged => "Single sign-on changed",
            AuditAction::SsoSettingsRemoved => "Single sign-on turned off",
            AuditAction::SignedOut => "Signed out",
            AuditAction::SessionEnded => "Session ended",
            AuditAction::PasswordChanged => "Password changed",
            AuditAction::PasswordResetRequested => "Password reset requested",
            AuditAction::PasswordReset => "Password set with a mailed link",
            AuditAction::OperatorInvited => "Operator added",
            AuditAction::OperatorRoleChanged => "Operator role changed",
            AuditAction::OperatorRemoved => "Operator removed",
            AuditAction::ApiKeyCreated => "API key created",
            AuditAction::ApiKeyRevoked => "API key revoked",
            AuditAction::OrganisationSettingsChanged => "Organisation settings changed",
            AuditAction::WebhookEndpointChanged => "Webhook endpoint set",
            AuditAction::WebhookEndpointRemoved => "Webhook endpoint removed",
            AuditAction::WebhookSecretRotated => "Webhook secret rotated",
            AuditAction::WebhookTestSent => "Webhook test sent",
            AuditAction::WebhookDeliveryResent => "Webhook message resent",
            AuditAction::WebhookDeliveriesReplayed => "Failed webhooks replayed",
            AuditAction::CredentialCreated => "Credential created",
            AuditAction::CredentialChanged => "Credential changed",
            AuditAction::CredentialDeactivated => "Credential deactivated",
            AuditAction::CredentialContactChanged => "Contact email changed",
            AuditAction::CredentialSyncRequested => "Sync started by hand",
            AuditAction::ConnectTokenCreated => "Connect token issued",
            AuditAction::MfaRetryStarted => "Retry MFA Verification",
            AuditAction::UpdateLinkCreated => "Update link generated",
            AuditAction::UpdateLinkRevoked => "Update link revoked",
            AuditAction::UpdateLinksBulkCreated => "Update links generated in bulk",
            AuditAction::CredentialsExported => "Credentials exported",
            AuditAction::AuditLogExported => "Audit log exported",
            AuditAction::CatalogueRefreshed => "Utility catalogue refreshed",
            AuditAction::OrganisationCreated => "Organisation created",
            AuditAction::MasterKeyRotated => "Master key rotated",
        }
    }
}

crate::wire_enum! {
    /// Who acted.
    pub enum AuditActorKind {
        /// A signed-in operator (`name` is their email).
        Operator = "OPERATOR",
        /// An integrator's API key (`name` is the key's name).
        ApiKey = "API_KEY",
        /// The end-user, in Connect.
        EndUser = "END_USER",
        /// Someone not signed in (a sign-in attempt, "Forgot password?").
        Anonymous = "ANONYMOUS",
        /// The `gridlink` command line on the server.
        Cli = "CLI",
        /// Gridlink itself.
        System = "SYSTEM",
    }
}

impl AuditActorKind {
    /// How the dashboard names an actor of this kind called `name`.
    pub fn describe(self, name: &str) -> String {
        match self {
            AuditActorKind::Operator | AuditActorKind::Anonymous => name.to_owned(),
            AuditActorKind::ApiKey => format!("API key \u{2018}{name}\u{2019}"),
            AuditActorKind::EndUser => "End-user via Connect".to_owned(),
            AuditActorKind::Cli => "Command line (gridlink)".to_owned(),
            AuditActorKind::System => "Gridlink".to_owned(),
        }
    }
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::DateTime"))]
    pub occurred_at: OffsetDateTime,
    pub action: AuditAction,
    pub actor_kind: AuditActorKind,
    /// The operator's or API key's id; absent for the CLI, Gridlink and strangers.
    pub actor_id: Option<String>,
    /// The operator's email or the API key's name at the time.
    pub actor_name: String,
    /// The client's address (after trusted proxies); empty for the CLI and Gridlink.
    pub client: String,
    pub user_agent: String,
    /// What was acted on: `credential`, `operator`, `api_key`, `webhook_endpoint`…
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    /// What changed (field names, counts, filters); never a secret value.
    #[cfg_attr(
        feature = "schema",
        schemars(with = "std::collections::BTreeMap<String, serde_json::Value>")
    )]
    pub details: serde_json::Value,
}

/// `GET /api/v1/audit-events`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEventPage {
    pub events: Vec<AuditEvent>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}
