//! The audit trail from outside: every action an operator, API key,
//! end-user or the command line takes is recorded once, with who, from
//! where, when and what (never a secret); the trail is append-only, filters
//! and pages, and refuses bad filters; a READ API key reads and never writes.

mod common;

use std::collections::BTreeSet;

use common::webhook_receiver::WebhookReceiver;
use common::{expect_json, spawn_app, Backend, Client, Organisation, TestApp};
use serde_json::{json, Value};
use shared::audit::AuditAction;

const USER_AGENT: &str = "AuditTest/1.0 (gridlink tests)";

/// The newest record of `action` the organisation's admin can read.
async fn newest(org: &Organisation, action: AuditAction) -> Value {
    let page = expect_json(
        org.admin
            .get(&format!("/api/v1/audit-events?action={action}&limit=1"))
            .await,
        200,
    )
    .await;
    page["events"][0].clone()
}

/// Waits (up to 10 s) for a record of `action` (one written after answering).
async fn wait_for(org: &Organisation, action: AuditAction) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let event = newest(org, action).await;
        if event.is_object() {
            return event;
        }
        assert!(std::time::Instant::now() < deadline, "no {action} record");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Checks the newest record of `action`, remembering it was seen.
async fn expect(
    org: &Organisation,
    seen: &mut BTreeSet<&'static str>,
    action: AuditAction,
    actor_kind: &str,
    target_id: Option<&str>,
) -> Value {
    let event = wait_for(org, action).await;
    assert_eq!(event["actorKind"], actor_kind, "{action}: {event}");
    if let Some(target_id) = target_id {
        assert_eq!(event["targetId"], target_id, "{action}: {event}");
    }
    if matches!(
        actor_kind,
        "OPERATOR" | "API_KEY" | "END_USER" | "ANONYMOUS"
    ) {
        assert_eq!(event["client"], "127.0.0.1", "{action}: {event}");
    }
    seen.insert(action.as_str());
    event
}

/// A client whose requests carry [`USER_AGENT`].
fn with_user_agent(client: &Client) -> Client {
    Client {
        http: reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .build()
            .unwrap(),
        ..client.clone()
    }
}

