//! The dashboard's shell: header, navigation, content and footer, opened
//! once the operator's session is known.

use leptos::prelude::*;
use leptos_router::components::{Outlet, A};
use leptos_router::hooks::use_navigate;
use shared::operators::Session;

use super::Operator;
use crate::api::{self, DashboardApi};
use crate::components::brand_mark::BrandMark;
use crate::components::loading::{ErrorAlert, Loading};

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
    // Required and not set up: the account page, before anything else.
    let must_set_up_second_factor = session.must_set_up_second_factor;
    provide_context(Operator { session, api });
    if must_set_up_second_factor {
        let navigate = use_navigate();
        let location = leptos_router::hooks::use_location();
        Effect::new(move |_| {
            if location.pathname.get() != "/dashboard/account" {
                navigate("/dashboard/account", Default::default());
            }
        });
    }
    let utility_names =
        crate::components::utility_name::UtilityNames(RwSignal::new(Default::default()));
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
    // On a narrow screen the navigation folds behind a menu button; it folds
    // again when a link in it is followed, and on Escape.
    let menu_open = RwSignal::new(false);
    let menu_button = NodeRef::<leptos::html::Button>::new();
    let close_menu_on_escape = move |event: leptos::ev::KeyboardEvent| {
        if event.key() == "Escape" && menu_open.get_untracked() {
            menu_open.set(false);
            if let Some(button) = menu_button.get() {
                let _ = button.focus();
            }
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
                    <button class="button button-secondary nav-toggle" node_ref=menu_button
                        aria-controls="dashboard-nav" aria-expanded=move || menu_open.get().to_string()
                        on:click=move |_| menu_open.update(|open| *open = !*open) on:keydown=close_menu_on_escape>
                        "Menu"
                    </button>
                    <div class="account">
                        <A href="/dashboard/account" attr:class="account-link" attr:title="Your account">{operator_email}</A>
                        <span class="muted">{format!("· {organisation_name}")}</span>
                        <button class="button button-secondary" on:click=sign_out>"Sign out"</button>
                    </div>
                </div>
            </header>
            <nav id="dashboard-nav" class="dashboard-nav" class:nav-open=move || menu_open.get()
                aria-label="Main" on:keydown=close_menu_on_escape>
                <ul on:click=move |_| menu_open.set(false)>
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
                        <li>
                            <A href="/dashboard/audit-log" attr:class="nav-link">"Audit log"</A>
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
