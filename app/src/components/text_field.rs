//! A labelled text field bound to a signal, with the server's error for it.

use leptos::prelude::*;

/// A text field bound to a signal, with the server's error for it.
#[component]
pub fn TextField(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(default = "text")] input_type: &'static str,
    /// The browser's autofill hint (`username`, `current-password`, …).
    #[prop(optional)]
    autocomplete: Option<&'static str>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label class="field-label" for=id>{label}</label>
            {hint.map(|hint| view! { <p class="field-hint">{hint}</p> })}
            <input class="input" id=id type=input_type autocomplete=autocomplete aria-invalid=move || error.with(Option::is_some).to_string()
                prop:value=move || value.get() on:input=move |e| value.set(event_target_value(&e)) />
            {move || error.get().map(|message| view! { <p class="field-error">{message}</p> })}
        </div>
    }
}
