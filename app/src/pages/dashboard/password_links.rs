//! Signing in without a password at hand: "Forgot password?" (a one-time
//! link by mail, an hour) and the page a mailed link opens, where an invited
//! operator chooses their first password or anyone chooses a new one.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use shared::operators::OperatorLinkPurpose;

use crate::api;
use crate::components::loading::{ErrorAlert, Loading};
use crate::components::text_field::TextField;
use crate::components::write::Write;

/// `/dashboard/forgot-password`: the same answer whether or not the address is known.
#[component]
pub fn ForgotPassword() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let sent = RwSignal::new(None::<String>);
    let write = Write::default();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        write.run(
            api::request_password_reset(email.get_untracked()),
            move |message| sent.set(Some(message)),
        );
    };
    view! {
        <main class="standalone">
            <div class="card sign-in">
                <h1>"Forgot your password?"</h1>
                {move || match sent.get() {
                    Some(message) => view! {
                        <div class="alert alert-info" role="status">{message}</div>
                        <p><A href="/dashboard/sign-in">"Back to sign-in"</A></p>
                    }
                    .into_any(),
                    None => view! {
                        <p>"Enter the address you sign in with. We mail you a link to choose a new password."</p>
                        {move || write.error().get().map(|message| view! { <ErrorAlert message /> })}
                        <form on:submit=submit novalidate>
                            <TextField id="email" label="Email" value=email error=write.field_error("email") input_type="email" autocomplete="username" />
                            <button class="button button-primary button-block" type="submit" aria-disabled=move || write.busy().to_string()>
                                {move || if write.busy() { "Sending…" } else { "Mail me a link" }}
                            </button>
                        </form>
                        <p><A href="/dashboard/sign-in">"Back to sign-in"</A></p>
                    }
                    .into_any(),
                }}
            </div>
        </main>
    }
}

/// `/dashboard/set-password/:token`: choose a password with a mailed link.
#[component]
pub fn SetPassword() -> impl IntoView {
    let params = use_params_map();
    let token = StoredValue::new(params.with_untracked(|p| p.get("token").unwrap_or_default()));
    let link =
        LocalResource::new(move || async move { api::operator_link(&token.get_value()).await });
    let password = RwSignal::new(String::new());
    let done = RwSignal::new(false);
    let write = Write::default();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        write.run(
            api::choose_password(token.get_value(), password.get_untracked()),
            move |()| done.set(true),
        );
    };
    view! {
        <main class="standalone">
            <div class="card sign-in">
                <Suspense fallback=|| view! { <Loading label="Checking the link…" /> }>
                    {move || link.get().map(|link| match link {
                        Err(error) => view! {
                            <h1>"This link does not work"</h1>
                            <ErrorAlert message=error.message() />
                            <p><A href="/dashboard/forgot-password">"Ask for a new link"</A>" · "<A href="/dashboard/sign-in">"Sign in"</A></p>
                        }
                        .into_any(),
                        Ok(_) if done.get() => view! {
                            <h1>"Your password is set"</h1>
                            <div class="alert alert-info" role="status">"Sign in with it now. Any other session of yours was ended."</div>
                            <A href="/dashboard/sign-in" attr:class="button button-primary button-block">"Sign in"</A>
                        }
                        .into_any(),
                        Ok(link) => view! {
                            <h1>{match link.purpose {
                                OperatorLinkPurpose::Invitation => format!("Welcome to {} on Gridlink", link.organisation_name),
                                OperatorLinkPurpose::PasswordReset => "Choose a new password".to_owned(),
                            }}</h1>
                            <p>{format!("For {}.", link.email)}</p>
                            {move || write.error().get().map(|message| view! { <ErrorAlert message /> })}
                            <form on:submit=submit novalidate>
                                <input type="email" class="visually-hidden" autocomplete="username" prop:value=link.email readonly tabindex="-1" aria-hidden="true" />
                                <TextField id="new-password" label="Password" value=password error=write.field_error("newPassword")
                                    hint="At least 12 characters." input_type="password" autocomplete="new-password" />
                                <button class="button button-primary button-block" type="submit" aria-disabled=move || write.busy().to_string()>
                                    {move || if write.busy() { "Saving…" } else { "Set password" }}
                                </button>
                            </form>
                        }
                        .into_any(),
                    })}
                </Suspense>
            </div>
        </main>
    }
}
