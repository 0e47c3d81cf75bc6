//! `GET /api/openapi.json`: the OpenAPI 3.1 description of every endpoint,
//! body and error. The bodies' schemas are generated from the Rust types the
//! handlers read and write (`schemars`); the operations (paths, parameters,
//! statuses, security) are the table below, which a test checks against the
//! routers and `scripts/schemathesis` checks against the running server.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};
use shared::credentials::CREDENTIAL_SORTS;
use shared::routes;
use shared::webhooks::WebhookEventType;
use shared::StatusDetail;

use crate::http::audit;
use crate::http::extract::Json;
use crate::http::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route(routes::system::OPENAPI, get(serve_document))
}

/// The document, with the utility ids the adapters list right now (or, while
/// their catalogues cannot be read, any string).
async fn serve_document(State(state): State<AppState>) -> Json<Value> {
    let utility_ids: Option<Vec<String>> = state
        .utilities
        .all()
        .await
        .ok()
        .map(|utilities| utilities.iter().map(|utility| utility.id.clone()).collect());
    Json(document(utility_ids.as_deref()))
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn body(name: &str) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema_ref(name)}}})
}

fn ok(status: &str, description: &str, schema: Option<Value>) -> (String, Value) {
    let mut response = json!({"description": description});
    if let Some(schema) = schema {
        response["content"] = json!({"application/json": {"schema": schema}});
    }
    (status.to_owned(), response)
}

/// A CSV answer.
fn csv(status: &str, description: &str) -> (String, Value) {
    (
        status.to_owned(),
        json!({"description": description, "content": {"text/csv": {"schema": {"type": "string"}}}}),
    )
}

/// The answer of `POST /api/v1/update-links/bulk`: JSON, or CSV when asked for.
fn bulk_links() -> (String, Value) {
    let link = json!({
        "type": "object",
        "required": ["credentialId", "correlationId", "utilityId", "username", "link", "expiresAt"],
        "properties": {
            "credentialId": {"type": "string"},
            "correlationId": {"type": ["string", "null"]},
            "utilityId": {"type": "string"},
            "username": {"type": "string"},
            "link": {"type": "string"},
            "expiresAt": {"type": "string", "format": "date-time"},
        },
    });
    (
        "201".to_owned(),
        json!({"description": "The links", "content": {
            "application/json": {"schema": {"type": "object", "required": ["count", "links"], "properties": {
                "count": {"type": "integer", "minimum": 0},
                "links": {"type": "array", "items": link},
            }}},
            "text/csv": {"schema": {"type": "string"}},
        }}),
    )
}

/// The credential list's filters (the list, its CSV export and the bulk update links).
fn list_filters() -> Vec<Value> {
    vec![
        query_param(
            "status",
            "Only this status (with statusDetail: the details of both).",
            schema_ref("Status"),
        ),
        query_param(
            "statusDetail",
            "Comma-separated status details.",
            status_detail_list(),
        ),
        query_param("utilityId", "Only this utility.", json!({"type": "string"})),
        query_param(
            "correlationId",
            "Only this correlation id.",
            json!({"type": "string"}),
        ),
        query_param(
            "q",
            "Text the username contains (case-insensitive); no control characters.",
            json!({"type": "string", "maxLength": 128, "pattern": r"^[^\x00-\x1f\x7f-\x9f]*$"}),
        ),
        query_param(
            "includeDeactivated",
            "Also deactivated credentials.",
            json!({"type": "boolean", "default": false}),
        ),
        query_param(
            "stale",
            "Only credentials flagged stale (true) or only those not flagged (false).",
            json!({"type": "boolean"}),
        ),
    ]
}

/// One operation: summary, security, request body, success response, and the
/// error statuses it can answer (each with the shared error body).
struct Operation {
    summary: &'static str,
    tag: &'static str,
    security: &'static [&'static str],
    request: Option<&'static str>,
    success: (String, Value),
    errors: &'static [u16],
    parameters: Vec<Value>,
}

impl Operation {
    fn to_json(&self) -> Value {
        let mut responses = Map::new();
        responses.insert(self.success.0.clone(), self.success.1.clone());
        let mut errors: Vec<u16> = self.errors.to_vec();
        // Any client over its rate limit is answered 429 with Retry-After.
        errors.extend([429, 500]);
        if self.request.is_some() {
            errors.extend([400, 415, 422]);
        }
        if self
            .parameters
            .iter()
            .any(|parameter| parameter["name"] == "Idempotency-Key")
        {
            errors.extend([400, 422]);
        }
        if !self.security.is_empty() {
            errors.push(401);
        }
        errors.sort_unstable();
        errors.dedup();
        for status in errors {
            responses.insert(
                status.to_string(),
                json!({"$ref": format!("#/components/responses/Error{status}")}),
            );
        }
        let mut operation = json!({
            "summary": self.summary,
            "tags": [self.tag],
            "responses": responses,
            "security": self.security.iter().map(|scheme| json!({*scheme: []})).collect::<Vec<_>>(),
        });
        if let Some(request) = self.request {
            operation["requestBody"] = body(request);
        }
        if !self.parameters.is_empty() {
            operation["parameters"] = Value::Array(self.parameters.clone());
        }
        operation
    }
}

const INTEGRATOR: &[&str] = &["apiKey", "operatorSession"];
const ADMIN: &[&str] = &["operatorSession"];
const CONNECT: &[&str] = &["connectToken"];

fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string"}})
}

/// An optional query parameter. An empty value (`?sort=`) means the same as
/// leaving it out, so the schema allows it too.
fn query_param(name: &str, description: &str, schema: Value) -> Value {
    let mut parameter =
        json!({"name": name, "in": "query", "required": false, "description": description});
    let constrained_string = schema.get("$ref").is_some()
        || (schema["type"] == "string"
            && ["enum", "pattern", "format"]
                .iter()
                .any(|key| schema.get(key).is_some()));
    parameter["schema"] = if constrained_string {
        json!({"anyOf": [schema, {"type": "string", "maxLength": 0}]})
    } else {
        schema
    };
    parameter
}

