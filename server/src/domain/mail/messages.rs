//! The words of Gridlink's mail, in English and Spanish: each message as plain
//! text and as simple HTML (one column, the organisation's accent colour on
//! the button, no images but its logo, no scripts).

use shared::i18n::Language;
use time::OffsetDateTime;

use super::outbox::Content;
use crate::infra::html::escape;

/// The accent when the organisation chose none.
const DEFAULT_ACCENT: &str = "#1b5fd1";

/// Why an end-user is asked to reconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeReason {
    /// The utility stopped accepting the session token.
    RefreshRequired,
    /// The token runs out soon; reconnecting now avoids a gap.
    TokenExpiring,
}

impl NoticeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeReason::RefreshRequired => "REFRESH_REQUIRED",
            NoticeReason::TokenExpiring => "TOKEN_EXPIRING",
        }
    }

    pub fn parse(value: &str) -> NoticeReason {
        if value == "TOKEN_EXPIRING" {
            NoticeReason::TokenExpiring
        } else {
            NoticeReason::RefreshRequired
        }
    }
}

/// Everything a notice or reminder says.
#[derive(Debug, Clone)]
pub struct Notice<'a> {
    pub language: Language,
    pub reason: NoticeReason,
    /// 0 for the first mail, then 1 and 2 for the reminders.
    pub reminder: i64,
    pub organisation: &'a str,
    pub accent_color: Option<&'a str>,
    pub logo_url: Option<&'a str>,
    pub utility: &'a str,
    pub link: &'a str,
    pub link_expires_at: OffsetDateTime,
    pub unsubscribe_url: &'a str,
}

fn when(moment: OffsetDateTime, language: Language) -> String {
    let month = match language {
        Language::En => [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
        Language::Es => [
            "enero",
            "febrero",
            "marzo",
            "abril",
            "mayo",
            "junio",
            "julio",
            "agosto",
            "septiembre",
            "octubre",
            "noviembre",
            "diciembre",
        ],
    }[usize::from(u8::from(moment.month())) - 1];
    match language {
        Language::En => format!(
            "{} {month} {} at {:02}:{:02} UTC",
            moment.day(),
            moment.year(),
            moment.hour(),
            moment.minute()
        ),
        Language::Es => format!(
            "{} de {month} de {} a las {:02}:{:02} UTC",
            moment.day(),
            moment.year(),
            moment.hour(),
            moment.minute()
        ),
    }
}

/// A refresh notice or reminder.
pub fn refresh_notice(notice: &Notice<'_>) -> Content {
    let Notice {
        organisation: org,
        utility,
        ..
    } = *notice;
    let until = when(notice.link_expires_at, notice.language);
    let (subject, lead, action, validity, ignore, footer, stop) = match notice.language {
        Language::En => (
            match (notice.reason, notice.reminder) {
                (NoticeReason::RefreshRequired, 0) => format!("Reconnect your {utility} account to {org}"),
                (NoticeReason::TokenExpiring, 0) => format!("Your {utility} connection to {org} needs renewing"),
                _ => format!("Reminder: reconnect your {utility} account to {org}"),
            },
            match notice.reason {
                NoticeReason::RefreshRequired => format!(
                    "{org} keeps your {utility} account connected to bring in your bills, and the connection has stopped working. Signing in again and entering a verification code takes about a minute."
                ),
                NoticeReason::TokenExpiring => format!(
                    "{org} keeps your {utility} account connected to bring in your bills, and the connection will stop working soon. Renewing it now (sign in and enter a verification code) takes about a minute."
                ),
            },
            "Reconnect my account".to_owned(),
            format!("This link works until {until}."),
            "If you did not expect this mail, you can ignore it.".to_owned(),
            format!("Sent by Gridlink on behalf of {org}."),
            "Stop these reminders".to_owned(),
        ),
        Language::Es => (
            match (notice.reason, notice.reminder) {
                (NoticeReason::RefreshRequired, 0) => format!("Vuelva a conectar su cuenta de {utility} con {org}"),
                (NoticeReason::TokenExpiring, 0) => format!("Su conexión de {utility} con {org} debe renovarse"),
                _ => format!("Recordatorio: vuelva a conectar su cuenta de {utility} con {org}"),
            },
            match notice.reason {
                NoticeReason::RefreshRequired => format!(
                    "{org} mantiene su cuenta de {utility} conectada para recibir sus facturas, y la conexión ha dejado de funcionar. Volver a iniciar sesión e introducir un código de verificación lleva alrededor de un minuto."
                ),
                NoticeReason::TokenExpiring => format!(
                    "{org} mantiene su cuenta de {utility} conectada para recibir sus facturas, y la conexión dejará de funcionar pronto. Renovarla ahora (iniciar sesión e introducir un código de verificación) lleva alrededor de un minuto."
                ),
            },
            "Volver a conectar mi cuenta".to_owned(),
            format!("Este enlace funciona hasta el {until}."),
            "Si no esperaba este correo, puede ignorarlo.".to_owned(),
            format!("Enviado por Gridlink en nombre de {org}."),
            "Dejar de recibir estos avisos".to_owned(),
        ),
    };
    end_user_mail(Letter {
        language: notice.language,
        organisation: org,
        accent_color: notice.accent_color,
        logo_url: notice.logo_url,
        subject,
        lead,
        action,
        link: notice.link,
        small_print: format!("{validity} {ignore}"),
        footer,
        unsubscribe: Some((notice.unsubscribe_url, stop)),
    })
}

/// What a utility-recovered mail says: the utility works again, with a
/// fresh Connect link (the end-user asked for this one mail in Connect).
#[derive(Debug, Clone)]
pub struct Recovery<'a> {
    pub language: Language,
    pub organisation: &'a str,
    pub accent_color: Option<&'a str>,
    pub logo_url: Option<&'a str>,
    pub utility: &'a str,
    pub link: &'a str,
    pub link_expires_at: OffsetDateTime,
    /// Whether the link re-authenticates an account already connected
    /// (else it connects a new one).
    pub reconnects: bool,
}

