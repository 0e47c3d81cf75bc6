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
/// screen readers, part of the text. A long name may break after each
/// underscore (never in the middle of a word) to fit a narrow screen.
#[component]
pub fn StatusBadge(detail: StatusDetail) -> impl IntoView {
    let words: Vec<&'static str> = detail.as_str().split('_').collect();
    let last = words.len().saturating_sub(1);
    view! {
        <span class=badge_class(detail) title=detail.explanation()>
            {words
                .into_iter()
                .enumerate()
                .map(|(index, word)| {
                    if index < last {
                        view! { {word}"_"<wbr /> }.into_any()
                    } else {
                        view! { {word} }.into_any()
                    }
                })
                .collect_view()}
        </span>
    }
}
