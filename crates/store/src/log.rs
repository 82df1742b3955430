//! The transparency log's rows: leaves written in the filing's own
//! transaction (so a filing is acknowledged only with its leaf), and the
//! publisher that places pending leaves in the tree, pads the tree to a
//! whole bucket and signs a head. Leaves carry only the hash of the sealed
//! material, a nonce and the day; the row's case and message ids stay in
//! the database, where `verify_log` uses them to recompute the hashes.

use chrono::NaiveDate;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QueryResult, QuerySelect, Statement,
};
use sunlight_core::CaseId;
use sunlight_core::crypto::Suite;
use sunlight_core::log::{
    EnvelopesHasher, Hash, LeafRecord, LogKey, SignedHead, Tree, TreeHasher, dummy_leaf,
    padded_size,
};
use uuid::Uuid;

use crate::entity::{log_head, log_leaf};
use crate::settings::keys;
use crate::{Store, StoreError};

/// Arbitrary constant naming the advisory lock that serialises publishers
/// on PostgreSQL (SQLite serialises writers by itself).
pub(crate) const LOG_LOCK: i64 = 0x5375_6e6c_6967_6802;

/// The published tree, shared by the clones of a store.
pub(crate) type TreeCache = std::sync::Arc<std::sync::Mutex<Option<std::sync::Arc<Tree>>>>;

/// A stored leaf with its place in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafRow {
    pub index: u64,
    pub hash: Hash,
}

/// What `verify_log` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogCheck {
    /// Every head matches the tree and every leaf its sealed material.
    Intact {
        leaves: u64,
        heads: u64,
        purged: u64,
    },
    Broken(String),
}

/// The local date of a filing stamped with the start of its local day (as
/// every filing and reporter message is): that instant plus 12 hours falls
/// on the same local date for every offset from UTC−12 to UTC+12.
pub(crate) fn log_day(start_of_local_day: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    (start_of_local_day + chrono::Duration::hours(12)).date_naive()
}

/// Writes a filing's leaf (in the filing's transaction) and returns its
/// record, for the receipt. Its day is the filing's day, or the newest
/// head's day if that is later: a filing stamped yesterday (a browser's
/// case id of yesterday, an upload across midnight, a desk entry dated
/// back) that commits after today's head is promised to tomorrow's, which
/// holds it. On PostgreSQL the filing holds the log's lock shared from
/// here to its commit, so a publisher (which takes it exclusively) never
/// signs between this read and the commit.
pub(crate) async fn append_leaf(
    txn: &DatabaseTransaction,
    suite: Suite,
    envelopes: EnvelopesHasher,
    day: NaiveDate,
    case: CaseId,
    message: Option<Uuid>,
) -> Result<LeafRecord, StoreError> {
    let leaf = NewLeaf {
        envelopes,
        day,
        case,
        message,
    };
    append_leaves(txn, suite, vec![leaf])
        .await?
        .pop()
        .ok_or_else(|| StoreError::Corrupt("no leaf was appended".into()))
}

/// A leaf to write: the hasher over its sealed material, the filing's day,
/// and the case (and message) it stands for.
pub(crate) struct NewLeaf {
    pub envelopes: EnvelopesHasher,
    pub day: NaiveDate,
    pub case: CaseId,
    pub message: Option<Uuid>,
}

/// `append_leaf` for several filings committed together: one read of the
/// newest head's day and one insert for all.
pub(crate) async fn append_leaves(
    txn: &DatabaseTransaction,
    suite: Suite,
    leaves: Vec<NewLeaf>,
) -> Result<Vec<LeafRecord>, StoreError> {
    if leaves.is_empty() {
        return Ok(Vec::new());
    }
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock_shared($1)",
            [LOG_LOCK.into()],
        ))
        .await?;
    }
    let backend = txn.get_database_backend();
    let row = txn
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT {NEWEST_DAY_COLUMN}"),
        ))
        .await?
        .ok_or_else(|| StoreError::Corrupt("the newest head's day: no row".into()))?;
    append_leaves_after(txn, suite, leaves, newest_day_of(&row)?).await
}

/// The column the newest head's day is read from, for one `SELECT`
/// without a `FROM`: alone, or beside a batch's other heads
/// (`batch_heads`).
pub(crate) const NEWEST_DAY_COLUMN: &str = "(SELECT MAX(day) FROM log_heads) AS newest_day";

/// The newest head's day from a row holding [`NEWEST_DAY_COLUMN`].
pub(crate) fn newest_day_of(row: &QueryResult) -> Result<Option<NaiveDate>, StoreError> {
    let newest: Option<String> = row.try_get("", "newest_day")?;
    newest
        .map(|d| d.parse::<NaiveDate>())
        .transpose()
        .map_err(|_| StoreError::Corrupt("a log head's day is not a date".into()))
}