/// "Sandbox Gas works again": the one mail an end-user asked for when
/// Connect said the utility was having trouble.
pub fn utility_recovered(recovery: &Recovery<'_>) -> Content {
    let Recovery {
        organisation: org,
        utility,
        ..
    } = *recovery;
    let until = when(recovery.link_expires_at, recovery.language);
    let (subject, lead, action, small_print, footer) = match recovery.language {
        Language::En => (
            format!("{utility} works again: connect your account to {org}"),
            format!(
                "You asked us to tell you when {utility} works again. It does: you can connect your {utility} account to {org} now. It takes about a minute."
            ),
            if recovery.reconnects { "Reconnect my account" } else { "Connect my account" }.to_owned(),
            format!("This link works until {until}. If you did not expect this mail, you can ignore it."),
            format!("Sent by Gridlink on behalf of {org}. This is the one mail you asked for; we will not write again about it."),
        ),
        Language::Es => (
            format!("{utility} vuelve a funcionar: conecte su cuenta con {org}"),
            format!(
                "Nos pidió que le avisáramos cuando {utility} volviera a funcionar. Ya funciona: puede conectar su cuenta de {utility} con {org} ahora. Lleva alrededor de un minuto."
            ),
            if recovery.reconnects { "Volver a conectar mi cuenta" } else { "Conectar mi cuenta" }.to_owned(),
            format!("Este enlace funciona hasta el {until}. Si no esperaba este correo, puede ignorarlo."),
            format!("Enviado por Gridlink en nombre de {org}. Es el único correo que pidió; no volveremos a escribirle por esto."),
        ),
    };
    end_user_mail(Letter {
        language: recovery.language,
        organisation: org,
        accent_color: recovery.accent_color,
        logo_url: recovery.logo_url,
        subject,
        lead,
        action,
        link: recovery.link,
        small_print,
        footer,
        unsubscribe: None,
    })
}

