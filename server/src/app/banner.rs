//! The lines `gridlink serve` prints when it starts: where it listens and,
//! so that nobody runs a sandbox in production by mistake, which of the
//! demo, the sandbox utilities, their mail catcher and real mail are on.

use crate::app::demo::{DEMO_OPERATOR_EMAIL, DEMO_ORGANISATION_NAME};

/// Where Gridlink's mail goes, as the banner says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailShown {
    /// A real mail server, by its host.
    Smtp(String),
    /// The sandbox's catcher, readable at this URL by anyone who reaches it.
    Caught(String),
    /// Nowhere yet: mail waits in the queue.
    Queued,
}

/// What the banner reports.
#[derive(Debug, Clone)]
pub struct StartSummary<'a> {
    pub app_url: &'a str,
    /// The demo operator's password, in demo mode.
    pub demo_password: Option<&'a str>,
    /// The embedded sandbox utilities' URL, when they run.
    pub sandbox_url: Option<&'a str>,
    /// The names of the utility adapters, when no sandbox stands in for them.
    pub adapters: Vec<&'a str>,
    pub mail: MailShown,
}

/// The banner, one fact a line.
pub fn banner(summary: &StartSummary<'_>) -> String {
    let rule = "=".repeat(72);
    let app_url = summary.app_url;
    let mut lines = vec![rule.clone()];
    match summary.demo_password {
        Some(password) => lines.extend([
            "  GRIDLINK DEMO MODE: generated master key, demo data. Not for production.".to_owned(),
            String::new(),
            format!("  Dashboard:     {app_url}/dashboard"),
            format!("  Connect:       {app_url}/connect"),
            format!("  Organisation:  {DEMO_ORGANISATION_NAME}"),
            format!("  Sign in as:    {DEMO_OPERATOR_EMAIL} / {password}"),
        ]),
        None => lines.extend([
            "  Gridlink".to_owned(),
            String::new(),
            format!("  Dashboard:     {app_url}/dashboard"),
        ]),
    }
    match summary.sandbox_url {
        Some(sandbox_url) => lines.push(format!(
            "  Sandbox:       {sandbox_url}  ON: sandbox utilities, codes at {sandbox_url}/outbox"
        )),
        None => lines.push(format!(
            "  Utilities:     adapters {}; sandbox OFF",
            summary.adapters.join(", ")
        )),
    }
    lines.push(match &summary.mail {
        MailShown::Smtp(host) => format!("  Mail:          sent through {host}"),
        MailShown::Caught(url) => format!(
            "  Mail:          caught by the sandbox at {url}: anyone who reaches it reads every mail"
        ),
        MailShown::Queued => {
            "  Mail:          NOT SENT: no GRIDLINK_SMTP_URL, mail waits in the queue".to_owned()
        }
    });
    lines.push(rule);
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_production_banner_says_the_sandbox_is_off_and_where_mail_goes() {
        let text = banner(&StartSummary {
            app_url: "https://gridlink.example.com",
            demo_password: None,
            sandbox_url: None,
            adapters: vec!["east", "west"],
            mail: MailShown::Queued,
        });
        assert!(text.contains("adapters east, west; sandbox OFF"), "{text}");
        assert!(text.contains("mail waits in the queue"), "{text}");
        assert!(!text.contains("DEMO"), "{text}");
    }

    #[test]
    fn a_demo_banner_names_the_operator_the_sandbox_and_the_catcher() {
        let text = banner(&StartSummary {
            app_url: "http://127.0.0.1:3000",
            demo_password: Some("secret-words"),
            sandbox_url: Some("http://127.0.0.1:3001"),
            adapters: Vec::new(),
            mail: MailShown::Caught("http://127.0.0.1:3001/mail".to_owned()),
        });
        assert!(text.contains("DEMO MODE"), "{text}");
        assert!(text.contains("demo@example.com / secret-words"), "{text}");
        assert!(text.contains("http://127.0.0.1:3001/outbox"), "{text}");
        assert!(
            text.contains("anyone who reaches it reads every mail"),
            "{text}"
        );
    }
}
