//! One component per Connect step. Each reads the flow's state reactively and
//! moves the flow on through [`Flow::run`].

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use shared::connect::{ConnectFailure, ConnectPurpose, ConnectState, SubmitCredentials, Utility};
use shared::i18n::Language;
use shared::validation::{EmailAddress, OtpCode, Password, Username};
use shared::MfaMethod;

use super::flow::Flow;
use crate::api::ApiError;
use crate::components::loading::{ErrorAlert, Loading};

fn flow() -> Flow {
    expect_context::<Flow>()
}

/// Connect's words in its language now.
fn words() -> Language {
    flow().language.get_untracked()
}

/// A value of the current state (the step's own screen only exists while there is one).
fn current<T: 'static>(read: impl Fn(&ConnectState) -> T + 'static) -> impl Fn() -> Option<T> {
    let flow = flow();
    move || flow.state.with(|state| state.as_ref().map(&read))
}

/// A step's heading: focused when the step appears.
#[component]
fn StepHeading(#[prop(into)] text: String) -> impl IntoView {
    view! { <h1 tabindex="-1" data-step-heading>{text}</h1> }
}

/// A labelled text field with its error, wired for screen readers.
#[component]
fn Field(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    error: RwSignal<Option<String>>,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional)] inputmode: Option<&'static str>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let described_by = error_id.clone();
    view! {
        <div class="field">
            <label class="field-label" for=id>{label}</label>
            <input
                class="input"
                id=id
                name=id
                type=input_type
                autocomplete=autocomplete
                inputmode=inputmode
                aria-invalid=move || error.with(Option::is_some).to_string()
                aria-describedby=move || error.with(Option::is_some).then(|| described_by.clone())
                prop:value=move || value.get()
                on:input=move |event| value.set(event_target_value(&event))
            />
            {move || error.get().map(|message| view! { <p class="field-error" id=error_id.clone()>{message}</p> })}
        </div>
    }
}

/// The submit button: says what is happening while a request is under way.
#[component]
fn SubmitButton(#[prop(into)] label: String) -> impl IntoView {
    let flow = flow();
    view! {
        <button class="button button-primary button-block" type="submit" aria-disabled=move || flow.busy.get().to_string()>
            {move || if flow.busy.get() { flow.language.get().please_wait().to_owned() } else { label.clone() }}
        </button>
    }
}

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

type Utilities = LocalResource<Result<Vec<Utility>, ApiError>>;

