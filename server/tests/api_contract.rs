//! What schemathesis found, kept as tests: answers that follow the OpenAPI
//! document (scripts/schemathesis fuzzes the whole document in scripts/test).

mod common;

use common::{expect_json, spawn_app, Backend};
use serde_json::json;

database_tests!(request_bodies_are_json_objects);
async fn request_bodies_are_json_objects(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Contract Co").await;
    for body in [json!([]), json!(["sandbox-electric"]), json!("x"), json!(1)] {
        let refused = expect_json(
            org.api.post("/api/v1/connect-tokens", body.clone()).await,
            400,
        )
        .await;
        assert_eq!(refused["code"], "MALFORMED_REQUEST", "{body}: {refused}");
    }
    // A wrong field still names itself.
    let refused = expect_json(
        org.api
            .post("/api/v1/connect-tokens", json!({"owner": "NOBODY"}))
            .await,
        400,
    )
    .await;
    assert!(
        refused["message"].as_str().unwrap().contains("owner"),
        "{refused}"
    );
    expect_json(org.api.post("/api/v1/connect-tokens", json!({})).await, 201).await;
}

database_tests!(an_empty_query_value_means_left_out_and_disjoint_filters_match_nothing);
async fn an_empty_query_value_means_left_out_and_disjoint_filters_match_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Contract Co").await;
    expect_json(
        org.api
            .post(
                "/api/v1/credentials",
                json!({"utilityId": "sandbox-electric", "username": "user_good", "password": "pw"}),
            )
            .await,
        201,
    )
    .await;
    let page = expect_json(
        org.api.get("/api/v1/credentials?sort=&status=&q=").await,
        200,
    )
    .await;
    assert_eq!(page["total"], 1, "{page}");
    let none = expect_json(
        org.api
            .get("/api/v1/credentials?status=CONNECTION_SUCCESS&statusDetail=CONNECTING,INVALID_CREDENTIALS")
            .await,
        200,
    )
    .await;
    assert_eq!(none["total"], 0, "{none}");
    assert_eq!(none["items"], json!([]));
    let refused = expect_json(org.api.get("/api/v1/credentials?sort=password").await, 422).await;
    assert_eq!(refused["fields"][0]["field"], "sort");
    let refused = expect_json(
        org.api
            .get("/api/v1/credentials?statusDetail=CONNECTING,%20CONNECTING")
            .await,
        422,
    )
    .await;
    assert_eq!(refused["fields"][0]["field"], "statusDetail");
}

database_tests!(a_reversed_delivery_range_is_empty_and_a_bad_cursor_is_refused);
async fn a_reversed_delivery_range_is_empty_and_a_bad_cursor_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Contract Co").await;
    let page = expect_json(
        org.api
            .get("/api/v1/webhook-deliveries?from=2026-11-29T02:00:00Z&to=2026-11-28T02:00:00Z&state=")
            .await,
        200,
    )
    .await;
    assert_eq!(page["deliveries"], json!([]));
    for cursor in ["0.msg_zz", "1.2.msg_ab", "x", "99999999999999999.msg_ab"] {
        let refused = expect_json(
            org.api
                .get(&format!("/api/v1/webhook-deliveries?before={cursor}"))
                .await,
            422,
        )
        .await;
        assert_eq!(refused["fields"][0]["field"], "before", "{cursor}");
    }
    let refused = expect_json(
        org.api
            .post(
                "/api/v1/webhook-deliveries/replay",
                json!({"from": "", "credentialId": "cred_x"}),
            )
            .await,
        422,
    )
    .await;
    assert_eq!(refused["fields"][0]["field"], "from", "{refused}");
}

#[test]
fn the_document_lists_the_utilities_it_was_given() {
    let ids = ["sandbox-electric".to_owned(), "sandbox-gas".to_owned()];
    let document = server::http::openapi::document(Some(&ids));
    assert_eq!(
        document["components"]["schemas"]["UtilityId"]["enum"],
        json!(["sandbox-electric", "sandbox-gas"])
    );
    let new_credential = &document["components"]["schemas"]["NewCredential"];
    assert_eq!(
        new_credential["additionalProperties"], false,
        "{new_credential}"
    );
    assert_eq!(new_credential["properties"]["username"]["maxLength"], 128);
}
