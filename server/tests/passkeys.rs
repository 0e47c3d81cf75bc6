//! Passkeys from outside, with a software authenticator that does what a
//! browser and a security key do (a P-256 key, WebAuthn's client data and
//! authenticator data, CBOR, an ECDSA signature): an operator registers one
//! (named), signs in with it as the second step, removes it. And the hostile
//! cases: an answer used twice, an answer to another operator's or another
//! kind of ceremony, a page at the wrong origin, a cloned authenticator (its
//! counter going back), a tampered signature, a passkey of someone else's
//! removed, and an API key trying any of it.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{expect_json, spawn_app, Backend, Client, Organisation, TestApp};
use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const PASSWORD: &str = "a long admin password";

/// CBOR (RFC 8949), as much as WebAuthn's structures need.
mod cbor {
    pub fn head(major: u8, value: u64) -> Vec<u8> {
        let major = major << 5;
        match value {
            0..=23 => vec![major | value as u8],
            24..=0xff => vec![major | 24, value as u8],
            0x100..=0xffff => [vec![major | 25], (value as u16).to_be_bytes().to_vec()].concat(),
            _ => [vec![major | 26], (value as u32).to_be_bytes().to_vec()].concat(),
        }
    }
    pub fn int(value: i64) -> Vec<u8> {
        if value >= 0 {
            head(0, value as u64)
        } else {
            head(1, (-1 - value) as u64)
        }
    }
    pub fn bytes(value: &[u8]) -> Vec<u8> {
        [head(2, value.len() as u64), value.to_vec()].concat()
    }
    pub fn text(value: &str) -> Vec<u8> {
        [head(3, value.len() as u64), value.as_bytes().to_vec()].concat()
    }
    pub fn map(entries: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<u8> {
        let mut out = head(5, entries.len() as u64);
        for (key, value) in entries {
            out.extend(key);
            out.extend(value);
        }
        out
    }
}

/// A security key in software: one P-256 credential, a signature counter.
struct SoftAuthenticator {
    key: EcKey<Private>,
    credential_id: Vec<u8>,
    counter: u32,
    /// The origin its browser is at.
    origin: String,
    /// The user handle it was registered with (base64url), which a
    /// discoverable passkey answers with.
    user_handle: std::cell::RefCell<Option<String>>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SoftAuthenticator {
    fn new(origin: &str) -> SoftAuthenticator {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        SoftAuthenticator {
            key: EcKey::generate(&group).unwrap(),
            credential_id: rand_bytes(32),
            counter: 0,
            origin: origin.to_owned(),
            user_handle: std::cell::RefCell::default(),
        }
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    fn cose_key(&self) -> Vec<u8> {
        let mut ctx = BigNumContext::new().unwrap();
        let (mut x, mut y) = (
            openssl::bn::BigNum::new().unwrap(),
            openssl::bn::BigNum::new().unwrap(),
        );
        self.key
            .public_key()
            .affine_coordinates(self.key.group(), &mut x, &mut y, &mut ctx)
            .unwrap();
        cbor::map(vec![
            (cbor::int(1), cbor::int(2)),
            (cbor::int(3), cbor::int(-7)),
            (cbor::int(-1), cbor::int(1)),
            (cbor::int(-2), cbor::bytes(&x.to_vec_padded(32).unwrap())),
            (cbor::int(-3), cbor::bytes(&y.to_vec_padded(32).unwrap())),
        ])
    }

    /// The answer to `navigator.credentials.create(options)`.
    fn register(&self, options: &Value) -> Value {
        let public_key = &options["publicKey"];
        *self.user_handle.borrow_mut() = public_key["user"]["id"].as_str().map(str::to_owned);
        let rp_id = public_key["rp"]["id"].as_str().unwrap();
        let client_data =
            self.client_data("webauthn.create", public_key["challenge"].as_str().unwrap());
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(0x45); // user present, user verified, attested credential data
        auth_data.extend(0u32.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(self.cose_key());
        let attestation = cbor::map(vec![
            (cbor::text("fmt"), cbor::text("none")),
            (cbor::text("attStmt"), cbor::map(vec![])),
            (cbor::text("authData"), cbor::bytes(&auth_data)),
        ]);
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(&client_data),
            },
            "extensions": {},
        })
    }

