//! Cases and their queue entries (messages: `messages.rs`; what a reporter
//! sees: `reporter.rs`). Every query that staff can reach
//! starts from a `Jurisdiction`, so a handler cannot forget the unit filter.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use sunlight_core::crypto::{CodeScheme, Suite};
use sunlight_core::log::{EnvelopesHasher, LeafRecord};
use sunlight_core::{
    AccusedRole, CaseId, CaseNumber, Category, Channel, SelectionStage, Stage, UnitId,
};
use uuid::Uuid;

use crate::attachments::{self, NewAttachment};
use crate::audit::{AuditRecord, append};
use crate::entity::{case, queue_entry};
use crate::error::Clash;
use crate::{Store, StoreError};

/// The units a staff member may see: their own and every unit below it.
/// Built only by the store from the unit tree.
#[derive(Debug, Clone)]
pub struct Jurisdiction {
    root: UnitId,
    units: BTreeSet<String>,
}

impl Jurisdiction {
    pub fn root(&self) -> &UnitId {
        &self.root
    }

    pub fn contains(&self, unit: &UnitId) -> bool {
        self.units.contains(unit.as_str())
    }

    pub(crate) fn ids(&self) -> Vec<String> {
        self.units.iter().cloned().collect()
    }
}

/// A case as it arrives: plain routing metadata and the sealed report.
#[derive(Clone)]
pub struct NewCase {
    pub id: CaseId,
    pub lookup_key: [u8; 32],
    pub unit: UnitId,
    pub addressed_unit: UnitId,
    pub category: Category,
    pub accused_role: AccusedRole,
    pub selection_stage: SelectionStage,
    pub channel: Channel,
    pub real_name: bool,
    pub received_at: DateTime<Utc>,
    pub sealed_report: Vec<u8>,
    /// The reporter's public key, so staff can seal answers to them.
    pub reporter_public_key: sunlight_core::crypto::UnitPublicKey,
    /// The first open stage and its deadline.
    pub first_entry: NewQueueEntry,
    /// The unit keys `sealed_report` (and its files) were sealed to, as
    /// read then: checked in the filing's transaction.
    pub sealed_to: crate::SealedTo,
}

/// Shows routing metadata only: never the lookup key or the sealed bytes.
impl std::fmt::Debug for NewCase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCase")
            .field("id", &self.id)
            .field("unit", &self.unit)
            .field("category", &self.category)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct NewQueueEntry {
    pub stage: Stage,
    pub due_at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct CaseRow {
    pub id: CaseId,
    pub unit: UnitId,
    pub addressed_unit: UnitId,
    pub category: Category,
    pub accused_role: AccusedRole,
    pub selection_stage: SelectionStage,
    pub channel: Channel,
    pub real_name: bool,
    pub stage: Stage,
    pub hold: bool,
    pub received_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub merged_into: Option<CaseId>,
    pub outcome: Option<sunlight_core::Outcome>,
    pub sealed_report: Vec<u8>,
    pub reporter_public_key: Option<sunlight_core::crypto::UnitPublicKey>,
    pub has_decision: bool,
    pub feedback_given: bool,
    pub transferred_by: Option<Uuid>,
    pub extension_days: Option<u32>,
    pub routed_at: Option<DateTime<Utc>>,
    /// Given once the arrival's day is over (`Store::number_cases`).
    pub number: Option<CaseNumber>,
    /// Reporter messages its staff have not opened yet.
    pub unread: u32,
    /// Rounds of feedback so far (a reopen starts a new one).
    pub round: i32,
    /// What a state write must still find (see `Store::record_transition`).
    pub version: i32,
    /// When the retention rule purged the sealed content.
    pub purged_at: Option<DateTime<Utc>>,
    /// Since when a legal hold keeps the content from purging.
    pub legal_hold_since: Option<DateTime<Utc>>,
    /// The unit whose supervisor set the hold (only it or a unit above
    /// lifts it).
    pub legal_hold_unit: Option<String>,
    pub disposition: sunlight_core::Disposition,
    pub verified_by: Option<Uuid>,
    pub specifics_asked: bool,
    pub referred_to: Option<sunlight_core::ReferralBody>,
}

impl std::fmt::Debug for CaseRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseRow")
            .field("id", &self.id)
            .field("unit", &self.unit)
            .field("stage", &self.stage)
            .field("sealed_report_bytes", &self.sealed_report.len())
            .finish_non_exhaustive()
    }
}

