//! A utility shown by its name ("Sandbox Water"), with its id in a tooltip.

use std::collections::HashMap;

use leptos::prelude::*;

/// The names of the utilities, by id, loaded once for the dashboard.
#[derive(Debug, Clone, Copy)]
pub struct UtilityNames(pub RwSignal<HashMap<String, String>>);

/// The utility's name where it is known, its id until then (or if it is gone).
#[component]
pub fn UtilityName(#[prop(into)] id: String) -> impl IntoView {
    let names = use_context::<UtilityNames>();
    let title = id.clone();
    let name = move || {
        names
            .and_then(|names| names.0.with(|names| names.get(&id).cloned()))
            .unwrap_or_else(|| id.clone())
    };
    view! { <span class="utility-name" title=title>{name}</span> }
}
