//! Something went wrong: what, and the way forward.

use leptos::prelude::*;
use shared::connect::{ConnectFailure, ConnectPurpose, ConnectState};
use shared::i18n::Language;
use shared::validation::Password;

use super::common::{flow, words, Field, StepHeading, SubmitButton};
use super::credentials::{utilities_resource, LoginForm};

/// Something went wrong: what, and the way forward.
#[component]
pub fn FailedStep(state: ConnectState) -> impl IntoView {
    let flow = flow();
    let words = flow.language.get_untracked();
    let update_mode = state.purpose != ConnectPurpose::NewCredential;
    // The server's detail is an operator's sentence, in English: shown only there.
    let message = state.message.clone().filter(|_| words == Language::En);
    let retry = move |_| flow.run(|api| async move { api.reconnect().await }, |_| {});
    let (title, explanation, can_retry) = match state.failure {
        Some(ConnectFailure::InvalidCredentials) => {
            return view! { <WrongPassword state update_mode /> }.into_any();
        }
        Some(ConnectFailure::AccountLocked) => (
            words.failed_locked_title(),
            words.failed_locked_text(),
            true,
        ),
        Some(ConnectFailure::UnsupportedMfa) => (
            words.failed_unsupported_title(),
            words.failed_unsupported_text(),
            false,
        ),
        Some(ConnectFailure::MfaFailed) => {
            (words.failed_mfa_title(), words.failed_mfa_text(), true)
        }
        Some(ConnectFailure::UtilityUnavailable) | None => (
            words.failed_unavailable_title(),
            words.failed_unavailable_text(),
            true,
        ),
    };
    view! {
        <div class="step">
            <StepHeading text=title />
            <div class="alert alert-warning" role="alert">{explanation}</div>
            {message.map(|message| view! { <p class="muted">{message}</p> })}
            <Show when=move || can_retry>
                <button class="button button-primary button-block" type="button" on:click=retry>
                    {move || if flow.busy.get() { words.please_wait() } else { words.try_again() }}
                </button>
            </Show>
        </div>
    }
    .into_any()
}

/// The utility rejected the login: re-enter it (new credential) or the password (update mode).
#[component]
fn WrongPassword(state: ConnectState, update_mode: bool) -> impl IntoView {
    if !update_mode {
        let utility_id = state.utility_id.unwrap_or_default();
        let chosen = RwSignal::new(Some(utility_id.clone()));
        let utilities = utilities_resource();
        return view! {
            <div class="alert alert-error" role="alert">{words().wrong_login()}</div>
            <LoginForm utility_id chosen can_change=true utilities />
        }
        .into_any();
    }
    let flow = flow();
    let words = flow.language.get_untracked();
    let password = RwSignal::new(String::new());
    let password_error = RwSignal::new(None::<String>);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if let Err(error) = Password::parse(&password.get_untracked()) {
            password_error.set(Some(error.in_language(words).to_owned()));
            return;
        }
        let value = password.get_untracked();
        flow.run(
            move |api| async move { api.submit_password(value).await },
            move |error| {
                password_error.set(Some(
                    error
                        .field("password")
                        .unwrap_or_else(|| error.message_in(words)),
                ))
            },
        );
    };
    view! {
        <div class="step">
            <StepHeading text=words.password_rejected_heading() />
            <p>{words.password_rejected_text(state.username.unwrap_or_default())}</p>
            <form on:submit=submit novalidate>
                <Field id="password" label=words.password() value=password error=password_error input_type="password" autocomplete="current-password" />
                <SubmitButton label=words.submit() />
            </form>
        </div>
    }
    .into_any()
}