impl TryFrom<case::Model> for CaseRow {
    type Error = StoreError;
    fn try_from(m: case::Model) -> Result<Self, StoreError> {
        let bad = |what: &str| StoreError::Corrupt(format!("case {}: bad {what}", m.id));
        Ok(Self {
            id: CaseId::from_uuid(m.id),
            unit: UnitId::parse(&m.unit_id).map_err(|_| bad("unit"))?,
            addressed_unit: UnitId::parse(&m.addressed_unit_id)
                .map_err(|_| bad("addressed unit"))?,
            category: m.category.parse().map_err(|_| bad("category"))?,
            accused_role: m.accused_role.parse().map_err(|_| bad("accused role"))?,
            selection_stage: m
                .selection_stage
                .parse()
                .map_err(|_| bad("selection stage"))?,
            channel: m.channel.parse().map_err(|_| bad("channel"))?,
            stage: m.stage.parse().map_err(|_| bad("stage"))?,
            real_name: m.real_name,
            hold: m.hold,
            received_at: m.received_at,
            closed_at: m.closed_at,
            purged_at: m.purged_at,
            legal_hold_since: m.legal_hold_since,
            legal_hold_unit: m.legal_hold_unit.clone(),
            merged_into: m.merged_into.map(CaseId::from_uuid),
            outcome: m
                .outcome
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|_| bad("outcome"))?,
            reporter_public_key: m
                .reporter_public_key
                .as_deref()
                .map(sunlight_core::crypto::UnitPublicKey::from_slice)
                .transpose()
                .map_err(|_| bad("reporter key"))?,
            has_decision: m.has_decision,
            feedback_given: m.feedback_given,
            round: m.round,
            transferred_by: m.transferred_by,
            extension_days: m
                .extension_days
                .map(u32::try_from)
                .transpose()
                .map_err(|_| bad("extension"))?,
            routed_at: m.routed_at,
            number: crate::numbers::number_of(&m).map_err(|_| bad("number"))?,
            unread: u32::try_from(m.unread).map_err(|_| bad("unread"))?,
            version: m.version,
            disposition: m.disposition.parse().map_err(|_| bad("disposition"))?,
            verified_by: m.verified_by,
            specifics_asked: m.specifics_asked,
            referred_to: m
                .referred_to
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|_| bad("referral"))?,
            sealed_report: m.sealed_report,
        })
    }
}

#[derive(Debug, Clone)]
pub struct QueueRow {
    pub entry_id: Uuid,
    pub case_id: CaseId,
    pub unit: UnitId,
    pub stage: Stage,
    pub real_name: bool,
    pub due_at: DateTime<Utc>,
    pub owner: Option<Uuid>,
    pub opened_at: DateTime<Utc>,
    pub paused_until: Option<DateTime<Utc>>,
    pub extended: bool,
}

impl TryFrom<queue_entry::Model> for QueueRow {
    type Error = StoreError;
    fn try_from(m: queue_entry::Model) -> Result<Self, StoreError> {
        let bad = |what: &str| StoreError::Corrupt(format!("queue entry {}: bad {what}", m.id));
        Ok(Self {
            entry_id: m.id,
            case_id: CaseId::from_uuid(m.case_id),
            unit: UnitId::parse(&m.unit_id).map_err(|_| bad("unit"))?,
            stage: m.stage.parse().map_err(|_| bad("stage"))?,
            real_name: m.real_name,
            due_at: m.due_at,
            owner: m.owner_id,
            opened_at: m.opened_at,
            paused_until: m.paused_until,
            extended: m.extended,
        })
    }
}

