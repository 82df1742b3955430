//! `sunlight-store`: the database. sea-orm entities, migrations and the
//! repository functions through which every other crate reads and writes —
//! each scoped by unit so a caller cannot forget jurisdiction.
//!
//! SQLite (embedded default: WAL, `synchronous=FULL`, foreign keys, busy
//! timeout) or PostgreSQL, chosen by the URL; the same migrations and the same
//! tests run on both. It never deletes a case and never sees plaintext: report
//! content arrives here already sealed. Depends only on `sunlight-core`.

mod accounts;
mod attachments;
mod audit;
mod audit_view;
mod backup;
mod batch_heads;
mod cases;
mod comments;
mod deadlines;
mod dispositions;
pub mod entity;
mod error;
mod filing_batch;
mod holds;
pub mod keyring;
mod leases;
mod log;
mod log_verify;
mod merges;
mod messages;
pub mod migration;
mod numbers;
mod outbox;
pub mod provision;
mod queue;
mod ratings;
pub mod reauthenticate;
mod register;
mod replies;
mod reporter;
mod retag;
mod retention;
mod routing;
mod search;
pub mod seed;
mod settings;
mod staff;
pub mod staff_auth;
mod stats;
mod sweeper;
mod task_rows;
mod tasks;
mod transitions;
mod unit_keys;
mod units;

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

pub use accounts::{Attempt, Standing};
pub use attachments::{AttachmentRow, NewAttachment};
pub use audit::{AuditRecord, AuditReport};
pub use audit_view::{AUDIT_PAGE, AuditEntry, AuditFilter, ChainHead};
pub use cases::{CaseRow, Jurisdiction, NewCase, NewQueueEntry, QueueRow};
pub use deadlines::{DeadlineOf, OpenDeadline};
pub use error::{Clash, StoreError};
pub use filing_batch::FilingCommits;
pub use holds::{HoldRow, NewHold};
pub use log::{LeafRow, LogCheck, ReportLeaf};
pub use numbers::Unnumbered;
pub use outbox::{MailProblem, OutboxMail, OutboxStatus};
pub use queue::{QueueFilter, QueueItem};
pub use ratings::{NewRating, Objection, RatingRow};
pub use register::{REGISTER_PAGE, RegisterCase, RegisterFilter, RegisterPage};
pub use replies::PendingReply;
pub use reporter::{HistoryStep, ReporterView};
pub use retention::RetentionCase;
pub use routing::RoutePlan;
pub use search::{MERGE_CANDIDATES, SEARCH_BATCH, SearchCursor, SearchRow};
pub use settings::PASSWORD_KDFS;
pub use settings::keys as setting_keys;
pub use staff::{MemberKeys, NewStaff, StaffRow};
pub use stats::{HotspotRow, StatsRefresh};
pub use sweeper::{
    HoldCheck, NewMail, NoticeWrite, SweepEntry, SweepHold, SweepWrite, SweepWritten,
};
pub use tasks::{TASK_LIST_MAX, TaskRow, TaskSweep};
pub use transitions::{EntryChange, TransitionRow, TransitionWrite};
pub use unit_keys::{RetiredKey, RotatedMember, Rotation, SealedTo};
pub use units::{ImportFailure, escrow_context, retired_key_context};
pub use units::{NewUnit, RECENT_UNITS, UnitRow, unit_chain};

/// Whether a pooled SQLite connection may be used again. A COMMIT that
/// fails (SQLITE_FULL: the disk is full) lets SQLite roll the transaction
/// back by itself; the ROLLBACK that follows then fails, and sqlx keeps
/// counting one open transaction. Every later "transaction" on that
/// connection became a SAVEPOINT whose release commits nothing — reports
/// acknowledged and never written (found by tests/tests/faults.rs on a full
/// tmpfs: 120 of 136 acknowledged reports gone after a restart). Such a
/// connection is closed instead and the pool opens a fresh one.
async fn sqlite_connection_is_clean(
    conn: &mut sea_orm::sqlx::SqliteConnection,
) -> Result<bool, sea_orm::sqlx::Error> {
    use sea_orm::sqlx::Executor;
    use sqlx_core::transaction::TransactionManager;
    // Both statements pass the connection's worker after any rollback
    // still queued by a dropped transaction. BEGIN fails if SQLite itself
    // is still inside a transaction.
    if conn.execute("BEGIN").await.is_err() {
        return Ok(false);
    }
    conn.execute("ROLLBACK").await?;
    Ok(
        <sea_orm::sqlx::sqlite::SqliteTransactionManager as TransactionManager>::get_transaction_depth(
            conn,
        ) == 0,
    )
}

