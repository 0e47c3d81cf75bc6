//! The signed-in operator's own account: two-factor sign-in (an
//! authenticator app and recovery codes, and passkeys), change the password
//! (their other sessions end), see and end their sessions, and their sign-in
//! history.

use leptos::prelude::*;
use shared::operators::{PasswordChange, SecondFactorProof, TotpEnrolment};

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
    let must_set_up = operator().session.must_set_up_second_factor;
    view! {
        <div class="page-header">
            <h1>"Your account"</h1>
            <p>{format!("Signed in as {email}.")}</p>
        </div>
        <Show when=move || must_set_up>
            <div class="alert alert-info" role="status">
                "Your organisation requires two-factor sign-in. Set up an authenticator app or a passkey below to use the rest of the dashboard."
            </div>
        </Show>
        <TwoFactorSection />
        <PasskeysSection />
        <PasswordSection version />
        <SessionsSection version />
        <HistorySection version />
    }
}

/// Two-factor sign-in: set up an authenticator app (QR code, or the secret
/// typed in; confirmed with its first code; ten recovery codes shown once),
/// or remove it with a code or a recovery code.
#[component]
fn TwoFactorSection() -> impl IntoView {
    let api = operator().api;
    let must_set_up = operator().session.must_set_up_second_factor;
    let version = RwSignal::new(0_u32);
    let status = LocalResource::new(move || {
        version.track();
        let api = api.get_value();
        async move { api.totp_status().await }
    });
    let enrolment = RwSignal::new(None::<TotpEnrolment>);
    let recovery_codes = RwSignal::new(None::<Vec<String>>);
    let code = RwSignal::new(String::new());
    let use_recovery_code = RwSignal::new(false);
    let write = Write::default();
    let start = move |_| {
        recovery_codes.set(None);
        write.run(
            async move { api.get_value().start_totp().await },
            move |started| enrolment.set(Some(started)),
        );
    };
    let confirm = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let typed = code.get_untracked();
        write.run(
            async move { api.get_value().confirm_totp(typed).await },
            move |codes| {
                enrolment.set(None);
                code.set(String::new());
                recovery_codes.set(Some(codes.codes));
                version.update(|v| *v += 1);
            },
        );
    };
    let remove = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let typed = code.get_untracked();
        let proof = SecondFactorProof::typed(typed, use_recovery_code.get_untracked());
        write.run(
            async move { api.get_value().remove_totp(&proof).await },
            move |()| {
                code.set(String::new());
                recovery_codes.set(None);
                version.update(|v| *v += 1);
            },
        );
    };
    let code_error = Signal::derive(move || {
        write
            .field_error("code")
            .get()
            .or_else(|| write.field_error("recoveryCode").get())
    });
    view! {
        <section class="card settings-section" aria-labelledby="two-factor-title">
            <h2 id="two-factor-title" class="card-title">"Two-factor sign-in"</h2>
            {move || write.error().get().map(|message| view! { <ErrorAlert message /> })}
            {move || recovery_codes.get().map(|codes| view! {
                <div class="alert alert-info" role="status">
                    <p><strong>"Two-factor sign-in is on. Save these recovery codes now: they will not be shown again."</strong></p>
                    <p>"Each signs you in once if you lose your phone."</p>
                    <ul class="recovery-codes" aria-label="Recovery codes">
                        {codes.into_iter().map(|code| view! { <li><code>{code}</code></li> }).collect_view()}
                    </ul>
                    // A full load: the session now allows the whole dashboard.
                    {must_set_up.then(|| view! { <a class="button button-primary" href="/dashboard" rel="external">"I saved them: open the dashboard"</a> })}
                </div>
            })}
            <Loaded resource=status label="Loading two-factor sign-in…" let:status>
                {if status.enabled {
                    view! {
                        <p>{format!("On: you sign in with a code from your authenticator app. {} recovery codes left.", status.recovery_codes_left)}</p>
                        <form on:submit=remove novalidate>
                            <div class="field">
                                <label class="field-label" for="remove-two-factor-code">
                                    {move || if use_recovery_code.get() { "Recovery code" } else { "Current code from your app" }}
                                </label>
                                <p class="field-hint">"To remove two-factor sign-in, prove you still have it."</p>
                                <input class="input" id="remove-two-factor-code" autocomplete="one-time-code"
                                    aria-invalid=move || code_error.with(Option::is_some).to_string()
                                    prop:value=move || code.get() on:input=move |e| code.set(event_target_value(&e)) />
                                {move || code_error.get().map(|message| view! { <p class="field-error">{message}</p> })}
                            </div>
                            <div class="button-row">
                                <button class="button button-danger" type="submit" disabled=move || write.busy()>"Remove two-factor sign-in"</button>
                                <button class="button button-link" type="button" on:click=move |_| use_recovery_code.update(|on| *on = !*on)>
                                    {move || if use_recovery_code.get() { "Use a code from the app" } else { "Use a recovery code" }}
                                </button>
                            </div>
                        </form>
                    }
                    .into_any()
                } else {
                    view! {
                        {move || match enrolment.get() {
                            None => view! {
                                <p>"Off. With it on, signing in asks for a code from an authenticator app on your phone as well as your password."</p>
                                <button class="button button-primary" on:click=start disabled=move || write.busy()>"Set up an authenticator app"</button>
                            }
                            .into_any(),
                            Some(started) => {
                                let qr = format!(
                                    "data:image/svg+xml;charset=utf-8,{}",
                                    String::from(js_sys::encode_uri_component(&started.qr_svg))
                                );
                                view! {
                                    <ol class="steps-list">
                                        <li>"Scan this QR code with your authenticator app (or type in the key below)."</li>
                                        <li>"Enter the 6-digit code the app shows to confirm."</li>
                                    </ol>
                                    <img class="qr-code" src=qr width="200" height="200" alt="QR code to add Gridlink to your authenticator app" />
                                    <p>"Key: "<code class="wrap-anywhere">{started.secret}</code></p>
                                    <form on:submit=confirm novalidate>
                                        <div class="field">
                                            <label class="field-label" for="confirm-two-factor-code">"Code from your app"</label>
                                            <input class="input" id="confirm-two-factor-code" autocomplete="one-time-code" inputmode="numeric"
                                                aria-invalid=move || code_error.with(Option::is_some).to_string()
                                                prop:value=move || code.get() on:input=move |e| code.set(event_target_value(&e)) />
                                            {move || code_error.get().map(|message| view! { <p class="field-error">{message}</p> })}
                                        </div>
                                        <button class="button button-primary" type="submit" disabled=move || write.busy()>
                                            {move || if write.busy() { "Checking…" } else { "Turn on two-factor sign-in" }}
                                        </button>
                                    </form>
                                }
                                .into_any()
                            }
                        }}
                    }
                    .into_any()
                }}
            </Loaded>
        </section>
    }
}

