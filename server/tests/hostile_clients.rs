//! Hostile clients: rate limits per client that spoofed forwarding headers
//! cannot escape (case 23), sign-in that strangers cannot turn into a
//! lock-out, nor tell unknown emails from wrong passwords by (case 31), and
//! deactivation that nothing in flight can undo.

mod common;

use std::time::{Duration, Instant};

use common::{expect_json, spawn_app, spawn_app_with, Backend, TestApp, TestAppOptions};
use serde_json::json;

/// A sign-in attempt from `client` (sent as `X-Forwarded-For`).
async fn sign_in_from(
    app: &TestApp,
    client: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/session"))
        .header("x-forwarded-for", client)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn case_23_rotating_spoofed_forwarded_for_does_not_escape_the_rate_limit(backend: Backend) {
    // No trusted proxy: the header is the client's own words, and ignored.
    let app = spawn_app(backend).await;
    let mut refused_at = None;
    for attempt in 0..45 {
        let response = sign_in_from(
            &app,
            &format!("198.51.100.{attempt}"),
            &format!("nobody{attempt}@example.com"),
            "a wrong password",
        )
        .await;
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["code"], "TOO_MANY_REQUESTS");
            refused_at = Some(attempt);
            break;
        }
        assert_eq!(response.status(), 401);
    }
    // A burst of 30, then one every 2 s: the 31st (give or take one refilled
    // while the checks ran) is refused, whatever the header says.
    let refused_at = refused_at.expect("the spoofed headers escaped the limit");
    assert!((30..=32).contains(&refused_at), "refused at {refused_at}");
}

async fn a_trusted_proxy_s_forwarded_clients_are_limited_one_by_one(backend: Backend) {
    let app = spawn_app_with(
        backend,
        TestAppOptions {
            trusted_proxies: Some("127.0.0.1/32, ::1".to_owned()),
            ..TestAppOptions::default()
        },
    )
    .await;
    for attempt in 0..45 {
        let response = sign_in_from(
            &app,
            &format!("198.51.100.{attempt}"),
            &format!("nobody{attempt}@example.com"),
            "a wrong password",
        )
        .await;
        assert_eq!(
            response.status(),
            401,
            "client {attempt} has its own budget"
        );
    }
}

async fn a_stranger_s_failed_sign_ins_do_not_lock_the_owner_out(backend: Backend) {
    let app = spawn_app_with(
        backend,
        TestAppOptions {
            trusted_proxies: Some("127.0.0.1".to_owned()),
            ..TestAppOptions::default()
        },
    )
    .await;
    let org = app.organisation("Acme Solar").await;
    let stranger = "203.0.113.66";
    for _ in 0..10 {
        expect_json(
            sign_in_from(&app, stranger, &org.admin_email, "guess").await,
            401,
        )
        .await;
    }
    let locked = sign_in_from(&app, stranger, &org.admin_email, "a long admin password").await;
    assert_eq!(locked.status(), 429);
    // The owner, elsewhere, signs in as usual.
    let owner = sign_in_from(
        &app,
        "192.0.2.10",
        &org.admin_email,
        "a long admin password",
    )
    .await;
    assert_eq!(owner.status(), 200);
}

/// An app behind a trusted proxy on loopback that appends `X-Forwarded-For`.
async fn behind_a_proxy(backend: Backend) -> TestApp {
    spawn_app_with(
        backend,
        TestAppOptions {
            trusted_proxies: Some("127.0.0.1".to_owned()),
            ..TestAppOptions::default()
        },
    )
    .await
}

async fn case_34_a_client_s_own_forwarded_header_never_beats_the_proxy_s(backend: Backend) {
    let app = behind_a_proxy(backend).await;
    let org = app.organisation("Acme Solar").await;
    let attempt = |rotated: String| {
        app.client
            .post(app.url("/api/session"))
            // The proxy appended the real client; the client wrote the rest.
            .header("x-forwarded-for", format!("{rotated}, 203.0.113.5"))
            .header("forwarded", format!("for={rotated}"))
            .json(&json!({"email": org.admin_email, "password": "a wrong password"}))
            .send()
    };
    for guess in 0..10 {
        let response = attempt(format!("198.51.100.{guess}")).await.unwrap();
        assert_eq!(response.status(), 401, "guess {guess}");
    }
    for guess in 10..20 {
        let response = attempt(format!("198.51.100.{guess}")).await.unwrap();
        assert_eq!(response.status(), 429, "guess {guess} escaped the limit");
        assert!(response.headers().contains_key("retry-after"));
    }
}

