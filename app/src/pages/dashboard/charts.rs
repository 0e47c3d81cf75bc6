//! The overview's charts: upcoming token expiries per week, the refresh
//! funnel and token lifetimes per utility. Each is drawn as SVG with its
//! values written beside it, and read to screen readers from a table twin
//! (the drawing itself is hidden from them).

use leptos::prelude::*;

use super::operator;
use crate::components::loading::{ErrorAlert, Loading};
use crate::components::utility_name::UtilityName;

/// Upcoming token expiries over the next 90 days, per week, as bars; the same
/// figures are in a table for screen readers.
#[component]
pub fn ExpiryChart() -> impl IntoView {
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
                                <div class="visually-hidden"><table>
                                    <caption>"Tokens expiring per week"</caption>
                                    <thead><tr><th scope="col">"Week"</th><th scope="col">"Tokens"</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table></div>
                            }
                            .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// How well mailed update links work over the last 30 days: mailed, opened
/// (mail scanners open links too), continued past the link's first screen
/// (only people do), repaired; each a bar against the mailed, with its count
/// and share.
#[component]
pub fn RefreshFunnelCard() -> impl IntoView {
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
                            let share = |part: u64| (part * 100).checked_div(funnel.notices_sent);
                            let steps = [
                                ("Notices mailed", funnel.notices_sent),
                                ("Links opened", funnel.links_opened),
                                ("Continued", funnel.links_continued),
                                ("Repaired within 72 h", funnel.repaired_within_72h),
                            ];
                            let value = move |count: u64| match share(count) {
                                Some(percent) => format!("{count} ({percent}%)"),
                                None => count.to_string(),
                            };
                            let bars = steps
                                .iter()
                                .map(|(label, count)| {
                                    let width = share(*count).unwrap_or(0) as f64;
                                    view! {
                                        <HorizontalBar label=label.into_any() value=value(*count)>
                                            <rect class="chart-bar" width=format!("{width:.2}") height="10" />
                                        </HorizontalBar>
                                    }
                                })
                                .collect_view();
                            let rows = steps
                                .iter()
                                .map(|(label, count)| view! {
                                    <tr><th scope="row">{*label}</th><td>{value(*count)}</td></tr>
                                })
                                .collect_view();
                            view! {
                                <ul class="hbars" aria-hidden="true">{bars}</ul>
                                <div class="visually-hidden"><table>
                                    <caption>"Refresh funnel"</caption>
                                    <thead><tr><th scope="col">"Step"</th><th scope="col">"Credentials"</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table></div>
                                <dl class="facts">
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

/// How long each utility's session tokens were seen to live: a bar to the
/// median, a paler one on to the 90th percentile, on one scale for all.
#[component]
pub fn TokenLifetimes() -> impl IntoView {
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
                        Ok(rows) => {
                            let longest = rows.iter().map(|row| row.p90_days).fold(0.0_f64, f64::max).max(f64::EPSILON);
                            let bars = rows
                                .iter()
                                .map(|row| {
                                    let median = 100.0 * row.median_days / longest;
                                    let p90 = 100.0 * row.p90_days / longest;
                                    let value = format!("{:.1} d · {:.1} d", row.median_days, row.p90_days);
                                    view! {
                                        <HorizontalBar label=view! { <UtilityName id=row.utility_id.clone() /> }.into_any() value>
                                            <rect class="chart-bar chart-bar-range" width=format!("{p90:.2}") height="10" />
                                            <rect class="chart-bar" width=format!("{median:.2}") height="10" />
                                        </HorizontalBar>
                                    }
                                })
                                .collect_view();
                            let table_rows = rows
                                .into_iter()
                                .map(|row| view! {
                                    <tr>
                                        <th scope="row"><UtilityName id=row.utility_id /></th>
                                        <td>{row.observed.to_string()}</td>
                                        <td>{format!("{:.1} days", row.median_days)}</td>
                                        <td>{format!("{:.1} days", row.p90_days)}</td>
                                    </tr>
                                })
                                .collect_view();
                            view! {
                                <p class="chart-legend" aria-hidden="true">
                                    <span class="legend-median">"Median"</span>
                                    <span class="legend-range">"90th percentile"</span>
                                </p>
                                <ul class="hbars" aria-hidden="true">{bars}</ul>
                                <div class="visually-hidden"><table>
                                    <caption>"Observed session token lifetimes per utility"</caption>
                                    <thead><tr>
                                        <th scope="col">"Utility"</th><th scope="col">"Tokens"</th>
                                        <th scope="col">"Median"</th><th scope="col">"90th percentile"</th>
                                    </tr></thead>
                                    <tbody>{table_rows}</tbody>
                                </table></div>
                            }
                            .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// One labelled bar of a horizontal bar chart: its name, the bar (the
/// children, drawn on a 100 × 10 canvas over a pale track) and its value.
#[component]
fn HorizontalBar(label: AnyView, value: String, children: Children) -> impl IntoView {
    view! {
        <li class="hbar-row">
            <span class="hbar-label">{label}</span>
            <svg class="hbar" viewBox="0 0 100 10" preserveAspectRatio="none" focusable="false">
                <rect class="hbar-track" width="100" height="10" />
                {children()}
            </svg>
            <span class="hbar-value">{value}</span>
        </li>
    }
}
