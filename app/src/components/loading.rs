//! Progress and error states used wherever the app waits for the server.

use leptos::prelude::*;

use crate::api::ApiError;

/// A spinner with a sentence saying what is being waited for, announced politely.
#[component]
pub fn Loading(#[prop(into)] label: String) -> impl IntoView {
    view! {
        <div class="loading" role="status" aria-live="polite">
            <span class="spinner" aria-hidden="true"></span>
            <span>{label}</span>
        </div>
    }
}

/// An error message in an alert that screen readers announce at once.
#[component]
pub fn ErrorAlert(#[prop(into)] message: String) -> impl IntoView {
    view! {
        <div class="alert alert-error" role="alert">
            {message}
        </div>
    }
}

/// "Load, then show": `label` with a spinner while `resource` first loads (a
/// reload keeps the last answer on screen), the error if it failed, and the
/// children with the value otherwise (`<Loaded resource label let:value>`).
#[component]
pub fn Loaded<T, V, Then>(
    resource: LocalResource<Result<T, ApiError>>,
    #[prop(into)] label: String,
    children: Then,
) -> impl IntoView
where
    T: Clone + 'static,
    V: IntoView + 'static,
    Then: Fn(T) -> V + Clone + Send + Sync + 'static,
{
    view! {
        <Transition fallback=move || view! { <Loading label=label.clone() /> }>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    match resource.await {
                        Ok(value) => children(value).into_any(),
                        Err(error) => view! { <ErrorAlert message=error.message() /> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}
