//! The sandbox's index page: its utilities, scenario logins and endpoints.

use axum::response::Html;

use super::catalog::{MfaPolicy, TokenLifetime, GOOD_PASSWORD, SCENARIOS, UTILITIES};

pub use crate::infra::html::escape;

/// A complete, self-contained page (no scripts, inline styles only).
pub fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} · Gridlink sandbox</title><style>
body{{font-family:system-ui,sans-serif;margin:0 auto;padding:1.5rem;max-width:60rem;color:#15202b;background:#f6f7f9;line-height:1.5}}
table{{border-collapse:collapse;width:100%;background:#fff;margin:1rem 0}}th,td{{border:1px solid #d5dbe3;padding:.4rem .6rem;text-align:left}}
caption{{text-align:left;font-weight:600;padding:.3rem 0}}code,.code{{font-family:ui-monospace,monospace}}.code{{font-size:1.2rem;font-weight:700}}a{{color:#1b5fd1}}
.mail{{background:#fff;border:1px solid #d5dbe3;padding:.2rem 1rem;margin:1rem 0}}.mail h2{{font-size:1.1rem}}pre{{white-space:pre-wrap;font-family:inherit}}
</style></head><body><main><h1>{title}</h1>{body}</main></body></html>"#
    )
}

pub async fn index() -> Html<String> {
    let utilities: String = UTILITIES
        .iter()
        .map(|utility| {
            let mfa = match utility.mfa {
                MfaPolicy::None => "None".to_owned(),
                MfaPolicy::Codes(methods) => methods
                    .iter()
                    .map(|m| m.to_uppercase())
                    .collect::<Vec<_>>()
                    .join(", "),
                MfaPolicy::SecurityQuestions => {
                    "Security questions (unsupported by Gridlink)".to_owned()
                }
            };
            format!(
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                escape(utility.name),
                utility.id,
                mfa,
                match utility.token_lifetime {
                    TokenLifetime::Stated(days) => format!("{days} days"),
                    TokenLifetime::Unstated { min_days, max_days } => format!(
                        "Not stated: each token is refused after {min_days} to {max_days} days"
                    ),
                }
            )
        })
        .collect();
    let scenarios: String = SCENARIOS
        .iter()
        .map(|(username, _, description)| {
            format!(
                "<tr><td><code>{username}</code></td><td>{}</td></tr>",
                escape(description)
            )
        })
        .collect();
    Html(page(
        "Sandbox utilities",
        &format!(
            r#"<p>Simulated utilities that behave like real ones over HTTP: logins, MFA codes, session tokens that expire, accounts and monthly bills. Codes are not really sent: they appear in the <a href="/outbox">outbox</a>. Mail Gridlink sends (update links, reminders, operator invitations) is caught by the sandbox's SMTP listener and shown on the <a href="/mail">Mail</a> page.</p>
<table><caption>Utilities</caption><thead><tr><th scope="col">Name</th><th scope="col">Id</th><th scope="col">MFA</th><th scope="col">Token lifetime</th></tr></thead><tbody>{utilities}</tbody></table>
<table><caption>Scenario logins (the same at every utility; password <code>{GOOD_PASSWORD}</code>, any other password is wrong)</caption><thead><tr><th scope="col">Username</th><th scope="col">Behaviour</th></tr></thead><tbody>{scenarios}</tbody></table>
<h2>Rules</h2><ul><li>A code is valid for 10 minutes; resending gives the same code while it is valid; at most 5 sends per login attempt.</li><li>5 wrong codes lock the login for 15 minutes.</li><li>A login attempt waiting for its code expires after 30 minutes.</li></ul>
<h2>Admin endpoints</h2><ul>
<li><code>POST /api/admin/expire-tokens</code> <code>{{"username": "user_good", "utility": "sandbox-electric"}}</code> (utility optional): expire that login's tokens now.</li>
<li><code>POST /api/admin/utilities/{{id}}/faults</code> <code>{{"down": true, "latencyMs": 2000, "failureRate": 0.3, "failNext": 2}}</code>: set faults (<code>{{}}</code> clears them).</li>
<li><code>POST /api/admin/clock/advance</code> <code>{{"seconds": 600}}</code>: move the sandbox clock forward.</li>
<li><code>POST /api/admin/reset</code>: forget every session, code, lockout and fault.</li>
<li><code>GET /api/outbox?username=&amp;utility=</code>: the codes sent, newest first.</li>
<li><code>GET /api/mail?to=</code>: the mail caught, newest first (<code>to</code>, <code>subject</code>, <code>text</code>, <code>html</code>, <code>sentAt</code>).</li>
<li><code>POST /api/admin/mail/outage {{"down": true}}</code>: the mail catcher turns every connection away until switched off; recipients starting with <code>bounce</code> are refused for good.</li></ul>"#
        ),
    ))
}
