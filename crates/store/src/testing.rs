//! Fresh, migrated databases for tests: a temporary SQLite file, and a new
//! PostgreSQL database per call on the server named by
//! `SUNLIGHT_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! PostgreSQL being unreachable is a test failure, not a skip: CI claims both.

use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

use crate::{Store, StoreError};

/// Which engine a test store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A migrated store plus what keeps it alive (the temp dir for SQLite).
#[derive(Debug)]
pub struct TestDb {
    pub store: Store,
    pub engine: Engine,
    pub url: String,
    _dir: Option<tempfile_dir::TempDir>,
}

mod tempfile_dir {
    /// A directory removed on drop (std only, so this module adds no
    /// dependency to the production crate).
    #[derive(Debug)]
    pub struct TempDir(pub std::path::PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ignored = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub fn pg_admin_url() -> String {
    std::env::var("SUNLIGHT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

impl TestDb {
    pub async fn new(engine: Engine) -> Result<Self, StoreError> {
        let (url, dir) = match engine {
            Engine::Sqlite => {
                let dir =
                    std::env::temp_dir().join(format!("sunlight-test-{}", uuid::Uuid::new_v4()));
                std::fs::create_dir_all(&dir)
                    .map_err(|e| StoreError::Corrupt(format!("temp dir: {e}")))?;
                let url = format!("sqlite://{}/sunlight.db", dir.display());
                (url, Some(tempfile_dir::TempDir(dir)))
            }
            Engine::Postgres => (fresh_pg_url().await?, None),
        };
        let store = Store::connect(&url).await?;
        store.migrate().await?;
        Ok(Self {
            store,
            engine,
            url,
            _dir: dir,
        })
    }

    /// One store per engine: run the same test body on both.
    pub async fn both() -> Result<Vec<Self>, StoreError> {
        Ok(vec![
            Self::new(Engine::Sqlite).await?,
            Self::new(Engine::Postgres).await?,
        ])
    }

    /// Runs raw SQL, for tests that simulate tampering.
    pub async fn raw(&self, sql: &str) -> Result<u64, StoreError> {
        execute(&self.store, sql).await
    }
}

/// Runs raw SQL on any store, for tests that simulate tampering or faults.
pub async fn execute(store: &Store, sql: &str) -> Result<u64, StoreError> {
    let backend = store.backend();
    Ok(store
        .conn()
        .execute_raw(Statement::from_string(backend, sql.to_owned()))
        .await?
        .rows_affected())
}

/// A fresh, empty PostgreSQL database URL (not migrated), for process tests.
pub async fn fresh_pg_url() -> Result<String, StoreError> {
    let admin_url = pg_admin_url();
    let name = format!("sunlight_test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(&admin_url).await?;
    admin
        .execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("CREATE DATABASE {name}"),
        ))
        .await?;
    admin.close().await?;
    match admin_url.rsplit_once('/') {
        Some((server, _db)) => Ok(format!("{server}/{name}")),
        None => Err(StoreError::Corrupt("bad SUNLIGHT_TEST_PG_URL".into())),
    }
}

/// The first column of the first row of `sql`, as text (for PRAGMA checks).
pub async fn query_text(store: &Store, sql: &str) -> Result<String, StoreError> {
    let backend = store.backend();
    let row = store
        .conn()
        .query_one_raw(Statement::from_string(backend, sql.to_owned()))
        .await?
        .ok_or(StoreError::NotFound("row"))?;
    row.try_get_by_index::<String>(0)
        .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
        .or_else(|_| row.try_get_by_index::<i32>(0).map(|n| n.to_string()))
        .map_err(StoreError::from)
}
