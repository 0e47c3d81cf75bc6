//! `GET /embed.js`: the script integrators include to open Connect in an
//! iframe, with `onSuccess`, `onExit` and `onEvent` callbacks (as Plaid Link).
//!
//! ```html
//! <script src="https://gridlink.example.com/embed.js"></script>
//! <script>
//!   GridlinkConnect.open({
//!     url: CONNECT_URL_FROM_YOUR_SERVER,
//!     container: document.getElementById('connect'),
//!     language: 'es', // optional: 'en' or 'es'; by default the browser's language
//!     onSuccess: (metadata) => console.log('connected', metadata.credentialId),
//!     onExit: () => console.log('closed'),
//!     onEvent: (type, metadata) => console.log(type, metadata),
//!   });
//! </script>
//! ```

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::http::state::AppState;

const SCRIPT: &str = r#"(function () {
  'use strict';
  var script = document.currentScript;
  var gridlinkOrigin = new URL(script && script.src ? script.src : window.location.href).origin;

  function open(options) {
    if (!options || !options.url) throw new Error('GridlinkConnect.open needs the Connect url');
    var url = new URL(options.url, gridlinkOrigin);
    if (url.origin !== gridlinkOrigin) {
      throw new Error('GridlinkConnect: the Connect url must be on ' + gridlinkOrigin);
    }
    // Connect sends events to this origin only if the organisation allowed it.
    url.searchParams.set('embedOrigin', window.location.origin);
    // `language: 'es'` shows Connect in Spanish whatever the browser prefers.
    if (options.language) url.searchParams.set('lang', String(options.language));
    var frame = document.createElement('iframe');
    frame.src = url.toString();
    frame.title = options.title || (options.language === 'es' ? 'Conecte su cuenta de servicios' : 'Connect your utility account');
    if (options.language) frame.lang = String(options.language);
    frame.width = '400';
    frame.height = '650';
    frame.style.border = '0';
    frame.style.maxWidth = '100%';
    frame.style.borderRadius = '16px';
    (options.container || document.body).appendChild(frame);

    function onMessage(event) {
      if (event.origin !== gridlinkOrigin || event.source !== frame.contentWindow) return;
      var data;
      try { data = typeof event.data === 'string' ? JSON.parse(event.data) : event.data; } catch (e) { return; }
      if (!data || data.source !== 'gridlink-connect') return;
      var metadata = data.metadata || {};
      if (options.onEvent) options.onEvent(data.type, metadata);
      if (data.type === 'SUCCESS' && options.onSuccess) options.onSuccess(metadata);
      if (data.type === 'EXIT') {
        if (options.onExit) options.onExit(metadata);
        close();
      }
    }
    function close() {
      window.removeEventListener('message', onMessage);
      if (frame.parentNode) frame.parentNode.removeChild(frame);
    }
    window.addEventListener('message', onMessage);
    return { close: close, iframe: frame };
  }

  window.GridlinkConnect = { open: open };
})();
"#;

pub fn router() -> Router<AppState> {
    Router::new().route("/embed.js", get(embed_script))
}

async fn embed_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            // Integrators load it from their own pages.
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        SCRIPT,
    )
}