async fn every_action_is_recorded_with_who_where_and_what(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Audit Co").await;
    let mut seen = BTreeSet::new();

    // The command line created the organisation and its admin.
    let created = expect(
        &org,
        &mut seen,
        AuditAction::OrganisationCreated,
        "CLI",
        Some(&org.id),
    )
    .await;
    assert_eq!(created["details"]["adminEmail"], org.admin_email.as_str());

    // Sign-ins: who, with what factor, from where, with which browser.
    let signed_in = with_user_agent(&app.anonymous())
        .post(
            "/api/session",
            json!({"email": org.admin_email, "password": "a long admin password"}),
        )
        .await;
    assert_eq!(signed_in.status(), 200);
    let event = expect(
        &org,
        &mut seen,
        AuditAction::SignInSucceeded,
        "OPERATOR",
        None,
    )
    .await;
    assert_eq!(event["actorName"], org.admin_email.as_str());
    assert_eq!(event["details"]["factor"], "PASSWORD");
    assert_eq!(event["userAgent"], USER_AGENT);
    let refused = app
        .anonymous()
        .post(
            "/api/session",
            json!({"email": org.admin_email, "password": "not the password"}),
        )
        .await;
    assert_eq!(refused.status(), 401);
    let event = expect(
        &org,
        &mut seen,
        AuditAction::SignInFailed,
        "ANONYMOUS",
        None,
    )
    .await;
    assert_eq!(event["actorName"], org.admin_email.as_str());
    assert!(!event.to_string().contains("not the password"), "{event}");

    // API keys: created (with its scope) and revoked; a revocation that finds nothing records nothing.
    let key = expect_json(
        org.admin
            .post(
                "/api/v1/api-keys",
                json!({"name": "Billing sync", "scope": "READ"}),
            )
            .await,
        201,
    )
    .await;
    let key_id = key["apiKey"]["id"].as_str().unwrap();
    assert_eq!(key["apiKey"]["scope"], "READ");
    let event = expect(
        &org,
        &mut seen,
        AuditAction::ApiKeyCreated,
        "OPERATOR",
        Some(key_id),
    )
    .await;
    assert_eq!(
        event["details"],
        json!({"name": "Billing sync", "scope": "READ"})
    );
    assert!(!event.to_string().contains(key["secret"].as_str().unwrap()));
    expect_json(org.admin.delete("/api/v1/api-keys/key_missing").await, 404).await;
    assert!(
        newest(&org, AuditAction::ApiKeyRevoked).await.is_null(),
        "a 404 recorded a revocation"
    );
    assert_eq!(
        org.admin
            .delete(&format!("/api/v1/api-keys/{key_id}"))
            .await
            .status(),
        204
    );
    expect(
        &org,
        &mut seen,
        AuditAction::ApiKeyRevoked,
        "OPERATOR",
        Some(key_id),
    )
    .await;

    // Operators: added, promoted, their own password and sessions, removed.
    let member_email = format!("member-{}@example.com", &org.id[4..12]);
    let added = expect_json(
        org.admin
            .post("/api/v1/operators", json!({"email": member_email, "password": "a long member password", "role": "MEMBER"}))
            .await,
        201,
    )
    .await;
    let member_id = added["id"].as_str().unwrap().to_owned();
    let event = expect(
        &org,
        &mut seen,
        AuditAction::OperatorInvited,
        "OPERATOR",
        Some(&member_id),
    )
    .await;
    assert_eq!(event["details"]["role"], "MEMBER");
    assert!(!event.to_string().contains("a long member password"));
    expect_json(
        org.admin
            .patch(
                &format!("/api/v1/operators/{member_id}"),
                json!({"role": "ADMIN"}),
            )
            .await,
        200,
    )
    .await;
    let event = expect(
        &org,
        &mut seen,
        AuditAction::OperatorRoleChanged,
        "OPERATOR",
        Some(&member_id),
    )
    .await;
    assert_eq!(event["details"]["role"], "ADMIN");
    let member = app.sign_in(&member_email, "a long member password").await;
    let other_session = app.sign_in(&member_email, "a long member password").await;
    let changed = member
        .post("/api/session/password", json!({"currentPassword": "a long member password", "newPassword": "another long password"}))
        .await;
    assert_eq!(changed.status(), 204);
    let event = expect(
        &org,
        &mut seen,
        AuditAction::PasswordChanged,
        "OPERATOR",
        Some(&member_id),
    )
    .await;
    assert_eq!(event["actorName"], member_email.as_str());
    assert!(!event.to_string().contains("another long password"));
    drop(other_session);
    let third = app.sign_in(&member_email, "another long password").await;
    let sessions = expect_json(member.get("/api/session/sessions").await, 200).await;
    let ended = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|session| session["current"] == false)
        .expect("a second session")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        member
            .delete(&format!("/api/session/sessions/{ended}"))
            .await
            .status(),
        204
    );
    expect(
        &org,
        &mut seen,
        AuditAction::SessionEnded,
        "OPERATOR",
        Some(&ended),
    )
    .await;
    drop(third);
    assert_eq!(member.delete("/api/session").await.status(), 204);
    let event = expect(&org, &mut seen, AuditAction::SignedOut, "OPERATOR", None).await;
    assert_eq!(event["actorId"], member_id.as_str());

    // "Forgot password?" and the mailed link.
    let asked = app
        .anonymous()
        .post("/api/password-reset", json!({"email": member_email}))
        .await;
    assert_eq!(asked.status(), 202);
    let event = expect(
        &org,
        &mut seen,
        AuditAction::PasswordResetRequested,
        "ANONYMOUS",
        Some(&member_id),
    )
    .await;
    assert_eq!(event["actorName"], member_email.as_str());
    let mail = app.wait_for_mail(&member_email, 1).await;
    let text = mail.last().unwrap()["text"].as_str().unwrap().to_owned();
    let start =
        text.find("/dashboard/set-password/").expect("a link") + "/dashboard/set-password/".len();
    let token = text[start..].split_whitespace().next().unwrap();
    let chosen = app
        .anonymous()
        .post(
            &format!("/api/password-reset/{token}"),
            json!({"newPassword": "a third long password"}),
        )
        .await;
    assert_eq!(chosen.status(), 204);
    let event = expect(
        &org,
        &mut seen,
        AuditAction::PasswordReset,
        "OPERATOR",
        Some(&member_id),
    )
    .await;
    assert_eq!(event["details"]["link"], "PASSWORD_RESET");
    assert!(!event.to_string().contains(token));
    assert_eq!(
        org.admin
            .delete(&format!("/api/v1/operators/{member_id}"))
            .await
            .status(),
        204
    );
    expect(
        &org,
        &mut seen,
        AuditAction::OperatorRemoved,
        "OPERATOR",
        Some(&member_id),
    )
    .await;

    // A second factor set up and removed (the flow itself is tests/second_factor.rs's).
    let enrolment = expect_json(org.admin.post("/api/session/totp", json!({})).await, 201).await;
    let secret = enrolment["secret"].as_str().unwrap();
    let code = app.authenticator_code(secret);
    let codes = expect_json(
        org.admin
            .post("/api/session/totp/confirm", json!({"code": code}))
            .await,
        200,
    )
    .await;
    let event = expect(
        &org,
        &mut seen,
        AuditAction::SecondFactorEnabled,
        "OPERATOR",
        None,
    )
    .await;
    assert_eq!(event["details"]["factor"], "TOTP");
    assert!(!event.to_string().contains(secret));
    let recovery = codes["codes"][0].as_str().unwrap();
    assert_eq!(
        org.admin
            .post(
                "/api/session/totp/disable",
                json!({"recoveryCode": recovery})
            )
            .await
            .status(),
        204
    );
    let event = expect(
        &org,
        &mut seen,
        AuditAction::SecondFactorDisabled,
        "OPERATOR",
        None,
    )
    .await;
    assert!(!event.to_string().contains(recovery));

    // Organisation settings: which fields changed, by name.
    let mut settings = expect_json(org.admin.get("/api/v1/organisation").await, 200).await;
    settings["name"] = json!("Audit Company");
    expect_json(org.admin.put("/api/v1/organisation", settings).await, 200).await;
    let event = expect(
        &org,
        &mut seen,
        AuditAction::OrganisationSettingsChanged,
        "OPERATOR",
        Some(&org.id),
    )
    .await;
    assert_eq!(event["details"]["fields"], json!(["name"]));

    // Webhooks: the endpoint's host (never its path), the secret rotated, a test, a resend, a replay.
    let receiver = WebhookReceiver::start(0).await;
    let secret = org.send_webhooks_to(&receiver).await;
    let event = expect(
        &org,
        &mut seen,
        AuditAction::WebhookEndpointChanged,
        "API_KEY",
        None,
    )
    .await;
    assert_eq!(event["actorName"], "tests");
    assert_eq!(event["details"]["host"], "127.0.0.1");
    assert!(!event.to_string().contains(&secret));
    let rotated = expect_json(
        org.api
            .post("/api/v1/webhook-endpoint/rotate-secret", json!({}))
            .await,
        200,
    )
    .await;
    let event = expect(
        &org,
        &mut seen,
        AuditAction::WebhookSecretRotated,
        "API_KEY",
        None,
    )
    .await;
    assert!(!event
        .to_string()
        .contains(rotated["secret"].as_str().unwrap()));
    let delivery = common::test_event_with_its_first_attempt(&org).await;
    let delivery_id = delivery["id"].as_str().unwrap();
    expect(
        &org,
        &mut seen,
        AuditAction::WebhookTestSent,
        "API_KEY",
        Some(delivery_id),
    )
    .await;
    expect_json(
        org.api
            .post(
                &format!("/api/v1/webhook-deliveries/{delivery_id}/resend"),
                json!({}),
            )
            .await,
        202,
    )
    .await;
    expect(
        &org,
        &mut seen,
        AuditAction::WebhookDeliveryResent,
        "API_KEY",
        Some(delivery_id),
    )
    .await;
    expect_json(
        org.api
            .post(
                "/api/v1/webhook-deliveries/replay",
                json!({"from": "2020-01-01T00:00:00Z"}),
            )
            .await,
        202,
    )
    .await;
    let event = expect(
        &org,
        &mut seen,
        AuditAction::WebhookDeliveriesReplayed,
        "API_KEY",
        None,
    )
    .await;
    assert_eq!(event["details"]["from"], "2020-01-01T00:00:00Z");

    // Credentials through the API.
    let credential = expect_json(
        org.api
            .post("/api/v1/credentials", json!({"utilityId": "sandbox-electric", "username": "user_good+audit_api", "password": "pass_good"}))
            .await,
        201,
    )
    .await;
    let api_credential = credential["id"].as_str().unwrap().to_owned();
    let event = expect(
        &org,
        &mut seen,
        AuditAction::CredentialCreated,
        "API_KEY",
        Some(&api_credential),
    )
    .await;
    assert_eq!(event["details"]["username"], "user_good+audit_api");
    assert!(!event.to_string().contains("pass_good"));
    expect_json(
        org.api
            .patch(
                &format!("/api/v1/credentials/{api_credential}"),
                json!({"correlationId": "crm-1"}),
            )
            .await,
        200,
    )
    .await;
    let event = expect(
        &org,
        &mut seen,
        AuditAction::CredentialChanged,
        "API_KEY",
        Some(&api_credential),
    )
    .await;
    assert_eq!(event["details"]["fields"], json!(["correlationId"]));
    expect_json(
        org.api
            .patch(
                &format!("/api/v1/credentials/{api_credential}"),
                json!({"contactEmail": "owner@example.com"}),
            )
            .await,
        200,
    )
    .await;
    expect(
        &org,
        &mut seen,
        AuditAction::CredentialContactChanged,
        "API_KEY",
        Some(&api_credential),
    )
    .await;

    // Connect: the token (integrator), then the end-user's login and contact.
    let token = expect_json(org.api.post("/api/v1/connect-tokens", json!({})).await, 201).await;
    expect(
        &org,
        &mut seen,
        AuditAction::ConnectTokenCreated,
        "API_KEY",
        None,
    )
    .await;
    let connect = with_user_agent(&app.connect_client(token["token"].as_str().unwrap()));
    expect_json(
        connect
            .post("/api/connect/credentials", json!({"utilityId": "sandbox-electric", "username": "user_good+audit_connect", "password": "pass_good"}))
            .await,
        200,
    )
    .await;
    let event = expect(
        &org,
        &mut seen,
        AuditAction::CredentialCreated,
        "END_USER",
        None,
    )
    .await;
    assert_eq!(event["userAgent"], USER_AGENT);
    let connected = event["targetId"].as_str().unwrap().to_owned();
    app.wait_for_step(&connect, "CHOOSE_METHOD").await;
    expect_json(
        connect
            .post("/api/connect/mfa/method", json!({"method": "SMS"}))
            .await,
        200,
    )
    .await;
    let code = app
        .latest_code("sandbox-electric", "user_good+audit_connect")
        .await;
    let done = expect_json(
        connect
            .post("/api/connect/mfa/code", json!({"code": code}))
            .await,
        200,
    )
    .await;
    assert_eq!(done["step"], "SUCCESS");
    expect_json(
        connect
            .post(
                "/api/connect/contact",
                json!({"contactEmail": "enduser@example.com"}),
            )
            .await,
        200,
    )
    .await;
    let event = expect(
        &org,
        &mut seen,
        AuditAction::CredentialContactChanged,
        "END_USER",
        Some(&connected),
    )
    .await;
    assert!(
        !event.to_string().contains("enduser@example.com"),
        "{event}"
    );

    // The operator's actions on a connected credential.
    expect_json(
        org.admin
            .post(&format!("/api/v1/credentials/{connected}/sync"), json!({}))
            .await,
        200,
    )
    .await;
    expect(
        &org,
        &mut seen,
        AuditAction::CredentialSyncRequested,
        "OPERATOR",
        Some(&connected),
    )
    .await;
    expect_json(
        org.admin
            .post(
                &format!("/api/v1/credentials/{connected}/connect-tokens"),
                json!({}),
            )
            .await,
        201,
    )
    .await;
    expect(
        &org,
        &mut seen,
        AuditAction::MfaRetryStarted,
        "OPERATOR",
        Some(&connected),
    )
    .await;
    expect_json(
        org.admin
            .post(
                &format!("/api/v1/credentials/{connected}/update-links"),
                json!({}),
            )
            .await,
        201,
    )
    .await;
    expect(
        &org,
        &mut seen,
        AuditAction::UpdateLinkCreated,
        "OPERATOR",
        Some(&connected),
    )
    .await;
    let links = expect_json(
        org.admin
            .get(&format!("/api/v1/credentials/{connected}/update-links"))
            .await,
        200,
    )
    .await;
    let link_id = links[0]["id"].as_str().unwrap();
    assert_eq!(
        org.admin
            .delete(&format!(
                "/api/v1/credentials/{connected}/update-links/{link_id}"
            ))
            .await
            .status(),
        204
    );
    let event = expect(
        &org,
        &mut seen,
        AuditAction::UpdateLinkRevoked,
        "OPERATOR",
        Some(&connected),
    )
    .await;
    assert_eq!(event["details"]["linkId"], link_id);
    let bulk = expect_json(
        org.api
            .post(
                "/api/v1/update-links/bulk?utilityId=sandbox-electric",
                json!({}),
            )
            .await,
        201,
    )
    .await;
    let event = expect(
        &org,
        &mut seen,
        AuditAction::UpdateLinksBulkCreated,
        "API_KEY",
        None,
    )
    .await;
    assert_eq!(event["details"]["links"], bulk["count"]);
    assert_eq!(event["details"]["filters"], "utilityId=sandbox-electric");
    let export = org
        .admin
        .get("/api/v1/credentials/export.csv?utilityId=sandbox-electric")
        .await;
    assert_eq!(export.status(), 200);
    let event = expect(
        &org,
        &mut seen,
        AuditAction::CredentialsExported,
        "OPERATOR",
        None,
    )
    .await;
    assert_eq!(event["details"]["rows"], 2);
    expect_json(
        org.admin.post("/api/v1/adapters/refresh", json!({})).await,
        200,
    )
    .await;
    expect(
        &org,
        &mut seen,
        AuditAction::CatalogueRefreshed,
        "OPERATOR",
        None,
    )
    .await;
    assert_eq!(
        org.api
            .delete(&format!("/api/v1/credentials/{api_credential}"))
            .await
            .status(),
        204
    );
    expect(
        &org,
        &mut seen,
        AuditAction::CredentialDeactivated,
        "API_KEY",
        Some(&api_credential),
    )
    .await;
    assert_eq!(
        org.api.delete("/api/v1/webhook-endpoint").await.status(),
        204
    );
    expect(
        &org,
        &mut seen,
        AuditAction::WebhookEndpointRemoved,
        "API_KEY",
        None,
    )
    .await;

    // The command line's rotate-key concerns every organisation.
    let state = app.state();
    server::domain::key_rotation::rotate(&state.db, &state.keyring)
        .await
        .unwrap();
    let event = expect(&org, &mut seen, AuditAction::MasterKeyRotated, "CLI", None).await;
    assert!(event["details"]["resealed"].is_number());

    // The export of the trail is itself recorded, and holds what the API shows.
    let csv = org.admin.get("/api/v1/audit-events/export.csv").await;
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("occurredAt,action,actorKind,"), "{csv}");
    assert!(csv.contains("API_KEY_REVOKED,OPERATOR"), "{csv}");
    expect(
        &org,
        &mut seen,
        AuditAction::AuditLogExported,
        "OPERATOR",
        None,
    )
    .await;

    // Recorded by ceremonies a test must play in full (a passkey signing, an
    // identity provider answering), which their own tests check action by
    // action: passkeys.rs and single_sign_on.rs.
    const RECORDED_IN_THEIR_OWN_TESTS: [AuditAction; 4] = [
        AuditAction::PasskeyAdded,
        AuditAction::PasskeyRemoved,
        AuditAction::SsoSettingsChanged,
        AuditAction::SsoSettingsRemoved,
    ];
    let every: BTreeSet<&str> = AuditAction::ALL
        .iter()
        .filter(|action| !RECORDED_IN_THEIR_OWN_TESTS.contains(action))
        .map(|action| action.as_str())
        .collect();
    let missing: Vec<_> = every.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "actions this test never saw recorded: {missing:?}"
    );
    app.stop().await.unwrap();
}

