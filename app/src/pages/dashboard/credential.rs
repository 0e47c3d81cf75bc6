//! One credential: its state and what it means, its token, "Sync now",
//! "Retry MFA Verification" (Connect in a dialog), "Generate update link",
//! deactivation, and the timeline.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use shared::connect::ConnectToken;
use shared::credentials::Credential;

use super::{format_time, operator};
use crate::components::connect_dialog::ConnectDialog;
use crate::components::loading::{ErrorAlert, Loaded, Loading};
use crate::components::status::StatusBadge;
use crate::components::text_field::TextField;
use crate::components::utility_name::UtilityName;
use crate::components::write::Write;

/// The detail page.
#[component]
pub fn CredentialDetail() -> impl IntoView {
    let operator = operator();
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    // Bumped after every action, so the page shows the new state without a reload.
    let version = RwSignal::new(0u32);
    let ui = DetailUi {
        actions: Actions {
            write: Write::default(),
            message: RwSignal::new(None),
            version,
        },
        connect_url: RwSignal::new(None),
        update_link: RwSignal::new(None),
        confirming_deactivation: RwSignal::new(false),
    };
    let credential = LocalResource::new(move || {
        version.track();
        let api = operator.api.get_value();
        let id = id.get();
        async move { api.credential(&id).await }
    });
    let events = LocalResource::new(move || {
        version.track();
        let api = operator.api.get_value();
        let id = id.get();
        async move { api.events(&id).await }
    });
    view! {
        <Transition fallback=|| view! { <Loading label="Loading the credential…" /> }>
            {move || Suspend::new(async move {
                match credential.await {
                    Err(error) => view! {
                        <div class="page-header"><h1>"Credential"</h1></div>
                        <ErrorAlert message=error.message() />
                    }
                    .into_any(),
                    Ok(credential) => view! { <CredentialView credential ui /> }.into_any(),
                }
            })}
        </Transition>
        // Outside the part that reloads: the dialog (and Connect in it) stays
        // as it is while the page behind shows the new status.
        <ConnectDialog
            url=ui.connect_url
            title="Retry MFA Verification"
            on_success=Callback::new(move |()| {
                ui.actions.message.set(Some("Verification complete: the credential is connected again.".into()));
                ui.refresh();
            })
            on_close=Callback::new(move |()| ui.close_dialog())
        />
        <section class="card timeline" aria-labelledby="timeline-title">
            <h2 id="timeline-title" class="card-title">"Timeline"</h2>
            <Loaded resource=events label="Loading the timeline…" let:events>
                <ol class="events">
                    {events
                        .into_iter()
                        .map(|event| view! {
                            <li>
                                <span class="event-time">{format_time(event.created_at)}</span>
                                <span class="event-message">{event.message}</span>
                                <span class="event-actor" title=event.actor>{event.actor_name}</span>
                            </li>
                        })
                        .collect_view()}
                </ol>
            </Loaded>
        </section>
    }
}

fn time_left(expires_at: time::OffsetDateTime) -> String {
    let now = time::OffsetDateTime::from_unix_timestamp((js_sys::Date::now() / 1000.0) as i64)
        .unwrap_or(expires_at);
    let left = expires_at - now;
    if left.is_negative() {
        "expired".to_owned()
    } else if left.whole_days() >= 1 {
        format!("{} days left", left.whole_days())
    } else {
        format!("{} hours left", left.whole_hours().max(0))
    }
}

/// The page's own state, kept while the credential reloads around it.
#[derive(Clone, Copy)]
struct DetailUi {
    actions: Actions,
    /// The Connect URL shown in the "Retry MFA Verification" dialog.
    connect_url: RwSignal<Option<String>>,
    update_link: RwSignal<Option<ConnectToken>>,
    confirming_deactivation: RwSignal<bool>,
}

impl DetailUi {
    fn close_dialog(self) {
        self.connect_url.set(None);
        self.actions.version.update(|v| *v += 1);
    }

    /// Reloads the page's data behind an open dialog.
    fn refresh(self) {
        self.actions.version.update(|v| *v += 1);
    }
}

/// The page's writes, one at a time (see [`Write`]): each that succeeds says
/// what it did and reloads the page's data.
#[derive(Clone, Copy)]
struct Actions {
    write: Write,
    message: RwSignal<Option<String>>,
    version: RwSignal<u32>,
}

impl Actions {
    fn run(
        self,
        action: impl std::future::Future<Output = Result<String, crate::api::ApiError>> + 'static,
    ) {
        self.message.set(None);
        self.write.run(action, move |done| {
            self.message.set(Some(done));
            self.version.update(|v| *v += 1);
        });
    }
}

