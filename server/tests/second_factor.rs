//! Two-factor sign-in from outside: an operator sets up an authenticator app
//! (QR code, first code, ten recovery codes), then signs in with a password
//! and a code; a code works once, a recovery code once, wrong codes count
//! toward the sign-in limits, the second step expires, removing the app needs
//! a code; and an organisation can require a second factor of everyone.

mod common;

use common::{expect_json, spawn_app, Backend, Client, TestApp};
use serde_json::{json, Value};

const PASSWORD: &str = "a long admin password";

/// The password step: the answer, and the pending cookie when it is 202.
async fn password_step(app: &TestApp, email: &str) -> (u16, Option<String>) {
    let answer = app
        .anonymous()
        .post(
            "/api/session",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    let status = answer.status().as_u16();
    let cookie = answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|value| value.starts_with("gridlink_pending="));
    if let Some(cookie) = &cookie {
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        assert!(
            cookie.contains("Path=/api/session/second-factor"),
            "{cookie}"
        );
    }
    (
        status,
        cookie.map(|cookie| cookie.split(';').next().unwrap().to_owned()),
    )
}

/// The second step with `pending` (a `name=value` cookie) and `proof`.
async fn second_step(app: &TestApp, pending: Option<&str>, proof: Value) -> reqwest::Response {
    let mut request = app
        .anonymous()
        .request(reqwest::Method::POST, "/api/session/second-factor")
        .json(&proof);
    if let Some(pending) = pending {
        request = request.header("cookie", pending);
    }
    request.send().await.unwrap()
}

