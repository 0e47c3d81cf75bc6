//! The adapter protocol as an OpenAPI 3.1 document, generated from the
//! protocol types in [`crate::infra::utility::protocol`] (their JSON Schemas come from
//! `schemars`), served at `GET /api/adapter-protocol.json` and kept in
//! `docs/utility-protocol.openapi.json` (a test checks the two agree).

use axum::routing::get;
use axum::{Json, Router};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Value};
use shared::routes;

use crate::http::state::AppState;
use crate::infra::utility::protocol::{
    Account, CodeSentResponse, LoginRequest, LoginResponse, SendCodeRequest, SessionTokenResponse,
    Statement, UtilityErrorBody, UtilityInfo, VerifyCodeRequest,
};

pub fn router() -> Router<AppState> {
    Router::new().route(
        routes::system::ADAPTER_PROTOCOL,
        get(|| async { Json(document()) }),
    )
}

/// The schema of `T`: a `$ref` to its component.
fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    generator.subschema_for::<T>().to_value()
}

fn array_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    json!({"type": "array", "items": generator.subschema_for::<T>()})
}

fn body<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": generator.subschema_for::<T>()}}})
}

fn answer(description: &str, schema: Value, error: &Value) -> Value {
    json!({
        "200": {"description": description, "content": {"application/json": {"schema": schema}}},
        "default": {"description": "An error: its kind says what happened", "content": {"application/json": {"schema": error}}}
    })
}

fn path_parameter(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string"}})
}

/// The whole document.
pub fn document() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    let mut generator = settings.into_generator();
    let error = schema::<UtilityErrorBody>(&mut generator);
    let utility = path_parameter("utility", "A utility id from the catalogue");
    let challenge = path_parameter("challenge", "The challengeId the login answered");
    let account = path_parameter("account", "An accountNumber");
    let signed = json!([{"standardWebhooks": []}]);
    let with_token = json!([{"standardWebhooks": [], "sessionToken": []}]);
    let paths = json!({
        "/api/utilities": {"get": {
            "summary": "The utilities this adapter serves", "security": signed,
            "responses": answer("The catalogue", array_of::<UtilityInfo>(&mut generator), &error)
        }},
        "/api/utilities/{utility}/login": {"post": {
            "summary": "Log in: a session, or an MFA challenge", "security": signed, "parameters": [utility],
            "requestBody": body::<LoginRequest>(&mut generator),
            "responses": answer("Authenticated, or MFA required", schema::<LoginResponse>(&mut generator), &error)
        }},
        "/api/utilities/{utility}/mfa/{challenge}/send": {"post": {
            "summary": "Send (or send again) a code by a method the login offers", "security": signed,
            "parameters": [utility, challenge], "requestBody": body::<SendCodeRequest>(&mut generator),
            "responses": answer("The code is on its way", schema::<CodeSentResponse>(&mut generator), &error)
        }},
        "/api/utilities/{utility}/mfa/{challenge}/verify": {"post": {
            "summary": "Check a code: the session on success", "security": signed,
            "parameters": [utility, challenge], "requestBody": body::<VerifyCodeRequest>(&mut generator),
            "responses": answer("The session", schema::<SessionTokenResponse>(&mut generator), &error)
        }},
        "/api/utilities/{utility}/accounts": {"get": {
            "summary": "The login's accounts", "security": with_token, "parameters": [utility],
            "responses": answer("Accounts", array_of::<Account>(&mut generator), &error)
        }},
        "/api/utilities/{utility}/accounts/{account}/statements": {"get": {
            "summary": "An account's monthly statements, newest first", "security": with_token,
            "parameters": [utility, account],
            "responses": answer("Statements", array_of::<Statement>(&mut generator), &error)
        }}
    });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Gridlink utility adapter protocol",
            "version": "1",
            "description": "What a utility adapter serves to Gridlink. Read docs/utility-protocol.md for the meaning of each call and error kind, and for how calls are signed."
        },
        "paths": paths,
        "components": {
            "schemas": generator.take_definitions(true),
            "securitySchemes": {
                "standardWebhooks": {
                    "type": "apiKey", "in": "header", "name": "webhook-signature",
                    "description": "Standard Webhooks headers webhook-id, webhook-timestamp and webhook-signature over \"{METHOD} {path?query}\\n{body}\" with the adapter's whsec_ secret; refuse anything older than 5 minutes or seen before."
                },
                "sessionToken": {"type": "http", "scheme": "bearer", "description": "The sessionToken the adapter issued"}
            }
        }
    })
}
