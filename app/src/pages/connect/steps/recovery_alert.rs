//! "Email me when Sandbox Gas works again": offered under the notice that a
//! chosen utility is having trouble right now.

use leptos::prelude::*;
use shared::validation::EmailAddress;

use super::common::{flow, Field};

/// One optional field; once saved, a polite line says who will be mailed.
#[component]
pub fn RecoveryAlertOffer(utility_id: String, utility_name: String) -> impl IntoView {
    let flow = flow();
    let words = flow.language.get_untracked();
    let email = RwSignal::new(String::new());
    let email_error = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);
    let saved = RwSignal::new(None::<String>);
    let utility_id = StoredValue::new(utility_id);
    let utility_name = StoredValue::new(utility_name);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if saving.get_untracked() {
            return;
        }
        let address = match EmailAddress::parse(&email.get_untracked()) {
            Err(error) => {
                email_error.set(Some(error.in_language(words).to_owned()));
                return;
            }
            Ok(address) => address.as_str().to_owned(),
        };
        email_error.set(None);
        saving.set(true);
        let api = flow.api.get_value();
        let utility_id = utility_id.get_value();
        leptos::task::spawn_local(async move {
            match api.recovery_alert(utility_id, address).await {
                Ok(alert) => saved.set(Some(alert.email)),
                Err(error) => email_error.set(Some(
                    error
                        .field("email")
                        .unwrap_or_else(|| error.message_in(words)),
                )),
            }
            saving.set(false);
        });
    };
    view! {
        {move || match saved.get() {
            Some(address) => view! {
                <p class="recovery-alert-saved" role="status">{words.recovery_alert_saved(address, utility_name.get_value())}</p>
            }
            .into_any(),
            None => view! {
                <form class="recovery-alert" on:submit=submit novalidate>
                    <h2 class="recovery-alert-title">{words.recovery_alert_title(utility_name.get_value())}</h2>
                    <p class="muted">{words.recovery_alert_hint()}</p>
                    <Field id="recovery-alert-email" label=words.recovery_alert_email_label() value=email error=email_error input_type="email" autocomplete="email" />
                    <button class="button button-secondary" type="submit" aria-disabled=move || saving.get().to_string()>
                        {move || if saving.get() { words.please_wait().to_owned() } else { words.recovery_alert_save().to_owned() }}
                    </button>
                </form>
            }
            .into_any(),
        }}
    }
}