#[component]
fn CredentialView(credential: Credential, ui: DetailUi) -> impl IntoView {
    let operator = operator();
    let detail = credential.status.status_detail;
    let id = StoredValue::new(credential.id.clone());
    let DetailUi {
        actions,
        connect_url,
        update_link,
        confirming_deactivation,
    } = ui;
    let Actions {
        write,
        message,
        version,
    } = actions;
    let deactivated = credential.deactivated_at.is_some();
    // A credential whose utility is not answering can be tried again by hand.
    let syncable = detail.is_syncable();
    let sync_now = move |_| {
        let api = operator.api.get_value();
        let id = id.get_value();
        actions.run(async move {
            api.sync(&id)
                .await
                .map(|c| format!("Synced. Status: {}.", c.status.status_detail))
        });
    };
    let retry = move |_| {
        let api = operator.api.get_value();
        let id = id.get_value();
        write.run(async move { api.retry_mfa(&id).await }, move |token| {
            connect_url.set(Some(token.url))
        });
    };
    let generate_link = move |_| {
        let api = operator.api.get_value();
        let id = id.get_value();
        write.run(
            async move { api.generate_update_link(&id).await },
            move |link| {
                update_link.set(Some(link));
                version.update(|v| *v += 1);
            },
        );
    };
    let revoke_link = move |_| {
        let Some(link) = update_link.get_untracked() else {
            return;
        };
        let api = operator.api.get_value();
        let id = id.get_value();
        actions.run(async move {
            api.revoke_update_link(&id, &link.id)
                .await
                .map(|()| "The update link was revoked.".to_owned())
        });
        update_link.set(None);
    };
    let deactivate = move |_| {
        let api = operator.api.get_value();
        let id = id.get_value();
        confirming_deactivation.set(false);
        actions.run(async move {
            api.deactivate(&id)
                .await
                .map(|()| "The credential was deactivated.".to_owned())
        });
    };
    let copy_link = move |_| {
        if let (Some(link), Some(window)) = (update_link.get_untracked(), web_sys::window()) {
            let _ = window.navigator().clipboard().write_text(&link.url);
            message.set(Some("Link copied.".into()));
        }
    };

    view! {
        <div class="page-header">
            <p class="breadcrumb"><a href="/dashboard/credentials">"Manage your credentials"</a></p>
            <h1>{format!("{} at ", credential.username)}<UtilityName id=credential.utility_id.clone() /></h1>
        </div>
        <div role="status" aria-live="polite">{move || message.get().map(|m| view! { <div class="alert alert-info">{m}</div> })}</div>
        {move || write.any_error().get().map(|message| view! { <ErrorAlert message /> })}
        <div class="card-grid">
            <section class="card" aria-labelledby="state-title">
                <h2 id="state-title" class="card-title">"Status"</h2>
                <p><StatusBadge detail /></p>
                <p>{detail.explanation()}</p>
                {credential.stale_since.map(|since| {
                    let data_since = credential
                        .last_synced_at
                        .map_or_else(|| "the first sync (none has succeeded)".to_owned(), format_time);
                    view! {
                        <div class="alert alert-warning">
                            <strong>{format!("Stale: no data since {data_since}.")}</strong>
                            " "
                            {format!("Flagged on {}; the next successful sync clears it.", format_time(since))}
                        </div>
                    }
                })}
                {credential
                    .status_message
                    .clone()
                    .filter(|message| message != detail.explanation())
                    .map(|message| view! { <p class="muted">{message}</p> })}
                <dl class="facts">
                    <dt>"Status"</dt>
                    <dd>{credential.status.status.label()}<code class="code-line">{credential.status.status.as_str()}</code></dd>
                    <dt>"Action required"</dt><dd>{if credential.status.is_customer_action_required { "Yes" } else { "No" }}</dd>
                    <dt>"Accessible"</dt><dd>{if credential.status.is_accessible { "Yes" } else { "No" }}</dd>
                </dl>
            </section>
            <section class="card" aria-labelledby="facts-title">
                <h2 id="facts-title" class="card-title">"Details"</h2>
                <dl class="facts">
                    <dt>"Utility"</dt><dd><UtilityName id=credential.utility_id.clone() /><span class="muted">{format!(" ({})", credential.utility_id)}</span></dd>
                    <dt>"Username"</dt><dd>{credential.username.clone()}</dd>
                    <dt>"Correlation id"</dt><dd>{credential.correlation_id.clone().unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Token expiry"</dt>
                    <dd>
                        {credential.token_expires_at.map(|at| format!("{} ({})", format_time(at), time_left(at))).unwrap_or_else(|| "—".into())}
                        {credential.token_expiry_predicted.then(|| view! {
                            <span class="field-hint">{if credential.token_expires_at.is_some() {
                                "Predicted: the utility does not say; this is the median life of its recent tokens."
                            } else {
                                "The utility does not say, and none of its tokens has ended yet to predict it."
                            }}</span>
                        })}
                    </dd>
                    <dt>"Last sync"</dt><dd>{credential.last_synced_at.map(format_time).unwrap_or_else(|| "Never".into())}</dd>
                    <dt>"Next sync"</dt><dd>{credential.next_sync_at.map(format_time).unwrap_or_else(|| "Not scheduled (only a connected credential syncs)".into())}</dd>
                    <dt>"Created"</dt><dd>{format_time(credential.created_at)}</dd>
                </dl>
            </section>
            <Show when=move || !deactivated>
                <ContactCard id=id.get_value() contact_email=credential.contact_email.clone() actions />
            </Show>
        </div>
        <Show when=move || !deactivated>
            <section class="card actions" aria-labelledby="actions-title">
                <h2 id="actions-title" class="card-title">"Actions"</h2>
                <div class="button-row">
                    <button class="button button-primary" on:click=retry>"Retry MFA Verification"</button>
                    <button class="button button-secondary" on:click=generate_link>"Generate update link"</button>
                    <Show when=move || syncable>
                        <button class="button button-secondary" on:click=sync_now disabled=move || write.busy()>
                            {move || if write.busy() { "Syncing…" } else { "Sync now" }}
                        </button>
                    </Show>
                    <button class="button button-danger" on:click=move |_| confirming_deactivation.set(true)>"Deactivate"</button>
                </div>
                {move || update_link.get().map(|link| view! {
                    <div class="update-link">
                        <label class="field-label" for="update-link-url">"Update link for the end-user (valid 72 hours)"</label>
                        <div class="search-row">
                            <input class="input" id="update-link-url" readonly prop:value=link.url.clone() />
                            <button class="button button-secondary" on:click=copy_link>"Copy"</button>
                            <button class="button button-secondary" on:click=revoke_link>"Revoke link"</button>
                        </div>
                        <p class="muted">{format!("Expires {}.", format_time(link.expires_at))}</p>
                    </div>
                })}
                <Show when=move || confirming_deactivation.get()>
                    <div class="alert alert-warning" role="alertdialog" aria-labelledby="deactivate-question">
                        <p id="deactivate-question">"Deactivate this credential? Syncing stops and its session token is destroyed."</p>
                        <div class="button-row">
                            <button class="button button-danger" on:click=deactivate>"Yes, deactivate"</button>
                            <button class="button button-secondary" on:click=move |_| confirming_deactivation.set(false)>"Cancel"</button>
                        </div>
                    </div>
                </Show>
            </section>
        </Show>
        <Bills id=id.get_value() version />
        <CredentialWebhooks id=id.get_value() version />
    }
}

/// The end-user's contact email: where notices go when the credential needs
/// them (if the organisation sends them, in Settings).
#[component]
fn ContactCard(id: String, contact_email: Option<String>, actions: Actions) -> impl IntoView {
    let operator = operator();
    let id = StoredValue::new(id);
    let has_contact = contact_email.is_some();
    let email = RwSignal::new(contact_email.unwrap_or_default());
    let save = move |value: String, done: &'static str| {
        let api = operator.api.get_value();
        let id = id.get_value();
        actions.run(async move {
            api.change_contact(&id, value)
                .await
                .map(|_| done.to_owned())
        });
    };
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        save(email.get_untracked(), "The contact email was saved.");
    };
    view! {
        <section class="card" aria-labelledby="contact-title">
            <h2 id="contact-title" class="card-title">"End-user contact"</h2>
            <form on:submit=submit novalidate>
                <TextField id="contact-email" label="Contact email" value=email input_type="email" autocomplete="off"
                    hint="Update links and reminders go here when this credential needs the end-user (Settings → Email end-users)."
                    error=actions.write.field_error("contactEmail") />
                <div class="button-row">
                    <button class="button button-secondary" type="submit" disabled=move || actions.write.busy()>"Save contact"</button>
                    <Show when=move || has_contact>
                        <button class="button button-link" type="button"
                            on:click=move |_| save(String::new(), "The contact email was removed.")>"Remove"</button>
                    </Show>
                </div>
            </form>
        </section>
    }
}

