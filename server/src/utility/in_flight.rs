//! [`InFlightLimit`]: at most `GRIDLINK_UTILITY_MAX_IN_FLIGHT` requests of
//! this server open to any one utility, however many syncs, logins and code
//! checks run at once. Calls beyond it wait for a free slot, in order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use shared::validation::{OtpCode, Password, Username};
use shared::MfaMethod;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{
    Account, CodeSent, LoginOutcome, SecretToken, SessionToken, Statement, UtilityConnector,
    UtilityError, UtilityInfo,
};

/// A [`UtilityConnector`] that keeps each utility's calls in flight under a ceiling.
pub struct InFlightLimit {
    inner: Arc<dyn UtilityConnector>,
    per_utility: usize,
    slots: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl InFlightLimit {
    pub fn new(inner: Arc<dyn UtilityConnector>, per_utility: usize) -> Self {
        InFlightLimit {
            inner,
            per_utility,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a free slot at `utility`; the slot frees when the permit drops.
    async fn slot(&self, utility: &str) -> OwnedSemaphorePermit {
        let semaphore = {
            let mut slots = self
                .slots
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(
                slots
                    .entry(utility.to_owned())
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_utility))),
            )
        };
        semaphore
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }
}

#[async_trait]
impl UtilityConnector for InFlightLimit {
    async fn list_utilities(&self) -> Result<Vec<UtilityInfo>, UtilityError> {
        self.inner.list_utilities().await
    }

    async fn login(
        &self,
        utility: &str,
        username: &Username,
        password: &Password,
    ) -> Result<LoginOutcome, UtilityError> {
        let _slot = self.slot(utility).await;
        self.inner.login(utility, username, password).await
    }

    async fn send_code(
        &self,
        utility: &str,
        challenge_id: &str,
        method: MfaMethod,
    ) -> Result<CodeSent, UtilityError> {
        let _slot = self.slot(utility).await;
        self.inner.send_code(utility, challenge_id, method).await
    }

    async fn verify_code(
        &self,
        utility: &str,
        challenge_id: &str,
        code: &OtpCode,
    ) -> Result<SessionToken, UtilityError> {
        let _slot = self.slot(utility).await;
        self.inner.verify_code(utility, challenge_id, code).await
    }

    async fn accounts(
        &self,
        utility: &str,
        token: &SecretToken,
    ) -> Result<Vec<Account>, UtilityError> {
        let _slot = self.slot(utility).await;
        self.inner.accounts(utility, token).await
    }

    async fn statements(
        &self,
        utility: &str,
        token: &SecretToken,
        account_number: &str,
    ) -> Result<Vec<Statement>, UtilityError> {
        let _slot = self.slot(utility).await;
        self.inner.statements(utility, token, account_number).await
    }
}
