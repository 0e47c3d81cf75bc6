//! Choose the utility (searchable), then enter the login.

use leptos::prelude::*;
use shared::connect::{ConnectState, SubmitCredentials, Utility};
use shared::validation::{Password, Username};

use super::common::{current, flow, words, Field, StepHeading, SubmitButton};
use super::recovery_alert::RecoveryAlertOffer;
use crate::api::ApiError;
use crate::components::loading::{ErrorAlert, Loading};

/// Choose the utility (searchable), then enter the login.
#[component]
pub fn CredentialsStep(state: ConnectState) -> impl IntoView {
    let chosen = RwSignal::new(state.utility_id.clone());
    let preset = state.utility_id.is_some();
    let utilities = utilities_resource();
    move || match chosen.get() {
        None => view! { <UtilityPicker chosen utilities /> }.into_any(),
        Some(utility_id) => {
            view! { <LoginForm utility_id chosen can_change=!preset utilities /> }.into_any()
        }
    }
}

pub(super) type Utilities = LocalResource<Result<Vec<Utility>, ApiError>>;

/// The utilities to choose from, each saying whether it is having trouble.
pub(super) fn utilities_resource() -> Utilities {
    let flow = flow();
    LocalResource::new(move || {
        let api = flow.api.get_value();
        async move { api.utilities().await }
    })
}

