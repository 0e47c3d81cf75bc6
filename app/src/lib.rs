//! Gridlink's browser apps: the operator dashboard (`/dashboard…`, [`App`])
//! and Connect (`/connect…`, [`ConnectApp`]: for end-users, made to fit an
//! iframe). They are built as two bundles so end-users download Connect only.

pub mod api;
pub mod components;
pub mod pages;

use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::path;

use components::layout::{ConnectLayout, DashboardLayout};
use pages::connect::{ConnectFlow, ConnectStart};
use pages::dashboard::{
    Account, CredentialDetail, CredentialList, Overview, Settings, SignIn, Webhooks,
};
use pages::not_found::NotFound;

/// Connect's root component: its routes only.
#[component]
pub fn ConnectApp() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=NotFound>
                <ParentRoute path=path!("/connect") view=ConnectLayout>
                    <Route path=path!("") view=ConnectStart />
                    <Route path=path!(":token") view=ConnectFlow />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The dashboard's root component: the router and its routes.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=|| view! { <Redirect path="/dashboard" /> } />
                <Route path=path!("/dashboard/sign-in") view=SignIn />
                <ParentRoute path=path!("/dashboard") view=DashboardLayout>
                    <Route path=path!("") view=Overview />
                    <Route path=path!("credentials") view=CredentialList />
                    <Route path=path!("credentials/:id") view=CredentialDetail />
                    <Route path=path!("webhooks") view=Webhooks />
                    <Route path=path!("settings") view=Settings />
                    <Route path=path!("account") view=Account />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
