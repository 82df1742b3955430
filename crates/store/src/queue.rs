//! The queue view: a stage's open entries in a jurisdiction, by deadline, and a case with its open entry.

use crate::cases::{CaseRow, Jurisdiction, QueueRow};
use crate::entity::{case, queue_entry};
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use sunlight_core::{CaseId, CaseNumber, Category, Stage, UnitId};
use uuid::Uuid;

/// A queue line: the entry, the case's category and number.
#[derive(Debug, Clone)]
pub struct QueueItem {
    pub entry: QueueRow,
    pub category: Category,
    pub number: Option<CaseNumber>,
    /// Reporter messages the case's staff have not opened yet.
    pub unread: u32,
}

/// Filters of a queue listing.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Only this unit (must lie in the jurisdiction).
    pub unit: Option<UnitId>,
    pub category: Option<Category>,
    /// Only entries due before this instant (overdue lists).
    pub due_before: Option<DateTime<Utc>>,
    pub limit: u64,
    /// This member's own cases with unread reporter messages first.
    pub unread_first_for: Option<Uuid>,
}

impl Store {
    /// A case and its open queue entry, if the case lies in the jurisdiction.
    pub async fn case_with_entry(
        &self,
        j: &Jurisdiction,
        id: CaseId,
    ) -> Result<Option<(CaseRow, Option<QueueRow>)>, StoreError> {
        let Some(case) = self.case_in(j, id).await? else {
            return Ok(None);
        };
        let entry = queue_entry::Entity::find()
            .filter(queue_entry::Column::OpenCaseId.eq(id.as_uuid()))
            .one(self.conn())
            .await?
            .map(QueueRow::try_from)
            .transpose()?;
        Ok(Some((case, entry)))
    }

    /// Open entries of one stage in the jurisdiction, real-name reports
    /// first, then by deadline; at most `filter.limit` (default 200).
    pub async fn queue_items(
        &self,
        j: &Jurisdiction,
        stage: Stage,
        filter: &QueueFilter,
    ) -> Result<Vec<QueueItem>, StoreError> {
        let units: Vec<String> = match &filter.unit {
            Some(u) if j.contains(u) => vec![u.as_str().to_owned()],
            Some(_) => return Ok(Vec::new()),
            None => j.ids(),
        };
        let limit = if filter.limit == 0 {
            200
        } else {
            filter.limit.min(1000)
        };
        let open = || {
            let mut q = queue_entry::Entity::find()
                .filter(queue_entry::Column::UnitId.is_in(units.clone()))
                .filter(queue_entry::Column::Stage.eq(stage.as_str()))
                .filter(queue_entry::Column::ClosedAt.is_null());
            if let Some(before) = filter.due_before {
                q = q.filter(queue_entry::Column::DueAt.lt(before));
            }
            q
        };
        // A join, so the listing still walks the ordered index and probes
        // each case by key, stopping at the page size.
        let with_case = |q: sea_orm::Select<queue_entry::Entity>| {
            q.join(
                sea_orm::JoinType::InnerJoin,
                queue_entry::Entity::belongs_to(case::Entity)
                    .from(queue_entry::Column::CaseId)
                    .to(case::Column::Id)
                    .into(),
            )
        };
        let mut q = open();
        if let Some(cat) = filter.category {
            q = with_case(q).filter(case::Column::Category.eq(cat.as_str()));
        }
        let listed = q
            .order_by_desc(queue_entry::Column::RealName)
            .order_by_asc(queue_entry::Column::DueAt)
            .limit(limit)
            .all(self.conn())
            .await?;
        // The member's own cases with unread reporter messages come first
        // (few: an owner's cases), whatever their place in the listing.
        let mut entries = match filter.unread_first_for {
            Some(me) => {
                let mut q = with_case(open())
                    .filter(queue_entry::Column::OwnerId.eq(me))
                    .filter(case::Column::Unread.gt(0));
                if let Some(cat) = filter.category {
                    q = q.filter(case::Column::Category.eq(cat.as_str()));
                }
                q.order_by_asc(queue_entry::Column::DueAt)
                    .limit(limit)
                    .all(self.conn())
                    .await?
            }
            None => Vec::new(),
        };
        let first: std::collections::HashSet<Uuid> = entries.iter().map(|e| e.id).collect();
        entries.extend(listed.into_iter().filter(|e| !first.contains(&e.id)));
        entries.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let entries: Vec<QueueRow> = entries
            .into_iter()
            .map(QueueRow::try_from)
            .collect::<Result<_, _>>()?;
        self.items_of(entries).await
    }

    /// Each entry with its case's category, number and unread count.
    async fn items_of(&self, entries: Vec<QueueRow>) -> Result<Vec<QueueItem>, StoreError> {
        let ids: Vec<Uuid> = entries.iter().map(|e| e.case_id.as_uuid()).collect();
        // Only the columns shown: never the sealed report of 1000 cases.
        type Line = (Uuid, String, Option<String>, Option<i32>, Option<i64>, i32);
        let cases: std::collections::HashMap<Uuid, Line> = case::Entity::find()
            .select_only()
            .column(case::Column::Id)
            .column(case::Column::Category)
            .column(case::Column::NumberUnit)
            .column(case::Column::NumberYear)
            .column(case::Column::NumberSeq)
            .column(case::Column::Unread)
            .filter(case::Column::Id.is_in(ids))
            .into_tuple::<Line>()
            .all(self.conn())
            .await?
            .into_iter()
            .map(|c| (c.0, c))
            .collect();
        entries
            .into_iter()
            .map(|entry| {
                let bad =
                    |what: &str| StoreError::Corrupt(format!("case {}: bad {what}", entry.case_id));
                let case = cases
                    .get(&entry.case_id.as_uuid())
                    .ok_or_else(|| bad("queue entry"))?;
                let category = case.1.parse().map_err(|_| bad("category"))?;
                let number = crate::numbers::number_from(case.2.as_deref(), case.3, case.4)
                    .map_err(|_| bad("number"))?;
                let unread = u32::try_from(case.5).map_err(|_| bad("unread"))?;
                Ok(QueueItem {
                    entry,
                    category,
                    number,
                    unread,
                })
            })
            .collect()
    }
}
