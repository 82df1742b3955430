//! `sunlight-testkit`: what the tests of every crate share, and nothing a production crate may use (a dev-dependency only, CI checks): fresh, migrated databases, the test unit tree and an app spawner, raw SQL for tampering tests, the scorecard writer, a raw HTTP exchange and request corpora kept as data files.
//!
//! Fresh, migrated databases for tests: a temporary SQLite file, and a new
//! PostgreSQL database per call on the server named by
//! `SUNLIGHT_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! PostgreSQL being unreachable is a test failure, not a skip: CI claims both.

mod corpus;
mod fixture;

pub use corpus::{CorpusCase, Expect, load_corpus};
pub use fixture::{ENGINES, Running, UNITS, create_test_units};

use sea_orm::{ConnectionTrait, Database, DbBackend, EntityTrait, Statement};

use sunlight_store::{Store, StoreError};

pub use sunlight_store::seed::{SeedCase, SeedStage, seed_cases};

/// Which engine a test store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A migrated store plus what it lives in: a temporary folder (SQLite) or
/// a database of its own (PostgreSQL), both removed when the test ends.
#[derive(Debug)]
pub struct TestDb {
    pub store: Store,
    pub engine: Engine,
    pub url: String,
    _scratch: Scratch,
}

/// What a test database lives in, removed on drop.
#[derive(Debug)]
enum Scratch {
    Dir(std::path::PathBuf),
    PgDatabase(String),
}

impl Drop for Scratch {
    fn drop(&mut self) {
        match self {
            Self::Dir(dir) => {
                let _ignored = std::fs::remove_dir_all(dir);
            }
            // Drop runs outside any runtime it could borrow: a thread of
            // its own connects to the server and drops the database, ending
            // the test's still-open pool connections (`WITH (FORCE)`).
            Self::PgDatabase(name) => {
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| e.to_string())?;
                    runtime.block_on(async {
                        let admin = Database::connect(&pg_admin_url())
                            .await
                            .map_err(|e| e.to_string())?;
                        admin
                            .execute_unprepared(&sql)
                            .await
                            .map_err(|e| e.to_string())?;
                        admin.close().await.map_err(|e| e.to_string())
                    })
                })
                .join();
                // A database left behind is cleaned by the next `.ci/run`.
                if let Ok(Err(e)) = dropped {
                    let _ignored = std::io::Write::write_all(
                        &mut std::io::stderr(),
                        format!("test database not dropped: {e}\n").as_bytes(),
                    );
                }
            }
        }
    }
}

/// The cipher suite the app and storage tests make their deployments in:
/// `SUNLIGHT_TEST_SUITE` (`modern` or `shangmi`; unset is `modern`). CI
/// runs the suites' storage, app and process tests once per suite.
///
/// # Panics
/// On a value that names no suite: a typo must not quietly test `modern`.
#[expect(clippy::panic, reason = "a misconfigured test run fails loudly")]
pub fn suite_under_test() -> sunlight_core::crypto::Suite {
    match std::env::var("SUNLIGHT_TEST_SUITE") {
        Ok(name) => name
            .parse()
            .unwrap_or_else(|e| panic!("SUNLIGHT_TEST_SUITE: {e}")),
        Err(_) => sunlight_core::crypto::Suite::Modern,
    }
}