async fn case_35_rotating_the_last_64_bits_of_an_ipv6_address_escapes_no_limit(backend: Backend) {
    let app = behind_a_proxy(backend).await;
    let org = app.organisation("Acme Solar").await;
    for guess in 0..10 {
        let client = format!("2001:db8:77:1:{guess:x}:1:2:3");
        let response = sign_in_from(&app, &client, &org.admin_email, "a wrong password").await;
        assert_eq!(response.status(), 401, "guess {guess}");
    }
    let rotated = sign_in_from(&app, "2001:db8:77:1:ffff::9", &org.admin_email, "guess").await;
    assert_eq!(
        rotated.status(),
        429,
        "a new interface id escaped the limit"
    );
    // Another /64 is another client.
    let neighbour = sign_in_from(&app, "2001:db8:77:2::1", &org.admin_email, "guess").await;
    assert_eq!(neighbour.status(), 401);

    // The in-memory burst limit, too: 30, then refused, across rotated addresses.
    let mut refused_at = None;
    for attempt in 0..45 {
        let client = format!("2001:db8:99:1::{attempt:x}");
        let email = format!("nobody{attempt}@example.com");
        let response = sign_in_from(&app, &client, &email, "a wrong password").await;
        if response.status() == 429 {
            refused_at = Some(attempt);
            break;
        }
    }
    let refused_at = refused_at.expect("rotating addresses escaped the burst limit");
    assert!((30..=32).contains(&refused_at), "refused at {refused_at}");
}

async fn case_44_password_reset_requests_are_limited_per_client_and_per_mailbox(backend: Backend) {
    let app = behind_a_proxy(backend).await;
    let org = app.organisation("Acme Solar").await;
    let reset_from = |client: &'static str, email: String| {
        app.client
            .post(app.url("/api/password-reset"))
            .header("x-forwarded-for", client)
            .json(&json!({"email": email}))
            .send()
    };
    // The victim asked twice (or an attacker did): one mail.
    for _ in 0..2 {
        let response = reset_from("192.0.2.44", org.admin_email.clone())
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    }
    app.wait_for_mail(&org.admin_email, 1).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(app.mail_to(&org.admin_email).await.len(), 1);

    // One client asking for many addresses is refused after the sign-in burst.
    let mut refused_at = None;
    for attempt in 0..45 {
        let response = reset_from("198.51.100.44", format!("someone{attempt}@example.com"))
            .await
            .unwrap();
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
            refused_at = Some(attempt);
            break;
        }
        assert_eq!(response.status(), 202);
    }
    let refused_at = refused_at.expect("password-reset requests are not limited");
    assert!((30..=32).contains(&refused_at), "refused at {refused_at}");
    // Another client is not affected.
    let other = reset_from("198.51.100.45", "someone@example.com".to_owned())
        .await
        .unwrap();
    assert_eq!(other.status(), 202);
}

