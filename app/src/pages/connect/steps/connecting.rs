//! "Connecting with your utility".

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;

use super::common::{flow, StepHeading};

/// "Connecting with your utility": progress that moves, a read of the state
/// that the server answers when the login ends (asked again, at most once a
/// second, while the answer is still "Connecting"), and after a while an
/// explanation with a way to wait or retry.
#[component]
pub fn ConnectingStep() -> impl IntoView {
    let flow = flow();
    let seconds = RwSignal::new(0u32);
    let asking = Rc::new(Cell::new(false));
    let ask = move || {
        if !asking.replace(true) {
            let asking = Rc::clone(&asking);
            flow.refresh_after_connecting(move || asking.set(false));
        }
    };
    ask();
    if let Ok(handle) = set_interval_with_handle(
        move || {
            seconds.update(|s| *s += 1);
            ask();
        },
        Duration::from_secs(1),
    ) {
        on_cleanup(move || handle.clear());
    }
    let slow = move || seconds.get() >= 15;
    let words = flow.language.get_untracked();
    view! {
        <div class="step">
            <StepHeading text=words.connecting_heading() />
            <div class="progress" role="progressbar" aria-label=words.connecting_label() aria-valuetext=words.connecting_label()>
                <div class="progress-bar"></div>
            </div>
            <p role="status" aria-live="polite">
                {move || match seconds.get() {
                    0..=4 => words.connecting_signing_in(),
                    5..=14 => words.connecting_waiting(),
                    _ => words.connecting_slow(),
                }}
            </p>
            <Show when=slow>
                <p class="muted">{words.connecting_slow_hint()}</p>
                <div class="button-row">
                    <button class="button button-secondary" type="button" on:click=move |_| seconds.set(5)>
                        {words.keep_waiting()}
                    </button>
                    <button
                        class="button button-primary"
                        type="button"
                        on:click=move |_| {
                            seconds.set(0);
                            flow.run(|api| async move { api.reconnect().await }, |_| {});
                        }
                    >
                        {words.try_again()}
                    </button>
                </div>
            </Show>
        </div>
    }
}
