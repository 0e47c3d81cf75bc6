//! The audit log (admins): who did what to what, when and from where, newest
//! first, narrowed by action, actor and time, with a CSV export of the same.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use shared::audit::{AuditAction, AuditEvent};
use shared::operators::Role;
use shared::routes;

use super::{format_time, operator, Operator};
use crate::components::loading::{ErrorAlert, Loaded};

#[component]
pub fn AuditLog() -> impl IntoView {
    let Operator { session, .. } = operator();
    if session.operator.role != Role::Admin {
        return view! {
            <div class="page-header"><h1>"Audit log"</h1></div>
            <p class="alert alert-info">"Only an organisation admin can read the audit log."</p>
        }
        .into_any();
    }
    view! {
        <div class="page-header">
            <h1>"Audit log"</h1>
            <p class="muted">"Every sign-in and every change to your organisation's setup, credentials and links: who, from where and when. Records are kept for the server's retention (400 days unless set)."</p>
        </div>
        <AuditSection />
    }
    .into_any()
}

#[component]
fn AuditSection() -> impl IntoView {
    let Operator { api, .. } = operator();
    let action = RwSignal::new(String::new());
    let actor = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    // The filters as a query string; dates are whole days in UTC.
    let filters = move || {
        let mut query = Vec::new();
        if !action.get().is_empty() {
            query.push(format!("action={}", action.get()));
        }
        let actor = actor.get();
        if !actor.trim().is_empty() {
            query.push(format!(
                "actor={}",
                js_sys::encode_uri_component(actor.trim())
            ));
        }
        for (name, day) in [("from", from.get()), ("to", to.get())] {
            if !day.is_empty() {
                query.push(format!("{name}={day}T00:00:00Z"));
            }
        }
        query.join("&")
    };
    let older = RwSignal::new(Vec::<AuditEvent>::new());
    let cursor = RwSignal::new(None::<String>);
    let failure = RwSignal::new(None::<String>);
    let first_page = LocalResource::new(move || {
        let filters = filters();
        let api = api.get_value();
        async move {
            let page = api.audit_events(&filters, None).await;
            older.set(Vec::new());
            cursor.set(page.as_ref().ok().and_then(|page| page.next_cursor.clone()));
            page
        }
    });
    let load_older = move |_| {
        let Some(before) = cursor.get_untracked() else {
            return;
        };
        let filters = filters();
        spawn_local(async move {
            match api.get_value().audit_events(&filters, Some(&before)).await {
                Ok(page) => {
                    older.update(|rows| rows.extend(page.events));
                    cursor.set(page.next_cursor);
                }
                Err(error) => failure.set(Some(error.message())),
            }
        });
    };
    let export_href = move || {
        format!(
            "{}?{}",
            routes::api(routes::v1::AUDIT_EVENTS_EXPORT),
            filters()
        )
    };
    view! {
        <section class="card" aria-labelledby="audit-title">
            <div class="card-header-row">
                <h2 id="audit-title" class="card-title">"Records"</h2>
                <a class="button button-secondary" href=export_href download="audit-log.csv">"Export CSV"</a>
            </div>
            {move || failure.get().map(|message| view! { <ErrorAlert message /> })}
            <div class="toolbar">
                <div class="field inline">
                    <label class="field-label" for="audit-action">"Action"</label>
                    <select class="input" id="audit-action" prop:value=move || action.get()
                        on:change=move |e| action.set(event_target_value(&e))>
                        <option value="">"All actions"</option>
                        {AuditAction::ALL.into_iter().map(|kind| view! { <option value=kind.as_str()>{kind.label()}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field inline">
                    <label class="field-label" for="audit-actor">"Actor"</label>
                    <input class="input" id="audit-actor" type="search" placeholder="Email or API key name"
                        prop:value=move || actor.get() on:change=move |e| actor.set(event_target_value(&e)) />
                </div>
                <div class="field inline">
                    <label class="field-label" for="audit-from">"From"</label>
                    <input class="input" id="audit-from" type="date"
                        prop:value=move || from.get() on:change=move |e| from.set(event_target_value(&e)) />
                </div>
                <div class="field inline">
                    <label class="field-label" for="audit-to">"Before"</label>
                    <input class="input" id="audit-to" type="date"
                        prop:value=move || to.get() on:change=move |e| to.set(event_target_value(&e)) />
                </div>
            </div>
            <Loaded resource=first_page label="Loading the audit log…" let:loaded>
                {if loaded.events.is_empty() {
                    view! { <p class="muted">"No records match these filters."</p> }.into_any()
                } else {
                    view! {
                        <div class="table-scroll" tabindex="0"><table class="table table-stack">
                            <caption class="visually-hidden">"Audit log, newest first"</caption>
                            <thead><tr>
                                <th scope="col">"When"</th><th scope="col">"Action"</th><th scope="col">"Who"</th>
                                <th scope="col">"Target"</th><th scope="col">"From"</th><th scope="col">"Details"</th>
                            </tr></thead>
                            <tbody>
                                {loaded.events.into_iter().map(|event| view! { <AuditRow event /> }).collect_view()}
                                <For each=move || older.get() key=|event| event.id.clone() let:event>
                                    <AuditRow event />
                                </For>
                            </tbody>
                        </table></div>
                        <Show when=move || cursor.with(Option::is_some)>
                            <button class="button button-secondary" on:click=load_older>"Load older records"</button>
                        </Show>
                    }
                    .into_any()
                }}
            </Loaded>
        </section>
    }
}

#[component]
fn AuditRow(event: AuditEvent) -> impl IntoView {
    let who = event.actor_kind.describe(&event.actor_name);
    let who_title = event.actor_id.clone().unwrap_or_default();
    // A credential links to its page; anything else is named by kind and id.
    let target = match (event.target_kind.as_deref(), event.target_id.clone()) {
        (Some("credential"), Some(id)) => view! {
            <A href=format!("/dashboard/credentials/{id}")>{format!("credential {id}")}</A>
        }
        .into_any(),
        (Some(kind), Some(id)) => format!("{} {id}", kind.replace('_', " ")).into_any(),
        _ => "—".into_any(),
    };
    let client = if event.client.is_empty() {
        "—".to_owned()
    } else {
        event.client
    };
    let details = readable_details(&event.details);
    view! {
        <tr>
            <td data-label="When" class="nowrap">{format_time(event.occurred_at)}</td>
            <td data-label="Action">
                <span>{event.action.label()}</span>
                <code class="code-line">{event.action.as_str()}</code>
            </td>
            <td data-label="Who" title=who_title>{who}</td>
            <td data-label="Target" class="wrap-anywhere">{target}</td>
            <td data-label="From" title=event.user_agent>{client}</td>
            <td data-label="Details" class="wrap-anywhere">{details}</td>
        </tr>
    }
}

/// A record's details as a reader takes them in: `fields: name, logoUrl · role: ADMIN`.
fn readable_details(details: &serde_json::Value) -> String {
    fn shown(value: &serde_json::Value) -> String {
        match value {
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Array(items) => {
                items.iter().map(shown).collect::<Vec<_>>().join(", ")
            }
            serde_json::Value::Null => "—".to_owned(),
            other => other.to_string(),
        }
    }
    match details {
        serde_json::Value::Object(fields) => fields
            .iter()
            .map(|(name, field)| format!("{name}: {}", shown(field)))
            .collect::<Vec<_>>()
            .join(" · "),
        other => shown(other),
    }
}
