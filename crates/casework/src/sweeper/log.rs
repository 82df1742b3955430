//! Once a local day, the sweeper places the pending leaves of the
//! transparency log and signs a head: filings are published in daily
//! batches, never one head per filing (which would tell each reporter the
//! deployment's exact count).

use chrono::{DateTime, Utc};
use sunlight_core::crypto::CodeStretcher;
use sunlight_core::log::{LogKey, SignedHead};
use sunlight_store::StoreError;

use super::Sweeper;

impl Sweeper {
    /// Lets this sweeper sign log heads, with the key derived from the
    /// deployment's pepper (which the stretcher holds).
    pub fn with_log_key_from(mut self, stretcher: CodeStretcher) -> Self {
        self.log_source = Some(stretcher);
        self
    }

    /// The log's key, when this sweeper may sign.
    async fn log_key(&self) -> Result<Option<LogKey>, StoreError> {
        let Some(stretcher) = &self.log_source else {
            return Ok(None);
        };
        let suite = self.store.log_suite().await?;
        LogKey::derive(suite, &stretcher.secrets().pepper)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// Publishes today's head unless this process did already. `None`
    /// when it did, or when this sweeper has no key.
    pub async fn publish_log_head(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Option<SignedHead>, StoreError> {
        let day = self.policy.local_date(now);
        if self.log_day.lock().is_ok_and(|d| *d == Some(day)) {
            return Ok(None);
        }
        let Some(key) = self.log_key().await? else {
            return Ok(None);
        };
        let head = self.store.publish_log_head(&key, day, false).await?;
        if let Ok(mut d) = self.log_day.lock() {
            *d = Some(day);
        }
        Ok(Some(head))
    }
}
