//! An update link's first screen: who asks and why, and "Continue". Mail
//! scanners open the links they find; nothing reaches the utility (and no
//! code is sent) until a person continues.

use leptos::prelude::*;
use shared::connect::ConnectState;

use super::common::{flow, words, StepHeading, SubmitButton};
use crate::components::loading::ErrorAlert;

/// "Demo Energy Co needs you to verify your Sandbox Electric account again",
/// the login it is about, and Continue, which starts connecting.
#[component]
pub fn ConfirmStep(state: ConnectState) -> impl IntoView {
    let flow = flow();
    let words = words();
    let utility = state
        .utility_name
        .clone()
        .or_else(|| state.utility_id.clone())
        .unwrap_or_default();
    let error = RwSignal::new(None::<String>);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        flow.run(
            |api| async move { api.reconnect().await },
            move |e| error.set(Some(e.message_in(words))),
        );
    };
    view! {
        <div class="step">
            <StepHeading text=words.confirm_heading(&utility) />
            <p>{words.confirm_text(&state.organisation_name, &utility)}</p>
            {state.username.map(|username| view! { <p class="confirm-login">{words.confirm_login(username)}</p> })}
            <p class="muted">{words.confirm_next(&utility)}</p>
            {move || error.get().map(|message| view! { <ErrorAlert message /> })}
            <form on:submit=submit>
                <SubmitButton label=words.continue_button() />
            </form>
        </div>
    }
}