/// A handle on the database; cheap to clone.
/// The advisory lock key of migrations ("SUNLIGHT" in ASCII, as an i64).
const MIGRATION_LOCK: i64 = 0x5355_4E4C_4947_4854;

/// The file of an on-disk SQLite URL; None for PostgreSQL and for an
/// in-memory database (which a second connection would not share).
fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite:")?;
    let path = rest.trim_start_matches("//");
    let path = path.split('?').next().unwrap_or_default();
    let memory = path.is_empty() || path.contains(":memory:") || url.contains("mode=memory");
    (!memory).then_some(path)
}

/// Read-only connections to the writer's SQLite file: opened after the
/// writer made the file and its WAL, never writing, waiting as the writer
/// does if a checkpoint holds them up. Each keeps a page cache of at most
/// 256 KiB (SQLite's default is 2 MiB a connection): the public side reads
/// a few pages per request, the kernel caches the file anyway, and four
/// full default caches would add 8 MiB to a process whose memory must stay
/// flat under uploads (`a_20_mib_attachment_round_trips_in_flat_memory`).
fn read_only_options(url: &str) -> ConnectOptions {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .max_connections(4)
        .min_connections(0)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30))
        // A file does not go stale the way a socket does: a ping would
        // only add a round trip through the connection's worker thread.
        .test_before_acquire(false)
        .map_sqlx_sqlite_opts(|o| {
            o.read_only(true)
                .create_if_missing(false)
                .busy_timeout(Duration::from_secs(10))
                .pragma("cache_size", "-256")
        })
        // A connection that sqlx still counts inside a transaction (its
        // ROLLBACK failed, say, after SQLite had rolled back by itself) is
        // closed rather than handed to the next reporter view with an old
        // snapshot. The count is sqlx's own, read without a round trip; it
        // falls only once a queued rollback has run, so a view cancelled
        // mid-read may close a connection that would have been clean.
        .map_sqlx_sqlite_pool_opts(|pool| {
            pool.after_release(|conn, _meta| {
                Box::pin(async move {
                    use sqlx_core::transaction::TransactionManager;
                    Ok(<sea_orm::sqlx::sqlite::SqliteTransactionManager as TransactionManager>::get_transaction_depth(conn) == 0)
                })
            })
        });
    opts
}

#[derive(Debug, Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// SQLite on disk: read-only connections for the hot reads without a
    /// transaction (units, a reporter's case, a case's messages and files),
    /// which WAL lets run beside the one writer instead of queueing behind
    /// its commits. None elsewhere
    /// (PostgreSQL pools already; an in-memory database has one
    /// connection only).
    reads: Option<DatabaseConnection>,
    /// The transparency log's suite once known: fixed at the first leaf,
    /// read on every filing.
    log_suite: std::sync::Arc<std::sync::OnceLock<sunlight_core::crypto::Suite>>,
    /// The tree as of the newest published head, for the proofs the public
    /// side serves: rebuilt only when a new head appears.
    published_tree: log::TreeCache,
    /// New cases waiting to be committed together (group commit).
    filings: std::sync::Arc<filing_batch::FilingQueue>,
    /// The public units as last read for addressing new reports.
    recent_units: std::sync::Arc<units::RecentUnits>,
}

