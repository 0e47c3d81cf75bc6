//! Signing in to the dashboard.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use shared::operators::SecondFactorProof;

use crate::api::{self, SignInOutcome};
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
    // A right password for an operator with a second factor: its step next.
    let second_step = RwSignal::new(false);
    let submit = {
        let navigate = navigate.clone();
        move |event: leptos::ev::SubmitEvent| {
            event.prevent_default();
            let navigate = navigate.clone();
            write.run(
                api::sign_in(email.get_untracked(), password.get_untracked()),
                move |outcome| match outcome {
                    SignInOutcome::SignedIn(_) => navigate("/dashboard", Default::default()),
                    SignInOutcome::SecondFactorDue => {
                        password.set(String::new());
                        second_step.set(true);
                    }
                },
            );
        }
    };
    view! {
        <Show when=move || second_step.get() fallback=move || {
            let submit = submit.clone();
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
        }>
            <SecondStep navigate=navigate.clone() />
        </Show>
    }
}

/// The second step: a code from the authenticator app, or a recovery code.
#[component]
fn SecondStep(
    navigate: impl Fn(&str, leptos_router::NavigateOptions) + Clone + 'static,
) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let recovery = RwSignal::new(false);
    let write = Write::default();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let navigate = navigate.clone();
        let typed = code.get_untracked();
        let proof = SecondFactorProof::typed(typed, recovery.get_untracked());
        write.run(api::complete_sign_in(proof), move |_| {
            navigate("/dashboard", Default::default())
        });
    };
    // A wrong code is the field's error; anything else (the five minutes are
    // over, too many tries) is the page's.
    let error = Signal::derive(move || {
        write.failure().with(|failure| {
            failure.as_ref().and_then(|failure| match failure.code() {
                Some(shared::ErrorCode::Unauthenticated) => Some(
                    "This sign-in took too long. Reload the page and enter your password again."
                        .to_owned(),
                ),
                Some(shared::ErrorCode::ValidationFailed) => None,
                _ => Some(failure.message()),
            })
        })
    });
    let code_error = Signal::derive(move || {
        write
            .field_error("code")
            .get()
            .or_else(|| write.field_error("recoveryCode").get())
    });
    view! {
        <main class="standalone">
            <div class="card sign-in">
                <h1>"Two-factor sign-in"</h1>
                <p>{move || if recovery.get() {
                    "Enter one of the recovery codes you saved when you set up two-factor sign-in. Each works once."
                } else {
                    "Enter the 6-digit code your authenticator app shows for Gridlink."
                }}</p>
                {move || error.get().map(|message| view! { <ErrorAlert message /> })}
                <form on:submit=submit novalidate>
                    <div class="field">
                        <label class="field-label" for="second-factor-code">
                            {move || if recovery.get() { "Recovery code" } else { "Authentication code" }}
                        </label>
                        <input class="input" id="second-factor-code" autocomplete="one-time-code"
                            inputmode=move || if recovery.get() { "text" } else { "numeric" }
                            aria-invalid=move || code_error.with(Option::is_some).to_string()
                            prop:value=move || code.get() on:input=move |e| code.set(event_target_value(&e)) />
                        {move || code_error.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
                    </div>
                    <button class="button button-primary button-block" type="submit" aria-disabled=move || write.busy().to_string()>
                        {move || if write.busy() { "Checking…" } else { "Verify and sign in" }}
                    </button>
                </form>
                <p class="sign-in-help">
                    <button class="button button-link" type="button" on:click=move |_| {
                        recovery.update(|on| *on = !*on);
                        code.set(String::new());
                    }>
                        {move || if recovery.get() { "Use a code from your authenticator app" } else { "Use a recovery code instead" }}
                    </button>
                </p>
            </div>
        </main>
    }
}
