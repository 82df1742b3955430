//! Case histories written straight into the tables, for `sunlight bench`
//! (a million cases in minutes) and the statistics tests (histories against
//! a brute-force count). Not a filing path: nothing here seals, routes or
//! audits, so the application never calls it.

use chrono::{DateTime, Utc};

use sea_orm::{ActiveValue::Set, EntityTrait};

use uuid::Uuid;

use crate::entity::{case, queue_entry};
use crate::{NewCase, Store, StoreError};

/// A stage of a seeded case.
#[derive(Debug, Clone)]
pub struct SeedStage {
    pub stage: sunlight_core::Stage,
    pub unit: sunlight_core::UnitId,
    pub opened_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// At most one stage of a case may be open.
    pub closed_at: Option<DateTime<Utc>>,
}

/// A whole case history written straight into the tables, for the
/// statistics tests and `sunlight bench`: what the state machine would have
/// left behind, without replaying it.
#[derive(Debug, Clone)]
pub struct SeedCase {
    pub id: sunlight_core::CaseId,
    pub unit: sunlight_core::UnitId,
    pub category: sunlight_core::Category,
    pub channel: sunlight_core::Channel,
    pub received_at: DateTime<Utc>,
    pub routed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub outcome: Option<sunlight_core::Outcome>,
    /// Merged into the case before it in the same batch (closed, not counted).
    pub merged: bool,
    /// How it was disposed of; `merged` must agree with it.
    pub disposition: sunlight_core::Disposition,
    pub stages: Vec<SeedStage>,
    /// History rows: the action name as stored (`verified`, `feedback_given`…).
    pub steps: Vec<(String, DateTime<Utc>)>,
    pub holds: Vec<(sunlight_core::UnitId, DateTime<Utc>)>,
}

/// Writes seeded histories in one transaction.
pub async fn seed_cases(store: &Store, cases: &[SeedCase]) -> Result<(), StoreError> {
    use sea_orm::{ActiveValue::Set, EntityTrait};

    use crate::entity::{case, hold, queue_entry, transition};

    let txn = store.write_txn().await?;
    let mut previous: Option<uuid::Uuid> = None;
    let mut rows = Vec::new();
    for c in cases {
        let id = c.id.as_uuid();
        let seq = u64::from_le_bytes(id.as_bytes()[8..16].try_into().unwrap_or_default());
        let mut lookup_key = [0u8; 32];
        lookup_key[..16].copy_from_slice(id.as_bytes());
        lookup_key[16..24].copy_from_slice(&seq.to_le_bytes());
        let stage = if c.closed_at.is_some() {
            sunlight_core::Stage::Closed
        } else {
            c.stages
                .iter()
                .find(|s| s.closed_at.is_none())
                .map_or(sunlight_core::Stage::Received, |s| s.stage)
        };
        rows.push(case::ActiveModel {
            id: Set(id),
            lookup_key: Set(lookup_key.to_vec()),
            // Every case this version stores has a scheme-2 code.
            code_scheme: Set(2),
            unit_id: Set(c.unit.as_str().to_owned()),
            addressed_unit_id: Set(c.unit.as_str().to_owned()),
            category: Set(c.category.as_str().to_owned()),
            accused_role: Set("ordinary".to_owned()),
            selection_stage: Set("none".to_owned()),
            channel: Set(c.channel.as_str().to_owned()),
            real_name: Set(false),
            stage: Set(stage.as_str().to_owned()),
            hold: Set(false),
            received_at: Set(c.received_at),
            closed_at: Set(c.closed_at),
            merged_into: Set(if c.merged { previous } else { None }),
            outcome: Set(c.outcome.map(|o| o.as_str().to_owned())),
            sealed_report: Set(vec![0xA5; 64]),
            reporter_public_key: Set(Some(vec![7; 32])),
            has_decision: Set(c.closed_at.is_some()),
            feedback_given: Set(c.steps.iter().any(|(a, _)| a == "feedback_given")),
            transferred_by: Set(None),
            extension_days: Set(None),
            routed_at: Set(c.routed_at),
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
            disposition: Set(c.disposition.as_str().to_owned()),
            verified_by: Set(None),
            specifics_asked: Set(false),
            referred_to: Set(None),
        });
        previous = Some(id);
    }
    for chunk in rows.chunks(200) {
        case::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    let entries: Vec<_> = cases
        .iter()
        .flat_map(|c| {
            c.stages.iter().map(|s| queue_entry::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                case_id: Set(c.id.as_uuid()),
                open_case_id: Set(s.closed_at.is_none().then(|| c.id.as_uuid())),
                stage: Set(s.stage.as_str().to_owned()),
                unit_id: Set(s.unit.as_str().to_owned()),
                real_name: Set(false),
                opened_at: Set(s.opened_at),
                due_at: Set(s.due_at),
                closed_at: Set(s.closed_at),
                owner_id: Set(None),
                claimed_at: Set(None),
                paused_until: Set(None),
                extended: Set(false),
                paused_at: Set(None),
                next_sweep_at: Set(s.closed_at.is_none().then_some(s.due_at)),
                overdue_at: Set(None),
            })
        })
        .collect();
    for chunk in entries.chunks(200) {
        queue_entry::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    let steps: Vec<_> = cases
        .iter()
        .flat_map(|c| {
            c.steps.iter().map(|(action, at)| transition::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                case_id: Set(c.id.as_uuid()),
                from_stage: Set("verify".to_owned()),
                to_stage: Set("verify".to_owned()),
                action: Set(action.clone()),
                actor_id: Set(None),
                sealed_note: Set(None),
                reporter_visible: Set(false),
                at: Set(*at),
            })
        })
        .collect();
    for chunk in steps.chunks(200) {
        transition::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    let holds: Vec<_> = cases
        .iter()
        .flat_map(|c| {
            c.holds.iter().map(|(unit, at)| hold::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                case_id: Set(c.id.as_uuid()),
                unit_id: Set(unit.as_str().to_owned()),
                opened_at: Set(*at),
                notice_due_at: Set(*at + chrono::Duration::days(3)),
                max_until: Set(*at + chrono::Duration::days(90)),
                confirmed_at: Set(Some(*at)),
                confirmed_by: Set(None),
                sealed_notice_to: Set(None),
                lifted_at: Set(None),
                escalated_at: Set(None),
                notice_late_at: Set(None),
            })
        })
        .collect();
    for chunk in holds.chunks(200) {
        hold::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

impl Store {
    /// Refreshes the planner's statistics after a bulk load (PostgreSQL
    /// does this by itself in time; a benchmark cannot wait).
    pub async fn analyze(&self) -> Result<(), StoreError> {
        use sea_orm::ConnectionTrait;
        self.conn().execute_unprepared("ANALYZE").await?;
        Ok(())
    }

    /// Inserts many cases and their first queue entries in one transaction,
    /// without audit entries: for seeding benchmarks (`sunlight bench`)
    /// only, never for reports.
    pub async fn bulk_seed_cases(&self, cases: &[NewCase]) -> Result<(), StoreError> {
        let txn = self.write_txn().await?;
        let rows = cases.iter().map(|new| {
            // A seeded case counts as routed on arrival; otherwise as filed.
            let mut row = crate::cases::new_case_model(new);
            row.routed_at = Set(Some(new.received_at));
            row
        });
        case::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
        let entries = cases.iter().map(|new| {
            let mut entry = crate::cases::first_entry_model(new);
            entry.id = Set(Uuid::now_v7());
            entry
        });
        queue_entry::Entity::insert_many(entries)
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }
}