impl Store {
    /// Opens (creating if needed) the database at `url`.
    #[tracing::instrument(skip_all)]
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(30));
        if url.starts_with("sqlite:") {
            // One connection: SQLite has one writer anyway, and a pool of
            // writers only adds busy waits (measured: p99 13 ms -> 354 ms).
            // No ping before each use: it is a round trip through the
            // connection's worker thread while every other filing waits,
            // and a file does not go stale; `after_release` below checks
            // what can go wrong (measured in docs/performance.md).
            opts.max_connections(1)
                .min_connections(1)
                .test_before_acquire(false);
            opts.map_sqlx_sqlite_opts(|o| {
                o.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    // Deleted content is overwritten with zeros, not left
                    // in free pages (retention purges, docs/operations.md).
                    .pragma("secure_delete", "ON")
            })
            .map_sqlx_sqlite_pool_opts(|pool| {
                pool.after_release(|conn, _meta| Box::pin(sqlite_connection_is_clean(conn)))
            });
        } else {
            postgres_pool(&mut opts);
        }
        // A filing waits for the writer as long as a request would wait for
        // a pooled connection (set above).
        let patience = Duration::from_secs(if url.starts_with("sqlite:") { 30 } else { 5 });
        let db = Database::connect(opts).await?;
        let reads = match sqlite_file(url) {
            Some(_) => Some(Database::connect(read_only_options(url)).await?),
            None => None,
        };
        Ok(Self {
            db,
            reads,
            log_suite: Default::default(),
            published_tree: Default::default(),
            filings: std::sync::Arc::new(filing_batch::FilingQueue::new(patience)),
            recent_units: Default::default(),
        })
    }

    /// A throwaway SQLite database for simulations: no fsync per commit
    /// (`synchronous=OFF`), so a crash may lose it. Never for reports.
    pub async fn connect_scratch(url: &str) -> Result<Self, StoreError> {
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.sqlx_logging(false)
            .max_connections(1)
            .min_connections(1)
            .map_sqlx_sqlite_opts(|o| {
                // The rollback journal in memory: each commit writes its
                // pages once, instead of to the WAL and again at checkpoint.
                o.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Memory)
                    .synchronous(SqliteSynchronous::Off)
                    .locking_mode(sea_orm::sqlx::sqlite::SqliteLockingMode::Exclusive)
                    .foreign_keys(true)
            });
        Ok(Self {
            db: Database::connect(opts).await?,
            reads: None,
            log_suite: Default::default(),
            published_tree: Default::default(),
            filings: std::sync::Arc::new(filing_batch::FilingQueue::new(Duration::from_secs(30))),
            recent_units: Default::default(),
        })
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Applies pending migrations; returns how many ran. On PostgreSQL
    /// under an advisory lock held by a transaction of its own: replicas
    /// that start together take turns, and each after the first finds
    /// nothing left to do (without it two could both see a migration
    /// pending and both run it). SQLite's single writer needs no lock.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let guard = if self.backend() == DbBackend::Postgres {
            let txn = self.db.begin().await?;
            txn.execute_raw(sea_orm::Statement::from_string(
                DbBackend::Postgres,
                format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"),
            ))
            .await?;
            Some(txn)
        } else {
            None
        };
        let before = migration::Migrator::get_pending_migrations(&self.db)
            .await?
            .len();
        migration::Migrator::up(&self.db, None).await?;
        if let Some(txn) = guard {
            txn.commit().await?;
        }
        Ok(before)
    }

    /// Migrations not yet applied, read without any DDL: a role that may
    /// not create tables (intake's) can ask.
    pub async fn pending_migrations(&self) -> Result<usize, StoreError> {
        Ok(
            migration::Migrator::get_pending_migrations_read_only(&self.db)
                .await?
                .len(),
        )
    }

    /// For `/healthz`: does the database answer?
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await?;
        Ok(())
    }

    /// SQLite `PRAGMA integrity_check` / a trivial query on PostgreSQL.
    pub async fn integrity_check(&self) -> Result<(), StoreError> {
        if self.backend() == DbBackend::Sqlite {
            let row = self
                .db
                .query_one_raw(sea_orm::Statement::from_string(
                    DbBackend::Sqlite,
                    "PRAGMA integrity_check",
                ))
                .await?
                .ok_or_else(|| StoreError::Corrupt("integrity_check returned nothing".into()))?;
            let verdict: String = row.try_get_by_index(0)?;
            if verdict != "ok" {
                return Err(StoreError::Corrupt(verdict));
            }
        } else {
            self.ping().await?;
        }
        Ok(())
    }

    /// The raw connection, for tools and tests that read or tamper with the
    /// tables directly (the test kit). The application's paths never use it.
    pub fn connection(&self) -> &DatabaseConnection {
        self.conn()
    }

    pub(crate) fn conn(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Where a read that needs no transaction goes: the read-only
    /// connections on SQLite, else the one pool. What it reads was
    /// committed (a write returns after its commit), as on PostgreSQL.
    pub(crate) fn reader(&self) -> &DatabaseConnection {
        self.reads.as_ref().unwrap_or(&self.db)
    }

    /// A write transaction. On SQLite it starts `IMMEDIATE`, taking the write
    /// lock up front: a deferred transaction that reads first and then writes
    /// fails at once with SQLITE_BUSY when another process (a CLI command
    /// beside `serve`) holds the lock, instead of waiting `busy_timeout`.
    pub(crate) async fn write_txn(&self) -> Result<DatabaseTransaction, StoreError> {
        let mode =
            (self.backend() == DbBackend::Sqlite).then_some(SqliteTransactionMode::Immediate);
        Ok(self
            .db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: mode,
                ..Default::default()
            })
            .await?)
    }
}

