//! Enter the code, resend it, or choose another method.

use std::time::Duration;

use leptos::prelude::*;
use shared::connect::ConnectState;
use shared::validation::OtpCode;
use shared::MfaMethod;

use super::choose_method::MethodChoice;
use super::common::{current, flow, Field, StepHeading, SubmitButton};

/// How long to wait between two sends.
const RESEND_COOLDOWN_SECONDS: u32 = 30;

/// Enter the code: typing or paste, attempts left, resend with a cooldown,
/// another method.
#[component]
pub fn EnterCodeStep(state: ConnectState) -> impl IntoView {
    let choosing_again = RwSignal::new(false);
    let snapshot = state;
    move || {
        if choosing_again.get() {
            let back = Callback::new(move |()| choosing_again.set(false));
            view! { <MethodChoice state=snapshot.clone() on_cancel=back /> }.into_any()
        } else {
            view! { <CodeForm choosing_again /> }.into_any()
        }
    }
}

#[component]
fn CodeForm(choosing_again: RwSignal<bool>) -> impl IntoView {
    let flow = flow();
    let words = flow.language.get_untracked();
    let code = RwSignal::new(String::new());
    let code_error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let cooldown = RwSignal::new(RESEND_COOLDOWN_SECONDS);
    if let Ok(handle) = set_interval_with_handle(
        move || cooldown.update(|s| *s = s.saturating_sub(1)),
        Duration::from_secs(1),
    ) {
        on_cleanup(move || handle.clear());
    }
    let sent_to = current(move |state| {
        let destination = state.code_sent_to.clone().unwrap_or_default();
        match state.mfa_method {
            Some(MfaMethod::Call) => words.code_sent_call(destination),
            Some(MfaMethod::Email) => words.code_sent_email(destination),
            Some(MfaMethod::Sms) | None => words.code_sent_sms(destination),
        }
    });
    let resends_left = Memo::new(move |_| {
        flow.state.with(|state| {
            state
                .as_ref()
                .and_then(|state| state.resends_left)
                .unwrap_or(0)
        })
    });
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        match OtpCode::parse_typed(&code.get_untracked()) {
            Err(error) => code_error.set(Some(error.in_language(words).to_owned())),
            Ok(parsed) => {
                code_error.set(None);
                let digits = parsed.expose().to_owned();
                crate::pages::connect::events::emit("MFA_CODE_SUBMITTED", serde_json::json!({}));
                flow.run(
                    move |api| async move { api.submit_code(digits).await },
                    move |error| {
                        code_error.set(Some(
                            error
                                .field("code")
                                .unwrap_or_else(|| error.message_in(words)),
                        ));
                        code.set(String::new());
                    },
                );
            }
        }
    };
    let resend_disabled = move || cooldown.get() > 0 || resends_left.get() == 0 || flow.busy.get();
    let resend = move |_: leptos::ev::MouseEvent| {
        notice.set(None);
        flow.run(
            move |api| async move { api.resend().await },
            move |error| notice.set(Some(error.message_in(words))),
        );
        cooldown.set(RESEND_COOLDOWN_SECONDS);
        notice.set(Some(words.new_code_on_its_way().into()));
    };
    view! {
        <div class="step">
            <StepHeading text=words.enter_code_heading() />
            <p>{sent_to}</p>
            <form on:submit=submit novalidate>
                <Field
                    id="code"
                    label=words.verification_code()
                    value=code
                    error=code_error
                    autocomplete="one-time-code"
                    inputmode="numeric"

                />
                <SubmitButton label=words.submit() />
            </form>
            <p role="status" aria-live="polite" class="muted">{move || notice.get()}</p>
            <div class="button-row">
                <button
                    class="button button-secondary"
                    type="button"
                    disabled=resend_disabled
                    on:click=resend
                >
                    {move || match (cooldown.get(), resends_left.get()) {
                        (_, 0) => words.no_more_codes().to_owned(),
                        (0, _) => words.resend_code().to_owned(),
                        (seconds, _) => words.resend_code_in(seconds),
                    }}
                </button>
                <button class="button button-link" type="button" on:click=move |_| choosing_again.set(true)>
                    {words.use_another_method()}
                </button>
            </div>
        </div>
    }
}
