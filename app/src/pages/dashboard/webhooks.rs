//! Webhooks: the organisation's endpoint (admins set it, rotate its signing
//! secret, remove it), a test event, and every delivery with its attempts and
//! a "Resend" button.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::operators::Role;
use shared::webhooks::{DeliveryState, WebhookDelivery, WebhookDeliveryDetail, WebhookEventType};

use super::{format_time, operator, Operator};
use crate::api::SetEndpoint;
use crate::components::loading::{ErrorAlert, Loaded};
use crate::components::write::Write;

/// How long after a test or a resend the list is read again (the delivery job
/// picks messages up within a second).
const REFRESH_AFTER_MS: u64 = 1500;

#[component]
pub fn Webhooks() -> impl IntoView {
    // Bumped to reload the deliveries.
    let deliveries_version = RwSignal::new(0u32);
    view! {
        <div class="page-header">
            <h1>"Webhooks"</h1>
            <p>"Gridlink tells your endpoint about every status change, new data, tokens about to expire and repaired credentials."</p>
        </div>
        <EndpointSection deliveries_version />
        <DeliveriesSection version=deliveries_version />
    }
}

fn refresh_soon(version: RwSignal<u32>) {
    set_timeout(
        move || version.update(|v| *v += 1),
        std::time::Duration::from_millis(REFRESH_AFTER_MS),
    );
}

