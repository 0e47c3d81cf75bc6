//! How a status detail looks everywhere: a label people read at a glance in
//! a badge whose colour says whether someone must act, with the code
//! integrators know beside it.

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

/// The status detail as people read it: its label in a badge (coloured by
/// whether someone must act; the explanation is its tooltip and, for screen
/// readers, its description), and the code integrators know in a smaller
/// monospace line below. The code may break after each underscore (never in
/// the middle of a word) to fit a narrow screen; the label breaks only
/// between words.
#[component]
pub fn StatusBadge(detail: StatusDetail) -> impl IntoView {
    let words: Vec<&'static str> = detail.as_str().split('_').collect();
    let last = words.len().saturating_sub(1);
    view! {
        <span class="status-detail" title=detail.explanation()>
            <span class=badge_class(detail)>{detail.label()}</span>
            <code class="status-code">
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
            </code>
        </span>
    }
}
