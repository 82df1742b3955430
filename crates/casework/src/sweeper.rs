//! The sweeper (催办/督办): one periodic pass over the open stages and holds
//! that fall due. Before a deadline it reminds the owner (or, while nobody
//! owns the case, the people who may take it); at the deadline it marks the
//! stage overdue and tells the unit's supervisors and the unit above; an
//! unowned case is flagged after one working day; a hold past its maximum
//! goes to the level above. What is due is decided by
//! `sunlight_core::notice`; the store makes each notice happen once.
//!
//! Time is a parameter: `pass(now)` runs on the wall clock in `serve` and
//! on a virtual clock in `sunlight simulate` and the tests.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sunlight_core::calendar::Calendar;
use sunlight_core::case::ActionKind;
use sunlight_core::notice::{NoticeKind, StageClock, stage_schedule, sweep_step};
use sunlight_core::policy::{DeadlineKind, Policy};
use sunlight_core::{CaseId, CaseNumber, Role, UnitId};
use sunlight_store::{
    HoldCheck, NewMail, NoticeWrite, StaffRow, Store, StoreError, SweepEntry, SweepHold,
    SweepWrite, SweepWritten, UnitRow,
};
use uuid::Uuid;

use crate::mail::{MailFacts, MailStyle, render};

mod log;
mod recalendar;
mod replies;
mod retention;
mod tasks;
pub use recalendar::{MovedDeadline, Rules};
pub use retention::{NOTICE_DAYS, RetentionReport};

/// How many stages one transaction records.
const BATCH: u64 = 500;

/// The sweeper's lease name; one process at a time holds it.
pub const LEASE: &str = "sweeper";

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Stages and holds looked at.
    pub looked_at: u64,
    pub written: SweepWritten,
    /// Cases filed for reference (存查) in this pass.
    pub filed: u64,
}

/// Who works in which unit, read once per pass.
struct Directory {
    units: HashMap<UnitId, UnitRow>,
    staff: HashMap<UnitId, Vec<StaffRow>>,
    by_id: HashMap<Uuid, StaffRow>,
}

impl Directory {
    async fn load(store: &Store) -> Result<Self, StoreError> {
        let units: HashMap<UnitId, UnitRow> = store
            .units()
            .await?
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect();
        let mut staff: HashMap<UnitId, Vec<StaffRow>> = HashMap::new();
        let mut by_id = HashMap::new();
        for member in store.all_staff().await? {
            if !member.disabled {
                by_id.insert(member.id, member.clone());
                staff.entry(member.unit.clone()).or_default().push(member);
            }
        }
        Ok(Self {
            units,
            staff,
            by_id,
        })
    }

    fn unit_name<'a>(&'a self, unit: &'a UnitId) -> &'a str {
        self.units
            .get(unit)
            .map_or(unit.as_str(), |u| u.name.as_str())
    }

    fn with_roles<'a>(
        &'a self,
        unit: &UnitId,
        roles: &'a [Role],
    ) -> impl Iterator<Item = &'a StaffRow> {
        self.staff
            .get(unit)
            .into_iter()
            .flatten()
            .filter(move |s| roles.contains(&s.role))
    }

    fn member(&self, id: Uuid) -> Option<&StaffRow> {
        self.by_id.get(&id)
    }

    fn parent(&self, unit: &UnitId) -> Option<&UnitId> {
        self.units.get(unit).and_then(|u| u.parent.as_ref())
    }

    /// Who a notice about `unit` goes to; `owner` when someone owns the stage.
    fn recipients<'a>(
        &'a self,
        kind: NoticeKind,
        unit: &UnitId,
        stage_workers: &'a [Role],
        owner: Option<Uuid>,
    ) -> Vec<&'a StaffRow> {
        const SUPERVISORS: &[Role] = &[Role::Supervisor];
        let owner = owner.and_then(|o| self.member(o));
        let mut out: Vec<&StaffRow> = match kind {
            NoticeKind::Opened => self.with_roles(unit, stage_workers).collect(),
            NoticeKind::Reminder { .. } => match owner {
                Some(o) => vec![o],
                None => self.with_roles(unit, stage_workers).collect(),
            },
            NoticeKind::Unclaimed | NoticeKind::HoldNoticeLate => {
                self.with_roles(unit, SUPERVISORS).collect()
            }
            NoticeKind::Overdue | NoticeKind::HoldExpired => owner
                .into_iter()
                .chain(self.with_roles(unit, SUPERVISORS))
                .chain(
                    self.parent(unit)
                        .into_iter()
                        .flat_map(|p| self.with_roles(p, SUPERVISORS)),
                )
                .collect(),
        };
        let mut seen = BTreeSet::new();
        out.retain(|s| seen.insert(s.id));
        out
    }
}

