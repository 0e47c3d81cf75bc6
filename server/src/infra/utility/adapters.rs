//! Several utility adapters behind one [`UtilityConnector`]. A deployment
//! lists them in a TOML file (`GRIDLINK_ADAPTERS`):
//!
//! ```toml
//! [[adapter]]
//! name = "acme-energy"
//! url = "https://adapter.acme-energy.example"
//! secret_env = "ACME_ADAPTER_SECRET"   # names the variable holding its whsec_… secret
//! ```
//!
//! The catalogue is the union of what each adapter lists; each utility is
//! routed to the adapter that listed it. Two adapters listing one utility is
//! a start-up error; found later (an adapter changed its list), the first
//! adapter keeps it and the conflict is logged. An adapter that cannot be
//! reached keeps its last known utilities, so their credentials stay where
//! they are and simply cannot sync until it answers.

use std::collections::HashMap;
use std::path::Path;
use std::sync::RwLock;

use async_trait::async_trait;
use reqwest::Url;
use serde::Deserialize;
use shared::validation::{OtpCode, Password, Username};
use shared::MfaMethod;

use super::http::HttpUtilityConnector;
use super::{
    Account, CodeSent, LoginOutcome, SecretToken, SessionToken, Statement, UtilityConnector,
    UtilityError, UtilityInfo,
};
use crate::infra::config::ConfigError;
use crate::infra::webhook_signing::SigningSecret;

pub const ADAPTERS: &str = "GRIDLINK_ADAPTERS (--adapters)";

/// One adapter as configured.
#[derive(Debug, Clone)]
pub struct AdapterConfig {
    pub name: String,
    pub url: Url,
    pub secret: Option<SigningSecret>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdaptersFile {
    #[serde(default)]
    adapter: Vec<AdapterEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdapterEntry {
    name: String,
    url: String,
    secret_env: Option<String>,
}

/// Reads the adapters file; `env` looks up the variables that hold the secrets.
pub fn load(
    path: &Path,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<AdapterConfig>, ConfigError> {
    let problem = |text: String| ConfigError::new(ADAPTERS, text);
    let text = std::fs::read_to_string(path)
        .map_err(|error| problem(format!("cannot read {}: {error}", path.display())))?;
    let file: AdaptersFile = toml::from_str(&text).map_err(|error| {
        problem(format!(
            "{} is not a valid adapters file: {error}",
            path.display()
        ))
    })?;
    if file.adapter.is_empty() {
        return Err(problem(format!(
            "{} lists no adapter: add an [[adapter]] with a name and a url",
            path.display()
        )));
    }
    let mut adapters: Vec<AdapterConfig> = Vec::new();
    for entry in file.adapter {
        let name = entry.name.trim().to_owned();
        if name.is_empty() || adapters.iter().any(|adapter| adapter.name == name) {
            return Err(problem(format!(
                "every adapter needs a name of its own ({name:?} is empty or repeated)"
            )));
        }
        let url = Url::parse(entry.url.trim())
            .ok()
            .filter(|url| matches!(url.scheme(), "https" | "http"))
            .ok_or_else(|| {
                problem(format!(
                    "adapter {name}: {:?} is not an http(s) URL",
                    entry.url
                ))
            })?;
        let secret = match entry.secret_env {
            None => None,
            Some(variable) => {
                let value = env(&variable).ok_or_else(|| {
                    problem(format!(
                        "adapter {name}: the variable {variable} (its secret) is not set"
                    ))
                })?;
                Some(SigningSecret::parse(&value).map_err(|error| {
                    problem(format!(
                        "adapter {name}: {variable} is not a whsec_ secret: {error}"
                    ))
                })?)
            }
        };
        adapters.push(AdapterConfig { name, url, secret });
    }
    Ok(adapters)
}

/// Two adapters listed the same utility.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "utility {utility:?} is listed by two adapters, {first} and {second}: it must belong to one"
)]
pub struct Conflict {
    pub utility: String,
    pub first: String,
    pub second: String,
}

pub struct Adapter {
    pub name: String,
    connector: HttpUtilityConnector,
}

/// The adapters, and which one serves each utility.
pub struct AdapterSet {
    adapters: Vec<Adapter>,
    /// Each adapter's last catalogue it answered (`None`: never reached yet).
    catalogues: RwLock<Vec<Option<Vec<UtilityInfo>>>>,
    /// Each adapter's last catalogue refresh: when it last succeeded, and the last error.
    refreshes: RwLock<Vec<Refresh>>,
}

/// How an adapter's catalogue refreshes went.
#[derive(Debug, Clone, Default)]
pub struct Refresh {
    pub last_success: Option<time::OffsetDateTime>,
    pub last_error: Option<String>,
}

/// One adapter as the health page shows it.
#[derive(Debug, Clone)]
pub struct AdapterView {
    pub name: String,
    pub url: String,
    pub signed: bool,
    pub utilities: Vec<UtilityInfo>,
    pub refresh: Refresh,
}

impl AdapterSet {
    pub fn new(adapters: Vec<(String, HttpUtilityConnector)>) -> AdapterSet {
        let count = adapters.len();
        AdapterSet {
            adapters: adapters
                .into_iter()
                .map(|(name, connector)| Adapter { name, connector })
                .collect(),
            catalogues: RwLock::new(vec![None; count]),
            refreshes: RwLock::new(vec![Refresh::default(); count]),
        }
    }

