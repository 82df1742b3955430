//! What the app tests of every crate start from: both engines, the unit
//! tree the tests name units from, and an app running until told to stop.

use std::future::Future;

use chrono::{DateTime, Utc};
use sunlight_core::crypto::UnitSecretKey;
use sunlight_core::{Level, UnitId};
use sunlight_store::provision::create_unit;
use sunlight_store::{Store, UnitRow};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::Engine;

/// Every test that touches a database runs on both.
pub const ENGINES: [Engine; 2] = [Engine::Sqlite, Engine::Postgres];

/// The test unit tree: province gd → cities gd-gz, gd-sz → county
/// gd-gz-tianhe. A report on Tianhe's head goes to Guangzhou; Shenzhen is
/// the sibling that must never see Guangzhou's cases.
pub const UNITS: [(&str, &str, Level, Option<&str>); 4] = [
    ("gd", "广东省委组织部", Level::Province, None),
    ("gd-gz", "广州市委组织部", Level::City, Some("gd")),
    ("gd-sz", "深圳市委组织部", Level::City, Some("gd")),
    (
        "gd-gz-tianhe",
        "天河区委组织部",
        Level::County,
        Some("gd-gz"),
    ),
];

/// Creates `UNITS` in `store`: each unit's row and its private key (checked
/// against the recovery key `create_unit` hands out once).
pub async fn create_test_units(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<(UnitRow, UnitSecretKey)>, String> {
    let mut out = Vec::new();
    for (id, name, level, parent) in UNITS {
        let unit = UnitId::parse(id).map_err(|e| e.to_string())?;
        let parent = parent
            .map(UnitId::parse)
            .transpose()
            .map_err(|e| e.to_string())?;
        let spec = sunlight_core::unit_tree::UnitSpec::new(unit, name, level, parent);
        let (row, secret, recovery) = create_unit(store, spec, true, "test", now)
            .await
            .map_err(|e| e.to_string())?;
        // The recovery key handed out opens the same key.
        let reopened = row
            .recovery_wrapped_key
            .unwrap_with_recovery(recovery.as_ref().ok_or("no recovery key")?, id)
            .map_err(|e| e.to_string())?;
        if reopened.public() != secret.public() {
            return Err(format!("unit {id}: the recovery key opens another key"));
        }
        out.push((row, secret));
    }
    Ok(out)
}

/// An app served in this test's runtime until `stop`.
#[derive(Debug)]
pub struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// Spawns `run`, handing it the future that resolves when the test
    /// calls `stop` (or drops the `Running`).
    pub fn spawn<F>(run: impl FnOnce(oneshot::Receiver<()>) -> F) -> Self
    where
        F: Future<Output = std::io::Result<()>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<()>();
        Self {
            stop: Some(tx),
            task: Some(tokio::spawn(run(rx))),
        }
    }

    /// Stops the app and waits for it; an app that failed fails the test.
    pub async fn stop(&mut self) -> std::io::Result<()> {
        if let Some(tx) = self.stop.take() {
            // An app that already ended has dropped its receiver: fine.
            let _sent = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}
