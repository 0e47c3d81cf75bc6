//! `GET /api/openapi.json`: the OpenAPI 3.1 description of every endpoint,
//! body and error. Written by hand next to the routers; a test checks that
//! every route the routers declare is described here.

use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};
use shared::webhooks::WebhookEventType;
use shared::StatusDetail;

use crate::extract::Json;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(|| async { Json(document()) }))
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
        errors.push(500);
        if self.request.is_some() {
            errors.extend([400, 415, 422]);
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

fn query_param(name: &str, description: &str, schema: Value) -> Value {
    let mut parameter =
        json!({"name": name, "in": "query", "required": false, "description": description});
    parameter["schema"] = schema;
    parameter
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
               "schema": {"type": "string", "minLength": 1, "maxLength": 255},
               "description": "Retry safely: the same key and body within 24 hours answer the first answer again (header Idempotent-Replayed: true); another body answers 422; a request still running under the key answers 409."})
    };
    let credential = || Some(schema_ref("Credential"));
    let connect_state = || Some(schema_ref("ConnectState"));
    vec![
        ("/api/health", "get", op("Health of the server and its database", "system", &[], None, ok("200", "Healthy", Some(schema_ref("Health"))), &[503])),
        ("/api/openapi.json", "get", op("This document", "system", &[], None, ok("200", "OpenAPI 3.1", Some(json!({"type": "object"}))), &[])),
        ("/api/session", "post", op("Sign an operator in (sets the session cookie); 10 failures for one email from one client in 15 minutes refuse that client for a while (429 with Retry-After)", "operators", &[], Some("SignIn"), ok("200", "Signed in", Some(schema_ref("Session"))), &[401, 429])),
        ("/api/session", "get", op("The signed-in operator and the CSRF token", "operators", ADMIN, None, ok("200", "Signed in", Some(schema_ref("Session"))), &[])),
        ("/api/session", "delete", op("Sign out", "operators", ADMIN, None, ok("204", "Signed out", None), &[403])),
        ("/api/session/sessions", "get", op("The signed-in operator's live sessions (where each started, when last seen, which is this one)", "operators", ADMIN, None, ok("200", "Sessions", Some(json!({"type": "array", "items": schema_ref("OperatorSession")}))), &[403])),
        ("/api/session/sessions/{id}", "delete", with(op("End one of the signed-in operator's sessions", "operators", ADMIN, None, ok("204", "Ended", None), &[403, 404]), vec![path_param("id", "The session's id, from the list.")])),
        ("/api/session/history", "get", op("The signed-in operator's latest sign-ins (time, client address, outcome)", "operators", ADMIN, None, ok("200", "Sign-ins", Some(json!({"type": "array", "items": schema_ref("SignInRecord")}))), &[403])),
        ("/api/session/password", "post", op("Change the signed-in operator's own password; their other sessions end", "operators", ADMIN, Some("PasswordChange"), ok("204", "Changed", None), &[403, 422, 429])),
        ("/api/v1/operators", "get", op("List operators (admins)", "operators", ADMIN, None, ok("200", "Operators", Some(json!({"type": "array", "items": schema_ref("Operator")}))), &[403])),
        ("/api/v1/operators", "post", op("Add an operator (admins)", "operators", ADMIN, Some("NewOperator"), ok("201", "Added", Some(schema_ref("Operator"))), &[403])),
        ("/api/v1/operators/{id}", "patch", with(op("Change an operator's role (admins)", "operators", ADMIN, Some("OperatorChange"), ok("200", "Changed", Some(schema_ref("Operator"))), &[403, 404, 409]), vec![path_param("id", "The operator's id.")])),
        ("/api/v1/operators/{id}", "delete", with(op("Remove an operator (admins)", "operators", ADMIN, None, ok("204", "Removed", None), &[403, 404, 409]), vec![path_param("id", "The operator's id.")])),
        ("/api/v1/organisation", "get", op("The organisation's branding and embed origins", "organisation", INTEGRATOR, None, ok("200", "Settings", Some(schema_ref("OrganisationSettings"))), &[])),
        ("/api/v1/organisation", "put", op("Replace the organisation's settings (admins)", "organisation", ADMIN, Some("OrganisationSettingsChange"), ok("200", "Settings", Some(schema_ref("OrganisationSettings"))), &[403])),
        ("/api/v1/api-keys", "get", op("List API keys (admins)", "api keys", ADMIN, None, ok("200", "API keys", Some(json!({"type": "array", "items": schema_ref("ApiKey")}))), &[403])),
        ("/api/v1/api-keys", "post", op("Create an API key; its secret is shown only in this answer (admins)", "api keys", ADMIN, Some("NewApiKey"), ok("201", "Created", Some(schema_ref("CreatedApiKey"))), &[403])),
        ("/api/v1/api-keys/{id}", "delete", with(op("Revoke an API key (admins)", "api keys", ADMIN, None, ok("204", "Revoked", None), &[403, 404]), vec![path_param("id", "The API key's id.")])),
        ("/api/v1/utilities", "get", op("The utilities Gridlink connects to, with their names", "credentials", INTEGRATOR, None, ok("200", "Utilities", Some(json!({"type": "array", "items": schema_ref("Utility")}))), &[503])),
        ("/api/v1/adapters", "get", op("The utility adapters, their utilities and health (read-only: configured by file)", "credentials", INTEGRATOR, None, ok("200", "Adapters", Some(json!({"type": "array", "items": schema_ref("AdapterHealth")}))), &[])),
        ("/api/v1/adapters/refresh", "post", op("Read every adapter's catalogue now (admins)", "credentials", ADMIN, None, ok("200", "Adapters", Some(json!({"type": "array", "items": schema_ref("AdapterHealth")}))), &[403])),
        ("/api/v1/utility-incidents", "get", with(op("Utilities that stopped answering for many calls at once (open, or also resolved in the last 30 days)", "credentials", INTEGRATOR, None, ok("200", "Incidents, newest first", Some(json!({"type": "array", "items": schema_ref("UtilityIncident")}))), &[400, 422]), vec![
            query_param("state", "open (default) or all.", json!({"type": "string", "enum": ["open", "all"], "default": "open"})),
        ])),
        ("/api/v1/credentials", "post", with(op("Create a credential; it starts connecting at once", "credentials", INTEGRATOR, Some("NewCredential"), ok("201", "Created", credential()), &[403, 409, 503]), vec![idempotency_key()])),
        ("/api/v1/credentials", "get", with(op("List credentials with filters, sorting and pagination", "credentials", INTEGRATOR, None, ok("200", "One page", Some(schema_ref("CredentialPage"))), &[400, 422]), vec![
            query_param("status", "Only this status.", schema_ref("Status")),
            query_param("statusDetail", "Comma-separated status details.", json!({"type": "string"})),
            query_param("utilityId", "Only this utility.", json!({"type": "string"})),
            query_param("correlationId", "Only this correlation id.", json!({"type": "string"})),
            query_param("q", "Text the username contains (case-insensitive).", json!({"type": "string", "maxLength": 128})),
            query_param("sort", "createdAt, username, utilityId, statusDetail or tokenExpiresAt; prefix - to reverse. Default -createdAt.", json!({"type": "string"})),
            query_param("page", "From 1.", json!({"type": "integer", "minimum": 1, "default": 1})),
            query_param("pageSize", "1 to 100.", json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 25})),
            query_param("includeDeactivated", "Also list deactivated credentials.", json!({"type": "boolean", "default": false})),
            query_param("stale", "Only credentials flagged stale (true) or only those not flagged (false).", json!({"type": "boolean"})),
        ])),
        ("/api/v1/credentials/counts", "get", op("Active credentials per status and status detail", "credentials", INTEGRATOR, None, ok("200", "Counts", Some(schema_ref("CredentialCounts"))), &[])),
        ("/api/v1/credentials/expiries", "get", with(op("Connected credentials whose tokens expire on each of the next days", "credentials", INTEGRATOR, None, ok("200", "Forecast", Some(schema_ref("ExpiryForecast"))), &[400, 422]), vec![query_param("days", "1 to 366 (default 90).", json!({"type": "integer", "minimum": 1, "maximum": 366}))])),
        ("/api/v1/events", "get", with(op("The organisation's latest events, newest first", "credentials", INTEGRATOR, None, ok("200", "Events", Some(json!({"type": "array", "items": schema_ref("OrganisationEvent")}))), &[400, 422]), vec![query_param("limit", "1 to 100 (default 20).", json!({"type": "integer", "minimum": 1, "maximum": 100}))])),
        ("/api/v1/credentials/{id}", "get", with(op("A credential", "credentials", INTEGRATOR, None, ok("200", "The credential", credential()), &[404]), vec![id()])),
        ("/api/v1/credentials/{id}", "patch", with(op("Change the correlation id or the password (which reconnects)", "credentials", INTEGRATOR, Some("CredentialChange"), ok("200", "Changed", credential()), &[404, 409]), vec![id()])),
        ("/api/v1/credentials/{id}", "delete", with(op("Deactivate: stop syncing and destroy the session token", "credentials", INTEGRATOR, None, ok("204", "Deactivated", None), &[404]), vec![id()])),
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
            query_param("before", "The nextCursor of the previous page.", json!({"type": "string"})),
            query_param("limit", "1 to 200 (default 50).", json!({"type": "integer", "minimum": 1, "maximum": 200})),
            query_param("state", "Only deliveries in this state.", schema_ref("DeliveryState")),
            query_param("credentialId", "Only the messages about this credential.", json!({"type": "string"})),
            query_param("eventType", "Only messages of this type.", json!({"type": "string"})),
            query_param("from", "Only messages created at or after this time (RFC 3339).", json!({"type": "string", "format": "date-time"})),
            query_param("to", "Only messages created before this time (RFC 3339).", json!({"type": "string", "format": "date-time"})),
        ])),
        ("/api/v1/webhook-deliveries/replay", "post", op("Send every failed message of a time range or of one credential again, oldest first, each with its original id", "webhooks", INTEGRATOR, Some("ReplayRequest"), ok("202", "How many were queued", Some(json!({"type": "object", "required": ["requeued"], "properties": {"requeued": {"type": "integer"}}}))), &[409, 422])),
        ("/api/v1/webhook-deliveries/{id}", "get", with(op("A webhook message, its body and every attempt", "webhooks", INTEGRATOR, None, ok("200", "The delivery", Some(schema_ref("WebhookDeliveryDetail"))), &[404]), vec![path_param("id", "The message id (msg_…).")])),
        ("/api/v1/webhook-deliveries/{id}/resend", "post", with(op("Send a delivered or failed message again now (same id and body)", "webhooks", INTEGRATOR, None, ok("202", "Queued", Some(schema_ref("WebhookDelivery"))), &[404, 409]), vec![path_param("id", "The message id (msg_…).")])),
        ("/api/connect/session", "get", op("Where the end-user is in Connect", "connect", CONNECT, None, ok("200", "Connect state", connect_state()), &[410])),
        ("/api/connect/utilities", "get", op("The utilities to choose from", "connect", CONNECT, None, ok("200", "Utilities", Some(json!({"type": "array", "items": schema_ref("Utility")}))), &[410, 503])),
        ("/api/connect/credentials", "post", op("Submit the login (new credential; again after INVALID_CREDENTIALS)", "connect", CONNECT, Some("SubmitCredentials"), ok("200", "Connect state", connect_state()), &[409, 410, 503])),
        ("/api/connect/reconnect", "post", op("Start connecting with the stored login (update mode, or after a failure)", "connect", CONNECT, None, ok("200", "Connect state", connect_state()), &[409, 410])),
        ("/api/connect/password", "post", op("Re-enter the password after INVALID_CREDENTIALS (update mode)", "connect", CONNECT, Some("SubmitPassword"), ok("200", "Connect state", connect_state()), &[409, 410])),
        ("/api/connect/mfa/method", "post", op("Choose the verification method; a code is sent", "connect", CONNECT, Some("ChooseMethod"), ok("200", "Connect state", connect_state()), &[409, 410, 429, 503])),
        ("/api/connect/mfa/resend", "post", op("Send the code again", "connect", CONNECT, None, ok("200", "Connect state", connect_state()), &[409, 410, 429, 503])),
        ("/api/connect/mfa/code", "post", op("Submit the code (422 with the attempts left when wrong)", "connect", CONNECT, Some("SubmitCode"), ok("200", "Connect state", connect_state()), &[409, 410, 503])),
    ]
}

