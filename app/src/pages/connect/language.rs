//! Which language Connect speaks: `?lang=` on the link (the embed script's
//! `language` option sets it) first, then the browser's languages, then the
//! organisation's default, then English. The page's `lang` and title follow.

use leptos::prelude::*;
use shared::i18n::Language;

/// Connect's language, shared by every Connect screen.
#[derive(Debug, Clone, Copy)]
pub struct ConnectLanguage {
    current: RwSignal<Language>,
    /// Set by `?lang=` or the browser: the organisation's default does not apply.
    decided: bool,
}

impl ConnectLanguage {
    /// Reads `?lang=` and the browser's languages, and keeps the document's
    /// `lang` attribute and title in step with the language.
    pub fn detect() -> ConnectLanguage {
        let chosen = from_query().or_else(from_browser);
        let language = ConnectLanguage {
            current: RwSignal::new(chosen.unwrap_or_default()),
            decided: chosen.is_some(),
        };
        Effect::new(move |_| {
            let current = language.current.get();
            let document = document();
            if let Some(root) = document.document_element() {
                let _ = root.set_attribute("lang", current.code());
            }
            document.set_title(current.document_title());
        });
        language
    }

    /// The language now (tracked: views that read it follow a change).
    pub fn get(self) -> Language {
        self.current.get()
    }

    pub fn get_untracked(self) -> Language {
        self.current.get_untracked()
    }

    /// The organisation's default, used when neither the link nor the browser chose.
    pub fn use_organisation_default(self, language: Language) {
        if !self.decided && self.current.get_untracked() != language {
            self.current.set(language);
        }
    }
}

/// Connect's language, from the context [`ConnectLanguage::detect`] provided.
pub fn language() -> ConnectLanguage {
    expect_context::<ConnectLanguage>()
}

fn from_query() -> Option<Language> {
    let search = window().location().search().ok()?;
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix("lang="))
        .and_then(Language::from_tag)
}

fn from_browser() -> Option<Language> {
    let languages = window().navigator().languages();
    let tags: Vec<String> = languages.iter().filter_map(|tag| tag.as_string()).collect();
    Language::first_supported(tags.iter().map(String::as_str))
}
