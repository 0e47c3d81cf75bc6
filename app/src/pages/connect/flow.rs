//! Connect's flow for one token: loads the session, shows the screen for its
//! step, and moves it on. Every server answer replaces the whole state, so a
//! reload resumes exactly where the end-user was.

use std::time::Duration;

use leptos::prelude::*;
use shared::connect::{ConnectPurpose, ConnectStep};
use shared::ErrorCode;

use serde_json::json;

use super::events;
use super::language::language;
use super::layout::ConnectBrand;
use super::state::Flow;
use super::steps::{
    ChooseMethodStep, ConfirmStep, ConnectingStep, CredentialsStep, EnterCodeStep, FailedStep,
    SuccessStep,
};
use crate::api::{ApiError, ConnectApi};
use crate::components::loading::Loading;

/// `/connect/{token}`: the whole flow.
#[component]
pub fn ConnectFlow(token: String) -> impl IntoView {
    let language = language();
    let flow = Flow {
        api: StoredValue::new(ConnectApi::new(token, language.get_untracked())),
        language,
        state: RwSignal::new(None),
        fatal: RwSignal::new(None),
        busy: RwSignal::new(false),
    };
    provide_context(flow);
    flow.refresh();

    // "Retry MFA Verification" (an operator's, in the dashboard) starts
    // connecting at once: no login to re-enter. An update link waits for
    // Continue instead ([`ConfirmStep`]): mail scanners open links too. Once
    // only: a read that left before the reconnect landed can still answer
    // "start" after it, and a second reconnect would find the link used.
    // Should the first fail, the connecting screen offers "Try again".
    let reconnect_sent = StoredValue::new(false);
    Effect::new(move |_| {
        let at_start = flow.state.with(|state| {
            state.as_ref().is_some_and(|state| {
                state.step == ConnectStep::Start && !asks_before_connecting(state.purpose)
            })
        });
        if at_start && !reconnect_sent.get_value() {
            reconnect_sent.set_value(true);
            flow.run(|api| async move { api.reconnect().await }, |_| {});
        }
    });

    // The shell shows the organisation; the embedding page hears every step.
    let brand = expect_context::<ConnectBrand>();
    let opened = StoredValue::new(false);
    Effect::new(move |previous: Option<Option<ConnectStep>>| {
        let (step, name, branding, credential_id, failure) = flow.state.with(|state| {
            state.as_ref().map(|s| {
                (
                    s.step,
                    s.organisation_name.clone(),
                    s.branding.clone(),
                    s.credential_id.clone(),
                    s.failure,
                )
            })
        })?;
        if !opened.get_value() {
            opened.set_value(true);
            events::allow_origins(&branding.embed_origins);
            brand.0.set(Some((name, branding)));
            events::emit("OPEN", json!({}));
        }
        if previous.flatten() != Some(step) {
            events::emit("TRANSITION_VIEW", json!({"view": step_name(step)}));
            match step {
                ConnectStep::Success => {
                    events::emit("SUCCESS", json!({"credentialId": credential_id}))
                }
                ConnectStep::Failed => events::emit("ERROR", json!({"code": failure})),
                _ => {}
            }
        }
        Some(step)
    });
    Effect::new(move |_| {
        if let Some(error) = flow.fatal.get() {
            events::emit("ERROR", json!({"code": error.code()}));
        }
    });

    // Each new step's heading takes the focus, so screen readers announce it.
    Effect::new(move |_| {
        let step = flow
            .state
            .with(|state| state.as_ref().map(|state| state.step));
        let fatal = flow.fatal.with(Option::is_some);
        if step.is_some() || fatal {
            set_timeout(focus_step_heading, Duration::from_millis(0));
        }
    });

    // Screens change with the step only: polling the same step keeps the screen
    // (and what the end-user typed) in place.
    let step = Memo::new(move |_| {
        flow.state
            .with(|state| state.as_ref().map(|state| state.step))
    });
    move || {
        if let Some(error) = flow.fatal.get() {
            return view! { <LinkProblem error /> }.into_any();
        }
        let (Some(step), Some(state)) = (step.get(), flow.state.get_untracked()) else {
            return view! { <Loading label=language.get_untracked().opening_connect() /> }
                .into_any();
        };
        match step {
            ConnectStep::EnterCredentials => view! { <CredentialsStep state /> }.into_any(),
            ConnectStep::Start if asks_before_connecting(state.purpose) => {
                view! { <ConfirmStep state /> }.into_any()
            }
            ConnectStep::Start | ConnectStep::Connecting => view! { <ConnectingStep /> }.into_any(),
            ConnectStep::ChooseMethod => view! { <ChooseMethodStep state /> }.into_any(),
            ConnectStep::EnterCode => view! { <EnterCodeStep state /> }.into_any(),
            ConnectStep::Success => view! { <SuccessStep state /> }.into_any(),
            ConnectStep::Failed => view! { <FailedStep state /> }.into_any(),
        }
    }
}