/// How long a pass reuses the staff directory it read: a member added or
/// disabled is mailed (or no longer mailed) within this time.
const DIRECTORY_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// The periodic job. Cheap to clone.
#[derive(Clone)]
pub struct Sweeper {
    store: Store,
    policy: Arc<Policy>,
    calendar: Arc<Calendar>,
    style: MailStyle,
    directory: Arc<std::sync::Mutex<CachedDirectory>>,
    /// The last local day this process queued the audit-head mail.
    head_day: Arc<std::sync::Mutex<Option<chrono::NaiveDate>>>,
    /// The last local day this process applied the retention rule.
    retention_day: Arc<std::sync::Mutex<Option<chrono::NaiveDate>>>,
    /// Where the transparency log's key comes from (the pepper); `None`:
    /// this sweeper signs no head.
    log_source: Option<sunlight_core::crypto::CodeStretcher>,
    /// The last local day this process published a log head.
    log_day: Arc<std::sync::Mutex<Option<chrono::NaiveDate>>>,
}

/// The directory and when it was read.
type CachedDirectory = Option<(std::time::Instant, Arc<Directory>)>;

impl std::fmt::Debug for Sweeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sweeper").finish_non_exhaustive()
    }
}

impl Sweeper {
    pub fn new(
        store: Store,
        policy: Arc<Policy>,
        calendar: Arc<Calendar>,
        style: MailStyle,
    ) -> Self {
        Self {
            store,
            policy,
            calendar,
            style,
            directory: Arc::default(),
            head_day: Arc::default(),
            retention_day: Arc::default(),
            log_source: None,
            log_day: Arc::default(),
        }
    }

    /// The staff directory, read again when older than `DIRECTORY_TTL`.
    async fn directory(&self) -> Result<Arc<Directory>, StoreError> {
        let cached = self
            .directory
            .lock()
            .ok()
            .and_then(|d| d.clone())
            .filter(|(at, _)| at.elapsed() < DIRECTORY_TTL);
        if let Some((_, dir)) = cached {
            return Ok(dir);
        }
        let dir = Arc::new(Directory::load(&self.store).await?);
        if let Ok(mut slot) = self.directory.lock() {
            *slot = Some((std::time::Instant::now(), dir.clone()));
        }
        Ok(dir)
    }