/// `a`, `-a`, `b`, `-b`, …: the credential list's sort orders.
fn sort_orders() -> Value {
    let orders: Vec<String> = CREDENTIAL_SORTS
        .iter()
        .flat_map(|name| [name.to_string(), format!("-{name}")])
        .collect();
    json!({"type": "string", "enum": orders, "default": "-createdAt"})
}

/// A comma-separated list of status details.
fn status_detail_list() -> Value {
    let one = StatusDetail::ALL.map(StatusDetail::as_str).join("|");
    json!({"type": "string", "pattern": format!("^({one})(,({one}))*$")})
}

/// The audit trail's filters (and, for a page, its cursor and size).
fn audit_filters(paged: bool) -> Vec<Value> {
    let mut filters = vec![
        query_param(
            "actor",
            "An operator's email or id, or an API key's name or id.",
            json!({"type": "string"}),
        ),
        query_param(
            "actorKind",
            "Only this kind of actor.",
            schema_ref("AuditActorKind"),
        ),
        query_param("action", "Only this action.", schema_ref("AuditAction")),
        query_param(
            "target",
            "Only records about this id (a credential, operator, API key…).",
            json!({"type": "string"}),
        ),
        query_param(
            "from",
            "Only records at or after this time (RFC 3339).",
            json!({"type": "string", "format": "date-time"}),
        ),
        query_param(
            "to",
            "Only records before this time (RFC 3339).",
            json!({"type": "string", "format": "date-time"}),
        ),
    ];
    if paged {
        filters.push(query_param(
            "before",
            "The nextCursor of the previous page.",
            json!({"type": "string", "pattern": audit::CURSOR_PATTERN}),
        ));
        filters.push(query_param(
            "limit",
            "1 to 200 (default 50).",
            json!({"type": "integer", "minimum": 1, "maximum": 200}),
        ));
    }
    filters
}

