//! The register (登记簿): every case of a jurisdiction, open and closed,
//! filtered, newest arrival first, a page at a time with the true total.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, Query},
};
use sunlight_core::{CaseId, CaseNumber, Category, Channel, Disposition, Outcome, Stage, UnitId};
use uuid::Uuid;

use crate::cases::{Jurisdiction, QueueRow};
use crate::entity::{case, queue_entry};
use crate::{Store, StoreError};

/// Lines per page of the register.
pub const REGISTER_PAGE: u64 = 50;

/// What a register listing keeps; every field narrows it.
#[derive(Debug, Clone, Default)]
pub struct RegisterFilter {
    /// The cases of these units only (a subtree of the jurisdiction,
    /// from [`Store::jurisdiction`]).
    pub units: Option<Jurisdiction>,
    pub stage: Option<Stage>,
    pub category: Option<Category>,
    pub channel: Option<Channel>,
    pub real_name: Option<bool>,
    pub outcome: Option<Outcome>,
    pub disposition: Option<Disposition>,
    /// Arrived at or after this instant.
    pub received_from: Option<DateTime<Utc>>,
    /// Arrived before this instant.
    pub received_before: Option<DateTime<Utc>>,
    /// Owned now (on the open stage) by this member.
    pub owner: Option<Uuid>,
    pub number: Option<CaseNumber>,
    /// From 1.
    pub page: u64,
}

/// A case as the register lists it: routing metadata, never the report.
#[derive(Debug, Clone)]
pub struct RegisterCase {
    pub id: CaseId,
    pub number: Option<CaseNumber>,
    pub unit: UnitId,
    pub category: Category,
    pub channel: Channel,
    pub real_name: bool,
    pub stage: Stage,
    pub outcome: Option<Outcome>,
    pub disposition: Disposition,
    pub received_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The open stage's entry: deadline and owner (none once closed).
    pub entry: Option<QueueRow>,
    /// Reporter messages its staff have not opened yet.
    pub unread: u32,
}

/// One page of the register.
#[derive(Debug, Clone)]
pub struct RegisterPage {
    /// Every case the filter keeps, on all pages.
    pub total: u64,
    pub page: u64,
    pub cases: Vec<RegisterCase>,
}

#[derive(Debug, FromQueryResult)]
struct Line {
    id: Uuid,
    unit_id: String,
    category: String,
    channel: String,
    real_name: bool,
    stage: String,
    outcome: Option<String>,
    disposition: String,
    received_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    number_unit: Option<String>,
    number_year: Option<i32>,
    number_seq: Option<i64>,
    unread: i32,
}

impl Store {
    /// Page `filter.page` of the jurisdiction's cases the filter keeps,
    /// newest arrival first (then by id, so pages never overlap).
    pub async fn register(
        &self,
        j: &Jurisdiction,
        filter: &RegisterFilter,
    ) -> Result<RegisterPage, StoreError> {
        let total = if counted(filter) {
            self.counted_total(j, filter).await?
        } else {
            // A date range, an owner or a number: the rows themselves
            // (each narrows them through an index).
            let cond = conditions(j, filter, false);
            case::Entity::find().filter(cond).count(self.conn()).await?
        };
        // A few thousand lines are sorted at once; more are found faster
        // in display order (see `conditions`).
        let walk = self.backend() == DbBackend::Sqlite && total > 2000;
        let page_cond = conditions(j, filter, walk);
        let page = filter.page.max(1);
        let lines = case::Entity::find()
            .select_only()
            .columns([
                case::Column::Id,
                case::Column::UnitId,
                case::Column::Category,
                case::Column::Channel,
                case::Column::RealName,
                case::Column::Stage,
                case::Column::Outcome,
                case::Column::Disposition,
                case::Column::ReceivedAt,
                case::Column::ClosedAt,
                case::Column::NumberUnit,
                case::Column::NumberYear,
                case::Column::NumberSeq,
                case::Column::Unread,
            ])
            .filter(page_cond)
            .order_by_desc(case::Column::ReceivedAt)
            .order_by_desc(case::Column::Id)
            .offset((page - 1).saturating_mul(REGISTER_PAGE))
            .limit(REGISTER_PAGE)
            .into_model::<Line>()
            .all(self.conn())
            .await?;
        let ids: Vec<Uuid> = lines.iter().map(|l| l.id).collect();
        let mut entries = self.open_entries(ids).await?;
        let cases = lines
            .into_iter()
            .map(|l| {
                let entry = entries.remove(&l.id);
                l.into_case(entry)
            })
            .collect::<Result<_, _>>()?;
        Ok(RegisterPage { total, page, cases })
    }
}

/// Whether the filter's total is a sum of `register_counts` (kept by
/// triggers per unit, stage, category, channel, real name and outcome).
/// A disposition is counted from the rows, through `ix_cases_disposition`.
fn counted(filter: &RegisterFilter) -> bool {
    filter.disposition.is_none()
        && filter.received_from.is_none()
        && filter.received_before.is_none()
        && filter.owner.is_none()
        && filter.number.is_none()
}