#[component]
fn UtilityPicker(chosen: RwSignal<Option<String>>, utilities: Utilities) -> impl IntoView {
    let search = RwSignal::new(String::new());
    let organisation = current(|state| state.organisation_name.clone());
    let words = words();
    view! {
        <div class="step">
            <StepHeading text=words.choose_utility() />
            <p class="muted">{move || organisation().map(|name| words.organisation_uses_gridlink(name))}</p>
            <div class="field">
                <label class="field-label" for="utility-search">{words.search_utilities()}</label>
                <input
                    class="input"
                    id="utility-search"
                    type="search"
                    autocomplete="off"
                    prop:value=move || search.get()
                    on:input=move |event| search.set(event_target_value(&event))
                />
            </div>
            <Suspense fallback=move || view! { <Loading label=words.loading_utilities() /> }>
                {move || Suspend::new(async move {
                    match utilities.await {
                        Err(error) => view! { <ErrorAlert message=error.message_in(words) /> }.into_any(),
                        Ok(list) => view! {
                            <ul class="choice-list" aria-label=words.utilities_label()>
                                {move || {
                                    let needle = search.get().to_lowercase();
                                    let matching: Vec<_> = list
                                        .iter()
                                        .filter(|utility| utility.name.to_lowercase().contains(&needle))
                                        .cloned()
                                        .collect();
                                    if matching.is_empty() {
                                        return view! { <li class="muted">{words.no_utility_matches()}</li> }.into_any();
                                    }
                                    matching
                                        .into_iter()
                                        .map(|utility| {
                                            let id = utility.id.clone();
                                            let trouble = utility.trouble_since.is_some();
                                            view! {
                                                <li>
                                                    <button class="choice" type="button" on:click=move |_| chosen.set(Some(id.clone()))>
                                                        {utility.name}
                                                        <Show when=move || trouble>
                                                            <span class="choice-note">{words.utility_trouble_note()}</span>
                                                        </Show>
                                                    </button>
                                                </li>
                                            }
                                        })
                                        .collect_view()
                                        .into_any()
                                }}
                            </ul>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
pub(super) fn LoginForm(
    utility_id: String,
    chosen: RwSignal<Option<String>>,
    can_change: bool,
    utilities: Utilities,
) -> impl IntoView {
    let flow = flow();
    let words = words();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let username_error = RwSignal::new(None::<String>);
    let password_error = RwSignal::new(None::<String>);
    let form_error = RwSignal::new(None::<String>);
    let accepted = RwSignal::new(false);
    let consent_error = RwSignal::new(None::<String>);
    let branding = current(|state| state.branding.clone());
    let organisation = current(|state| state.organisation_name.clone())().unwrap_or_default();
    let (terms_url, privacy_url) = branding()
        .map(|b| (b.terms_url, b.privacy_url))
        .unwrap_or_default();
    let needs_consent = terms_url.is_some() || privacy_url.is_some();
    let trouble_notice = {
        let utility_id = utility_id.clone();
        move || {
            let utility_id = utility_id.clone();
            Suspend::new(async move {
                utilities
                    .await
                    .ok()
                    .and_then(|list| {
                        list.into_iter()
                            .find(|u| u.id == utility_id && u.trouble_since.is_some())
                    })
                    .map(|utility| {
                        view! {
                            <div class="alert alert-warning" role="status">
                                {words.utility_trouble_notice(&utility.name)}
                            </div>
                            <RecoveryAlertOffer utility_id=utility.id utility_name=utility.name />
                        }
                    })
            })
        }
    };
    let utility_for_submit = utility_id;
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        // The same rules as the server, in the same words.
        username_error.set(
            Username::parse(&username.get_untracked())
                .err()
                .map(|e| e.in_language(words).to_owned()),
        );
        password_error.set(
            Password::parse(&password.get_untracked())
                .err()
                .map(|e| e.in_language(words).to_owned()),
        );
        consent_error.set(
            (needs_consent && !accepted.get_untracked())
                .then(|| words.consent_required().to_owned()),
        );
        if username_error.with_untracked(Option::is_some)
            || password_error.with_untracked(Option::is_some)
            || consent_error.with_untracked(Option::is_some)
        {
            return;
        }
        form_error.set(None);
        let body = SubmitCredentials {
            utility_id: utility_for_submit.clone(),
            username: username.get_untracked(),
            password: password.get_untracked(),
            accepted_terms: accepted.get_untracked(),
        };
        flow.run(
            move |api| async move {
                let state = api.submit_credentials(&body).await?;
                crate::pages::connect::events::emit(
                    "CREDENTIALS_SUBMITTED",
                    serde_json::json!({"credentialId": state.credential_id}),
                );
                Ok(state)
            },
            move |error| {
                username_error.set(error.field("username"));
                password_error.set(error.field("password"));
                consent_error.set(error.field("acceptedTerms"));
                form_error.set(Some(error.message_in(words)));
            },
        );
    };
    view! {
        <div class="step">
            <StepHeading text=words.enter_login() />
            <p class="muted">{words.enter_login_hint()}</p>
            <Suspense fallback=|| ()>{trouble_notice}</Suspense>
            {move || form_error.get().map(|message| view! { <ErrorAlert message /> })}
            <form on:submit=submit novalidate>
                <Field id="username" label=words.username() value=username error=username_error autocomplete="username" />
                <Field id="password" label=words.password() value=password error=password_error input_type="password" autocomplete="current-password" />
                <Show when=move || needs_consent>
                    <div class="field consent">
                        <label class="checkbox">
                            <input
                                type="checkbox"
                                id="consent"
                                aria-describedby="consent-error"
                                prop:checked=move || accepted.get()
                                on:change=move |event| accepted.set(event_target_checked(&event))
                            />
                            <span>{words.consent_intro(&organisation)}" "
                                {terms_url.clone().map(|url| view! { <a href=url target="_blank" rel="noopener">{words.consent_terms()}</a> })}
                                {(terms_url.is_some() && privacy_url.is_some()).then(|| format!(" {} ", words.consent_and()))}
                                {privacy_url.clone().map(|url| view! { <a href=url target="_blank" rel="noopener">{words.consent_privacy()}</a> })}
                                "."
                            </span>
                        </label>
                        {move || consent_error.get().map(|message| view! { <p class="field-error" id="consent-error">{message}</p> })}
                    </div>
                </Show>
                <SubmitButton label=words.submit() />
            </form>
            <Show when=move || can_change>
                <button class="button button-link" type="button" on:click=move |_| chosen.set(None)>
                    {words.choose_another_utility()}
                </button>
            </Show>
        </div>
    }
}