/// Every documented operation as `(path, method, operation)`.
fn operations() -> Vec<(&'static str, &'static str, Operation)> {
    let id = || path_param("id", "The credential's id.");
    let op = |summary, tag, security, request, success, errors: &'static [u16]| Operation {
        summary,
        tag,
        security,
        request,
        success,
        errors,
        parameters: Vec::new(),
    };
    let with = |mut operation: Operation, parameters: Vec<Value>| {
        operation.parameters = parameters;
        operation
    };
    let idempotency_key = || {
        json!({"name": "Idempotency-Key", "in": "header", "required": false,
               "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
               "description": "Retry safely: the same key and body within 24 hours answer the first answer again (header Idempotent-Replayed: true); another body answers 422; a request still running under the key answers 409."})
    };
    let credential = || Some(schema_ref("Credential"));
    let connect_state = || Some(schema_ref("ConnectState"));
    vec![
        ("/api/health", "get", op("Liveness: the server answers (the database is not checked: \"not checked\")", "system", &[], None, ok("200", "Alive", Some(schema_ref("Health"))), &[])),
        ("/api/ready", "get", op("Readiness: the database answers and accepts a write (checked at most once a second)", "system", &[], None, ok("200", "Ready", Some(schema_ref("Health"))), &[503])),
        ("/api/openapi.json", "get", op("This document", "system", &[], None, ok("200", "OpenAPI 3.1", Some(json!({"type": "object"}))), &[])),
        ("/api/session", "post", op("Sign an operator in (sets the session cookie). An operator with a second factor gets 202 (SecondFactorRequired) and sends it to /api/session/second-factor. 10 failures for one email from one client in 15 minutes refuse that client for a while (429 with Retry-After)", "operators", &[], Some("SignIn"), ok("200", "Signed in", Some(schema_ref("Session"))), &[401, 429])),
        ("/api/session", "get", op("The signed-in operator and the CSRF token", "operators", ADMIN, None, ok("200", "Signed in", Some(schema_ref("Session"))), &[])),
        ("/api/session", "delete", op("Sign out", "operators", ADMIN, None, ok("204", "Signed out", None), &[403])),
        ("/api/session/sessions", "get", op("The signed-in operator's live sessions (where each started, when last seen, which is this one)", "operators", ADMIN, None, ok("200", "Sessions", Some(json!({"type": "array", "items": schema_ref("OperatorSession")}))), &[403])),
        ("/api/session/sessions/{id}", "delete", with(op("End one of the signed-in operator's sessions", "operators", ADMIN, None, ok("204", "Ended", None), &[403, 404]), vec![path_param("id", "The session's id, from the list.")])),
        ("/api/session/history", "get", op("The signed-in operator's latest sign-ins (time, client address, outcome)", "operators", ADMIN, None, ok("200", "Sign-ins", Some(json!({"type": "array", "items": schema_ref("SignInRecord")}))), &[403])),
        ("/api/session/second-factor", "post", op("The second step of a sign-in that answered 202: a code from the authenticator app or a recovery code (the gridlink_pending cookie says which sign-in; five minutes). Wrong codes count toward the sign-in limits", "operators", &[], Some("SecondFactorProof"), ok("200", "Signed in", Some(schema_ref("Session"))), &[401, 429])),
        ("/api/session/second-factor/passkey", "post", op("A passkey's challenge for the sign-in waiting for its second step (the gridlink_pending cookie): pass its options to navigator.credentials.get() and send the answer to /api/session/second-factor as passkey", "operators", &[], None, ok("201", "The challenge", Some(schema_ref("PasskeyChallenge"))), &[401, 409])),
        ("/api/session/passkey/challenge", "post", op("A challenge for signing in with a passkey alone: pass its options to navigator.credentials.get() and send the answer to /api/session/passkey within five minutes", "operators", &[], None, ok("201", "The challenge", Some(schema_ref("PasskeyChallenge"))), &[409])),
        ("/api/session/passkey", "post", op("Sign in with a passkey alone (sets the session cookie), where the operator's organisation allows it (403 otherwise: use the password first)", "operators", &[], Some("PasskeyAnswer"), ok("200", "Signed in", Some(schema_ref("Session"))), &[401, 403])),
        ("/api/session/passkeys", "get", op("The signed-in operator's passkeys, and where passkeys work (WebAuthn needs a domain name)", "operators", ADMIN, None, ok("200", "Passkeys", Some(schema_ref("PasskeyList"))), &[403])),
        ("/api/session/passkeys/registration", "post", op("Start registering a passkey: pass the options to navigator.credentials.create() and send the answer to POST /api/session/passkeys within five minutes", "operators", ADMIN, None, ok("201", "The challenge", Some(schema_ref("PasskeyChallenge"))), &[403, 409])),
        ("/api/session/passkeys", "post", op("Register a passkey: the browser's answer to its challenge, and a name", "operators", ADMIN, Some("NewPasskey"), ok("201", "Registered", Some(schema_ref("Passkey"))), &[403, 409])),
        ("/api/session/passkeys/{id}", "delete", with(op("Remove one of the signed-in operator's passkeys", "operators", ADMIN, None, ok("204", "Removed", None), &[403, 404]), vec![path_param("id", "The passkey's id, from the list.")])),
        ("/api/v1/sso", "get", op("The organisation's single sign-on (OpenID Connect) provider, if any, and the redirect URI to register at it (admins)", "operators", ADMIN, None, ok("200", "Single sign-on", Some(schema_ref("SsoSettings"))), &[403])),
        ("/api/v1/sso", "put", op("Set up or change single sign-on (admins): the issuer's discovery document is read over verified HTTPS first; the client secret is sealed and never shown again", "operators", ADMIN, Some("SsoSettingsChange"), ok("200", "Saved", Some(schema_ref("SsoSettings"))), &[403])),
        ("/api/v1/sso", "delete", op("Turn single sign-on off (admins)", "operators", ADMIN, None, ok("204", "Removed", None), &[403, 404])),
        ("/api/sso/providers", "get", op("The sign-in page's \"Sign in with …\" buttons", "operators", &[], None, ok("200", "Providers", Some(json!({"type": "array", "items": schema_ref("SsoProvider")}))), &[])),
        ("/api/sso/{id}/start", "get", with(op("A browser navigation: 303 to the identity provider (authorization code flow with PKCE, state and nonce; the state kept in the gridlink_sso cookie), or to the sign-in page with ?sso=<why> when it cannot be reached", "operators", &[], None, ok("303", "To the identity provider (Location)", None), &[404]), vec![path_param("id", "The provider's id, from /api/sso/providers.")])),
        ("/api/sso/callback", "get", with(op("Where the identity provider sends the browser back: 303 to /dashboard signed in, or to /dashboard/sign-in?sso=<why> (STATE_MISMATCH, PROVIDER_REFUSED, CODE_REJECTED, TOKEN_INVALID, EMAIL_NOT_ALLOWED, NOT_INVITED, PROVIDER_UNREACHABLE)", "operators", &[], None, ok("303", "To the dashboard or the sign-in page (Location)", None), &[]), vec![query_param("code", "The authorization code.", json!({"type": "string"})), query_param("state", "The state the sign-in started with.", json!({"type": "string"})), query_param("error", "The identity provider's refusal, if it refused.", json!({"type": "string"}))])),
        ("/api/session/totp", "get", op("Whether the signed-in operator has an authenticator app, and their unused recovery codes", "operators", ADMIN, None, ok("200", "Status", Some(schema_ref("TotpStatus"))), &[403])),
        ("/api/session/totp", "post", op("Start setting up an authenticator app: a secret, its otpauth URL and QR code (SVG); confirm with its first code", "operators", ADMIN, None, ok("201", "The secret", Some(schema_ref("TotpEnrolment"))), &[403, 409])),
        ("/api/session/totp/confirm", "post", op("Confirm the authenticator app with its current code; answers ten one-time recovery codes, shown once", "operators", ADMIN, Some("TotpConfirmation"), ok("200", "Recovery codes", Some(schema_ref("RecoveryCodes"))), &[403, 429])),
        ("/api/session/totp/disable", "post", op("Remove the authenticator app and the recovery codes, proven with a current code or a recovery code", "operators", ADMIN, Some("SecondFactorProof"), ok("204", "Removed", None), &[403, 429])),
        ("/api/session/password", "post", op("Change the signed-in operator's own password; their other sessions end", "operators", ADMIN, Some("PasswordChange"), ok("204", "Changed", None), &[403, 422, 429])),
        ("/api/v1/operators", "get", op("List operators (admins)", "operators", ADMIN, None, ok("200", "Operators", Some(json!({"type": "array", "items": schema_ref("Operator")}))), &[403])),
        ("/api/v1/operators", "post", op("Add an operator (admins): with a password, or without one to mail them an invitation to choose it (48 hours); 409 when the email is taken", "operators", ADMIN, Some("NewOperator"), ok("201", "Added", Some(schema_ref("Operator"))), &[403, 409])),
        ("/api/v1/operators/{id}", "patch", with(op("Change an operator's role (admins)", "operators", ADMIN, Some("OperatorChange"), ok("200", "Changed", Some(schema_ref("Operator"))), &[403, 404, 409]), vec![path_param("id", "The operator's id.")])),
        ("/api/v1/operators/{id}", "delete", with(op("Remove an operator (admins)", "operators", ADMIN, None, ok("204", "Removed", None), &[403, 404, 409]), vec![path_param("id", "The operator's id.")])),
        ("/api/v1/organisation", "get", op("The organisation's branding and embed origins", "organisation", INTEGRATOR, None, ok("200", "Settings", Some(schema_ref("OrganisationSettings"))), &[])),
        ("/api/v1/organisation", "put", op("Replace the organisation's settings (admins)", "organisation", ADMIN, Some("OrganisationSettingsChange"), ok("200", "Settings", Some(schema_ref("OrganisationSettings"))), &[403])),
        ("/api/v1/api-keys", "get", op("List API keys (admins)", "api keys", ADMIN, None, ok("200", "API keys", Some(json!({"type": "array", "items": schema_ref("ApiKey")}))), &[403])),
        ("/api/v1/api-keys", "post", op("Create an API key; its secret is shown only in this answer (admins)", "api keys", ADMIN, Some("NewApiKey"), ok("201", "Created", Some(schema_ref("CreatedApiKey"))), &[403])),
        ("/api/v1/api-keys/{id}", "delete", with(op("Revoke an API key (admins)", "api keys", ADMIN, None, ok("204", "Revoked", None), &[403, 404]), vec![path_param("id", "The API key's id.")])),
        ("/api/v1/audit-events", "get", with(op("The audit trail, newest first (admins and API keys): who did what to what, when and from where", "audit", INTEGRATOR, None, ok("200", "A page of records", Some(schema_ref("AuditEventPage"))), &[400, 403, 422]), audit_filters(true))),
        ("/api/v1/audit-events/export.csv", "get", with(op("The audit trail's records matching the filters as CSV, newest first (at most 100,000; the export is itself recorded)", "audit", INTEGRATOR, None, csv("200", "The records"), &[400, 403, 422]), audit_filters(false))),
        ("/api/v1/utilities", "get", op("The utilities Gridlink connects to, with their names", "credentials", INTEGRATOR, None, ok("200", "Utilities", Some(json!({"type": "array", "items": schema_ref("Utility")}))), &[503])),
        ("/api/v1/adapters", "get", op("The utility adapters, their utilities and health (read-only: configured by file)", "credentials", INTEGRATOR, None, ok("200", "Adapters", Some(json!({"type": "array", "items": schema_ref("AdapterHealth")}))), &[])),
        ("/api/v1/adapters/refresh", "post", op("Read every adapter's catalogue now (admins; five, then one every ten seconds per organisation)", "credentials", ADMIN, None, ok("200", "Adapters", Some(json!({"type": "array", "items": schema_ref("AdapterHealth")}))), &[403, 429])),
        ("/api/v1/utility-incidents", "get", with(op("Utilities that stopped answering for many calls at once (open, or also resolved in the last 30 days)", "credentials", INTEGRATOR, None, ok("200", "Incidents, newest first", Some(json!({"type": "array", "items": schema_ref("UtilityIncident")}))), &[400, 422]), vec![
            query_param("state", "open (default) or all.", json!({"type": "string", "enum": ["open", "all"], "default": "open"})),
        ])),
        ("/api/v1/credentials", "post", with(op("Create a credential; it starts connecting at once", "credentials", INTEGRATOR, Some("NewCredential"), ok("201", "Created", credential()), &[403, 409, 503]), vec![idempotency_key()])),
        ("/api/v1/credentials", "get", with(op("List credentials with filters, sorting and pagination", "credentials", INTEGRATOR, None, ok("200", "One page", Some(schema_ref("CredentialPage"))), &[400, 422]), [
            list_filters(),
            vec![
                query_param("sort", "createdAt, username, utilityId, statusDetail or tokenExpiresAt; prefix - to reverse. Default -createdAt.", sort_orders()),
                query_param("page", "From 1.", json!({"type": "integer", "minimum": 1, "maximum": u32::MAX, "default": 1})),
                query_param("pageSize", "1 to 100.", json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 25})),
            ],
        ].concat())),
        ("/api/v1/credentials/export.csv", "get", with(op("The credentials matching the list's filters as CSV (contact emails masked; at most 50,000: 422 asks for narrower filters)", "credentials", INTEGRATOR, None, csv("200", "CSV: credentialId, correlationId, utilityId, username, status, statusDetail, tokenExpiresAt, lastSyncedAt, contactEmail, createdAt, deactivatedAt"), &[400, 422]), list_filters())),
        ("/api/v1/utilities/lifetimes", "get", op("How long each utility's session tokens were seen to live (last 180 days): median and 90th percentile", "credentials", INTEGRATOR, None, ok("200", "Per utility", Some(json!({"type": "array", "items": schema_ref("UtilityLifetime")}))), &[])),
        ("/api/v1/notices/funnel", "get", op("The refresh funnel of the last 30 days: notices mailed, links opened, repaired within 72 hours, median time to repair", "credentials", INTEGRATOR, None, ok("200", "The funnel", Some(schema_ref("RefreshFunnel"))), &[])),
        ("/api/v1/update-links/bulk", "post", with(op("A new 72-hour update link for every active credential matching the list's filters (replacing older links); JSON, or CSV with Accept: text/csv (at most 50,000: 422 asks for narrower filters)", "connect tokens", INTEGRATOR, None, bulk_links(), &[400, 422]), list_filters())),
        ("/api/v1/credentials/counts", "get", op("Active credentials per status and status detail", "credentials", INTEGRATOR, None, ok("200", "Counts", Some(schema_ref("CredentialCounts"))), &[])),
        ("/api/v1/credentials/expiries", "get", with(op("Connected credentials whose tokens expire on each of the next days", "credentials", INTEGRATOR, None, ok("200", "Forecast", Some(schema_ref("ExpiryForecast"))), &[400, 422]), vec![query_param("days", "1 to 366 (default 90).", json!({"type": "integer", "minimum": 1, "maximum": 366}))])),
        ("/api/v1/events", "get", with(op("The organisation's latest events, newest first", "credentials", INTEGRATOR, None, ok("200", "Events", Some(json!({"type": "array", "items": schema_ref("OrganisationEvent")}))), &[400, 422]), vec![query_param("limit", "1 to 100 (default 20).", json!({"type": "integer", "minimum": 1, "maximum": 100}))])),
        ("/api/v1/credentials/{id}", "get", with(op("A credential", "credentials", INTEGRATOR, None, ok("200", "The credential", credential()), &[404]), vec![id()])),
        ("/api/v1/credentials/{id}", "patch", with(op("Change the correlation id or the password (which reconnects)", "credentials", INTEGRATOR, Some("CredentialChange"), ok("200", "Changed", credential()), &[404, 409]), vec![id()])),
        ("/api/v1/credentials/{id}", "delete", with(op("Deactivate: stop syncing and destroy the stored password and session token. The credential stays readable (with deactivatedAt), as do its timeline, accounts and statements; lists leave it out unless includeDeactivated=true", "credentials", INTEGRATOR, None, ok("204", "Deactivated", None), &[404]), vec![id()])),
        ("/api/v1/credentials/{id}/events", "get", with(op("The credential's timeline, newest first", "credentials", INTEGRATOR, None, ok("200", "Events", Some(json!({"type": "array", "items": schema_ref("CredentialEvent")}))), &[404]), vec![id()])),
        ("/api/v1/credentials/{id}/sync", "post", with(op("Sync now (stores new accounts and statements); a token the utility rejects moves the credential to MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED", "credentials", INTEGRATOR, None, ok("200", "The credential after the sync", credential()), &[404, 409, 503]), vec![id()])),
        ("/api/v1/credentials/{id}/accounts", "get", with(op("The credential's utility accounts, as the syncs stored them", "credentials", INTEGRATOR, None, ok("200", "Accounts", Some(json!({"type": "array", "items": schema_ref("UtilityAccount")}))), &[404]), vec![id()])),
        ("/api/v1/credentials/{id}/statements", "get", with(op("The credential's monthly statements as the syncs stored them, newest first (at most 1000)", "credentials", INTEGRATOR, None, ok("200", "Statements", Some(json!({"type": "array", "items": schema_ref("UtilityStatement")}))), &[404]), vec![id()])),
        ("/api/v1/connect-tokens", "post", with(op("A Connect token for a new credential (valid one hour)", "connect tokens", INTEGRATOR, Some("NewConnectToken"), ok("201", "Token and URL", Some(schema_ref("ConnectToken"))), &[409, 429, 503]), vec![idempotency_key()])),
        ("/api/v1/credentials/{id}/connect-tokens", "post", with(op("Retry MFA Verification: Connect in update mode (valid one hour)", "connect tokens", INTEGRATOR, None, ok("201", "Token and URL", Some(schema_ref("ConnectToken"))), &[404, 409, 429]), vec![id(), idempotency_key()])),
        ("/api/v1/credentials/{id}/update-links", "post", with(op("Generate update link (72 hours; revokes the previous one)", "connect tokens", INTEGRATOR, None, ok("201", "Link", Some(schema_ref("ConnectToken"))), &[404, 409, 429]), vec![id(), idempotency_key()])),
        ("/api/v1/credentials/{id}/update-links", "get", with(op("The active update link, if any", "connect tokens", INTEGRATOR, None, ok("200", "Links", Some(json!({"type": "array", "items": schema_ref("UpdateLink")}))), &[404]), vec![id()])),
        ("/api/v1/credentials/{id}/update-links/{link_id}", "delete", with(op("Revoke an update link", "connect tokens", INTEGRATOR, None, ok("204", "Revoked", None), &[404]), vec![id(), path_param("link_id", "The update link's id.")])),
        ("/api/v1/webhook-endpoint", "get", op("The organisation's webhook endpoint", "webhooks", INTEGRATOR, None, ok("200", "Endpoint", Some(schema_ref("WebhookEndpoint"))), &[404])),
        ("/api/v1/webhook-endpoint", "put", op("Set the endpoint URL; the first time, the signing secret is created and shown once (admins and API keys)", "webhooks", INTEGRATOR, Some("WebhookEndpointChange"), ok("200", "Updated (201 with the secret when created)", Some(json!({"oneOf": [schema_ref("WebhookEndpoint"), schema_ref("WebhookSecret")]}))), &[403, 409])),
        ("/api/v1/webhook-endpoint", "delete", op("Remove the endpoint; undelivered messages are given up (admins and API keys)", "webhooks", INTEGRATOR, None, ok("204", "Removed", None), &[403, 404])),
        ("/api/v1/webhook-endpoint/rotate-secret", "post", op("A new signing secret, shown once; the previous one keeps signing for 24 hours (admins and API keys)", "webhooks", INTEGRATOR, None, ok("200", "The new secret", Some(schema_ref("WebhookSecret"))), &[403, 404])),
        ("/api/v1/webhook-endpoint/test", "post", op("Send a WEBHOOK_TEST message to the endpoint", "webhooks", INTEGRATOR, None, ok("202", "Queued", Some(schema_ref("WebhookDelivery"))), &[404])),
        ("/api/v1/webhook-deliveries", "get", with(op("Webhook messages, newest first, with how their delivery went", "webhooks", INTEGRATOR, None, ok("200", "A page", Some(schema_ref("WebhookDeliveryPage"))), &[400, 422]), vec![
            query_param("before", "The nextCursor of the previous page.", json!({"type": "string", "pattern": crate::http::webhooks::deliveries::CURSOR_PATTERN})),
            query_param("limit", "1 to 200 (default 50).", json!({"type": "integer", "minimum": 1, "maximum": 200})),
            query_param("state", "Only deliveries in this state.", schema_ref("DeliveryState")),
            query_param("credentialId", "Only the messages about this credential.", json!({"type": "string"})),
            query_param("eventType", "Only messages of this type.", schema_ref("WebhookEventType")),
            query_param("from", "Only messages created at or after this time (RFC 3339).", json!({"type": "string", "format": "date-time"})),
            query_param("to", "Only messages created before this time (RFC 3339).", json!({"type": "string", "format": "date-time"})),
        ])),
        ("/api/v1/webhook-deliveries/replay", "post", op("Send every failed message of a time range or of one credential again, oldest first, each with its original id", "webhooks", INTEGRATOR, Some("ReplayRequest"), ok("202", "How many were queued", Some(json!({"type": "object", "required": ["requeued"], "properties": {"requeued": {"type": "integer"}}}))), &[409, 422])),
        ("/api/v1/webhook-deliveries/{id}", "get", with(op("A webhook message, its body and every attempt", "webhooks", INTEGRATOR, None, ok("200", "The delivery", Some(schema_ref("WebhookDeliveryDetail"))), &[404]), vec![path_param("id", "The message id (msg_…).")])),
        ("/api/v1/webhook-deliveries/{id}/resend", "post", with(op("Send a delivered or failed message again now (same id and body)", "webhooks", INTEGRATOR, None, ok("202", "Queued", Some(schema_ref("WebhookDelivery"))), &[404, 409]), vec![path_param("id", "The message id (msg_…).")])),
        ("/api/connect/session", "get", with(op("Where the end-user is in Connect", "connect", CONNECT, None, ok("200", "Connect state", connect_state()), &[400, 410, 422]), vec![query_param("waitSeconds", "While the step is CONNECTING, answer when the login ends, at most this many seconds later (1 to 30); otherwise at once.", json!({"type": "integer", "minimum": 1, "maximum": 30}))])),
        ("/api/connect/utilities", "get", op("The utilities to choose from", "connect", CONNECT, None, ok("200", "Utilities", Some(json!({"type": "array", "items": schema_ref("Utility")}))), &[410, 503])),
        ("/api/connect/credentials", "post", op("Submit the login (new credential; again after INVALID_CREDENTIALS)", "connect", CONNECT, Some("SubmitCredentials"), ok("200", "Connect state", connect_state()), &[409, 410, 503])),
        ("/api/connect/reconnect", "post", op("Start connecting with the stored login (update mode, or after a failure)", "connect", CONNECT, None, ok("200", "Connect state", connect_state()), &[409, 410])),
        ("/api/connect/password", "post", op("Re-enter the password after INVALID_CREDENTIALS (update mode)", "connect", CONNECT, Some("SubmitPassword"), ok("200", "Connect state", connect_state()), &[409, 410])),
        ("/api/connect/mfa/method", "post", op("Choose the verification method; a code is sent", "connect", CONNECT, Some("ChooseMethod"), ok("200", "Connect state", connect_state()), &[409, 410, 429, 503])),
        ("/api/connect/mfa/resend", "post", op("Send the code again", "connect", CONNECT, None, ok("200", "Connect state", connect_state()), &[409, 410, 429, 503])),
        ("/api/connect/mfa/code", "post", op("Submit the code (422 with the attempts left when wrong)", "connect", CONNECT, Some("SubmitCode"), ok("200", "Connect state", connect_state()), &[409, 410, 503])),
        ("/api/password-reset", "post", op("\"Forgot password?\": mails a one-time link (1 hour) if an operator uses the address; the answer is the same either way", "operators", &[], Some("PasswordResetRequest"), ok("202", "Accepted", Some(json!({"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}}))), &[429])),
        ("/api/password-reset/{token}", "get", with(op("What a mailed operator link (invitation or password reset) is for", "operators", &[], None, ok("200", "The link", Some(schema_ref("OperatorLink"))), &[404, 409]), vec![path_param("token", "The token in the link (gol_…).")])),
        ("/api/password-reset/{token}", "post", with(op("Choose a password with a mailed link; it works once and ends every session of the operator", "operators", &[], Some("NewPassword"), ok("204", "Password set", None), &[404, 409]), vec![path_param("token", "The token in the link (gol_…).")])),
        ("/api/connect/contact", "post", op("On the success screen: the end-user's email for notices when this connection needs them", "connect", CONNECT, Some("ContactChoice"), ok("200", "Connect state", connect_state()), &[404, 409, 410])),
        ("/api/connect/recovery-alert", "post", op("While a utility is having trouble (an open incident): mail this address a fresh Connect link, once, when it works again", "connect", CONNECT, Some("RecoveryAlertRequest"), ok("202", "Who will be mailed, masked", Some(schema_ref("RecoveryAlert"))), &[409, 410, 422, 503])),
        ("/api/unsubscribe/{token}", "get", with(op("Whom an unsubscribe link (from a notice) is for", "connect", &[], None, ok("200", "The link's address, masked", Some(schema_ref("Unsubscription"))), &[404]), vec![path_param("token", "The token in the link (gus_…).")])),
        ("/api/unsubscribe/{token}", "post", with(op("Stop notices to the link's address (also the one-click List-Unsubscribe POST)", "connect", &[], None, ok("200", "Unsubscribed", Some(schema_ref("Unsubscription"))), &[404]), vec![path_param("token", "The token in the link (gus_…).")])),
    ]
}

/// Every body's schema, generated from the Rust types the handlers read and
/// write (`schemars`, with their serde names, doc comments and constraints;
/// `deny_unknown_fields` becomes `additionalProperties: false`).
fn schemas(utility_ids: Option<&[String]>) -> Value {
    use shared::{
        connect, credentials, error, health, mfa, operators, single_sign_on, status, webhooks,
    };
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    let mut generator = settings.into_generator();
    macro_rules! register {
        ($($type:ty),* $(,)?) => { $( generator.subschema_for::<$type>(); )* };
    }
    register!(
        error::ErrorBody,
        health::Health,
        status::Status,
        status::StatusDetail,
        operators::Role,
        credentials::Owner,
        mfa::MfaMethod,
        shared::i18n::Language,
        operators::SignIn,
        operators::Session,
        operators::OperatorSession,
        operators::SignInRecord,
        operators::PasswordChange,
        operators::Operator,
        operators::NewOperator,
        operators::OperatorChange,
        operators::OrganisationSettings,
        operators::OrganisationSettingsChange,
        operators::ApiKey,
        operators::NewApiKey,
        operators::CreatedApiKey,
        credentials::NewCredential,
        credentials::CredentialChange,
        credentials::Credential,
        credentials::CredentialPage,
        credentials::CredentialCounts,
        credentials::CredentialEvent,
        credentials::ExpiryForecast,
        credentials::OrganisationEvent,
        credentials::UtilityAccount,
        credentials::UtilityStatement,
        credentials::UtilityIncident,
        credentials::AdapterHealth,
        connect::NewConnectToken,
        connect::ConnectToken,
        connect::UpdateLink,
        connect::ContactChoice,
        connect::RecoveryAlertRequest,
        connect::RecoveryAlert,
        connect::Unsubscription,
        operators::NotifyEndUsers,
        credentials::UtilityLifetime,
        credentials::RefreshFunnel,
        operators::PasswordResetRequest,
        operators::OperatorLink,
        operators::OperatorLinkPurpose,
        operators::NewPassword,
        connect::Utility,
        connect::SubmitCredentials,
        connect::SubmitPassword,
        connect::ChooseMethod,
        connect::SubmitCode,
        connect::ConnectState,
        webhooks::WebhookEventType,
        webhooks::DeliveryState,
        webhooks::WebhookEndpointChange,
        webhooks::WebhookEndpoint,
        webhooks::WebhookSecret,
        webhooks::WebhookDelivery,
        webhooks::WebhookDeliveryPage,
        webhooks::WebhookDeliveryDetail,
        crate::http::webhooks::deliveries::ReplayRequest,
        shared::audit::AuditAction,
        shared::audit::AuditActorKind,
        shared::audit::AuditEvent,
        shared::audit::AuditEventPage,
        operators::ApiKeyScope,
        operators::SecondFactorRequired,
        operators::SecondFactorProof,
        operators::PasskeyChallenge,
        operators::PasskeyAnswer,
        operators::NewPasskey,
        operators::Passkey,
        operators::PasskeyList,
        single_sign_on::SsoSettings,
        single_sign_on::SsoProviderSettings,
        single_sign_on::SsoSettingsChange,
        single_sign_on::SsoProvider,
        operators::TotpStatus,
        operators::TotpEnrolment,
        operators::TotpConfirmation,
        operators::RecoveryCodes,
    );
    let mut schemas = generator.take_definitions(true);
    if let Some(ids) = utility_ids {
        schemas.insert("UtilityId".into(), json!({"type": "string", "enum": ids, "description": "A utility's id, from GET /api/v1/utilities."}));
    }
    // The one body with no Rust type of its own: the outbox writes each kind's `data`.
    schemas.insert("WebhookMessage".into(), json!({
        "type": "object", "required": ["type", "timestamp", "data"],
        "properties": {
            "type": schema_ref("WebhookEventType"), "timestamp": {"type": "string", "format": "date-time"},
            "data": {"type": "object", "description": "For credential events: credentialId, utilityId, correlationId, status, statusDetail, isCustomerActionRequired, isAccessible; STATUS_CHANGE adds previousStatusDetail and message; NEW_DATA_AVAILABLE adds newAccounts, newStatements and statementIds; SESSION_TOKEN_EXPIRING adds tokenExpiresAt; CREDENTIAL_STALE adds lastSyncedAt and staleSince; CREDENTIAL_RECOVERED adds staleSince and lastSyncedAt. UTILITY_INCIDENT_OPENED and UTILITY_INCIDENT_RESOLVED carry incidentId, utilityId, utilityName, failingSince, openedAt, resolvedAt, affectedCredentials and message instead."}
        }
    }));
    Value::Object(schemas)
}

fn error_responses() -> Value {
    let mut responses = Map::new();
    for (status, description) in [
        (
            400,
            "Malformed request: bad JSON, wrong types or unknown fields",
        ),
        (
            401,
            "Not signed in, or the API key or Connect token is not valid",
        ),
        (
            403,
            "Signed in but not allowed (role, or missing CSRF token)",
        ),
        (404, "Not found, or belongs to another organisation"),
        (409, "Conflicts with the resource's current state"),
        (410, "The Connect link expired, was used, or was revoked"),
        (415, "The body is not sent as application/json"),
        (422, "Fields with values that are not allowed, each listed"),
        (429, "Too many requests (codes sent)"),
        (500, "Internal error (details are logged, never shown)"),
        (503, "The utility or the database is not answering"),
    ] {
        responses.insert(
            format!("Error{status}"),
            json!({"description": description, "content": {"application/json": {"schema": schema_ref("ErrorBody")}}}),
        );
    }
    Value::Object(responses)
}

/// The messages Gridlink POSTs to the organisation's endpoint (OpenAPI 3.1 `webhooks`).
fn webhooks() -> Value {
    let mut described = Map::new();
    for kind in WebhookEventType::ALL {
        described.insert(kind.as_str().to_owned(), json!({"post": {
            "summary": format!("{kind}: signed with the Standard Webhooks headers webhook-id, webhook-timestamp and webhook-signature (v1, HMAC-SHA256 over \"id.timestamp.body\"); retried with backoff for 24 hours until the endpoint answers 2xx"),
            "requestBody": body("WebhookMessage"),
            "responses": {"200": {"description": "Any 2xx means delivered"}}
        }}));
    }
    Value::Object(described)
}

/// The whole OpenAPI document; `utility_ids` (when known) become the enum of
/// the `UtilityId` schema.
pub fn document(utility_ids: Option<&[String]>) -> Value {
    let mut paths = Map::new();
    for (path, method, operation) in operations() {
        let entry = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
        let mut described = operation.to_json();
        // The scope an API key needs: a READ key may only read.
        if operation.security.contains(&"apiKey") {
            described["x-gridlink-scope"] = json!(if method == "get" { "READ" } else { "WRITE" });
        }
        if let Some((.., actions)) =
            audit::AUDITED
                .iter()
                .find(|(audited_path, audited_method, _)| {
                    *audited_path == path && *audited_method == method
                })
        {
            described["x-gridlink-audit"] = json!(actions);
        }
        entry[method] = described;
    }
    // Signing in has a second success: the password was right and a second factor is due.
    paths["/api/session"]["post"]["responses"]["202"] = json!({
        "description": "The password was right; send a second factor to /api/session/second-factor",
        "content": {"application/json": {"schema": schema_ref("SecondFactorRequired")}},
    });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Gridlink API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Keeps utility accounts connected behind multi-factor authentication. Every error answers with ErrorBody."
        },
        "paths": paths,
        "webhooks": webhooks(),
        "components": {
            "schemas": schemas(utility_ids),
            "responses": error_responses(),
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "An API key (glk_…), created by an admin."},
                "operatorSession": {"type": "apiKey", "in": "cookie", "name": "gridlink_session", "description": "The dashboard's session; state-changing requests also need the x-csrf-token header."},
                "connectToken": {"type": "http", "scheme": "bearer", "description": "A Connect token (gct_…) from a Connect URL."}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Every path constant of `shared::routes`, by its name (`v1::CREDENTIAL`).
    fn route_constants() -> HashMap<String, String> {
        let mut paths = HashMap::new();
        let mut module = "";
        for line in include_str!("../../../shared/src/routes.rs").lines() {
            let line = line.trim();
            if let Some(name) = line.strip_prefix("pub mod ") {
                module = name.trim_end_matches(" {");
            } else if let Some(constant) = line.strip_prefix("pub const ") {
                let Some((name, value)) = constant.split_once(": &str = ") else {
                    continue;
                };
                let path = value.trim_end_matches(';').trim_matches('"');
                paths.insert(format!("{module}::{name}"), path.to_owned());
            }
        }
        paths
    }

    /// `(method, path)` of every `.route(…)` in the API routers' source,
    /// whether the path is a `shared::routes` constant or a literal.
    fn declared_routes() -> Vec<(String, String)> {
        let sources = [
            include_str!("health.rs"),
            include_str!("operators/mod.rs"),
            include_str!("operators/account.rs"),
            include_str!("operators/links.rs"),
            include_str!("operators/second_factor_step.rs"),
            include_str!("operators/passkeys.rs"),
            include_str!("single_sign_on.rs"),
            include_str!("api_keys.rs"),
            include_str!("audit.rs"),
            include_str!("credentials/mod.rs"),
            include_str!("credentials/listing.rs"),
            include_str!("connect/mod.rs"),
            include_str!("connect/links.rs"),
            include_str!("connect/bulk_links.rs"),
            include_str!("openapi.rs"),
            include_str!("organisations.rs"),
            include_str!("webhooks/mod.rs"),
            include_str!("webhooks/deliveries.rs"),
            include_str!("incidents.rs"),
            include_str!("lifetimes.rs"),
            include_str!("notice_funnel.rs"),
            include_str!("unsubscribe.rs"),
            include_str!("adapters.rs"),
        ];
        let constants = route_constants();
        let mut routes = Vec::new();
        for source in sources {
            let compact: String = source.split_whitespace().collect();
            for piece in compact.split(".route(").skip(1) {
                let (path, rest) = if let Some(literal) = piece.strip_prefix('"') {
                    match literal.split_once('"') {
                        Some((path, rest)) => (path.to_owned(), rest),
                        None => continue,
                    }
                } else if let Some(constant) = piece.strip_prefix("routes::") {
                    let Some((name, rest)) = constant.split_once(',') else {
                        continue;
                    };
                    let path = constants
                        .get(name)
                        .unwrap_or_else(|| panic!("routes::{name} is not in shared::routes"));
                    (path.clone(), rest)
                } else {
                    continue;
                };
                let handlers = route_arguments(rest);
                for method in ["get", "post", "patch", "delete", "put"] {
                    if handlers.contains(&format!("{method}(")) {
                        routes.push((method.to_owned(), format!("/api{path}")));
                    }
                }
            }
        }
        routes
    }

    /// What follows the path in a `.route(` call, up to its closing parenthesis.
    fn route_arguments(rest: &str) -> &str {
        let mut depth = 1;
        for (at, character) in rest.char_indices() {
            match character {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                return &rest[..at];
            }
        }
        rest
    }

    #[test]
    fn every_declared_route_is_documented() {
        let document = document(Some(&["sandbox-electric".to_owned()]));
        let declared = declared_routes();
        assert!(
            declared.len() > 25,
            "the route scan found too little: {declared:?}"
        );
        for (method, path) in declared {
            assert!(
                document["paths"][&path][&method].is_object(),
                "{method} {path} is not in openapi.json"
            );
        }
    }

    #[test]
    fn every_state_change_is_audited_or_says_why_not() {
        let document = document(None);
        for (path, methods) in document["paths"].as_object().unwrap() {
            for method in methods.as_object().unwrap().keys() {
                let audited = audit::AUDITED
                    .iter()
                    .any(|(p, m, _)| p == path && m == method);
                let exempt = audit::NOT_AUDITED
                    .iter()
                    .any(|(p, m, _)| p == path && m == method);
                assert!(!(audited && exempt), "{method} {path} is in both lists");
                if method != "get" {
                    assert!(
                        audited || exempt,
                        "{method} {path} changes state: add it to http::audit::AUDITED (or NOT_AUDITED, with the reason)"
                    );
                }
            }
        }
        let listed = audit::AUDITED
            .iter()
            .map(|(path, method, _)| (*path, *method))
            .chain(
                audit::NOT_AUDITED
                    .iter()
                    .map(|(path, method, _)| (*path, *method)),
            );
        for (path, method) in listed {
            assert!(
                document["paths"][path][method].is_object(),
                "{method} {path} is listed for the audit trail but is no operation"
            );
        }
        for action in shared::audit::AuditAction::ALL {
            let recorded = audit::AUDITED
                .iter()
                .any(|(.., actions)| actions.contains(&action))
                || audit::RECORDED_BY_THE_CLI.contains(&action);
            assert!(recorded, "{action} is recorded by no operation");
        }
    }

    #[test]
    fn every_api_key_operation_names_its_scope() {
        let document = document(None);
        let post = &document["paths"]["/api/v1/credentials"]["post"];
        assert_eq!(post["x-gridlink-scope"], "WRITE");
        let list = &document["paths"]["/api/v1/credentials"]["get"];
        assert_eq!(list["x-gridlink-scope"], "READ");
        let sign_in = &document["paths"]["/api/session"]["post"];
        assert!(sign_in.get("x-gridlink-scope").is_none());
    }

    #[test]
    fn every_reference_resolves() {
        let document = document(Some(&["sandbox-electric".to_owned()]));
        let text = document.to_string();
        for piece in text.split("\"$ref\":\"#/components/").skip(1) {
            let reference = piece.split('"').next().unwrap();
            let (section, name) = reference.split_once('/').unwrap();
            assert!(
                document["components"][section][name].is_object(),
                "{reference} is missing"
            );
        }
    }
}
