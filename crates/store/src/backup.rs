//! Consistent copies of an SQLite database while it serves (`sunlight
//! backup`), and read-only opening of such a copy to check it. PostgreSQL
//! backups are `pg_dump`'s job (see docs/operations.md).

use std::path::Path;
use std::time::Duration;

use sea_orm::sqlx::sqlite::SqliteJournalMode;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbBackend, Statement};

use crate::{Store, StoreError};

impl Store {
    /// Opens an SQLite file read-only — a backup being checked. Nothing is
    /// written to it, not even a journal-mode change, so checking a copy
    /// never alters it.
    pub async fn open_sqlite_read_only(path: &Path) -> Result<Self, StoreError> {
        let url = format!("sqlite://{}?mode=ro", path.display());
        let mut opts = ConnectOptions::new(url);
        opts.sqlx_logging(false)
            .max_connections(1)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(10))
            .map_sqlx_sqlite_opts(|o| {
                // VACUUM INTO writes rollback-journal files; asking for that
                // same mode is a no-op that needs no write access.
                o.create_if_missing(false)
                    .read_only(true)
                    .journal_mode(SqliteJournalMode::Delete)
            });
        Ok(Self {
            db: Database::connect(opts).await?,
            reads: None,
            log_suite: Default::default(),
            published_tree: Default::default(),
            filings: std::sync::Arc::new(crate::filing_batch::FilingQueue::new(
                Duration::from_secs(30),
            )),
            recent_units: Default::default(),
        })
    }

    /// SQLite: the bytes a compact copy will hold (pages in use × page
    /// size), to show a backup's progress against.
    pub async fn sqlite_bytes_in_use(&self) -> Result<u64, StoreError> {
        let pragma = |name: &str| {
            let sql = format!("PRAGMA {name}");
            async move {
                let row = self
                    .db
                    .query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
                    .await?
                    .ok_or_else(|| StoreError::Corrupt("PRAGMA returned nothing".into()))?;
                let n: i64 = row.try_get_by_index(0)?;
                Ok::<u64, StoreError>(u64::try_from(n).unwrap_or_default())
            }
        };
        let pages = pragma("page_count").await?;
        let free = pragma("freelist_count").await?;
        let size = pragma("page_size").await?;
        Ok(pages.saturating_sub(free).saturating_mul(size))
    }

    /// SQLite: writes a consistent snapshot of the whole database into a new
    /// file with `VACUUM INTO`. It reads inside one transaction, so writers
    /// in other processes go on (WAL) and the copy holds exactly the commits
    /// made before it started. The target must not exist.
    pub async fn vacuum_into(&self, target: &Path) -> Result<(), StoreError> {
        if self.backend() != DbBackend::Sqlite {
            return Err(StoreError::Invalid(
                "VACUUM INTO is SQLite only; use pg_dump for PostgreSQL",
            ));
        }
        let path = target
            .to_str()
            .ok_or(StoreError::Invalid("the backup path must be valid UTF-8"))?;
        // A string literal, the only form VACUUM INTO takes: quotes doubled.
        let literal = path.replace('\'', "''");
        self.db
            .execute_unprepared(&format!("VACUUM INTO '{literal}'"))
            .await?;
        Ok(())
    }

    /// Tables in the database's own schema: 0 for a fresh database that a
    /// restore may fill, and the length of a PostgreSQL dump's progress.
    pub async fn table_count(&self) -> Result<u64, StoreError> {
        let sql = match self.backend() {
            DbBackend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            }
            _ => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()"
            }
        };
        let row = self
            .db
            .query_one_raw(Statement::from_string(self.backend(), sql))
            .await?
            .ok_or_else(|| StoreError::Corrupt("table count returned nothing".into()))?;
        let n: i64 = row.try_get_by_index(0)?;
        Ok(u64::try_from(n).unwrap_or_default())
    }
}