/// Writes the leaves after `newest`, the newest head's day, which the
/// caller read in `txn` while holding the log's lock shared (on
/// PostgreSQL), so that no head is signed before this transaction commits.
pub(crate) async fn append_leaves_after(
    txn: &DatabaseTransaction,
    suite: Suite,
    leaves: Vec<NewLeaf>,
    newest: Option<NaiveDate>,
) -> Result<Vec<LeafRecord>, StoreError> {
    if leaves.is_empty() {
        return Ok(Vec::new());
    }
    let mut records = Vec::with_capacity(leaves.len());
    let mut rows = Vec::with_capacity(leaves.len());
    for leaf in leaves {
        // An honest newest head is at most a day after the filing's own
        // day (an id of yesterday): a head row dated far ahead, written
        // into the database, must not push every promise out of reach.
        let day = leaf.day;
        let day = match newest {
            Some(n) => n.min(day.succ_opt().unwrap_or(day)).max(day),
            None => day,
        };
        let record = LeafRecord::new(leaf.envelopes.finish(), day)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        rows.push(log_leaf::ActiveModel {
            leaf_hash: Set(record.hash(suite).to_vec()),
            idx: Set(None),
            day: Set(day.format("%Y-%m-%d").to_string()),
            envelopes: Set(Some(record.envelopes.to_vec())),
            nonce: Set(Some(record.nonce.to_vec())),
            case_id: Set(Some(leaf.case.as_uuid())),
            message_id: Set(leaf.message),
        });
        records.push(record);
    }
    log_leaf::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    Ok(records)
}

fn hash_of(bytes: &[u8], what: &str) -> Result<Hash, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{what}: not a 32-byte hash")))
}

fn head_of(m: log_head::Model) -> Result<SignedHead, StoreError> {
    Ok(SignedHead {
        size: u64::try_from(m.size).map_err(|_| StoreError::Corrupt("log head size".into()))?,
        root: hash_of(&m.root, "log head root")?,
        day: m
            .day
            .parse()
            .map_err(|_| StoreError::Corrupt("log head day".into()))?,
        signature: m.signature,
    })
}

async fn placed_leaves(conn: &impl ConnectionTrait) -> Result<Vec<LeafRow>, StoreError> {
    log_leaf::Entity::find()
        .select_only()
        .column(log_leaf::Column::Idx)
        .column(log_leaf::Column::LeafHash)
        .filter(log_leaf::Column::Idx.is_not_null())
        .order_by_asc(log_leaf::Column::Idx)
        .into_tuple::<(i64, Vec<u8>)>()
        .all(conn)
        .await?
        .into_iter()
        .map(|(i, h)| {
            Ok(LeafRow {
                index: u64::try_from(i).map_err(|_| StoreError::Corrupt("log index".into()))?,
                hash: hash_of(&h, "log leaf")?,
            })
        })
        .collect()
}

impl Store {
    /// The log's suite: pinned at its first head (or before a suite move),
    /// until then the deployment's.
    pub async fn log_suite(&self) -> Result<Suite, StoreError> {
        if let Some(s) = self.log_suite.get() {
            return Ok(*s);
        }
        if let Some(raw) = self.setting(keys::LOG_SUITE).await? {
            let suite = crate::audit::suite_of(Some(raw))?;
            let _already = self.log_suite.set(suite);
            return Ok(suite);
        }
        self.suite().await
    }

    /// Every published head, oldest (smallest) first.
    pub async fn log_heads(&self) -> Result<Vec<SignedHead>, StoreError> {
        log_head::Entity::find()
            .order_by_asc(log_head::Column::Size)
            .all(self.reader())
            .await?
            .into_iter()
            .map(head_of)
            .collect()
    }

    /// The tree of every placed leaf.
    pub async fn log_tree(&self) -> Result<Tree, StoreError> {
        let hasher = TreeHasher(self.log_suite().await?);
        let rows = placed_leaves(self.reader()).await?;
        let mut tree = Tree::new(hasher);
        for row in rows {
            if row.index != tree.len() {
                return Err(StoreError::Corrupt(format!(
                    "the transparency log has no leaf {}",
                    tree.len()
                )));
            }
            tree.push(row.hash);
        }
        Ok(tree)
    }

