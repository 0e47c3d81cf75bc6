//! The connection works, and the end-user may leave a contact address.

use leptos::prelude::*;
use shared::connect::{ConnectPurpose, ConnectState};
use shared::validation::EmailAddress;

use super::common::{flow, words, Field, StepHeading, SubmitButton};

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
