//! Sending mail over SMTP (`lettre`). `GRIDLINK_SMTP_URL` names the server:
//! `smtps://` is TLS from the first byte (port 465 by default), `smtp://`
//! upgrades with STARTTLS and refuses to go on without it (port 587), except
//! on this machine (the sandbox's mail catcher), where plain SMTP is allowed.
//! Certificates are verified against the same roots as every other outgoing
//! connection ([`TrustRoots`]); there is no switch to skip that.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use url::Url;

use crate::infra::config::{ConfigError, MAIL_FROM, SMTP_URL};
use crate::infra::outbound::TrustRoots;

/// How long one SMTP exchange may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// TLS from the first byte (`smtps://`).
    ImplicitTls,
    /// Plain, then STARTTLS before anything else is said; no STARTTLS, no mail.
    StartTls,
    /// No TLS: only ever to a server on this machine.
    PlainLoopback,
}

/// A validated `GRIDLINK_SMTP_URL`.
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("credentials", &self.credentials.as_ref().map(|_| "…"))
            .finish()
    }
}

impl SmtpConfig {
    /// Parses `smtps://user:pass@host[:port]` or `smtp://…`.
    pub fn parse(value: &str) -> Result<SmtpConfig, ConfigError> {
        let problem = |what: &str| ConfigError::new(SMTP_URL, what);
        let url = Url::parse(value.trim())
            .map_err(|_| problem("not a URL; e.g. smtps://user:password@mail.example.com"))?;
        let host = match url.host() {
            Some(url::Host::Domain(domain)) => domain.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(problem("the URL names no mail server")),
        };
        let loopback = is_loopback(&host);
        let security = match url.scheme() {
            "smtps" => SmtpSecurity::ImplicitTls,
            "smtp" if loopback => SmtpSecurity::PlainLoopback,
            "smtp" => SmtpSecurity::StartTls,
            _ => {
                return Err(problem(
                    "use smtps:// (TLS) or smtp:// (STARTTLS, required unless the server is on this machine)",
                ))
            }
        };
        if url.query().is_some() || url.path().len() > 1 {
            return Err(problem(
                "takes no path or options: the scheme says how it is secured",
            ));
        }
        let port = url.port().unwrap_or(match security {
            SmtpSecurity::ImplicitTls => 465,
            SmtpSecurity::StartTls | SmtpSecurity::PlainLoopback => 587,
        });
        let decode = |part: &str| {
            percent_decode(part)
                .ok_or_else(|| problem("the user name or password is not valid percent-encoding"))
        };
        let credentials = if url.username().is_empty() {
            None
        } else {
            Some((
                decode(url.username())?,
                decode(url.password().unwrap_or_default())?,
            ))
        };
        Ok(SmtpConfig {
            host,
            port,
            security,
            credentials,
        })
    }

    /// The server for logs, without the credentials.
    pub fn describe(&self) -> String {
        let scheme = match self.security {
            SmtpSecurity::ImplicitTls => "smtps",
            SmtpSecurity::StartTls | SmtpSecurity::PlainLoopback => "smtp",
        };
        format!("{scheme}://{}:{}", self.host, self.port)
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = std::str::from_utf8(bytes.get(index + 1..index + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Parses `GRIDLINK_MAIL_FROM`, e.g. `Gridlink <no-reply@example.com>`.
pub fn parse_from(value: &str) -> Result<Mailbox, ConfigError> {
    value.trim().parse::<Mailbox>().map_err(|_| {
        ConfigError::new(
            MAIL_FROM,
            "not a mail address; e.g. no-reply@example.com or \"Gridlink <no-reply@example.com>\"",
        )
    })
}

/// Why a message was not sent.
#[derive(Debug)]
pub struct SendFailure {
    /// The server refused the message for good (a 5xx answer): retrying cannot help.
    pub permanent: bool,
    /// Words for the delivery log; never the message or the credentials.
    pub description: String,
}

/// A connection recipe for the mail server; each send opens its own connection.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// Where mail is sent, for logs.
    pub server: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("server", &self.server)
            .finish()
    }
}

impl Mailer {
    pub fn new(config: &SmtpConfig, trust: &TrustRoots) -> anyhow::Result<Mailer> {
        let tls = match config.security {
            SmtpSecurity::PlainLoopback => Tls::None,
            SmtpSecurity::ImplicitTls => Tls::Wrapper(tls_parameters(&config.host, trust)?),
            SmtpSecurity::StartTls => Tls::Required(tls_parameters(&config.host, trust)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(TIMEOUT));
        if let Some((user, password)) = &config.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Mailer {
            transport: builder.build(),
            server: config.describe(),
        })
    }

    /// Sends one message.
    pub async fn send(&self, message: lettre::Message) -> Result<(), SendFailure> {
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|error| SendFailure {
                permanent: error.is_permanent(),
                description: crate::infra::outbound::truncate(
                    &format!(
                        "The mail server at {} did not take it: {error}",
                        self.server
                    ),
                    500,
                ),
            })
    }
}

fn tls_parameters(host: &str, trust: &TrustRoots) -> anyhow::Result<TlsParameters> {
    let mut builder =
        TlsParameters::builder(host.to_owned()).certificate_store(CertificateStore::None);
    for certificate in trust.certificates() {
        builder = builder.add_root_certificate(Certificate::from_der(certificate.to_vec())?);
    }
    Ok(builder.build_rustls()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_decides_how_the_connection_is_secured() {
        let tls = SmtpConfig::parse("smtps://user:p%40ss@mail.example.com").unwrap();
        assert_eq!(
            (tls.security, tls.port, tls.host.as_str()),
            (SmtpSecurity::ImplicitTls, 465, "mail.example.com")
        );
        assert_eq!(
            tls.credentials,
            Some(("user".to_owned(), "p@ss".to_owned()))
        );
        let starttls = SmtpConfig::parse("smtp://mail.example.com:2587").unwrap();
        assert_eq!(
            (starttls.security, starttls.port),
            (SmtpSecurity::StartTls, 2587)
        );
        let local = SmtpConfig::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(local.security, SmtpSecurity::PlainLoopback);
    }

    #[test]
    fn other_schemes_and_options_are_refused_and_credentials_never_printed() {
        for bad in [
            "http://mail.example.com",
            "smtp://mail.example.com?tls=none",
            "not a url",
            "smtps://",
        ] {
            let error = SmtpConfig::parse(bad).unwrap_err();
            assert_eq!(error.option, SMTP_URL, "{bad}");
        }
        let config = SmtpConfig::parse("smtps://user:secret@mail.example.com").unwrap();
        assert!(!format!("{config:?}").contains("secret"));
        assert!(!config.describe().contains("secret"));
    }

    #[test]
    fn the_sender_must_be_a_mail_address() {
        assert!(parse_from("Gridlink <no-reply@example.com>").is_ok());
        assert_eq!(parse_from("nobody").unwrap_err().option, MAIL_FROM);
    }
}
