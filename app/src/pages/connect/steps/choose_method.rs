//! "Select your preferred verification method".

use leptos::prelude::*;
use shared::connect::ConnectState;
use shared::i18n::Language;
use shared::MfaMethod;

use super::common::{flow, StepHeading, SubmitButton};
use crate::components::loading::ErrorAlert;

/// "Select your preferred verification method".
#[component]
pub fn ChooseMethodStep(state: ConnectState) -> impl IntoView {
    view! { <MethodChoice state /> }
}

#[component]
pub(super) fn MethodChoice(
    state: ConnectState,
    #[prop(optional)] on_cancel: Option<Callback<()>>,
) -> impl IntoView {
    let flow = flow();
    let words = flow.language.get_untracked();
    let options = state.mfa_options.clone();
    let selected = RwSignal::new(
        state
            .mfa_method
            .or_else(|| options.first().map(|option| option.method)),
    );
    let error = RwSignal::new(None::<String>);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let Some(method) = selected.get_untracked() else {
            return;
        };
        flow.run(
            move |api| async move {
                let state = api.choose_method(method).await?;
                crate::pages::connect::events::emit(
                    "MFA_METHOD_SELECTED",
                    serde_json::json!({"method": method}),
                );
                Ok(state)
            },
            move |e| error.set(Some(e.message_in(words))),
        );
    };
    view! {
        <div class="step">
            <StepHeading text=words.choose_method_heading() />
            <p class="muted">{words.choose_method_hint()}</p>
            {move || error.get().map(|message| view! { <ErrorAlert message /> })}
            <form on:submit=submit>
                <fieldset class="choice-group">
                    <legend class="visually-hidden">{words.verification_method()}</legend>
                    {options
                        .into_iter()
                        .map(|option| {
                            let id = format!("method-{}", option.method.wire_name());
                            let method = option.method;
                            view! {
                                <label class="radio-card">
                                    <input
                                        type="radio"
                                        id=id
                                        name="method"
                                        value=method.wire_name()
                                        prop:checked=move || selected.get() == Some(method)
                                        on:change=move |_| selected.set(Some(method))
                                    />
                                    <span class="radio-card-text">
                                        <span class="radio-card-title">{method_title(method, words)}</span>
                                        <span class="radio-card-detail">{option.destination}</span>
                                    </span>
                                </label>
                            }
                        })
                        .collect_view()}
                </fieldset>
                <SubmitButton label=words.submit() />
            </form>
            {on_cancel.map(|cancel| view! {
                <button class="button button-link" type="button" on:click=move |_| cancel.run(())>{words.back_to_code()}</button>
            })}
        </div>
    }
}

pub fn method_title(method: MfaMethod, words: Language) -> &'static str {
    match method {
        MfaMethod::Sms => words.method_sms(),
        MfaMethod::Call => words.method_call(),
        MfaMethod::Email => words.method_email(),
    }
}
