//! The state a Connect flow shares with its step screens, and how a request
//! or a reload moves it on.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::connect::ConnectState;
use shared::ErrorCode;

use super::language::ConnectLanguage;
use crate::api::{ApiError, ConnectApi};

/// How long a read of the state may wait on "Connecting with your utility"
/// for the login to end: under common proxies' idle timeouts.
const CONNECTING_WAIT_SECONDS: u32 = 20;

/// What the flow shares with its step screens.
#[derive(Clone, Copy)]
pub struct Flow {
    pub api: StoredValue<ConnectApi>,
    pub language: ConnectLanguage,
    pub state: RwSignal<Option<ConnectState>>,
    /// A link that no longer works, or a network failure, replaces the screen.
    pub fatal: RwSignal<Option<ApiError>>,
    /// A request is under way: buttons show it and refuse a second click.
    pub busy: RwSignal<bool>,
}

impl Flow {
    /// Runs a request; its state replaces the current one. Form errors are
    /// returned to the caller; link and network errors end the flow.
    pub fn run<F, Fut>(self, request: F, on_error: impl Fn(ApiError) + 'static)
    where
        F: FnOnce(ConnectApi) -> Fut + 'static,
        Fut: std::future::Future<Output = Result<ConnectState, ApiError>> + 'static,
    {
        if self.busy.get_untracked() {
            return;
        }
        self.busy.set(true);
        let api = self.api.get_value();
        spawn_local(async move {
            let outcome = request(api).await;
            self.busy.set(false);
            match outcome {
                Ok(state) => self.show(state),
                Err(error) if is_fatal(&error) => self.fatal.set(Some(error)),
                Err(error) => on_error(error),
            }
        });
    }

    /// Shows a new state, in the organisation's language if nobody chose one.
    fn show(self, state: ConnectState) {
        self.language
            .use_organisation_default(state.branding.default_language);
        let language = self.language.get_untracked();
        self.api.update_value(|api| api.language = language);
        self.state.set(Some(state));
    }

    /// Reloads the state.
    pub fn refresh(self) {
        let api = self.api.get_value();
        spawn_local(async move {
            let answer = api.session().await;
            self.show_answer(answer);
        });
    }

    /// Reloads the state once the login under way ends (the server holds
    /// the read until then, up to [`CONNECTING_WAIT_SECONDS`]), then `done`.
    pub fn refresh_after_connecting(self, done: impl FnOnce() + 'static) {
        let api = self.api.get_value();
        spawn_local(async move {
            let answer = api.session_after_connecting(CONNECTING_WAIT_SECONDS).await;
            self.show_answer(answer);
            done();
        });
    }

    /// A reload's answer: a new state, or a link or network error that ends
    /// the flow; other errors leave the screen as it is until the next one.
    fn show_answer(self, answer: Result<ConnectState, ApiError>) {
        match answer {
            Ok(state) => self.show(state),
            Err(error) if is_fatal(&error) => self.fatal.set(Some(error)),
            Err(_) => {}
        }
    }
}

pub fn is_fatal(error: &ApiError) -> bool {
    matches!(
        error.code(),
        Some(
            ErrorCode::ConnectLinkExpired
                | ErrorCode::ConnectLinkUsed
                | ErrorCode::ConnectLinkRevoked
                | ErrorCode::ConnectLinkReplaced
                | ErrorCode::Unauthenticated
        )
    ) || *error == ApiError::Network
}
