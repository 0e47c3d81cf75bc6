//! Mounts the dashboard's app on the page's body (Connect has its own bundle).

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
