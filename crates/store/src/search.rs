//! The search's read of sealed reports (查询, 凡提必查): a jurisdiction's
//! cases, newest arrival first, in batches a caller opens and matches in
//! its session. Nothing about a report's content is indexed at rest.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use sunlight_core::{CaseId, CaseNumber, Outcome, Stage};
use uuid::Uuid;

use crate::cases::Jurisdiction;
use crate::entity::case;
use crate::{Store, StoreError};

/// How many cases one read brings: with the longest narratives (50,000
/// characters, about 150 KiB sealed) a batch stays under 75 MiB.
pub const SEARCH_BATCH: u64 = 500;

/// A case as the search reads it: its sealed report and what a hit lists.
#[derive(Clone)]
pub struct SearchRow {
    pub id: CaseId,
    pub stage: Stage,
    pub outcome: Option<Outcome>,
    pub number: Option<CaseNumber>,
    pub received_at: DateTime<Utc>,
    pub sealed_report: Vec<u8>,
}

impl std::fmt::Debug for SearchRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchRow")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Where the next batch starts: after this arrival and id.
pub type SearchCursor = (DateTime<Utc>, Uuid);

type Columns = (
    Uuid,
    String,
    Option<String>,
    Option<String>,
    Option<i32>,
    Option<i64>,
    DateTime<Utc>,
    Vec<u8>,
);

/// The columns a [`SearchRow`] is read from.
fn search_select() -> sea_orm::Select<case::Entity> {
    case::Entity::find().select_only().columns([
        case::Column::Id,
        case::Column::Stage,
        case::Column::Outcome,
        case::Column::NumberUnit,
        case::Column::NumberYear,
        case::Column::NumberSeq,
        case::Column::ReceivedAt,
        case::Column::SealedReport,
    ])
}

impl Store {
    /// The next batch of the cases of `units` (the member's jurisdiction or
    /// a subtree of it) after `after`, newest arrival first.
    pub async fn search_batch(
        &self,
        units: &Jurisdiction,
        after: Option<SearchCursor>,
        limit: u64,
    ) -> Result<Vec<SearchRow>, StoreError> {
        let mut q = search_select().filter(case::Column::UnitId.is_in(units.ids()));
        if let Some((at, id)) = after {
            // A row-value comparison, which both engines read as one range
            // of the `(received_at, id, …)` index: an `OR` of the two made
            // PostgreSQL start each batch from the newest case again.
            q = q.filter(
                Expr::tuple([
                    Expr::col(case::Column::ReceivedAt),
                    Expr::col(case::Column::Id),
                ])
                .lt(Expr::tuple([Expr::value(at), Expr::value(id)])),
            );
        }
        let rows: Vec<Columns> = q
            .order_by_desc(case::Column::ReceivedAt)
            .order_by_desc(case::Column::Id)
            .limit(limit)
            .into_tuple()
            .all(self.conn())
            .await?;
        rows.into_iter().map(search_row).collect()
    }
}

fn search_row(
    (id, stage, outcome, n_unit, n_year, n_seq, received_at, sealed_report): Columns,
) -> Result<SearchRow, StoreError> {
    let bad = |what: &str| StoreError::Corrupt(format!("case {id}: bad {what}"));
    let number =
        crate::numbers::number_from(n_unit.as_deref(), n_year, n_seq).map_err(|_| bad("number"))?;
    Ok(SearchRow {
        id: CaseId::from_uuid(id),
        stage: stage.parse().map_err(|_| bad("stage"))?,
        outcome: outcome
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|_| bad("outcome"))?,
        number,
        received_at,
        sealed_report,
    })
}

/// How many merge targets the case page offers.
pub const MERGE_CANDIDATES: u64 = 50;

impl Store {
    /// The open cases `case` may be merged into, newest first: those of
    /// its own unit and the units above it that lie in the member's
    /// jurisdiction (a merge into any other would widen who reads the
    /// merged report; the store refuses it anyway), itself excluded.
    pub async fn merge_candidates(
        &self,
        j: &Jurisdiction,
        case: CaseId,
        chain: &[sunlight_core::UnitId],
    ) -> Result<Vec<SearchRow>, StoreError> {
        let units: Vec<String> = chain
            .iter()
            .filter(|u| j.contains(u))
            .map(|u| u.as_str().to_owned())
            .collect();
        let rows: Vec<Columns> = search_select()
            .filter(case::Column::UnitId.is_in(units))
            .filter(case::Column::Stage.ne(Stage::Closed.as_str()))
            .filter(case::Column::Id.ne(case.as_uuid()))
            .order_by_desc(case::Column::ReceivedAt)
            .order_by_desc(case::Column::Id)
            .limit(MERGE_CANDIDATES)
            .into_tuple()
            .all(self.conn())
            .await?;
        rows.into_iter().map(search_row).collect()
    }
}