/// The utilities to choose from, each saying whether it is having trouble.
fn utilities_resource() -> Utilities {
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
fn LoginForm(
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
                                {words.utility_trouble_notice(utility.name)}
                            </div>
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
                super::events::emit(
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

/// "Connecting with your utility": progress that moves, a read of the state
/// that the server answers when the login ends (asked again, at most once a
/// second, while the answer is still "Connecting"), and after a while an
/// explanation with a way to wait or retry.
#[component]
pub fn ConnectingStep() -> impl IntoView {
    let flow = flow();
    let seconds = RwSignal::new(0u32);
    let asking = Rc::new(Cell::new(false));
    let ask = move || {
        if !asking.replace(true) {
            let asking = Rc::clone(&asking);
            flow.refresh_after_connecting(move || asking.set(false));
        }
    };
    ask();
    if let Ok(handle) = set_interval_with_handle(
        move || {
            seconds.update(|s| *s += 1);
            ask();
        },
        Duration::from_secs(1),
    ) {
        on_cleanup(move || handle.clear());
    }
    let slow = move || seconds.get() >= 15;
    let words = flow.language.get_untracked();
    view! {
        <div class="step">
            <StepHeading text=words.connecting_heading() />
            <div class="progress" role="progressbar" aria-label=words.connecting_label() aria-valuetext=words.connecting_label()>
                <div class="progress-bar"></div>
            </div>
            <p role="status" aria-live="polite">
                {move || match seconds.get() {
                    0..=4 => words.connecting_signing_in(),
                    5..=14 => words.connecting_waiting(),
                    _ => words.connecting_slow(),
                }}
            </p>
            <Show when=slow>
                <p class="muted">{words.connecting_slow_hint()}</p>
                <div class="button-row">
                    <button class="button button-secondary" type="button" on:click=move |_| seconds.set(5)>
                        {words.keep_waiting()}
                    </button>
                    <button
                        class="button button-primary"
                        type="button"
                        on:click=move |_| {
                            seconds.set(0);
                            flow.run(|api| async move { api.reconnect().await }, |_| {});
                        }
                    >
                        {words.try_again()}
                    </button>
                </div>
            </Show>
        </div>
    }
}

/// "Select your preferred verification method".
#[component]
pub fn ChooseMethodStep(state: ConnectState) -> impl IntoView {
    view! { <MethodChoice state /> }
}

#[component]
fn MethodChoice(
    state: ConnectState,
    #[prop(optional)] on_cancel: Option<Callback<()>>,
) -> impl IntoView {
    let flow = flow();
    let words = flow.language.get_untracked();
    let options = state.mfa_options.clone();
    let selected = RwSignal::new(
        state
            .mfa_method
            .or_else(|| options.first().map(|option| option.method)),
    );
    let error = RwSignal::new(None::<String>);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let Some(method) = selected.get_untracked() else {
            return;
        };
        flow.run(
            move |api| async move {
                let state = api.choose_method(method).await?;
                super::events::emit("MFA_METHOD_SELECTED", serde_json::json!({"method": method}));
                Ok(state)
            },
            move |e| error.set(Some(e.message_in(words))),
        );
    };
    view! {
        <div class="step">
            <StepHeading text=words.choose_method_heading() />
            <p class="muted">{words.choose_method_hint()}</p>
            {move || error.get().map(|message| view! { <ErrorAlert message /> })}
            <form on:submit=submit>
                <fieldset class="choice-group">
                    <legend class="visually-hidden">{words.verification_method()}</legend>
                    {options
                        .into_iter()
                        .map(|option| {
                            let id = format!("method-{}", option.method.wire_name());
                            let method = option.method;
                            view! {
                                <label class="radio-card">
                                    <input
                                        type="radio"
                                        id=id
                                        name="method"
                                        value=method.wire_name()
                                        prop:checked=move || selected.get() == Some(method)
                                        on:change=move |_| selected.set(Some(method))
                                    />
                                    <span class="radio-card-text">
                                        <span class="radio-card-title">{method_title(method, words)}</span>
                                        <span class="radio-card-detail">{option.destination}</span>
                                    </span>
                                </label>
                            }
                        })
                        .collect_view()}
                </fieldset>
                <SubmitButton label=words.submit() />
            </form>
            {on_cancel.map(|cancel| view! {
                <button class="button button-link" type="button" on:click=move |_| cancel.run(())>{words.back_to_code()}</button>
            })}
        </div>
    }
}

fn method_title(method: MfaMethod, words: Language) -> &'static str {
    match method {
        MfaMethod::Sms => words.method_sms(),
        MfaMethod::Call => words.method_call(),
        MfaMethod::Email => words.method_email(),
    }
}

/// How long to wait between two sends.
const RESEND_COOLDOWN_SECONDS: u32 = 30;

/// Enter the code: typing or paste, attempts left, resend with a cooldown,
/// another method.
#[component]
pub fn EnterCodeStep(state: ConnectState) -> impl IntoView {
    let choosing_again = RwSignal::new(false);
    let snapshot = state;
    move || {
        if choosing_again.get() {
            let back = Callback::new(move |()| choosing_again.set(false));
            view! { <MethodChoice state=snapshot.clone() on_cancel=back /> }.into_any()
        } else {
            view! { <CodeForm choosing_again /> }.into_any()
        }
    }
}

#[component]
fn CodeForm(choosing_again: RwSignal<bool>) -> impl IntoView {
    let flow = flow();
    let words = flow.language.get_untracked();
    let code = RwSignal::new(String::new());
    let code_error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let cooldown = RwSignal::new(RESEND_COOLDOWN_SECONDS);
    if let Ok(handle) = set_interval_with_handle(
        move || cooldown.update(|s| *s = s.saturating_sub(1)),
        Duration::from_secs(1),
    ) {
        on_cleanup(move || handle.clear());
    }
    let sent_to = current(move |state| {
        let destination = state.code_sent_to.clone().unwrap_or_default();
        match state.mfa_method {
            Some(MfaMethod::Call) => words.code_sent_call(destination),
            Some(MfaMethod::Email) => words.code_sent_email(destination),
            Some(MfaMethod::Sms) | None => words.code_sent_sms(destination),
        }
    });
    let resends_left = Memo::new(move |_| {
        flow.state.with(|state| {
            state
                .as_ref()
                .and_then(|state| state.resends_left)
                .unwrap_or(0)
        })
    });
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        match OtpCode::parse_typed(&code.get_untracked()) {
            Err(error) => code_error.set(Some(error.in_language(words).to_owned())),
            Ok(parsed) => {
                code_error.set(None);
                let digits = parsed.expose().to_owned();
                super::events::emit("MFA_CODE_SUBMITTED", serde_json::json!({}));
                flow.run(
                    move |api| async move { api.submit_code(digits).await },
                    move |error| {
                        code_error.set(Some(
                            error
                                .field("code")
                                .unwrap_or_else(|| error.message_in(words)),
                        ));
                        code.set(String::new());
                    },
                );
            }
        }
    };
    let resend_disabled = move || cooldown.get() > 0 || resends_left.get() == 0 || flow.busy.get();
    let resend = move |_: leptos::ev::MouseEvent| {
        notice.set(None);
        flow.run(
            move |api| async move { api.resend().await },
            move |error| notice.set(Some(error.message_in(words))),
        );
        cooldown.set(RESEND_COOLDOWN_SECONDS);
        notice.set(Some(words.new_code_on_its_way().into()));
    };
    view! {
        <div class="step">
            <StepHeading text=words.enter_code_heading() />
            <p>{sent_to}</p>
            <form on:submit=submit novalidate>
                <Field
                    id="code"
                    label=words.verification_code()
                    value=code
                    error=code_error
                    autocomplete="one-time-code"
                    inputmode="numeric"

                />
                <SubmitButton label=words.submit() />
            </form>
            <p role="status" aria-live="polite" class="muted">{move || notice.get()}</p>
            <div class="button-row">
                <button
                    class="button button-secondary"
                    type="button"
                    disabled=resend_disabled
                    on:click=resend
                >
                    {move || match (cooldown.get(), resends_left.get()) {
                        (_, 0) => words.no_more_codes().to_owned(),
                        (0, _) => words.resend_code().to_owned(),
                        (seconds, _) => words.resend_code_in(seconds),
                    }}
                </button>
                <button class="button button-link" type="button" on:click=move |_| choosing_again.set(true)>
                    {words.use_another_method()}
                </button>
            </div>
        </div>
    }
}

