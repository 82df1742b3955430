//! The transparency log's rows: leaves written in the filing's own
//! transaction (so a filing is acknowledged only with its leaf), and the
//! publisher that places pending leaves in the tree, pads the tree to a
//! whole bucket and signs a head. Leaves carry only the hash of the sealed
//! material, a nonce and the day; the row's case and message ids stay in
//! the database, where `verify_log` uses them to recompute the hashes.

use chrono::NaiveDate;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement,
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
const LOG_LOCK: i64 = 0x5375_6e6c_6967_6802;

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
/// record, for the receipt.
pub(crate) async fn append_leaf(
    txn: &DatabaseTransaction,
    suite: Suite,
    envelopes: EnvelopesHasher,
    day: NaiveDate,
    case: CaseId,
    message: Option<Uuid>,
) -> Result<LeafRecord, StoreError> {
    let record =
        LeafRecord::new(envelopes.finish(), day).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    log_leaf::Entity::insert(log_leaf::ActiveModel {
        leaf_hash: Set(record.hash(suite).to_vec()),
        idx: Set(None),
        day: Set(day.format("%Y-%m-%d").to_string()),
        envelopes: Set(Some(record.envelopes.to_vec())),
        nonce: Set(Some(record.nonce.to_vec())),
        case_id: Set(Some(case.as_uuid())),
        message_id: Set(message),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(record)
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

    /// Places every pending leaf (in random order: the tree tells nothing
    /// of the order of a day's filings), pads the tree to a whole bucket,
    /// and signs and stores a head over it, dated `day`. A head of the same
    /// size as the newest is not stored again; that one is returned.
    pub async fn publish_log_head(
        &self,
        key: &LogKey,
        day: NaiveDate,
    ) -> Result<SignedHead, StoreError> {
        let suite = key.suite();
        let _pinned = self
            .put_setting_once(keys::LOG_SUITE, suite.as_str().as_bytes().to_vec())
            .await?;
        if self.log_suite().await? != suite {
            return Err(StoreError::Invalid("the log key is not of the log's suite"));
        }
        let txn = self.write_txn().await?;
        if txn.get_database_backend() == DbBackend::Postgres {
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1)",
                [LOG_LOCK.into()],
            ))
            .await?;
        }
        let mut tree = Tree::new(TreeHasher(suite));
        for row in placed_leaves(&txn).await? {
            // A gap is tampering: no head is signed over it (the operator
            // sees this error daily; `sunlight log verify` names it).
            if row.index != tree.len() {
                return Err(StoreError::Corrupt(format!(
                    "the transparency log has no leaf {}: not publishing",
                    tree.len()
                )));
            }
            tree.push(row.hash);
        }
        place_pending(&txn, &mut tree, day).await?;
        let size = tree.len();
        let newest = log_head::Entity::find()
            .order_by_desc(log_head::Column::Size)
            .one(&txn)
            .await?;
        if let Some(newest) = newest.filter(|h| h.size == i64::try_from(size).unwrap_or(-1)) {
            txn.commit().await?;
            return head_of(newest);
        }
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

/// Gives the pending leaves their places after the tree's last (in random
/// order) and pads the tree with random leaves to a whole bucket.
async fn place_pending(
    txn: &DatabaseTransaction,
    tree: &mut Tree,
    day: NaiveDate,
) -> Result<(), StoreError> {
    let mut pending: Vec<Vec<u8>> = log_leaf::Entity::find()
        .select_only()
        .column(log_leaf::Column::LeafHash)
        .filter(log_leaf::Column::Idx.is_null())
        .into_tuple::<Vec<u8>>()
        .all(txn)
        .await?;
    shuffle(&mut pending)?;
    let target = padded_size(tree.len() + pending.len() as u64);
    let place = |hash: &[u8], tree: &mut Tree| -> Result<i64, StoreError> {
        let index = i64::try_from(tree.len()).map_err(|_| StoreError::Invalid("log full"))?;
        tree.push(hash_of(hash, "log leaf")?);
        Ok(index)
    };
    for hash in pending {
        let index = place(&hash, tree)?;
        log_leaf::Entity::update_many()
            .col_expr(log_leaf::Column::Idx, index.into())
            .filter(log_leaf::Column::LeafHash.eq(hash))
            .exec(txn)
            .await?;
    }
    while tree.len() < target {
        let fill = dummy_leaf().map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let index = place(&fill, tree)?;
        log_leaf::Entity::insert(log_leaf::ActiveModel {
            leaf_hash: Set(fill.to_vec()),
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