/// The pool settings for PostgreSQL.
fn postgres_pool(opts: &mut ConnectOptions) {
    // While PostgreSQL is down or restarting, a request waits at
    // most 5 s for a connection and then gets a 503, instead of
    // hanging for the 30 s an SQLite writer queue may need.
    opts.max_connections(16)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        // A ping only for a connection idle a while (one a restart
        // or a firewall may have cut): a ping on every use added a
        // round trip to every query outside a transaction (sqlx
        // pings once more when a connection goes back). A connection
        // that broke anyway fails its statement with a 503
        // (`StoreError::is_unavailable`); tests/tests/faults.rs.
        .test_before_acquire_if_idle_for(Duration::from_secs(5))
        // Every transaction sees what committed before each of its
        // statements, whatever the server's default: a filing's
        // check of key generations reads after taking the audit
        // chain's lock, and must see a rotation that committed
        // while it waited (under REPEATABLE READ its snapshot
        // would date from its first INSERT). Sent with the
        // connection's start, so it costs no round trip.
        .map_sqlx_postgres_opts(|o| {
            o.options([("default_transaction_isolation", "read committed")])
        })
        // A transaction dropped without its rollback being queued
        // (sea-orm queues it only if it can take the connection's
        // lock at that moment) leaves the connection inside an open
        // transaction: every later "commit" on it would be a
        // savepoint release, lost when the process dies. Found by
        // tests/tests/crash.rs on PostgreSQL. Such a connection is
        // closed, which makes PostgreSQL abort that transaction.
        .map_sqlx_postgres_pool_opts(|pool| {
            pool.after_release(|conn, _meta| {
                Box::pin(async move {
                    use sqlx_core::transaction::TransactionManager;
                    Ok(<sea_orm::sqlx::postgres::PgTransactionManager as TransactionManager>::get_transaction_depth(conn) == 0)
                })
            })
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_sqlite_file_gets_read_only_connections() {
        assert_eq!(
            sqlite_file("sqlite:///var/lib/s/db.sqlite?mode=rwc"),
            Some("/var/lib/s/db.sqlite")
        );
        assert_eq!(sqlite_file("sqlite://rel/db.sqlite"), Some("rel/db.sqlite"));
        for shared_by_none in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://file?mode=memory&cache=shared",
            "postgres://u@h/db",
        ] {
            assert_eq!(sqlite_file(shared_by_none), None, "{shared_by_none}");
        }
    }

    /// The reads the public side sends to the read-only connections see
    /// every committed write, and cannot write themselves.
    #[tokio::test]
    async fn the_read_only_connections_see_commits_and_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/s.db", dir.path().display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        assert!(store.reads.is_some());
        let unit = sunlight_core::UnitId::parse("p").unwrap();
        assert!(store.public_units().await.unwrap().is_empty());
        crate::provision::create_unit(
            &store,
            sunlight_core::unit_tree::UnitSpec::new(
                unit.clone(),
                "p",
                sunlight_core::Level::Province,
                None,
            ),
            false,
            "test",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        let seen = store.public_units().await.unwrap();
        assert_eq!(
            seen.first().map(|u| &u.id),
            Some(&unit),
            "committed, so seen"
        );
        let write = store.reader().execute_unprepared("DELETE FROM units").await;
        assert!(write.is_err(), "a read-only connection wrote");
        assert_eq!(store.public_units().await.unwrap().len(), 1);
    }
}
