//! The acceptance decision (受理) at the head of a case and the
//! knowingly-false finding after verification: the ways a case is
//! disposed of besides a full verification.

use chrono::{DateTime, Utc};

use super::{Actor, CaseState, Event, Limits, Refusal, lift_hold, non_empty};
use crate::domain::{Disposition, Outcome, ReferralBody, Stage};

/// 受理: the report is within the remit and goes to verification.
pub(super) fn accept(next: &mut CaseState, events: &mut Vec<Event>) {
    next.disposition = Disposition::Accepted;
    next.stage = Stage::Verify;
    events.push(Event::Accepted);
}

/// 转交: outside the remit. The case closes without a verification; a
/// held selection is not held for a matter this unit does not handle.
pub(super) fn refer(
    next: &mut CaseState,
    to: ReferralBody,
    message: String,
    events: &mut Vec<Event>,
) -> Result<(), Refusal> {
    let message = non_empty(message, "message")?;
    next.disposition = Disposition::Referred;
    next.stage = Stage::Closed;
    events.push(Event::Referred { to, message });
    lift_hold(next, events);
    Ok(())
}

/// No substance yet: one question to the reporter, pausing the
/// acceptance clock like `ask_reporter`; the sweeper files the case for
/// reference when the pause ends unanswered.
pub(super) fn ask_specifics(
    state: &CaseState,
    next: &mut CaseState,
    question: String,
    now: DateTime<Utc>,
    limits: &Limits,
    events: &mut Vec<Event>,
) -> Result<(), Refusal> {
    if state.specifics_asked {
        return Err(Refusal::SpecificsAlreadyAsked);
    }
    if state.is_paused(now) {
        return Err(Refusal::AlreadyPaused);
    }
    let question = non_empty(question, "question")?;
    next.specifics_asked = true;
    next.paused_until = Some(limits.pause_ends);
    events.push(Event::SpecificsAsked {
        question,
        paused_until: limits.pause_ends,
    });
    Ok(())
}

/// 诬告陷害: a second pair of eyes on an unsubstantiated verification.
pub(super) fn knowingly_false(
    state: &CaseState,
    next: &mut CaseState,
    actor: &Actor,
    reason: String,
    events: &mut Vec<Event>,
) -> Result<(), Refusal> {
    if state.disposition == Disposition::KnowinglyFalse {
        return Err(Refusal::AlreadyKnowinglyFalse);
    }
    if state.outcome != Some(Outcome::Unsubstantiated) {
        return Err(Refusal::NotUnsubstantiated);
    }
    // Who verified must be known (a case verified before the rule was
    // stored is refused, not trusted).
    if state.verified_by.is_none_or(|v| v == actor.id) {
        return Err(Refusal::KnowinglyFalseByVerifier);
    }
    let reason = non_empty(reason, "reason")?;
    next.disposition = Disposition::KnowinglyFalse;
    events.push(Event::MarkedKnowinglyFalse { reason });
    Ok(())
}

#[cfg(test)]
mod tests;
