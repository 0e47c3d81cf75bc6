//! `gridlink conformance`: runs the protocol's scenarios against a utility
//! adapter and says, check by check, whether it behaves as Gridlink expects
//! (`docs/utility-protocol.md`). Each failure shows what was sent and what
//! came back. The scenario logins are options, so the kit runs against a
//! real adapter's test accounts as well as against the sandbox.

use std::time::Duration;

use reqwest::{Method, Url};
use serde_json::{json, Value};

use crate::infra::utility::signing;
use crate::infra::webhook_signing::SigningSecret;

/// What to test, and with which logins.
#[derive(Debug, Clone)]
pub struct Options {
    pub url: Url,
    pub secret: Option<SigningSecret>,
    /// The utility to test; default: the first one the catalogue lists with a code method.
    pub utility: Option<String>,
    /// Where the codes "sent" can be read (`[{"code"…}]`, newest first), as the sandbox's outbox.
    pub outbox_url: Option<Url>,
    /// A test hook that moves the adapter's clock (`POST {"seconds"}`, as the
    /// sandbox's `/api/admin/clock/advance`), to check that codes expire.
    pub clock_url: Option<Url>,
    pub logins: Logins,
}

/// The scenario logins at the adapter (the sandbox's by default).
#[derive(Debug, Clone)]
pub struct Logins {
    pub password: String,
    pub with_mfa: String,
    pub without_mfa: String,
    pub locked: String,
    pub unavailable: String,
}

impl Default for Logins {
    fn default() -> Self {
        Logins {
            password: "pass_good".into(),
            with_mfa: "user_good".into(),
            without_mfa: "user_nomfa".into(),
            locked: "user_locked".into(),
            unavailable: "user_down".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail(String),
    Skipped(String),
}

#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub outcome: Outcome,
}

/// Every check, in order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn failures(&self) -> Vec<&Check> {
        self.checks
            .iter()
            .filter(|check| matches!(check.outcome, Outcome::Fail(_)))
            .collect()
    }

    fn record(&mut self, name: &'static str, outcome: Result<(), String>) {
        self.checks.push(Check {
            name,
            outcome: match outcome {
                Ok(()) => Outcome::Pass,
                Err(detail) => Outcome::Fail(detail),
            },
        });
    }

    fn skip(&mut self, name: &'static str, why: &str) {
        self.checks.push(Check {
            name,
            outcome: Outcome::Skipped(why.to_owned()),
        });
    }

    /// The table printed by the command.
    pub fn table(&self) -> String {
        let mut out = String::new();
        for check in &self.checks {
            let line = match &check.outcome {
                Outcome::Pass => format!("PASS  {}", check.name),
                Outcome::Fail(detail) => format!(
                    "FAIL  {}\n      {}",
                    check.name,
                    detail.replace('\n', "\n      ")
                ),
                Outcome::Skipped(why) => format!("SKIP  {}  ({why})", check.name),
            };
            out.push_str(&line);
            out.push('\n');
        }
        let failed = self.failures().len();
        out.push_str(&format!(
            "{} checks: {} passed, {failed} failed, {} skipped\n",
            self.checks.len(),
            self.checks
                .iter()
                .filter(|c| c.outcome == Outcome::Pass)
                .count(),
            self.checks
                .iter()
                .filter(|c| matches!(c.outcome, Outcome::Skipped(_)))
                .count(),
        ));
        out
    }
}

/// One exchange, kept to show it when a check fails.
struct Exchange {
    sent: String,
    status: u16,
    body: Value,
}

impl Exchange {
    fn describe(&self) -> String {
        format!(
            "sent: {}\nreceived: HTTP {} {}",
            self.sent, self.status, self.body
        )
    }

    fn error_kind(&self) -> Option<&str> {
        self.body["error"].as_str()
    }
}

struct Adapter {
    client: reqwest::Client,
    options: Options,
}

/// How a request is signed.
#[derive(Clone, Copy)]
enum Signing {
    Proper,
    None,
    Stale,
}

