//! Parse-don't-validate newtypes: a value of one of these types is valid by
//! construction. The form and the server call the same `parse`, so they reject
//! the same inputs with the same words.

use serde::{Deserialize, Serialize};

use crate::i18n::Language;

/// Why a value was refused: a sentence for the person who typed it. The
/// values Connect asks for (username, password, code) have theirs in Connect's
/// catalogues, in every language; the dashboard's are in English.
#[derive(Debug, Clone, Copy)]
pub struct ValidationError(Words);

#[derive(Debug, Clone, Copy)]
enum Words {
    English(&'static str),
    Catalogue(fn(Language) -> &'static str),
}

impl ValidationError {
    const fn english(text: &'static str) -> ValidationError {
        ValidationError(Words::English(text))
    }

    const fn catalogue(message: fn(Language) -> &'static str) -> ValidationError {
        ValidationError(Words::Catalogue(message))
    }

    /// The sentence in `language` (English where only English exists).
    pub fn in_language(&self, language: Language) -> &'static str {
        match self.0 {
            Words::English(text) => text,
            Words::Catalogue(message) => message(language),
        }
    }
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.in_language(Language::En))
    }
}

impl std::error::Error for ValidationError {}

/// Two refusals are the same when they say the same thing.
impl PartialEq for ValidationError {
    fn eq(&self, other: &Self) -> bool {
        self.in_language(Language::En) == other.in_language(Language::En)
    }
}

impl Eq for ValidationError {}

fn has_control_characters(value: &str) -> bool {
    value.chars().any(char::is_control)
}

