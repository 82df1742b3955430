//! What the sweeper (催办/督办) reads and writes: open stages and holds that
//! fall due, the ledger of notices sent, overdue marks, and the lease that
//! keeps one sweeper at a time. A notice and its mails are written in one
//! transaction, and the ledger's primary key `(entry, kind)` turns a second
//! sweeper's attempt at the same notice into a no-op: exactly once, even
//! when two processes sweep at the same moment or one dies mid-pass.

mod counts;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr, sea_query::Func, sea_query::OnConflict,
};
use sunlight_core::{CaseId, Stage, UnitId};
use uuid::Uuid;

use crate::audit::{AuditRecord, append};
use crate::entity::{hold, notice, outbox, queue_entry};
use crate::task_rows::open_task;
use crate::{Store, StoreError};

/// An open stage the sweeper must look at.
#[derive(Debug, Clone)]
pub struct SweepEntry {
    pub entry_id: Uuid,
    pub case_id: CaseId,
    pub stage: Stage,
    pub unit: UnitId,
    pub owner: Option<Uuid>,
    pub opened_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub paused_until: Option<DateTime<Utc>>,
    /// As read: the write checks it is unchanged, so a sweep computed before
    /// a staff action moved the deadline is dropped, not applied.
    pub next_sweep_at: DateTime<Utc>,
}

/// Which hold notice falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldCheck {
    /// The notice to the selection body is unconfirmed past its date.
    NoticeLate,
    /// The hold ran past its maximum.
    Expired,
}

/// A hold the sweeper must act on.
#[derive(Debug, Clone)]
pub struct SweepHold {
    pub hold_id: Uuid,
    pub case_id: CaseId,
    pub unit: UnitId,
    pub check: HoldCheck,
    /// `notice_due_at` or `max_until`.
    pub due_at: DateTime<Utc>,
}

/// A mail to a staff member, rendered; carries no report content.
#[derive(Debug, Clone)]
pub struct NewMail {
    /// Makes the mail happen once: `entry/kind/recipient`.
    pub dedupe_key: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub case_id: Option<CaseId>,
    pub kind: String,
}

/// One notice to record, with its mails (none when superseded).
#[derive(Debug, Clone)]
pub struct NoticeWrite {
    pub kind: String,
    pub scheduled_at: DateTime<Utc>,
    pub mails: Vec<NewMail>,
}

/// The outcome of sweeping one stage or hold.
#[derive(Debug, Clone)]
pub enum SweepWrite {
    Entry {
        entry: SweepEntry,
        notices: Vec<NoticeWrite>,
        /// The deadline passed: mark the stage overdue (督办) and audit it.
        overdue: bool,
        /// With `overdue`: the deadline of the interim-message task it opens.
        interim_due: Option<DateTime<Utc>>,
        next_sweep_at: Option<DateTime<Utc>>,
    },
    Hold {
        hold: SweepHold,
        notice: NoticeWrite,
    },
}

/// What a `record_sweep` call wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepWritten {
    pub notices: u64,
    pub mails: u64,
    pub overdue: u64,
    /// Writes dropped because the stage changed, or another sweeper had
    /// already recorded the notice.
    pub skipped: u64,
}

impl std::ops::AddAssign for SweepWritten {
    fn add_assign(&mut self, o: Self) {
        self.notices += o.notices;
        self.mails += o.mails;
        self.overdue += o.overdue;
        self.skipped += o.skipped;
    }
}

pub(crate) async fn insert_mail(
    txn: &DatabaseTransaction,
    mail: &NewMail,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(outbox::Entity::insert(outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        dedupe_key: Set(mail.dedupe_key.clone()),
        recipient: Set(mail.recipient.clone()),
        subject: Set(mail.subject.clone()),
        body: Set(mail.body.clone()),
        created_at: Set(now),
        next_attempt_at: Set(now),
        attempts: Set(0),
        sent_at: Set(None),
        last_error: Set(None),
        failed_at: Set(None),
        case_id: Set(mail.case_id.map(|c| c.as_uuid())),
        kind: Set(Some(mail.kind.clone())),
    })
    .on_conflict(
        OnConflict::column(outbox::Column::DedupeKey)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?)
}

/// What a notice is about: a queue entry (or a hold, or a task) of a case.
pub(crate) struct About<'a> {
    pub(crate) id: Uuid,
    pub(crate) case: CaseId,
    /// The stage, `hold`, or `task:<kind>`.
    pub(crate) stage: &'a str,
    pub(crate) unit: &'a UnitId,
}

