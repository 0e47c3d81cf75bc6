//! JSON Schema for the wire types (feature `schema`, used by the server's
//! OpenAPI document; the wasm app does not carry it).

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

/// An RFC 3339 time as the API writes it (`time::serde::rfc3339`).
pub struct DateTime;

impl JsonSchema for DateTime {
    fn schema_name() -> Cow<'static, str> {
        "DateTime".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "format": "date-time"})
    }
}

/// A utility's id. The OpenAPI document replaces this schema with the ids the
/// adapters list at the moment it is read.
pub struct UtilityId;

impl JsonSchema for UtilityId {
    fn schema_name() -> Cow<'static, str> {
        "UtilityId".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "description": "A utility's id, from GET /api/v1/utilities."})
    }
}
