//! Events Connect posts to the page that embeds it: OPEN, TRANSITION_VIEW,
//! CREDENTIALS_SUBMITTED, MFA_METHOD_SELECTED, MFA_CODE_SUBMITTED, SUCCESS,
//! ERROR and EXIT, as `{"source": "gridlink-connect", "type", "metadata"}`.
//!
//! They go only to an origin the organisation allowed (named by the embed
//! script in `?embedOrigin=`), or to Gridlink's own pages. The browser
//! delivers a message only if the parent really has the target origin, so a
//! page that lies about its origin receives nothing.

use std::cell::RefCell;

use serde_json::{json, Value};

use super::layout::is_embedded;

thread_local! {
    static TARGET_ORIGIN: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn own_origin() -> Option<String> {
    web_sys::window()?.location().origin().ok()
}

/// Chooses where events go, from the organisation's allowed origins.
pub fn allow_origins(embed_origins: &[String]) {
    let requested = web_sys::window()
        .and_then(|window| window.location().search().ok())
        .and_then(|search| {
            search
                .trim_start_matches('?')
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(name, _)| *name == "embedOrigin")
                .and_then(|(_, value)| js_sys::decode_uri_component(value).ok())
                .and_then(|value| value.as_string())
        });
    let target = match requested {
        Some(origin) if embed_origins.contains(&origin) => Some(origin),
        _ => own_origin(),
    };
    TARGET_ORIGIN.with(|cell| *cell.borrow_mut() = target);
}

/// Posts one event to the embedding page, if there is one and it is allowed.
pub fn emit(kind: &str, metadata: Value) {
    if !is_embedded() {
        return;
    }
    let Some(target) = TARGET_ORIGIN
        .with(|cell| cell.borrow().clone())
        .or_else(own_origin)
    else {
        return;
    };
    let Some(parent) = web_sys::window().and_then(|window| window.parent().ok().flatten()) else {
        return;
    };
    let message =
        json!({"source": "gridlink-connect", "type": kind, "metadata": metadata}).to_string();
    let _ = parent.post_message(&wasm_bindgen::JsValue::from_str(&message), &target);
}
