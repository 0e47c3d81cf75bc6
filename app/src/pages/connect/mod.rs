//! Connect: the end-user's screens.

mod events;
mod flow;
mod steps;

pub use flow::ConnectFlow;

/// The end-user closes Connect (the Exit button of an embedded Connect).
pub fn exit() {
    events::emit("EXIT", serde_json::json!({}));
}

use leptos::prelude::*;

/// `/connect` without a Connect token: explain how to get a working link.
#[component]
pub fn ConnectStart() -> impl IntoView {
    view! {
        <div class="empty-state">
            <h1>"This link is incomplete"</h1>
            <p>
                "To connect your utility account, open the link you were sent in full, or ask the company that sent it for a new one."
            </p>
        </div>
    }
}