    /// Every adapter with its last catalogue and refresh.
    pub fn views(&self) -> Vec<AdapterView> {
        let catalogues = self.read();
        let refreshes = self
            .refreshes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.adapters
            .iter()
            .enumerate()
            .map(|(index, adapter)| AdapterView {
                name: adapter.name.clone(),
                url: adapter.connector.base_url().to_string(),
                signed: adapter.connector.is_signed(),
                utilities: catalogues[index].clone().unwrap_or_default(),
                refresh: refreshes[index].clone(),
            })
            .collect()
    }

    pub fn adapters(&self) -> &[Adapter] {
        &self.adapters
    }

    /// Asks every adapter for its catalogue; at start-up, a utility listed
    /// twice is an error. Adapters that do not answer are logged and skipped.
    pub async fn check_at_start(&self) -> anyhow::Result<()> {
        self.refresh().await;
        let catalogues = self.read();
        if let Some(conflict) = conflicts(&self.adapters, &catalogues).into_iter().next() {
            anyhow::bail!("{conflict}");
        }
        for (adapter, catalogue) in self.adapters.iter().zip(catalogues.iter()) {
            match catalogue {
                Some(utilities) => tracing::info!(
                    adapter = adapter.name,
                    url = %adapter.connector.base_url(),
                    utilities = utilities.len(),
                    "utility adapter ready"
                ),
                None => tracing::warn!(
                    adapter = adapter.name,
                    url = %adapter.connector.base_url(),
                    "utility adapter not answering at start; its utilities appear once it does"
                ),
            }
        }
        Ok(())
    }

