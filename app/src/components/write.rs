//! Every write the dashboard makes to the API (a form or a button) goes
//! through [`Write`], so all of them behave alike: the control is busy while
//! the request runs and a second click does nothing, the previous error is
//! cleared, and the error a request ends with is kept for the page to show —
//! beside its field for VALIDATION_FAILED, above the form otherwise.

use std::future::Future;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::ErrorCode;

use crate::api::ApiError;

/// One control's writes: whether one is running and how the last one failed.
#[derive(Debug, Clone, Copy)]
pub struct Write {
    busy: RwSignal<bool>,
    failure: RwSignal<Option<ApiError>>,
}

impl Default for Write {
    fn default() -> Self {
        Write {
            busy: RwSignal::new(false),
            failure: RwSignal::new(None),
        }
    }
}

impl Write {
    /// Sends `request` unless one is already running; `on_success` gets the answer.
    pub fn run<T: 'static>(
        self,
        request: impl Future<Output = Result<T, ApiError>> + 'static,
        on_success: impl FnOnce(T) + 'static,
    ) {
        if self.busy.get_untracked() {
            return;
        }
        self.busy.set(true);
        self.failure.set(None);
        spawn_local(async move {
            match request.await {
                Ok(answer) => on_success(answer),
                Err(error) => self.failure.set(Some(error)),
            }
            self.busy.set(false);
        });
    }

    /// Whether a request is running (for `disabled` and "Saving…").
    pub fn busy(self) -> bool {
        self.busy.get()
    }

    /// The server's sentence about one field of the last request.
    pub fn field_error(self, field: &'static str) -> Signal<Option<String>> {
        Signal::derive(move || {
            self.failure
                .with(|failure| failure.as_ref().and_then(|error| error.field(field)))
        })
    }

    /// The last error's sentence, unless it is about fields (those show
    /// beside them).
    pub fn error(self) -> Signal<Option<String>> {
        Signal::derive(move || {
            self.failure.with(|failure| {
                failure
                    .as_ref()
                    .filter(|error| error.code() != Some(ErrorCode::ValidationFailed))
                    .map(ApiError::message)
            })
        })
    }

    /// The last error itself, for a page that maps its fields its own way.
    pub fn failure(self) -> Signal<Option<ApiError>> {
        self.failure.into()
    }

    /// The last error's sentence, whatever it was about (for a control with
    /// no fields of its own).
    pub fn any_error(self) -> Signal<Option<String>> {
        Signal::derive(move || {
            self.failure
                .with(|failure| failure.as_ref().map(ApiError::message))
        })
    }
}