async fn the_trail_is_append_only_scoped_paged_and_refuses_bad_filters(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Trail Co").await;
    let other = app.organisation("Other Co").await;
    for name in ["one", "two", "three"] {
        expect_json(
            org.admin
                .post("/api/v1/api-keys", json!({"name": name}))
                .await,
            201,
        )
        .await;
    }

    // Append-only: the database itself refuses a change.
    let changed = sqlx::query("UPDATE audit_events SET actor_name = 'someone else'")
        .execute(app.state().db.pool())
        .await;
    assert!(changed.is_err(), "an audit record was changed");

    // Pages of one, newest first, until the cursor runs out.
    let mut names = Vec::new();
    let mut path = "/api/v1/audit-events?action=API_KEY_CREATED&limit=1".to_owned();
    loop {
        let page = expect_json(org.admin.get(&path).await, 200).await;
        assert!(page["events"].as_array().unwrap().len() <= 1);
        if let Some(event) = page["events"].get(0) {
            names.push(event["details"]["name"].as_str().unwrap().to_owned());
        }
        match page["nextCursor"].as_str() {
            Some(cursor) => {
                path =
                    format!("/api/v1/audit-events?action=API_KEY_CREATED&limit=1&before={cursor}")
            }
            None => break,
        }
    }
    assert_eq!(names, ["three", "two", "one", "tests"]);

    // Filters: by actor (email), actor kind, target and time; another organisation sees none of it.
    let by_admin = expect_json(
        org.admin
            .get(&format!("/api/v1/audit-events?actor={}", org.admin_email))
            .await,
        200,
    )
    .await;
    assert!(by_admin["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|event| event["actorName"] == org.admin_email.as_str()));
    let cli = expect_json(
        org.admin.get("/api/v1/audit-events?actorKind=CLI").await,
        200,
    )
    .await;
    assert_eq!(cli["events"].as_array().unwrap().len(), 1);
    let about_org = expect_json(
        org.api
            .get(&format!("/api/v1/audit-events?target={}", org.id))
            .await,
        200,
    )
    .await;
    assert_eq!(about_org["events"][0]["action"], "ORGANISATION_CREATED");
    let future = expect_json(
        org.admin
            .get("/api/v1/audit-events?from=2999-01-01T00:00:00Z")
            .await,
        200,
    )
    .await;
    assert_eq!(future["events"], json!([]));
    let theirs = expect_json(
        other
            .admin
            .get("/api/v1/audit-events?action=API_KEY_CREATED")
            .await,
        200,
    )
    .await;
    assert_eq!(theirs["events"].as_array().unwrap().len(), 1, "{theirs}");

    // Bad filters answer the shared error body and name the field.
    for (query, field) in [
        ("action=NOT_AN_ACTION", "action"),
        ("actorKind=ROBOT", "actorKind"),
        ("from=yesterday", "from"),
        ("before=1.msg_00", "before"),
        ("limit=0", "limit"),
        ("limit=500", "limit"),
    ] {
        let body = expect_json(
            org.admin
                .get(&format!("/api/v1/audit-events?{query}"))
                .await,
            422,
        )
        .await;
        assert_eq!(body["fields"][0]["field"], field, "{query}: {body}");
    }
    let body = expect_json(org.admin.get("/api/v1/audit-events?colour=red").await, 400).await;
    assert_eq!(body["code"], "MALFORMED_REQUEST", "{body}");

    // A member reads no trail.
    expect_json(org.admin.post("/api/v1/operators", json!({"email": "trail-member@example.com", "password": "a long member password", "role": "MEMBER"})).await, 201).await;
    let member = app
        .sign_in("trail-member@example.com", "a long member password")
        .await;
    let refused = expect_json(member.get("/api/v1/audit-events").await, 403).await;
    assert_eq!(refused["code"], "FORBIDDEN");
    expect_json(member.get("/api/v1/audit-events/export.csv").await, 403).await;

    // Retention is the only way out: past GRIDLINK_AUDIT_RETENTION, records go.
    let before = count(&app).await;
    assert!(before > 0);
    let retention = app.state().settings.jobs.audit_retention;
    assert_eq!(retention, time::Duration::days(400));
    let kept = server::domain::audit::prune(&app.state().db, app.state().clock.now_ms(), retention)
        .await
        .unwrap();
    assert_eq!(kept, 0);
    app.state().clock.advance(time::Duration::days(401));
    let removed =
        server::domain::audit::prune(&app.state().db, app.state().clock.now_ms(), retention)
            .await
            .unwrap();
    assert_eq!(removed as i64, before);
    app.stop().await.unwrap();
}

async fn count(app: &TestApp) -> i64 {
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_events")
        .fetch_one(app.state().db.pool())
        .await
        .unwrap();
    count
}

/// A READ key reads every list and export, and every state-changing
/// operation an API key may call answers it 403 and changes nothing.
async fn a_read_key_reads_and_never_writes(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Scoped Co").await;
    let credential = expect_json(
        org.api
            .post("/api/v1/credentials", json!({"utilityId": "sandbox-electric", "username": "user_good+scoped", "password": "pass_good"}))
            .await,
        201,
    )
    .await;
    let credential_id = credential["id"].as_str().unwrap();
    let key = expect_json(
        org.admin
            .post(
                "/api/v1/api-keys",
                json!({"name": "Reporting", "scope": "READ"}),
            )
            .await,
        201,
    )
    .await;
    let reader = app.connect_client(key["secret"].as_str().unwrap());
    for path in [
        "/api/v1/credentials".to_owned(),
        format!("/api/v1/credentials/{credential_id}"),
        format!("/api/v1/credentials/{credential_id}/events"),
        "/api/v1/credentials/export.csv".to_owned(),
        "/api/v1/audit-events".to_owned(),
        "/api/v1/webhook-deliveries".to_owned(),
    ] {
        assert_eq!(reader.get(&path).await.status(), 200, "{path}");
    }
    let keys_listed = expect_json(org.admin.get("/api/v1/api-keys").await, 200).await;
    assert!(keys_listed
        .as_array()
        .unwrap()
        .iter()
        .any(|key| key["name"] == "Reporting" && key["scope"] == "READ"));

    let records_before = count(&app).await;
    let document = expect_json(app.anonymous().get("/api/openapi.json").await, 200).await;
    let mut tried = 0;
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            if method == "get" || operation["x-gridlink-scope"] != "WRITE" {
                continue;
            }
            let concrete = path
                .replace("{id}", credential_id)
                .replace("{link_id}", "link_x");
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let answer = reader
                .request(method.clone(), &concrete)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = answer.status().as_u16();
            let body: Value = answer.json().await.unwrap_or(Value::Null);
            assert_eq!(status, 403, "{method} {concrete}: {body}");
            assert_eq!(body["code"], "FORBIDDEN", "{method} {concrete}: {body}");
            assert!(body["message"].as_str().unwrap().contains("READ"), "{body}");
            tried += 1;
        }
    }
    assert!(tried >= 15, "only {tried} write operations were tried");
    // The one read that writes a record (an export) aside, nothing changed.
    assert_eq!(count(&app).await, records_before);
    let after = expect_json(
        org.api
            .get(&format!("/api/v1/credentials/{credential_id}"))
            .await,
        200,
    )
    .await;
    assert!(after["deactivatedAt"].is_null());
    app.stop().await.unwrap();
}

database_tests!(
    every_action_is_recorded_with_who_where_and_what,
    the_trail_is_append_only_scoped_paged_and_refuses_bad_filters,
    a_read_key_reads_and_never_writes,
);