/// The connection works; when the organisation mails end-users about their
/// connection, the end-user may leave an address for that.
#[component]
pub fn SuccessStep(state: ConnectState) -> impl IntoView {
    let update_mode = state.purpose != ConnectPurpose::NewCredential;
    let words = words();
    let contact = match (state.offer_contact, state.contact_email.clone()) {
        (true, _) => {
            Some(view! { <ContactOffer organisation=state.organisation_name.clone() /> }.into_any())
        }
        (false, Some(email)) => Some(
            view! { <p class="contact-saved" role="status">{words.contact_saved(email)}</p> }
                .into_any(),
        ),
        (false, None) => None,
    };
    view! {
        <div class="step step-centered">
            <div class="success-mark" aria-hidden="true">"✓"</div>
            <StepHeading text=if update_mode { words.success_reconnected() } else { words.success_connected() } />
            <p class="success-detail">
                <strong>{words.success_authenticated()}</strong>
                {match (state.utility_name.or(state.utility_id), state.username) {
                    (Some(utility), Some(username)) => format!(" {}", words.success_account(utility, username)),
                    _ => String::new(),
                }}
            </p>
            <p>{words.success_can_close(state.organisation_name)}</p>
            {contact}
        </div>
    }
}

/// "Email me if this connection needs attention": optional, one field.
#[component]
fn ContactOffer(organisation: String) -> impl IntoView {
    let flow = flow();
    let words = flow.language.get_untracked();
    let email = RwSignal::new(String::new());
    let email_error = RwSignal::new(None::<String>);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        match EmailAddress::parse(&email.get_untracked()) {
            Err(error) => email_error.set(Some(error.in_language(words).to_owned())),
            Ok(address) => {
                email_error.set(None);
                let value = address.as_str().to_owned();
                flow.run(
                    move |api| async move { api.choose_contact(value).await },
                    move |error| {
                        email_error.set(Some(
                            error
                                .field("contactEmail")
                                .unwrap_or_else(|| error.message_in(words)),
                        ))
                    },
                );
            }
        }
    };
    view! {
        <form class="contact-offer" on:submit=submit novalidate>
            <h2 class="contact-offer-title">{words.contact_offer_title()}</h2>
            <p class="muted">{words.contact_offer_hint(organisation)}</p>
            <Field id="contact-email" label=words.contact_email_label() value=email error=email_error input_type="email" autocomplete="email" />
            <SubmitButton label=words.contact_save() />
        </form>
    }
}