impl Store {
    /// The jurisdiction rooted at `unit`: it and all units below it.
    pub async fn jurisdiction(&self, unit: &UnitId) -> Result<Jurisdiction, StoreError> {
        let all = self.units().await?;
        if !all.iter().any(|u| &u.id == unit) {
            return Err(StoreError::NotFound("unit"));
        }
        let mut units = BTreeSet::from([unit.as_str().to_owned()]);
        // The tree is at most three levels deep; a few passes settle it.
        loop {
            let before = units.len();
            for u in &all {
                if u.parent
                    .as_ref()
                    .is_some_and(|p| units.contains(p.as_str()))
                {
                    units.insert(u.id.as_str().to_owned());
                }
            }
            if units.len() == before {
                break;
            }
        }
        Ok(Jurisdiction {
            root: unit.clone(),
            units,
        })
    }

    /// Stores a new case, its first queue entry and an audit entry in one
    /// transaction: after `Ok`, the case is committed (and, on SQLite with
    /// `synchronous=FULL`, on disk).
    #[tracing::instrument(skip_all)]
    pub async fn insert_case(&self, new: NewCase) -> Result<LeafRecord, StoreError> {
        self.insert_case_with(new, Vec::new()).await
    }

    /// `insert_case` with the report's attachments, all in the same
    /// transaction with the case's leaf in the transparency log: the
    /// reporter's receipt covers the files too. Returns the leaf's record.
    /// A filing without files is committed together with the others
    /// waiting at that moment (`filing_batch.rs`); one with files, whose
    /// chunks are read as they are written, alone.
    #[tracing::instrument(skip_all)]
    pub async fn insert_case_with(
        &self,
        new: NewCase,
        attachments: Vec<NewAttachment>,
    ) -> Result<LeafRecord, StoreError> {
        if attachments.is_empty() {
            return self.file_in_turn(new).await;
        }
        let suite = self.log_suite().await?;
        let txn = self.write_txn().await?;
        let leaf = insert_case_in(self, &txn, suite, &new, attachments).await?;
        txn.commit().await?;
        Ok(leaf)
    }

    /// For the reporter: the case behind a stretched tracking code. Not
    /// scoped by unit — possession of the code is the authorisation.
    pub async fn case_by_lookup_key(
        &self,
        lookup_key: &[u8; 32],
    ) -> Result<Option<CaseRow>, StoreError> {
        case_by_lookup_key_on(self.reader(), lookup_key).await
    }

    /// The code schemes of the cases a reporter can still look up: a
    /// missed lookup is tried in each besides the deployment's own (scheme
    /// 1 for cases filed before browser sealing, 2 or 3 after a move
    /// between cipher suites).
    pub async fn code_schemes_in_use(&self) -> Result<Vec<CodeScheme>, StoreError> {
        // A purged case keeps its row but nothing a reporter could read:
        // it does not hold a fallback open.
        let found: Vec<i16> = case::Entity::find()
            .select_only()
            .column(case::Column::CodeScheme)
            .distinct()
            .filter(case::Column::PurgedAt.is_null())
            .into_tuple()
            .all(self.conn())
            .await?;
        found
            .into_iter()
            .map(|n| {
                CodeScheme::from_i16(n)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown code scheme {n}")))
            })
            .collect()
    }

    /// A case, if it lies in the jurisdiction; `None` otherwise.
    pub async fn case_in(
        &self,
        j: &Jurisdiction,
        id: CaseId,
    ) -> Result<Option<CaseRow>, StoreError> {
        case::Entity::find_by_id(id.as_uuid())
            .filter(case::Column::UnitId.is_in(j.ids()))
            .one(self.conn())
            .await?
            .map(CaseRow::try_from)
            .transpose()
    }

