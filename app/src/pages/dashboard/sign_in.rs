//! Signing in to the dashboard.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use shared::operators::SecondFactorProof;

use crate::api::{self, SignInOutcome};
use crate::components::loading::ErrorAlert;
use crate::components::text_field::TextField;
use crate::components::write::Write;

/// The sign-in form. Its error never says whether the email or the password was wrong.
#[component]
pub fn SignIn() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let write = Write::default();
    // One sentence for every refusal: it never says which of the two was wrong.
    let error = Signal::derive(move || {
        write.failure().with(|failure| {
            failure.as_ref().map(|failure| match failure.code() {
                Some(shared::ErrorCode::ValidationFailed) => {
                    "Enter your email address and password.".to_owned()
                }
                _ => failure.message(),
            })
        })
    });
    let no_field_error = Signal::derive(|| None::<String>);
    let navigate = use_navigate();
    let query = leptos_router::hooks::use_query_map();
    let expired = query.with_untracked(|q| q.get("expired").is_some());
    // Back from single sign-on that did not sign anyone in: why.
    let sso_failure = query.with_untracked(|q| {
        q.get("sso")
            .map(|code| shared::single_sign_on::sso_failure_message(&code))
    });
    let providers = LocalResource::new(api::sso_providers);
    // Passkeys belong to names: at an address, the server says where they work.
    let passkeys_possible = web_sys::window()
        .and_then(|window| window.location().hostname().ok())
        .is_some_and(|host| host.parse::<std::net::IpAddr>().is_err() && !host.starts_with('['));
    let with_passkey = {
        let navigate = navigate.clone();
        move |_| {
            let navigate = navigate.clone();
            write.run(api::sign_in_with_passkey(), move |_| {
                navigate("/dashboard", Default::default())
            });
        }
    };
    // A right password for an operator with a second factor: its step next,
    // with the methods they have.
    let second_step = RwSignal::new(None::<Vec<String>>);
    let submit = {
        let navigate = navigate.clone();
        move |event: leptos::ev::SubmitEvent| {
            event.prevent_default();
            let navigate = navigate.clone();
            write.run(
                api::sign_in(email.get_untracked(), password.get_untracked()),
                move |outcome| match outcome {
                    SignInOutcome::SignedIn(_) => navigate("/dashboard", Default::default()),
                    SignInOutcome::SecondFactorDue(required) => {
                        password.set(String::new());
                        second_step.set(Some(required.methods));
                    }
                },
            );
        }
    };
    view! {
        <Show when=move || second_step.with(Option::is_some) fallback=move || {
            let submit = submit.clone();
            view! {
        <main class="standalone">
            <div class="card sign-in">
                <h1>"Sign in to Gridlink"</h1>
                <Show when=move || expired>
                    <div class="alert alert-info" role="status">"Your session ended after a period of inactivity. Sign in again."</div>
                </Show>
                {sso_failure.map(|message| view! { <ErrorAlert message /> })}
                {move || error.get().map(|message| view! { <ErrorAlert message /> })}
                <form on:submit=submit novalidate>
                    <TextField id="email" label="Email" value=email error=no_field_error input_type="email" autocomplete="username" />
                    <TextField id="password" label="Password" value=password error=no_field_error input_type="password" autocomplete="current-password" />
                    <button class="button button-primary button-block" type="submit" aria-disabled=move || write.busy().to_string()>
                        {move || if write.busy() { "Signing in…" } else { "Sign in" }}
                    </button>
                </form>
                <p class="sign-in-help"><A href="/dashboard/forgot-password">"Forgot password?"</A></p>
                {passkeys_possible.then(|| {
                    let with_passkey = with_passkey.clone();
                    view! {
                        <p class="divider-text">"or"</p>
                        <button class="button button-block" type="button" on:click=with_passkey aria-disabled=move || write.busy().to_string()>
                            "Sign in with a passkey"
                        </button>
                    }
                })}
                // Single sign-on: a navigation to the identity provider and back.
                {move || providers.get().and_then(Result::ok).filter(|providers| !providers.is_empty()).map(|providers| view! {
                    {(!passkeys_possible).then(|| view! { <p class="divider-text">"or"</p> })}
                    <div class="sso-buttons">
                        {providers.into_iter().map(|provider| view! {
                            <a class="button button-block" href=provider.start_url rel="external">{format!("Sign in with {}", provider.name)}</a>
                        }).collect_view()}
                    </div>
                })}
            </div>
        </main>
            }
        }>
            <SecondStep navigate=navigate.clone() methods=second_step.get_untracked().unwrap_or_default() />
        </Show>
    }
}

