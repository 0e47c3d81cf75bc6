//! What every step screen uses: the flow, its words, the current state, the
//! heading, fields and the submit button.

use leptos::prelude::*;
use shared::connect::ConnectState;
use shared::i18n::Language;

use crate::pages::connect::state::Flow;

pub fn flow() -> Flow {
    expect_context::<Flow>()
}

/// Connect's words in its language now.
pub fn words() -> Language {
    flow().language.get_untracked()
}

/// A value of the current state (the step's own screen only exists while there is one).
pub fn current<T: 'static>(read: impl Fn(&ConnectState) -> T + 'static) -> impl Fn() -> Option<T> {
    let flow = flow();
    move || flow.state.with(|state| state.as_ref().map(&read))
}

/// A step's heading: focused when the step appears.
#[component]
pub fn StepHeading(#[prop(into)] text: String) -> impl IntoView {
    view! { <h1 tabindex="-1" data-step-heading>{text}</h1> }
}

/// A labelled text field with its error, wired for screen readers.
#[component]
pub fn Field(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    error: RwSignal<Option<String>>,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional)] inputmode: Option<&'static str>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let described_by = error_id.clone();
    view! {
        <div class="field">
            <label class="field-label" for=id>{label}</label>
            <input
                class="input"
                id=id
                name=id
                type=input_type
                autocomplete=autocomplete
                inputmode=inputmode
                aria-invalid=move || error.with(Option::is_some).to_string()
                aria-describedby=move || error.with(Option::is_some).then(|| described_by.clone())
                prop:value=move || value.get()
                on:input=move |event| value.set(event_target_value(&event))
            />
            {move || error.get().map(|message| view! { <p class="field-error" id=error_id.clone()>{message}</p> })}
        </div>
    }
}

/// The submit button: says what is happening while a request is under way.
#[component]
pub fn SubmitButton(#[prop(into)] label: String) -> impl IntoView {
    let flow = flow();
    view! {
        <button class="button button-primary button-block" type="submit" aria-disabled=move || flow.busy.get().to_string()>
            {move || if flow.busy.get() { flow.language.get().please_wait().to_owned() } else { label.clone() }}
        </button>
    }
}
