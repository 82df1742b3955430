//! The retention rule, once a local day: supervisors are told 30 days
//! before a closed case's sealed content is purged, and cases past their
//! period (and not under legal hold) are purged
//! (`Store::purge_case`). `sunlight retention run` does the purge now.

use chrono::{DateTime, Duration, Utc};
use sunlight_core::{CaseId, CaseNumber};
use sunlight_store::{NewMail, StoreError};

use super::{Role, Sweeper};

/// Cases looked at per batch.
const BATCH: u64 = 500;
/// How long before a purge its case's supervisors are told.
pub const NOTICE_DAYS: i64 = 30;

/// What a retention run did, or (dry run) would do.
#[derive(Debug, Default)]
pub struct RetentionReport {
    /// The cases due, by id and number, oldest closing first.
    pub due: Vec<(CaseId, Option<CaseNumber>)>,
    /// How many were purged (0 on a dry run).
    pub purged: usize,
}

impl Sweeper {
    /// Purges every closed case whose period ran out by `now` and that is
    /// not held (`dry_run`: lists them only). The database is compacted
    /// after purges so deleted pages leave the file (SQLite).
    pub async fn retention(
        &self,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<RetentionReport, StoreError> {
        let cutoff = self.policy.purge_cutoff(now);
        let mut report = RetentionReport::default();
        // Before any case (PostgreSQL refuses chrono's own minimum).
        let mut from = DateTime::<Utc>::UNIX_EPOCH;
        loop {
            let batch = self.store.retention_cases(from, cutoff, BATCH, now).await?;
            let Some(last) = batch.last() else { break };
            // Strictly after the last one seen: a dry run purges nothing,
            // so the same rows would come back.
            from = last.closed_at + Duration::microseconds(1);
            let ids: Vec<CaseId> = batch.iter().map(|c| c.id).collect();
            let numbers = self.store.case_numbers(&ids).await?;
            for case in batch {
                if !dry_run && self.store.purge_case(case.id, cutoff, now).await? {
                    report.purged += 1;
                }
                report.due.push((case.id, numbers.get(&case.id).cloned()));
            }
        }
        if report.purged > 0 {
            self.store.compact_after_purge().await?;
        }
        Ok(report)
    }

    /// Once a local day: the notices of purges due within `NOTICE_DAYS`,
    /// then the purge. `None` when today's ran already in this process.
    pub async fn retention_daily(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Option<(u64, RetentionReport)>, StoreError> {
        let day = self.policy.local_date(now);
        if self.retention_day.lock().is_ok_and(|d| *d == Some(day)) {
            return Ok(None);
        }
        let mailed = self.retention_notices(now).await?;
        let report = self.retention(now, false).await?;
        if let Ok(mut d) = self.retention_day.lock() {
            *d = Some(day);
        }
        Ok(Some((mailed, report)))
    }

    /// Tells the supervisors of each case's unit and of the unit above
    /// whose content is purged within `NOTICE_DAYS` (once per case and
    /// member): they may set a legal hold.
    /// The mail names the case number, the unit and the day, nothing else.
    pub async fn retention_notices(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let cutoff = self.policy.purge_cutoff(now);
        let until = cutoff + Duration::days(NOTICE_DAYS);
        let dir = self.directory().await?;
        let t = crate::i18n::catalog(self.style.lang);
        let mut mails = Vec::new();
        let mut from = cutoff;
        loop {
            let batch = self.store.retention_cases(from, until, BATCH, now).await?;
            let Some(last) = batch.last() else { break };
            from = last.closed_at + Duration::microseconds(1);
            let ids: Vec<CaseId> = batch.iter().map(|c| c.id).collect();
            let numbers = self.store.case_numbers(&ids).await?;
            for case in batch {
                let number = numbers
                    .get(&case.id)
                    .map_or_else(|| case.id.to_string(), ToString::to_string);
                let purge_on = self.policy.last_day(self.policy.purge_at(case.closed_at));
                let link = format!(
                    "{}/cases/{}",
                    self.style.link_base.trim_end_matches('/'),
                    case.id
                );
                let args = [
                    ("case", number.as_str()),
                    ("unit", dir.unit_name(&case.unit)),
                    ("day", &purge_on.to_string()),
                    ("link", link.as_str()),
                ];
                // The case's unit and the unit above: a hold set (or not)
                // by the unit alone is not the last word on its own case.
                let above = dir.parent(&case.unit);
                let told = dir.with_roles(&case.unit, &[Role::Supervisor]).chain(
                    above
                        .into_iter()
                        .flat_map(|p| dir.with_roles(p, &[Role::Supervisor])),
                );
                for s in told {
                    mails.push(NewMail {
                        dedupe_key: format!("retention/{}/{}", case.id, s.email),
                        recipient: s.email.clone(),
                        subject: t.format("mail.retention_subject", &args),
                        body: format!(
                            "{}\n\n-- \n{}\n",
                            t.format("mail.retention_body", &args),
                            t.get("mail.footer")
                        ),
                        case_id: Some(case.id),
                        kind: "retention_notice".into(),
                    });
                }
            }
        }
        self.store.enqueue_mails(&mails, now).await
    }
}