    /// Fetches every adapter's catalogue, keeping the last known one of an adapter that fails.
    async fn refresh(&self) {
        for (index, adapter) in self.adapters.iter().enumerate() {
            let outcome = adapter.connector.list_utilities().await;
            {
                let mut refreshes = self
                    .refreshes
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                match &outcome {
                    Ok(_) => {
                        refreshes[index] = Refresh {
                            last_success: Some(time::OffsetDateTime::now_utc()),
                            last_error: None,
                        }
                    }
                    Err(error) => {
                        refreshes[index].last_error = Some(match error.details() {
                            Some(details) => format!("{error}: {details}"),
                            None => error.to_string(),
                        })
                    }
                }
            }
            match outcome {
                Ok(utilities) => self.write()[index] = Some(utilities),
                Err(error) => tracing::warn!(
                    adapter = adapter.name,
                    %error,
                    "cannot read an adapter's utilities; keeping the last known ones"
                ),
            }
        }
        for conflict in conflicts(&self.adapters, &self.read()) {
            tracing::error!(%conflict, "the first adapter keeps the utility");
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Option<Vec<UtilityInfo>>>> {
        self.catalogues
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Option<Vec<UtilityInfo>>>> {
        self.catalogues
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The union of the catalogues, each utility once (the first adapter's).
    fn union(&self) -> Vec<UtilityInfo> {
        let mut seen = HashMap::new();
        let mut utilities = Vec::new();
        for catalogue in self.read().iter().flatten() {
            for utility in catalogue {
                if seen.insert(utility.id.clone(), ()).is_none() {
                    utilities.push(utility.clone());
                }
            }
        }
        utilities
    }

    /// The adapter that listed `utility`; asks again once if none did.
    async fn route(&self, utility: &str) -> Result<&HttpUtilityConnector, UtilityError> {
        if let Some(index) = self.owner(utility) {
            return Ok(&self.adapters[index].connector);
        }
        self.refresh().await;
        self.owner(utility)
            .map(|index| &self.adapters[index].connector)
            .ok_or(UtilityError::UnknownUtility)
    }

    fn owner(&self, utility: &str) -> Option<usize> {
        self.read().iter().position(|catalogue| {
            catalogue
                .as_ref()
                .is_some_and(|list| list.iter().any(|info| info.id == utility))
        })
    }
}

/// Every utility listed by more than one adapter.
fn conflicts(adapters: &[Adapter], catalogues: &[Option<Vec<UtilityInfo>>]) -> Vec<Conflict> {
    let mut owners: HashMap<&str, &str> = HashMap::new();
    let mut found = Vec::new();
    for (adapter, catalogue) in adapters.iter().zip(catalogues) {
        for utility in catalogue.iter().flatten() {
            match owners.get(utility.id.as_str()) {
                Some(first) => found.push(Conflict {
                    utility: utility.id.clone(),
                    first: (*first).to_owned(),
                    second: adapter.name.clone(),
                }),
                None => {
                    owners.insert(&utility.id, &adapter.name);
                }
            }
        }
    }
    found
}

#[async_trait]
impl UtilityConnector for AdapterSet {
    async fn list_utilities(&self) -> Result<Vec<UtilityInfo>, UtilityError> {
        self.refresh().await;
        if self.read().iter().all(Option::is_none) {
            return Err(UtilityError::Unavailable(
                "no utility adapter is answering".into(),
            ));
        }
        Ok(self.union())
    }

    async fn login(
        &self,
        utility: &str,
        username: &Username,
        password: &Password,
    ) -> Result<LoginOutcome, UtilityError> {
        self.route(utility)
            .await?
            .login(utility, username, password)
            .await
    }

    async fn send_code(
        &self,
        utility: &str,
        challenge_id: &str,
        method: MfaMethod,
    ) -> Result<CodeSent, UtilityError> {
        self.route(utility)
            .await?
            .send_code(utility, challenge_id, method)
            .await
    }

    async fn verify_code(
        &self,
        utility: &str,
        challenge_id: &str,
        code: &OtpCode,
    ) -> Result<SessionToken, UtilityError> {
        self.route(utility)
            .await?
            .verify_code(utility, challenge_id, code)
            .await
    }

    async fn accounts(
        &self,
        utility: &str,
        token: &SecretToken,
    ) -> Result<Vec<Account>, UtilityError> {
        self.route(utility).await?.accounts(utility, token).await
    }

    async fn statements(
        &self,
        utility: &str,
        token: &SecretToken,
        account_number: &str,
    ) -> Result<Vec<Statement>, UtilityError> {
        self.route(utility)
            .await?
            .statements(utility, token, account_number)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile_path::Temp {
        tempfile_path::Temp::with(text)
    }

    /// A file in the system's temporary folder, removed when dropped.
    mod tempfile_path {
        pub struct Temp(pub std::path::PathBuf);
        impl Temp {
            pub fn with(text: &str) -> Temp {
                let path = std::env::temp_dir()
                    .join(format!("{}.toml", crate::infra::tokens::new_id("adapters")));
                std::fs::write(&path, text).unwrap();
                Temp(path)
            }
        }
        impl Drop for Temp {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn reads_adapters_with_their_secrets_from_the_environment() {
        let path = file(
            "[[adapter]]\nname = \"a\"\nurl = \"https://a.example\"\nsecret_env = \"A_SECRET\"\n\n\
             [[adapter]]\nname = \"b\"\nurl = \"http://127.0.0.1:9000\"\n",
        );
        let adapters = load(&path.0, |name| {
            (name == "A_SECRET").then(|| SECRET.to_owned())
        })
        .unwrap();
        assert_eq!(adapters.len(), 2);
        assert_eq!(adapters[0].name, "a");
        assert!(adapters[0].secret.is_some());
        assert!(adapters[1].secret.is_none());
    }

    #[test]
    fn every_mistake_names_the_option_and_what_is_wrong() {
        let cases = [
            ("", "lists no adapter"),
            ("[[adapter]]\nname = \"a\"\n", "not a valid adapters file"),
            ("[[adapter]]\nname = \"a\"\nurl = \"ftp://x\"\n", "not an http(s) URL"),
            ("[[adapter]]\nname = \"a\"\nurl = \"https://x\"\nsecret_env = \"MISSING\"\n", "MISSING (its secret) is not set"),
            ("[[adapter]]\nname = \"a\"\nurl = \"https://x\"\nsecret_env = \"BAD\"\n", "BAD is not a whsec_ secret"),
            ("[[adapter]]\nname = \"a\"\nurl = \"https://x\"\n[[adapter]]\nname = \"a\"\nurl = \"https://y\"\n", "is empty or repeated"),
            ("[[adapter]]\nname = \"a\"\nurl = \"https://x\"\nsecrets = \"X\"\n", "unknown field"),
        ];
        for (text, expected) in cases {
            let path = file(text);
            let error =
                load(&path.0, |name| (name == "BAD").then(|| "oops".to_owned())).unwrap_err();
            assert_eq!(error.option, ADAPTERS);
            assert!(
                error.problem.contains(expected),
                "{text:?}: {}",
                error.problem
            );
        }
    }
}
