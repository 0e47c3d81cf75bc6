//! "Manage your credentials": the table, its filters (kept in the URL so a
//! filtered view can be bookmarked and shared), sorting and pagination.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use shared::credentials::Owner;
use shared::routes;
use shared::StatusDetail;

use super::{format_time, operator};
use crate::components::connect_dialog::ConnectDialog;
use crate::components::loading::{ErrorAlert, Loading};
use crate::components::status::StatusBadge;
use crate::components::utility_name::UtilityName;
use crate::components::write::Write;

const REFRESH: &str = "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED";

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// What the list shows: the filters, the sort and the page, as the URL keeps them.
#[derive(Debug, Clone, PartialEq)]
struct ListView {
    status_detail: String,
    search: String,
    stale_only: bool,
    sort: String,
    page: u32,
}

impl ListView {
    const DEFAULT_SORT: &'static str = "-createdAt";

    /// The query string: for the page's URL with `page_size` `None`, for the API with one.
    fn query(&self, page_size: Option<u32>) -> String {
        let mut parts = Vec::new();
        if !self.status_detail.is_empty() {
            parts.push(format!("statusDetail={}", encode(&self.status_detail)));
        }
        if !self.search.is_empty() {
            parts.push(format!("q={}", encode(&self.search)));
        }
        if self.stale_only {
            parts.push("stale=true".to_owned());
        }
        if let Some(size) = page_size {
            parts.push(format!("page={}", self.page));
            parts.push(format!("pageSize={size}"));
            parts.push(format!("sort={}", encode(&self.sort)));
        } else {
            if self.page > 1 {
                parts.push(format!("page={}", self.page));
            }
            if self.sort != Self::DEFAULT_SORT {
                parts.push(format!("sort={}", encode(&self.sort)));
            }
        }
        parts.join("&")
    }

    /// The filters alone (for the CSV export and the bulk update links).
    fn filters(&self) -> String {
        ListView {
            sort: Self::DEFAULT_SORT.to_owned(),
            page: 1,
            ..self.clone()
        }
        .query(None)
    }

    /// The same filters from the first page.
    fn first_page(self) -> ListView {
        ListView { page: 1, ..self }
    }
}

