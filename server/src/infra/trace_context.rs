//! W3C trace context (`traceparent`, `tracestate`) across HTTP: read from the
//! requests Gridlink serves, written on the calls it makes, so a trace
//! follows a Connect flow from the browser's request into a utility adapter.
//! Without OpenTelemetry configured, spans carry no trace and nothing is written.

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Writes the current span's trace context into `headers`.
pub fn inject_current(headers: &mut reqwest::header::HeaderMap) {
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
}

/// Makes `span` a child of the trace context in `headers`, if they carry one.
pub fn continue_from(span: &tracing::Span, headers: &reqwest::header::HeaderMap) {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    if opentelemetry::trace::TraceContextExt::span(&parent)
        .span_context()
        .is_valid()
    {
        // Fails only when no OpenTelemetry layer records spans: nothing to continue then.
        let _ = span.set_parent(parent);
    }
}

/// The trace id of `span` (32 hex digits), when it belongs to a trace.
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let span_context = opentelemetry::trace::TraceContextExt::span(&context)
        .span_context()
        .clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// The trace id a caller's `traceparent` names (version 00), for log lines
/// when no OpenTelemetry exporter is configured.
pub fn incoming_trace_id(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let value = headers.get("traceparent")?.to_str().ok()?;
    let mut parts = value.split('-');
    let (version, trace_id) = (parts.next()?, parts.next()?);
    let valid = version == "00"
        && trace_id.len() == 32
        && trace_id
            .bytes()
            .all(|byte| byte.is_ascii_hexdigit() && !byte.is_ascii_uppercase())
        && trace_id.bytes().any(|byte| byte != b'0');
    valid.then(|| trace_id.to_owned())
}
