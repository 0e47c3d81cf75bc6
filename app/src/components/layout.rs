//! The two shells: the dashboard (header, navigation, content, footer) and
//! Connect (one card that fits a 400×650 iframe and a phone).

use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

use crate::api;

/// The bolt-in-a-square logo, decorative (the name beside it is the label).
#[component]
fn BrandMark() -> impl IntoView {
    view! {
        <svg class="brand-mark" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
            <rect width="32" height="32" rx="8" fill="#1b5fd1"></rect>
            <path d="M18 4 8 18h7l-2 10 11-15h-7z" fill="#fff"></path>
        </svg>
    }
}

/// A strip saying the server runs in demo mode, shown only when it does.
#[component]
fn DemoBanner() -> impl IntoView {
    let health = LocalResource::new(api::health);
    move || {
        health
            .get()
            .and_then(Result::ok)
            .filter(|health| health.demo)
            .map(|_| {
                view! {
                    <div class="demo-banner" role="note">
                        "Demo mode: sandbox utilities and demo data. Do not enter real utility logins."
                    </div>
                }
            })
    }
}

/// The operator dashboard's shell.
#[component]
pub fn DashboardLayout() -> impl IntoView {
    let main_content = NodeRef::<leptos::html::Main>::new();
    // The router would treat `#main-content` as a navigation; move focus directly.
    let skip_to_content = move |event: leptos::ev::MouseEvent| {
        event.prevent_default();
        if let Some(main) = main_content.get() {
            let _ = main.focus();
        }
    };
    view! {
        <a class="skip-link" href="#main-content" on:click=skip_to_content>
            "Skip to content"
        </a>
        <div class="dashboard">
            <header class="dashboard-header">
                <DemoBanner />
                <div class="dashboard-bar">
                    <A href="/dashboard" attr:class="brand">
                        <BrandMark />
                        "Gridlink"
                    </A>
                </div>
            </header>
            <nav class="dashboard-nav" aria-label="Main">
                <ul>
                    <li>
                        <A href="/dashboard" exact=true attr:class="nav-link">"Overview"</A>
                    </li>
                </ul>
            </nav>
            <main id="main-content" class="dashboard-main" tabindex="-1" node_ref=main_content>
                <Outlet />
            </main>
            <footer class="site-footer">
                "Gridlink keeps utility accounts connected behind multi-factor authentication."
            </footer>
        </div>
    }
}

/// The Connect widget's shell.
#[component]
pub fn ConnectLayout() -> impl IntoView {
    view! {
        <div class="connect">
            <div class="connect-card">
                <header class="connect-header">
                    <BrandMark />
                    <span>"Gridlink Connect"</span>
                </header>
                <main class="connect-body">
                    <Outlet />
                </main>
                <footer class="connect-footer">
                    "Your login is encrypted and used only to read your utility data."
                </footer>
            </div>
        </div>
    }
}