async fn parallel_wrong_passwords_cannot_slip_past_the_failure_limit(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let attempts = (0..19).map(|_| {
        let app_url = app.url("/api/session");
        let client = app.client.clone();
        let email = org.admin_email.clone();
        tokio::spawn(async move {
            client
                .post(app_url)
                .json(&json!({"email": email, "password": "a wrong password"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    });
    let mut checked = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            401 => checked += 1,
            429 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert!(checked <= 10, "{checked} passwords were checked");
}

/// Case 31: the same words, and similar time, for an unknown email and a wrong password.
async fn case_31_an_unknown_email_and_a_wrong_password_look_alike(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let mut timings = [Vec::new(), Vec::new()];
    let mut bodies = [None, None];
    for round in 0..4 {
        for (which, email) in [org.admin_email.as_str(), "nobody@example.com"]
            .iter()
            .enumerate()
        {
            let started = Instant::now();
            let response = app
                .anonymous()
                .post(
                    "/api/session",
                    json!({"email": email, "password": format!("wrong {round}")}),
                )
                .await;
            timings[which].push(started.elapsed());
            assert_eq!(response.status(), 401);
            bodies[which] = Some(response.text().await.unwrap());
        }
    }
    assert_eq!(bodies[0], bodies[1], "the same answer");
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let (known, unknown) = (median(&mut timings[0]), median(&mut timings[1]));
    // Both run one Argon2 check; without the dummy hash the unknown email
    // would answer many times faster.
    assert!(
        unknown * 3 > known && known * 3 > unknown,
        "known {known:?} vs unknown {unknown:?}"
    );
}

async fn deactivation_destroys_both_secrets_and_a_login_in_flight_cannot_revive_it(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let connected = app
        .synced_credential(&org.api, "sandbox-water", "user_nomfa")
        .await;
    // A slow login (about 5 s at the utility) is in flight when the credential is deactivated.
    let slow = expect_json(
        org.api
            .post(
                "/api/v1/credentials",
                json!({"utilityId": "sandbox-water", "username": "user_slow", "password": "pass_good"}),
            )
            .await,
        201,
    )
    .await;
    let slow_id = slow["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for id in [&connected, &slow_id] {
        let response = org.api.delete(&format!("/api/v1/credentials/{id}")).await;
        assert_eq!(response.status(), 204);
    }
    tokio::time::sleep(Duration::from_secs(7)).await;
    for id in [&connected, &slow_id] {
        let (password, token): (String, Option<String>) = sqlx::query_as(
            "SELECT sealed_password, sealed_session_token FROM credentials WHERE id = $1",
        )
        .bind(id)
        .fetch_one(app.state().db.pool())
        .await
        .unwrap();
        assert_eq!(password, "", "the sealed password of {id} is destroyed");
        assert!(token.is_none(), "no session token for {id}");
    }
    // The login that was at the utility finished, but could not connect the
    // deactivated credential.
    let body = expect_json(
        org.api.get(&format!("/api/v1/credentials/{slow_id}")).await,
        200,
    )
    .await;
    assert_ne!(
        body["statusDetail"], "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL",
        "{body}"
    );
}

/// Unauthenticated answers (401, and 404 without credentials) count against
/// their client: a scan for keys or ids is cut off with 429.
async fn a_client_collecting_unauthenticated_answers_is_limited(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut statuses = Vec::new();
    for n in 0..70 {
        let response = app
            .client
            .get(app.url("/api/v1/credentials"))
            .bearer_auth(format!("glk_guess_{n}"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert!(
        statuses[..60].iter().all(|status| *status == 401),
        "{statuses:?}"
    );
    assert!(
        statuses[60..].iter().all(|status| *status == 429),
        "{statuses:?}"
    );
}

/// The Connect API allows a burst, then a steady rate per client.
async fn a_flood_of_connect_calls_is_limited_per_client(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Acme Solar").await;
    let token = expect_json(
        org.api
            .post("/api/v1/connect-tokens", json!({"owner": "END_USER"}))
            .await,
        201,
    )
    .await;
    let connect = app.connect_client(token["token"].as_str().unwrap());
    let mut limited = None;
    for n in 0..400 {
        let response = connect.get("/api/connect/session").await;
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
            limited = Some(n);
            break;
        }
        assert_eq!(response.status(), 200);
    }
    let limited = limited.expect("the flood was limited");
    assert!(
        (300..320).contains(&limited),
        "limited after {limited} calls"
    );
}

database_tests!(
    a_client_collecting_unauthenticated_answers_is_limited,
    a_flood_of_connect_calls_is_limited_per_client,
    case_23_rotating_spoofed_forwarded_for_does_not_escape_the_rate_limit,
    a_trusted_proxy_s_forwarded_clients_are_limited_one_by_one,
    a_stranger_s_failed_sign_ins_do_not_lock_the_owner_out,
    case_34_a_client_s_own_forwarded_header_never_beats_the_proxy_s,
    case_35_rotating_the_last_64_bits_of_an_ipv6_address_escapes_no_limit,
    case_44_password_reset_requests_are_limited_per_client_and_per_mailbox,
    parallel_wrong_passwords_cannot_slip_past_the_failure_limit,
    case_31_an_unknown_email_and_a_wrong_password_look_alike,
    deactivation_destroys_both_secrets_and_a_login_in_flight_cannot_revive_it,
);
