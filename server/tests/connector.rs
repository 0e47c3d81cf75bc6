//! The HTTP `UtilityConnector` driven against the running sandbox, through
//! every scenario and fault.

mod common;

use std::time::{Duration, Instant};

use common::spawn_sandbox;
use serde_json::json;
use server::infra::utility::{LoginOutcome, MfaChallenge, UtilityConnector, UtilityError};
use shared::validation::{OtpCode, Password, Username};
use shared::MfaMethod;
use time::OffsetDateTime;

const TIMEOUT: Duration = Duration::from_secs(10);

fn username(name: &str) -> Username {
    Username::parse(name).unwrap()
}

fn good_password() -> Password {
    Password::parse("pass_good").unwrap()
}

fn code(value: &str) -> OtpCode {
    OtpCode::parse(value).unwrap()
}

async fn challenge(connector: &impl UtilityConnector, utility: &str, login: &str) -> MfaChallenge {
    match connector
        .login(utility, &username(login), &good_password())
        .await
        .unwrap()
    {
        LoginOutcome::MfaRequired(challenge) => challenge,
        LoginOutcome::Authenticated(_) => panic!("{login} at {utility} should need MFA"),
    }
}

fn days_until(moment: OffsetDateTime) -> i64 {
    (moment - OffsetDateTime::now_utc())
        .whole_hours()
        .div_euclid(24)
        + 1
}

#[tokio::test]
async fn the_sandbox_lists_its_seven_utilities() {
    let sandbox = spawn_sandbox().await;
    let utilities = sandbox.connector(TIMEOUT).list_utilities().await.unwrap();
    let names: Vec<&str> = utilities
        .iter()
        .map(|utility| utility.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Sandbox Electric",
            "Sandbox Gas",
            "Sandbox Water",
            "Sandbox Municipal Power",
            "Sandbox Silent Power",
            "Sandbox Legacy Utility",
            "Sandbox Idle Power"
        ]
    );
}

#[tokio::test]
async fn a_good_login_at_sandbox_electric_offers_sms_call_and_email_with_masked_destinations() {
    let sandbox = spawn_sandbox().await;
    let challenge = challenge(&sandbox.connector(TIMEOUT), "sandbox-electric", "user_good").await;
    let methods: Vec<MfaMethod> = challenge
        .options
        .iter()
        .map(|option| option.method)
        .collect();
    assert_eq!(methods, [MfaMethod::Sms, MfaMethod::Call, MfaMethod::Email]);
    let sms = &challenge.options[0].destination;
    assert!(
        sms.starts_with("•••-•••-") && sms.chars().filter(char::is_ascii_digit).count() == 4,
        "{sms}"
    );
    assert_eq!(challenge.options[2].destination, "u•••@example.com");
}

#[tokio::test]
async fn each_utility_offers_only_its_own_methods() {
    let sandbox = spawn_sandbox().await;
    let connector = sandbox.connector(TIMEOUT);
    let methods = |challenge: MfaChallenge| {
        challenge
            .options
            .into_iter()
            .map(|o| o.method)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        methods(challenge(&connector, "sandbox-gas", "user_good").await),
        [MfaMethod::Sms]
    );
    assert_eq!(
        methods(challenge(&connector, "sandbox-municipal-power", "user_good").await),
        [MfaMethod::Email]
    );
}