/// Records the notice in the ledger and, if it is new there, writes its
/// mails; `false` when another sweeper had already recorded it.
pub(crate) async fn write_notice(
    txn: &DatabaseTransaction,
    about: &About<'_>,
    n: &NoticeWrite,
    now: DateTime<Utc>,
    out: &mut SweepWritten,
) -> Result<bool, StoreError> {
    let mails = i32::try_from(n.mails.len()).unwrap_or(i32::MAX);
    let rows = notice::Entity::insert(notice::ActiveModel {
        entry_id: Set(about.id),
        kind: Set(n.kind.clone()),
        case_id: Set(about.case.as_uuid()),
        stage: Set(about.stage.to_owned()),
        unit_id: Set(about.unit.as_str().to_owned()),
        scheduled_at: Set(n.scheduled_at),
        recorded_at: Set(now),
        mails: Set(mails),
    })
    .on_conflict(
        OnConflict::columns([notice::Column::EntryId, notice::Column::Kind])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    if rows != 1 {
        out.skipped += 1;
        return Ok(false);
    }
    out.notices += 1;
    for mail in &n.mails {
        out.mails += insert_mail(txn, mail, now).await?;
    }
    Ok(true)
}

fn sweep_entry(m: queue_entry::Model) -> Result<SweepEntry, StoreError> {
    let bad = |what: &str| StoreError::Corrupt(format!("queue entry {}: bad {what}", m.id));
    Ok(SweepEntry {
        entry_id: m.id,
        case_id: CaseId::from_uuid(m.case_id),
        stage: m.stage.parse().map_err(|_| bad("stage"))?,
        unit: UnitId::parse(&m.unit_id).map_err(|_| bad("unit"))?,
        owner: m.owner_id,
        opened_at: m.opened_at,
        due_at: m.due_at,
        paused_until: m.paused_until,
        next_sweep_at: m.next_sweep_at.ok_or_else(|| bad("next sweep"))?,
    })
}

impl Store {
    /// Open stages whose next sweep falls at or before `now`, earliest first.
    pub async fn entries_to_sweep(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<SweepEntry>, StoreError> {
        queue_entry::Entity::find()
            .filter(queue_entry::Column::ClosedAt.is_null())
            .filter(queue_entry::Column::NextSweepAt.is_not_null())
            .filter(queue_entry::Column::NextSweepAt.lte(now))
            // Ties broken by id: two sweepers lock rows in one order.
            .order_by_asc(queue_entry::Column::NextSweepAt)
            .order_by_asc(queue_entry::Column::Id)
            .limit(limit)
            .all(self.conn())
            .await?
            .into_iter()
            .map(sweep_entry)
            .collect()
    }

    /// Holds whose notice is late or whose maximum passed, at `now`.
    pub async fn holds_to_sweep(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<SweepHold>, StoreError> {
        let late = hold::Entity::find()
            .filter(hold::Column::LiftedAt.is_null())
            .filter(hold::Column::ConfirmedAt.is_null())
            .filter(hold::Column::NoticeLateAt.is_null())
            .filter(hold::Column::NoticeDueAt.lte(now))
            .order_by_asc(hold::Column::NoticeDueAt)
            .limit(limit)
            .all(self.conn())
            .await?;
        let expired = hold::Entity::find()
            .filter(hold::Column::LiftedAt.is_null())
            .filter(hold::Column::EscalatedAt.is_null())
            .filter(hold::Column::MaxUntil.lte(now))
            .order_by_asc(hold::Column::MaxUntil)
            .limit(limit)
            .all(self.conn())
            .await?;
        let as_sweep = |m: hold::Model, check: HoldCheck| {
            Ok(SweepHold {
                hold_id: m.id,
                case_id: CaseId::from_uuid(m.case_id),
                unit: UnitId::parse(&m.unit_id)
                    .map_err(|_| StoreError::Corrupt(format!("hold {}: bad unit", m.id)))?,
                check,
                due_at: match check {
                    HoldCheck::NoticeLate => m.notice_due_at,
                    HoldCheck::Expired => m.max_until,
                },
            })
        };
        late.into_iter()
            .map(|m| as_sweep(m, HoldCheck::NoticeLate))
            .chain(expired.into_iter().map(|m| as_sweep(m, HoldCheck::Expired)))
            .collect()
    }

    /// The notice kinds already recorded for each of `entries`.
    pub async fn notices_recorded(
        &self,
        entries: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<String>>, StoreError> {
        let mut out: HashMap<Uuid, Vec<String>> = HashMap::new();
        for chunk in entries.chunks(500) {
            let rows = notice::Entity::find()
                .select_only()
                .column(notice::Column::EntryId)
                .column(notice::Column::Kind)
                .filter(notice::Column::EntryId.is_in(chunk.iter().copied()))
                .into_tuple::<(Uuid, String)>()
                .all(self.conn())
                .await?;
            for (id, kind) in rows {
                out.entry(id).or_default().push(kind);
            }
        }
        Ok(out)
    }

    /// Writes a batch of sweep results in one transaction.
    pub async fn record_sweep(
        &self,
        batch: &[SweepWrite],
        now: DateTime<Utc>,
    ) -> Result<SweepWritten, StoreError> {
        let mut out = SweepWritten::default();
        let txn = self.write_txn().await?;
        for write in batch {
            match write {
                SweepWrite::Entry {
                    entry,
                    notices,
                    overdue,
                    interim_due,
                    next_sweep_at,
                } => {
                    // Compare-and-set on the sweep time: a staff action since
                    // the read reset it, and this result is stale.
                    let current = queue_entry::Entity::update_many()
                        .col_expr(
                            queue_entry::Column::NextSweepAt,
                            Expr::value(*next_sweep_at),
                        )
                        .filter(queue_entry::Column::Id.eq(entry.entry_id))
                        .filter(queue_entry::Column::ClosedAt.is_null())
                        .filter(queue_entry::Column::NextSweepAt.eq(entry.next_sweep_at))
                        .exec(&txn)
                        .await?
                        .rows_affected
                        == 1;
                    if !current {
                        out.skipped += 1;
                        continue;
                    }
                    let stage = entry.stage.as_str();
                    let about = About {
                        id: entry.entry_id,
                        case: entry.case_id,
                        stage,
                        unit: &entry.unit,
                    };
                    for n in notices {
                        let fresh = write_notice(&txn, &about, n, now, &mut out).await?;
                        if fresh && *overdue && n.kind == "overdue" {
                            queue_entry::Entity::update_many()
                                .col_expr(queue_entry::Column::OverdueAt, Expr::value(now))
                                .filter(queue_entry::Column::Id.eq(entry.entry_id))
                                .exec(&txn)
                                .await?;
                            append(
                                &txn,
                                AuditRecord {
                                    actor: "system:sweeper".into(),
                                    action: "case.overdue".into(),
                                    unit: entry.unit.to_string(),
                                    case_id: entry.case_id.to_string(),
                                    detail: format!("stage={stage} due={}", entry.due_at),
                                },
                                now,
                            )
                            .await?;
                            out.overdue += 1;
                            if let Some(due) = interim_due {
                                let kind = sunlight_core::TaskKind::Interim;
                                open_task(&txn, entry.case_id, kind, &entry.unit, now, *due)
                                    .await?;
                            }
                        }
                    }
                }
                SweepWrite::Hold { hold, notice: n } => {
                    let mark = match hold.check {
                        HoldCheck::NoticeLate => hold::Column::NoticeLateAt,
                        HoldCheck::Expired => hold::Column::EscalatedAt,
                    };
                    let won = hold::Entity::update_many()
                        .col_expr(mark, Expr::value(now))
                        .filter(hold::Column::Id.eq(hold.hold_id))
                        .filter(mark.is_null())
                        .filter(hold::Column::LiftedAt.is_null())
                        .exec(&txn)
                        .await?
                        .rows_affected
                        == 1;
                    if !won {
                        out.skipped += 1;
                        continue;
                    }
                    let about = About {
                        id: hold.hold_id,
                        case: hold.case_id,
                        stage: "hold",
                        unit: &hold.unit,
                    };
                    write_notice(&txn, &about, n, now, &mut out).await?;
                    if hold.check == HoldCheck::Expired {
                        let unit = crate::audit::case_unit(&txn, hold.case_id).await?;
                        append(
                            &txn,
                            AuditRecord {
                                actor: "system:sweeper".into(),
                                action: "hold.escalated".into(),
                                unit,
                                case_id: hold.case_id.to_string(),
                                detail: format!("max_until={}", hold.due_at),
                            },
                            now,
                        )
                        .await?;
                    }
                }
            }
        }
        txn.commit().await?;
        Ok(out)
    }
}

impl Store {
    /// Benchmarks only: every open stage's next sweep moves to `later`,
    /// except the first `due` (by id), which fall due at `due_at`.
    pub async fn bench_schedule_sweeps(
        &self,
        due: u64,
        due_at: DateTime<Utc>,
        later: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        queue_entry::Entity::update_many()
            .col_expr(queue_entry::Column::NextSweepAt, Expr::value(later))
            .filter(queue_entry::Column::ClosedAt.is_null())
            .exec(self.conn())
            .await?;
        let ids: Vec<Uuid> = queue_entry::Entity::find()
            .select_only()
            .column(queue_entry::Column::Id)
            .filter(queue_entry::Column::ClosedAt.is_null())
            .order_by_asc(queue_entry::Column::Id)
            .limit(due)
            .into_tuple()
            .all(self.conn())
            .await?;
        for chunk in ids.chunks(500) {
            queue_entry::Entity::update_many()
                .col_expr(queue_entry::Column::NextSweepAt, Expr::value(due_at))
                .filter(queue_entry::Column::Id.is_in(chunk.iter().copied()))
                .exec(self.conn())
                .await?;
        }
        Ok(())
    }

    /// Benchmarks only: puts mails straight into the outbox.
    pub async fn bench_enqueue_mails(
        &self,
        mails: &[NewMail],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.write_txn().await?;
        for m in mails {
            insert_mail(&txn, m, now).await?;
        }
        txn.commit().await?;
        Ok(())
    }
}