/// Sets up an authenticator app for `operator`; returns its secret and recovery codes.
async fn enrol(app: &TestApp, operator: &Client) -> (String, Vec<String>) {
    let enrolment = expect_json(operator.post("/api/session/totp", json!({})).await, 201).await;
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    assert!(enrolment["otpauthUrl"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/Gridlink:"));
    assert!(enrolment["qrSvg"].as_str().unwrap().starts_with("<svg"));
    let wrong = expect_json(
        operator
            .post("/api/session/totp/confirm", json!({"code": "000000"}))
            .await,
        422,
    )
    .await;
    assert_eq!(wrong["fields"][0]["field"], "code");
    let codes = expect_json(
        operator
            .post(
                "/api/session/totp/confirm",
                json!({"code": app.authenticator_code(&secret)}),
            )
            .await,
        200,
    )
    .await;
    let codes: Vec<String> = codes["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    // The app's step is used: the next code is a step later.
    app.state().clock.advance(time::Duration::seconds(30));
    (secret, codes)
}

async fn an_operator_signs_in_with_a_password_and_an_authenticator_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Two Factor Co").await;
    let (secret, recovery) = enrol(&app, &org.admin).await;
    let status = expect_json(org.admin.get("/api/session/totp").await, 200).await;
    assert_eq!(status, json!({"enabled": true, "recoveryCodesLeft": 10}));
    expect_json(org.admin.post("/api/session/totp", json!({})).await, 409).await;

    // The password alone no longer signs in: 202 and a pending cookie, no session.
    let (status, pending) = password_step(&app, &org.admin_email).await;
    assert_eq!(status, 202);
    let pending = pending.expect("a pending cookie");
    let wrong = expect_json(
        second_step(&app, Some(&pending), json!({"code": "123456"})).await,
        422,
    )
    .await;
    assert_eq!(wrong["fields"][0]["field"], "code");
    let code = app.authenticator_code(&secret);
    let signed_in = second_step(&app, Some(&pending), json!({"code": code})).await;
    assert_eq!(signed_in.status(), 200);
    assert!(signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|cookie| cookie
            .to_str()
            .unwrap()
            .starts_with("gridlink_session=gls_")));
    let session: Value = signed_in.json().await.unwrap();
    assert_eq!(session["operator"]["email"], org.admin_email.as_str());
    // The pending sign-in worked once.
    expect_json(
        second_step(&app, Some(&pending), json!({"code": code})).await,
        401,
    )
    .await;

    // The same code again, in a new sign-in within its window: refused (a replay).
    let (_, pending) = password_step(&app, &org.admin_email).await;
    let pending = pending.unwrap();
    expect_json(
        second_step(&app, Some(&pending), json!({"code": code})).await,
        422,
    )
    .await;
    app.state().clock.advance(time::Duration::seconds(30));
    let fresh = app.authenticator_code(&secret);
    assert_eq!(
        second_step(&app, Some(&pending), json!({"code": fresh}))
            .await
            .status(),
        200
    );

    // A recovery code works once, typed loosely.
    let (_, pending) = password_step(&app, &org.admin_email).await;
    let pending = pending.unwrap();
    let loose = recovery[0].to_uppercase().replace('-', " ");
    assert_eq!(
        second_step(&app, Some(&pending), json!({"recoveryCode": loose}))
            .await
            .status(),
        200
    );
    let (_, pending) = password_step(&app, &org.admin_email).await;
    let pending = pending.unwrap();
    let reused = expect_json(
        second_step(&app, Some(&pending), json!({"recoveryCode": recovery[0]})).await,
        422,
    )
    .await;
    assert_eq!(reused["fields"][0]["field"], "recoveryCode");
    let status = expect_json(org.admin.get("/api/session/totp").await, 200).await;
    assert_eq!(status["recoveryCodesLeft"], 9);

    // Both, neither, no pending cookie, an expired one: refused.
    expect_json(
        second_step(
            &app,
            Some(&pending),
            json!({"code": "123456", "recoveryCode": recovery[1]}),
        )
        .await,
        422,
    )
    .await;
    expect_json(second_step(&app, Some(&pending), json!({})).await, 422).await;
    expect_json(
        second_step(&app, None, json!({"code": "123456"})).await,
        401,
    )
    .await;
    expect_json(
        second_step(
            &app,
            Some("gridlink_pending=gps_made_up"),
            json!({"code": "123456"}),
        )
        .await,
        401,
    )
    .await;
    app.state().clock.advance(time::Duration::minutes(6));
    let late = app.authenticator_code(&secret);
    expect_json(
        second_step(&app, Some(&pending), json!({"code": late})).await,
        401,
    )
    .await;

    // The audit trail says which factor each sign-in used.
    let trail = expect_json(
        org.admin
            .get("/api/v1/audit-events?action=SIGN_IN_SUCCEEDED")
            .await,
        200,
    )
    .await;
    let factors: Vec<&str> = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["details"]["factor"].as_str().unwrap())
        .collect();
    assert_eq!(factors, ["RECOVERY_CODE", "TOTP", "TOTP", "PASSWORD"]);
    let failed = expect_json(
        org.admin
            .get("/api/v1/audit-events?action=SIGN_IN_FAILED")
            .await,
        200,
    )
    .await;
    assert!(failed["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|event| event["details"]["factor"] == "TOTP"));
    let enabled = expect_json(
        org.admin
            .get("/api/v1/audit-events?action=SECOND_FACTOR_ENABLED")
            .await,
        200,
    )
    .await;
    assert_eq!(enabled["events"].as_array().unwrap().len(), 1);
    assert!(!trail.to_string().contains(&secret));

    // Removing the app needs a current code or a recovery code.
    expect_json(
        org.admin
            .post("/api/session/totp/disable", json!({"code": "000000"}))
            .await,
        422,
    )
    .await;
    assert_eq!(
        org.admin
            .post(
                "/api/session/totp/disable",
                json!({"recoveryCode": recovery[2]})
            )
            .await
            .status(),
        204
    );
    let status = expect_json(org.admin.get("/api/session/totp").await, 200).await;
    assert_eq!(status, json!({"enabled": false, "recoveryCodesLeft": 0}));
    let removed = expect_json(
        org.admin
            .get("/api/v1/audit-events?action=SECOND_FACTOR_DISABLED")
            .await,
        200,
    )
    .await;
    assert_eq!(
        removed["events"][0]["details"]["provedWith"],
        "RECOVERY_CODE"
    );
    let (status, pending) = password_step(&app, &org.admin_email).await;
    assert_eq!((status, pending), (200, None));
    app.stop().await.unwrap();
}

async fn wrong_second_factor_codes_count_toward_the_sign_in_limits(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Guessing Co").await;
    let (secret, _) = enrol(&app, &org.admin).await;
    let (_, pending) = password_step(&app, &org.admin_email).await;
    let pending = pending.unwrap();
    for _ in 0..10 {
        expect_json(
            second_step(&app, Some(&pending), json!({"code": "999999"})).await,
            422,
        )
        .await;
    }
    // The eleventh guess is refused before it is checked, even a right one.
    let right = app.authenticator_code(&secret);
    let refused = second_step(&app, Some(&pending), json!({"code": right})).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    // And so is the password, for this email from this client.
    let (status, _) = password_step(&app, &org.admin_email).await;
    assert_eq!(status, 429);
    app.stop().await.unwrap();
}

async fn an_organisation_can_require_a_second_factor_of_every_operator(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Strict Co").await;
    expect_json(org.admin.post("/api/v1/operators", json!({"email": "strict-member@example.com", "password": PASSWORD, "role": "MEMBER"})).await, 201).await;
    let mut settings = expect_json(org.admin.get("/api/v1/organisation").await, 200).await;
    assert_eq!(settings["requireSecondFactor"], false);
    settings["requireSecondFactor"] = json!(true);
    // An admin without a second factor of their own cannot require one.
    let refused = expect_json(
        org.admin
            .put("/api/v1/organisation", settings.clone())
            .await,
        422,
    )
    .await;
    assert_eq!(refused["fields"][0]["field"], "requireSecondFactor");
    enrol(&app, &org.admin).await;
    let saved = expect_json(org.admin.put("/api/v1/organisation", settings).await, 200).await;
    assert_eq!(saved["requireSecondFactor"], true);
    let changed = expect_json(
        org.admin
            .get("/api/v1/audit-events?action=ORGANISATION_SETTINGS_CHANGED")
            .await,
        200,
    )
    .await;
    assert_eq!(
        changed["events"][0]["details"]["fields"],
        json!(["requireSecondFactor"])
    );

    // An operator without a second factor reaches only their account until they set one up.
    let member = app.sign_in("strict-member@example.com", PASSWORD).await;
    let session = expect_json(member.get("/api/session").await, 200).await;
    assert_eq!(session["mustSetUpSecondFactor"], true);
    let refused = expect_json(member.get("/api/v1/credentials").await, 403).await;
    assert!(
        refused["message"].as_str().unwrap().contains("two-factor"),
        "{refused}"
    );
    expect_json(member.post("/api/v1/connect-tokens", json!({})).await, 403).await;
    // API keys are unaffected.
    expect_json(org.api.get("/api/v1/credentials").await, 200).await;
    enrol(&app, &member).await;
    let session = expect_json(member.get("/api/session").await, 200).await;
    assert_eq!(session["mustSetUpSecondFactor"], false);
    expect_json(member.get("/api/v1/credentials").await, 200).await;
    app.stop().await.unwrap();
}

database_tests!(
    an_operator_signs_in_with_a_password_and_an_authenticator_code,
    wrong_second_factor_codes_count_toward_the_sign_in_limits,
    an_organisation_can_require_a_second_factor_of_every_operator,
);
