//! [`InFlightSlots`]: at most `GRIDLINK_UTILITY_MAX_IN_FLIGHT` requests of
//! this server open to any one utility, however many syncs, logins and code
//! checks run at once. Calls beyond it wait for a free slot, in order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// One ceiling per utility, made the first time the utility is called.
#[derive(Debug)]
pub struct InFlightSlots {
    per_utility: usize,
    slots: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl InFlightSlots {
    pub fn new(per_utility: usize) -> Self {
        InFlightSlots {
            per_utility,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a free slot at `utility`; the slot frees when the permit drops.
    pub async fn take(&self, utility: &str) -> OwnedSemaphorePermit {
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