impl Adapter {
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
        how: Signing,
    ) -> Result<Exchange, String> {
        let url = self
            .options
            .url
            .join(path.trim_start_matches('/'))
            .map_err(|e| e.to_string())?;
        let bytes = body
            .as_ref()
            .map(|b| b.to_string().into_bytes())
            .unwrap_or_default();
        let mut request = self.client.request(method.clone(), url.clone());
        if let Some(secret) = &self.options.secret {
            let now = signing::now_seconds();
            let at = match how {
                Signing::Proper => Some(now),
                Signing::Stale => Some(now - 2 * signing::TOLERANCE_SECONDS),
                Signing::None => None,
            };
            if let Some(at) = at {
                request = signing::sign(request, secret, &method, &url, &bytes, at);
            }
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if body.is_some() {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes);
        }
        let sent = format!(
            "{method} {path}{}",
            body.map(|b| format!(" {}", redact(&b))).unwrap_or_default()
        );
        let response = request
            .send()
            .await
            .map_err(|error| format!("sent: {sent}\nno answer: {error}"))?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok(Exchange { sent, status, body })
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Result<Exchange, String> {
        self.call(Method::GET, path, None, token, Signing::Proper)
            .await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Exchange, String> {
        self.call(Method::POST, path, Some(body), None, Signing::Proper)
            .await
    }

    async fn login(
        &self,
        utility: &str,
        username: &str,
        password: &str,
    ) -> Result<Exchange, String> {
        self.post(
            &format!("/api/utilities/{utility}/login"),
            json!({"username": username, "password": password}),
        )
        .await
    }

    async fn latest_code(&self, utility: &str, username: &str) -> Option<String> {
        let outbox = self.options.outbox_url.clone()?;
        let mut url = outbox;
        url.query_pairs_mut()
            .append_pair("utility", utility)
            .append_pair("username", username);
        let entries: Value = self.client.get(url).send().await.ok()?.json().await.ok()?;
        entries[0]["code"].as_str().map(str::to_owned)
    }
}

/// Never show a password in a report.
fn redact(body: &Value) -> Value {
    let mut body = body.clone();
    if body.get("password").is_some() {
        body["password"] = json!("•••");
    }
    body
}

fn expect(condition: bool, exchange: &Exchange, what: &str) -> Result<(), String> {
    if condition {
        Ok(())
    } else {
        Err(format!("expected {what}\n{}", exchange.describe()))
    }
}

fn expect_error(exchange: &Exchange, kind: &str) -> Result<(), String> {
    expect(
        !(200..300).contains(&exchange.status)
            && exchange.error_kind() == Some(kind)
            && exchange.body["message"].is_string(),
        exchange,
        &format!("a non-2xx answer with {{\"error\": \"{kind}\", \"message\": …}}"),
    )
}

/// A token's expiry: an RFC 3339 time, or left out when the utility does not say.
fn is_time_or_absent(value: &Value) -> bool {
    value.is_null() || is_time(value)
}

/// A token's idle timeout: a whole number of seconds above zero, or left out
/// when the utility does not say.
fn is_idle_timeout_or_absent(value: &Value) -> bool {
    value.is_null() || value.as_u64().is_some_and(|seconds| seconds > 0)
}

fn is_time(value: &Value) -> bool {
    value.as_str().is_some_and(|text| {
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).is_ok()
    })
}

fn is_date(value: &Value) -> bool {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    value
        .as_str()
        .is_some_and(|text| time::Date::parse(text, &format).is_ok())
}

