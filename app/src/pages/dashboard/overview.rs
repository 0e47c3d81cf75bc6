//! The dashboard's overview: what needs attention, counts per status detail,
//! and how the system is doing.

use leptos::prelude::*;
use leptos_router::components::A;
use shared::health::Health;
use shared::StatusDetail;

use super::attention::REASONS;
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

/// How well mailed update links work over the last 30 days.
#[component]
fn RefreshFunnelCard() -> impl IntoView {
    let operator = operator();
    let funnel = LocalResource::new(move || {
        let api = operator.api.get_value();
        async move { api.refresh_funnel().await }
    });
    view! {
        <section class="card" aria-labelledby="funnel-title">
            <h2 id="funnel-title" class="card-title">"Refresh funnel (last 30 days)"</h2>
            <Suspense fallback=|| view! { <Loading label="Loading the funnel…" /> }>
                {move || Suspend::new(async move {
                    match funnel.await {
                        Err(error) => view! { <ErrorAlert message=error.message() /> }.into_any(),
                        Ok(funnel) => {
                            let share = |part: u64| {
                                (part * 100)
                                    .checked_div(funnel.notices_sent)
                                    .map(|percent| format!(" ({percent}%)"))
                                    .unwrap_or_default()
                            };
                            view! {
                                <dl class="facts">
                                    <dt>"Notices mailed"</dt><dd>{funnel.notices_sent.to_string()}</dd>
                                    <dt>"Links opened"</dt><dd>{format!("{}{}", funnel.links_opened, share(funnel.links_opened))}</dd>
                                    <dt>"Repaired within 72 h"</dt><dd>{format!("{}{}", funnel.repaired_within_72h, share(funnel.repaired_within_72h))}</dd>
                                    <dt>"Median time to repair"</dt>
                                    <dd>{match funnel.median_hours_to_repair {
                                        Some(hours) if hours >= 48.0 => format!("{:.1} days ({} repairs)", hours / 24.0, funnel.repairs),
                                        Some(hours) => format!("{hours:.1} hours ({} repairs)", funnel.repairs),
                                        None => "No repairs yet".to_owned(),
                                    }}</dd>
                                </dl>
                                <Show when=move || funnel.notices_sent == 0>
                                    <p class="muted">"No notices yet. An admin turns on end-user mail under Settings, and credentials need a contact email."</p>
                                </Show>
                            }
                            .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// How long each utility's session tokens were seen to live.
#[component]
fn TokenLifetimes() -> impl IntoView {
    let operator = operator();
    let lifetimes = LocalResource::new(move || {
        let api = operator.api.get_value();
        async move { api.token_lifetimes().await }
    });
    view! {
        <section class="card" aria-labelledby="lifetimes-title">
            <h2 id="lifetimes-title" class="card-title">"Token lifetimes (last 180 days)"</h2>
            <Suspense fallback=|| view! { <Loading label="Loading lifetimes…" /> }>
                {move || Suspend::new(async move {
                    match lifetimes.await {
                        Err(error) => view! { <ErrorAlert message=error.message() /> }.into_any(),
                        Ok(rows) if rows.is_empty() => view! {
                            <p class="muted">"No token has ended yet. Each token refused by its utility, or reaching its expiry, is measured here."</p>
                        }
                        .into_any(),
                        Ok(rows) => view! {
                            <div class="table-scroll" tabindex="0"><table class="table compact">
                                <caption class="visually-hidden">"Observed session token lifetimes per utility"</caption>
                                <thead><tr>
                                    <th scope="col">"Utility"</th><th scope="col" class="numeric">"Tokens"</th>
                                    <th scope="col" class="numeric">"Median"</th><th scope="col" class="numeric">"90th percentile"</th>
                                </tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|row| view! {
                                        <tr>
                                            <td><UtilityName id=row.utility_id /></td>
                                            <td class="numeric">{row.observed.to_string()}</td>
                                            <td class="numeric">{format!("{:.1} days", row.median_days)}</td>
                                            <td class="numeric">{format!("{:.1} days", row.p90_days)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
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

/// Upcoming token expiries over the next 90 days, per week, as bars; the same
/// figures are in a table for screen readers.
#[component]
fn ExpiryChart() -> impl IntoView {
    let operator = operator();
    let forecast = LocalResource::new(move || {
        let api = operator.api.get_value();
        async move { api.expiries(91).await }
    });
    view! {
        <section class="card chart-card" aria-labelledby="expiries-title">
            <h2 id="expiries-title" class="card-title">"Upcoming token expiries (next 13 weeks)"</h2>
            <Suspense fallback=|| view! { <Loading label="Loading expiries…" /> }>
                {move || Suspend::new(async move {
                    match forecast.await {
                        Err(error) => view! { <ErrorAlert message=error.message() /> }.into_any(),
                        Ok(forecast) => {
                            let weeks: Vec<u64> = forecast.per_day.chunks(7).map(|week| week.iter().sum()).collect();
                            let total: u64 = weeks.iter().sum();
                            let highest = weeks.iter().copied().max().unwrap_or(0).max(1);
                            let bar_width = 100.0 / weeks.len().max(1) as f64;
                            // Each week by the day it starts: "Dec 7".
                            let week_label = |index: usize| {
                                let starts = forecast.from.date() + time::Duration::days(7 * index as i64);
                                format!("{} {}", &starts.month().to_string()[..3], starts.day())
                            };
                            let week_name = |index: usize| match index {
                                0 => "This week".to_owned(),
                                _ => format!("Week of {}", week_label(index)),
                            };
                            let bars = weeks
                                .iter()
                                .enumerate()
                                .map(|(index, count)| {
                                    let height = 100.0 * *count as f64 / highest as f64;
                                    view! {
                                        <rect
                                            class="chart-bar"
                                            class:chart-bar-now=index == 0
                                            x=format!("{:.2}", index as f64 * bar_width + bar_width * 0.15)
                                            y=format!("{:.2}", 100.0 - height)
                                            width=format!("{:.2}", bar_width * 0.7)
                                            height=format!("{height:.2}")
                                        >
                                            <title>{format!("{}: {count}", week_name(index))}</title>
                                        </rect>
                                    }
                                })
                                .collect_view();
                            let counts = weeks
                                .iter()
                                .map(|count| view! { <span>{count.to_string()}</span> })
                                .collect_view();
                            let labels = (0..weeks.len())
                                .map(|index| view! {
                                    <span class:chart-now=index == 0>
                                        {if index == 0 { "This week".to_owned() } else { week_label(index) }}
                                    </span>
                                })
                                .collect_view();
                            let rows = weeks
                                .iter()
                                .enumerate()
                                .map(|(index, count)| view! { <tr><th scope="row">{week_name(index)}</th><td>{count.to_string()}</td></tr> })
                                .collect_view();
                            view! {
                                <p>{match total {
                                    0 => "No session token expires in the next 13 weeks.".to_owned(),
                                    1 => "1 session token expires in the next 13 weeks. An expiring token needs a new verification by the end-user.".to_owned(),
                                    _ => format!("{total} session tokens expire in the next 13 weeks. Expiring tokens need a new verification by the end-user."),
                                }}</p>
                                <div class="chart-frame" aria-hidden="true">
                                    <div class="chart-columns chart-counts">{counts}</div>
                                    <svg class="chart" viewBox="0 0 100 100" preserveAspectRatio="none" focusable="false">
                                        {bars}
                                    </svg>
                                    <div class="chart-columns chart-labels">{labels}</div>
                                </div>
                                <table class="visually-hidden">
                                    <caption>"Tokens expiring per week"</caption>
                                    <thead><tr><th scope="col">"Week"</th><th scope="col">"Tokens"</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            }
                            .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
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
