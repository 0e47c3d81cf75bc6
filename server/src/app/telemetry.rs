//! Where logs and traces go, set up once when the process starts.
//!
//! Logs go to stderr as text (coloured only on a terminal) or, with
//! `GRIDLINK_LOG_FORMAT=json`, one JSON object a line. `GRIDLINK_LOG` (or
//! `RUST_LOG`) filters them. Traces go to an OpenTelemetry collector over
//! OTLP/HTTP (protobuf) when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; `OTEL_SERVICE_NAME`,
//! `OTEL_TRACES_SAMPLER`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_BSP_*` and the
//! rest are read by the OpenTelemetry SDK as its specification says.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::infra::config::{ConfigError, LOG, LOG_FORMAT};
use crate::infra::outbound::TrustRoots;

mod json_lines;

/// What is logged when neither `GRIDLINK_LOG` nor `RUST_LOG` says.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=warn";
/// What becomes a trace span: Gridlink's own spans (requests, job runs,
/// utility calls, transactions), whatever the log filter says.
const TRACE_FILTER: &str = "info,sqlx=warn,tower_http=warn,hyper=warn,reqwest=warn";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(value: &str) -> Result<LogFormat, ConfigError> {
        match value.trim() {
            "" | "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(ConfigError::new(
                LOG_FORMAT,
                format!("{other:?} is not a log format: use text or json"),
            )),
        }
    }
}

/// The tracing pipeline; [`Telemetry::shutdown`] sends the spans still queued.
#[derive(Debug)]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Flushes and stops the trace exporter (a no-op without one).
    pub fn shutdown(self) {
        if let Some(provider) = self.traces {
            if let Err(error) = provider.shutdown() {
                eprintln!("gridlink: warning: could not send the last traces: {error}");
            }
        }
    }
}

/// Installs the process's log and trace subscriber. Call it once, before the
/// async runtime starts (the trace exporter runs on a thread of its own).
pub fn init(format: LogFormat, filter: Option<&str>) -> anyhow::Result<Telemetry> {
    let filter = match filter.map(str::trim).filter(|value| !value.is_empty()) {
        Some(directives) => EnvFilter::try_new(directives)
            .map_err(|error| ConfigError::new(LOG, format!("not a log filter: {error}")))?,
        None => {
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
        }
    };
    let logs = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .event_format(json_lines::JsonLines)
            .boxed(),
    }
    .with_filter(filter);
    let traces = trace_provider()?;
    let trace_layer = traces.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("gridlink"))
            .with_filter(EnvFilter::new(TRACE_FILTER))
    });
    tracing_subscriber::registry()
        .with(logs)
        .with(trace_layer)
        .try_init()
        .context("Failed to install the log subscriber")?;
    if traces.is_some() {
        tracing::info!("traces go to the OpenTelemetry collector (OTLP/HTTP)");
    }
    Ok(Telemetry { traces })
}

/// The OpenTelemetry trace pipeline, when the environment asks for one.
fn trace_provider() -> anyhow::Result<Option<SdkTracerProvider>> {
    let set = |name: &str| std::env::var(name).is_ok_and(|value| !value.trim().is_empty());
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|value| value.trim() == "true");
    if disabled
        || !(set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
    {
        return Ok(None);
    }
    for protocol in [
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    ] {
        if let Ok(value) = std::env::var(protocol) {
            anyhow::ensure!(
                matches!(value.trim(), "" | "http/protobuf"),
                ConfigError::new(
                    "OTEL_EXPORTER_OTLP_PROTOCOL",
                    format!("{value:?} is not supported: Gridlink exports http/protobuf"),
                )
            );
        }
    }
    // The collector's certificate is checked like every outgoing connection's.
    let ca_file = std::env::var("SSL_CERT_FILE").ok();
    let trust = TrustRoots::load(ca_file.as_deref().map(Path::new))?;
    let client = reqwest::blocking::Client::builder()
        .use_preconfigured_tls(trust.client_config())
        .build()
        .context("Failed to create the HTTP client for traces")?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_http_client(OtlpClient(client))
        .build()
        .context("Failed to set up the OTLP trace exporter")?;
    let mut resource = Resource::builder();
    if !set("OTEL_SERVICE_NAME") {
        resource = resource.with_service_name("gridlink");
    }
    let resource = resource
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build(),
    ))
}

/// Posts OTLP exports with Gridlink's own HTTP client. The batch exporter
/// calls it on its own thread, where blocking is fine.
#[derive(Debug)]
struct OtlpClient(reqwest::blocking::Client);

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for OtlpClient {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<bytes::Bytes>,
    ) -> Result<opentelemetry_http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let (parts, body) = request.into_parts();
        let url = parts.uri.to_string();
        let response = self
            .0
            .request(parts.method, url)
            .headers(parts.headers)
            .timeout(std::time::Duration::from_secs(10))
            .body(body.to_vec())
            .send()?;
        let mut answer = opentelemetry_http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            answer = answer.header(name, value);
        }
        Ok(answer.body(response.bytes()?)?)
    }
}
