//! Case numbers (案件编号), given once the arrival's day is over: a day's
//! cases of each unit are numbered together in a random order, so a number
//! tells the day a report arrived (which `received_on` shows anyway) and
//! nothing finer. Numbered at routing, in arrival order, number 41 and 42
//! would say which of a day's two reports came first, and with the network
//! log of the accused's unit, which of two visitors filed which.

use std::collections::BTreeMap;

use chrono::Datelike;
use sunlight_core::{CaseId, UnitId};

use super::*;

/// How long after a local midnight the day before it is numbered: longer
/// than the slowest filing (an Argon2 queue, attachments) plus a routing
/// pass, so a report that began before midnight and was stored after it is
/// numbered with its day, not alone after it.
pub(crate) const GRACE: Duration = Duration::hours(1);

impl Triage {
    /// Numbers every routed case whose local arrival day ended an hour or
    /// more before `now`, a day at a time; returns how many this call
    /// numbered. A day that still has a case waiting for routing waits
    /// with it. Safe to run in several processes at once: a unit's day is
    /// numbered by one of them, the others find it done. A batch that
    /// fails does not hold up the others; the first failure is returned
    /// after all were tried.
    pub async fn number_pending(&self, now: DateTime<Utc>) -> Result<usize, CaseworkError> {
        let until = self.policy.start_of_local_day(now - GRACE);
        let mut numbered = 0;
        let mut failed = None;
        let mut from = DateTime::<Utc>::UNIX_EPOCH;
        while let Some(oldest) = self.store.oldest_unnumbered(from, until).await? {
            let day = self.policy.local_date(oldest);
            let start = self.policy.start_of_local_day(oldest);
            let end = self.policy.end_of_local_day(day).min(until);
            from = end;
            if self.store.any_unrouted(start, end).await? {
                continue;
            }
            let cases = self.store.unnumbered_cases(start, end).await?;
            for (unit, ids) in shuffled_by_unit(cases)? {
                match self.store.number_cases(&unit, day.year(), &ids, now).await {
                    Ok(true) => numbered += ids.len(),
                    Ok(false) => {}
                    Err(e) => {
                        failed.get_or_insert(e);
                    }
                }
            }
        }
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(numbered),
        }
    }
}

/// A day's cases grouped by unit, each group in a random order.
fn shuffled_by_unit(
    cases: Vec<sunlight_store::Unnumbered>,
) -> Result<BTreeMap<UnitId, Vec<CaseId>>, CaseworkError> {
    let mut keyed: BTreeMap<UnitId, Vec<(u64, CaseId)>> = BTreeMap::new();
    for case in cases {
        let mut key = [0u8; 8];
        getrandom::fill(&mut key).map_err(|e| CaseworkError::Internal(format!("random: {e}")))?;
        keyed
            .entry(case.unit)
            .or_default()
            .push((u64::from_le_bytes(key), case.id));
    }
    Ok(keyed
        .into_iter()
        .map(|(unit, mut group)| {
            group.sort_unstable();
            (unit, group.into_iter().map(|(_, id)| id).collect())
        })
        .collect())
}
