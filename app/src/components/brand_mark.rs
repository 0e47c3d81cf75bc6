//! Gridlink's logo, for both shells.

use leptos::prelude::*;

/// The bolt-in-a-square logo, decorative (the name beside it is the label).
#[component]
pub fn BrandMark() -> impl IntoView {
    view! {
        <svg class="brand-mark" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
            <rect width="32" height="32" rx="8" fill="#1b5fd1"></rect>
            <path d="M18 4 8 18h7l-2 10 11-15h-7z" fill="#fff"></path>
        </svg>
    }
}