#[tokio::test]
async fn a_code_sent_by_sms_appears_in_the_outbox_and_buys_a_30_day_token() {
    let sandbox = spawn_sandbox().await;
    let connector = sandbox.connector(TIMEOUT);
    let challenge = challenge(&connector, "sandbox-electric", "user_good").await;
    let sent = connector
        .send_code("sandbox-electric", &challenge.challenge_id, MfaMethod::Sms)
        .await
        .unwrap();
    assert_eq!(sent.destination, challenge.options[0].destination);
    assert_eq!(sent.sends_left, 4);
    let minutes_valid = (sent.code_expires_at - OffsetDateTime::now_utc()).whole_minutes();
    assert!((9..=10).contains(&minutes_valid), "{minutes_valid}");

    let entries: Vec<serde_json::Value> = reqwest::get(sandbox.url("/api/outbox"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(entries[0]["utility"], "Sandbox Electric");
    assert_eq!(entries[0]["username"], "user_good");
    assert_eq!(entries[0]["method"], "sms");
    assert_eq!(entries[0]["destination"], sent.destination.as_str());
    assert!(entries[0]["sentAt"].as_str().is_some());

    let the_code = sandbox.latest_code("sandbox-electric", "user_good").await;
    let session = connector
        .verify_code(
            "sandbox-electric",
            &challenge.challenge_id,
            &code(&the_code),
        )
        .await
        .unwrap();
    assert_eq!(days_until(session.expires_at.expect("a stated expiry")), 30);
    let accounts = connector
        .accounts("sandbox-electric", &session.secret)
        .await
        .unwrap();
    assert!(!accounts.is_empty());
    let statements = connector
        .statements(
            "sandbox-electric",
            &session.secret,
            &accounts[0].account_number,
        )
        .await
        .unwrap();
    assert_eq!(statements.len(), 12);
    assert!(statements
        .iter()
        .all(|statement| statement.usage_unit == "kWh"));
}

#[tokio::test]
async fn token_lifetimes_follow_each_utility() {
    let sandbox = spawn_sandbox().await;
    let connector = sandbox.connector(TIMEOUT);
    for (utility, method, days) in [
        ("sandbox-gas", MfaMethod::Sms, 14),
        ("sandbox-municipal-power", MfaMethod::Email, 7),
    ] {
        let challenge = challenge(&connector, utility, "user_good").await;
        connector
            .send_code(utility, &challenge.challenge_id, method)
            .await
            .unwrap();
        let the_code = sandbox.latest_code(utility, "user_good").await;
        let session = connector
            .verify_code(utility, &challenge.challenge_id, &code(&the_code))
            .await
            .unwrap();
        assert_eq!(
            days_until(session.expires_at.expect("a stated expiry")),
            days,
            "{utility}"
        );
    }
    let LoginOutcome::Authenticated(session) = connector
        .login("sandbox-water", &username("user_good"), &good_password())
        .await
        .unwrap()
    else {
        panic!("Sandbox Water has no MFA");
    };
    assert_eq!(
        days_until(session.expires_at.expect("a stated expiry")),
        365
    );
}

#[tokio::test]
async fn a_login_without_mfa_gets_a_token_straight_away_even_where_the_utility_has_mfa() {
    let sandbox = spawn_sandbox().await;
    let outcome = sandbox
        .connector(TIMEOUT)
        .login(
            "sandbox-electric",
            &username("user_nomfa"),
            &good_password(),
        )
        .await
        .unwrap();
    assert!(matches!(outcome, LoginOutcome::Authenticated(_)));
}

#[tokio::test]
async fn a_wrong_password_is_invalid_credentials() {
    let sandbox = spawn_sandbox().await;
    let connector = sandbox.connector(TIMEOUT);
    let wrong = Password::parse("pass_bad").unwrap();
    for login in ["user_good", "user_nomfa", "somebody_else"] {
        let error = connector
            .login("sandbox-electric", &username(login), &wrong)
            .await
            .unwrap_err();
        assert_eq!(error, UtilityError::InvalidCredentials, "{login}");
    }
}

#[tokio::test]
async fn a_locked_account_is_reported_as_locked() {
    let sandbox = spawn_sandbox().await;
    let error = sandbox
        .connector(TIMEOUT)
        .login("sandbox-gas", &username("user_locked"), &good_password())
        .await
        .unwrap_err();
    assert!(
        matches!(error, UtilityError::AccountLocked { until: Some(_) }),
        "{error:?}"
    );
}

#[tokio::test]
async fn security_questions_are_unsupported_mfa() {
    let sandbox = spawn_sandbox().await;
    let error = sandbox
        .connector(TIMEOUT)
        .login("sandbox-legacy", &username("user_good"), &good_password())
        .await
        .unwrap_err();
    assert_eq!(error, UtilityError::UnsupportedMfa);
}

#[tokio::test]
async fn a_utility_that_is_down_for_a_login_is_unavailable() {
    let sandbox = spawn_sandbox().await;
    let error = sandbox
        .connector(TIMEOUT)
        .login("sandbox-electric", &username("user_down"), &good_password())
        .await
        .unwrap_err();
    assert!(matches!(error, UtilityError::Unavailable(_)), "{error:?}");
}

#[tokio::test]
async fn a_slow_utility_answers_after_about_five_seconds() {
    let sandbox = spawn_sandbox().await;
    let started = Instant::now();
    let outcome = sandbox
        .connector(TIMEOUT)
        .login("sandbox-water", &username("user_slow"), &good_password())
        .await
        .unwrap();
    assert!(matches!(outcome, LoginOutcome::Authenticated(_)));
    assert!(
        started.elapsed() >= Duration::from_millis(4900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_utility_slower_than_the_timeout_is_unavailable() {
    let sandbox = spawn_sandbox().await;
    sandbox
        .admin(
            "/api/admin/utilities/sandbox-water/faults",
            json!({"latencyMs": 2000}),
        )
        .await;
    let error = sandbox
        .connector(Duration::from_millis(300))
        .login("sandbox-water", &username("user_good"), &good_password())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        UtilityError::Unavailable("no answer before the timeout".into())
    );
}

#[tokio::test]
async fn a_wrong_code_counts_down_and_the_right_one_still_works() {
    let sandbox = spawn_sandbox().await;
    let connector = sandbox.connector(TIMEOUT);
    let challenge = challenge(&connector, "sandbox-electric", "user_good").await;
    connector
        .send_code(
            "sandbox-electric",
            &challenge.challenge_id,
            MfaMethod::Email,
        )
        .await
        .unwrap();
    let the_code = sandbox.latest_code("sandbox-electric", "user_good").await;
    let wrong = if the_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    let error = connector
        .verify_code("sandbox-electric", &challenge.challenge_id, &code(wrong))
        .await
        .unwrap_err();
    assert_eq!(error, UtilityError::WrongCode { attempts_left: 4 });
    connector
        .verify_code(
            "sandbox-electric",
            &challenge.challenge_id,
            &code(&the_code),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn five_wrong_codes_lock_the_login_for_a_while() {
    let sandbox = spawn_sandbox().await;
    let connector = sandbox.connector(TIMEOUT);
    let challenge = challenge(&connector, "sandbox-gas", "user_good").await;
    connector
        .send_code("sandbox-gas", &challenge.challenge_id, MfaMethod::Sms)
        .await
        .unwrap();
    let the_code = sandbox.latest_code("sandbox-gas", "user_good").await;
    let wrong = if the_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    for attempts_left in (1..=4).rev() {
        let error = connector
            .verify_code("sandbox-gas", &challenge.challenge_id, &code(wrong))
            .await
            .unwrap_err();
        assert_eq!(error, UtilityError::WrongCode { attempts_left });
    }
    let error = connector
        .verify_code("sandbox-gas", &challenge.challenge_id, &code(wrong))
        .await
        .unwrap_err();
    assert!(
        matches!(error, UtilityError::TooManyAttempts { until: Some(_) }),
        "{error:?}"
    );
    // The challenge is gone, and logging in again is refused until the lock ends.
    let error = connector
        .verify_code("sandbox-gas", &challenge.challenge_id, &code(&the_code))
        .await
        .unwrap_err();
    assert_eq!(error, UtilityError::ChallengeExpired);
    let error = connector
        .login("sandbox-gas", &username("user_good"), &good_password())
        .await
        .unwrap_err();
    assert!(
        matches!(error, UtilityError::AccountLocked { .. }),
        "{error:?}"
    );
    sandbox
        .admin("/api/admin/clock/advance", json!({"seconds": 16 * 60}))
        .await;
    challenge_after_lock(&connector).await;
}

async fn challenge_after_lock(connector: &impl UtilityConnector) {
    let outcome = connector
        .login("sandbox-gas", &username("user_good"), &good_password())
        .await
        .unwrap();
    assert!(matches!(outcome, LoginOutcome::MfaRequired(_)));
}

#[tokio::test]
async fn a_code_expires_after_ten_minutes_and_a_resend_then_gives_a_new_one() {
    let sandbox = spawn_sandbox().await;
    let connector = sandbox.connector(TIMEOUT);
    let challenge = challenge(&connector, "sandbox-electric", "user_good").await;
    connector
        .send_code("sandbox-electric", &challenge.challenge_id, MfaMethod::Sms)
        .await
        .unwrap();
    let first = sandbox.latest_code("sandbox-electric", "user_good").await;
    sandbox
        .admin("/api/admin/clock/advance", json!({"seconds": 601}))
        .await;
    let error = connector
        .verify_code("sandbox-electric", &challenge.challenge_id, &code(&first))
        .await
        .unwrap_err();
    assert_eq!(error, UtilityError::CodeExpired);
    connector
        .send_code("sandbox-electric", &challenge.challenge_id, MfaMethod::Sms)
        .await
        .unwrap();
    let second = sandbox.latest_code("sandbox-electric", "user_good").await;
    connector
        .verify_code("sandbox-electric", &challenge.challenge_id, &code(&second))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_resend_gives_the_same_code_and_sends_are_limited() {
    let sandbox = spawn_sandbox().await;
    let connector = sandbox.connector(TIMEOUT);
    let challenge = challenge(&connector, "sandbox-electric", "user_good").await;
    let mut codes = Vec::new();
    for (method, sends_left) in [
        (MfaMethod::Sms, 4),
        (MfaMethod::Sms, 3),
        (MfaMethod::Call, 2),
        (MfaMethod::Email, 1),
        (MfaMethod::Sms, 0),
    ] {
        let sent = connector
            .send_code("sandbox-electric", &challenge.challenge_id, method)
            .await
            .unwrap();
        assert_eq!(sent.sends_left, sends_left);
        codes.push(sandbox.latest_code("sandbox-electric", "user_good").await);
    }
    assert!(codes.windows(2).all(|pair| pair[0] == pair[1]), "{codes:?}");
    let error = connector
        .send_code("sandbox-electric", &challenge.challenge_id, MfaMethod::Sms)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            UtilityError::TooManySends {
                retry_after_seconds: Some(_)
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_method_the_login_does_not_offer_is_refused() {
    let sandbox = spawn_sandbox().await;
    let connector = sandbox.connector(TIMEOUT);
    let challenge = challenge(&connector, "sandbox-gas", "user_good").await;
    let error = connector
        .send_code("sandbox-gas", &challenge.challenge_id, MfaMethod::Email)
        .await
        .unwrap_err();
    assert_eq!(error, UtilityError::MethodNotOffered);
}

#[tokio::test]
async fn an_expired_token_is_reported_as_expired_and_an_unknown_one_as_invalid() {
    let sandbox = spawn_sandbox().await;
    let connector = sandbox.connector(TIMEOUT);
    let LoginOutcome::Authenticated(session) = connector
        .login("sandbox-water", &username("user_good"), &good_password())
        .await
        .unwrap()
    else {
        panic!("no MFA at Sandbox Water");
    };
    connector
        .accounts("sandbox-water", &session.secret)
        .await
        .unwrap();
    let expired = sandbox
        .admin("/api/admin/expire-tokens", json!({"username": "user_good"}))
        .await;
    assert_eq!(expired["expired"], 1);
    let error = connector
        .accounts("sandbox-water", &session.secret)
        .await
        .unwrap_err();
    assert_eq!(error, UtilityError::TokenExpired);
    let unknown = server::infra::utility::SecretToken::new("sbx_tok_nope".into());
    assert_eq!(
        connector
            .accounts("sandbox-water", &unknown)
            .await
            .unwrap_err(),
        UtilityError::InvalidToken
    );
}

#[tokio::test]
async fn a_token_stops_working_when_its_lifetime_has_passed() {
    let sandbox = spawn_sandbox().await;
    let connector = sandbox.connector(TIMEOUT);
    let challenge = challenge(&connector, "sandbox-municipal-power", "user_good").await;
    connector
        .send_code(
            "sandbox-municipal-power",
            &challenge.challenge_id,
            MfaMethod::Email,
        )
        .await
        .unwrap();
    let the_code = sandbox
        .latest_code("sandbox-municipal-power", "user_good")
        .await;
    let session = connector
        .verify_code(
            "sandbox-municipal-power",
            &challenge.challenge_id,
            &code(&the_code),
        )
        .await
        .unwrap();
    sandbox
        .admin(
            "/api/admin/clock/advance",
            json!({"seconds": 6 * 24 * 3600}),
        )
        .await;
    connector
        .accounts("sandbox-municipal-power", &session.secret)
        .await
        .unwrap();
    sandbox
        .admin("/api/admin/clock/advance", json!({"seconds": 24 * 3600}))
        .await;
    assert_eq!(
        connector
            .accounts("sandbox-municipal-power", &session.secret)
            .await
            .unwrap_err(),
        UtilityError::TokenExpired
    );
}

#[tokio::test]
async fn a_utility_set_down_is_unavailable_until_the_fault_is_cleared() {
    let sandbox = spawn_sandbox().await;
    let connector = sandbox.connector(TIMEOUT);
    sandbox
        .admin(
            "/api/admin/utilities/sandbox-water/faults",
            json!({"down": true}),
        )
        .await;
    let error = connector
        .login("sandbox-water", &username("user_good"), &good_password())
        .await
        .unwrap_err();
    assert!(matches!(error, UtilityError::Unavailable(_)), "{error:?}");
    sandbox
        .admin("/api/admin/utilities/sandbox-water/faults", json!({}))
        .await;
    connector
        .login("sandbox-water", &username("user_good"), &good_password())
        .await
        .unwrap();
}

#[tokio::test]
async fn reads_are_retried_through_passing_failures_but_logins_are_not() {
    let sandbox = spawn_sandbox().await;
    let connector = sandbox.connector(TIMEOUT);
    let LoginOutcome::Authenticated(session) = connector
        .login("sandbox-water", &username("user_good"), &good_password())
        .await
        .unwrap()
    else {
        panic!("no MFA at Sandbox Water");
    };
    // Two failures, then success: the third try of a read gets through.
    sandbox
        .admin(
            "/api/admin/utilities/sandbox-water/faults",
            json!({"failNext": 2}),
        )
        .await;
    connector
        .accounts("sandbox-water", &session.secret)
        .await
        .unwrap();
    // A login has effects at the utility, so one failure is final.
    sandbox
        .admin(
            "/api/admin/utilities/sandbox-water/faults",
            json!({"failNext": 1}),
        )
        .await;
    let error = connector
        .login("sandbox-water", &username("user_good"), &good_password())
        .await
        .unwrap_err();
    assert!(matches!(error, UtilityError::Unavailable(_)), "{error:?}");
    connector
        .login("sandbox-water", &username("user_good"), &good_password())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_share_of_failing_requests_surfaces_as_unavailable_after_the_retries() {
    let sandbox = spawn_sandbox().await;
    let connector = sandbox.connector(TIMEOUT);
    sandbox
        .admin(
            "/api/admin/utilities/sandbox-electric/faults",
            json!({"failureRate": 1.0}),
        )
        .await;
    let error = connector
        .accounts(
            "sandbox-electric",
            &server::infra::utility::SecretToken::new("x".into()),
        )
        .await
        .unwrap_err();
    assert_eq!(
        error,
        UtilityError::Unavailable("Internal error at the utility.".into())
    );
    // At a share of one half, a run of calls sees both outcomes.
    sandbox
        .admin(
            "/api/admin/utilities/sandbox-electric/faults",
            json!({"failureRate": 0.5}),
        )
        .await;
    let mut failures = 0;
    for _ in 0..40 {
        let status = reqwest::get(sandbox.url("/api/utilities/sandbox-electric/accounts"))
            .await
            .unwrap()
            .status();
        if status == 500 {
            failures += 1;
        } else {
            assert_eq!(status, 401);
        }
    }
    assert!((5..=35).contains(&failures), "{failures} of 40 failed");
}

#[tokio::test]
async fn an_unreachable_utility_service_is_unavailable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let connector = server::infra::utility::http::HttpUtilityConnector::new(
        reqwest::Url::parse(&format!("http://{closed}")).unwrap(),
        TIMEOUT,
        server::infra::utility::http::RetryPolicy {
            attempts: 2,
            first_delay: Duration::from_millis(10),
        },
        &server::infra::outbound::TrustRoots::only(Vec::new()),
    )
    .unwrap();
    let error = connector.list_utilities().await.unwrap_err();
    assert_eq!(error, UtilityError::Unavailable("cannot connect".into()));
}

/// Eight logins at once through a ceiling of `limit` calls in flight: the
/// most the sandbox answered at once.
async fn peak_in_flight(limit: usize) -> u64 {
    let sandbox = spawn_sandbox().await;
    sandbox
        .admin(
            "/api/admin/utilities/sandbox-water/faults",
            json!({"latencyMs": 200}),
        )
        .await;
    let connector = std::sync::Arc::new(server::domain::incidents::tally::ObservedConnector::new(
        std::sync::Arc::new(sandbox.connector(Duration::from_secs(10))),
        server::infra::utility::in_flight::InFlightSlots::new(limit),
        server::domain::incidents::tally::CallTally::default(),
        server::infra::clock::Clock::default(),
    ));
    let mut logins = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let connector = std::sync::Arc::clone(&connector);
        logins.spawn(async move {
            connector
                .login("sandbox-water", &username("user_nomfa"), &good_password())
                .await
        });
    }
    while let Some(login) = logins.join_next().await {
        assert!(matches!(login.unwrap(), Ok(LoginOutcome::Authenticated(_))));
    }
    let stats: serde_json::Value = reqwest::get(sandbox.url("/api/admin/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["sandbox-water"]["login"], 8, "{stats}");
    stats["sandbox-water"]["maxInFlight"].as_u64().unwrap()
}

#[tokio::test]
async fn calls_to_one_utility_stay_under_the_in_flight_ceiling() {
    assert_eq!(peak_in_flight(2).await, 2);
    // The same eight calls without a tight ceiling overlap more: the sandbox sees it.
    assert!(peak_in_flight(8).await > 2);
}