/// An end-user mail's parts, sent in the organisation's name and branding.
struct Letter<'a> {
    language: Language,
    organisation: &'a str,
    accent_color: Option<&'a str>,
    logo_url: Option<&'a str>,
    subject: String,
    lead: String,
    /// The button's words.
    action: String,
    link: &'a str,
    /// Under the button: how long the link works, what to do if unexpected.
    small_print: String,
    footer: String,
    /// Mail that repeats (reminders) ends with a way to stop it: where, and its words.
    unsubscribe: Option<(&'a str, String)>,
}

/// One column of text with one button: plain text and simple HTML.
fn end_user_mail(letter: Letter<'_>) -> Content {
    let Letter {
        organisation: org,
        ref subject,
        ref lead,
        ref action,
        ref small_print,
        ref footer,
        ..
    } = letter;
    let greeting = match letter.language {
        Language::En => "Hello,",
        Language::Es => "Hola:",
    };
    let stop_text = letter
        .unsubscribe
        .as_ref()
        .map(|(url, stop)| format!("{stop}: {url}\n"))
        .unwrap_or_default();
    let text = format!(
        "{greeting}\n\n{lead}\n\n{action}: {link}\n\n{small_print}\n\n--\n{footer}\n{stop_text}",
        link = letter.link,
    );
    let accent = letter.accent_color.unwrap_or(DEFAULT_ACCENT);
    let logo = letter
        .logo_url
        .map(|url| {
            format!(
                "<p><img src=\"{}\" alt=\"{}\" style=\"max-height:48px\"></p>",
                escape(url),
                escape(org)
            )
        })
        .unwrap_or_default();
    let stop_html = letter
        .unsubscribe
        .as_ref()
        .map(|(url, stop)| {
            format!(
                " <a href=\"{}\" style=\"color:#4a5563\">{}</a>",
                escape(url),
                escape(stop)
            )
        })
        .unwrap_or_default();
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{subject}</title></head>\
<body style=\"margin:0;padding:24px;background:#f6f7f9;font-family:system-ui,-apple-system,Segoe UI,sans-serif;color:#15202b;line-height:1.5\">\
<div style=\"max-width:560px;margin:0 auto;background:#ffffff;border:1px solid #d5dbe3;border-radius:8px;padding:24px\">\
{logo}<p>{greeting}</p><p>{lead}</p>\
<p><a href=\"{link}\" style=\"display:inline-block;background:{accent};color:#ffffff;text-decoration:none;padding:12px 20px;border-radius:6px;font-weight:600\">{action}</a></p>\
<p style=\"font-size:14px;color:#4a5563\">{small_print}</p>\
<hr style=\"border:none;border-top:1px solid #d5dbe3\"><p style=\"font-size:13px;color:#4a5563\">{footer}{stop_html}</p>\
</div></body></html>",
        lang = letter.language.code(),
        subject = escape(subject),
        greeting = escape(greeting),
        lead = escape(lead),
        link = escape(letter.link),
        accent = escape(accent),
        action = escape(action),
        small_print = escape(small_print),
        footer = escape(footer),
    );
    Content {
        from_name: Some(org.to_owned()),
        subject: letter.subject,
        text,
        html,
        unsubscribe_url: letter.unsubscribe.map(|(url, _)| url.to_owned()),
    }
}

/// A plain operator mail: a sentence, a button, what the link is good for.
fn operator_mail(
    subject: String,
    lead: String,
    action: &str,
    link: &str,
    validity: String,
) -> Content {
    let text = format!(
        "Hello,\n\n{lead}\n\n{action}: {link}\n\n{validity} If you did not expect this mail, you can ignore it.\n\n--\nGridlink\n"
    );
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{subject}</title></head>\
<body style=\"margin:0;padding:24px;background:#f6f7f9;font-family:system-ui,-apple-system,Segoe UI,sans-serif;color:#15202b;line-height:1.5\">\
<div style=\"max-width:560px;margin:0 auto;background:#ffffff;border:1px solid #d5dbe3;border-radius:8px;padding:24px\">\
<p>Hello,</p><p>{lead}</p>\
<p><a href=\"{link}\" style=\"display:inline-block;background:{DEFAULT_ACCENT};color:#ffffff;text-decoration:none;padding:12px 20px;border-radius:6px;font-weight:600\">{action}</a></p>\
<p style=\"font-size:14px;color:#4a5563\">{validity} If you did not expect this mail, you can ignore it.</p>\
</div></body></html>",
        subject = escape(&subject),
        lead = escape(&lead),
        link = escape(link),
        action = escape(action),
        validity = escape(&validity),
    );
    Content {
        from_name: None,
        subject,
        text,
        html,
        unsubscribe_url: None,
    }
}

