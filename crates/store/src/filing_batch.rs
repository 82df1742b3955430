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

use crate::audit::append_all_after;
use crate::batch_heads::lock_and_read;
use crate::cases::{NewCase, first_entry_model, new_case_model, received_record};
use crate::entity::{case, queue_entry};
use crate::error::Clash;
use crate::log::{NewLeaf, append_leaves_after, log_day};
use crate::unit_keys::units_named;
use crate::{Store, StoreError};

/// At most this many filings share one transaction, so that one commit
/// holds the writer for a bounded time (a few milliseconds).
const MOST_PER_COMMIT: usize = 64;

/// At most this many filings wait for the writer; more are answered
/// "unavailable" (a 503) at once, as a full connection pool would.
const MOST_WAITING: usize = 4096;

/// A filing waiting for its commit, and where its outcome goes.
struct Waiting {
    /// To find it again when its reporter goes away before it is taken.
    ticket: u64,
    case: NewCase,
    outcome: oneshot::Sender<Result<LeafRecord, StoreError>>,
}

/// The filings not yet taken into a transaction, and the right to write
/// the next one. Shared by every clone of a `Store`.
pub(crate) struct FilingQueue {
    waiting: Mutex<Vec<Waiting>>,
    tickets: AtomicU64,
    /// The runtime the store was opened on: batches run there, not on the
    /// runtime of whichever request led them (an HTTP worker's runtime
    /// stops with the worker, and would drop the batch mid-transaction).
    runtime: Option<tokio::runtime::Handle>,
    /// How long a filing may wait to be taken into a transaction before it
    /// is answered "unavailable": the pool's own wait for a connection.
    patience: std::time::Duration,
    /// Held by the task writing a batch, from taking it until every
    /// outcome is sent.
    writer: Arc<tokio::sync::Mutex<()>>,
    commits: AtomicU64,
    filed: AtomicU64,
}

/// No ticket: the filing was answered or taken back.
const NONE: u64 = u64::MAX;

/// Takes a filing back out of the queue when its caller goes away first.
struct Withdrawal<'a> {
    queue: &'a FilingQueue,
    ticket: u64,
}

impl Drop for Withdrawal<'_> {
    fn drop(&mut self) {
        if self.ticket != NONE {
            self.queue.withdraw(self.ticket);
        }
    }
}

