//! Routing: new reports get their units, deadlines and first queue entry; the keys a case is sealed to.

use super::*;

impl Triage {
    pub fn due(&self, kind: DeadlineKind, from: DateTime<Utc>) -> DateTime<Utc> {
        self.policy.due(kind, from, &self.calendar)
    }

    /// The routing plan of a received case (rules 3 and 4: the unit was
    /// fixed at the door; a report on a running selection opens a hold).
    /// Every deadline counts from the day it arrived, however late the
    /// routing runs (a router that was down, a letter entered days after
    /// it came).
    pub fn plan(&self, case: &CaseRow) -> RoutePlan {
        self.plan_for(
            case.selection_stage,
            case.real_name,
            case.received_at,
            case.received_at,
        )
    }

    /// A real-name report is acknowledged (受理告知), and every report
    /// accepted or not (受理), within the policy's time from the day it was
    /// received, not from routing.
    pub(super) fn plan_for(
        &self,
        selection: sunlight_core::SelectionStage,
        real_name: bool,
        received_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> RoutePlan {
        RoutePlan {
            acknowledge_due: real_name
                .then(|| self.due(DeadlineKind::AcknowledgeRealName, received_at)),
            accept_due: self.due(DeadlineKind::Route, received_at),
            hold: selection.triggers_hold().then(|| NewHold {
                notice_due_at: self.due(DeadlineKind::HoldNotice, now),
                max_until: self.due(DeadlineKind::HoldMax, now),
            }),
        }
    }

    /// Routes every received case; returns how many this call routed.
    /// Safe to run in several processes at once.
    pub async fn route_pending(&self, now: DateTime<Utc>) -> Result<usize, CaseworkError> {
        let mut routed = 0;
        loop {
            let batch = self.store.unrouted_cases(200).await?;
            if batch.is_empty() {
                return Ok(routed);
            }
            let mut progressed = false;
            for case in batch {
                let plan = self.plan(&case);
                if self
                    .store
                    .route_case(case.id, &plan, None, self.routing_day(&case, now))
                    .await?
                {
                    routed += 1;
                    progressed = true;
                }
            }
            if !progressed {
                return Ok(routed);
            }
        }
    }

    /// The day routing records carry. A web report's routing follows its
    /// arrival within seconds, so they carry the arrival's day (not the
    /// routing's: a report in the last seconds before midnight would stand
    /// out). A desk report carries the day it was entered, never earlier
    /// than the day received: a back-dated letter is then numbered in
    /// that night's batch, not alone the moment it is typed in.
    pub(super) fn routing_day(&self, case: &CaseRow, now: DateTime<Utc>) -> DateTime<Utc> {
        if matches!(
            case.channel,
            sunlight_core::Channel::Phone
                | sunlight_core::Channel::Letter
                | sunlight_core::Channel::Visit
        ) {
            self.policy.start_of_local_day(now).max(case.received_at)
        } else {
            case.received_at
        }
    }

    /// Public keys of a unit and every unit above it.
    pub(super) async fn unit_chain_keys(
        &self,
        case: &CaseRow,
    ) -> Result<Vec<UnitPublicKey>, CaseworkError> {
        Ok(self
            .store
            .unit_with_ancestors(&case.unit)
            .await?
            .into_iter()
            .map(|u| u.public_key)
            .collect())
    }

    /// The case's units plus one reporter: the case's own, or — `to` naming
    /// a case merged into this one — that case's reporter. Never several:
    /// a merged-in reporter (perhaps an ally of the accused who filed a
    /// near-duplicate) must not read what is put to another reporter.
    pub(super) async fn reporter_recipients(
        &self,
        case: &CaseRow,
        to: Option<CaseId>,
    ) -> Result<Vec<UnitPublicKey>, CaseworkError> {
        let reporter = match to {
            Some(other) if other != case.id => self
                .store
                .merged_reporter_key(case.id, other)
                .await?
                .ok_or(CaseworkError::Invalid(Invalid::ReplyTo))?,
            _ => case
                .reporter_public_key
                .ok_or(CaseworkError::Invalid(Invalid::NoReporterKey))?,
        };
        let mut keys = self.unit_chain_keys(case).await?;
        keys.push(reporter);
        Ok(keys)
    }
}
