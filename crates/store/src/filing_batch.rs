//! Group commit for new cases: filings that arrive while one transaction
//! is being written wait for it and then go to disk together, in one
//! transaction and one fsync, each with its own queue entry, log leaf and
//! audit entry in the order they arrived. One writer at a time is what
//! SQLite allows and what the audit chain's lock makes of PostgreSQL; a
//! commit per filing made that writer's round trips and fsync the ceiling
//! (docs/performance.md, "Filings committed together").

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sea_orm::{DatabaseTransaction, EntityTrait};
use sunlight_core::crypto::Suite;
use sunlight_core::log::{EnvelopesHasher, LeafRecord};
use tokio::sync::oneshot;

use crate::audit::append_all;
use crate::cases::{NewCase, first_entry_model, new_case_model, received_record};
use crate::entity::{case, queue_entry};
use crate::error::Clash;
use crate::log::{NewLeaf, append_leaves, log_day};
use crate::{Store, StoreError};

/// At most this many filings share one transaction, so that one commit
/// holds the writer for a bounded time (a few milliseconds).
const MOST_PER_COMMIT: usize = 64;

/// A filing waiting for its commit, and where its outcome goes.
struct Waiting {
    case: NewCase,
    outcome: oneshot::Sender<Result<LeafRecord, StoreError>>,
}

/// The filings not yet taken into a transaction, and the right to write
/// the next one. Shared by every clone of a `Store`.
#[derive(Default)]
pub(crate) struct FilingQueue {
    waiting: Mutex<Vec<Waiting>>,
    /// Held by the task writing a batch, from taking it until every
    /// outcome is sent.
    writer: Arc<tokio::sync::Mutex<()>>,
    commits: AtomicU64,
    filed: AtomicU64,
}

/// How many transactions have filed how many cases since the store
/// opened: `filed / commits` is the mean batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilingCommits {
    pub commits: u64,
    pub filed: u64,
}

impl std::fmt::Debug for FilingQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilingQueue")
            .field("commits", &self.commits)
            .field("filed", &self.filed)
            .finish_non_exhaustive()
    }
}

impl FilingQueue {
    fn waiting(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        // A panic while the list was held cannot leave it half-changed
        // (push and drain only), so a poisoned lock is still sound.
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store {
    /// Files one case (no attachments) together with whatever other
    /// filings are waiting: returns once its transaction has committed.
    pub(crate) async fn file_in_turn(&self, case: NewCase) -> Result<LeafRecord, StoreError> {
        let queue = &self.filings;
        let (outcome, mut answered) = oneshot::channel();
        queue.waiting().push(Waiting { case, outcome });
        loop {
            tokio::select! {
                // An outcome first: once the writer has answered, this
                // filing is done even if the writer's lock is free too.
                biased;
                answer = &mut answered => {
                    return answer.unwrap_or_else(|_| {
                        Err(StoreError::Invalid("the filing's transaction ended without an answer"))
                    });
                }
                turn = queue.writer.clone().lock_owned() => {
                    let batch: Vec<Waiting> = {
                        let mut waiting = queue.waiting();
                        let n = waiting.len().min(MOST_PER_COMMIT);
                        waiting.drain(..n).collect()
                    };
                    if batch.is_empty() {
                        // This filing is in a batch whose answers are on
                        // their way.
                        continue;
                    }
                    // A task of its own, so that a reporter who goes away
                    // does not cancel the others' transaction.
                    let store = self.clone();
                    tokio::spawn(async move {
                        store.commit_batch(batch).await;
                        drop(turn);
                    });
                }
            }
        }
    }

    /// What group commit has done since this store opened.
    pub fn filing_commits(&self) -> FilingCommits {
        FilingCommits {
            commits: self.filings.commits.load(Ordering::Relaxed),
            filed: self.filings.filed.load(Ordering::Relaxed),
        }
    }

    async fn commit_batch(&self, batch: Vec<Waiting>) {
        let together = self.file_together(&batch).await;
        match together {
            Ok(leaves) => {
                self.count(1, leaves.len());
                for (w, leaf) in batch.into_iter().zip(leaves) {
                    let _gone = w.outcome.send(Ok(leaf));
                }
            }
            Err(e) if batch.len() == 1 => {
                if let Some(w) = batch.into_iter().next() {
                    let _gone = w.outcome.send(Err(e));
                }
            }
            // One filing that fails (a clashing id, say) must not fail the
            // others: each is written again alone, with its own outcome.
            Err(_) => {
                for w in batch {
                    let alone = self.file_together(std::slice::from_ref(&w)).await;
                    if alone.is_ok() {
                        self.count(1, 1);
                    }
                    let _gone = w.outcome.send(alone.and_then(|mut l| {
                        l.pop()
                            .ok_or(StoreError::Invalid("a filing produced no leaf"))
                    }));
                }
            }
        }
    }

    fn count(&self, commits: u64, filed: usize) {
        let filed = u64::try_from(filed).unwrap_or(u64::MAX);
        self.filings.commits.fetch_add(commits, Ordering::Relaxed);
        self.filings.filed.fetch_add(filed, Ordering::Relaxed);
    }

    /// The batch in one transaction, in order: every filing or none.
    async fn file_together(&self, batch: &[Waiting]) -> Result<Vec<LeafRecord>, StoreError> {
        let suite = self.log_suite().await?;
        let txn = self.write_txn().await?;
        let leaves = insert_cases_in(&txn, suite, batch).await?;
        txn.commit().await?;
        Ok(leaves)
    }
}

/// Every case of the batch with its first queue entry, leaf and audit
/// entry: one statement per table for all of them (on PostgreSQL each
/// statement is a round trip made under the audit chain's lock).
async fn insert_cases_in(
    txn: &DatabaseTransaction,
    suite: Suite,
    batch: &[Waiting],
) -> Result<Vec<LeafRecord>, StoreError> {
    let cases = batch.iter().map(|w| &w.case);
    case::Entity::insert_many(cases.clone().map(new_case_model))
        .exec_without_returning(txn)
        .await
        .map_err(|e| StoreError::unique(e, Clash::Exists("case")))?;
    queue_entry::Entity::insert_many(cases.clone().map(first_entry_model))
        .exec_without_returning(txn)
        .await?;
    let leaves = cases
        .clone()
        .map(|c| {
            let mut envelopes = EnvelopesHasher::new(suite);
            envelopes.part(&c.sealed_report);
            NewLeaf {
                envelopes,
                day: log_day(c.received_at),
                case: c.id,
                message: None,
            }
        })
        .collect();
    let records = append_leaves(txn, suite, leaves).await?;
    append_all(txn, cases.map(received_record).collect()).await?;
    Ok(records)
}
