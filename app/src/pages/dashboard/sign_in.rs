//! Signing in to the dashboard.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;

use crate::api;
use crate::components::loading::ErrorAlert;

/// The sign-in form. Its error never says whether the email or the password was wrong.
#[component]
pub fn SignIn() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    let query = leptos_router::hooks::use_query_map();
    let expired = query.with_untracked(|q| q.get("expired").is_some());
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::sign_in(email.get_untracked(), password.get_untracked()).await {
                Ok(_) => navigate("/dashboard", Default::default()),
                Err(failure) => {
                    let message = match failure.code() {
                        Some(shared::ErrorCode::ValidationFailed) => {
                            "Enter your email address and password.".to_owned()
                        }
                        _ => failure.message(),
                    };
                    error.set(Some(message));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <main class="standalone">
            <div class="card sign-in">
                <h1>"Sign in to Gridlink"</h1>
                <Show when=move || expired>
                    <div class="alert alert-info" role="status">"Your session ended after a period of inactivity. Sign in again."</div>
                </Show>
                {move || error.get().map(|message| view! { <ErrorAlert message /> })}
                <form on:submit=submit novalidate>
                    <div class="field">
                        <label class="field-label" for="email">"Email"</label>
                        <input class="input" id="email" type="email" autocomplete="username" required
                            prop:value=move || email.get() on:input=move |e| email.set(event_target_value(&e)) />
                    </div>
                    <div class="field">
                        <label class="field-label" for="password">"Password"</label>
                        <input class="input" id="password" type="password" autocomplete="current-password" required
                            prop:value=move || password.get() on:input=move |e| password.set(event_target_value(&e)) />
                    </div>
                    <button class="button button-primary button-block" type="submit" aria-disabled=move || busy.get().to_string()>
                        {move || if busy.get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </form>
            </div>
        </main>
    }
}