/// A login name at a utility: trimmed, 1 to 128 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub const MAX_CHARS: usize = 128;

    pub fn parse(value: &str) -> Result<Username, ValidationError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(ValidationError::catalogue(Language::username_required));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::catalogue(Language::username_too_long));
        }
        if has_control_characters(value) {
            return Err(ValidationError::catalogue(
                Language::username_control_characters,
            ));
        }
        Ok(Username(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name people read: an organisation's (it signs end-user mail and heads
/// Connect) or an API key's. Trimmed, 1 to 100 characters, no control
/// characters: a line break would end a mail header or a CSV row early.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 100;
    /// What [`DisplayName::parse`] accepts (with the length), as a JSON Schema pattern.
    pub const PATTERN: &'static str = r"^(?=.*\S)[^\x00-\x1f\x7f-\x9f]*$";

    pub fn parse(value: &str) -> Result<DisplayName, ValidationError> {
        let value = value.trim();
        if value.is_empty() || value.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::english("The name is 1 to 100 characters."));
        }
        if has_control_characters(value) {
            return Err(ValidationError::english(
                "The name cannot hold line breaks, tabs or other control characters.",
            ));
        }
        Ok(DisplayName(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An integrator's own reference for a credential (`correlationId`): trimmed,
/// 1 to 200 characters, no control characters. The API reads a blank one as none.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct CorrelationId(String);

impl CorrelationId {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(value: &str) -> Result<CorrelationId, ValidationError> {
        let value = value.trim();
        if value.is_empty() || value.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::english(
                "A correlation id is 1 to 200 characters.",
            ));
        }
        if has_control_characters(value) {
            return Err(ValidationError::english(
                "A correlation id cannot contain control characters.",
            ));
        }
        Ok(CorrelationId(value.to_owned()))
    }

    /// The optional field as the API takes it: absent or blank is none.
    pub fn parse_optional(value: Option<&str>) -> Result<Option<CorrelationId>, ValidationError> {
        value
            .filter(|value| !value.trim().is_empty())
            .map(CorrelationId::parse)
            .transpose()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A utility password: 1 to 256 characters, kept exactly as typed.
///
/// Its `Debug` output is redacted so it never reaches a log by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct Password(String);

impl Password {
    pub const MAX_CHARS: usize = 256;

    pub fn parse(value: &str) -> Result<Password, ValidationError> {
        if value.is_empty() {
            return Err(ValidationError::catalogue(Language::password_required));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::catalogue(Language::password_too_long));
        }
        Ok(Password(value.to_owned()))
    }

    /// The password itself; call only where it is sent to the utility or encrypted.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A one-time verification code: 4 to 8 digits. Spaces and dashes that people
/// type or paste between digits (`123 456`, `123-456`) are dropped.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct OtpCode(String);

impl OtpCode {
    /// A code as an API request carries it: 4 to 8 ASCII digits, nothing
    /// else (no spaces, padding or other digit scripts).
    pub fn parse(value: &str) -> Result<OtpCode, ValidationError> {
        if value.is_empty() {
            return Err(ValidationError::catalogue(Language::code_required));
        }
        if !value.chars().all(|c| c.is_ascii_digit()) {
            return Err(ValidationError::catalogue(Language::code_digits_only));
        }
        if !(4..=8).contains(&value.len()) {
            return Err(ValidationError::catalogue(Language::code_length));
        }
        Ok(OtpCode(value.to_owned()))
    }

    /// A code as a person typed it: the spaces and hyphens that group its
    /// digits are dropped, then it is read as [`OtpCode::parse`] reads it.
    pub fn parse_typed(value: &str) -> Result<OtpCode, ValidationError> {
        let digits: String = value.chars().filter(|c| *c != ' ' && *c != '-').collect();
        Self::parse(&digits)
    }

    /// The digits; call only where the code is sent to the utility.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpCode(<redacted>)")
    }
}

/// The body of [`EmailAddress::PATTERN`], without anchors.
macro_rules! email_address_pattern {
    () => {
        concat!(
            r"[^\s@\x00-\x1f\x7f-\x9f]+@",
            r"[^\s@.\x00-\x1f\x7f-\x9f-]([^\s@.\x00-\x1f\x7f-\x9f]*[^\s@.\x00-\x1f\x7f-\x9f-])?",
            r"(\.[^\s@.\x00-\x1f\x7f-\x9f-]([^\s@.\x00-\x1f\x7f-\x9f]*[^\s@.\x00-\x1f\x7f-\x9f-])?)+"
        )
    };
}

/// An email address: one `@`, a non-empty local part, a domain with a dot,
/// at most 254 characters, stored in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// What [`EmailAddress::parse`] accepts, as a JSON Schema pattern.
    pub const PATTERN: &'static str = concat!(r"^\s*", email_address_pattern!(), r"\s*$");
    /// [`EmailAddress::PATTERN`], or blank (a field where blank removes the address).
    pub const PATTERN_OR_BLANK: &'static str =
        concat!(r"^\s*(", email_address_pattern!(), r")?\s*$");

    pub fn parse(value: &str) -> Result<EmailAddress, ValidationError> {
        const INVALID: ValidationError =
            ValidationError::english("Enter an email address like name@example.com.");
        let value = value.trim();
        if value.is_empty() {
            return Err(ValidationError::english("Enter an email address."));
        }
        // Characters, as the schema's maxLength counts them (not bytes).
        if value.chars().count() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(INVALID);
        }
        let (local, domain) = value.split_once('@').ok_or(INVALID)?;
        let domain_is_valid = !domain.contains('@')
            && domain.contains('.')
            && domain
                .split('.')
                .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        if local.is_empty() || !domain_is_valid {
            return Err(INVALID);
        }
        Ok(EmailAddress(value.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address as lists show it: the first character of the local part, then `•••`.
    pub fn masked(&self) -> String {
        mask_email(&self.0)
    }
}

/// `jane@example.com` → `j•••@example.com`; text without an `@` is masked whole.
pub fn mask_email(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".to_owned(),
    }
}

/// An absolute `https://` URL with a host, such as a webhook endpoint or a logo.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct HttpsUrl(String);

impl HttpsUrl {
    pub const MAX_CHARS: usize = 2048;

    pub fn parse(value: &str) -> Result<HttpsUrl, ValidationError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(ValidationError::english("Enter a URL."));
        }
        if value.len() > Self::MAX_CHARS {
            return Err(ValidationError::english(
                "A URL is at most 2048 characters.",
            ));
        }
        let Some(rest) = value
            .get(..8)
            .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
            .map(|_| &value[8..])
        else {
            return Err(ValidationError::english(
                "The URL must start with https://.",
            ));
        };
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ValidationError::english("A URL cannot contain spaces."));
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        // Credentials in a URL leak into logs and referrers.
        if authority.contains('@') {
            return Err(ValidationError::english(
                "The URL cannot contain a username or password.",
            ));
        }
        // An IPv6 literal is bracketed and holds colons of its own: a port
        // can only follow its closing bracket.
        let (host, port) = match authority.strip_prefix('[') {
            Some(bracketed) => match bracketed.split_once(']') {
                Some((address, "")) => (address, None),
                Some((address, rest)) => match rest.strip_prefix(':') {
                    Some(port) => (address, Some(port)),
                    None => return Err(ValidationError::english("The URL's host is not valid.")),
                },
                None => return Err(ValidationError::english("The URL's host is not valid.")),
            },
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        if port.is_some_and(|port| port.parse::<u16>().map_or(true, |port| port == 0)) {
            return Err(ValidationError::english(
                "The URL's port must be a number from 1 to 65535.",
            ));
        }
        if host.is_empty() || host.starts_with('.') || host.ends_with('.') {
            return Err(ValidationError::english(
                "The URL needs a host name, like https://example.com.",
            ));
        }
        Ok(HttpsUrl(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where an organisation's webhooks go: an `https://` URL, or `http://` for
/// `localhost`, `127.0.0.1` and `[::1]` (a receiver on the developer's machine).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(value: &str) -> Result<WebhookUrl, ValidationError> {
        let value = value.trim();
        let Some(rest) = value
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
            .map(|_| &value[7..])
        else {
            return HttpsUrl::parse(value).map(|url| WebhookUrl(url.0));
        };
        // Same rules as https, then the host must be this machine.
        HttpsUrl::parse(&format!("https://{rest}"))?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = match authority.rsplit_once(':') {
            Some((host, _)) if !authority.ends_with(']') => host,
            _ => authority,
        };
        if matches!(
            host.to_ascii_lowercase().as_str(),
            "localhost" | "127.0.0.1" | "[::1]"
        ) {
            Ok(WebhookUrl(value.to_owned()))
        } else {
            Err(ValidationError::english(
                "Use https:// (plain http:// is only allowed for localhost).",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The origin of a page allowed to embed Connect: `https://host[:port]`, or
/// `http://` for `localhost` and `127.0.0.1` (development). Stored lower-case,
/// without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct EmbedOrigin(String);

impl EmbedOrigin {
    pub fn parse(value: &str) -> Result<EmbedOrigin, ValidationError> {
        if has_control_characters(value) {
            return Err(ValidationError::english(
                "An origin cannot hold tabs, line breaks or other control characters.",
            ));
        }
        let value = value.trim().trim_end_matches('/').to_lowercase();
        let (scheme, rest) = value.split_once("://").ok_or(ValidationError::english(
            "An origin looks like https://www.example.com.",
        ))?;
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return Err(ValidationError::english(
                "An origin has no path: only https://host or https://host:port.",
            ));
        }
        let host = match rest.rsplit_once(':') {
            Some((host, port)) if !rest.ends_with(']') => {
                if port.parse::<u16>().map_or(true, |port| port == 0) {
                    return Err(ValidationError::english(
                        "The port must be a number from 1 to 65535.",
                    ));
                }
                host
            }
            _ => rest,
        };
        if host.is_empty() || host.starts_with('.') || host.ends_with('.') || host.contains("..") {
            return Err(ValidationError::english(
                "The origin needs a host name, like https://www.example.com.",
            ));
        }
        // The origin ends up in a Content-Security-Policy source list: only a
        // host name (letters, digits, hyphens, dots) or a bracketed IPv6
        // address may stand there, never a wildcard, `;`, white space or a
        // control character that would change or break the header.
        let is_ipv6 = host
            .strip_prefix('[')
            .and_then(|inner| inner.strip_suffix(']'))
            .is_some_and(|inner| {
                !inner.is_empty()
                    && inner
                        .chars()
                        .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
            });
        let is_name = host.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        if !is_ipv6 && !is_name {
            return Err(ValidationError::english(
                "An origin is https://host or https://host:port, the host written with letters, digits, hyphens and dots only (no wildcards, spaces or ;).",
            ));
        }
        let local = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
        match scheme {
            "https" => Ok(EmbedOrigin(value)),
            "http" if local => Ok(EmbedOrigin(value)),
            "http" => Err(ValidationError::english(
                "Use https:// (plain http:// is only allowed for localhost).",
            )),
            _ => Err(ValidationError::english("An origin starts with https://.")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A brand colour as `#RRGGBB`, dark enough that white text on it meets WCAG AA (4.5:1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct AccentColor(String);

impl AccentColor {
    pub fn parse(value: &str) -> Result<AccentColor, ValidationError> {
        let value = value.trim().to_lowercase();
        let hex = value
            .strip_prefix('#')
            .filter(|hex| hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()))
            .ok_or(ValidationError::english(
                "A colour is written #RRGGBB, like #1b5fd1.",
            ))?;
        let channel = |index: usize| {
            let value =
                f64::from(u8::from_str_radix(&hex[index..index + 2], 16).unwrap_or(0)) / 255.0;
            if value <= 0.039_28 {
                value / 12.92
            } else {
                ((value + 0.055) / 1.055).powf(2.4)
            }
        };
        let luminance = 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
        let contrast_with_white = 1.05 / (luminance + 0.05);
        if contrast_with_white < 4.5 {
            return Err(ValidationError::english("This colour is too light: white text on it would be hard to read. Choose a darker one."));
        }
        Ok(AccentColor(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_newtype_conversions {
    ($($name:ident),*) => {$(
        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                $name::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    )*};
}

string_newtype_conversions!(
    Username,
    DisplayName,
    CorrelationId,
    Password,
    OtpCode,
    EmailAddress,
    HttpsUrl,
    WebhookUrl,
    EmbedOrigin,
    AccentColor
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_correlation_id_is_trimmed_and_a_blank_one_is_none() {
        let parsed = CorrelationId::parse_optional(Some("  crm-42 ")).unwrap();
        assert_eq!(parsed.unwrap().as_str(), "crm-42");
        assert_eq!(CorrelationId::parse_optional(Some("   ")).unwrap(), None);
        assert_eq!(CorrelationId::parse_optional(None).unwrap(), None);
    }

    #[test]
    fn a_correlation_id_is_at_most_200_characters_without_control_characters() {
        assert!(CorrelationId::parse(&"é".repeat(200)).is_ok());
        assert!(CorrelationId::parse(&"é".repeat(201)).is_err());
        for bad in ["crm\n42", "crm\t42", "crm\u{7f}42", "crm\u{85}42"] {
            assert!(CorrelationId::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_masked_address_keeps_its_first_letter_and_domain() {
        assert_eq!(
            EmailAddress::parse("Jane.Doe@Example.com")
                .unwrap()
                .masked(),
            "j•••@example.com"
        );
        assert_eq!(mask_email("nobody"), "•••");
    }

    #[test]
    fn an_address_is_measured_in_characters_as_its_schema_is() {
        let local = "é".repeat(240);
        let address = format!("{local}@example.com");
        assert_eq!(address.chars().count(), 252);
        assert!(address.len() > 254, "more bytes than characters");
        assert!(EmailAddress::parse(&address).is_ok());
        assert!(EmailAddress::parse(&format!("{}@example.com", "é".repeat(243))).is_err());
    }

    #[test]
    fn case_37_a_display_name_refuses_control_characters() {
        assert_eq!(
            DisplayName::parse("  Acme Solar ").unwrap().as_str(),
            "Acme Solar"
        );
        assert!(DisplayName::parse("Acme <Energy> & Co").is_ok());
        for bad in [
            "",
            "   ",
            "Acme\r\nBcc: victim@example.com",
            "Acme\nSolar",
            "Acme\tSolar",
            "Acme\u{0}",
            "Acme\u{1b}[31m",
            "Ac\u{85}me",
        ] {
            assert!(DisplayName::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(DisplayName::parse(&"x".repeat(101)).is_err());
    }

    #[test]
    fn a_username_is_trimmed() {
        assert_eq!(
            Username::parse("  user_good ").unwrap().as_str(),
            "user_good"
        );
    }

    #[test]
    fn an_empty_or_blank_username_is_rejected() {
        assert_eq!(
            Username::parse("   ").unwrap_err().to_string(),
            "Enter a username."
        );
        assert_eq!(
            Username::parse("   ")
                .unwrap_err()
                .in_language(Language::Es),
            "Ingrese un usuario."
        );
    }

    #[test]
    fn a_username_of_129_characters_is_rejected_and_128_accepted() {
        assert!(Username::parse(&"é".repeat(128)).is_ok());
        assert!(Username::parse(&"é".repeat(129)).is_err());
    }

    #[test]
    fn a_username_with_a_newline_inside_is_rejected() {
        assert!(Username::parse("user\ngood").is_err());
    }

    #[test]
    fn a_password_keeps_its_spaces_and_is_redacted_in_debug() {
        let password = Password::parse(" pass good ").unwrap();
        assert_eq!(password.expose(), " pass good ");
        assert_eq!(format!("{password:?}"), "Password(<redacted>)");
    }

    #[test]
    fn an_empty_or_overlong_password_is_rejected() {
        assert!(Password::parse("").is_err());
        assert!(Password::parse(&"x".repeat(257)).is_err());
    }

    #[test]
    fn a_typed_code_with_spaces_or_dashes_is_accepted() {
        assert_eq!(
            OtpCode::parse_typed(" 123 456 ").unwrap().expose(),
            "123456"
        );
        assert_eq!(OtpCode::parse_typed("123-456").unwrap().expose(), "123456");
    }

    #[test]
    fn a_submitted_code_is_digits_only_without_padding_or_other_scripts() {
        for bad in [
            " 123456",
            "123456 ",
            "123 456",
            "١٢٣٤٥٦",
            "１２３４５６",
            "0000123456",
        ] {
            assert!(OtpCode::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_code_with_letters_or_the_wrong_length_is_rejected() {
        assert_eq!(
            OtpCode::parse("12a456").unwrap_err().to_string(),
            "The code is made of digits only."
        );
        assert!(OtpCode::parse("123").is_err());
        assert!(OtpCode::parse("123456789").is_err());
        assert!(OtpCode::parse("").is_err());
    }

    #[test]
    fn a_code_never_shows_in_debug_output() {
        assert!(!format!("{:?}", OtpCode::parse("987654").unwrap()).contains("987654"));
    }

    #[test]
    fn an_email_address_is_lower_cased() {
        assert_eq!(
            EmailAddress::parse(" Demo@Example.COM ").unwrap().as_str(),
            "demo@example.com"
        );
    }

    #[test]
    fn malformed_email_addresses_are_rejected() {
        for bad in [
            "",
            "demo",
            "demo@",
            "@example.com",
            "demo@example",
            "a@b@c.com",
            "a b@c.com",
            "a@-x.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn https_urls_with_a_host_are_accepted() {
        for good in [
            "https://example.com",
            "https://hooks.example.com:8443/gridlink?x=1",
            "HTTPS://Example.com/path",
            "https://[::1]:8443/",
            "https://[2001:db8::1]/hooks",
            "https://[fd00::1]",
        ] {
            assert!(HttpsUrl::parse(good).is_ok(), "{good:?} was refused");
        }
    }

    #[test]
    fn plain_http_and_malformed_urls_are_rejected() {
        assert_eq!(
            HttpsUrl::parse("http://example.com")
                .unwrap_err()
                .to_string(),
            "The URL must start with https://."
        );
        for bad in [
            "",
            "example.com",
            "https://",
            "https:///path",
            "https://exa mple.com",
            "https://user:secret@example.com",
            "https://[::1",
            "https://[::1]x/",
            "https://[::1]:0/",
            "https://example.com:0/",
            "https://example.com:99999/",
        ] {
            assert!(HttpsUrl::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn webhook_urls_are_https_or_plain_http_on_this_machine() {
        for good in [
            "https://hooks.example.com/gridlink",
            "http://localhost:9000/hooks",
            "http://127.0.0.1:8080",
            "HTTP://[::1]:8080/x",
        ] {
            assert!(WebhookUrl::parse(good).is_ok(), "{good:?} was refused");
        }
        assert_eq!(
            WebhookUrl::parse("http://hooks.example.com")
                .unwrap_err()
                .to_string(),
            "Use https:// (plain http:// is only allowed for localhost)."
        );
        for bad in [
            "",
            "ftp://example.com",
            "http://localhost:0/",
            "http://user:pw@localhost/",
            "http://localhost.example.com/",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn embed_origins_are_https_or_local_http_without_a_path() {
        assert_eq!(
            EmbedOrigin::parse("HTTPS://App.Example.com/")
                .unwrap()
                .as_str(),
            "https://app.example.com"
        );
        assert!(EmbedOrigin::parse("https://app.example.com:8443").is_ok());
        assert!(EmbedOrigin::parse("http://localhost:5173").is_ok());
        assert!(EmbedOrigin::parse("http://127.0.0.1:8080").is_ok());
        for bad in [
            "app.example.com",
            "http://app.example.com",
            "https://app.example.com/connect",
            "https://",
            "ftp://x.com",
            "https://a.com:0",
            "https://user@a.com",
        ] {
            assert!(EmbedOrigin::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn case_39_an_origin_that_could_change_a_security_header_is_refused() {
        for bad in [
            "https://a.com;script-src *",
            "https://a.com; frame-ancestors *",
            "https://a.com https://b.com",
            "https://a.com\thttps://b.com",
            "https://a.com\t",
            "https://a.com\r\nSet-Cookie: x=1",
            "https://a.com\u{7f}",
            "https://*.example.com",
            "https://*",
            "*",
            "https://a.com:*",
            "https://exa mple.com",
            "https://a.com/path",
            "https://a.com,b.com",
            "https://'self'",
            "https://-a.com",
            "https://ex\u{e4}mple.com",
            "https://[::1",
            "https://[]",
        ] {
            assert!(EmbedOrigin::parse(bad).is_err(), "{bad:?} was accepted");
        }
        for good in [
            "https://xn--exmple-cua.com",
            "https://a-b.example.com:8443",
            "https://[2001:db8::1]",
            "https://[2001:db8::1]:8443",
            "http://[::1]:3000",
        ] {
            assert!(EmbedOrigin::parse(good).is_ok(), "{good:?} was refused");
        }
    }

    #[test]
    fn an_accent_colour_must_carry_white_text() {
        assert_eq!(AccentColor::parse("#1B5FD1").unwrap().as_str(), "#1b5fd1");
        assert!(AccentColor::parse("#000000").is_ok());
        assert!(
            AccentColor::parse("#ffff00").is_err(),
            "yellow is too light for white text"
        );
        assert!(AccentColor::parse("1b5fd1").is_err());
        assert!(AccentColor::parse("#12345").is_err());
        assert!(AccentColor::parse("#gggggg").is_err());
    }

    #[test]
    fn newtypes_validate_when_deserialized() {
        assert!(serde_json::from_str::<Username>("\"  \"").is_err());
        let username: Username = serde_json::from_str("\"user_good\"").unwrap();
        assert_eq!(username.as_str(), "user_good");
    }
}
