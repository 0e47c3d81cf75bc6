//! How a status detail looks everywhere: its name (as users know it) in a
//! badge whose colour says whether someone must act.

use leptos::prelude::*;
use shared::{Status, StatusDetail};

fn badge_class(detail: StatusDetail) -> &'static str {
    match detail.status() {
        Status::ConnectionSuccess => "badge badge-success",
        Status::ConnectionFailure => "badge badge-danger",
        Status::ConnectionInProgress if detail.is_customer_action_required() => {
            "badge badge-warning"
        }
        Status::ConnectionInProgress => "badge badge-neutral",
    }
}

/// The status detail in a badge; the explanation is its tooltip and, for
/// screen readers, part of the text.
#[component]
pub fn StatusBadge(detail: StatusDetail) -> impl IntoView {
    view! {
        <span class=badge_class(detail) title=detail.explanation()>
            {detail.as_str()}
        </span>
    }
}
