//! The append-only, hash-chained audit log. Entries are written inside the
//! transaction of the action they record, so an action without its audit
//! entry (or the reverse) cannot be committed.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryOrder,
    QueryResult, QuerySelect, Statement,
};
use sunlight_core::audit::{AuditFields, ChainError, GENESIS, entry_hash_in};
use sunlight_core::crypto::Suite;

use crate::entity::audit_entry;
use crate::{Store, StoreError};

/// Arbitrary constant naming the advisory lock that serialises appends on
/// PostgreSQL (SQLite serialises writers by itself).
pub(crate) const AUDIT_LOCK: i64 = 0x5375_6e6c_6967_6801;

/// What happened, by whom. Never contains report content or reporter data.
#[derive(Debug, Clone, Default)]
pub struct AuditRecord {
    pub actor: String,
    pub action: String,
    pub unit: String,
    pub case_id: String,
    pub detail: String,
}

/// The result of a full chain check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditReport {
    Intact { entries: i64 },
    Broken(ChainError),
}

/// The responsible unit of `case`, which its audit entries carry so the
/// audit page shows them to that unit's people and those above.
pub(crate) async fn case_unit(
    conn: &DatabaseTransaction,
    case: sunlight_core::CaseId,
) -> Result<String, StoreError> {
    crate::entity::case::Entity::find_by_id(case.as_uuid())
        .select_only()
        .column(crate::entity::case::Column::UnitId)
        .into_tuple::<String>()
        .one(conn)
        .await?
        .ok_or(StoreError::NotFound("case"))
}

/// Takes a transaction, not any connection: on PostgreSQL the advisory lock
/// must live until the entry commits.
pub(crate) async fn append(
    conn: &DatabaseTransaction,
    rec: AuditRecord,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    append_all(conn, vec![(rec, now)])
        .await?
        .pop()
        .ok_or_else(|| StoreError::Corrupt("no audit entry was appended".into()))
}

/// Appends entries in the order given, in one statement after one read of
/// the chain's head (filings committed together); returns their sequence
/// numbers.
pub(crate) async fn append_all(
    conn: &DatabaseTransaction,
    records: Vec<(AuditRecord, DateTime<Utc>)>,
) -> Result<Vec<i64>, StoreError> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    if conn.get_database_backend() == DbBackend::Postgres {
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [AUDIT_LOCK.into()],
        ))
        .await?;
    }
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT {AUDIT_HEAD_COLUMNS}"),
        ))
        .await?
        .ok_or_else(|| StoreError::Corrupt("audit head query returned no row".into()))?;
    append_all_after(conn, records, AuditHead::of_row(&row)?).await
}

/// The chain's newest entry (sequence number and hash) and the deployment's
/// suite, which hashes the next entry: read under the chain's lock, in the
/// transaction that appends.
pub(crate) struct AuditHead {
    last: Option<(i64, Vec<u8>)>,
    suite: Suite,
}

/// The columns an [`AuditHead`] is read from, for one `SELECT` without a
/// `FROM`: alone when appending, or beside a batch's other heads
/// (`batch_heads`), since under the chain's lock every round trip is paid
/// by every writer waiting.
pub(crate) const AUDIT_HEAD_COLUMNS: &str = "(SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1) AS seq, \
     (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1) AS hash, \
     (SELECT value FROM settings WHERE key = 'cipher_suite') AS suite";

impl AuditHead {
    /// From a row holding [`AUDIT_HEAD_COLUMNS`].
    pub(crate) fn of_row(row: &QueryResult) -> Result<Self, StoreError> {
        let seq: Option<i64> = row.try_get("", "seq")?;
        let hash: Option<Vec<u8>> = row.try_get("", "hash")?;
        let suite: Option<Vec<u8>> = row.try_get("", "suite")?;
        Ok(Self {
            last: seq.zip(hash),
            suite: suite_of(suite)?,
        })
    }
}

