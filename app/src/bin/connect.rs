//! Mounts Connect alone: the bundle end-users download (and integrators embed)
//! carries none of the dashboard.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::ConnectApp);
}