    /// Once a local day: the audit log's head (its newest entry's number
    /// and hash) goes by mail to the supervisors of every root unit, an
    /// outside witness that `sunlight audit verify --expect SEQ:HASH` can
    /// hold the log to later: cutting the newest entries off, even with
    /// the append-only triggers dropped, then fails. Returns the mails
    /// queued (none when today's went out already).
    pub async fn mail_audit_head(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let day = self.policy.local_date(now);
        if self.head_day.lock().is_ok_and(|d| *d == Some(day)) {
            return Ok(0);
        }
        let Some((seq, hash)) = self.store.audit_head().await? else {
            return Ok(0);
        };
        let hash = data_encoding::HEXLOWER.encode(&hash);
        let dir = self.directory().await?;
        let t = crate::i18n::catalog(self.style.lang);
        let anchor = format!("{seq}:{hash}");
        // A log that cannot be read must not silence the audit head.
        let log_head = self.store.log_heads().await.ok().and_then(|mut h| h.pop());
        let args = [
            ("day", day.to_string()),
            ("seq", seq.to_string()),
            ("hash", hash.clone()),
            ("anchor", anchor),
            (
                "size",
                log_head
                    .as_ref()
                    .map(|h| h.size.to_string())
                    .unwrap_or_default(),
            ),
            (
                "root",
                log_head
                    .as_ref()
                    .map(|h| data_encoding::HEXLOWER.encode(&h.root))
                    .unwrap_or_default(),
            ),
            (
                "log_day",
                log_head
                    .as_ref()
                    .map(|h| h.day.to_string())
                    .unwrap_or_default(),
            ),
        ];
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        // The log's head beside the audit head: a witness outside the
        // server that a split view (another head shown to others) meets.
        let log_line = match log_head {
            Some(_) => format!("\n\n{}", t.format("mail.audit_head_log", &args)),
            None => String::new(),
        };
        let mails: Vec<NewMail> = dir
            .units
            .values()
            .filter(|u| u.parent.is_none())
            .flat_map(|u| dir.with_roles(&u.id, &[Role::Supervisor]))
            .map(|s| NewMail {
                dedupe_key: format!("audit-head/{day}/{}", s.email),
                recipient: s.email.clone(),
                subject: t.format("mail.audit_head_subject", &args),
                body: format!(
                    "{}{log_line}\n\n-- \n{}\n",
                    t.format("mail.audit_head_body", &args),
                    t.get("mail.footer")
                ),
                case_id: None,
                kind: "audit_head".into(),
            })
            .collect();
        let queued = self.store.enqueue_mails(&mails, now).await?;
        if let Ok(mut d) = self.head_day.lock() {
            *d = Some(day);
        }
        Ok(queued)
    }

    /// One pass at `now`: every stage and hold that falls due is handled.
    pub async fn pass(&self, now: DateTime<Utc>) -> Result<SweepReport, StoreError> {
        let mut report = SweepReport::default();
        // Each batch moves every entry it reads past `now` (or drops a stale
        // one, which a later read sees afresh), so this ends; the cap only
        // guards against a store that stops making progress.
        for _ in 0..100_000 {
            let entries = self.store.entries_to_sweep(now, BATCH).await?;
            if entries.is_empty() {
                break;
            }
            report.looked_at += entries.len() as u64;
            let dir = self.directory().await?;
            let ids: Vec<Uuid> = entries.iter().map(|e| e.entry_id).collect();
            let recorded = self.store.notices_recorded(&ids).await?;
            let cases: Vec<CaseId> = entries.iter().map(|e| e.case_id).collect();
            let numbers = self.store.case_numbers(&cases).await?;
            let writes: Vec<SweepWrite> = entries
                .into_iter()
                .map(|e| {
                    let done = recorded.get(&e.entry_id).map_or(&[][..], Vec::as_slice);
                    let number = numbers.get(&e.case_id);
                    self.sweep_entry(&dir, e, number, done, now)
                })
                .collect();
            report.written += self.store.record_sweep(&writes, now).await?;
        }
        for _ in 0..100_000 {
            let holds = self.store.holds_to_sweep(now, BATCH).await?;
            if holds.is_empty() {
                break;
            }
            report.looked_at += holds.len() as u64;
            let dir = self.directory().await?;
            let cases: Vec<CaseId> = holds.iter().map(|h| h.case_id).collect();
            let numbers = self.store.case_numbers(&cases).await?;
            let writes: Vec<SweepWrite> = holds
                .into_iter()
                .map(|h| {
                    let number = numbers.get(&h.case_id);
                    self.sweep_hold(&dir, h, number)
                })
                .collect();
            report.written += self.store.record_sweep(&writes, now).await?;
        }
        let tasks = self.sweep_tasks(now).await?;
        report.looked_at += tasks.looked_at;
        report.written += tasks.written;
        report.filed = self.file_unanswered(now).await?;
        Ok(report)
    }