/// Whether Connect shows who asks and waits for Continue before it contacts
/// the utility: for links sent to end-users (mailed, copied, bulk), which mail
/// scanners follow; not for the operator's own "Retry MFA Verification".
fn asks_before_connecting(purpose: ConnectPurpose) -> bool {
    purpose == ConnectPurpose::UpdateLink
}

/// The view name sent with TRANSITION_VIEW.
fn step_name(step: ConnectStep) -> &'static str {
    match step {
        ConnectStep::EnterCredentials => "ENTER_CREDENTIALS",
        ConnectStep::Start => "START",
        ConnectStep::Connecting => "CONNECTING",
        ConnectStep::ChooseMethod => "CHOOSE_METHOD",
        ConnectStep::EnterCode => "ENTER_CODE",
        ConnectStep::Success => "SUCCESS",
        ConnectStep::Failed => "FAILED",
    }
}

fn focus_step_heading() {
    if let Some(heading) = document()
        .query_selector("[data-step-heading]")
        .ok()
        .flatten()
    {
        if let Ok(heading) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(heading) {
            let _ = heading.focus();
        }
    }
}

/// A link that cannot be used, or a lost connection: what happened and what to do.
#[component]
fn LinkProblem(error: ApiError) -> impl IntoView {
    let flow = expect_context::<Flow>();
    let words = flow.language.get_untracked();
    let (title, text) = match error.code() {
        Some(ErrorCode::ConnectLinkExpired) => (
            words.link_expired_title(),
            words.link_expired_text().to_owned(),
        ),
        Some(ErrorCode::ConnectLinkUsed) => {
            (words.link_used_title(), words.link_used_text().to_owned())
        }
        Some(ErrorCode::ConnectLinkRevoked) => (
            words.link_revoked_title(),
            words.link_revoked_text().to_owned(),
        ),
        Some(ErrorCode::ConnectLinkReplaced) => (
            words.link_replaced_title(),
            words.link_replaced_text().to_owned(),
        ),
        Some(ErrorCode::Unauthenticated) => (
            words.link_invalid_title(),
            words.link_invalid_text().to_owned(),
        ),
        _ => (words.connection_lost_title(), error.message_in(words)),
    };
    // Gone network or a database briefly away: the same request may work soon.
    let can_retry = error == ApiError::Network
        || matches!(
            error.code(),
            Some(ErrorCode::DatabaseUnavailable | ErrorCode::StorageFull)
        );
    view! {
        <div class="step">
            <h1 tabindex="-1" data-step-heading>{title}</h1>
            <p>{text}</p>
            <Show when=move || can_retry>
                <button
                    class="button button-primary button-block"
                    on:click=move |_| {
                        flow.fatal.set(None);
                        flow.refresh();
                    }
                >
                    {words.try_again()}
                </button>
            </Show>
        </div>
    }
}