#[component]
fn EndpointSection(deliveries_version: RwSignal<u32>) -> impl IntoView {
    let Operator { api, session } = operator();
    let is_admin = session.operator.role == Role::Admin;
    let version = RwSignal::new(0u32);
    let endpoint = LocalResource::new(move || {
        version.track();
        let api = api.get_value();
        async move { api.webhook_endpoint().await }
    });
    let url = RwSignal::new(String::new());
    let notice = RwSignal::new(None::<String>);
    let secret = RwSignal::new(None::<String>);
    let confirming_removal = RwSignal::new(false);
    let write = Write::default();
    let url_error = write.field_error("url");
    let other_error = write.error();
    let save = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        notice.set(None);
        let new_url = url.get_untracked();
        write.run(
            async move { api.get_value().set_webhook_endpoint(new_url).await },
            move |saved| {
                match saved {
                    SetEndpoint::Created(created) => secret.set(Some(created.secret)),
                    SetEndpoint::Updated(_) => notice.set(Some("Endpoint saved.".into())),
                }
                url.set(String::new());
                version.update(|v| *v += 1);
            },
        );
    };
    let rotate = move |_| {
        notice.set(None);
        write.run(
            async move { api.get_value().rotate_webhook_secret().await },
            move |rotated| {
                secret.set(Some(rotated.secret));
                version.update(|v| *v += 1);
            },
        );
    };
    let send_test = move |_| {
        notice.set(None);
        write.run(
            async move { api.get_value().send_test_webhook().await },
            move |_| {
                notice.set(Some(
                    "Test event queued: it appears under Deliveries in a moment.".into(),
                ));
                deliveries_version.update(|v| *v += 1);
                refresh_soon(deliveries_version);
            },
        );
    };
    let remove = move |_| {
        notice.set(None);
        confirming_removal.set(false);
        write.run(
            async move { api.get_value().remove_webhook_endpoint().await },
            move |()| {
                secret.set(None);
                notice.set(Some("Endpoint removed: no more webhooks are sent.".into()));
                version.update(|v| *v += 1);
                deliveries_version.update(|v| *v += 1);
            },
        );
    };
    view! {
        <section class="card settings-section" aria-labelledby="endpoint-title">
            <h2 id="endpoint-title" class="card-title">"Endpoint"</h2>
            <div role="status" aria-live="polite">{move || notice.get().map(|m| view! { <div class="alert alert-info">{m}</div> })}</div>
            {move || other_error.get().map(|message| view! { <ErrorAlert message /> })}
            {move || secret.get().map(|secret| view! {
                <div class="alert alert-info" role="status">
                    <p><strong>"Copy this signing secret now: it will not be shown again."</strong></p>
                    <label class="field-label" for="webhook-secret">"Signing secret"</label>
                    <input class="input" id="webhook-secret" readonly prop:value=secret />
                </div>
            })}
            <Loaded resource=endpoint label="Loading the endpoint…" let:loaded>
                {match loaded {
                    None => view! {
                        <p class="muted">"No endpoint yet: webhooks are not sent."</p>
                    }
                    .into_any(),
                    Some(endpoint) => view! {
                        {endpoint.disabled_at.map(|at| view! {
                            <div class="alert alert-warning" role="alert">
                                {format!(
                                    "Disabled since {}. {} Save the URL again to resume sending; the messages waiting will go out then.",
                                    format_time(at),
                                    endpoint.disabled_reason.clone().unwrap_or_default()
                                )}
                            </div>
                        })}
                        <dl class="facts">
                            <dt>"URL"</dt><dd><code>{endpoint.url.clone()}</code></dd>
                            <dt>"Signing secret"</dt><dd>{format!("Created {}", format_time(endpoint.secret_created_at))}</dd>
                            {endpoint.previous_secret_expires_at.map(|until| view! {
                                <dt>"Previous secret"</dt><dd>{format!("Still signs until {}", format_time(until))}</dd>
                            })}
                        </dl>
                        <p class="muted">"Messages are signed as Standard Webhooks do: verify the webhook-signature header (HMAC-SHA256 over webhook-id, webhook-timestamp and the body) with your secret. Failed deliveries are retried with backoff for 24 hours."</p>
                        <div class="button-row">
                            <button class="button button-secondary" on:click=send_test disabled=move || write.busy()>"Send test event"</button>
                            <Show when=move || is_admin>
                                <button class="button button-secondary" on:click=rotate disabled=move || write.busy()>"Rotate signing secret"</button>
                                <button class="button button-danger" on:click=move |_| confirming_removal.set(true) disabled=move || write.busy()>"Remove endpoint"</button>
                            </Show>
                        </div>
                        <Show when=move || confirming_removal.get()>
                            <div class="alert alert-warning" role="alertdialog" aria-labelledby="remove-endpoint-question">
                                <p id="remove-endpoint-question">"Remove the endpoint? Gridlink stops sending webhooks, and messages not yet delivered are given up."</p>
                                <div class="button-row">
                                    <button class="button button-danger" on:click=remove>"Yes, remove"</button>
                                    <button class="button button-secondary" on:click=move |_| confirming_removal.set(false)>"Cancel"</button>
                                </div>
                            </div>
                        </Show>
                    }
                    .into_any(),
                }}
            </Loaded>
            {if is_admin {
                view! {
                    <form class="endpoint-form" on:submit=save>
                        <div class="field">
                            <label class="field-label" for="webhook-url">"Endpoint URL"</label>
                            <p class="field-hint">"An https:// address that accepts POST requests (http:// only for localhost)."</p>
                            <div class="search-row">
                                <input class="input" id="webhook-url" type="url" placeholder="https://example.com/gridlink/webhooks"
                                    aria-invalid=move || url_error.with(Option::is_some).to_string()
                                    prop:value=move || url.get() on:input=move |e| url.set(event_target_value(&e)) />
                                <button class="button button-primary" type="submit" disabled=move || write.busy()>
                                    {move || if write.busy() { "Saving…" } else { "Save endpoint" }}
                                </button>
                            </div>
                            {move || url_error.get().map(|message| view! { <p class="field-error">{message}</p> })}
                        </div>
                    </form>
                }
                .into_any()
            } else {
                view! { <p class="muted">"Only an organisation admin can change the endpoint."</p> }.into_any()
            }}
        </section>
    }
}

/// A delivery's state as a badge.
pub fn state_badge(state: DeliveryState) -> impl IntoView {
    let (class, label) = match state {
        DeliveryState::Pending => ("badge badge-warning", "Pending"),
        DeliveryState::Delivered => ("badge badge-success", "Delivered"),
        DeliveryState::Failed => ("badge badge-danger", "Failed"),
    };
    view! { <span class=class>{label}</span> }
}

