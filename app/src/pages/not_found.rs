//! The page for any address the app does not know.

use leptos::prelude::*;
use leptos_router::components::A;

/// "Page not found", with ways back.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <main class="standalone">
            <div class="card">
                <h1>"Page not found"</h1>
                <p>"There is nothing at this address. It may have moved, or the link may be mistyped."</p>
                <A href="/dashboard" attr:class="button button-primary">"Go to the dashboard"</A>
            </div>
        </main>
    }
}