impl Store {
    /// The total from the counts: a sum over at most units × stages ×
    /// categories × channels × 2 × outcomes rows, however many cases.
    async fn counted_total(
        &self,
        j: &Jurisdiction,
        filter: &RegisterFilter,
    ) -> Result<u64, StoreError> {
        let col = |name: &str| Expr::col(sea_orm::sea_query::Alias::new(name));
        let mut q = Query::select();
        q.expr(Expr::cust("CAST(COALESCE(SUM(n), 0) AS BIGINT)"))
            .from(sea_orm::sea_query::Alias::new("register_counts"))
            .and_where(sea_orm::sea_query::ExprTrait::is_in(
                col("unit_id"),
                unit_ids(j, filter),
            ));
        let eq = |name: &str, v: sea_orm::Value| sea_orm::sea_query::ExprTrait::eq(col(name), v);
        if let Some(v) = filter.stage {
            q.and_where(eq("stage", v.as_str().into()));
        }
        if let Some(v) = filter.category {
            q.and_where(eq("category", v.as_str().into()));
        }
        if let Some(v) = filter.channel {
            q.and_where(eq("channel", v.as_str().into()));
        }
        if let Some(v) = filter.real_name {
            q.and_where(eq("real_name", v.into()));
        }
        if let Some(v) = filter.outcome {
            q.and_where(eq("outcome", v.as_str().into()));
        }
        let backend = self.backend();
        let row = self
            .conn()
            .query_one_raw(backend.build(&q))
            .await?
            .ok_or(StoreError::NotFound("register total"))?;
        let n: i64 = row.try_get_by_index(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The open queue entries of these cases, by case.
    async fn open_entries(
        &self,
        ids: Vec<Uuid>,
    ) -> Result<std::collections::HashMap<Uuid, QueueRow>, StoreError> {
        queue_entry::Entity::find()
            .filter(queue_entry::Column::OpenCaseId.is_in(ids))
            .all(self.conn())
            .await?
            .into_iter()
            .map(|m| QueueRow::try_from(m).map(|r| (r.case_id.as_uuid(), r)))
            .collect()
    }
}

/// The caller's units, narrowed to the filter's subtree.
fn unit_ids(j: &Jurisdiction, filter: &RegisterFilter) -> Vec<String> {
    let mut units = j.ids();
    if let Some(sub) = &filter.units {
        let below = sub.ids();
        units.retain(|u| below.contains(u));
    }
    units
}

/// Every filter as one condition, the caller's units always among them.
fn conditions(j: &Jurisdiction, filter: &RegisterFilter, sqlite_page: bool) -> Condition {
    let units = unit_ids(j, filter);
    // SQLite takes the unit index for an IN list and then sorts every case
    // of the jurisdiction to return 50 (270 ms at 100,000). `+unit_id`
    // keeps it off that index, so it walks `ix_cases_register` in display
    // order and stops at the page: right when the cases kept are many, a
    // long walk when they are few (so `register` asks for it past 2,000).
    // PostgreSQL's planner weighs both itself.
    let unit_term = if sqlite_page {
        sea_orm::sea_query::ExprTrait::is_in(Expr::cust("+\"unit_id\""), units)
    } else {
        case::Column::UnitId.is_in(units)
    };
    let mut cond = Condition::all().add(unit_term);
    if let Some(v) = filter.stage {
        cond = cond.add(case::Column::Stage.eq(v.as_str()));
    }
    if let Some(v) = filter.category {
        cond = cond.add(case::Column::Category.eq(v.as_str()));
    }
    if let Some(v) = filter.channel {
        cond = cond.add(case::Column::Channel.eq(v.as_str()));
    }
    if let Some(v) = filter.real_name {
        cond = cond.add(case::Column::RealName.eq(v));
    }
    if let Some(v) = filter.outcome {
        cond = cond.add(case::Column::Outcome.eq(v.as_str()));
    }
    if let Some(v) = filter.disposition {
        cond = cond.add(case::Column::Disposition.eq(v.as_str()));
    }
    if let Some(v) = filter.received_from {
        cond = cond.add(case::Column::ReceivedAt.gte(v));
    }
    if let Some(v) = filter.received_before {
        cond = cond.add(case::Column::ReceivedAt.lt(v));
    }
    if let Some(n) = &filter.number {
        cond = cond
            .add(case::Column::NumberUnit.eq(n.unit.as_str()))
            .add(case::Column::NumberYear.eq(n.year))
            .add(case::Column::NumberSeq.eq(i64::from(n.seq)));
    }
    if let Some(owner) = filter.owner {
        cond = cond.add(
            case::Column::Id.in_subquery(
                Query::select()
                    .column(queue_entry::Column::OpenCaseId)
                    .from(queue_entry::Entity)
                    .and_where(queue_entry::Column::OwnerId.eq(owner))
                    .and_where(queue_entry::Column::OpenCaseId.is_not_null())
                    .to_owned(),
            ),
        );
    }
    cond
}

impl Line {
    fn into_case(self, entry: Option<QueueRow>) -> Result<RegisterCase, StoreError> {
        let bad = |what: &str| StoreError::Corrupt(format!("case {}: bad {what}", self.id));
        Ok(RegisterCase {
            id: CaseId::from_uuid(self.id),
            number: crate::numbers::number_from(
                self.number_unit.as_deref(),
                self.number_year,
                self.number_seq,
            )
            .map_err(|_| bad("number"))?,
            unit: UnitId::parse(&self.unit_id).map_err(|_| bad("unit"))?,
            category: self.category.parse().map_err(|_| bad("category"))?,
            channel: self.channel.parse().map_err(|_| bad("channel"))?,
            real_name: self.real_name,
            stage: self.stage.parse().map_err(|_| bad("stage"))?,
            outcome: self
                .outcome
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|_| bad("outcome"))?,
            disposition: self.disposition.parse().map_err(|_| bad("disposition"))?,
            received_at: self.received_at,
            closed_at: self.closed_at,
            entry,
            unread: u32::try_from(self.unread).map_err(|_| bad("unread"))?,
        })
    }
}
