//! The credentials API over HTTP, on both databases, through the sandbox.

mod common;

use common::{expect_json, spawn_app, Backend};
use serde_json::{json, Value};

async fn create(client: &common::Client, utility: &str, username: &str, password: &str) -> Value {
    expect_json(
        client
            .post(
                "/api/v1/credentials",
                json!({"utilityId": utility, "username": username, "password": password, "correlationId": format!("corr-{username}")}),
            )
            .await,
        201,
    )
    .await
}

async fn a_login_without_mfa_connects_in_the_background(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let created = create(&org.api, "sandbox-water", "user_good", "pass_good").await;
    assert_eq!(created["statusDetail"], "CONNECTING");
    assert_eq!(created["status"], "CONNECTION_IN_PROGRESS");
    assert_eq!(created["correlationId"], "corr-user_good");
    let id = created["id"].as_str().unwrap();
    let connected = app
        .wait_for_detail(&org.api, id, "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
        .await;
    assert_eq!(connected["isAccessible"], true);
    assert_eq!(connected["isCustomerActionRequired"], false);
    let expires = connected["tokenExpiresAt"]
        .as_str()
        .expect("a token expiry");
    assert!(
        expires.starts_with(&(time::OffsetDateTime::now_utc().year() + 1).to_string()),
        "a year-long token: {expires}"
    );
    let body = serde_json::to_string(&connected).unwrap();
    assert!(
        !body.contains("pass_good") && !body.contains("sbx_tok_"),
        "a secret leaked: {body}"
    );
}

/// Timelines name actors as people see them: the API key by its name, an
/// operator by their email, the jobs as Gridlink; the id stays beside it.
async fn the_timeline_names_each_actor_as_people_see_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let created = create(&org.api, "sandbox-water", "user_good", "pass_good").await;
    let id = created["id"].as_str().unwrap();
    app.wait_for_detail(&org.api, id, "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
        .await;
    expect_json(
        org.admin
            .patch(
                &format!("/api/v1/credentials/{id}"),
                json!({"contactEmail": "end.user@example.com"}),
            )
            .await,
        200,
    )
    .await;
    let timeline = expect_json(
        org.admin
            .get(&format!("/api/v1/credentials/{id}/events"))
            .await,
        200,
    )
    .await;
    let name_of = |kind: &str| -> (String, String) {
        let event = timeline
            .as_array()
            .unwrap()
            .iter()
            .find(|event| event["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {timeline}"));
        (
            event["actorName"].as_str().unwrap().to_owned(),
            event["actor"].as_str().unwrap().to_owned(),
        )
    };
    let (name, actor) = name_of("CREATED");
    assert_eq!(name, "API key \u{2018}tests\u{2019}");
    assert!(actor.starts_with("api_key:key_"), "{actor}");
    assert_eq!(name_of("CONTACT_CHANGED").0, org.admin_email);
    assert_eq!(name_of("STATUS_CHANGE").0, "Gridlink (login)");
    let latest = expect_json(org.api.get("/api/v1/events").await, 200).await;
    assert!(
        latest
            .as_array()
            .unwrap()
            .iter()
            .any(|item| item["actorName"] == "Gridlink (login)"),
        "{latest}"
    );
}

async fn a_login_with_mfa_waits_for_a_method(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let created = create(&org.api, "sandbox-electric", "user_good", "pass_good").await;
    let waiting = app
        .wait_for_detail(
            &org.api,
            created["id"].as_str().unwrap(),
            "MULTI_FACTOR_AUTHENTICATION_METHOD_REQUIRED",
        )
        .await;
    assert_eq!(waiting["isCustomerActionRequired"], true);
}

async fn failed_logins_land_in_their_status_details(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    for (utility, username, password, detail) in [
        (
            "sandbox-electric",
            "user_good",
            "wrong",
            "INVALID_CREDENTIALS",
        ),
        (
            "sandbox-gas",
            "user_locked",
            "pass_good",
            "OTHER_ACCESS_LIMITATION",
        ),
        (
            "sandbox-legacy",
            "user_good",
            "pass_good",
            "UNSUPPORTED_MULTI_FACTOR_AUTHENTICATION",
        ),
        (
            "sandbox-water",
            "user_down",
            "pass_good",
            "PROVIDER_WEBSITE_INACCESSIBLE",
        ),
    ] {
        let created = create(&org.api, utility, username, password).await;
        let failed = app
            .wait_for_detail(&org.api, created["id"].as_str().unwrap(), detail)
            .await;
        assert!(
            failed["statusMessage"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{detail} has no message"
        );
    }
}

async fn invalid_fields_are_all_reported_and_nothing_is_created(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let body = expect_json(
        org.api
            .post(
                "/api/v1/credentials",
                json!({"utilityId": "nowhere", "username": " ", "password": ""}),
            )
            .await,
        422,
    )
    .await;
    assert_eq!(body["code"], "VALIDATION_FAILED");
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["username", "password", "utilityId"]);
    let page = expect_json(org.api.get("/api/v1/credentials").await, 200).await;
    assert_eq!(page["total"], 0);
}

async fn malformed_bodies_get_the_shared_error_body(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let cases = [
        (r#"{"utilityId": "sandbox-water""#, 400),
        (r#"{"utilityId": 5, "username": "a", "password": "b"}"#, 400),
        (
            r#"{"utilityId": "sandbox-water", "username": "a", "password": "b", "pin": "1"}"#,
            400,
        ),
    ];
    for (raw, status) in cases {
        let response = org
            .api
            .request(reqwest::Method::POST, "/api/v1/credentials")
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let body = expect_json(response, status).await;
        assert_eq!(body["code"], "MALFORMED_REQUEST", "{raw}");
    }
    let no_type = org
        .api
        .request(reqwest::Method::POST, "/api/v1/credentials")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_json(no_type, 415).await["code"],
        "UNSUPPORTED_MEDIA_TYPE"
    );
}

async fn the_list_filters_sorts_and_paginates(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let mut ids = Vec::new();
    for username in ["alice_good", "bob_good", "carol_good"] {
        // Unknown usernames are refused by the sandbox: INVALID_CREDENTIALS.
        ids.push(
            create(&org.api, "sandbox-gas", username, "pass_good").await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let water = create(&org.api, "sandbox-water", "user_nomfa", "pass_good").await;
    for id in &ids {
        app.wait_for_detail(&org.api, id, "INVALID_CREDENTIALS")
            .await;
    }
    app.wait_for_detail(
        &org.api,
        water["id"].as_str().unwrap(),
        "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL",
    )
    .await;

    let failed = expect_json(
        org.api
            .get("/api/v1/credentials?statusDetail=INVALID_CREDENTIALS&sort=username")
            .await,
        200,
    )
    .await;
    assert_eq!(failed["total"], 3);
    let names: Vec<&str> = failed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice_good", "bob_good", "carol_good"]);

    let by_status = expect_json(
        org.api
            .get("/api/v1/credentials?status=CONNECTION_SUCCESS")
            .await,
        200,
    )
    .await;
    assert_eq!(by_status["total"], 1);
    let by_utility = expect_json(
        org.api
            .get("/api/v1/credentials?utilityId=sandbox-water")
            .await,
        200,
    )
    .await;
    assert_eq!(by_utility["items"][0]["username"], "user_nomfa");
    let by_text = expect_json(org.api.get("/api/v1/credentials?q=BOB").await, 200).await;
    assert_eq!(by_text["total"], 1);
    let by_correlation = expect_json(
        org.api
            .get("/api/v1/credentials?correlationId=corr-carol_good")
            .await,
        200,
    )
    .await;
    assert_eq!(by_correlation["items"][0]["username"], "carol_good");
    // A LIKE wildcard typed by a user matches itself only.
    let wildcard = expect_json(org.api.get("/api/v1/credentials?q=%25").await, 200).await;
    assert_eq!(wildcard["total"], 0);

    let page_two = expect_json(
        org.api
            .get("/api/v1/credentials?sort=-username&pageSize=2&page=2")
            .await,
        200,
    )
    .await;
    assert_eq!(page_two["total"], 4);
    assert_eq!(page_two["pageSize"], 2);
    let names: Vec<&str> = page_two["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bob_good", "alice_good"]);

    let counts = expect_json(org.api.get("/api/v1/credentials/counts").await, 200).await;
    assert_eq!(counts["total"], 4);
    let count_of = |detail: &str| {
        counts["byStatusDetail"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["statusDetail"] == detail)
            .unwrap()["count"]
            .clone()
    };
    assert_eq!(count_of("INVALID_CREDENTIALS"), 3);
    assert_eq!(count_of("LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL"), 1);
    assert_eq!(count_of("MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED"), 0);
}

async fn bad_list_parameters_are_refused_with_their_names(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    for (query, field) in [
        ("statusDetail=CONNECTED", "statusDetail"),
        ("status=BROKEN", "status"),
        ("sort=password", "sort"),
        ("page=0", "page"),
        ("pageSize=101", "pageSize"),
        ("pageSize=ten", "pageSize"),
    ] {
        let body = expect_json(
            org.api.get(&format!("/api/v1/credentials?{query}")).await,
            422,
        )
        .await;
        assert_eq!(body["fields"][0]["field"], field, "{query}");
    }
    let unknown = expect_json(org.api.get("/api/v1/credentials?statusdetail=X").await, 400).await;
    assert_eq!(unknown["code"], "MALFORMED_REQUEST");
}

async fn a_new_password_starts_a_new_connection_attempt(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let created = create(&org.api, "sandbox-water", "user_good", "wrong").await;
    let id = created["id"].as_str().unwrap();
    app.wait_for_detail(&org.api, id, "INVALID_CREDENTIALS")
        .await;
    let changed = expect_json(
        org.api
            .patch(
                &format!("/api/v1/credentials/{id}"),
                json!({"password": "pass_good"}),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(changed["statusDetail"], "CONNECTING");
    app.wait_for_detail(&org.api, id, "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
        .await;
    app.wait_for_sync(&org.api, id, None).await;
    let events = expect_json(
        org.api
            .get(&format!("/api/v1/credentials/{id}/events"))
            .await,
        200,
    )
    .await;
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "CREATED",
            "STATUS_CHANGE",
            "PASSWORD_CHANGED",
            "STATUS_CHANGE",
            "STATUS_CHANGE",
            "NEW_DATA_AVAILABLE"
        ]
    );
    let last = &events[1];
    assert_eq!(last["fromStatusDetail"], "CONNECTING");
    assert_eq!(
        last["toStatusDetail"],
        "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL"
    );
    assert_eq!(last["actor"], "job:login");
    let timeline = serde_json::to_string(&events).unwrap();
    assert!(
        !timeline.contains("pass_good") && !timeline.contains("wrong\""),
        "a secret in the timeline"
    );
}

async fn deactivating_stops_everything_and_hides_the_credential(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let created = create(&org.api, "sandbox-water", "user_good", "pass_good").await;
    let id = created["id"].as_str().unwrap();
    app.wait_for_detail(&org.api, id, "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
        .await;
    assert_eq!(
        org.api
            .delete(&format!("/api/v1/credentials/{id}"))
            .await
            .status(),
        204
    );
    assert_eq!(
        org.api
            .delete(&format!("/api/v1/credentials/{id}"))
            .await
            .status(),
        204
    );
    let shown = expect_json(org.api.get(&format!("/api/v1/credentials/{id}")).await, 200).await;
    assert!(shown["deactivatedAt"].is_string());
    assert!(shown["tokenExpiresAt"].is_null());
    assert_eq!(
        expect_json(org.api.get("/api/v1/credentials").await, 200).await["total"],
        0
    );
    assert_eq!(
        expect_json(
            org.api
                .get("/api/v1/credentials?includeDeactivated=true")
                .await,
            200
        )
        .await["total"],
        1
    );
    let refused = expect_json(
        org.api
            .patch(
                &format!("/api/v1/credentials/{id}"),
                json!({"password": "x"}),
            )
            .await,
        409,
    )
    .await;
    assert_eq!(refused["code"], "CONFLICT");
}

async fn sync_now_notices_a_token_the_utility_expired(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let created = create(&org.api, "sandbox-water", "user_nomfa", "pass_good").await;
    let id = created["id"].as_str().unwrap();
    app.wait_for_detail(&org.api, id, "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
        .await;
    let synced = expect_json(
        org.api
            .post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
            .await,
        200,
    )
    .await;
    assert!(synced["lastSyncedAt"].is_string());
    app.sandbox_admin(
        "/api/admin/expire-tokens",
        json!({"username": "user_nomfa"}),
    )
    .await;
    let flagged = expect_json(
        org.api
            .post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(
        flagged["statusDetail"],
        "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED"
    );
    assert_eq!(flagged["isCustomerActionRequired"], true);
    let again = expect_json(
        org.api
            .post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
            .await,
        409,
    )
    .await;
    assert!(again["message"]
        .as_str()
        .unwrap()
        .contains("MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED"));
    let events = expect_json(
        org.api
            .get(&format!("/api/v1/credentials/{id}/events"))
            .await,
        200,
    )
    .await;
    let refreshes = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["toStatusDetail"] == "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED")
        .count();
    assert_eq!(refreshes, 1);
}

async fn unschedule_syncs(state: &server::http::state::AppState) {
    sqlx::query("UPDATE credentials SET next_sync_at = NULL")
        .execute(state.db.pool())
        .await
        .unwrap();
}

async fn case_29_the_sweep_flags_expired_tokens_once_even_when_sweeps_race(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let mut ids = Vec::new();
    for utility in ["sandbox-water", "sandbox-electric", "sandbox-gas"] {
        let created = create(&org.api, utility, "user_nomfa", "pass_good").await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        app.wait_for_sync(&org.api, id, None).await;
    }
    let state = app.state();
    // This is about sweeps racing each other: keep the sync job out of it (a
    // sync in progress holds its row, and PostgreSQL sweeps skip locked rows,
    // leaving them to the next sweep a minute later).
    unschedule_syncs(state).await;
    assert_eq!(
        server::jobs::expiry::sweep_expired_tokens(&state.db, &state.clock)
            .await
            .unwrap(),
        0
    );
    // Past Sandbox Gas's 14 days and Sandbox Electric's 30, not Sandbox Water's year.
    state.clock.advance(time::Duration::days(31));
    let (first, second) = tokio::join!(
        server::jobs::expiry::sweep_expired_tokens(&state.db, &state.clock),
        server::jobs::expiry::sweep_expired_tokens(&state.db, &state.clock)
    );
    assert_eq!(first.unwrap() + second.unwrap(), 2);
    app.wait_for_detail(&org.api, &ids[0], "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL")
        .await;
    for id in &ids[1..] {
        app.wait_for_detail(&org.api, id, "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED")
            .await;
        let events = expect_json(
            org.api
                .get(&format!("/api/v1/credentials/{id}/events"))
                .await,
            200,
        )
        .await;
        let sweeps: Vec<&Value> = events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["actor"] == "job:expiry_sweep")
            .collect();
        assert_eq!(sweeps.len(), 1, "one event per credential");
    }
    let filtered = expect_json(
        org.api
            .get("/api/v1/credentials?statusDetail=MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED")
            .await,
        200,
    )
    .await;
    assert_eq!(filtered["total"], 2);
}

async fn the_expiry_forecast_counts_tokens_per_day_and_the_latest_events_are_listed(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    for utility in ["sandbox-gas", "sandbox-electric", "sandbox-water"] {
        let created = create(&org.api, utility, "user_nomfa", "pass_good").await;
        app.wait_for_sync(&org.api, created["id"].as_str().unwrap(), None)
            .await;
    }
    let forecast = expect_json(
        org.api.get("/api/v1/credentials/expiries?days=90").await,
        200,
    )
    .await;
    let per_day: Vec<u64> = serde_json::from_value(forecast["perDay"].clone()).unwrap();
    assert_eq!(per_day.len(), 90);
    // Sandbox Gas tokens last 14 days, Sandbox Electric 30; Sandbox Water's year is beyond the window.
    assert_eq!(per_day.iter().sum::<u64>(), 2);
    assert!(
        per_day[13] + per_day[14] == 1 && per_day[29] + per_day[30] == 1,
        "{per_day:?}"
    );
    expect_json(
        org.api.get("/api/v1/credentials/expiries?days=0").await,
        422,
    )
    .await;

    let events = expect_json(org.api.get("/api/v1/events?limit=2").await, 200).await;
    assert_eq!(events.as_array().unwrap().len(), 2);
    assert_eq!(events[0]["username"], "user_nomfa");
    assert_eq!(events[0]["kind"], "NEW_DATA_AVAILABLE");
    assert_eq!(
        events[1]["toStatusDetail"],
        "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL"
    );
    let other = app.organisation("Other").await;
    assert_eq!(
        expect_json(other.api.get("/api/v1/events").await, 200).await,
        json!([])
    );
}

async fn a_sync_stores_statements_once_and_what_is_new_later(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let created = create(&org.api, "sandbox-water", "user_nomfa", "pass_good").await;
    let id = created["id"].as_str().unwrap();
    // The first sync runs by itself right after the connection.
    let synced = app.wait_for_sync(&org.api, id, None).await;
    assert!(synced["nextSyncAt"].as_str().unwrap() > synced["lastSyncedAt"].as_str().unwrap());
    let accounts = expect_json(
        org.api
            .get(&format!("/api/v1/credentials/{id}/accounts"))
            .await,
        200,
    )
    .await;
    let accounts = accounts.as_array().unwrap().clone();
    assert!(!accounts.is_empty());
    assert_eq!(accounts[0]["fuel"], "water");
    let statements = |org: &common::Organisation| {
        let api = org.api.clone();
        let id = id.to_owned();
        async move {
            expect_json(
                api.get(&format!("/api/v1/credentials/{id}/statements"))
                    .await,
                200,
            )
            .await
            .as_array()
            .unwrap()
            .clone()
        }
    };
    let first = statements(&org).await;
    assert_eq!(first.len(), 12 * accounts.len());
    assert_eq!(first[0]["usageUnit"], "gallons");
    let newest = first[0]["periodStart"].as_str().unwrap().to_owned();
    assert!(
        first
            .iter()
            .all(|s| s["periodStart"].as_str().unwrap() <= newest.as_str()),
        "newest first"
    );
    assert_eq!(newest.len(), 10, "YYYY-MM-DD: {newest}");
    let new_data_events = |org: &common::Organisation| {
        let api = org.api.clone();
        let id = id.to_owned();
        async move {
            expect_json(
                api.get(&format!("/api/v1/credentials/{id}/events")).await,
                200,
            )
            .await
            .as_array()
            .unwrap()
            .iter()
            .filter(|event| event["kind"] == "NEW_DATA_AVAILABLE")
            .count()
        }
    };
    assert_eq!(new_data_events(&org).await, 1);

    // A second sync finds nothing new and stores nothing twice.
    expect_json(
        org.api
            .post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(statements(&org).await, first);
    assert_eq!(new_data_events(&org).await, 1);

    // A month later the utility has a new statement per account; the next sync adds only those.
    app.sandbox_admin("/api/admin/clock/advance", json!({"seconds": 32 * 86_400}))
        .await;
    expect_json(
        org.api
            .post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
            .await,
        200,
    )
    .await;
    let later = statements(&org).await;
    assert_eq!(later.len(), 13 * accounts.len(), "the oldest stays stored");
    assert!(later[0]["periodStart"].as_str().unwrap() > newest.as_str());
    assert_eq!(new_data_events(&org).await, 2);

    // Stored data stays readable when the token no longer works.
    app.sandbox_admin(
        "/api/admin/expire-tokens",
        json!({"username": "user_nomfa"}),
    )
    .await;
    let flagged = expect_json(
        org.api
            .post(&format!("/api/v1/credentials/{id}/sync"), json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(
        flagged["statusDetail"],
        "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED"
    );
    assert!(flagged["nextSyncAt"].is_null());
    assert_eq!(statements(&org).await, later);
    let other = app.organisation("Other").await;
    expect_json(
        other
            .api
            .get(&format!("/api/v1/credentials/{id}/statements"))
            .await,
        404,
    )
    .await;
}

database_tests!(
    the_timeline_names_each_actor_as_people_see_it,
    a_sync_stores_statements_once_and_what_is_new_later,
    the_expiry_forecast_counts_tokens_per_day_and_the_latest_events_are_listed,
    a_login_without_mfa_connects_in_the_background,
    a_login_with_mfa_waits_for_a_method,
    failed_logins_land_in_their_status_details,
    invalid_fields_are_all_reported_and_nothing_is_created,
    malformed_bodies_get_the_shared_error_body,
    the_list_filters_sorts_and_paginates,
    bad_list_parameters_are_refused_with_their_names,
    a_new_password_starts_a_new_connection_attempt,
    deactivating_stops_everything_and_hides_the_credential,
    sync_now_notices_a_token_the_utility_expired,
    case_29_the_sweep_flags_expired_tokens_once_even_when_sweeps_race,
);