    /// The answer to `navigator.credentials.get(options)`.
    fn sign(&mut self, options: &Value) -> Value {
        let public_key = &options["publicKey"];
        let rp_id = public_key["rpId"].as_str().unwrap();
        self.counter += 1;
        let client_data =
            self.client_data("webauthn.get", public_key["challenge"].as_str().unwrap());
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(0x05); // user present, user verified
        auth_data.extend(self.counter.to_be_bytes());
        let key = PKey::from_ec_key(self.key.clone()).unwrap();
        let mut signer = Signer::new(MessageDigest::sha256(), &key).unwrap();
        signer.update(&auth_data).unwrap();
        signer.update(&Sha256::digest(&client_data)).unwrap();
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(&signer.sign_to_vec().unwrap()),
                "userHandle": self.user_handle.borrow().clone(),
            },
            "extensions": {},
        })
    }
}

fn rand_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    openssl::rand::rand_bytes(&mut bytes).unwrap();
    bytes
}

/// Where passkeys work for the test app (reached at 127.0.0.1): localhost.
fn passkey_origin(app: &TestApp) -> String {
    app.url("").replace("127.0.0.1", "localhost")
}

/// A new member of `org`, signed in.
async fn new_operator(app: &TestApp, org: &Organisation, email: &str) -> Client {
    expect_json(
        org.admin
            .post(
                "/api/v1/operators",
                json!({"email": email, "password": PASSWORD, "role": "MEMBER"}),
            )
            .await,
        201,
    )
    .await;
    app.sign_in(email, PASSWORD).await
}

/// Registers `authenticator` for `operator` as `name`; the stored passkey.
async fn register(operator: &Client, authenticator: &SoftAuthenticator, name: &str) -> Value {
    let challenge = expect_json(
        operator
            .post("/api/session/passkeys/registration", json!({}))
            .await,
        201,
    )
    .await;
    expect_json(
        operator
            .post(
                "/api/session/passkeys",
                json!({
                    "name": name,
                    "ceremonyId": challenge["ceremonyId"],
                    "credential": authenticator.register(&challenge["options"]),
                }),
            )
            .await,
        201,
    )
    .await
}

/// The password step; the pending cookie (`name=value`).
async fn password_step(app: &TestApp, email: &str) -> (Value, String) {
    let answer = app
        .anonymous()
        .post(
            "/api/session",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    let cookie = answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|value| value.starts_with("gridlink_pending="))
        .expect("a pending sign-in");
    let body = expect_json(answer, 202).await;
    (body, cookie.split(';').next().unwrap().to_owned())
}

