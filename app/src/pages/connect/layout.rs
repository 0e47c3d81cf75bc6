//! Connect's shell: one card that fits a 400×650 iframe and a phone, with the
//! organisation's name, logo and accent colour once known.

use leptos::prelude::*;
use shared::connect::Branding;

use super::ConnectLanguage;
use crate::components::brand_mark::BrandMark;

/// What Connect's shell shows of the organisation once the flow knows it.
#[derive(Debug, Clone, Copy)]
pub struct ConnectBrand(pub RwSignal<Option<(String, Branding)>>);

/// Whether this page runs inside a frame (embedded by another page).
pub fn is_embedded() -> bool {
    web_sys::window()
        .and_then(|window| {
            window
                .parent()
                .ok()
                .flatten()
                .map(|parent| parent != window)
        })
        .unwrap_or(false)
}

/// The Connect widget's shell: the organisation's name, logo and accent colour
/// once known, and an Exit button when embedded.
#[component]
pub fn ConnectLayout(children: Children) -> impl IntoView {
    let brand = ConnectBrand(RwSignal::new(None));
    provide_context(brand);
    let language = ConnectLanguage::detect();
    provide_context(language);
    let name = move || brand.0.with(|b| b.as_ref().map(|(name, _)| name.clone()));
    let logo = move || {
        brand.0.with(|b| {
            b.as_ref()
                .and_then(|(_, branding)| branding.logo_url.clone())
        })
    };
    let accent = move || {
        brand.0.with(|b| {
            b.as_ref()
                .and_then(|(_, branding)| branding.accent_color.clone())
        })
    };
    let embedded = is_embedded();
    view! {
        <div class="connect">
            <div
                class="connect-card"
                style:--color-accent=accent
                style:--color-accent-hover=accent
                style:--color-focus=accent
                style:--color-on-accent=move || accent().map(|_| "#ffffff")
            >
                <header class="connect-header" aria-label=move || language.get().connect_header_label()>
                    {move || match logo() {
                        Some(url) => view! { <img class="connect-logo" src=url alt="" /> }.into_any(),
                        None => view! { <BrandMark /> }.into_any(),
                    }}
                    <span class="connect-title">{move || name().unwrap_or_else(|| language.get().connect_title_default().to_owned())}</span>
                    <Show when=move || embedded>
                        <button class="button button-link exit" type="button" on:click=move |_| super::exit()>
                            {move || language.get().exit()}
                        </button>
                    </Show>
                </header>
                <main class="connect-body" aria-label=move || language.get().connect_main_label()>
                    {children()}
                </main>
                <footer class="connect-footer" aria-label=move || language.get().connect_footer_label()>
                    {move || language.get().connect_footer()}
                </footer>
            </div>
        </div>
    }
}
