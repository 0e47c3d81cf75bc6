//! Connect inside the dashboard: a modal dialog with Connect in an iframe.
//! Connect tells its same-origin parent when it succeeded (only a message from
//! Gridlink's origin *and* from that very iframe is believed): the page behind
//! updates at once, and the dialog stays open on Connect's success screen
//! until the operator closes it with "Done".

use leptos::prelude::*;

/// Shows Connect at `url` while it is set; `on_success` runs when Connect
/// reports SUCCESS (the dialog then offers "Done"), and closing it clears `url`.
#[component]
pub fn ConnectDialog(
    url: RwSignal<Option<String>>,
    #[prop(into)] title: String,
    on_success: Callback<()>,
    on_close: Callback<()>,
) -> impl IntoView {
    let frame = NodeRef::<leptos::html::Iframe>::new();
    let succeeded = RwSignal::new(false);
    let _listener = window_event_listener(leptos::ev::message, move |event| {
        let own_origin = web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_default();
        if event.origin() != own_origin || url.get_untracked().is_none() {
            return;
        }
        let from_connect = match (
            event.source(),
            frame
                .get_untracked()
                .and_then(|iframe| iframe.content_window()),
        ) {
            (Some(source), Some(connect)) => js_sys::Object::is(&source, &connect),
            _ => false,
        };
        if !from_connect {
            return;
        }
        if event
            .data()
            .as_string()
            .is_some_and(|data| data.contains("\"type\":\"SUCCESS\""))
            && !succeeded.get_untracked()
        {
            succeeded.set(true);
            on_success.run(());
        }
    });
    let close = move |_| {
        url.set(None);
        succeeded.set(false);
        on_close.run(());
    };
    let on_keydown = move |event: leptos::ev::KeyboardEvent| {
        if event.key() == "Escape" {
            url.set(None);
            succeeded.set(false);
            on_close.run(());
        }
    };
    move || {
        let title = title.clone();
        url.get().map(|src| {
            view! {
                <div class="dialog-backdrop" on:keydown=on_keydown>
                    <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="dialog-title">
                        <div class="dialog-header">
                            <h2 id="dialog-title">{title}</h2>
                            <button
                                class=move || if succeeded.get() { "button" } else { "button button-secondary" }
                                autofocus
                                on:click=close
                            >
                                {move || if succeeded.get() { "Done" } else { "Close" }}
                            </button>
                        </div>
                        <iframe class="connect-frame" node_ref=frame src=src title="Gridlink Connect"></iframe>
                    </div>
                </div>
            }
        })
    }
}