/// Appends entries in the order given after `head`, which the caller read
/// in `conn` while holding the chain's lock (on PostgreSQL; SQLite's write
/// transaction holds the whole file).
pub(crate) async fn append_all_after(
    conn: &DatabaseTransaction,
    records: Vec<(AuditRecord, DateTime<Utc>)>,
    head: AuditHead,
) -> Result<Vec<i64>, StoreError> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let AuditHead { last, suite } = head;
    let (mut seq, mut prev) = match last {
        Some((seq, hash)) => {
            let prev: [u8; 32] = hash
                .as_slice()
                .try_into()
                .map_err(|_| StoreError::Corrupt(format!("audit entry {seq} has a bad hash")))?;
            (seq, prev)
        }
        None => (0, GENESIS),
    };
    let mut seqs = Vec::with_capacity(records.len());
    let mut rows = Vec::with_capacity(records.len());
    for (rec, now) in records {
        seq = seq.saturating_add(1);
        // Microsecond precision survives both databases' timestamp types,
        // so the hash can be recomputed from what is read back.
        let at = DateTime::<Utc>::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
        let fields = AuditFields {
            seq,
            at_unix_micros: at.timestamp_micros(),
            actor: &rec.actor,
            action: &rec.action,
            unit: &rec.unit,
            case_id: &rec.case_id,
            detail: &rec.detail,
        };
        let hash = entry_hash_in(suite, &prev, &fields);
        rows.push(audit_entry::ActiveModel {
            seq: Set(seq),
            at: Set(at),
            actor: Set(rec.actor),
            action: Set(rec.action),
            unit_id: Set(rec.unit),
            case_id: Set(rec.case_id),
            detail: Set(rec.detail),
            prev_hash: Set(prev.to_vec()),
            hash: Set(hash.to_vec()),
        });
        seqs.push(seq);
        prev = hash;
    }
    audit_entry::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(seqs)
}

impl Store {
    /// Appends one entry in its own transaction.
    pub async fn audit(&self, rec: AuditRecord, now: DateTime<Utc>) -> Result<i64, StoreError> {
        let txn = self.write_txn().await?;
        let seq = append(&txn, rec, now).await?;
        txn.commit().await?;
        Ok(seq)
    }

    /// The newest entry: its sequence number and hash (the log's head, to
    /// write down or mail away as an anchor).
    pub async fn audit_head(&self) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
        Ok(audit_entry::Entity::find()
            .select_only()
            .column(audit_entry::Column::Seq)
            .column(audit_entry::Column::Hash)
            .order_by_desc(audit_entry::Column::Seq)
            .into_tuple::<(i64, Vec<u8>)>()
            .one(self.conn())
            .await?)
    }

    /// The stored hash of entry `seq`, if it exists.
    pub async fn audit_hash(&self, seq: i64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(audit_entry::Entity::find_by_id(seq)
            .select_only()
            .column(audit_entry::Column::Hash)
            .into_tuple::<Vec<u8>>()
            .one(self.conn())
            .await?)
    }

    /// Walks the whole chain in sequence order; stops at the first broken
    /// entry (the audit page's check from the genesis, reported as the
    /// number of entries checked).
    pub async fn verify_audit(&self) -> Result<AuditReport, StoreError> {
        Ok(match self.verify_audit_from(None).await? {
            Ok(head) => AuditReport::Intact {
                entries: head.map_or(0, |h| h.seq),
            },
            Err(e) => AuditReport::Broken(e),
        })
    }
}

/// The suite a `cipher_suite` row (the setting `keys::SUITE`) names; no row is `modern` (deployments
/// made before suites existed).
pub(crate) fn suite_of(raw: Option<Vec<u8>>) -> Result<Suite, StoreError> {
    match raw {
        None => Ok(Suite::Modern),
        Some(raw) => String::from_utf8_lossy(&raw)
            .parse()
            .map_err(|e: sunlight_core::crypto::UnknownSuite| StoreError::Corrupt(e.to_string())),
    }
}