pub fn pg_admin_url() -> String {
    std::env::var("SUNLIGHT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

impl TestDb {
    pub async fn new(engine: Engine) -> Result<Self, StoreError> {
        let (url, scratch) = match engine {
            Engine::Sqlite => {
                let dir =
                    std::env::temp_dir().join(format!("sunlight-test-{}", uuid::Uuid::new_v4()));
                std::fs::create_dir_all(&dir)
                    .map_err(|e| StoreError::Corrupt(format!("temp dir: {e}")))?;
                let url = format!("sqlite://{}/sunlight.db", dir.display());
                (url, Scratch::Dir(dir))
            }
            Engine::Postgres => {
                let url = fresh_pg_url().await?;
                let name = url.rsplit('/').next().unwrap_or_default().to_owned();
                (url, Scratch::PgDatabase(name))
            }
        };
        let store = Store::connect(&url).await?;
        store.migrate().await?;
        // As `init` records it, before any key is made.
        store
            .put_setting(
                sunlight_store::setting_keys::SUITE,
                suite_under_test().as_str().as_bytes().to_vec(),
            )
            .await?;
        Ok(Self {
            store,
            engine,
            url,
            _scratch: scratch,
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

    /// Whether `needle` is anywhere in what the database keeps: every file
    /// of the SQLite database (with its write-ahead log), or a PostgreSQL
    /// data dump (where bytes also count in their hex form). For promises
    /// that something is sealed at rest.
    pub async fn holds(&self, needle: &[u8]) -> Result<bool, StoreError> {
        let broken =
            |what: &str, e: &dyn std::fmt::Display| StoreError::Corrupt(format!("{what}: {e}"));
        let mut kept: Vec<Vec<u8>> = Vec::new();
        match &self._scratch {
            Scratch::Dir(dir) => {
                for entry in std::fs::read_dir(dir).map_err(|e| broken("read dir", &e))? {
                    let path = entry.map_err(|e| broken("dir entry", &e))?.path();
                    kept.push(std::fs::read(&path).map_err(|e| broken("read", &e))?);
                }
            }
            Scratch::PgDatabase(_) => {
                let dump = std::process::Command::new("pg_dump")
                    .args(["--data-only", "--inserts", &self.url])
                    .output()
                    .map_err(|e| broken("pg_dump", &e))?;
                if !dump.status.success() {
                    let err = String::from_utf8_lossy(&dump.stderr).into_owned();
                    return Err(broken("pg_dump", &err));
                }
                kept.push(dump.stdout);
            }
        }
        let hex: Vec<u8> = needle
            .iter()
            .flat_map(|b| format!("{b:02x}").into_bytes())
            .collect();
        Ok(kept.iter().any(|bytes| {
            [needle, hex.as_slice()]
                .iter()
                .any(|n| !n.is_empty() && bytes.windows(n.len()).any(|w| w == *n))
        }))
    }
}

/// Runs raw SQL on any store, for tests that simulate tampering or faults.
pub async fn execute(store: &Store, sql: &str) -> Result<u64, StoreError> {
    let backend = store.backend();
    Ok(store
        .connection()
        .execute_raw(Statement::from_string(backend, sql.to_owned()))
        .await?
        .rows_affected())
}

/// The audit entries about `case`: (action, time), oldest first.
pub async fn audit_of_case(
    store: &Store,
    case: sunlight_core::CaseId,
) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>, StoreError> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    Ok(sunlight_store::entity::audit_entry::Entity::find()
        .filter(sunlight_store::entity::audit_entry::Column::CaseId.eq(case.to_string()))
        .order_by_asc(sunlight_store::entity::audit_entry::Column::Seq)
        .all(store.connection())
        .await?
        .into_iter()
        .map(|e| (e.action, e.at))
        .collect())
}

/// How many audit entries record `action` (say `session.failed`).
pub async fn count_audit(store: &Store, action: &str) -> Result<u64, StoreError> {
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
    Ok(sunlight_store::entity::audit_entry::Entity::find()
        .filter(sunlight_store::entity::audit_entry::Column::Action.eq(action))
        .count(store.connection())
        .await?)
}

/// Drops the triggers that keep `audit_log` append-only, as the role that
/// runs migrations can: tests of what the hash chain and its anchor catch
/// play that insider.
pub async fn drop_audit_guards(store: &Store) -> Result<(), StoreError> {
    let statements: &[&str] = match store.backend() {
        DbBackend::Sqlite => &[
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
        ],
        _ => &[
            "DROP TRIGGER audit_log_no_change ON audit_log",
            "DROP TRIGGER audit_log_no_truncate ON audit_log",
        ],
    };
    for sql in statements {
        execute(store, sql).await?;
    }
    Ok(())
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
        .connection()
        .query_one_raw(Statement::from_string(backend, sql.to_owned()))
        .await?
        .ok_or(StoreError::NotFound("row"))?;
    row.try_get_by_index::<String>(0)
        .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
        .or_else(|_| row.try_get_by_index::<i32>(0).map(|n| n.to_string()))
        .map_err(StoreError::from)
}

/// Prints one figure of the reliability scorecard and records it with
/// [`record_figure`]. A figure that cannot be recorded is said on stderr,
/// not a test failure: `.ci/scorecard` lists the keys it did not get.
#[expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the figure is for the person running the test, too"
)]
pub fn scorecard(key: &str, figure: &str) {
    println!("{figure}");
    if let Err(e) = record_figure(key, figure) {
        eprintln!("scorecard: {key} not recorded: {e}");
    }
}

/// Writes one figure of the reliability scorecard (docs/reliability.md) to
/// `<target>/scorecard/<key>.txt`, where `.ci/scorecard` puts it into the
/// table. `<target>` is the build folder of the running test binary
/// (`target/debug/deps/…` → `target`), or `SUNLIGHT_SCORECARD_DIR`.
pub fn record_figure(key: &str, figure: &str) -> std::io::Result<()> {
    let dir = match std::env::var_os("SUNLIGHT_SCORECARD_DIR") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => {
            let exe = std::env::current_exe()?;
            exe.ancestors()
                .nth(3)
                .ok_or_else(|| std::io::Error::other("test binary outside a target folder"))?
                .join("scorecard")
        }
    };
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(format!("{key}.txt")), figure)
}

/// Sends raw bytes to an HTTP/1.1 server (requests no client library would
/// build, for the hostile corpora); returns the status and head of every
/// response read until the server closes the connection or stays quiet for
/// two seconds. A connection that cannot be opened is an empty list.
pub fn raw_http_exchange(addr: &str, request: &[u8]) -> Vec<(u16, String)> {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return Vec::new();
    };
    if stream
        .set_read_timeout(Some(std::time::Duration::from_secs(2)))
        .is_err()
    {
        return Vec::new();
    }
    // The server may answer and close before reading all of a large head.
    if stream.write_all(request).is_err() {
        // Answered (or closed) before the head was read whole: what came
        // back is read below all the same.
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(buf.get(..n).unwrap_or_default()),
        }
    }
    let text = String::from_utf8_lossy(&got);
    text.match_indices("HTTP/1.1 ")
        .filter(|(at, _)| *at == 0 || text.get(..*at).is_some_and(|t| t.ends_with('\n')))
        .map(|(at, _)| {
            let head = text.get(at..).unwrap_or_default();
            let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            let end = head.find("\r\n\r\n").unwrap_or(head.len());
            (status, head.get(..end).unwrap_or(head).to_owned())
        })
        .collect()
}

/// `bytes` as an SQL literal of the engine's binary type, for tampering.
pub fn blob_literal(engine: Engine, bytes: &[u8]) -> String {
    let hex = data_encoding::HEXLOWER.encode(bytes);
    match engine {
        Engine::Sqlite => format!("X'{hex}'"),
        Engine::Postgres => format!("'\\x{hex}'::bytea"),
    }
}

/// A UUID as the engine stores it (16 bytes in SQLite, `uuid` in
/// PostgreSQL), as an SQL literal.
pub fn uuid_literal(engine: Engine, id: uuid::Uuid) -> String {
    match engine {
        Engine::Sqlite => blob_literal(engine, id.as_bytes()),
        Engine::Postgres => format!("'{id}'::uuid"),
    }
}
