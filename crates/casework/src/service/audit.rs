//! The audit log as staff read it (#18 item 12): admins and supervisors see
//! the entries of their units, filtered by case number, member, action and
//! day, with whether the hash chain holds up to its head. No entry holds
//! content, so the page reveals nothing its reader could not see already.

use std::collections::HashMap;

use sunlight_core::audit::ChainError;
use sunlight_core::{CaseNumber, Role};
use sunlight_store::{AuditEntry, AuditFilter, ChainHead};
use tokio::sync::Mutex;

use super::register::{given, local_day};
use super::*;

/// How long a check from the genesis stands before the next page view
/// checks the whole chain again; in between, only the new entries are.
const FULL_CHECK_EVERY: Duration = Duration::minutes(10);

/// The audit page's filters, as the query string sends them.
#[derive(Debug, Default, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditRequest {
    /// A case number `UNIT-YEAR-NNNNN` of the member's units.
    pub number: Option<String>,
    /// A member's email.
    pub actor: Option<String>,
    /// An action as the log names it (`case.read`, `session.open`, …).
    pub action: Option<String>,
    /// First local day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last local day, `YYYY-MM-DD`.
    pub to: Option<String>,
    /// Only entries before this one (the next page).
    pub before: Option<String>,
    pub lang: Option<String>,
}

/// The result of the last chain check, kept between page views.
#[derive(Debug, Clone)]
pub struct ChainCheck {
    /// The head the chain holds to, or where it broke.
    pub result: Result<Option<ChainHead>, ChainError>,
    /// When the whole chain was last checked from the genesis.
    pub full_at: DateTime<Utc>,
    pub checked_at: DateTime<Utc>,
    /// The newest head this process ever verified: it must stay as it
    /// was, or the log was cut back (a shorter chain verifies on its own).
    pub highest: Option<ChainHead>,
}

/// Shared by all handlers of one process.
pub type ChainCache = Arc<Mutex<Option<ChainCheck>>>;

/// A page of the audit log.
#[derive(Debug)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Who the `staff:` actors are.
    pub emails: HashMap<Uuid, String>,
    /// The numbers of the cases the entries name.
    pub numbers: HashMap<CaseId, CaseNumber>,
    pub chain: ChainCheck,
    /// The `before` of the next (older) page, when there may be one.
    pub older: Option<i64>,
}

fn bad(field: &'static str) -> CaseworkError {
    CaseworkError::Invalid(Invalid::AuditFilter(field))
}

impl Triage {
    /// A page of the audit entries of the member's units, and the chain's
    /// state. Admins and supervisors only.
    pub async fn audit_page(
        &self,
        session: &Session,
        req: &AuditRequest,
        now: DateTime<Utc>,
    ) -> Result<AuditPage, CaseworkError> {
        if !matches!(session.role, Role::Admin | Role::Supervisor) {
            return Err(CaseworkError::Forbidden);
        }
        let filter = self.audit_filter(session, req).await?;
        let entries = self
            .store
            .audit_entries(&session.jurisdiction, &filter)
            .await?;
        let older = (entries.len() as u64 == sunlight_store::AUDIT_PAGE)
            .then(|| entries.last().map(|e| e.seq))
            .flatten();
        let staff: Vec<Uuid> = entries
            .iter()
            .filter_map(|e| e.actor.strip_prefix("staff:"))
            .filter_map(|id| Uuid::parse_str(id).ok())
            .collect();
        let cases: Vec<CaseId> = entries
            .iter()
            .filter_map(|e| CaseId::parse(&e.case_id).ok())
            .collect();
        Ok(AuditPage {
            emails: self.store.staff_emails(&staff).await?,
            numbers: self
                .store
                .case_numbers_in(&session.jurisdiction, &cases)
                .await?,
            chain: self.check_chain(now).await?,
            entries,
            older,
        })
    }

    async fn audit_filter(
        &self,
        session: &Session,
        req: &AuditRequest,
    ) -> Result<AuditFilter, CaseworkError> {
        let cases = session.role != Role::Admin;
        let case_id = match given(req.number.as_ref()) {
            None => None,
            Some(_) if !cases => return Err(bad("number")),
            Some(raw) => {
                let n = CaseNumber::parse(raw).map_err(|_| bad("number"))?;
                let found = self.store.case_by_number(&session.jurisdiction, &n).await?;
                Some(found.ok_or_else(|| bad("number"))?)
            }
        };
        let actor = match given(req.actor.as_ref()) {
            None => None,
            Some(email) => {
                let member = self.store.staff_by_email(email).await?;
                let member = member
                    .filter(|m| session.jurisdiction.contains(&m.unit))
                    .ok_or_else(|| bad("actor"))?;
                Some(format!("staff:{}", member.id))
            }
        };
        let action = given(req.action.as_ref())
            .map(|a| {
                sunlight_core::audit::is_action(a)
                    .then(|| a.to_owned())
                    .ok_or_else(|| bad("action"))
            })
            .transpose()?;
        let day = |raw: Option<&String>, field| {
            given(raw)
                .map(|s| local_day(s).ok_or_else(|| bad(field)))
                .transpose()
        };
        let (from, to) = (day(req.from.as_ref(), "from")?, day(req.to.as_ref(), "to")?);
        if from.zip(to).is_some_and(|(f, t)| f > t) {
            return Err(bad("to"));
        }
        let below_seq = given(req.before.as_ref())
            .map(|s| s.parse::<i64>().map_err(|_| bad("before")))
            .transpose()?;
        Ok(AuditFilter {
            case_id,
            actor,
            action,
            from: from.map(|d| self.policy.start_of_date(d)),
            before: to.map(|d| self.policy.end_of_local_day(d)),
            below_seq,
            cases,
        })
    }

    /// Whether the chain holds up to its head: in full from the genesis
    /// at most every [`FULL_CHECK_EVERY`], on from the last verified head
    /// in between (so a page view costs the new entries only). One check
    /// at a time per process; a broken chain is checked in full again.
    async fn check_chain(&self, now: DateTime<Utc>) -> Result<ChainCheck, CaseworkError> {
        let mut cached = self.chain.lock().await;
        let resume = match cached.as_ref() {
            Some(c) if now - c.full_at < FULL_CHECK_EVERY => match c.result {
                Ok(head) => Some((head, c.full_at)),
                Err(_) => None,
            },
            _ => None,
        };
        let (from, full_at) = match resume {
            Some((head, full_at)) => (head, full_at),
            None => (None, now),
        };
        let highest = cached.as_ref().and_then(|c| c.highest);
        let kept = match highest {
            Some(h) => self.store.audit_hash(h.seq).await?.as_deref() == Some(h.hash.as_slice()),
            None => true,
        };
        let result = match highest {
            Some(h) if !kept => Err(ChainError::Vanished { seq: h.seq }),
            _ => self.store.verify_audit_from(from).await?,
        };
        let newest = match &result {
            Ok(Some(head)) => Some(*head),
            _ => highest,
        };
        let check = ChainCheck {
            result,
            full_at,
            checked_at: now,
            highest: newest,
        };
        *cached = Some(check.clone());
        Ok(check)
    }
}