/// The second step: a passkey, a code from the authenticator app, or a
/// recovery code — whichever the operator has.
#[component]
fn SecondStep(
    navigate: impl Fn(&str, leptos_router::NavigateOptions) + Clone + 'static,
    methods: Vec<String>,
) -> impl IntoView {
    let has = |method: &str| methods.iter().any(|given| given == method);
    let has_passkey = has("PASSKEY");
    let has_totp = has("TOTP");
    let has_recovery_codes = has("RECOVERY_CODE");
    let code = RwSignal::new(String::new());
    // Without an authenticator app, the form takes recovery codes only.
    let recovery = RwSignal::new(!has_totp);
    let write = Write::default();
    let submit = {
        let navigate = navigate.clone();
        move |event: leptos::ev::SubmitEvent| {
            event.prevent_default();
            let navigate = navigate.clone();
            let typed = code.get_untracked();
            let proof = SecondFactorProof::typed(typed, recovery.get_untracked());
            write.run(api::complete_sign_in(proof), move |_| {
                navigate("/dashboard", Default::default())
            });
        }
    };
    let use_passkey = move |_| {
        let navigate = navigate.clone();
        write.run(
            async move {
                let answer = api::passkey_answer().await?;
                api::complete_sign_in(SecondFactorProof {
                    passkey: Some(answer),
                    ..SecondFactorProof::default()
                })
                .await
            },
            move |_| navigate("/dashboard", Default::default()),
        );
    };
    // A wrong code is the field's error; anything else (the five minutes are
    // over, too many tries, a passkey refused) is the page's.
    let error = Signal::derive(move || {
        write.failure().with(|failure| {
            failure.as_ref().and_then(|failure| match failure.code() {
                Some(shared::ErrorCode::Unauthenticated) => Some(
                    "This sign-in took too long. Reload the page and enter your password again."
                        .to_owned(),
                ),
                Some(shared::ErrorCode::ValidationFailed) => failure.field("passkey"),
                _ => Some(failure.message()),
            })
        })
    });
    let code_error = Signal::derive(move || {
        write
            .field_error("code")
            .get()
            .or_else(|| write.field_error("recoveryCode").get())
    });
    let code_form = has_totp || has_recovery_codes;
    view! {
        <main class="standalone">
            <div class="card sign-in">
                <h1>"Two-factor sign-in"</h1>
                {move || error.get().map(|message| view! { <ErrorAlert message /> })}
                {has_passkey.then(|| view! {
                    <p>"Use the passkey you added to Gridlink: your device's screen lock or your security key."</p>
                    <button class="button button-primary button-block" type="button" on:click=use_passkey aria-disabled=move || write.busy().to_string()>
                        {move || if write.busy() { "Waiting for your passkey…" } else { "Use your passkey" }}
                    </button>
                })}
                {(has_passkey && code_form).then(|| view! { <p class="divider-text">"or"</p> })}
                {code_form.then(|| view! {
                <p>{move || if recovery.get() {
                    "Enter one of the recovery codes you saved when you set up two-factor sign-in. Each works once."
                } else {
                    "Enter the 6-digit code your authenticator app shows for Gridlink."
                }}</p>
                <form on:submit=submit novalidate>
                    <div class="field">
                        <label class="field-label" for="second-factor-code">
                            {move || if recovery.get() { "Recovery code" } else { "Authentication code" }}
                        </label>
                        <input class="input" id="second-factor-code" autocomplete="one-time-code"
                            inputmode=move || if recovery.get() { "text" } else { "numeric" }
                            aria-invalid=move || code_error.with(Option::is_some).to_string()
                            prop:value=move || code.get() on:input=move |e| code.set(event_target_value(&e)) />
                        {move || code_error.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
                    </div>
                    <button class=if has_passkey { "button button-block" } else { "button button-primary button-block" } type="submit" aria-disabled=move || write.busy().to_string()>
                        {move || if write.busy() { "Checking…" } else { "Verify and sign in" }}
                    </button>
                </form>
                })}
                {(has_totp && has_recovery_codes).then(|| view! {
                <p class="sign-in-help">
                    <button class="button button-link" type="button" on:click=move |_| {
                        recovery.update(|on| *on = !*on);
                        code.set(String::new());
                    }>
                        {move || if recovery.get() { "Use a code from your authenticator app" } else { "Use a recovery code instead" }}
                    </button>
                </p>
                })}
            </div>
        </main>
    }
}
