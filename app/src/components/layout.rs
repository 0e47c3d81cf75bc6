//! The two shells: the dashboard (header, navigation, content, footer) and
//! Connect (one card that fits a 400×650 iframe and a phone).

use leptos::prelude::*;
use leptos_router::components::{Outlet, A};
use leptos_router::hooks::use_navigate;
use shared::connect::Branding;
use shared::operators::Session;

use crate::api::{self, DashboardApi};
use crate::components::loading::{ErrorAlert, Loading};
use crate::pages::connect::ConnectLanguage;
use crate::pages::dashboard::Operator;

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

/// The operator dashboard's shell. It checks the session first: without one
/// it sends the operator to the sign-in page.
#[component]
pub fn DashboardLayout() -> impl IntoView {
    let session = LocalResource::new(api::current_session);
    let navigate = use_navigate();
    view! {
        <Suspense fallback=|| view! { <main class="standalone"><Loading label="Opening the dashboard…" /></main> }>
            {move || {
                let navigate = navigate.clone();
                Suspend::new(async move {
                    match session.await {
                        Ok(session) => view! { <DashboardShell session /> }.into_any(),
                        Err(error) if error.code() == Some(shared::ErrorCode::Unauthenticated) => {
                            navigate("/dashboard/sign-in", Default::default());
                            view! { <main class="standalone"><Loading label="Redirecting to sign in…" /></main> }.into_any()
                        }
                        Err(error) => view! { <main class="standalone"><ErrorAlert message=error.message() /></main> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn DashboardShell(session: Session) -> impl IntoView {
    let api = StoredValue::new(DashboardApi::new(session.csrf_token.clone()));
    let operator_email = session.operator.email.clone();
    let organisation_name = session.organisation.name.clone();
    let is_admin = session.operator.role == shared::operators::Role::Admin;
    provide_context(Operator { session, api });
    let utility_names = super::utility_name::UtilityNames(RwSignal::new(Default::default()));
    provide_context(utility_names);
    leptos::task::spawn_local(async move {
        if let Ok(utilities) = api.get_value().utility_names().await {
            utility_names.0.set(
                utilities
                    .into_iter()
                    .map(|utility| (utility.id, utility.name))
                    .collect(),
            );
        }
    });
    let main_content = NodeRef::<leptos::html::Main>::new();
    // The router would treat `#main-content` as a navigation; move focus directly.
    let skip_to_content = move |event: leptos::ev::MouseEvent| {
        event.prevent_default();
        if let Some(main) = main_content.get() {
            let _ = main.focus();
        }
    };
    let navigate = use_navigate();
    let sign_out = move |_| {
        let navigate = navigate.clone();
        let api = api.get_value();
        leptos::task::spawn_local(async move {
            let _ = api.sign_out().await;
            navigate("/dashboard/sign-in", Default::default());
        });
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
                    <div class="account">
                        <A href="/dashboard/account" attr:class="account-link" attr:title="Your account">{operator_email}</A>
                        <span class="muted">{format!("· {organisation_name}")}</span>
                        <button class="button button-secondary" on:click=sign_out>"Sign out"</button>
                    </div>
                </div>
            </header>
            <nav class="dashboard-nav" aria-label="Main">
                <ul>
                    <li>
                        <A href="/dashboard" exact=true attr:class="nav-link">"Overview"</A>
                    </li>
                    <li>
                        <A href="/dashboard/credentials" attr:class="nav-link">"Manage your credentials"</A>
                    </li>
                    <li>
                        <A href="/dashboard/webhooks" attr:class="nav-link">"Webhooks"</A>
                    </li>
                    <Show when=move || is_admin>
                        <li>
                            <A href="/dashboard/settings" attr:class="nav-link">"Settings"</A>
                        </li>
                    </Show>
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
                        <button class="button button-link exit" type="button" on:click=move |_| crate::pages::connect::exit()>
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
