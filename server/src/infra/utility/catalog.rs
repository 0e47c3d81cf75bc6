//! The utilities Gridlink can connect to, fetched from the utility service and
//! kept for a minute so forms and validation do not ask it every time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::RwLock;

use super::{UtilityConnector, UtilityError, UtilityInfo};

const FRESH_FOR: Duration = Duration::from_secs(60);

/// The list and when it was fetched.
type Cached = Option<(Instant, Arc<Vec<UtilityInfo>>)>;

#[derive(Clone)]
pub struct UtilityCatalog {
    connector: Arc<dyn UtilityConnector>,
    cached: Arc<RwLock<Cached>>,
}

impl UtilityCatalog {
    pub fn new(connector: Arc<dyn UtilityConnector>) -> Self {
        UtilityCatalog {
            connector,
            cached: Arc::default(),
        }
    }

    pub async fn all(&self) -> Result<Arc<Vec<UtilityInfo>>, UtilityError> {
        if let Some((fetched_at, utilities)) = self.cached.read().await.as_ref() {
            if fetched_at.elapsed() < FRESH_FOR {
                return Ok(Arc::clone(utilities));
            }
        }
        self.refresh().await
    }

    /// Reads the adapters' catalogues now, whatever the cache holds.
    pub async fn refresh(&self) -> Result<Arc<Vec<UtilityInfo>>, UtilityError> {
        let utilities = Arc::new(self.connector.list_utilities().await?);
        *self.cached.write().await = Some((Instant::now(), Arc::clone(&utilities)));
        Ok(utilities)
    }

    /// The utility's name for people, or its id while the catalogue cannot say.
    pub async fn name_of(&self, id: &str) -> String {
        match self.find(id).await {
            Ok(Some(utility)) => utility.name,
            _ => id.to_owned(),
        }
    }

    pub async fn find(&self, id: &str) -> Result<Option<UtilityInfo>, UtilityError> {
        Ok(self
            .all()
            .await?
            .iter()
            .find(|utility| utility.id == id)
            .cloned())
    }
}
