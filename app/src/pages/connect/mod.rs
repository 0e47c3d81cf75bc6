//! Connect: the end-user's screens.

mod events;
mod flow;
mod language;
mod layout;
mod state;
mod steps;
mod unsubscribe;

pub use flow::ConnectFlow;
pub use language::{language, ConnectLanguage};
pub use layout::ConnectLayout;
pub use unsubscribe::Unsubscribe;

/// The end-user closes Connect (the Exit button of an embedded Connect).
pub fn exit() {
    events::emit("EXIT", serde_json::json!({}));
}

use leptos::prelude::*;

/// `/connect` without a Connect token: explain how to get a working link.
#[component]
pub fn ConnectStart() -> impl IntoView {
    let words = language().get_untracked();
    view! {
        <div class="empty-state">
            <h1>{words.link_incomplete_title()}</h1>
            <p>{words.link_incomplete_text()}</p>
        </div>
    }
}
