//! `GRIDLINK_LOG_FORMAT=json`: one JSON object a line, flat, so that a log
//! shipper needs no parsing rules: `time` (RFC 3339, UTC), `level`, `target`,
//! `message` first, then from the spans it happened in the `request_id`,
//! `trace_id`, `job` and `span` (the innermost span's name), then the event's
//! own fields.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Fields lifted from the enclosing spans onto each line.
const FROM_SPANS: [&str; 3] = ["request_id", "trace_id", "job"];

pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let metadata = event.metadata();
        let mut line = Line::default();
        let time = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        line.set("time", Value::String(time));
        line.set("level", Value::String(metadata.level().to_string()));
        line.set("target", Value::String(metadata.target().to_owned()));
        let mut fields = Fields(Map::new());
        event.record(&mut fields);
        let message = fields
            .0
            .remove("message")
            .unwrap_or(Value::String(String::new()));
        line.set("message", message);
        if let Some(scope) = ctx.event_scope() {
            let mut innermost = None;
            for span in scope.from_root() {
                innermost = Some(span.name());
                let extensions = span.extensions();
                let Some(formatted) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                let Ok(Value::Object(span_fields)) = serde_json::from_str::<Value>(formatted)
                else {
                    continue;
                };
                for name in FROM_SPANS {
                    if let Some(value) = span_fields.get(name) {
                        line.set(name, value.clone());
                    }
                }
            }
            if let Some(name) = innermost {
                line.set("span", Value::String(name.to_owned()));
            }
        }
        for (name, value) in fields.0 {
            line.add_unless_set(name, value);
        }
        writeln!(writer, "{}", line.to_json())
    }
}

/// A line's keys in the order they were first set: time, level, target and
/// message lead every line, whatever follows.
#[derive(Default)]
struct Line(Vec<(String, Value)>);

impl Line {
    fn set(&mut self, name: &str, value: Value) {
        match self.0.iter_mut().find(|(key, _)| key == name) {
            Some((_, existing)) => *existing = value,
            None => self.0.push((name.to_owned(), value)),
        }
    }

    fn add_unless_set(&mut self, name: String, value: Value) {
        if !self.0.iter().any(|(key, _)| *key == name) {
            self.0.push((name, value));
        }
    }

    fn to_json(&self) -> String {
        let members: Vec<String> = self
            .0
            .iter()
            .map(|(name, value)| format!("{}:{value}", Value::String(name.clone())))
            .collect();
        format!("{{{}}}", members.join(","))
    }
}

/// An event's fields as JSON values.
struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().into(), Value::String(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::Bool(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::String(format!("{value:?}")));
    }
}
