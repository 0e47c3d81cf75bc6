//! The outbox: every code the sandbox "sent", newest first, as JSON and as a page.

use axum::extract::State;
use axum::response::Html;
use serde::Deserialize;

use super::error::{Json, Query};
use super::pages::{escape, page};
use super::state::{OutboxEntry, Sandbox};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutboxFilter {
    pub username: Option<String>,
    /// A utility id, e.g. `sandbox-electric`.
    pub utility: Option<String>,
}

fn entries(sandbox: &Sandbox, filter: &OutboxFilter) -> Vec<OutboxEntry> {
    let data = sandbox.lock();
    data.outbox
        .iter()
        .rev()
        .filter(|entry| {
            filter
                .username
                .as_ref()
                .is_none_or(|username| &entry.username == username)
        })
        .filter(|entry| {
            filter
                .utility
                .as_ref()
                .is_none_or(|utility| &entry.utility_id == utility)
        })
        .cloned()
        .collect()
}

pub async fn outbox_json(
    State(sandbox): State<Sandbox>,
    Query(filter): Query<OutboxFilter>,
) -> Json<Vec<OutboxEntry>> {
    Json(entries(&sandbox, &filter))
}

pub async fn outbox_page(
    State(sandbox): State<Sandbox>,
    Query(filter): Query<OutboxFilter>,
) -> Html<String> {
    let entries = entries(&sandbox, &filter);
    let body = if entries.is_empty() {
        "<p>No codes sent yet. Log in as <code>user_good</code> at a utility with MFA and choose a method.</p>".to_owned()
    } else {
        let rows: String = entries
            .iter()
            .map(|entry| {
                format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"code\">{}</td><td>{}</td></tr>",
                    escape(&entry.utility),
                    escape(&entry.username),
                    escape(&entry.method),
                    escape(&entry.destination),
                    escape(&entry.code),
                    entry
                        .sent_at
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default()
                )
            })
            .collect();
        format!(
            "<table><caption>Codes sent, newest first</caption><thead><tr><th scope=\"col\">Utility</th><th scope=\"col\">Login</th><th scope=\"col\">Method</th><th scope=\"col\">Destination</th><th scope=\"col\">Code</th><th scope=\"col\">Sent at (UTC)</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    Html(page(
        "Outbox",
        &format!("<p><a href=\"/\">← Sandbox utilities</a> · Reload to see new codes. JSON: <a href=\"/api/outbox\">/api/outbox</a></p>{body}"),
    ))
}