    /// Places every pending leaf and at least one bucket's worth of leaves
    /// in all (mixed with random padding in a random order: the tree tells
    /// nothing of the order or number of a day's filings), and signs and
    /// stores a head over them, dated `day`. Refuses (an error naming why)
    /// when a pending filing's material no longer matches its leaf, when
    /// the placed leaves have a gap, or when they no longer give the newest
    /// head. Without `again_today`, a day that has a head gets no second
    /// one; that head is returned.
    pub async fn publish_log_head(
        &self,
        key: &LogKey,
        day: NaiveDate,
        again_today: bool,
    ) -> Result<SignedHead, StoreError> {
        let suite = key.suite();
        let _pinned = self
            .put_setting_once(keys::LOG_SUITE, suite.as_str().as_bytes().to_vec())
            .await?;
        if self.log_suite().await? != suite {
            return Err(StoreError::Invalid("the log key is not of the log's suite"));
        }
        let newest_day = self.log_heads().await?.last().map(|h| h.day);
        if newest_day.is_some_and(|d| d >= day && !again_today) {
            // Looked at again under the lock below; this only spares the
            // material check on every turn of a day that has its head.
            if let Some(newest) = self.log_heads().await?.pop() {
                return Ok(newest);
            }
        }
        // A head never goes back in time (a host with a wrong clock).
        let day = newest_day.map_or(day, |d| d.max(day));
        // Filings not yet placed must still hash to their sealed material:
        // an envelope replaced before its leaf is placed stops the log.
        self.check_pending_material(suite).await?;
        let txn = self.write_txn().await?;
        if txn.get_database_backend() == DbBackend::Postgres {
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1)",
                [LOG_LOCK.into()],
            ))
            .await?;
        }
        let newest = log_head::Entity::find()
            .order_by_desc(log_head::Column::Size)
            .one(&txn)
            .await?
            .map(head_of)
            .transpose()?;
        // One head a local day from the sweeper: a restart or a second
        // process the same day adds none (each head would narrow the
        // window a watcher sees). `sunlight log publish` asks for one.
        if let Some(newest) = newest.as_ref().filter(|h| h.day >= day && !again_today) {
            txn.commit().await?;
            return Ok(newest.clone());
        }
        let tree = extend_checked(&txn, key, newest.as_ref(), day).await?;
        let size = tree.len();
        let root = tree
            .root(size)
            .unwrap_or_else(|| TreeHasher(suite).empty_root());
        let head = key
            .sign_head(size, root, day)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        log_head::Entity::insert(log_head::ActiveModel {
            size: Set(i64::try_from(size).map_err(|_| StoreError::Invalid("log full"))?),
            root: Set(head.root.to_vec()),
            day: Set(day.format("%Y-%m-%d").to_string()),
            signature: Set(head.signature.clone()),
        })
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(head)
    }

    /// The tree of the leaves under the newest published head (the
    /// heads and it, read together), for serving proofs: kept between
    /// calls and read again only when a new head was published, so a
    /// proof costs O(log² n) hashes, not a read of every leaf. A leaf
    /// altered after its head was published is caught by `verify_log` and
    /// by the publisher, which will not sign again, not here.
    pub async fn published_tree(
        &self,
    ) -> Result<(Vec<SignedHead>, std::sync::Arc<Tree>), StoreError> {
        let heads = self.log_heads().await?;
        let newest = heads.last().map(|h| (h.size, h.root));
        let published = |t: &Tree| {
            newest.is_some_and(|(size, root)| t.len() == size && t.root(size) == Some(root))
        };
        let cached = self
            .published_tree
            .lock()
            .ok()
            .and_then(|slot| slot.clone())
            .filter(|t| published(t));
        if let Some(tree) = cached {
            return Ok((heads, tree));
        }
        let size = newest.map_or(0, |(size, _)| size);
        let mut tree = Tree::new(TreeHasher(self.log_suite().await?));
        // The leaves up to the first gap: a tampered log still answers,
        // and its proofs then fail the checks by name ("forked", "promise
        // broken") instead of failing the request.
        for row in placed_leaves(self.reader())
            .await?
            .into_iter()
            .take_while(|r| r.index < size)
        {
            if row.index != tree.len() {
                break;
            }
            tree.push(row.hash);
        }
        let tree = std::sync::Arc::new(tree);
        // Kept only while it is the published tree.
        if published(&tree)
            && let Ok(mut slot) = self.published_tree.lock()
        {
            *slot = Some(tree.clone());
        }
        Ok((heads, tree))
    }

    /// A leaf's place in the tree, if it has one yet.
    pub async fn log_index_of(&self, leaf: &Hash) -> Result<Option<u64>, StoreError> {
        Ok(log_leaf::Entity::find_by_id(leaf.to_vec())
            .select_only()
            .column(log_leaf::Column::Idx)
            .into_tuple::<Option<i64>>()
            .one(self.reader())
            .await?
            .flatten()
            .and_then(|i| u64::try_from(i).ok()))
    }
}

