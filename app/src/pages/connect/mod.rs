//! Connect: the end-user's screens.

mod flow;
mod steps;

pub use flow::ConnectFlow;

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
