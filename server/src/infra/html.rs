//! Text into HTML: the sandbox's pages and Gridlink's mail are written as strings.

/// Escapes text for HTML content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