/// Runs every scenario and reports each check.
pub async fn run(options: Options) -> Report {
    let adapter = Adapter {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("a plain HTTP client builds"),
        options,
    };
    let mut report = Report::default();
    let logins = adapter.options.logins.clone();

    // The catalogue.
    let catalogue = adapter.get("/api/utilities", None).await;
    let utilities: Vec<Value> = match &catalogue {
        Ok(exchange) => exchange.body.as_array().cloned().unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    report.record(
        "catalogue lists utilities with id, name, mfaMethods and tokenLifetimeDays",
        catalogue
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|exchange| {
                let shaped = !utilities.is_empty()
                    && utilities.iter().all(|u| {
                        u["id"].is_string()
                            && u["name"].is_string()
                            && u["mfaMethods"].is_array()
                            && u.get("tokenLifetimeDays")
                                .is_some_and(|days| days.is_u64() || days.is_null())
                    });
                let mut ids: Vec<&str> =
                    utilities.iter().filter_map(|u| u["id"].as_str()).collect();
                ids.sort_unstable();
                let before = ids.len();
                ids.dedup();
                expect(
                    exchange.status == 200 && shaped && before == ids.len(),
                    exchange,
                    "200 and a non-empty list of well-formed utilities with unique ids",
                )
            }),
    );
    let utility = adapter.options.utility.clone().or_else(|| {
        utilities
            .iter()
            .find(|u| {
                u["mfaMethods"].as_array().is_some_and(|m| {
                    m.iter()
                        .any(|m| ["sms", "call", "email"].contains(&m.as_str().unwrap_or("")))
                })
            })
            .and_then(|u| u["id"].as_str())
            .map(str::to_owned)
    });
    let Some(utility) = utility else {
        report.skip(
            "every other check",
            "no utility with a code method to test (pass --utility)",
        );
        return report;
    };

    // Signatures.
    if adapter.options.secret.is_some() {
        for (name, how) in [
            (
                "an unsigned call is refused with 401 unauthorized",
                Signing::None,
            ),
            (
                "a call signed more than 5 minutes ago is refused",
                Signing::Stale,
            ),
        ] {
            let outcome = match adapter
                .call(Method::GET, "/api/utilities", None, None, how)
                .await
            {
                Ok(exchange) => expect(
                    exchange.status == 401 && exchange.error_kind() == Some("unauthorized"),
                    &exchange,
                    "401 with {\"error\": \"unauthorized\"}",
                ),
                Err(error) => Err(error),
            };
            report.record(name, outcome);
        }
    } else {
        report.skip(
            "an unsigned call is refused with 401 unauthorized",
            "no secret given",
        );
    }

    // Logins.
    let nomfa = adapter
        .login(&utility, &logins.without_mfa, &logins.password)
        .await;
    let token = nomfa
        .as_ref()
        .ok()
        .and_then(|e| e.body["sessionToken"].as_str().map(str::to_owned));
    report.record(
        "a login without MFA is authenticated with a session token and its expiry",
        nomfa.and_then(|e| {
            expect(
                e.status == 200
                    && e.body["result"] == "authenticated"
                    && token.is_some()
                    && is_time_or_absent(&e.body["expiresAt"])
                    && is_idle_timeout_or_absent(&e.body["idleTimeoutSeconds"]),
                &e,
                "200 {\"result\": \"authenticated\", \"sessionToken\", \"expiresAt\" (optional), \"idleTimeoutSeconds\" (optional, > 0)}",
            )
        }),
    );
    report.record(
        "a wrong password is invalid_credentials",
        adapter
            .login(&utility, &logins.without_mfa, "not-the-password-42")
            .await
            .and_then(|e| expect_error(&e, "invalid_credentials")),
    );
    report.record(
        "a locked account is account_locked",
        adapter
            .login(&utility, &logins.locked, &logins.password)
            .await
            .and_then(|e| expect_error(&e, "account_locked")),
    );
    report.record(
        "a utility that is down answers unavailable",
        adapter
            .login(&utility, &logins.unavailable, &logins.password)
            .await
            .and_then(|e| {
                expect(
                    e.status >= 500 && e.error_kind() == Some("unavailable"),
                    &e,
                    "a 5xx with {\"error\": \"unavailable\"}",
                )
            }),
    );
    report.record(
        "an unknown utility is unknown_utility",
        adapter
            .login("no-such-utility-42", &logins.without_mfa, &logins.password)
            .await
            .and_then(|e| expect_error(&e, "unknown_utility")),
    );

    // MFA: each method the login offers, sent and verified.
    let first = adapter
        .login(&utility, &logins.with_mfa, &logins.password)
        .await;
    let methods: Vec<String> = first
        .as_ref()
        .ok()
        .and_then(|e| e.body["methods"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m["method"].as_str().map(str::to_owned))
        .filter(|m| ["sms", "call", "email"].contains(&m.as_str()))
        .collect();
    report.record(
        "a login with MFA answers mfa_required with a challenge and masked destinations",
        first.and_then(|e| {
            let methods_shaped = e.body["methods"].as_array().is_some_and(|m| !m.is_empty() && m.iter().all(|m| m["method"].is_string()));
            expect(e.status == 200 && e.body["result"] == "mfa_required" && e.body["challengeId"].is_string() && methods_shaped && is_time(&e.body["challengeExpiresAt"]), &e, "200 {\"result\": \"mfa_required\", \"challengeId\", \"methods\": [{\"method\", \"destination\"}], \"challengeExpiresAt\"}")
        }),
    );
    let mut session = None;
    for method in &methods {
        let name: &'static str = match method.as_str() {
            "sms" => "a code sent by sms verifies into a session",
            "call" => "a code sent by call verifies into a session",
            _ => "a code sent by email verifies into a session",
        };
        let outcome = async {
            let login = adapter
                .login(&utility, &logins.with_mfa, &logins.password)
                .await?;
            let challenge = login.body["challengeId"]
                .as_str()
                .ok_or_else(|| format!("no challengeId\n{}", login.describe()))?
                .to_owned();
            let sent = adapter
                .post(
                    &format!("/api/utilities/{utility}/mfa/{challenge}/send"),
                    json!({"method": method}),
                )
                .await?;
            expect(
                sent.status == 200
                    && sent.body["method"] == method.as_str()
                    && sent.body["destination"].is_string()
                    && is_time(&sent.body["codeExpiresAt"])
                    && sent.body["sendsLeft"].is_u64(),
                &sent,
                "200 {\"method\", \"destination\", \"codeExpiresAt\", \"sendsLeft\"}",
            )?;
            let Some(code) = adapter.latest_code(&utility, &logins.with_mfa).await else {
                return Err("cannot read the code sent: give --outbox-url".to_owned());
            };
            let wrong = if code == "000000" { "111111" } else { "000000" };
            let refused = adapter
                .post(
                    &format!("/api/utilities/{utility}/mfa/{challenge}/verify"),
                    json!({"code": wrong}),
                )
                .await?;
            expect_error(&refused, "wrong_code")?;
            expect(
                refused.body["attemptsLeft"].is_u64(),
                &refused,
                "attemptsLeft with wrong_code",
            )?;
            let verified = adapter
                .post(
                    &format!("/api/utilities/{utility}/mfa/{challenge}/verify"),
                    json!({"code": code}),
                )
                .await?;
            expect(
                verified.status == 200
                    && verified.body["sessionToken"].is_string()
                    && is_time_or_absent(&verified.body["expiresAt"])
                    && is_idle_timeout_or_absent(&verified.body["idleTimeoutSeconds"]),
                &verified,
                "200 {\"sessionToken\", \"expiresAt\" (optional), \"idleTimeoutSeconds\" (optional, > 0)}",
            )?;
            session = verified.body["sessionToken"].as_str().map(str::to_owned);
            Ok(())
        }
        .await;
        report.record(name, outcome);
    }
    if methods.is_empty() {
        report.skip(
            "a code sent by each method verifies into a session",
            "the login offered no code method",
        );
    }
    report.record(
        "a method the login does not offer is method_not_offered",
        async {
            let login = adapter
                .login(&utility, &logins.with_mfa, &logins.password)
                .await?;
            let challenge = login.body["challengeId"]
                .as_str()
                .unwrap_or("none")
                .to_owned();
            let offered: Vec<&str> = login.body["methods"]
                .as_array()
                .map(|m| m.iter().filter_map(|m| m["method"].as_str()).collect())
                .unwrap_or_default();
            let Some(missing) = ["sms", "call", "email"]
                .into_iter()
                .find(|m| !offered.contains(m))
            else {
                return Ok(());
            };
            let sent = adapter
                .post(
                    &format!("/api/utilities/{utility}/mfa/{challenge}/send"),
                    json!({"method": missing}),
                )
                .await?;
            expect_error(&sent, "method_not_offered")
        }
        .await,
    );
    report.record(
        "an unknown challenge is challenge_not_found",
        adapter
            .post(
                &format!("/api/utilities/{utility}/mfa/no-such-challenge-42/verify"),
                json!({"code": "123456"}),
            )
            .await
            .and_then(|e| expect_error(&e, "challenge_not_found")),
    );

    // Data with a session.
    match token.or(session) {
        Some(token) => {
            let accounts = adapter
                .get(&format!("/api/utilities/{utility}/accounts"), Some(&token))
                .await;
            let first_account = accounts
                .as_ref()
                .ok()
                .and_then(|e| e.body[0]["accountNumber"].as_str().map(str::to_owned));
            report.record(
                "accounts have an accountNumber, a serviceAddress and a fuel",
                accounts.and_then(|e| {
                    let shaped = e.body.as_array().is_some_and(|list| {
                        !list.is_empty()
                            && list.iter().all(|a| {
                                a["accountNumber"].is_string()
                                    && a["serviceAddress"].is_string()
                                    && ["electricity", "gas", "water"]
                                        .contains(&a["fuel"].as_str().unwrap_or(""))
                            })
                    });
                    expect(
                        e.status == 200 && shaped,
                        &e,
                        "200 and a non-empty list of accounts",
                    )
                }),
            );
            match first_account {
                Some(account) => report.record(
                    "statements are well formed, each with a stable unique id",
                    adapter.get(&format!("/api/utilities/{utility}/accounts/{account}/statements"), Some(&token)).await.and_then(|e| {
                        let list = e.body.as_array().cloned().unwrap_or_default();
                        let shaped = list.iter().all(|s| {
                            s["id"].is_string() && s["accountNumber"] == account.as_str() && is_date(&s["periodStart"]) && is_date(&s["periodEnd"]) && s["usage"].is_number() && ["kWh", "therms", "gallons"].contains(&s["usageUnit"].as_str().unwrap_or("")) && s["amountCents"].is_i64() && s["currency"].is_string()
                        });
                        let mut ids: Vec<&str> = list.iter().filter_map(|s| s["id"].as_str()).collect();
                        ids.sort_unstable();
                        let count = ids.len();
                        ids.dedup();
                        expect(e.status == 200 && shaped && count == ids.len(), &e, "200 and statements with id, accountNumber, periodStart, periodEnd, usage, usageUnit, amountCents, currency; ids unique")
                    }),
                ),
                None => report.skip("statements are well formed, each with a stable unique id", "no account to read"),
            }
        }
        None => report.skip(
            "accounts have an accountNumber, a serviceAddress and a fuel",
            "no session token from the logins",
        ),
    }
    // Last, as it moves the adapter's clock: a code past its lifetime.
    match adapter.options.clock_url.clone() {
        None => report.skip(
            "an expired code is code_expired",
            "no --clock-url to move the adapter's clock",
        ),
        Some(clock) => {
            let outcome = async {
                let login = adapter.login(&utility, &logins.with_mfa, &logins.password).await?;
                let challenge = login.body["challengeId"].as_str().unwrap_or("none").to_owned();
                let method = methods.first().cloned().unwrap_or_else(|| "sms".into());
                let sent = adapter.post(&format!("/api/utilities/{utility}/mfa/{challenge}/send"), json!({"method": method})).await?;
                expect(sent.status == 200, &sent, "200 for the send")?;
                let code = adapter.latest_code(&utility, &logins.with_mfa).await.ok_or("cannot read the code sent: give --outbox-url")?;
                let moved = adapter.client.post(clock).json(&json!({"seconds": 11 * 60})).send().await.map_err(|error| format!("cannot move the clock: {error}"))?;
                if !moved.status().is_success() {
                    return Err(format!("the clock hook answered HTTP {}", moved.status()));
                }
                let late = adapter.post(&format!("/api/utilities/{utility}/mfa/{challenge}/verify"), json!({"code": code})).await?;
                expect(
                    !(200..300).contains(&late.status) && matches!(late.error_kind(), Some("code_expired" | "challenge_not_found")),
                    &late,
                    "code_expired (or challenge_not_found) for a code used 11 minutes after it was sent",
                )
            }
            .await;
            report.record("an expired code is code_expired", outcome);
        }
    }
    report.record(
        "a token the adapter never issued is invalid_token or token_expired",
        adapter
            .get(
                &format!("/api/utilities/{utility}/accounts"),
                Some("not-a-real-token-42"),
            )
            .await
            .and_then(|e| {
                expect(
                    !(200..300).contains(&e.status)
                        && matches!(e.error_kind(), Some("invalid_token" | "token_expired")),
                    &e,
                    "a non-2xx answer with invalid_token or token_expired",
                )
            }),
    );
    report
}
