//! OpenTelemetry traces: the server exports to an OTLP/HTTP receiver on
//! loopback (the standard `OTEL_EXPORTER_OTLP_ENDPOINT`); the test decodes
//! the protobuf it receives and follows one trace from a Connect code
//! submission (continuing the caller's `traceparent`) through the utility call
//! into the adapter, which saw Gridlink's `traceparent`. No attribute holds
//! a password, a code or a token.
//!
//! One test in this binary: the trace pipeline belongs to the process.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use common::{expect_json, spawn_app, Backend};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::json;

/// Every export the receiver took, decoded.
type Exports = Arc<Mutex<Vec<ExportTraceServiceRequest>>>;

async fn receive(State(exports): State<Exports>, body: Bytes) -> &'static str {
    let export = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf export");
    exports.lock().unwrap().push(export);
    ""
}

fn spans(exports: &Exports) -> Vec<Span> {
    exports
        .lock()
        .unwrap()
        .iter()
        .flat_map(|export| &export.resource_spans)
        .flat_map(|resource| &resource.scope_spans)
        .flat_map(|scope| scope.spans.clone())
        .collect()
}

fn text_values(attributes: &[KeyValue]) -> Vec<String> {
    attributes
        .iter()
        .filter_map(
            |attribute| match attribute.value.as_ref()?.value.as_ref()? {
                AnyValue::StringValue(text) => Some(text.clone()),
                other => Some(format!("{other:?}")),
            },
        )
        .collect()
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a AnyValue> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()
}

#[test]
fn a_connect_code_submission_is_one_trace_into_the_adapter() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let exports = Exports::default();
    let receiver = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let endpoint = format!("http://{}", receiver.local_addr().unwrap());
    let collector = Router::new()
        .route("/v1/traces", post(receive))
        .with_state(Arc::clone(&exports));
    runtime.spawn(async move { axum::serve(receiver, collector).await });

    // As an operator would configure it; before anything else runs.
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint);
    std::env::set_var("OTEL_BSP_SCHEDULE_DELAY", "100");
    let telemetry =
        server::app::telemetry::init(server::app::telemetry::LogFormat::Json, Some("warn"))
            .expect("telemetry starts");

    let caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let secrets = runtime.block_on(async {
        let app = spawn_app(Backend::Sqlite).await;
        let org = app.organisation("Traced Power").await;
        let token = expect_json(org.api.post("/api/v1/connect-tokens", json!({})).await, 201).await;
        let connect_token = token["token"].as_str().unwrap().to_owned();
        let connect = app.connect_client(&connect_token);
        expect_json(
            connect
                .post(
                    "/api/connect/credentials",
                    json!({"utilityId": "sandbox-electric", "username": "user_good", "password": "pass_good"}),
                )
                .await,
            200,
        )
        .await;
        app.wait_for_step(&connect, "CHOOSE_METHOD").await;
        expect_json(
            connect
                .post("/api/connect/mfa/method", json!({"method": "SMS"}))
                .await,
            200,
        )
        .await;
        let code = app.latest_code("sandbox-electric", "user_good").await;
        let done = connect
            .request(reqwest::Method::POST, "/api/connect/mfa/code")
            .header(
                "traceparent",
                format!("00-{caller_trace}-{caller_span}-01"),
            )
            .json(&json!({ "code": code }))
            .send()
            .await
            .unwrap();
        assert_eq!(expect_json(done, 200).await["step"], "SUCCESS");

        // Wait for the batch exporter to send the spans of that request.
        let started = Instant::now();
        while !spans(&exports).iter().any(|span| {
            hex(&span.trace_id) == caller_trace && span.name.starts_with("sandbox ")
        }) {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "no adapter span in the caller's trace; spans: {:#?}",
                spans(&exports)
                    .iter()
                    .map(|span| (&span.name, hex(&span.trace_id)))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        app.stop().await.unwrap();
        vec![connect_token, code, "pass_good".to_owned()]
    });
    telemetry.shutdown();

    let spans = spans(&exports);
    let in_trace: Vec<&Span> = spans
        .iter()
        .filter(|span| hex(&span.trace_id) == caller_trace)
        .collect();
    let by_id = |id: &[u8]| in_trace.iter().find(|span| span.span_id == id).copied();

    // The request continues the caller's trace, named by its route template.
    let request = in_trace
        .iter()
        .find(|span| span.name == "POST /api/connect/mfa/code")
        .expect("the request's span");
    assert_eq!(hex(&request.parent_span_id), caller_span);
    assert_eq!(
        attribute(request, "http.route"),
        Some(&AnyValue::StringValue("/api/connect/mfa/code".into()))
    );
    // The utility call is inside the request; the adapter's span inside the call.
    let call = in_trace
        .iter()
        .find(|span| span.name == "utility verify_code")
        .expect("the utility call's span");
    let mut ancestor = by_id(&call.parent_span_id);
    while let Some(span) = ancestor {
        if span.span_id == request.span_id {
            break;
        }
        ancestor = by_id(&span.parent_span_id);
    }
    assert!(
        ancestor.is_some(),
        "the utility call is not inside the request"
    );
    let adapter = in_trace
        .iter()
        .find(|span| span.name.starts_with("sandbox POST") && span.name.ends_with("/verify"))
        .expect("the adapter's span");
    let mut ancestor = by_id(&adapter.parent_span_id);
    while let Some(span) = ancestor {
        if span.span_id == call.span_id {
            break;
        }
        ancestor = by_id(&span.parent_span_id);
    }
    assert!(
        ancestor.is_some(),
        "the adapter's span is not inside the utility call: traceparent was not sent"
    );
    // Writes show as transactions; jobs as runs.
    assert!(spans.iter().any(|span| span.name == "db transaction"));
    assert!(spans.iter().any(|span| span.name == "job logins"));

    // Nothing secret in any attribute of any span.
    for span in &spans {
        let mut values = text_values(&span.attributes);
        values.push(span.name.clone());
        for event in &span.events {
            values.extend(text_values(&event.attributes));
        }
        for value in values {
            for secret in &secrets {
                assert!(
                    !value.contains(secret.as_str()),
                    "span {:?} holds a secret: {value}",
                    span.name
                );
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