    /// Open entries of one stage in the jurisdiction: real-name reports
    /// first, then by deadline.
    pub async fn queue(&self, j: &Jurisdiction, stage: Stage) -> Result<Vec<QueueRow>, StoreError> {
        queue_entry::Entity::find()
            .filter(queue_entry::Column::UnitId.is_in(j.ids()))
            .filter(queue_entry::Column::Stage.eq(stage.as_str()))
            .filter(queue_entry::Column::ClosedAt.is_null())
            .order_by_desc(queue_entry::Column::RealName)
            .order_by_asc(queue_entry::Column::DueAt)
            .all(self.conn())
            .await?
            .into_iter()
            .map(QueueRow::try_from)
            .collect()
    }

    /// Takes ownership of a case's open entry if nobody owns it. A single
    /// conditional UPDATE, so two staff (or processes) racing for the same
    /// case cannot both win, on either database. Returns whether it won.
    pub async fn claim(
        &self,
        j: &Jurisdiction,
        id: CaseId,
        staff: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.write_txn().await?;
        let res = queue_entry::Entity::update_many()
            .col_expr(queue_entry::Column::OwnerId, Expr::value(staff))
            .col_expr(queue_entry::Column::ClaimedAt, Expr::value(now))
            .filter(queue_entry::Column::OpenCaseId.eq(id.as_uuid()))
            .filter(queue_entry::Column::UnitId.is_in(j.ids()))
            .filter(queue_entry::Column::OwnerId.is_null())
            .exec(&txn)
            .await?;
        let won = res.rows_affected == 1;
        if won {
            append(
                &txn,
                AuditRecord {
                    actor: format!("staff:{staff}"),
                    action: "case.claim".into(),
                    unit: j.root().to_string(),
                    case_id: id.to_string(),
                    ..Default::default()
                },
                now,
            )
            .await?;
        }
        txn.commit().await?;
        Ok(won)
    }

    /// Ids of the newest cases, newest first (operators' checks and tests;
    /// not scoped, so never reachable from a staff request).
    pub async fn recent_case_ids(&self, limit: u64) -> Result<Vec<CaseId>, StoreError> {
        use sea_orm::QuerySelect;
        Ok(case::Entity::find()
            .select_only()
            .column(case::Column::Id)
            .order_by_desc(case::Column::ReceivedAt)
            .limit(limit)
            .into_tuple::<Uuid>()
            .all(self.conn())
            .await?
            .into_iter()
            .map(CaseId::from_uuid)
            .collect())
    }

    /// Counts of cases and open queue entries, for crash checks and backups.
    pub async fn counts(&self) -> Result<(u64, u64), StoreError> {
        use sea_orm::PaginatorTrait;
        let cases = case::Entity::find().count(self.conn()).await?;
        let open = queue_entry::Entity::find()
            .filter(queue_entry::Column::ClosedAt.is_null())
            .count(self.conn())
            .await?;
        Ok((cases, open))
    }
}

/// A new case, its first queue entry, its files, its leaf in the
/// transparency log and its audit entry, inside the caller's transaction
/// of `store`.
pub(crate) async fn insert_case_in(
    store: &Store,
    txn: &DatabaseTransaction,
    suite: Suite,
    new: &NewCase,
    attachments: Vec<NewAttachment>,
) -> Result<LeafRecord, StoreError> {
    let mut log = EnvelopesHasher::new(suite);
    log.part(&new.sealed_report);
    case::Entity::insert(new_case_model(new))
        .exec_without_returning(txn)
        .await
        .map_err(|e| StoreError::unique(e, Clash::Exists("case")))?;
    queue_entry::Entity::insert(first_entry_model(new))
        .exec_without_returning(txn)
        .await?;
    attachments::insert_all(txn, new.id, None, attachments, new.received_at, &mut log).await?;
    let day = crate::log::log_day(new.received_at);
    let leaf = crate::log::append_leaf(txn, suite, log, day, new.id, None).await?;
    let (received, at) = received_record(new);
    append(txn, received, at).await?;
    if !store.keys_still_current(txn, [&new.sealed_to]).await? {
        return Err(StoreError::Conflict(Clash::KeyChanged));
    }
    Ok(leaf)
}

