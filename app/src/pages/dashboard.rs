//! The dashboard's overview page.

use leptos::prelude::*;
use shared::health::Health;

use crate::api;
use crate::components::loading::{ErrorAlert, Loading};

/// The operator's landing page: how the system is doing.
#[component]
pub fn Overview() -> impl IntoView {
    let health = LocalResource::new(api::health);
    view! {
        <div class="page-header">
            <h1>"Overview"</h1>
            <p>"Your utility connections at a glance."</p>
        </div>
        <div class="card-grid">
            <section class="card" aria-labelledby="system-status-title">
                <h2 id="system-status-title" class="card-title">"System status"</h2>
                <Suspense fallback=|| view! { <Loading label="Checking the server…" /> }>
                    {move || Suspend::new(async move {
                        match health.await {
                            Ok(health) => view! { <SystemStatus health /> }.into_any(),
                            Err(error) => view! { <ErrorAlert message=error.message() /> }.into_any(),
                        }
                    })}
                </Suspense>
            </section>
        </div>
    }
}

/// The facts of `/api/health`, with the database state as a badge.
#[component]
fn SystemStatus(health: Health) -> impl IntoView {
    let database_ok = health.database == "ok";
    view! {
        <dl class="facts">
            <dt>"Database"</dt>
            <dd>
                <span class=if database_ok { "badge badge-success" } else { "badge badge-danger" }>
                    {if database_ok { "Connected" } else { "Unreachable" }}
                </span>
                " " {health.database_kind}
            </dd>
            <dt>"Version"</dt>
            <dd>{health.version}</dd>
            <dt>"Mode"</dt>
            <dd>{if health.demo { "Demo" } else { "Production" }}</dd>
        </dl>
    }
}