    /// 存查: every case whose question for specifics went unanswered to
    /// the end of its pause is closed as filed for reference.
    pub async fn file_unanswered(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut filed = 0;
        for _ in 0..100_000 {
            let due = self.store.specifics_unanswered(now, BATCH).await?;
            let mut progressed = false;
            for id in due {
                if self.store.file_for_reference(id, now).await? {
                    filed += 1;
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
        }
        Ok(filed)
    }

    fn sweep_entry(
        &self,
        dir: &Directory,
        entry: SweepEntry,
        number: Option<&CaseNumber>,
        done: &[String],
        now: DateTime<Utc>,
    ) -> SweepWrite {
        let clock = StageClock {
            stage: entry.stage,
            opened_at: entry.opened_at,
            due_at: entry.due_at,
            owned: entry.owner.is_some(),
            paused_until: entry.paused_until,
        };
        let schedule = stage_schedule(&self.policy, &self.calendar, &clock);
        // Keys this code does not know (a policy changed its reminder
        // points) simply never match.
        let recorded: Vec<NoticeKind> = done.iter().filter_map(|k| k.parse().ok()).collect();
        let step = sweep_step(&schedule, &recorded, &clock, now);
        let at = |kind: NoticeKind| {
            schedule
                .iter()
                .find(|(k, _)| *k == kind)
                .map_or(now, |(_, at)| *at)
        };
        let workers = ActionKind::Claim.roles(entry.stage);
        let facts = MailFacts {
            case: entry.case_id,
            number,
            unit_name: dir.unit_name(&entry.unit),
            stage: Some(entry.stage),
            due: Some(entry.due_at),
        };
        let mut notices: Vec<NoticeWrite> = step
            .send
            .iter()
            .map(|&kind| {
                let to = dir.recipients(kind, &entry.unit, workers, entry.owner);
                NoticeWrite {
                    kind: kind.to_string(),
                    scheduled_at: at(kind),
                    mails: self.mails(entry.entry_id, entry.case_id, kind, &facts, &to),
                }
            })
            .collect();
        notices.extend(step.superseded.iter().map(|&kind| NoticeWrite {
            kind: kind.to_string(),
            scheduled_at: at(kind),
            mails: Vec::new(),
        }));
        let overdue = step.send.contains(&NoticeKind::Overdue);
        SweepWrite::Entry {
            // The reporter hears how a late stage stands (阶段性反馈).
            interim_due: overdue
                .then(|| self.policy.due(DeadlineKind::Interim, now, &self.calendar)),
            overdue,
            entry,
            notices,
            next_sweep_at: step.next_at,
        }
    }

    fn sweep_hold(
        &self,
        dir: &Directory,
        hold: SweepHold,
        number: Option<&CaseNumber>,
    ) -> SweepWrite {
        let kind = match hold.check {
            HoldCheck::NoticeLate => NoticeKind::HoldNoticeLate,
            HoldCheck::Expired => NoticeKind::HoldExpired,
        };
        let to = dir.recipients(kind, &hold.unit, &[], None);
        let facts = MailFacts {
            case: hold.case_id,
            number,
            unit_name: dir.unit_name(&hold.unit),
            stage: None,
            due: Some(hold.due_at),
        };
        let notice = NoticeWrite {
            kind: kind.to_string(),
            scheduled_at: hold.due_at,
            mails: self.mails(hold.hold_id, hold.case_id, kind, &facts, &to),
        };
        SweepWrite::Hold { hold, notice }
    }

    fn mails(
        &self,
        about: Uuid,
        case: CaseId,
        kind: NoticeKind,
        facts: &MailFacts<'_>,
        to: &[&StaffRow],
    ) -> Vec<NewMail> {
        let (subject, body) = render(&self.style, &self.policy, kind, facts);
        to.iter()
            .map(|staff| NewMail {
                dedupe_key: format!("{about}/{kind}/{}", staff.id),
                recipient: staff.email.clone(),
                subject: subject.clone(),
                body: body.clone(),
                case_id: Some(case),
                kind: kind.to_string(),
            })
            .collect()
    }
}