async fn with_pending(app: &TestApp, pending: &str, path: &str, body: Value) -> reqwest::Response {
    app.anonymous()
        .request(reqwest::Method::POST, path)
        .header("cookie", pending)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A passkey challenge for the pending sign-in.
async fn challenge(app: &TestApp, pending: &str) -> Value {
    expect_json(
        with_pending(
            app,
            pending,
            "/api/session/second-factor/passkey",
            json!({}),
        )
        .await,
        201,
    )
    .await
}

async fn second_step(
    app: &TestApp,
    pending: &str,
    ceremony: &Value,
    answer: Value,
) -> reqwest::Response {
    with_pending(
        app,
        pending,
        "/api/session/second-factor",
        json!({"passkey": {"ceremonyId": ceremony["ceremonyId"], "credential": answer}}),
    )
    .await
}

async fn register_sign_in_and_remove(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.organisation("Passkey Co").await;
    let email = "passkeys@example.com";
    let operator = new_operator(&app, &org, email).await;
    let list = expect_json(operator.get("/api/session/passkeys").await, 200).await;
    assert_eq!(list["passkeys"], json!([]));
    assert_eq!(
        list["availableAt"],
        passkey_origin(&app).trim_end_matches('/')
    );
    assert_eq!(list["unavailable"], Value::Null);

    // The challenge names Gridlink, localhost and the operator.
    let started = expect_json(
        operator
            .post("/api/session/passkeys/registration", json!({}))
            .await,
        201,
    )
    .await;
    assert_eq!(started["options"]["publicKey"]["rp"]["id"], "localhost");
    assert_eq!(started["options"]["publicKey"]["rp"]["name"], "Gridlink");
    assert_eq!(started["options"]["publicKey"]["user"]["name"], email);

    let mut laptop = SoftAuthenticator::new(passkey_origin(&app).trim_end_matches('/'));
    let stored = register(&operator, &laptop, "  Work laptop ").await;
    assert_eq!(stored["name"], "Work laptop");
    let passkey_id = stored["id"].as_str().unwrap().to_owned();
    // The same authenticator again: refused.
    let again = operator
        .post("/api/session/passkeys/registration", json!({}))
        .await;
    let again = expect_json(again, 201).await;
    let excluded = again["options"]["publicKey"]["excludeCredentials"][0]["id"].clone();
    assert_eq!(excluded, b64(&laptop.credential_id));
    let duplicate = operator
        .post(
            "/api/session/passkeys",
            json!({"name": "Again", "ceremonyId": again["ceremonyId"], "credential": laptop.register(&again["options"])}),
        )
        .await;
    expect_json(duplicate, 409).await;

    // Signing in: the password, then the passkey.
    let (required, pending) = password_step(&app, email).await;
    assert_eq!(required["methods"], json!(["PASSKEY"]));
    let ceremony = challenge(&app, &pending).await;
    assert_eq!(
        ceremony["options"]["publicKey"]["allowCredentials"][0]["id"],
        b64(&laptop.credential_id)
    );
    let answer = laptop.sign(&ceremony["options"]);
    let signed_in = expect_json(
        second_step(&app, &pending, &ceremony, answer.clone()).await,
        200,
    )
    .await;
    assert_eq!(signed_in["operator"]["email"], email);
    // The same answer again (a replay): the ceremony and the pending sign-in are used up.
    let (_, pending) = password_step(&app, email).await;
    let replayed = second_step(&app, &pending, &ceremony, answer).await;
    assert_eq!(replayed.status().as_u16(), 422);
    let list = expect_json(operator.get("/api/session/passkeys").await, 200).await;
    assert!(list["passkeys"][0]["lastUsedAt"].is_string(), "{list}");

    // The sign-in history and the audit trail say how.
    let history = expect_json(operator.get("/api/session/history").await, 200).await;
    assert!(history
        .as_array()
        .unwrap()
        .iter()
        .any(|record| record["succeeded"] == true));
    let admin = &org.admin;
    let audit = expect_json(
        admin.get("/api/v1/audit-events?action=PASSKEY_ADDED").await,
        200,
    )
    .await;
    assert_eq!(audit["events"][0]["details"]["name"], "Work laptop");
    let audit = expect_json(
        admin
            .get("/api/v1/audit-events?action=SIGN_IN_SUCCEEDED")
            .await,
        200,
    )
    .await;
    assert!(
        audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|event| event["details"]["factor"] == "PASSKEY"),
        "{audit}"
    );

    // Removed: signing in takes the password alone again.
    let removed = operator
        .delete(&format!("/api/session/passkeys/{passkey_id}"))
        .await;
    assert_eq!(removed.status().as_u16(), 204);
    let audit = expect_json(
        admin
            .get("/api/v1/audit-events?action=PASSKEY_REMOVED")
            .await,
        200,
    )
    .await;
    assert_eq!(audit["events"][0]["details"]["name"], "Work laptop");
    let signed_in = app
        .anonymous()
        .post(
            "/api/session",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(signed_in.status().as_u16(), 200);
    app.stop().await.unwrap();
}

async fn hostile_answers_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let origin = passkey_origin(&app).trim_end_matches('/').to_owned();
    let org = app.organisation("Passkey Hostiles").await;
    let alice = new_operator(&app, &org, "alice@example.com").await;
    let bob = new_operator(&app, &org, "bob@example.com").await;
    let mut alices_key = SoftAuthenticator::new(&origin);
    let alices_passkey = register(&alice, &alices_key, "Alice's key").await;

    // A page at the address (not the name) cannot start a ceremony.
    let at_address = alice
        .request(reqwest::Method::POST, "/api/session/passkeys/registration")
        .header("origin", app.url("").trim_end_matches('/'))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let refusal = expect_json(at_address, 409).await;
    assert!(
        refusal["message"].as_str().unwrap().contains(&origin),
        "{refusal}"
    );

    // A registration answer from another origin, or with a bad name, or to no ceremony.
    let started = expect_json(
        alice
            .post("/api/session/passkeys/registration", json!({}))
            .await,
        201,
    )
    .await;
    let phishing = SoftAuthenticator::new("https://gridlink.example.net");
    let wrong_origin = alice
        .post(
            "/api/session/passkeys",
            json!({"name": "Phished", "ceremonyId": started["ceremonyId"], "credential": phishing.register(&started["options"])}),
        )
        .await;
    assert_eq!(
        expect_json(wrong_origin, 422).await["fields"][0]["field"],
        "credential"
    );
    let unnamed = alice
        .post(
            "/api/session/passkeys",
            json!({"name": " ", "ceremonyId": "wac_nothing", "credential": {}}),
        )
        .await;
    assert_eq!(
        expect_json(unnamed, 422).await["fields"][0]["field"],
        "name"
    );
    let no_ceremony = alice
        .post(
            "/api/session/passkeys",
            json!({"name": "Spare", "ceremonyId": "wac_nothing", "credential": SoftAuthenticator::new(&origin).register(&started["options"])}),
        )
        .await;
    assert_eq!(
        expect_json(no_ceremony, 422).await["fields"][0]["field"],
        "ceremonyId"
    );
    let not_webauthn = alice
        .post(
            "/api/session/passkeys",
            json!({"name": "Spare", "ceremonyId": "wac_nothing", "credential": {"id": 1}}),
        )
        .await;
    assert_eq!(
        expect_json(not_webauthn, 422).await["fields"][0]["field"],
        "credential"
    );

    // Bob cannot finish Alice's registration ceremony.
    let alices_ceremony = expect_json(
        alice
            .post("/api/session/passkeys/registration", json!({}))
            .await,
        201,
    )
    .await;
    let stolen = bob
        .post(
            "/api/session/passkeys",
            json!({"name": "Stolen", "ceremonyId": alices_ceremony["ceremonyId"], "credential": SoftAuthenticator::new(&origin).register(&alices_ceremony["options"])}),
        )
        .await;
    assert_eq!(
        expect_json(stolen, 422).await["fields"][0]["field"],
        "ceremonyId"
    );
    // Nor remove Alice's passkey.
    let not_his = bob
        .delete(&format!(
            "/api/session/passkeys/{}",
            alices_passkey["id"].as_str().unwrap()
        ))
        .await;
    expect_json(not_his, 404).await;

    // A tampered signature, then a cloned key whose counter went back.
    let (_, pending) = password_step(&app, "alice@example.com").await;
    let ceremony = challenge(&app, &pending).await;
    let mut tampered = alices_key.sign(&ceremony["options"]);
    tampered["response"]["signature"] = json!(b64(&rand_bytes(70)));
    let refused = expect_json(second_step(&app, &pending, &ceremony, tampered).await, 422).await;
    assert_eq!(refused["fields"][0]["field"], "passkey");
    let ceremony = challenge(&app, &pending).await;
    let signed = alices_key.sign(&ceremony["options"]);
    expect_json(second_step(&app, &pending, &ceremony, signed).await, 200).await;
    let (_, pending) = password_step(&app, "alice@example.com").await;
    let ceremony = challenge(&app, &pending).await;
    alices_key.counter -= 2; // a copy of the key that lags behind
    let cloned = alices_key.sign(&ceremony["options"]);
    expect_json(second_step(&app, &pending, &ceremony, cloned).await, 422).await;

    // A registration ceremony does not answer a sign-in (nor the reverse).
    let registration = expect_json(
        alice
            .post("/api/session/passkeys/registration", json!({}))
            .await,
        201,
    )
    .await;
    alices_key.counter += 5;
    let mixed = second_step(&app, &pending, &registration, alices_key.sign(&json!({"publicKey": {"rpId": "localhost", "challenge": registration["options"]["publicKey"]["challenge"]}}))).await;
    expect_json(mixed, 422).await;

    // Without a pending sign-in there is nothing to challenge; Bob has no passkey.
    let no_pending = app
        .anonymous()
        .post("/api/session/second-factor/passkey", json!({}))
        .await;
    expect_json(no_pending, 401).await;

    // An API key has no passkeys.
    for (method, path) in [
        (reqwest::Method::GET, "/api/session/passkeys"),
        (reqwest::Method::POST, "/api/session/passkeys/registration"),
    ] {
        let answer = org
            .api
            .request(method, path)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(
            [401, 403].contains(&answer.status().as_u16()),
            "{path}: {}",
            answer.status()
        );
    }
    app.stop().await.unwrap();
}