/// The list page.
#[component]
pub fn CredentialList() -> impl IntoView {
    let operator = operator();
    let query = use_query_map();
    let navigate = use_navigate();
    let view_now = Memo::new(move |_| {
        query.with(|q| {
            let param = |name: &str| q.get(name).unwrap_or_default();
            let sort = param("sort");
            ListView {
                status_detail: param("statusDetail"),
                search: param("q"),
                stale_only: param("stale") == "true",
                sort: if sort.is_empty() {
                    ListView::DEFAULT_SORT.to_owned()
                } else {
                    sort
                },
                page: param("page").parse::<u32>().unwrap_or(1).max(1),
            }
        })
    });
    let status_detail = Memo::new(move |_| view_now.with(|v| v.status_detail.clone()));
    let stale_only = Memo::new(move |_| view_now.with(|v| v.stale_only));
    let sort = Memo::new(move |_| view_now.with(|v| v.sort.clone()));
    let search = Memo::new(move |_| view_now.with(|v| v.search.clone()));
    let go = move |next: ListView| {
        navigate(
            &format!("/dashboard/credentials?{}", next.query(None)),
            Default::default(),
        );
    };
    let current_view = move || view_now.get_untracked();

    let listing_version = RwSignal::new(0u32);
    let listing = LocalResource::new(move || {
        listing_version.track();
        let api = operator.api.get_value();
        let query = view_now.get().query(Some(25));
        async move { api.credentials(&query).await }
    });

    let search_text = RwSignal::new(search.get_untracked());
    Effect::new(move |_| search_text.set(search.get()));
    let go_search = go.clone();
    let on_search = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        go_search(
            ListView {
                search: search_text.get_untracked(),
                ..current_view()
            }
            .first_page(),
        );
    };
    let go_detail = go.clone();
    let on_detail = move |event: leptos::ev::Event| {
        go_detail(
            ListView {
                status_detail: event_target_value(&event),
                ..current_view()
            }
            .first_page(),
        );
    };
    let go_refresh = go.clone();
    let go_stale = go.clone();
    let go_sort = go.clone();
    let go_page = go;

    view! {
        <div class="page-header page-header-actions">
            <div>
                <h1>"Manage your credentials"</h1>
                <p>"Every utility login of your organisation, with its status."</p>
            </div>
            <AddCredential refresh=listing_version />
        </div>
        <div class="toolbar">
            <button
                class="button"
                class:button-primary=move || status_detail.get() == REFRESH
                class:button-secondary=move || status_detail.get() != REFRESH
                aria-pressed=move || (status_detail.get() == REFRESH).to_string()
                on:click=move |_| {
                    let next = if status_detail.get_untracked() == REFRESH { String::new() } else { REFRESH.to_owned() };
                    go_refresh(ListView { status_detail: next, ..current_view() }.first_page());
                }
            >
                "MFA refresh required"
            </button>
            <button
                class="button"
                class:button-primary=move || stale_only.get()
                class:button-secondary=move || !stale_only.get()
                aria-pressed=move || stale_only.get().to_string()
                title="Connected, yet no data for longer than the stale limit"
                on:click=move |_| go_stale(ListView { stale_only: !stale_only.get_untracked(), ..current_view() }.first_page())
            >
                "Stale"
            </button>
            <div class="field inline">
                <label class="field-label" for="status-detail-filter">"Status detail"</label>
                <select class="input" id="status-detail-filter" on:change=on_detail prop:value=move || status_detail.get()>
                    <option value="">"All"</option>
                    {super::attention::groups()
                        .map(|reason| view! { <option value=reason.filter()>{reason.label}</option> })
                        .collect_view()}
                    {StatusDetail::ALL
                        .into_iter()
                        .map(|detail| {
                            view! {
                                <option value=detail.as_str()>
                                    {format!("{} ({})", detail.label(), detail.as_str())}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field inline">
                <label class="field-label" for="sort-order">"Sort by"</label>
                <select class="input" id="sort-order" prop:value=move || sort.get()
                    on:change=move |e| go_sort(ListView { sort: event_target_value(&e), ..current_view() }.first_page())>
                    <option value="-createdAt">"Newest first"</option>
                    <option value="createdAt">"Oldest first"</option>
                    <option value="username">"Username"</option>
                    <option value="utilityId">"Utility"</option>
                    <option value="statusDetail">"Status detail"</option>
                    <option value="tokenExpiresAt">"Token expiry"</option>
                </select>
            </div>
            <form class="search" role="search" on:submit=on_search>
                <label class="field-label" for="credential-search">"Search usernames"</label>
                <div class="search-row">
                    <input class="input" id="credential-search" type="search" prop:value=move || search_text.get()
                        on:input=move |e| search_text.set(event_target_value(&e)) />
                    <button class="button button-secondary" type="submit">"Search"</button>
                </div>
            </form>
        </div>
        <Transition fallback=|| view! { <Loading label="Loading credentials…" /> }>
            {move || {
            let go_page = go_page.clone();
            Suspend::new(async move {
                match listing.await {
                    Err(error) => view! { <ErrorAlert message=error.message() /> }.into_any(),
                    Ok(result) if result.items.is_empty() => view! {
                        <div class="empty-state card">
                            <h2>"No credentials match"</h2>
                            <p>"Change or clear the filters to see more."</p>
                            <A href="/dashboard/credentials" attr:class="button button-secondary">"Clear filters"</A>
                        </div>
                    }
                    .into_any(),
                    Ok(result) => {
                        let pages = result.total.div_ceil(u64::from(result.page_size)).max(1) as u32;
                        let current = result.page;
                        let rows = result
                            .items
                            .into_iter()
                            .map(|credential| {
                                let href = format!("/dashboard/credentials/{}", credential.id);
                                view! {
                                    <tr>
                                        <td data-label="Utility"><UtilityName id=credential.utility_id /></td>
                                        <td data-label="Username"><A href=href>{credential.username}</A></td>
                                        <td data-label="Correlation id">{credential.correlation_id.unwrap_or_default()}</td>
                                        <td data-label="Status detail"><StatusBadge detail=credential.status.status_detail /></td>
                                        <td data-label="Token expiry">{credential.token_expires_at.map(format_time).unwrap_or_else(|| "—".into())}</td>
                                        <td data-label="Last sync">
                                            {credential.last_synced_at.map(format_time).unwrap_or_else(|| "Never".into())}
                                            {credential.stale_since.map(|since| view! {
                                                <span class="badge badge-warning badge-inline" title=format!("Flagged stale on {}", format_time(since))>"Stale"</span>
                                            })}
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view();
                        let go_next = go_page.clone();
                        let on_first_page = current <= 1;
                        let on_last_page = current >= pages;
                        view! {
                            <div class="table-wrap" tabindex="0">
                                <table class="table table-stack">
                                    <caption class="visually-hidden">"Credentials"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Utility"</th>
                                            <th scope="col">"Username"</th>
                                            <th scope="col">"Correlation id"</th>
                                            <th scope="col">"Status detail"</th>
                                            <th scope="col">"Token expiry"</th>
                                            <th scope="col">"Last sync"</th>
                                        </tr>
                                    </thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            </div>
                            <BulkActions filters=view_now.get_untracked().filters() total=result.total />
                            <nav class="pagination" aria-label="Pages">
                                <button class="button button-secondary" disabled=on_first_page
                                    on:click=move |_| go_page(ListView { page: current - 1, ..view_now.get_untracked() })>
                                    "Previous"
                                </button>
                                <span>{format!("Page {current} of {pages} · {} credentials", result.total)}</span>
                                <button class="button button-secondary" disabled=on_last_page
                                    on:click=move |_| go_next(ListView { page: current + 1, ..view_now.get_untracked() })>
                                    "Next"
                                </button>
                            </nav>
                        }
                        .into_any()
                    }
                }
            })
            }}
        </Transition>
    }
}

/// For every credential the filters match: export the list as CSV, or give
/// each a new update link (after a confirmation) and download them as CSV.
#[component]
fn BulkActions(filters: String, total: u64) -> impl IntoView {
    let operator = operator();
    let filters = StoredValue::new(filters);
    let confirming = RwSignal::new(false);
    let download = RwSignal::new(None::<(usize, String)>);
    let write = Write::default();
    let generate = move |_| {
        confirming.set(false);
        let api = operator.api.get_value();
        let filters = filters.get_value();
        write.run(
            async move { api.bulk_update_links_csv(&filters).await },
            move |csv| {
                let links = csv.lines().count().saturating_sub(1);
                let href = format!(
                    "data:text/csv;charset=utf-8,{}",
                    String::from(js_sys::encode_uri_component(&csv))
                );
                download.set(Some((links, href)));
            },
        );
    };
    let noun = if total == 1 {
        "credential"
    } else {
        "credentials"
    };
    view! {
        <div class="bulk-actions">
            <div class="button-row">
                <a class="button button-secondary" href=move || format!("{}?{}", routes::api(routes::v1::CREDENTIALS_EXPORT), filters.get_value()) download="credentials.csv">
                    "Export CSV"
                </a>
                <button class="button button-secondary" type="button" disabled=move || write.busy()
                    on:click=move |_| { download.set(None); confirming.set(true) }>
                    {move || if write.busy() { "Generating links…".to_owned() } else { format!("Generate update links for all {total} {noun}") }}
                </button>
            </div>
            <Show when=move || confirming.get()>
                <div class="alert alert-warning" role="alertdialog" aria-labelledby="bulk-question">
                    <p id="bulk-question">{format!("Give each of the {total} {noun} a new 72-hour update link? Links sent earlier stop working.")}</p>
                    <div class="button-row">
                        <button class="button button-primary" type="button" on:click=generate>"Generate links"</button>
                        <button class="button button-secondary" type="button" on:click=move |_| confirming.set(false)>"Cancel"</button>
                    </div>
                </div>
            </Show>
            {move || write.any_error().get().map(|message| view! { <ErrorAlert message /> })}
            {move || download.get().map(|(links, href)| view! {
                <div class="alert alert-info" role="status">
                    {format!("{links} update links generated, valid for 72 hours. ")}
                    <a href=href download="update-links.csv">"Download update-links.csv"</a>
                </div>
            })}
        </div>
    }
}

/// "Add credential": a login the organisation owns is connected right here in
/// Connect; "Invite end-user" gives a Connect link to send to the login's owner.
#[component]
pub(super) fn AddCredential(refresh: RwSignal<u32>) -> impl IntoView {
    let operator = operator();
    let connect_url = RwSignal::new(None::<String>);
    let invite = RwSignal::new(None::<shared::connect::ConnectToken>);
    let write = Write::default();
    let open = move |owner: Owner| {
        let api = operator.api.get_value();
        write.run(
            async move { api.new_connect_token(owner).await },
            move |token| {
                if owner == Owner::Organisation {
                    connect_url.set(Some(token.url));
                } else {
                    invite.set(Some(token));
                }
            },
        );
    };
    view! {
        <div class="add-credential">
            <div class="button-row">
                <button class="button button-primary" on:click=move |_| open(Owner::Organisation) disabled=move || write.busy()>"Add credential"</button>
                <button class="button button-secondary" on:click=move |_| open(Owner::EndUser) disabled=move || write.busy()>"Invite end-user"</button>
            </div>
            {move || write.any_error().get().map(|message| view! { <ErrorAlert message /> })}
            {move || invite.get().map(|token| view! {
                <div class="update-link">
                    <label class="field-label" for="invite-url">"Connect link for the end-user (valid one hour)"</label>
                    <input class="input" id="invite-url" readonly prop:value=token.url />
                    <p class="muted">{format!("Expires {}.", format_time(token.expires_at))}</p>
                </div>
            })}
            <ConnectDialog
                url=connect_url
                title="Add credential"
                on_success=Callback::new(move |()| refresh.update(|v| *v += 1))
                on_close=Callback::new(move |()| refresh.update(|v| *v += 1))
            />
        </div>
    }
}
