//! Settings (admins): the organisation's branding and embed origins, API keys
//! (shown once, revocable), operators (add, role, remove) and single sign-on.

use leptos::prelude::*;
use leptos_router::components::A;
use shared::i18n::Language;
use shared::operators::{
    ApiKeyScope, NewOperator, NotifyEndUsers, OperatorChange, OrganisationSettingsChange, Role,
};
use shared::single_sign_on::{SsoFirstSignIn, SsoSettings, SsoSettingsChange};

use super::{format_time, operator, Operator};
use crate::components::loading::{ErrorAlert, Loading};
use crate::components::text_field::TextField;
use crate::components::write::Write;

/// The settings page; members see why they cannot use it.
#[component]
pub fn Settings() -> impl IntoView {
    let operator = operator();
    if operator.session.operator.role != Role::Admin {
        return view! {
            <div class="page-header"><h1>"Settings"</h1></div>
            <div class="alert alert-info" role="note">"Only an organisation admin can change settings. Ask an admin of your organisation."</div>
        }
        .into_any();
    }
    view! {
        <div class="page-header">
            <h1>"Settings"</h1>
            <p>
                "How Connect looks, where it may be embedded, and who can use Gridlink. Where webhooks go is set on the "
                <A href="/dashboard/webhooks">"Webhooks"</A>" page."
            </p>
        </div>
        <OrganisationSection />
        <UtilitiesSection />
        <ApiKeysSection />
        <OperatorsSection />
        <SingleSignOnSection />
    }
    .into_any()
}