async fn a_passkey_satisfies_the_organisation_policy(backend: Backend) {
    let app = spawn_app(backend).await;
    let origin = passkey_origin(&app).trim_end_matches('/').to_owned();
    let org = app.organisation("Passkey Policy").await;
    let admin = &org.admin;
    let settings = expect_json(admin.get("/api/v1/organisation").await, 200).await;
    let mut change = settings.clone();
    change["requireSecondFactor"] = json!(true);
    // Not before the admin has a factor of their own; a passkey counts.
    expect_json(admin.put("/api/v1/organisation", change.clone()).await, 422).await;
    register(admin, &SoftAuthenticator::new(&origin), "Admin key").await;
    expect_json(admin.put("/api/v1/organisation", change).await, 200).await;
    // A member without one is sent to set one up; a passkey lets them in.
    let member = new_operator(&app, &org, "member@example.com").await;
    let session = expect_json(member.get("/api/session").await, 200).await;
    assert_eq!(session["mustSetUpSecondFactor"], true);
    expect_json(member.get("/api/v1/credentials").await, 403).await;
    register(&member, &SoftAuthenticator::new(&origin), "Phone").await;
    let session = expect_json(member.get("/api/session").await, 200).await;
    assert_eq!(session["mustSetUpSecondFactor"], false);
    expect_json(member.get("/api/v1/credentials").await, 200).await;
    app.stop().await.unwrap();
}

