//! Gridlink's browser apps: the operator dashboard (`/dashboard…`, [`App`])
//! and Connect (`/connect…`, [`ConnectApp`]: for end-users, made to fit an
//! iframe). They are built as two bundles so end-users download Connect only.

pub mod api;
pub mod components;
pub mod pages;

use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::path;

use pages::connect::{ConnectFlow, ConnectLayout, ConnectStart, Unsubscribe};
use pages::dashboard::{
    Account, AuditLog, CredentialDetail, CredentialList, DashboardLayout, ForgotPassword, Overview,
    SetPassword, Settings, SignIn, Webhooks,
};
use pages::not_found::NotFound;

/// Connect's root component. Connect has one page per link and never
/// navigates, so it reads its token from the address itself rather than
/// carrying a router: end-users download less.
#[component]
pub fn ConnectApp() -> impl IntoView {
    let path = window().location().pathname().unwrap_or_default();
    view! {
        <ConnectLayout>
            {match (connect_token(&path), unsubscribe_token(&path)) {
                (Some(token), _) => view! { <ConnectFlow token /> }.into_any(),
                (None, Some(token)) => view! { <Unsubscribe token /> }.into_any(),
                (None, None) => view! { <ConnectStart /> }.into_any(),
            }}
        </ConnectLayout>
    }
}

/// The token of `/connect/{token}`; anything else under `/connect` has none.
fn connect_token(path: &str) -> Option<String> {
    path.strip_prefix("/connect/")
        .map(|token| token.trim_end_matches('/'))
        .filter(|token| !token.is_empty() && !token.contains('/'))
        .map(str::to_owned)
}

/// The token of `/unsubscribe/{token}` (a link in a notice).
fn unsubscribe_token(path: &str) -> Option<String> {
    path.strip_prefix("/unsubscribe/")
        .map(|token| token.trim_end_matches('/'))
        .filter(|token| !token.is_empty() && !token.contains('/'))
        .map(str::to_owned)
}

/// The dashboard's root component: the router and its routes.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=|| view! { <Redirect path="/dashboard" /> } />
                <Route path=path!("/dashboard/sign-in") view=SignIn />
                <Route path=path!("/dashboard/forgot-password") view=ForgotPassword />
                <Route path=path!("/dashboard/set-password/:token") view=SetPassword />
                <ParentRoute path=path!("/dashboard") view=DashboardLayout>
                    <Route path=path!("") view=Overview />
                    <Route path=path!("credentials") view=CredentialList />
                    <Route path=path!("credentials/:id") view=CredentialDetail />
                    <Route path=path!("webhooks") view=Webhooks />
                    <Route path=path!("settings") view=Settings />
                    <Route path=path!("audit-log") view=AuditLog />
                    <Route path=path!("account") view=Account />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[cfg(test)]
mod tests {
    use super::connect_token;

    #[test]
    fn only_a_single_segment_after_connect_is_a_token() {
        assert_eq!(connect_token("/connect/gct_abc"), Some("gct_abc".into()));
        assert_eq!(connect_token("/connect/gct_abc/"), Some("gct_abc".into()));
        assert_eq!(connect_token("/connect"), None);
        assert_eq!(connect_token("/connect/"), None);
        assert_eq!(connect_token("/connect/a/b"), None);
        assert_eq!(connect_token("/connectx/a"), None);
    }
}
