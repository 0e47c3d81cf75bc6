//! The languages Connect speaks, and its words in each. The words live in
//! Fluent catalogues (`shared/locales/<language>/*.ftl`, one per language);
//! `build.rs` turns them into one method per message on [`Language`], so a
//! screen asks for `language.code_sent(method, destination)` and a missing
//! translation is a build error, not a blank on a screen.
//!
//! Both the browser (Connect's screens) and the server (the errors Connect
//! shows) use them: the browser sends its language as `Accept-Language`.

use serde::{Deserialize, Serialize};

/// A language Connect is written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Language {
    #[default]
    #[serde(rename = "en")]
    En,
    #[serde(rename = "es")]
    Es,
}

include!(concat!(env!("OUT_DIR"), "/messages.rs"));

impl Language {
    pub const ALL: [Language; 2] = [Language::En, Language::Es];

    /// The BCP 47 code: `lang="…"`, `?lang=…`, `Accept-Language`.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Es => "es",
        }
    }

    /// The language's own name, for a language menu.
    pub fn native_name(self) -> &'static str {
        match self {
            Language::En => "English",
            Language::Es => "Español",
        }
    }

    /// A language tag like `es`, `es-MX` or `EN-gb`, by its primary subtag.
    pub fn from_tag(tag: &str) -> Option<Language> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Language::ALL
            .into_iter()
            .find(|language| language.code().eq_ignore_ascii_case(primary))
    }

    /// The first of `tags` (most preferred first) that Connect speaks.
    pub fn first_supported<'a>(tags: impl IntoIterator<Item = &'a str>) -> Option<Language> {
        tags.into_iter().find_map(Language::from_tag)
    }

    /// The best language for an `Accept-Language` header (`es-MX,es;q=0.9,en;q=0.8`):
    /// tags in order of their `q`, `q=0` excluded; `None` when none is spoken here.
    pub fn from_accept_language(header: &str) -> Option<Language> {
        let mut weighted: Vec<(u16, usize, &str)> = header
            .split(',')
            .enumerate()
            .filter_map(|(position, item)| {
                let mut parts = item.split(';');
                let tag = parts.next()?.trim();
                let quality = parts
                    .filter_map(|parameter| parameter.trim().strip_prefix("q="))
                    .next()
                    .map_or(Some(1000), |q| {
                        q.trim()
                            .parse::<f32>()
                            .ok()
                            .map(|q| (q.clamp(0.0, 1.0) * 1000.0) as u16)
                    })?;
                (!tag.is_empty() && quality > 0).then_some((quality, position, tag))
            })
            .collect();
        weighted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        Language::first_supported(weighted.into_iter().map(|(_, _, tag)| tag))
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_headers_pick_a_spoken_language() {
        assert_eq!(Language::from_tag("es-MX"), Some(Language::Es));
        assert_eq!(Language::from_tag("EN_gb"), Some(Language::En));
        assert_eq!(Language::from_tag("fr"), None);
        assert_eq!(
            Language::first_supported(["fr-FR", "es", "en"]),
            Some(Language::Es)
        );
        assert_eq!(
            Language::from_accept_language("fr;q=1, en;q=0.5, es-419;q=0.8"),
            Some(Language::Es)
        );
        assert_eq!(
            Language::from_accept_language("es;q=0, en"),
            Some(Language::En)
        );
        assert_eq!(Language::from_accept_language("de, fr"), None);
        assert_eq!(Language::from_accept_language(""), None);
        assert_eq!(Language::from_accept_language("es;q=oops"), None);
    }

    #[test]
    fn messages_take_their_variables_and_plurals() {
        assert_eq!(
            Language::En.wrong_code(1),
            "That code is not right. 1 attempt left."
        );
        assert_eq!(
            Language::En.wrong_code(3),
            "That code is not right. 3 attempts left."
        );
        assert_eq!(
            Language::Es.wrong_code(1),
            "Ese código no es correcto. Queda 1 intento."
        );
        assert_eq!(
            Language::Es.wrong_code(4),
            "Ese código no es correcto. Quedan 4 intentos."
        );
        assert_ne!(Language::En.choose_utility(), Language::Es.choose_utility());
    }
}