/// Something went wrong: what, and the way forward.
#[component]
pub fn FailedStep(state: ConnectState) -> impl IntoView {
    let flow = flow();
    let words = flow.language.get_untracked();
    let update_mode = state.purpose != ConnectPurpose::NewCredential;
    // The server's detail is an operator's sentence, in English: shown only there.
    let message = state.message.clone().filter(|_| words == Language::En);
    let retry = move |_| flow.run(|api| async move { api.reconnect().await }, |_| {});
    let (title, explanation, can_retry) = match state.failure {
        Some(ConnectFailure::InvalidCredentials) => {
            return view! { <WrongPassword state update_mode /> }.into_any();
        }
        Some(ConnectFailure::AccountLocked) => (
            words.failed_locked_title(),
            words.failed_locked_text(),
            true,
        ),
        Some(ConnectFailure::UnsupportedMfa) => (
            words.failed_unsupported_title(),
            words.failed_unsupported_text(),
            false,
        ),
        Some(ConnectFailure::MfaFailed) => {
            (words.failed_mfa_title(), words.failed_mfa_text(), true)
        }
        Some(ConnectFailure::UtilityUnavailable) | None => (
            words.failed_unavailable_title(),
            words.failed_unavailable_text(),
            true,
        ),
    };
    view! {
        <div class="step">
            <StepHeading text=title />
            <div class="alert alert-warning" role="alert">{explanation}</div>
            {message.map(|message| view! { <p class="muted">{message}</p> })}
            <Show when=move || can_retry>
                <button class="button button-primary button-block" type="button" on:click=retry>
                    {move || if flow.busy.get() { words.please_wait() } else { words.try_again() }}
                </button>
            </Show>
        </div>
    }
    .into_any()
}

/// The utility rejected the login: re-enter it (new credential) or the password (update mode).
#[component]
fn WrongPassword(state: ConnectState, update_mode: bool) -> impl IntoView {
    if !update_mode {
        let utility_id = state.utility_id.unwrap_or_default();
        let chosen = RwSignal::new(Some(utility_id.clone()));
        let utilities = utilities_resource();
        return view! {
            <div class="alert alert-error" role="alert">{words().wrong_login()}</div>
            <LoginForm utility_id chosen can_change=true utilities />
        }
        .into_any();
    }
    let flow = flow();
    let words = flow.language.get_untracked();
    let password = RwSignal::new(String::new());
    let password_error = RwSignal::new(None::<String>);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if let Err(error) = Password::parse(&password.get_untracked()) {
            password_error.set(Some(error.in_language(words).to_owned()));
            return;
        }
        let value = password.get_untracked();
        flow.run(
            move |api| async move { api.submit_password(value).await },
            move |error| {
                password_error.set(Some(
                    error
                        .field("password")
                        .unwrap_or_else(|| error.message_in(words)),
                ))
            },
        );
    };
    view! {
        <div class="step">
            <StepHeading text=words.password_rejected_heading() />
            <p>{words.password_rejected_text(state.username.unwrap_or_default())}</p>
            <form on:submit=submit novalidate>
                <Field id="password" label=words.password() value=password error=password_error input_type="password" autocomplete="current-password" />
                <SubmitButton label=words.submit() />
            </form>
        </div>
    }
    .into_any()
}
