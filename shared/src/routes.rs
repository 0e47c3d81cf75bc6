//! The API's paths, written once: the server's router matches them under
//! [`API`], and the app's client turns them into addresses with [`api`] and
//! [`api_with`]. A `{name}` segment is a parameter.

/// Where the API is mounted.
pub const API: &str = "/api";

/// `path` under [`API`].
pub fn api(path: &str) -> String {
    format!("{API}{path}")
}

/// `template` under [`API`] with its `{name}` segments replaced, in order, by
/// `values` (ids and tokens the server issued, which need no escaping).
pub fn api_with(template: &str, values: &[&str]) -> String {
    let mut path = String::from(API);
    let mut values = values.iter();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |end| start + end + 1);
        path.push_str(&rest[..start]);
        path.push_str(values.next().expect("a value for every parameter"));
        rest = &rest[end..];
    }
    path.push_str(rest);
    debug_assert!(values.next().is_none(), "more values than parameters");
    path
}

/// Liveness, readiness and the published documents.
pub mod system {
    pub const HEALTH: &str = "/health";
    pub const READY: &str = "/ready";
    pub const OPENAPI: &str = "/openapi.json";
    pub const ADAPTER_PROTOCOL: &str = "/adapter-protocol.json";
}

/// Connect's screens (Bearer: the Connect token) and unsubscribe links.
pub mod connect {
    pub const SESSION: &str = "/connect/session";
    pub const UTILITIES: &str = "/connect/utilities";
    pub const CREDENTIALS: &str = "/connect/credentials";
    pub const RECONNECT: &str = "/connect/reconnect";
    pub const PASSWORD: &str = "/connect/password";
    pub const MFA_METHOD: &str = "/connect/mfa/method";
    pub const MFA_RESEND: &str = "/connect/mfa/resend";
    pub const MFA_CODE: &str = "/connect/mfa/code";
    pub const CONTACT: &str = "/connect/contact";
    pub const RECOVERY_ALERT: &str = "/connect/recovery-alert";
    pub const UNSUBSCRIBE: &str = "/unsubscribe/{token}";
}

/// The operator's own session, sign-in and password links.
pub mod session {
    pub const SESSION: &str = "/session";
    pub const HISTORY: &str = "/session/history";
    pub const PASSWORD: &str = "/session/password";
    pub const SESSIONS: &str = "/session/sessions";
    pub const SECOND_FACTOR: &str = "/session/second-factor";
    pub const TOTP: &str = "/session/totp";
    pub const TOTP_CONFIRM: &str = "/session/totp/confirm";
    pub const TOTP_DISABLE: &str = "/session/totp/disable";
    pub const SECOND_FACTOR_PASSKEY: &str = "/session/second-factor/passkey";
    pub const PASSKEY_SIGN_IN: &str = "/session/passkey";
    pub const PASSKEY_SIGN_IN_CHALLENGE: &str = "/session/passkey/challenge";
    pub const PASSKEYS: &str = "/session/passkeys";
    pub const PASSKEY_REGISTRATION: &str = "/session/passkeys/registration";
    pub const ONE_PASSKEY: &str = "/session/passkeys/{id}";
    pub const ONE_SESSION: &str = "/session/sessions/{id}";
    pub const PASSWORD_RESET: &str = "/password-reset";
    pub const PASSWORD_LINK: &str = "/password-reset/{token}";
}

/// Single sign-on: the sign-in page's buttons and the browser's round trip
/// through the identity provider.
pub mod sso {
    pub const PROVIDERS: &str = "/sso/providers";
    pub const START: &str = "/sso/{id}/start";
    pub const CALLBACK: &str = "/sso/callback";
}

/// The versioned API for integrators and the dashboard.
pub mod v1 {
    pub const SSO: &str = "/v1/sso";
    pub const CREDENTIALS: &str = "/v1/credentials";
    pub const CREDENTIAL_COUNTS: &str = "/v1/credentials/counts";
    pub const CREDENTIAL_EXPIRIES: &str = "/v1/credentials/expiries";
    pub const CREDENTIALS_EXPORT: &str = "/v1/credentials/export.csv";
    pub const CREDENTIAL: &str = "/v1/credentials/{id}";
    pub const CREDENTIAL_ACCOUNTS: &str = "/v1/credentials/{id}/accounts";
    pub const CREDENTIAL_CONNECT_TOKENS: &str = "/v1/credentials/{id}/connect-tokens";
    pub const CREDENTIAL_EVENTS: &str = "/v1/credentials/{id}/events";
    pub const CREDENTIAL_STATEMENTS: &str = "/v1/credentials/{id}/statements";
    pub const CREDENTIAL_SYNC: &str = "/v1/credentials/{id}/sync";
    pub const CREDENTIAL_UPDATE_LINKS: &str = "/v1/credentials/{id}/update-links";
    pub const CREDENTIAL_UPDATE_LINK: &str = "/v1/credentials/{id}/update-links/{link_id}";
    pub const CONNECT_TOKENS: &str = "/v1/connect-tokens";
    pub const EVENTS: &str = "/v1/events";
    pub const UPDATE_LINKS_BULK: &str = "/v1/update-links/bulk";
    pub const UTILITIES: &str = "/v1/utilities";
    pub const UTILITY_LIFETIMES: &str = "/v1/utilities/lifetimes";
    pub const UTILITY_INCIDENTS: &str = "/v1/utility-incidents";
    pub const ADAPTERS: &str = "/v1/adapters";
    pub const ADAPTERS_REFRESH: &str = "/v1/adapters/refresh";
    pub const API_KEYS: &str = "/v1/api-keys";
    pub const AUDIT_EVENTS: &str = "/v1/audit-events";
    pub const AUDIT_EVENTS_EXPORT: &str = "/v1/audit-events/export.csv";
    pub const API_KEY: &str = "/v1/api-keys/{id}";
    pub const OPERATORS: &str = "/v1/operators";
    pub const OPERATOR: &str = "/v1/operators/{id}";
    pub const ORGANISATION: &str = "/v1/organisation";
    pub const NOTICE_FUNNEL: &str = "/v1/notices/funnel";
    pub const WEBHOOK_DELIVERIES: &str = "/v1/webhook-deliveries";
    pub const WEBHOOK_DELIVERIES_REPLAY: &str = "/v1/webhook-deliveries/replay";
    pub const WEBHOOK_DELIVERY: &str = "/v1/webhook-deliveries/{id}";
    pub const WEBHOOK_DELIVERY_RESEND: &str = "/v1/webhook-deliveries/{id}/resend";
    pub const WEBHOOK_ENDPOINT: &str = "/v1/webhook-endpoint";
    pub const WEBHOOK_ENDPOINT_ROTATE_SECRET: &str = "/v1/webhook-endpoint/rotate-secret";
    pub const WEBHOOK_ENDPOINT_TEST: &str = "/v1/webhook-endpoint/test";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_is_filled_in_order_under_the_api() {
        assert_eq!(api(connect::SESSION), "/api/connect/session");
        assert_eq!(
            api_with(v1::CREDENTIAL_UPDATE_LINK, &["cred_1", "ul_2"]),
            "/api/v1/credentials/cred_1/update-links/ul_2"
        );
        assert_eq!(
            api_with(v1::CREDENTIAL, &["cred_1"]),
            "/api/v1/credentials/cred_1"
        );
    }

    #[test]
    #[should_panic(expected = "a value for every parameter")]
    fn a_missing_value_is_a_bug_caught_at_once() {
        api_with(v1::CREDENTIAL_UPDATE_LINK, &["cred_1"]);
    }
}
