//! Signing in to the dashboard.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::api;
use crate::components::loading::ErrorAlert;
use crate::components::text_field::TextField;
use crate::components::write::Write;

/// The sign-in form. Its error never says whether the email or the password was wrong.
#[component]
pub fn SignIn() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let write = Write::default();
    // One sentence for every refusal: it never says which of the two was wrong.
    let error = Signal::derive(move || {
        write.failure().with(|failure| {
            failure.as_ref().map(|failure| match failure.code() {
                Some(shared::ErrorCode::ValidationFailed) => {
                    "Enter your email address and password.".to_owned()
                }
                _ => failure.message(),
            })
        })
    });
    let no_field_error = Signal::derive(|| None::<String>);
    let navigate = use_navigate();
    let query = leptos_router::hooks::use_query_map();
    let expired = query.with_untracked(|q| q.get("expired").is_some());
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let navigate = navigate.clone();
        write.run(
            api::sign_in(email.get_untracked(), password.get_untracked()),
            move |_| navigate("/dashboard", Default::default()),
        );
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
                    <TextField id="email" label="Email" value=email error=no_field_error input_type="email" autocomplete="username" />
                    <TextField id="password" label="Password" value=password error=no_field_error input_type="password" autocomplete="current-password" />
                    <button class="button button-primary button-block" type="submit" aria-disabled=move || write.busy().to_string()>
                        {move || if write.busy() { "Signing in…" } else { "Sign in" }}
                    </button>
                </form>
                <p class="sign-in-help"><A href="/dashboard/forgot-password">"Forgot password?"</A></p>
            </div>
        </main>
    }
}
