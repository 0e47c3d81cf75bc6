//! Progress and error states used wherever the app waits for the server.

use leptos::prelude::*;

/// A spinner with a sentence saying what is being waited for, announced politely.
#[component]
pub fn Loading(#[prop(into)] label: String) -> impl IntoView {
    view! {
        <div class="loading" role="status" aria-live="polite">
            <span class="spinner" aria-hidden="true"></span>
            <span>{label}</span>
        </div>
    }
}

/// An error message in an alert that screen readers announce at once.
#[component]
pub fn ErrorAlert(#[prop(into)] message: String) -> impl IntoView {
    view! {
        <div class="alert alert-error" role="alert">
            {message}
        </div>
    }
}