/// The placed leaves as a tree, checked against the newest head (no gap,
/// no leaf beyond it, its root and signature as published: the publisher
/// never signs over a rewritten history), then extended by this day's
/// batch.
async fn extend_checked(
    txn: &DatabaseTransaction,
    key: &LogKey,
    newest: Option<&SignedHead>,
    day: NaiveDate,
) -> Result<Tree, StoreError> {
    let mut tree = Tree::new(TreeHasher(key.suite()));
    for row in placed_leaves(txn).await? {
        if row.index != tree.len() {
            return Err(StoreError::Corrupt(format!(
                "the transparency log has no leaf {}: not publishing",
                tree.len()
            )));
        }
        tree.push(row.hash);
    }
    let published = newest.map_or(0, |h| h.size);
    let matches =
        newest.is_none_or(|h| tree.root(h.size) == Some(h.root) && h.verify(&key.public()));
    if tree.len() != published || !matches {
        return Err(StoreError::Corrupt(format!(
            "the stored leaves ({} placed) no longer give the newest head (size {published}): not publishing",
            tree.len()
        )));
    }
    place_batch(txn, &mut tree, day).await?;
    Ok(tree)
}

/// A leaf of the day's batch: a filing's (placed by its hash) or padding.
enum Batch {
    Filing(Vec<u8>),
    Padding([u8; 32]),
}

/// Places the pending leaves and random padding leaves, mixed in a random
/// order, after the tree's last: at least one bucket of 16 (a day without
/// filings grows the log as a day with a few does), and up to a whole
/// bucket.
async fn place_batch(
    txn: &DatabaseTransaction,
    tree: &mut Tree,
    day: NaiveDate,
) -> Result<(), StoreError> {
    let pending: Vec<Vec<u8>> = log_leaf::Entity::find()
        .select_only()
        .column(log_leaf::Column::LeafHash)
        .filter(log_leaf::Column::Idx.is_null())
        .into_tuple::<Vec<u8>>()
        .all(txn)
        .await?;
    let filled = tree.len() + pending.len() as u64;
    let target = padded_size(filled).max(tree.len() + sunlight_core::log::BUCKET);
    let mut batch: Vec<Batch> = pending.into_iter().map(Batch::Filing).collect();
    for _ in filled..target {
        batch.push(Batch::Padding(
            dummy_leaf().map_err(|e| StoreError::Corrupt(e.to_string()))?,
        ));
    }
    shuffle(&mut batch)?;
    for leaf in batch {
        let index = i64::try_from(tree.len()).map_err(|_| StoreError::Invalid("log full"))?;
        match leaf {
            Batch::Filing(hash) => {
                tree.push(hash_of(&hash, "log leaf")?);
                log_leaf::Entity::update_many()
                    .col_expr(log_leaf::Column::Idx, index.into())
                    .filter(log_leaf::Column::LeafHash.eq(hash))
                    .exec(txn)
                    .await?;
            }
            Batch::Padding(hash) => {
                tree.push(hash);
                log_leaf::Entity::insert(log_leaf::ActiveModel {
                    leaf_hash: Set(hash.to_vec()),
                    idx: Set(Some(index)),
                    day: Set(day.format("%Y-%m-%d").to_string()),
                    envelopes: Set(None),
                    nonce: Set(None),
                    case_id: Set(None),
                    message_id: Set(None),
                })
                .exec_without_returning(txn)
                .await?;
            }
        }
    }
    Ok(())
}

/// Fisher–Yates with the system's generator.
fn shuffle<T>(items: &mut [T]) -> Result<(), StoreError> {
    for i in (1..items.len()).rev() {
        let mut r = [0u8; 8];
        getrandom::fill(&mut r).map_err(|_| StoreError::Corrupt("random generator".into()))?;
        let j = usize::try_from(u64::from_le_bytes(r) % (i as u64 + 1)).unwrap_or(0);
        items.swap(i, j);
    }
    Ok(())
}

/// A report's leaf: its hash, its index once placed, its day.
pub type ReportLeaf = (Hash, Option<u64>, NaiveDate);

/// A case's report leaf as read (`crate::reporter` reads the row with the
/// case): its hash, its place in the tree once placed, and its day.
pub(crate) fn report_leaf_of(row: log_leaf::Model) -> Result<ReportLeaf, StoreError> {
    let hash: Hash = row
        .leaf_hash
        .as_slice()
        .try_into()
        .map_err(|_| StoreError::Corrupt("a leaf hash is not 32 bytes".into()))?;
    let day = row
        .day
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("leaf day {}", row.day)))?;
    Ok((hash, row.idx.and_then(|i| u64::try_from(i).ok()), day))
}