/// A new case's first queue entry.
pub(crate) fn first_entry_model(new: &NewCase) -> queue_entry::ActiveModel {
    let id = new.id.as_uuid();
    queue_entry::ActiveModel {
        id: Set(Uuid::new_v4()),
        case_id: Set(id),
        open_case_id: Set(Some(id)),
        stage: Set(new.first_entry.stage.as_str().to_owned()),
        unit_id: Set(new.unit.as_str().to_owned()),
        real_name: Set(new.real_name),
        opened_at: Set(new.received_at),
        due_at: Set(new.first_entry.due_at),
        closed_at: Set(None),
        owner_id: Set(None),
        claimed_at: Set(None),
        paused_until: Set(None),
        extended: Set(false),
        paused_at: Set(None),
        next_sweep_at: Set(Some(new.received_at)),
        overdue_at: Set(None),
    }
}

/// A new case's audit entry, "received through its channel", and its time.
pub(crate) fn received_record(new: &NewCase) -> (AuditRecord, DateTime<Utc>) {
    let record = AuditRecord {
        actor: format!("channel:{}", new.channel),
        action: "case.received".into(),
        unit: new.unit.to_string(),
        case_id: new.id.as_uuid().to_string(),
        ..Default::default()
    };
    (record, new.received_at)
}

/// The row of a case as it arrives: routing metadata, sealed report, and
/// every later field at its starting value.
pub(crate) fn new_case_model(new: &NewCase) -> case::ActiveModel {
    let id = new.id.as_uuid();
    case::ActiveModel {
        id: Set(id),
        lookup_key: Set(new.lookup_key.to_vec()),
        // A new case's code is of scheme 2 or 3, told apart by the kind of
        // reporter key it yields (X25519 or SM2).
        code_scheme: Set(CodeScheme::of(new.reporter_public_key.suite()).as_i16()),
        unit_id: Set(new.unit.as_str().to_owned()),
        addressed_unit_id: Set(new.addressed_unit.as_str().to_owned()),
        category: Set(new.category.as_str().to_owned()),
        accused_role: Set(new.accused_role.as_str().to_owned()),
        selection_stage: Set(new.selection_stage.as_str().to_owned()),
        channel: Set(new.channel.as_str().to_owned()),
        real_name: Set(new.real_name),
        stage: Set(new.first_entry.stage.as_str().to_owned()),
        hold: Set(false),
        received_at: Set(new.received_at),
        closed_at: Set(None),
        merged_into: Set(None),
        outcome: Set(None),
        sealed_report: Set(new.sealed_report.clone()),
        reporter_public_key: Set(Some(new.reporter_public_key.as_bytes().to_vec())),
        has_decision: Set(false),
        feedback_given: Set(false),
        transferred_by: Set(None),
        extension_days: Set(None),
        routed_at: Set(None),
        number_unit: Set(None),
        number_year: Set(None),
        number_seq: Set(None),
        unread: Set(0),
        round: Set(0),
        version: Set(0),
        purged_at: Set(None),
        legal_hold_since: Set(None),
        legal_hold_unit: Set(None),
        legal_hold_lifted_at: Set(None),
        disposition: Set(sunlight_core::Disposition::Open.as_str().to_owned()),
        verified_by: Set(None),
        specifics_asked: Set(false),
        referred_to: Set(None),
    }
}

/// [`Store::case_by_lookup_key`] on a given connection or transaction.
pub(crate) async fn case_by_lookup_key_on(
    db: &impl ConnectionTrait,
    lookup_key: &[u8; 32],
) -> Result<Option<CaseRow>, StoreError> {
    case::Entity::find()
        .filter(case::Column::LookupKey.eq(lookup_key.to_vec()))
        .one(db)
        .await?
        .map(CaseRow::try_from)
        .transpose()
}
