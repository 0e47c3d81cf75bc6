//! The dashboard's overview: what needs attention, counts per status detail,
//! and how the system is doing.

use leptos::prelude::*;
use leptos_router::components::A;
use shared::health::Health;
use shared::StatusDetail;

use super::operator;
use crate::api;
use crate::components::loading::{ErrorAlert, Loading};
use crate::components::status::StatusBadge;

/// The operator's landing page.
#[component]
pub fn Overview() -> impl IntoView {
    let operator = operator();
    let counts = LocalResource::new(move || {
        let api = operator.api.get_value();
        async move { api.counts().await }
    });
    let health = LocalResource::new(api::health);
    view! {
        <div class="page-header">
            <h1>"Overview"</h1>
            <p>{format!("{}: your utility connections at a glance.", operator.session.organisation.name)}</p>
        </div>
        <Suspense fallback=|| view! { <Loading label="Counting credentials…" /> }>
            {move || Suspend::new(async move {
                match counts.await {
                    Err(error) => view! { <ErrorAlert message=error.message() /> }.into_any(),
                    Ok(counts) => {
                        let needs_refresh = counts
                            .by_status_detail
                            .iter()
                            .find(|c| c.status_detail == StatusDetail::MultiFactorAuthenticationRefreshRequired)
                            .map_or(0, |c| c.count);
                        let needing_action: u64 = counts
                            .by_status_detail
                            .iter()
                            .filter(|c| c.status_detail.is_customer_action_required())
                            .map(|c| c.count)
                            .sum();
                        let rows = counts
                            .by_status_detail
                            .into_iter()
                            .filter(|c| c.count > 0)
                            .map(|c| {
                                let href = format!("/dashboard/credentials?statusDetail={}", c.status_detail.as_str());
                                view! {
                                    <tr>
                                        <td><StatusBadge detail=c.status_detail /></td>
                                        <td class="numeric"><A href=href>{c.count.to_string()}</A></td>
                                    </tr>
                                }
                            })
                            .collect_view();
                        view! {
                            <div class="card-grid">
                                <section class="card card-attention" aria-labelledby="attention-title">
                                    <h2 id="attention-title" class="card-title">"Needs attention"</h2>
                                    <p class="big-number">{needing_action.to_string()}</p>
                                    <p>"credentials need someone to act."</p>
                                    <A href="/dashboard/credentials?statusDetail=MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED" attr:class="button button-primary">
                                        {format!("MFA refresh required ({needs_refresh})")}
                                    </A>
                                </section>
                                <section class="card" aria-labelledby="counts-title">
                                    <h2 id="counts-title" class="card-title">{format!("Credentials ({})", counts.total)}</h2>
                                    <table class="table compact">
                                        <thead><tr><th scope="col">"Status detail"</th><th scope="col" class="numeric">"Count"</th></tr></thead>
                                        <tbody>{rows}</tbody>
                                    </table>
                                </section>
                            </div>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
        <section class="card system-status" aria-labelledby="system-status-title">
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