#[component]
fn DeliveriesSection(version: RwSignal<u32>) -> impl IntoView {
    let Operator { api, .. } = operator();
    // Older pages appended by "Load older deliveries".
    let older = RwSignal::new(Vec::<WebhookDelivery>::new());
    let cursor = RwSignal::new(None::<String>);
    // A page that could not be read, and the section's writes (replay, resend).
    let failure = RwSignal::new(None::<String>);
    let write = Write::default();
    let event_type = RwSignal::new(String::new());
    let state_filter = RwSignal::new(String::new());
    let filters = move || {
        let mut query = Vec::new();
        for (name, value) in [
            ("eventType", event_type.get()),
            ("state", state_filter.get()),
        ] {
            if !value.is_empty() {
                query.push(format!("{name}={value}"));
            }
        }
        query.join("&")
    };
    let replay_window = RwSignal::new("24".to_owned());
    let replayed = RwSignal::new(None::<String>);
    let first_page = LocalResource::new(move || {
        version.track();
        let filters = filters();
        let api = api.get_value();
        async move {
            let page = api.webhook_deliveries(&filters, None).await;
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
            match api
                .get_value()
                .webhook_deliveries(&filters, Some(&before))
                .await
            {
                Ok(page) => {
                    older.update(|rows| rows.extend(page.deliveries));
                    cursor.set(page.next_cursor);
                }
                Err(error) => failure.set(Some(error.message())),
            }
        });
    };
    let replay = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let hours: i64 = replay_window.get_untracked().parse().unwrap_or(24);
        let now = time::OffsetDateTime::from_unix_timestamp((js_sys::Date::now() / 1000.0) as i64)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let from = (now - time::Duration::hours(hours))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        failure.set(None);
        write.run(
            async move {
                api.get_value()
                    .replay_failed_webhooks(serde_json::json!({"from": from}))
                    .await
            },
            move |count| {
                replayed.set(Some(match count {
                    0 => "No failed messages in that time.".to_owned(),
                    1 => "1 failed message is being sent again.".to_owned(),
                    n => format!("{n} failed messages are being sent again, oldest first."),
                }));
                version.update(|v| *v += 1);
            },
        );
    };
    view! {
        <section class="card" aria-labelledby="deliveries-title">
            <div class="card-header-row">
                <h2 id="deliveries-title" class="card-title">"Deliveries"</h2>
                <button class="button button-secondary" on:click=move |_| version.update(|v| *v += 1)>"Refresh"</button>
            </div>
            {move || failure.get().or_else(|| write.any_error().get()).map(|message| view! { <ErrorAlert message /> })}
            <div class="toolbar">
                <div class="field inline">
                    <label class="field-label" for="delivery-event-type">"Event"</label>
                    <select class="input" id="delivery-event-type" prop:value=move || event_type.get()
                        on:change=move |e| event_type.set(event_target_value(&e))>
                        <option value="">"All events"</option>
                        {WebhookEventType::ALL.into_iter().map(|kind| view! { <option value=kind.as_str()>{kind.as_str()}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field inline">
                    <label class="field-label" for="delivery-state">"State"</label>
                    <select class="input" id="delivery-state" prop:value=move || state_filter.get()
                        on:change=move |e| state_filter.set(event_target_value(&e))>
                        <option value="">"All states"</option>
                        <option value="PENDING">"Pending"</option>
                        <option value="DELIVERED">"Delivered"</option>
                        <option value="FAILED">"Failed"</option>
                    </select>
                </div>
                <form class="search" on:submit=replay>
                    <label class="field-label" for="replay-window">"Replay failed messages of the last"</label>
                    <div class="search-row">
                        <select class="input" id="replay-window" prop:value=move || replay_window.get()
                            on:change=move |e| replay_window.set(event_target_value(&e))>
                            <option value="1">"hour"</option>
                            <option value="24">"day"</option>
                            <option value="168">"week"</option>
                        </select>
                        <button class="button button-secondary" type="submit">"Replay"</button>
                    </div>
                </form>
            </div>
            <div role="status" aria-live="polite">
                {move || replayed.get().map(|message| view! { <p class="alert alert-info">{message}</p> })}
            </div>
            <Loaded resource=first_page label="Loading deliveries…" let:loaded>
                {match loaded {
                    page if page.deliveries.is_empty() => view! {
                        <p class="muted">{if event_type.get_untracked().is_empty() && state_filter.get_untracked().is_empty() {
                            "No webhooks sent yet. Set an endpoint and send a test event to try it."
                        } else {
                            "No deliveries match these filters."
                        }}</p>
                    }
                    .into_any(),
                    page => view! {
                        <div class="table-scroll" tabindex="0"><table class="table table-stack">
                            <caption class="visually-hidden">"Webhook deliveries, newest first"</caption>
                            <thead><tr>
                                <th scope="col">"Created"</th><th scope="col">"Event"</th><th scope="col">"Caused by"</th><th scope="col">"Credential"</th>
                                <th scope="col">"State"</th><th scope="col" class="numeric">"Attempts"</th>
                                <th scope="col">"Last answer"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                            </tr></thead>
                            <tbody>
                                {page.deliveries.into_iter().map(|delivery| view! { <DeliveryRow delivery version failure write /> }).collect_view()}
                                <For each=move || older.get() key=|delivery| delivery.id.clone() let:delivery>
                                    <DeliveryRow delivery version failure write />
                                </For>
                            </tbody>
                        </table></div>
                        <Show when=move || cursor.with(Option::is_some)>
                            <button class="button button-secondary" on:click=load_older>"Load older deliveries"</button>
                        </Show>
                    }
                    .into_any(),
                }}
            </Loaded>
        </section>
    }
}

#[component]
fn DeliveryRow(
    delivery: WebhookDelivery,
    version: RwSignal<u32>,
    failure: RwSignal<Option<String>>,
    write: Write,
) -> impl IntoView {
    let Operator { api, .. } = operator();
    let id = StoredValue::new(delivery.id.clone());
    let detail = RwSignal::new(None::<WebhookDeliveryDetail>);
    let open = RwSignal::new(false);
    let toggle = move |_| {
        if open.get_untracked() {
            open.set(false);
            return;
        }
        spawn_local(async move {
            match api.get_value().webhook_delivery(&id.get_value()).await {
                Ok(found) => {
                    detail.set(Some(found));
                    open.set(true);
                }
                Err(error) => failure.set(Some(error.message())),
            }
        });
    };
    let resend = move |_| {
        write.run(
            async move { api.get_value().resend_webhook(&id.get_value()).await },
            move |_| {
                version.update(|v| *v += 1);
                refresh_soon(version);
            },
        );
    };
    let last_answer = match (delivery.last_response_status, &delivery.last_error) {
        (Some(status), _) => format!("HTTP {status}"),
        (None, Some(error)) => error.clone(),
        (None, None) => "—".to_owned(),
    };
    let can_resend = delivery.state != DeliveryState::Pending;
    let details_label = format!("Attempts of {}", delivery.id);
    let resend_label = format!("Resend {}", delivery.id);
    view! {
        <tr>
            <td data-label="Created">{format_time(delivery.created_at)}</td>
            <td data-label="Event"><code>{delivery.event_type.as_str()}</code></td>
            <td data-label="Caused by" title=delivery.actor.clone()>{delivery.actor_name.clone().unwrap_or_else(|| "—".to_owned())}</td>
            <td data-label="Credential">{delivery.credential_id.clone().map(|credential| view! {
                <a href=format!("/dashboard/credentials/{credential}")>{credential.clone()}</a>
            }.into_any()).unwrap_or_else(|| view! { <span class="muted">"—"</span> }.into_any())}</td>
            <td data-label="State">{state_badge(delivery.state)}</td>
            <td data-label="Attempts" class="numeric">{delivery.attempts}</td>
            <td data-label="Last answer">{last_answer}</td>
            <td data-label="Actions" class="button-row">
                <button class="button button-secondary" aria-label=details_label aria-expanded=move || open.get().to_string() on:click=toggle>"Attempts"</button>
                {can_resend.then(|| view! {
                    <button class="button button-secondary" aria-label=resend_label on:click=resend>"Resend"</button>
                })}
            </td>
        </tr>
        <Show when=move || open.get()>
            <tr class="delivery-detail">
                <td colspan="8">
                    {move || detail.get().map(|detail| view! {
                        <ol class="attempts">
                            {detail.attempt_log.into_iter().map(|attempt| view! {
                                <li>
                                    {format!("{} · ", format_time(attempt.attempted_at))}
                                    {attempt.response_status.map(|status| format!("HTTP {status}")).or(attempt.error).unwrap_or_default()}
                                    {format!(" · {} ms", attempt.duration_ms)}
                                    {attempt.response_body.map(|body| view! {
                                        <details class="attempt-answer">
                                            <summary>"What the endpoint answered"</summary>
                                            <pre class="payload">{body}</pre>
                                        </details>
                                    })}
                                </li>
                            }).collect_view()}
                        </ol>
                        {detail.delivery.next_attempt_at.map(|at| view! { <p class="muted">{format!("Next attempt {}.", format_time(at))}</p> })}
                        <pre class="payload">{detail.payload}</pre>
                    })}
                </td>
            </tr>
        </Show>
    }
}
