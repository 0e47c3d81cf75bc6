//! The signed-in operator's own account: change the password (their other
//! sessions end), see and end their sessions, and their sign-in history.

use leptos::prelude::*;
use shared::operators::PasswordChange;

use super::{format_time, operator};
use crate::components::loading::{ErrorAlert, Loaded};
use crate::components::text_field::TextField;
use crate::components::write::Write;

/// The account page.
#[component]
pub fn Account() -> impl IntoView {
    let email = operator().session.operator.email;
    // Changing the password ends the other sessions: the list reloads.
    let version = RwSignal::new(0_u32);
    view! {
        <div class="page-header">
            <h1>"Your account"</h1>
            <p>{format!("Signed in as {email}.")}</p>
        </div>
        <PasswordSection version />
        <SessionsSection version />
        <HistorySection version />
    }
}

#[component]
fn PasswordSection(version: RwSignal<u32>) -> impl IntoView {
    let api = operator().api;
    let current = RwSignal::new(String::new());
    let new_password = RwSignal::new(String::new());
    let saved = RwSignal::new(false);
    let write = Write::default();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        saved.set(false);
        let change = PasswordChange {
            current_password: current.get_untracked(),
            new_password: new_password.get_untracked(),
        };
        write.run(
            async move { api.get_value().change_own_password(&change).await },
            move |()| {
                current.set(String::new());
                new_password.set(String::new());
                saved.set(true);
                version.update(|v| *v += 1);
            },
        );
    };
    view! {
        <section class="card settings-section" aria-labelledby="password-title">
            <h2 id="password-title" class="card-title">"Change your password"</h2>
            {move || write.error().get().map(|message| view! { <ErrorAlert message /> })}
            <form on:submit=submit novalidate>
                <TextField id="current-password" label="Current password" value=current error=write.field_error("currentPassword") input_type="password" />
                <TextField id="new-password" label="New password" value=new_password error=write.field_error("newPassword") hint="At least 12 characters. Your other sessions end when you change it." input_type="password" />
                <button class="button" type="submit" disabled=move || write.busy()>
                    {move || if write.busy() { "Changing…" } else { "Change password" }}
                </button>
            </form>
            <div role="status" aria-live="polite">
                {move || saved.get().then(|| view! { <p class="alert alert-info">"Your password was changed. Your other sessions have ended."</p> })}
            </div>
        </section>
    }
}

#[component]
fn SessionsSection(version: RwSignal<u32>) -> impl IntoView {
    let api = operator().api;
    let sessions = LocalResource::new(move || {
        version.track();
        async move { api.get_value().own_sessions().await }
    });
    let write = Write::default();
    let end = move |id: String| {
        write.run(
            async move { api.get_value().end_own_session(&id).await },
            move |()| version.update(|v| *v += 1),
        );
    };
    view! {
        <section class="card settings-section" aria-labelledby="sessions-title">
            <h2 id="sessions-title" class="card-title">"Your sessions"</h2>
            <p class="muted">"Where you are signed in now. End a session you do not recognise, then change your password."</p>
            {move || write.any_error().get().map(|message| view! { <ErrorAlert message /> })}
            <Loaded resource=sessions label="Loading sessions…" let:sessions>
                <div class="table-wrap" tabindex="0">
                    <table class="table">
                        <thead><tr><th scope="col">"Started from"</th><th scope="col">"Started"</th><th scope="col">"Last active"</th><th scope="col"><span class="visually-hidden">"Action"</span></th></tr></thead>
                        <tbody>
                            {sessions.into_iter().map(|session| {
                                let id = session.id.clone();
                                let label = format!("End the session started {}", format_time(session.created_at));
                                view! {
                                    <tr>
                                        <td>{session.client.clone()}</td>
                                        <td>{format_time(session.created_at)}</td>
                                        <td>{format_time(session.last_seen_at)}</td>
                                        <td>{if session.current {
                                            view! { <span class="badge">"This session"</span> }.into_any()
                                        } else {
                                            view! { <button class="button button-secondary" aria-label=label on:click=move |_| end(id.clone())>"End"</button> }.into_any()
                                        }}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </Loaded>
        </section>
    }
}

#[component]
fn HistorySection(version: RwSignal<u32>) -> impl IntoView {
    let api = operator().api;
    let history = LocalResource::new(move || {
        version.track();
        async move { api.get_value().sign_in_history().await }
    });
    view! {
        <section class="card settings-section" aria-labelledby="history-title">
            <h2 id="history-title" class="card-title">"Sign-in history"</h2>
            <Loaded resource=history label="Loading sign-ins…" let:loaded>
                {match loaded {
                    records if records.is_empty() => view! { <p class="muted">"No sign-ins yet."</p> }.into_any(),
                    records => view! {
                        <div class="table-wrap" tabindex="0">
                            <table class="table">
                                <thead><tr><th scope="col">"Time"</th><th scope="col">"From"</th><th scope="col">"Result"</th></tr></thead>
                                <tbody>
                                    {records.into_iter().map(|record| view! {
                                        <tr>
                                            <td>{format_time(record.at)}</td>
                                            <td>{record.client}</td>
                                            <td>{if record.succeeded { "Signed in" } else { "Wrong password" }}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                }}
            </Loaded>
        </section>
    }
}
