//! The dashboard's overview: what needs attention, counts per status detail,
//! and how the system is doing.

use leptos::prelude::*;
use leptos_router::components::A;
use shared::health::Health;
use shared::StatusDetail;

use super::attention::REASONS;
use super::charts::{ExpiryChart, RefreshFunnelCard, TokenLifetimes};
use super::credentials::AddCredential;
use super::{format_time, operator};
use crate::api;
use crate::components::loading::{ErrorAlert, Loading};
use crate::components::status::StatusBadge;
use crate::components::utility_name::UtilityName;

/// The operator's landing page.
#[component]
pub fn Overview() -> impl IntoView {
    let operator = operator();
    // Bumped when a first credential is added here.
    let added = RwSignal::new(0u32);
    let counts = LocalResource::new(move || {
        added.track();
        let api = operator.api.get_value();
        async move { api.counts().await }
    });
    let health = LocalResource::new(api::readiness);
    view! {
        <div class="page-header">
            <h1>"Overview"</h1>
            <p>{format!("{}: your utility connections at a glance.", operator.session.organisation.name)}</p>
        </div>
        <IncidentBanners />
        <Suspense fallback=|| view! { <Loading label="Counting credentials…" /> }>
            {move || Suspend::new(async move {
                match counts.await {
                    Err(error) => view! { <ErrorAlert message=error.message() /> }.into_any(),
                    Ok(counts) if counts.total == 0 => view! { <FirstRun added /> }.into_any(),
                    Ok(counts) => {
                        let count_of = |details: &[StatusDetail]| -> u64 {
                            counts
                                .by_status_detail
                                .iter()
                                .filter(|c| details.contains(&c.status_detail))
                                .map(|c| c.count)
                                .sum()
                        };
                        let needing_action: u64 = counts
                            .by_status_detail
                            .iter()
                            .filter(|c| c.status_detail.is_customer_action_required())
                            .map(|c| c.count)
                            .sum();
                        let reasons = REASONS
                            .iter()
                            .map(|reason| {
                                let count = if reason.stale { counts.stale } else { count_of(reason.details) };
                                view! {
                                    <li class="attention-reason" class:attention-none=count == 0>
                                        <A href=reason.href()>
                                            <span class="attention-label">{reason.label}</span>
                                            " "
                                            <span class="attention-count">{count.to_string()}</span>
                                        </A>
                                        <p class="muted">{reason.what_to_do}</p>
                                    </li>
                                }
                            })
                            .collect_view();
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
                                    <ul class="attention-reasons">{reasons}</ul>
                                </section>
                                <section class="card" aria-labelledby="counts-title">
                                    <h2 id="counts-title" class="card-title">{format!("Credentials ({})", counts.total)}</h2>
                                    <div class="table-scroll" tabindex="0"><table class="table compact">
                                        <thead><tr><th scope="col">"Status detail"</th><th scope="col" class="numeric">"Count"</th></tr></thead>
                                        <tbody>{rows}</tbody>
                                    </table></div>
                                </section>
                            </div>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
        <ExpiryChart />
        <div class="card-grid">
            <RefreshFunnelCard />
            <TokenLifetimes />
        </div>
        <LatestEvents />
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
            <WebhookStatus />
        </section>
    }
}

/// A new organisation's overview: how to get the first credential in.
#[component]
fn FirstRun(added: RwSignal<u32>) -> impl IntoView {
    view! {
        <section class="card card-first-run" aria-labelledby="first-run-title">
            <h2 id="first-run-title" class="card-title">"Connect your first utility login"</h2>
            <p>
                "Gridlink keeps utility logins connected behind their verification codes. "
                "Add a login your organisation holds (Connect opens here: log in, then enter the code the utility sends), "
                "or invite an end-user, who gets a Connect link for their own login."
            </p>
            <AddCredential refresh=added />
            <p class="muted">
                "Integrators do the same through the API: "
                <code>"POST /api/v1/credentials"</code>
                " or a Connect token, with an API key from Settings."
            </p>
        </section>
    }
}

/// One banner per utility with an open incident: which, since when, and how
/// many of the organisation's credentials it holds up. Nothing when all answer.
#[component]
fn IncidentBanners() -> impl IntoView {
    let operator = operator();
    let incidents = LocalResource::new(move || {
        let api = operator.api.get_value();
        async move { api.open_incidents().await }
    });
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match incidents.await {
                    Ok(incidents) => incidents
                        .into_iter()
                        .map(|incident| {
                            let credentials = match incident.affected_credentials {
                                1 => "1 credential affected".to_owned(),
                                count => format!("{count} credentials affected"),
                            };
                            view! {
                                <div class="alert alert-warning incident-banner" role="status">
                                    <strong>{format!(
                                        "{} is not answering since {}; {credentials}.",
                                        incident.utility_name,
                                        format_time(incident.failing_since)
                                    )}</strong>
                                    " Its syncs wait and resume by themselves when it answers again."
                                </div>
                            }
                        })
                        .collect_view()
                        .into_any(),
                    Err(error) => view! { <ErrorAlert message=error.message() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The organisation's latest events, each linking to its credential.
#[component]
fn LatestEvents() -> impl IntoView {
    let operator = operator();
    let events = LocalResource::new(move || {
        let api = operator.api.get_value();
        async move { api.latest_events(8).await }
    });
    view! {
        <section class="card timeline" aria-labelledby="latest-events-title">
            <h2 id="latest-events-title" class="card-title">"Latest events"</h2>
            <Suspense fallback=|| view! { <Loading label="Loading events…" /> }>
                {move || Suspend::new(async move {
                    match events.await {
                        Err(error) => view! { <ErrorAlert message=error.message() /> }.into_any(),
                        Ok(events) if events.is_empty() => view! { <p class="muted">"Nothing has happened yet."</p> }.into_any(),
                        Ok(events) => view! {
                            <ol class="events">
                                {events
                                    .into_iter()
                                    .map(|item| {
                                        let href = format!("/dashboard/credentials/{}", item.credential_id);
                                        view! {
                                            <li>
                                                <span class="event-time">{format_time(item.event.created_at)}</span>
                                                <span class="event-message">
                                                    <A href=href>{format!("{} at ", item.username)}<UtilityName id=item.utility_id.clone() /></A>
                                                    ": " {item.event.message}
                                                </span>
                                                <span class="event-actor" title=item.event.actor>{item.event.actor_name}</span>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ol>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The facts of `/api/ready`, with the database state as a badge.
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

/// Whether webhooks go out: no endpoint, delivering, or a delivery given up this week.
#[component]
fn WebhookStatus() -> impl IntoView {
    let operator = operator();
    let status = LocalResource::new(move || {
        let api = operator.api.get_value();
        async move {
            let endpoint = api.webhook_endpoint().await?;
            let failed = api.latest_failed_webhook().await?;
            Ok::<_, api::ApiError>((endpoint.is_some(), failed))
        }
    });
    view! {
        <Suspense fallback=|| view! { <Loading label="Checking webhooks…" /> }>
            {move || Suspend::new(async move {
                let (class, words) = match status.await {
                    Err(error) => return view! { <ErrorAlert message=error.message() /> }.into_any(),
                    Ok((false, _)) => ("badge badge-neutral", "No endpoint".to_owned()),
                    Ok((true, Some(failed))) if failed_this_week(failed.created_at) => (
                        "badge badge-warning",
                        format!("A delivery failed on {}", super::format_time(failed.created_at)),
                    ),
                    Ok((true, _)) => ("badge badge-success", "Delivering".to_owned()),
                };
                view! {
                    <dl class="facts">
                        <dt>"Webhooks"</dt>
                        <dd><span class=class>{words}</span>" "<A href="/dashboard/webhooks">"See deliveries"</A></dd>
                    </dl>
                }
                .into_any()
            })}
        </Suspense>
    }
}

fn failed_this_week(created_at: time::OffsetDateTime) -> bool {
    let now_seconds = (js_sys::Date::now() / 1000.0) as i64;
    now_seconds - created_at.unix_timestamp() < 7 * 24 * 60 * 60
}