/// Settings → Single sign-on: the organisation's OpenID Connect provider.
/// The client secret is written, never shown; the redirect URI is what to
/// register at the provider.
#[component]
fn SingleSignOnSection() -> impl IntoView {
    let api = operator().api;
    let display_name = RwSignal::new(String::new());
    let issuer_url = RwSignal::new(String::new());
    let client_id = RwSignal::new(String::new());
    let client_secret = RwSignal::new(String::new());
    let domains = RwSignal::new(String::new());
    let first_sign_in = RwSignal::new(SsoFirstSignIn::InvitedOnly);
    let configured = RwSignal::new(false);
    let redirect_uri = RwSignal::new(String::new());
    let loaded = RwSignal::new(false);
    let saved = RwSignal::new(None::<&'static str>);
    let write = Write::default();
    let show = move |settings: SsoSettings| {
        redirect_uri.set(settings.redirect_uri);
        configured.set(settings.provider.is_some());
        let provider = settings.provider;
        display_name.set(
            provider
                .as_ref()
                .map(|p| p.display_name.clone())
                .unwrap_or_default(),
        );
        issuer_url.set(
            provider
                .as_ref()
                .map(|p| p.issuer_url.clone())
                .unwrap_or_default(),
        );
        client_id.set(
            provider
                .as_ref()
                .map(|p| p.client_id.clone())
                .unwrap_or_default(),
        );
        domains.set(
            provider
                .as_ref()
                .map(|p| p.allowed_domains.join(", "))
                .unwrap_or_default(),
        );
        first_sign_in.set(provider.map_or(SsoFirstSignIn::InvitedOnly, |p| p.first_sign_in));
        client_secret.set(String::new());
        loaded.set(true);
    };
    write.run(async move { api.get_value().sso_settings().await }, show);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        saved.set(None);
        let change = SsoSettingsChange {
            display_name: display_name.get_untracked(),
            issuer_url: issuer_url.get_untracked(),
            client_id: client_id.get_untracked(),
            client_secret: Some(client_secret.get_untracked())
                .filter(|secret| !secret.trim().is_empty()),
            allowed_domains: domains
                .get_untracked()
                .split([',', ' ', '\n'])
                .map(str::trim)
                .filter(|domain| !domain.is_empty())
                .map(str::to_owned)
                .collect(),
            first_sign_in: first_sign_in.get_untracked(),
        };
        write.run(
            async move { api.get_value().change_sso_settings(&change).await },
            move |settings| {
                show(settings);
                saved.set(Some("Saved. The sign-in page offers it now."));
            },
        );
    };
    let turn_off = move |_| {
        saved.set(None);
        write.run(
            async move {
                let api = api.get_value();
                api.remove_sso_settings().await?;
                api.sso_settings().await
            },
            move |settings| {
                show(settings);
                saved.set(Some("Single sign-on is off."));
            },
        );
    };
    let field_error = move |field: &'static str| write.field_error(field);
    view! {
        <section class="card settings-section" aria-labelledby="sso-title">
            <h2 id="sso-title" class="card-title">"Single sign-on"</h2>
            <p class="muted">"Let operators sign in with your identity provider (OpenID Connect: Okta, Entra ID, Google Workspace, Keycloak…)."</p>
            <Show when=move || loaded.get() fallback=move || view! { <Loading label="Loading single sign-on…" /> }>
                {move || write.error().get().map(|message| view! { <ErrorAlert message /> })}
                <p>"Register this redirect URI at your provider: "<code class="wrap-anywhere">{move || redirect_uri.get()}</code></p>
                <form on:submit=submit novalidate>
                    <TextField id="sso-name" label="Provider name" value=display_name error=field_error("displayName") hint="The sign-in page says “Sign in with” this name." />
                    <TextField id="sso-issuer" label="Issuer URL" value=issuer_url error=field_error("issuerUrl") hint="https:// — Gridlink reads its discovery document when you save." input_type="url" />
                    <TextField id="sso-client-id" label="Client ID" value=client_id error=field_error("clientId") />
                    <TextField id="sso-client-secret" label="Client secret" value=client_secret error=field_error("clientSecret") input_type="password" autocomplete="off"
                        hint="Stored sealed and never shown again. Leave it empty to keep the saved one." />
                    <TextField id="sso-domains" label="Allowed email domains" value=domains error=field_error("allowedDomains") hint="Comma-separated, e.g. example.com, example.org." />
                    <fieldset class="field choice-group">
                        <legend class="field-label">"Someone without an operator account signs in"</legend>
                        {[
                            (SsoFirstSignIn::InvitedOnly, "Refuse them", "Only operators an admin added or invited can sign in."),
                            (SsoFirstSignIn::CreateMember, "Create a member for them", "Anyone with an email in an allowed domain becomes a MEMBER on first sign-in."),
                        ].into_iter().map(|(choice, label, hint)| view! {
                            <label class="radio-card">
                                <input type="radio" name="sso-first-sign-in" value=choice.as_str()
                                    prop:checked=move || first_sign_in.get() == choice
                                    on:change=move |_| first_sign_in.set(choice) />
                                <span class="radio-card-text">
                                    <span class="radio-card-title">{label}</span>
                                    <span class="radio-card-detail">{hint}</span>
                                </span>
                            </label>
                        }).collect_view()}
                    </fieldset>
                    <div class="button-row">
                        <button class="button button-primary" type="submit" disabled=move || write.busy()>
                            {move || if write.busy() { "Checking the provider…" } else { "Save single sign-on" }}
                        </button>
                        <Show when=move || configured.get()>
                            <button class="button button-danger" type="button" on:click=turn_off disabled=move || write.busy()>"Turn off single sign-on"</button>
                        </Show>
                    </div>
                    <p role="status" aria-live="polite" class="muted">{move || saved.get()}</p>
                </form>
            </Show>
        </section>
    }
}