async fn a_passkey_alone_signs_in_where_the_organisation_allows(backend: Backend) {
    let app = spawn_app(backend).await;
    let origin = passkey_origin(&app).trim_end_matches('/').to_owned();
    let org = app.organisation("Passwordless Co").await;
    let email = "passwordless@example.com";
    let operator = new_operator(&app, &org, email).await;
    let mut key = SoftAuthenticator::new(&origin);
    let started = expect_json(
        operator
            .post("/api/session/passkeys/registration", json!({}))
            .await,
        201,
    )
    .await;
    assert_eq!(
        started["options"]["publicKey"]["authenticatorSelection"]["residentKey"],
        "preferred"
    );
    register(&operator, &key, "Laptop").await;

    let sign_in = |answer: Value, ceremony: &Value| {
        let body = json!({"ceremonyId": ceremony["ceremonyId"], "credential": answer});
        let app = &app;
        async move { app.anonymous().post("/api/session/passkey", body).await }
    };
    let challenge = || async {
        expect_json(
            app.anonymous()
                .post("/api/session/passkey/challenge", json!({}))
                .await,
            201,
        )
        .await
    };
    // Not allowed yet: refused, and the trail says so.
    let ceremony = challenge().await;
    assert_eq!(
        ceremony["options"]["publicKey"]["allowCredentials"],
        json!([])
    );
    let refused = expect_json(
        sign_in(key.sign(&ceremony["options"]), &ceremony).await,
        403,
    )
    .await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("password first"),
        "{refused}"
    );
    let failed = expect_json(
        org.admin
            .get("/api/v1/audit-events?action=SIGN_IN_FAILED")
            .await,
        200,
    )
    .await;
    assert_eq!(failed["events"][0]["details"]["factor"], "PASSKEY_ALONE");

    let mut settings = expect_json(org.admin.get("/api/v1/organisation").await, 200).await;
    settings["allowPasskeySignIn"] = json!(true);
    expect_json(org.admin.put("/api/v1/organisation", settings).await, 200).await;
    let ceremony = challenge().await;
    let answer = key.sign(&ceremony["options"]);
    let session = expect_json(sign_in(answer.clone(), &ceremony).await, 200).await;
    assert_eq!(session["operator"]["email"], email);
    // The same answer again: the ceremony is used up.
    expect_json(sign_in(answer, &ceremony).await, 401).await;
    // An answer claiming another operator's user handle.
    let ceremony = challenge().await;
    *key.user_handle.borrow_mut() = Some(b64(&[7u8; 16]));
    expect_json(
        sign_in(key.sign(&ceremony["options"]), &ceremony).await,
        401,
    )
    .await;
    // A key nobody registered.
    let ceremony = challenge().await;
    let stranger = SoftAuthenticator::new(&origin);
    *stranger.user_handle.borrow_mut() = Some(b64(&[9u8; 16]));
    let mut stranger = stranger;
    expect_json(
        sign_in(stranger.sign(&ceremony["options"]), &ceremony).await,
        401,
    )
    .await;
    app.stop().await.unwrap();
}

database_tests!(
    a_passkey_alone_signs_in_where_the_organisation_allows,
    register_sign_in_and_remove,
    hostile_answers_are_refused,
    a_passkey_satisfies_the_organisation_policy,
);