/// An admin invited an operator: they choose their own password.
pub fn operator_invitation(organisation: &str, link: &str, expires_at: OffsetDateTime) -> Content {
    operator_mail(
        format!("You are invited to {organisation} on Gridlink"),
        format!("You have been invited to the Gridlink dashboard of {organisation}. Choose your password to sign in."),
        "Choose my password",
        link,
        format!("This link works once, until {}.", when(expires_at, Language::En)),
    )
}

/// An admin of `organisation` added an address that already belongs to an
/// operator of another organisation: nothing was created, and its owner is told.
pub fn operator_address_taken(organisation: &str, dashboard: &str) -> Content {
    operator_mail(
        format!("{organisation} tried to add you on Gridlink"),
        format!(
            "An admin of {organisation} tried to add this address as an operator of their Gridlink dashboard. \
             It already belongs to your operator account in another organisation, and an address can belong \
             to one organisation only, so nothing was created and your account is unchanged. \
             If you expected this, ask them to add another address."
        ),
        "Open your dashboard",
        dashboard,
        "Your own account and its sign-in are as they were.".to_owned(),
    )
}

/// "Forgot password?".
pub fn password_reset(link: &str, expires_at: OffsetDateTime) -> Content {
    operator_mail(
        "Reset your Gridlink password".to_owned(),
        "Someone (we hope you) asked to reset the password of your Gridlink dashboard account. Choosing a new one signs you out everywhere.".to_owned(),
        "Choose a new password",
        link,
        format!("This link works once, until {}.", when(expires_at, Language::En)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(language: Language, reminder: i64) -> Notice<'static> {
        Notice {
            language,
            reason: NoticeReason::RefreshRequired,
            reminder,
            organisation: "Acme <Energy>",
            accent_color: Some("#0a7d4f"),
            logo_url: None,
            utility: "Sandbox Electric",
            link: "https://gridlink.example/connect/gct_x",
            link_expires_at: time::macros::datetime!(2026-12-01 09:30 UTC),
            unsubscribe_url: "https://gridlink.example/unsubscribe/gus_y",
        }
    }

    #[test]
    fn a_notice_has_both_parts_with_the_link_and_the_way_out() {
        let content = refresh_notice(&notice(Language::En, 0));
        assert_eq!(
            content.subject,
            "Reconnect your Sandbox Electric account to Acme <Energy>"
        );
        for part in [&content.text, &content.html] {
            assert!(part.contains("https://gridlink.example/connect/gct_x"));
            assert!(part.contains("https://gridlink.example/unsubscribe/gus_y"));
            assert!(part.contains("1 December 2026 at 09:30 UTC"));
        }
        assert!(
            content.html.contains("Acme &lt;Energy&gt;"),
            "escaped in HTML"
        );
        assert!(content.html.contains("background:#0a7d4f"));
        assert_eq!(content.from_name.as_deref(), Some("Acme <Energy>"));
    }

    #[test]
    fn reminders_and_spanish_say_so() {
        assert!(refresh_notice(&notice(Language::En, 1))
            .subject
            .starts_with("Reminder: "));
        let spanish = refresh_notice(&notice(Language::Es, 2));
        assert!(spanish.subject.starts_with("Recordatorio: "));
        assert!(spanish
            .text
            .contains("1 de diciembre de 2026 a las 09:30 UTC"));
        assert!(spanish.html.contains("lang=\"es\""));
    }
}