/// The credential's accounts and latest statements, as the syncs stored them.
#[component]
fn Bills(id: String, version: RwSignal<u32>) -> impl IntoView {
    let operator = operator();
    let id = StoredValue::new(id);
    let bills = LocalResource::new(move || {
        version.track();
        let api = operator.api.get_value();
        let id = id.get_value();
        async move {
            let accounts = api.accounts(&id).await?;
            let statements = api.statements(&id).await?;
            Ok::<_, crate::api::ApiError>((accounts, statements))
        }
    });
    view! {
        <section class="card bills" aria-labelledby="bills-title">
            <h2 id="bills-title" class="card-title">"Accounts and latest statements"</h2>
            <Loaded resource=bills label="Loading the synced data…" let:loaded>
                {match loaded {
                    (accounts, _) if accounts.is_empty() => view! {
                        <p class="muted">"No data synced yet. The first sync runs right after the connection succeeds."</p>
                    }
                    .into_any(),
                    (accounts, statements) => view! {
                        <ul class="accounts">
                            {accounts.into_iter().map(|account| view! {
                                <li><strong>{account.account_number}</strong>" · "{account.service_address}" · "{account.fuel}</li>
                            }).collect_view()}
                        </ul>
                        <div class="table-scroll" tabindex="0"><table class="table table-stack compact">
                            <caption class="visually-hidden">"Latest statements"</caption>
                            <thead><tr>
                                <th scope="col">"Account"</th><th scope="col">"Period"</th>
                                <th scope="col" class="numeric">"Usage"</th><th scope="col" class="numeric">"Amount"</th>
                            </tr></thead>
                            <tbody>
                                {statements.into_iter().take(6).map(|statement| view! {
                                    <tr>
                                        <td data-label="Account">{statement.account_number}</td>
                                        <td data-label="Period">{format!("{} – {}", statement.period_start, statement.period_end)}</td>
                                        <td data-label="Usage" class="numeric">{format!("{:.1} {}", statement.usage, statement.usage_unit)}</td>
                                        <td data-label="Amount" class="numeric">{format!("{} {}.{:02}", statement.currency, statement.amount_cents / 100, statement.amount_cents % 100)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }
                    .into_any(),
                }}
            </Loaded>
        </section>
    }
}

/// The latest webhooks sent about this credential.
#[component]
fn CredentialWebhooks(id: String, version: RwSignal<u32>) -> impl IntoView {
    let operator = operator();
    let id = StoredValue::new(id);
    let deliveries = LocalResource::new(move || {
        version.track();
        let api = operator.api.get_value();
        let id = id.get_value();
        async move { api.credential_webhooks(&id).await }
    });
    let replayed = RwSignal::new(None::<String>);
    let replaying = Write::default();
    let replay = move |_| {
        let api = operator.api.get_value();
        let id = id.get_value();
        replayed.set(None);
        replaying.run(
            async move {
                api.replay_failed_webhooks(serde_json::json!({"credentialId": id}))
                    .await
            },
            move |count| {
                replayed.set(Some(match count {
                    0 => "No failed webhook to send again.".to_owned(),
                    1 => "1 failed webhook queued again.".to_owned(),
                    count => format!("{count} failed webhooks queued again, oldest first."),
                }));
                version.update(|version| *version += 1);
            },
        );
    };
    view! {
        <section class="card" aria-labelledby="credential-webhooks-title">
            <h2 id="credential-webhooks-title" class="card-title">"Webhooks about this credential"</h2>
            <div role="status" aria-live="polite">
                {move || replayed.get().map(|message| view! { <p class="alert alert-info">{message}</p> })}
            </div>
            {move || replaying.any_error().get().map(|message| view! { <ErrorAlert message /> })}
            <Loaded resource=deliveries label="Loading webhooks…" let:loaded>
                {match loaded {
                    deliveries if deliveries.is_empty() => view! {
                        <p class="muted">"None sent. Webhooks go out once an endpoint is set on the "<A href="/dashboard/webhooks">"Webhooks"</A>" page."</p>
                    }
                    .into_any(),
                    deliveries => view! {
                        <div class="table-scroll" tabindex="0"><table class="table table-stack compact">
                            <caption class="visually-hidden">"Latest webhooks about this credential"</caption>
                            <thead><tr>
                                <th scope="col">"Created"</th><th scope="col">"Event"</th>
                                <th scope="col">"State"</th><th scope="col" class="numeric">"Attempts"</th>
                            </tr></thead>
                            <tbody>
                                {deliveries.into_iter().map(|delivery| view! {
                                    <tr>
                                        <td data-label="Created">{format_time(delivery.created_at)}</td>
                                        <td data-label="Event"><code>{delivery.event_type.as_str()}</code></td>
                                        <td data-label="State">{super::webhooks::state_badge(delivery.state)}</td>
                                        <td data-label="Attempts" class="numeric">{delivery.attempts}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                        <div class="button-row">
                            <button class="button button-secondary" type="button" on:click=replay disabled=move || replaying.busy()>"Replay failed webhooks"</button>
                            <A href="/dashboard/webhooks">"All deliveries, with their attempts"</A>
                        </div>
                    }
                    .into_any(),
                }}
            </Loaded>
        </section>
    }
}