/// Passkeys: add one (named; the browser's own dialog), see when each was
/// last used, remove one. Where this page's address cannot have passkeys
/// (an IP address), it says where they work.
#[component]
fn PasskeysSection() -> impl IntoView {
    let api = operator().api;
    let must_set_up = operator().session.must_set_up_second_factor;
    let version = RwSignal::new(0_u32);
    let list = LocalResource::new(move || {
        version.track();
        async move { api.get_value().passkeys().await }
    });
    let name = RwSignal::new(String::new());
    let added = RwSignal::new(None::<String>);
    let write = Write::default();
    let add = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        added.set(None);
        let typed = name.get_untracked();
        write.run(
            async move { api.get_value().add_passkey(typed).await },
            move |passkey| {
                name.set(String::new());
                added.set(Some(passkey.name));
                version.update(|v| *v += 1);
            },
        );
    };
    let remove = move |id: String| {
        added.set(None);
        write.run(
            async move { api.get_value().remove_passkey(&id).await },
            move |()| version.update(|v| *v += 1),
        );
    };
    let here = web_sys::window()
        .and_then(|window| window.location().origin().ok())
        .unwrap_or_default();
    view! {
        <section class="card settings-section" aria-labelledby="passkeys-title">
            <h2 id="passkeys-title" class="card-title">"Passkeys"</h2>
            <p class="muted">"A passkey signs you in with your device's screen lock or a security key, as your second step. Add one per device."</p>
            {move || write.error().get().map(|message| view! { <ErrorAlert message /> })}
            <div role="status" aria-live="polite">
                {move || added.get().map(|name| view! {
                    <div class="alert alert-info">
                        <p>{format!("Passkey “{name}” added: from now on you can sign in with it.")}</p>
                        // A full load: the session now allows the whole dashboard.
                        {must_set_up.then(|| view! { <a class="button button-primary" href="/dashboard" rel="external">"Open the dashboard"</a> })}
                    </div>
                })}
            </div>
            <Loaded resource=list label="Loading passkeys…" let:list>
                {if list.passkeys.is_empty() {
                    view! { <p>"No passkeys yet."</p> }.into_any()
                } else {
                    view! {
                        <ul class="passkey-list" aria-label="Your passkeys">
                            {list.passkeys.into_iter().map(|passkey| {
                                let id = passkey.id.clone();
                                let label = format!("Remove passkey “{}”", passkey.name);
                                let used = passkey.last_used_at.map_or_else(|| "never used".to_owned(), |at| format!("last used {}", format_time(at)));
                                view! {
                                    <li class="passkey-item">
                                        <div>
                                            <strong class="wrap-anywhere">{passkey.name.clone()}</strong>
                                            <p class="muted">{format!("Added {}, {used}", format_time(passkey.created_at))}</p>
                                        </div>
                                        <button class="button button-secondary" aria-label=label disabled=move || write.busy() on:click=move |_| remove(id.clone())>"Remove"</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }
                    .into_any()
                }}
                {match (list.unavailable, list.available_at) {
                    (Some(why), _) => view! { <p class="alert alert-info">{why}</p> }.into_any(),
                    (None, Some(origin)) if origin != here => {
                        let href = format!("{origin}/dashboard/account");
                        let shown = href.clone();
                        view! {
                            <p class="alert alert-info">
                                "Passkeys belong to a name, not an address: add and use them on "
                                <a class="wrap-anywhere" href=href rel="external">{shown}</a>
                                " (sign in there)."
                            </p>
                        }
                        .into_any()
                    }
                    _ => view! {
                        <form class="inline-form" on:submit=add novalidate>
                            <TextField id="passkey-name" label="Name for a new passkey" value=name error=write.field_error("name") hint="Where it lives, e.g. “Work laptop” or “YubiKey”." />
                            <button class="button button-primary" type="submit" disabled=move || write.busy()>
                                {move || if write.busy() { "Waiting for your device…" } else { "Add a passkey" }}
                            </button>
                        </form>
                    }
                    .into_any(),
                }}
            </Loaded>
        </section>
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
                    <table class="table table-stack">
                        <thead><tr><th scope="col">"Started from"</th><th scope="col">"Started"</th><th scope="col">"Last active"</th><th scope="col"><span class="visually-hidden">"Action"</span></th></tr></thead>
                        <tbody>
                            {sessions.into_iter().map(|session| {
                                let id = session.id.clone();
                                let label = format!("End the session started {}", format_time(session.created_at));
                                view! {
                                    <tr>
                                        <td data-label="Started from">{session.client.clone()}</td>
                                        <td data-label="Started">{format_time(session.created_at)}</td>
                                        <td data-label="Last active">{format_time(session.last_seen_at)}</td>
                                        <td data-label="Action">{if session.current {
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
                            <table class="table table-stack">
                                <thead><tr><th scope="col">"Time"</th><th scope="col">"From"</th><th scope="col">"Result"</th></tr></thead>
                                <tbody>
                                    {records.into_iter().map(|record| view! {
                                        <tr>
                                            <td data-label="Time">{format_time(record.at)}</td>
                                            <td data-label="From">{record.client}</td>
                                            <td data-label="Result">{if record.succeeded { "Signed in" } else { "Wrong password" }}</td>
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