#[component]
fn OrganisationSection() -> impl IntoView {
    let operator = operator();
    let name = RwSignal::new(String::new());
    let logo_url = RwSignal::new(String::new());
    let accent_color = RwSignal::new(String::new());
    let terms_url = RwSignal::new(String::new());
    let privacy_url = RwSignal::new(String::new());
    let origins = RwSignal::new(String::new());
    let connect_language = RwSignal::new(Language::En);
    let notify_end_users = RwSignal::new(NotifyEndUsers::Off);
    let require_second_factor = RwSignal::new(false);
    let allow_passkey_sign_in = RwSignal::new(false);
    let loaded = RwSignal::new(false);
    let saved = RwSignal::new(false);
    let api = operator.api;
    // Reading the settings and saving them show their errors in one place.
    let write = Write::default();
    write.run(
        async move { api.get_value().organisation().await },
        move |settings| {
            name.set(settings.name);
            logo_url.set(settings.logo_url.unwrap_or_default());
            accent_color.set(settings.accent_color.unwrap_or_default());
            terms_url.set(settings.terms_url.unwrap_or_default());
            privacy_url.set(settings.privacy_url.unwrap_or_default());
            origins.set(settings.embed_origins.join("\n"));
            connect_language.set(settings.connect_language);
            notify_end_users.set(settings.notify_end_users);
            require_second_factor.set(settings.require_second_factor);
            allow_passkey_sign_in.set(settings.allow_passkey_sign_in);
            loaded.set(true);
        },
    );
    let field_error = move |field: &'static str| write.field_error(field);
    let failure = write.failure();
    let origins_error = Signal::derive(move || {
        failure.with(|f| match f {
            Some(crate::api::ApiError::Server(body)) => {
                let messages: Vec<String> = body
                    .fields
                    .iter()
                    .filter(|field| field.field.starts_with("embedOrigins"))
                    .map(|field| {
                        let line = field
                            .field
                            .trim_start_matches("embedOrigins[")
                            .trim_end_matches(']')
                            .parse::<usize>()
                            .map(|i| i + 1);
                        match line {
                            Ok(line) => format!("Line {line}: {}", field.message),
                            Err(_) => field.message.clone(),
                        }
                    })
                    .collect();
                (!messages.is_empty()).then(|| messages.join(" "))
            }
            _ => None,
        })
    });
    let optional = |value: String| Some(value.trim().to_owned()).filter(|value| !value.is_empty());
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        saved.set(false);
        let change = OrganisationSettingsChange {
            id: None,
            name: name.get_untracked(),
            logo_url: optional(logo_url.get_untracked()),
            accent_color: optional(accent_color.get_untracked()),
            terms_url: optional(terms_url.get_untracked()),
            privacy_url: optional(privacy_url.get_untracked()),
            embed_origins: origins
                .get_untracked()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            connect_language: connect_language.get_untracked(),
            notify_end_users: notify_end_users.get_untracked(),
            require_second_factor: require_second_factor.get_untracked(),
            allow_passkey_sign_in: allow_passkey_sign_in.get_untracked(),
        };
        write.run(
            async move { api.get_value().change_organisation(&change).await },
            move |settings| {
                origins.set(settings.embed_origins.join("\n"));
                saved.set(true);
            },
        );
    };
    view! {
        <section class="card settings-section" aria-labelledby="organisation-title">
            <h2 id="organisation-title" class="card-title">"Organisation and Connect"</h2>
            <Show when=move || loaded.get() fallback=move || view! { <Loading label="Loading settings…" /> }>
                {move || write.error().get().map(|message| view! { <ErrorAlert message /> })}
                <form on:submit=submit novalidate>
                    <TextField id="org-name" label="Organisation name" value=name error=field_error("name") hint="End-users see it in Connect." />
                    <TextField id="org-logo" label="Logo URL" value=logo_url error=field_error("logoUrl") hint="An https:// image, shown in Connect's header." input_type="url" />
                    <TextField id="org-accent" label="Accent colour" value=accent_color error=field_error("accentColor") hint="#RRGGBB, dark enough for white text." />
                    <TextField id="org-terms" label="Terms URL" value=terms_url error=field_error("termsUrl") hint="When set, end-users agree to them before connecting." input_type="url" />
                    <TextField id="org-privacy" label="Privacy policy URL" value=privacy_url error=field_error("privacyUrl") input_type="url" />
                    <div class="field">
                        <label class="field-label" for="embed-origins">"Allowed embed origins"</label>
                        <p class="field-hint">"One per line, like https://portal.example.com. Only these sites may embed Connect and receive its events."</p>
                        <textarea class="input" id="embed-origins" rows="4" aria-invalid=move || origins_error.with(Option::is_some).to_string()
                            prop:value=move || origins.get() on:input=move |e| origins.set(event_target_value(&e))></textarea>
                        {move || origins_error.get().map(|message| view! { <p class="field-error">{message}</p> })}
                    </div>
                    <div class="field">
                        <label class="field-label" for="connect-language">"Connect's default language"</label>
                        <p class="field-hint" id="connect-language-hint">"Used when the end-user's browser asks for no language Connect speaks. A link with ?lang=es, or the embed script's language option, always wins."</p>
                        <select class="input" id="connect-language" aria-describedby="connect-language-hint"
                            prop:value=move || connect_language.get().code()
                            on:change=move |e| connect_language.set(Language::from_tag(&event_target_value(&e)).unwrap_or_default())>
                            {Language::ALL.into_iter().map(|language| view! {
                                <option value=language.code()>{language.native_name()}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <fieldset class="field choice-group">
                        <legend class="field-label">"Email end-users when their connection needs them"</legend>
                        <p class="field-hint">"Gridlink mails a 72-hour update link to the credential's contact email, in your organisation's name, and reminds at 24 and 48 hours until it is repaired. Credentials without a contact email are not mailed."</p>
                        {[
                            (NotifyEndUsers::Off, "Off", "No mail to end-users."),
                            (NotifyEndUsers::WhenRefreshRequired, "When MFA must be refreshed", "When the utility stops accepting the session and the credential needs its MFA refreshed."),
                            (NotifyEndUsers::BeforeTokenExpiry, "Also before the token expires", "As above, and ahead of a known expiry (within the expiry warning), so the connection never lapses."),
                        ].into_iter().map(|(choice, label, hint)| {
                            view! {
                                <label class="radio-card">
                                    <input type="radio" name="notify-end-users" value=choice.as_str()
                                        prop:checked=move || notify_end_users.get() == choice
                                        on:change=move |_| notify_end_users.set(choice) />
                                    <span class="radio-card-text">
                                        <span class="radio-card-title">{label}</span>
                                        <span class="radio-card-detail">{hint}</span>
                                    </span>
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                    <div class="field">
                        <label class="checkbox" for="require-second-factor">
                            <input type="checkbox" id="require-second-factor" aria-describedby="require-second-factor-hint"
                                prop:checked=move || require_second_factor.get()
                                on:change=move |e| require_second_factor.set(event_target_checked(&e)) />
                            <span>"Require two-factor sign-in for every operator"</span>
                        </label>
                        <p class="field-hint" id="require-second-factor-hint">"An operator without an authenticator app or a passkey is sent to set one up before anything else. API keys are unaffected. Set up your own first, on your account page."</p>
                        {move || field_error("requireSecondFactor").get().map(|message| view! { <p class="field-error">{message}</p> })}
                    </div>
                    <div class="field">
                        <label class="checkbox" for="allow-passkey-sign-in">
                            <input type="checkbox" id="allow-passkey-sign-in" aria-describedby="allow-passkey-sign-in-hint"
                                prop:checked=move || allow_passkey_sign_in.get()
                                on:change=move |e| allow_passkey_sign_in.set(event_target_checked(&e)) />
                            <span>"Allow signing in with a passkey instead of the password"</span>
                        </label>
                        <p class="field-hint" id="allow-passkey-sign-in-hint">"“Sign in with a passkey” on the sign-in page then needs no password: the passkey (the device's screen lock or a security key) is both factors."</p>
                    </div>
                    <button class="button button-primary" type="submit" disabled=move || write.busy()>
                        {move || if write.busy() { "Saving…" } else { "Save settings" }}
                    </button>
                    <span role="status" aria-live="polite" class="muted">{move || saved.get().then_some(" Saved.")}</span>
                </form>
            </Show>
        </section>
    }
}

/// Settings → Utilities: each adapter, its utilities and its health. Read-only:
/// adapters are configured by file (GRIDLINK_ADAPTERS).
#[component]
fn UtilitiesSection() -> impl IntoView {
    let operator = operator();
    let version = RwSignal::new(0u32);
    let adapters = LocalResource::new(move || {
        version.track();
        let api = operator.api.get_value();
        async move { api.adapters().await }
    });
    let refreshing = Write::default();
    let refresh = move |_| {
        let api = operator.api.get_value();
        refreshing.run(async move { api.refresh_adapters().await }, move |_| {
            version.update(|v| *v += 1)
        });
    };
    view! {
        <section class="card settings-section" aria-labelledby="utilities-title">
            <div class="card-header-row">
                <h2 id="utilities-title" class="card-title">"Utilities"</h2>
                <button class="button button-secondary" type="button" on:click=refresh aria-disabled=move || refreshing.busy().to_string()>
                    {move || if refreshing.busy() { "Reading catalogues…" } else { "Read catalogues now" }}
                </button>
            </div>
            <p class="muted">"The utility adapters this deployment talks to, read-only: they are configured in the adapters file (GRIDLINK_ADAPTERS). Gridlink reads their catalogues every 5 minutes."</p>
            {move || refreshing.any_error().get().map(|message| view! { <ErrorAlert message /> })}
            <Suspense fallback=|| view! { <Loading label="Loading adapters…" /> }>
                {move || Suspend::new(async move {
                    match adapters.await {
                        Err(error) => view! { <ErrorAlert message=error.message() /> }.into_any(),
                        Ok(adapters) => adapters
                            .into_iter()
                            .map(|adapter| {
                                let rate = if adapter.calls_last_hour == 0 {
                                    "no calls in the last hour".to_owned()
                                } else {
                                    format!(
                                        "{} calls in the last hour, {} not answered ({}%)",
                                        adapter.calls_last_hour,
                                        adapter.failures_last_hour,
                                        adapter.failures_last_hour * 100 / adapter.calls_last_hour
                                    )
                                };
                                let names = adapter
                                    .utilities
                                    .iter()
                                    .map(|utility| utility.name.clone())
                                    .collect::<Vec<_>>()
                                    .join(", ");
                                view! {
                                    <div class="adapter">
                                        <h3 class="adapter-name">
                                            {adapter.name.clone()}
                                            {if adapter.signed {
                                                view! { <span class="badge badge-success badge-inline">"Signed"</span> }.into_any()
                                            } else {
                                                view! { <span class="badge badge-warning badge-inline">"Not signed"</span> }.into_any()
                                            }}
                                        </h3>
                                        <dl class="facts">
                                            <dt>"Utilities"</dt><dd>{if names.is_empty() { "None known yet".to_owned() } else { names }}</dd>
                                            <dt>"Catalogue read"</dt><dd>{adapter.last_refresh_at.map(format_time).unwrap_or_else(|| "Never".into())}</dd>
                                            <dt>"Health"</dt><dd>{rate}</dd>
                                        </dl>
                                        {adapter.last_refresh_failed.then(|| view! {
                                            <div class="alert alert-warning">"The last catalogue read failed. The server's log says why."</div>
                                        })}
                                    </div>
                                }
                            })
                            .collect_view()
                            .into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn ApiKeysSection() -> impl IntoView {
    let operator = operator();
    let api = operator.api;
    let version = RwSignal::new(0u32);
    let keys = LocalResource::new(move || {
        version.track();
        let api = api.get_value();
        async move { api.api_keys().await }
    });
    let name = RwSignal::new(String::new());
    // Least privilege where a person chooses: a new key reads only unless asked.
    let scope = RwSignal::new(ApiKeyScope::Read);
    let created = RwSignal::new(None::<String>);
    let write = Write::default();
    let create = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let key_name = name.get_untracked();
        let key_scope = scope.get_untracked();
        write.run(
            async move { api.get_value().create_api_key(key_name, key_scope).await },
            move |key| {
                created.set(Some(key.secret));
                name.set(String::new());
                version.update(|v| *v += 1);
            },
        );
    };
    let revoke = move |id: String| {
        write.run(
            async move { api.get_value().revoke_api_key(&id).await },
            move |()| version.update(|v| *v += 1),
        );
    };
    let name_error = write.field_error("name");
    view! {
        <section class="card settings-section" aria-labelledby="api-keys-title">
            <h2 id="api-keys-title" class="card-title">"API keys"</h2>
            {move || write.error().get().map(|message| view! { <ErrorAlert message /> })}
            {move || created.get().map(|secret| view! {
                <div class="alert alert-info" role="status">
                    <p><strong>"Copy this key now: it will not be shown again."</strong></p>
                    <label class="field-label" for="new-api-key">"New API key"</label>
                    <input class="input" id="new-api-key" readonly prop:value=secret />
                </div>
            })}
            <form class="search-row" on:submit=create>
                <label class="visually-hidden" for="api-key-name">"Name of the new key"</label>
                <input class="input" id="api-key-name" placeholder="What uses it, e.g. Billing sync"
                    aria-invalid=move || name_error.with(Option::is_some).to_string()
                    prop:value=move || name.get() on:input=move |e| name.set(event_target_value(&e)) />
                <label class="visually-hidden" for="api-key-scope">"What the new key may do"</label>
                <select class="input" id="api-key-scope" prop:value=move || scope.get().as_str()
                    on:change=move |e| scope.set(ApiKeyScope::parse(&event_target_value(&e)).unwrap_or(ApiKeyScope::Read))>
                    <option value="READ">"Read only (lists, reads, exports)"</option>
                    <option value="WRITE">"Read and write"</option>
                </select>
                <button class="button button-primary" type="submit" disabled=move || write.busy()>"Create API key"</button>
            </form>
            {move || name_error.get().map(|message| view! { <p class="field-error">{message}</p> })}
            <Transition fallback=|| view! { <Loading label="Loading API keys…" /> }>
                {move || Suspend::new(async move {
                    match keys.await {
                        Err(failure) => view! { <ErrorAlert message=failure.message() /> }.into_any(),
                        Ok(keys) if keys.is_empty() => view! { <p class="muted">"No API keys yet."</p> }.into_any(),
                        Ok(keys) => view! {
                            <div class="table-scroll" tabindex="0"><table class="table table-stack compact">
                                <caption class="visually-hidden">"API keys"</caption>
                                <thead><tr><th scope="col">"Name"</th><th scope="col">"Key"</th><th scope="col">"May"</th><th scope="col">"Last used"</th><th scope="col">"State"</th></tr></thead>
                                <tbody>
                                    {keys.into_iter().map(|key| {
                                        let id = key.id.clone();
                                        let active = key.revoked_at.is_none();
                                        let label = format!("Revoke {}", key.name);
                                        view! {
                                            <tr>
                                                <td data-label="Name">{key.name.clone()}</td>
                                                <td data-label="Key"><code>{format!("{}…", key.prefix)}</code></td>
                                                <td data-label="May">{match key.scope { ApiKeyScope::Read => "Read only", ApiKeyScope::Write => "Read and write" }}</td>
                                                <td data-label="Last used">{key.last_used_at.map(format_time).unwrap_or_else(|| "Never".into())}</td>
                                                <td data-label="State">
                                                    {if active {
                                                        view! { <button class="button button-secondary" aria-label=label on:click=move |_| revoke(id.clone())>"Revoke"</button> }.into_any()
                                                    } else {
                                                        view! { <span class="badge badge-neutral">"Revoked"</span> }.into_any()
                                                    }}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn OperatorsSection() -> impl IntoView {
    let Operator { api, session } = operator();
    let own_id = session.operator.id;
    let version = RwSignal::new(0u32);
    let operators = LocalResource::new(move || {
        version.track();
        let api = api.get_value();
        async move { api.operators().await }
    });
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Member);
    let added_message = RwSignal::new(None::<String>);
    let write = Write::default();
    let add = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let chosen = password.get_untracked();
        let new = NewOperator {
            email: email.get_untracked(),
            password: (!chosen.is_empty()).then_some(chosen),
            role: role.get_untracked(),
        };
        write.run(
            async move { api.get_value().add_operator(&new).await },
            move |added| {
                added_message.set(Some(if added.invitation_pending {
                    format!("{} was invited: a link to choose a password (valid 48 hours) is on its way.", added.email)
                } else {
                    format!("{} was added.", added.email)
                }));
                email.set(String::new());
                password.set(String::new());
                version.update(|v| *v += 1);
            },
        );
    };
    let act = move |future: std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), crate::api::ApiError>>>,
    >| write.run(future, move |()| version.update(|v| *v += 1));
    let field_error = move |field: &'static str| write.field_error(field);
    view! {
        <section class="card settings-section" aria-labelledby="operators-title">
            <h2 id="operators-title" class="card-title">"Operators"</h2>
            {move || write.error().get().map(|message| view! { <ErrorAlert message /> })}
            <Transition fallback=|| view! { <Loading label="Loading operators…" /> }>
                {move || {
                    let own_id = own_id.clone();
                    Suspend::new(async move {
                        match operators.await {
                            Err(error) => view! { <ErrorAlert message=error.message() /> }.into_any(),
                            Ok(list) => view! {
                                <div class="table-scroll" tabindex="0"><table class="table table-stack compact">
                                    <caption class="visually-hidden">"Operators"</caption>
                                    <thead><tr><th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"Remove"</th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|member| {
                                            let is_self = member.id == own_id;
                                            let id_for_role = member.id.clone();
                                            let id_for_removal = member.id.clone();
                                            let select_id = format!("role-{}", member.id);
                                            let role_label = format!("Role of {}", member.email);
                                            let remove_label = format!("Remove {}", member.email);
                                            view! {
                                                <tr>
                                                    <td data-label="Email">
                                                        {member.email.clone()}{is_self.then_some(" (you)")}
                                                        {member.invitation_pending.then(|| view! { <span class="badge badge-neutral badge-inline">"Invited"</span> })}
                                                    </td>
                                                    <td data-label="Role">
                                                        <label class="visually-hidden" for=select_id.clone()>{role_label}</label>
                                                        <select class="input" id=select_id prop:value=member.role.as_str()
                                                            on:change=move |e| {
                                                                let role = Role::parse(&event_target_value(&e)).unwrap_or(Role::Member);
                                                                let id = id_for_role.clone();
                                                                act(Box::pin(async move {
                                                                    api.get_value().change_operator(&id, &OperatorChange { role }).await.map(|_| ())
                                                                }));
                                                            }>
                                                            <option value="ADMIN">"Admin"</option>
                                                            <option value="MEMBER">"Member"</option>
                                                        </select>
                                                    </td>
                                                    <td data-label="Remove">
                                                        <button class="button button-secondary" aria-label=remove_label
                                                            on:click=move |_| {
                                                                let id = id_for_removal.clone();
                                                                act(Box::pin(async move { api.get_value().remove_operator(&id).await }));
                                                            }>
                                                            "Remove"
                                                        </button>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table></div>
                            }
                            .into_any(),
                        }
                    })
                }}
            </Transition>
            <h3>"Add an operator"</h3>
            <form on:submit=add novalidate>
                <TextField id="operator-email" label="Email" value=email error=field_error("email") input_type="email" />
                <TextField id="operator-password" label="Initial password (optional)" value=password error=field_error("password") hint="Leave it empty to email an invitation: they choose their own password. Otherwise at least 12 characters; they can change it later." input_type="password" autocomplete="new-password" />
                <div class="field">
                    <label class="field-label" for="operator-role">"Role"</label>
                    <select class="input" id="operator-role" on:change=move |e| role.set(Role::parse(&event_target_value(&e)).unwrap_or(Role::Member))>
                        <option value="MEMBER">"Member: credentials, Connect and update links"</option>
                        <option value="ADMIN">"Admin: also settings, API keys and operators"</option>
                    </select>
                </div>
                <button class="button button-primary" type="submit" disabled=move || write.busy()>
                    {move || if write.busy() { "Adding…" } else { "Add operator" }}
                </button>
                <p role="status" aria-live="polite" class="muted">{move || added_message.get()}</p>
            </form>
        </section>
    }
}