fn string_enum(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}

fn object(required: &[&str], properties: Value) -> Value {
    let mut schema = json!({"type": "object", "required": required});
    schema["properties"] = properties;
    schema
}

fn schemas() -> Value {
    let details: Vec<&str> = StatusDetail::ALL
        .iter()
        .map(|detail| detail.as_str())
        .collect();
    let time = || json!({"type": "string", "format": "date-time"});
    let nullable_time = || json!({"type": ["string", "null"], "format": "date-time"});
    let text = || json!({"type": "string"});
    let nullable_text = || json!({"type": ["string", "null"]});
    json!({
        "ErrorBody": object(&["code", "message"], json!({
            "code": string_enum(&["MALFORMED_REQUEST", "VALIDATION_FAILED", "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "METHOD_NOT_ALLOWED", "CONFLICT", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "TOO_MANY_REQUESTS", "CONNECT_LINK_EXPIRED", "CONNECT_LINK_USED", "CONNECT_LINK_REVOKED", "CONNECT_LINK_REPLACED", "SERVICE_UNAVAILABLE", "INTERNAL"]),
            "message": {"type": "string", "description": "For a person; never internal details."},
            "fields": {"type": "array", "items": object(&["field", "message"], json!({"field": text(), "message": text()}))}
        })),
        "Health": object(&["status", "database", "databaseKind", "version", "demo"], json!({
            "status": string_enum(&["ok", "degraded"]), "database": text(), "databaseKind": string_enum(&["sqlite", "postgres"]),
            "version": text(), "demo": {"type": "boolean"}
        })),
        "Status": string_enum(&["CONNECTION_IN_PROGRESS", "CONNECTION_SUCCESS", "CONNECTION_FAILURE"]),
        "StatusDetail": string_enum(&details),
        "Role": string_enum(&["ADMIN", "MEMBER"]),
        "Owner": string_enum(&["ORGANISATION", "END_USER"]),
        "MfaMethod": string_enum(&["SMS", "CALL", "EMAIL"]),
        "SignIn": object(&["email", "password"], json!({"email": {"type": "string", "format": "email"}, "password": text()})),
        "OperatorSession": object(&["id", "client", "createdAt", "lastSeenAt", "current"], json!({"id": text(), "client": text(), "createdAt": time(), "lastSeenAt": time(), "current": {"type": "boolean"}})),
        "SignInRecord": object(&["at", "client", "succeeded"], json!({"at": time(), "client": text(), "succeeded": {"type": "boolean"}})),
        "ReplayRequest": object(&[], json!({"from": {"type": ["string", "null"], "format": "date-time"}, "to": {"type": ["string", "null"], "format": "date-time"}, "credentialId": nullable_text()})),
        "PasswordChange": object(&["currentPassword", "newPassword"], json!({"currentPassword": text(), "newPassword": {"type": "string", "minLength": 12, "maxLength": 256}})),
        "Operator": object(&["id", "email", "role", "createdAt"], json!({"id": text(), "email": text(), "role": schema_ref("Role"), "createdAt": time()})),
        "Session": object(&["operator", "organisation", "csrfToken"], json!({
            "operator": schema_ref("Operator"),
            "organisation": object(&["id", "name"], json!({"id": text(), "name": text()})),
            "csrfToken": {"type": "string", "description": "Send as the x-csrf-token header on every state-changing request made with the cookie."}
        })),
        "Language": {"type": "string", "enum": ["en", "es"], "description": "A language Connect is written in"},
        "OrganisationSettings": object(&["id", "name", "embedOrigins", "connectLanguage"], json!({
            "id": text(), "name": text(), "logoUrl": nullable_text(), "accentColor": nullable_text(),
            "termsUrl": nullable_text(), "privacyUrl": nullable_text(),
            "embedOrigins": {"type": "array", "items": {"type": "string", "description": "https://host[:port], or http:// for localhost"}},
            "connectLanguage": {"allOf": [schema_ref("Language")], "description": "Connect's language when the browser asks for none it speaks"}
        })),
        "OrganisationSettingsChange": object(&["name"], json!({
            "id": {"type": ["string", "null"], "readOnly": true, "description": "Read-only: accepted when it is the organisation's own id"},
            "name": {"type": "string", "maxLength": 100}, "logoUrl": nullable_text(),
            "accentColor": {"type": ["string", "null"], "description": "#RRGGBB, dark enough for white text (WCAG AA)"},
            "termsUrl": nullable_text(), "privacyUrl": nullable_text(),
            "embedOrigins": {"type": "array", "maxItems": 20, "items": {"type": "string"}},
            "connectLanguage": {"allOf": [schema_ref("Language")], "default": "en"}
        })),
        "NewOperator": object(&["email", "password", "role"], json!({"email": text(), "password": {"type": "string", "minLength": 12}, "role": schema_ref("Role")})),
        "OperatorChange": object(&["role"], json!({"role": schema_ref("Role")})),
        "NewApiKey": object(&["name"], json!({"name": {"type": "string", "maxLength": 100}})),
        "ApiKey": object(&["id", "name", "prefix", "createdAt"], json!({"id": text(), "name": text(), "prefix": text(), "createdAt": time(), "lastUsedAt": nullable_time(), "revokedAt": nullable_time()})),
        "CreatedApiKey": object(&["apiKey", "secret"], json!({"apiKey": schema_ref("ApiKey"), "secret": {"type": "string", "description": "Shown once; send as Authorization: Bearer."}})),
        "NewCredential": object(&["utilityId", "username", "password"], json!({
            "utilityId": text(), "username": {"type": "string", "maxLength": 128}, "password": {"type": "string", "maxLength": 256},
            "correlationId": {"type": ["string", "null"], "maxLength": 200}, "owner": schema_ref("Owner")
        })),
        "CredentialChange": object(&[], json!({"password": nullable_text(), "correlationId": nullable_text()})),
        "Credential": object(&["id", "utilityId", "username", "owner", "status", "statusDetail", "isCustomerActionRequired", "isAccessible", "createdAt", "updatedAt"], json!({
            "id": text(), "utilityId": text(), "username": text(), "correlationId": nullable_text(), "owner": schema_ref("Owner"),
            "status": schema_ref("Status"), "statusDetail": schema_ref("StatusDetail"),
            "isCustomerActionRequired": {"type": "boolean"}, "isAccessible": {"type": "boolean"},
            "statusMessage": nullable_text(), "tokenExpiresAt": nullable_time(), "lastSyncedAt": nullable_time(), "nextSyncAt": nullable_time(),
            "staleSince": {"type": ["string", "null"], "format": "date-time", "description": "Set while connected without a successful sync for GRIDLINK_STALE_AFTER"},
            "createdAt": time(), "updatedAt": time(), "deactivatedAt": nullable_time()
        })),
        "CredentialPage": object(&["items", "page", "pageSize", "total"], json!({
            "items": {"type": "array", "items": schema_ref("Credential")}, "page": {"type": "integer"}, "pageSize": {"type": "integer"}, "total": {"type": "integer"}
        })),
        "CredentialCounts": object(&["total", "stale", "byStatus", "byStatusDetail"], json!({
            "total": {"type": "integer"}, "stale": {"type": "integer", "description": "Active credentials flagged stale"},
            "byStatus": {"type": "array", "items": object(&["status", "count"], json!({"status": schema_ref("Status"), "count": {"type": "integer"}}))},
            "byStatusDetail": {"type": "array", "items": object(&["statusDetail", "count"], json!({"statusDetail": schema_ref("StatusDetail"), "count": {"type": "integer"}}))}
        })),
        "CredentialEvent": object(&["id", "kind", "actor", "message", "createdAt"], json!({
            "id": {"type": "integer"}, "kind": text(), "fromStatusDetail": {"oneOf": [schema_ref("StatusDetail"), {"type": "null"}]},
            "toStatusDetail": {"oneOf": [schema_ref("StatusDetail"), {"type": "null"}]}, "actor": text(), "message": text(), "createdAt": time()
        })),
        "ExpiryForecast": object(&["from", "perDay"], json!({"from": time(), "perDay": {"type": "array", "items": {"type": "integer"}, "description": "Index 0: the next 24 hours."}})),
        "OrganisationEvent": {"allOf": [schema_ref("CredentialEvent"), object(&["credentialId", "username", "utilityId"], json!({"credentialId": text(), "username": text(), "utilityId": text()}))]},
        "UtilityAccount": object(&["accountNumber", "serviceAddress", "fuel", "firstSyncedAt"], json!({"accountNumber": text(), "serviceAddress": text(), "fuel": string_enum(&["electricity", "gas", "water"]), "firstSyncedAt": time()})),
        "UtilityStatement": object(&["id", "accountNumber", "periodStart", "periodEnd", "usage", "usageUnit", "amountCents", "currency", "firstSyncedAt"], json!({
            "id": text(), "accountNumber": text(), "periodStart": {"type": "string", "format": "date"}, "periodEnd": {"type": "string", "format": "date"},
            "usage": {"type": "number"}, "usageUnit": string_enum(&["kWh", "therms", "gallons"]), "amountCents": {"type": "integer"}, "currency": text(),
            "firstSyncedAt": time()
        })),
        "WebhookEventType": string_enum(&WebhookEventType::ALL.map(WebhookEventType::as_str)),
        "DeliveryState": string_enum(&["PENDING", "DELIVERED", "FAILED"]),
        "WebhookEndpointChange": object(&["url"], json!({"url": {"type": "string", "description": "https://…, or http:// for localhost"},
            "secretCreatedAt": {"type": ["string", "null"], "format": "date-time", "readOnly": true, "description": "Read-only: accepted when unchanged"},
            "previousSecretExpiresAt": {"type": ["string", "null"], "format": "date-time", "readOnly": true, "description": "Read-only: accepted when unchanged"},
            "createdAt": {"type": ["string", "null"], "format": "date-time", "readOnly": true, "description": "Read-only: accepted when unchanged"},
            "updatedAt": {"type": ["string", "null"], "format": "date-time", "readOnly": true, "description": "Read-only: accepted when unchanged"},
            "disabledAt": {"type": ["string", "null"], "format": "date-time", "readOnly": true, "description": "Ignored: saving the endpoint enables it again"},
            "disabledReason": {"type": ["string", "null"], "readOnly": true, "description": "Ignored: saving the endpoint enables it again"}})),
        "WebhookEndpoint": object(&["url", "secretCreatedAt", "createdAt", "updatedAt"], json!({
            "url": text(), "secretCreatedAt": time(), "previousSecretExpiresAt": nullable_time(), "createdAt": time(), "updatedAt": time(),
            "disabledAt": nullable_time(), "disabledReason": nullable_text()
        })),
        "WebhookSecret": object(&["endpoint", "secret"], json!({"endpoint": schema_ref("WebhookEndpoint"), "secret": {"type": "string", "description": "whsec_…: shown once. Verify webhook-signature with it (Standard Webhooks)."}})),
        "WebhookDelivery": object(&["id", "eventType", "state", "attempts", "createdAt"], json!({
            "id": text(), "eventType": schema_ref("WebhookEventType"), "credentialId": nullable_text(), "state": schema_ref("DeliveryState"),
            "attempts": {"type": "integer"}, "nextAttemptAt": nullable_time(), "createdAt": time(), "deliveredAt": nullable_time(),
            "lastResponseStatus": {"type": ["integer", "null"]}, "lastError": nullable_text()
        })),
        "WebhookDeliveryPage": object(&["deliveries"], json!({"deliveries": {"type": "array", "items": schema_ref("WebhookDelivery")}, "nextCursor": nullable_text()})),
        "WebhookDeliveryDetail": {"allOf": [schema_ref("WebhookDelivery"), object(&["payload", "attemptLog"], json!({
            "payload": {"type": "string", "description": "The exact body sent."},
            "attemptLog": {"type": "array", "items": object(&["attemptedAt", "url", "durationMs"], json!({
                "attemptedAt": time(), "url": text(), "responseStatus": {"type": ["integer", "null"]}, "responseBody": {"type": ["string", "null"], "description": "The start of the endpoint's answer (at most 64 KiB)"}, "error": nullable_text(), "durationMs": {"type": "integer"}
            }))}
        }))]},
        "WebhookMessage": object(&["type", "timestamp", "data"], json!({
            "type": schema_ref("WebhookEventType"), "timestamp": time(),
            "data": {"type": "object", "description": "For credential events: credentialId, utilityId, correlationId, status, statusDetail, isCustomerActionRequired, isAccessible; STATUS_CHANGE adds previousStatusDetail and message; NEW_DATA_AVAILABLE adds newAccounts, newStatements and statementIds; SESSION_TOKEN_EXPIRING adds tokenExpiresAt; CREDENTIAL_STALE adds lastSyncedAt and staleSince; CREDENTIAL_RECOVERED adds staleSince and lastSyncedAt. UTILITY_INCIDENT_OPENED and UTILITY_INCIDENT_RESOLVED carry incidentId, utilityId, utilityName, failingSince, openedAt, resolvedAt, affectedCredentials and message instead."}
        })),
        "NewConnectToken": object(&[], json!({"utilityId": nullable_text(), "correlationId": nullable_text(), "owner": schema_ref("Owner")})),
        "ConnectToken": object(&["id", "purpose", "token", "url", "createdAt", "expiresAt"], json!({
            "id": text(), "purpose": string_enum(&["NEW_CREDENTIAL", "RETRY_MFA", "UPDATE_LINK"]), "token": text(), "url": text(),
            "credentialId": nullable_text(), "createdAt": time(), "expiresAt": time()
        })),
        "UpdateLink": object(&["id", "credentialId", "createdAt", "expiresAt"], json!({"id": text(), "credentialId": text(), "createdAt": time(), "expiresAt": time()})),
        "Utility": object(&["id", "name"], json!({"id": text(), "name": text(),
            "troubleSince": {"type": ["string", "null"], "format": "date-time", "description": "Set while the utility has an open incident"}})),
        "AdapterHealth": object(&["name", "url", "signed", "utilities", "callsLastHour", "failuresLastHour"], json!({
            "name": text(), "url": text(), "signed": {"type": "boolean"}, "utilities": {"type": "array", "items": schema_ref("Utility")},
            "lastRefreshAt": nullable_time(), "lastRefreshError": nullable_text(),
            "callsLastHour": {"type": "integer"}, "failuresLastHour": {"type": "integer", "description": "Calls that found a utility not answering"}})),
        "UtilityIncident": object(&["id", "utilityId", "utilityName", "failingSince", "openedAt", "affectedCredentials"], json!({
            "id": text(), "utilityId": text(), "utilityName": text(), "failingSince": time(), "openedAt": time(), "resolvedAt": nullable_time(),
            "affectedCredentials": {"type": "integer", "description": "The organisation's active credentials at this utility"}})),
        "SubmitCredentials": object(&["utilityId", "username", "password"], json!({
            "utilityId": text(), "username": text(), "password": text(),
            "acceptedTerms": {"type": "boolean", "description": "Required (true) when the organisation set terms or a privacy policy."}
        })),
        "SubmitPassword": object(&["password"], json!({"password": text()})),
        "ChooseMethod": object(&["method"], json!({"method": schema_ref("MfaMethod")})),
        "SubmitCode": object(&["code"], json!({"code": {"type": "string", "description": "4 to 8 digits; spaces and dashes are ignored."}})),
        "ConnectState": object(&["purpose", "organisationName", "branding", "step", "mfaOptions", "expiresAt"], json!({
            "purpose": string_enum(&["NEW_CREDENTIAL", "RETRY_MFA", "UPDATE_LINK"]), "organisationName": text(),
            "branding": object(&["embedOrigins"], json!({
                "logoUrl": nullable_text(), "accentColor": nullable_text(), "termsUrl": nullable_text(), "privacyUrl": nullable_text(),
                "embedOrigins": {"type": "array", "items": text()}, "defaultLanguage": schema_ref("Language")
            })),
            "step": string_enum(&["ENTER_CREDENTIALS", "START", "CONNECTING", "CHOOSE_METHOD", "ENTER_CODE", "SUCCESS", "FAILED"]),
            "credentialId": nullable_text(), "utilityId": nullable_text(), "utilityName": nullable_text(), "username": nullable_text(),
            "statusDetail": {"oneOf": [schema_ref("StatusDetail"), {"type": "null"}]},
            "failure": {"type": ["string", "null"], "enum": ["INVALID_CREDENTIALS", "ACCOUNT_LOCKED", "UNSUPPORTED_MFA", "MFA_FAILED", "UTILITY_UNAVAILABLE", null]},
            "message": nullable_text(),
            "mfaOptions": {"type": "array", "items": object(&["method", "destination"], json!({"method": schema_ref("MfaMethod"), "destination": text()}))},
            "mfaMethod": {"oneOf": [schema_ref("MfaMethod"), {"type": "null"}]}, "codeSentTo": nullable_text(), "codeExpiresAt": nullable_time(),
            "resendsLeft": {"type": ["integer", "null"]}, "attemptsLeft": {"type": ["integer", "null"]}, "expiresAt": time()
        })),
    })
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

/// The whole OpenAPI document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for (path, method, operation) in operations() {
        let entry = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
        entry[method] = operation.to_json();
    }
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
            "schemas": schemas(),
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
    use super::*;

    /// `(method, path)` of every `.route(…)` in the API routers' source.
    fn declared_routes() -> Vec<(String, String)> {
        let sources = [
            include_str!("health.rs"),
            include_str!("operators/mod.rs"),
            include_str!("api_keys.rs"),
            include_str!("credentials/mod.rs"),
            include_str!("credentials/listing.rs"),
            include_str!("connect/mod.rs"),
            include_str!("connect/links.rs"),
            include_str!("openapi.rs"),
            include_str!("organisations.rs"),
            include_str!("webhooks/mod.rs"),
        ];
        let mut routes = Vec::new();
        for source in sources {
            let compact: String = source.split_whitespace().collect();
            for piece in compact.split(".route(\"").skip(1) {
                let Some((path, rest)) = piece.split_once('"') else {
                    continue;
                };
                let handlers = rest.split(")).").next().unwrap_or(rest);
                for method in ["get", "post", "patch", "delete", "put"] {
                    if handlers.contains(&format!("{method}(")) {
                        routes.push((method.to_owned(), format!("/api{path}")));
                    }
                }
            }
        }
        routes
    }

    #[test]
    fn every_declared_route_is_documented() {
        let document = document();
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
    fn every_reference_resolves() {
        let document = document();
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