/// What a filing gets when it cannot be written now: the web layers
/// answer 503, "nothing was stored, try again".
fn unavailable() -> StoreError {
    StoreError::Db(sea_orm::DbErr::ConnectionAcquire(
        sea_orm::ConnAcquireErr::Timeout,
    ))
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
    pub(crate) fn new(patience: std::time::Duration) -> Self {
        Self {
            waiting: Mutex::default(),
            tickets: AtomicU64::default(),
            runtime: tokio::runtime::Handle::try_current().ok(),
            patience,
            writer: Arc::default(),
            commits: AtomicU64::default(),
            filed: AtomicU64::default(),
        }
    }

    /// Takes `ticket` out of the queue if no transaction has taken it yet.
    fn withdraw(&self, ticket: u64) -> bool {
        let mut waiting = self.waiting();
        let before = waiting.len();
        waiting.retain(|w| w.ticket != ticket);
        waiting.len() != before
    }

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
        let ticket = queue.tickets.fetch_add(1, Ordering::Relaxed);
        let (outcome, mut answered) = oneshot::channel();
        {
            let mut waiting = queue.waiting();
            if waiting.len() >= MOST_WAITING {
                return Err(unavailable());
            }
            waiting.push(Waiting {
                ticket,
                case,
                outcome,
            });
        }
        // A reporter who goes away (a dropped request) before a transaction
        // took the filing takes it back: it must not be committed later,
        // by whoever files next, without anyone having seen a receipt.
        let mut withdrawal = Withdrawal { queue, ticket };
        let deadline = tokio::time::Instant::now() + queue.patience;
        // Cleared once the deadline found the filing already taken: from
        // then on it waits for its commit, and the spent deadline must not
        // be raced again (it would fire at once on every turn of the loop).
        let mut patient = true;
        loop {
            tokio::select! {
                // An outcome first: once the writer has answered, this
                // filing is done even if the writer's lock is free too.
                biased;
                answer = &mut answered => {
                    withdrawal.ticket = NONE;
                    return answer.unwrap_or_else(|_| Err(unavailable()));
                }
                turn = queue.writer.clone().lock_owned() => {
                    let batch: Vec<Waiting> = {
                        let mut waiting = queue.waiting();
                        waiting.retain(|w| !w.outcome.is_closed());
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
                    let write = async move {
                        store.commit_batch(batch).await;
                        drop(turn);
                    };
                    match &queue.runtime {
                        Some(runtime) => drop(runtime.spawn(write)),
                        None => drop(tokio::spawn(write)),
                    }
                }
                () = tokio::time::sleep_until(deadline), if patient => {
                    // Still queued: the writer is stuck (a lock held
                    // elsewhere, a database gone). Once taken, a filing
                    // waits for its commit like any transaction.
                    if queue.withdraw(ticket) {
                        withdrawal.ticket = NONE;
                        return Err(unavailable());
                    }
                    patient = false;
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
        match self.file_together(&batch).await {
            Ok(leaves) => {
                self.count(1, leaves.len());
                for (w, leaf) in batch.into_iter().zip(leaves) {
                    let _gone = w.outcome.send(Ok(leaf));
                }
            }
            // One filing that breaks a rule of the data (a clashing id, a
            // resent sealed report) must not fail the others: each is
            // written again alone, with its own outcome. Only a failure
            // before the commit: after it, the outcome is unknown.
            Err(Failed::Before(e)) if batch.len() > 1 && !e.is_unavailable() => {
                tracing::warn!(
                    filings = batch.len(),
                    error = %e,
                    "a filing of a shared transaction failed; writing each alone"
                );
                self.commit_each_alone(batch).await;
            }
            // Anything else (the database gone, a failed commit whose
            // outcome is unknown) is every filing's: written again one by
            // one, each would wait out the same failure, and a commit that
            // did land would come back as a clash.
            Err(Failed::Before(e) | Failed::AtCommit(e)) => answer_all(batch, e),
        }
    }

    async fn commit_each_alone(&self, batch: Vec<Waiting>) {
        let mut waiting = batch.into_iter();
        while let Some(w) = waiting.next() {
            if w.outcome.is_closed() {
                continue;
            }
            match self.file_together(std::slice::from_ref(&w)).await {
                Ok(mut leaves) => {
                    self.count(1, 1);
                    let leaf = leaves
                        .pop()
                        .ok_or_else(|| StoreError::Corrupt("a filing produced no leaf".into()));
                    let _gone = w.outcome.send(leaf);
                }
                // The database went away meanwhile: the rest would each
                // wait out the same failure.
                Err(Failed::Before(e) | Failed::AtCommit(e)) if e.is_unavailable() => {
                    let _gone = w.outcome.send(Err(e));
                    answer_all(waiting.collect(), unavailable());
                    return;
                }
                Err(Failed::Before(e) | Failed::AtCommit(e)) => {
                    let _gone = w.outcome.send(Err(e));
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
    async fn file_together(&self, batch: &[Waiting]) -> Result<Vec<LeafRecord>, Failed> {
        let suite = self.log_suite().await.map_err(Failed::Before)?;
        let txn = self.write_txn().await.map_err(Failed::Before)?;
        let leaves = insert_cases_in(self, &txn, suite, batch)
            .await
            .map_err(Failed::Before)?;
        txn.commit().await.map_err(|e| Failed::AtCommit(e.into()))?;
        Ok(leaves)
    }
}

/// Where a batch's transaction failed: before its commit (rolled back,
/// nothing written) or at it (written or not, nobody knows).
enum Failed {
    Before(StoreError),
    AtCommit(StoreError),
}

/// Gives every filing of `batch` the failure `e`: the first the error
/// itself, the others one that the web layers answer alike (503 when the
/// database is unavailable, otherwise an internal error, logged).
fn answer_all(batch: Vec<Waiting>, e: StoreError) {
    let unavailable_for_all = e.is_unavailable();
    let shared = if unavailable_for_all {
        String::new()
    } else {
        format!("the shared transaction failed: {e}")
    };
    let mut first = Some(e);
    for w in batch {
        let error = match first.take() {
            Some(e) => e,
            None if unavailable_for_all => unavailable(),
            None => StoreError::Db(sea_orm::DbErr::Custom(shared.clone())),
        };
        let _gone = w.outcome.send(Err(error));
    }
}

/// Every case of the batch with its first queue entry, leaf and audit
/// entry: one statement per table for all of them, after one read of what
/// the appends need under their locks (`batch_heads`; on PostgreSQL each
/// statement is a round trip made under the audit chain's lock), inside
/// `store`'s transaction `txn`.
async fn insert_cases_in(
    store: &Store,
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
    // Hashed before the locks: every writer waits while they are held.
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
    let heads = lock_and_read(txn, &units_named(cases.clone().map(|c| &c.sealed_to))).await?;
    // One filing sealed to a key rotated meanwhile fails the batch, whose
    // filings are then written each alone (`commit_batch`): only that one
    // is refused. Read under the chain's lock, which a rotation takes too
    // (`Store::keys_still_current`).
    if !store.keys_match(cases.clone().map(|c| &c.sealed_to), &heads.generations) {
        return Err(StoreError::Conflict(Clash::KeyChanged));
    }
    let records = append_leaves_after(txn, suite, leaves, heads.newest_day).await?;
    append_all_after(txn, cases.map(received_record).collect(), heads.audit).await?;
    Ok(records)
}
