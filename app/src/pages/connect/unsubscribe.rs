//! `/unsubscribe/{token}`: the page an unsubscribe link in a notice opens.
//! It says whose notices stop and to which address (masked), and stops them
//! only when the end-user confirms (a mail scanner following the link
//! unsubscribes nobody). Part of the Connect bundle: end-users only.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::connect::Unsubscription;

use super::language;
use crate::api::{self, ApiError};
use crate::components::loading::Loading;

#[component]
pub fn Unsubscribe(token: String) -> impl IntoView {
    let words = language().get_untracked();
    let token = StoredValue::new(token);
    let about =
        LocalResource::new(move || async move { api::unsubscription(&token.get_value()).await });
    let done = RwSignal::new(None::<Unsubscription>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let confirm = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match api::unsubscribe(&token.get_value()).await {
                Ok(unsubscribed) => done.set(Some(unsubscribed)),
                Err(failure) => error.set(Some(failure.message_in(words))),
            }
            busy.set(false);
        });
    };
    let page = move |about: Result<Unsubscription, ApiError>| {
        match (about, done.get()) {
        (Err(_), _) => view! {
            <div class="empty-state">
                <h1>{words.unsubscribe_invalid_title()}</h1>
                <p>{words.unsubscribe_invalid_text()}</p>
            </div>
        }
        .into_any(),
        (Ok(about), finished) if about.unsubscribed || finished.is_some() => view! {
            <div class="step step-centered">
                <h1 class="step-heading">{words.unsubscribe_done_title()}</h1>
                <p role="status">{words.unsubscribe_done_text(about.organisation_name, about.email)}</p>
            </div>
        }
        .into_any(),
        (Ok(about), _) => view! {
            <div class="step">
                <h1 class="step-heading">{words.unsubscribe_title()}</h1>
                <p>{words.unsubscribe_text(about.organisation_name, about.email)}</p>
                {move || error.get().map(|message| view! { <div class="alert alert-error" role="alert">{message}</div> })}
                <button class="button button-primary button-block" type="button" aria-disabled=move || busy.get().to_string() on:click=confirm>
                    {move || if busy.get() { words.please_wait() } else { words.unsubscribe_button() }}
                </button>
            </div>
        }
        .into_any(),
    }
    };
    view! {
        <Suspense fallback=move || view! { <Loading label=words.please_wait() /> }>
            {move || about.get().map(page)}
        </Suspense>
    }
}
