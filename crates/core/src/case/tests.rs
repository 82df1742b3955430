//! Tests of the case state machine: every action in every stage, the role
//! matrix, and the rules around closing, re-checking, extending and pausing.

use super::*;
use action::OPEN;
use chrono::TimeDelta;

pub(super) fn staff(n: u128) -> StaffId {
    StaffId::from_uuid(Uuid::from_u128(n))
}

pub(super) fn actor(n: u128, role: Role) -> Actor {
    Actor { id: staff(n), role }
}

pub(super) fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-09-30T10:00:00+08:00")
        .unwrap()
        .with_timezone(&Utc)
}

pub(super) fn limits() -> Limits {
    Limits {
        extension_max_days: 30,
        pause_ends: now() + TimeDelta::days(30),
    }
}

const OTHER_CASE: u128 = 99;

/// A case in `stage` on which everything except the stage and role rules
/// is satisfied: owned by `owner`, outcome, decision and feedback recorded,
/// transferred by someone else, not extended, not paused; verified as
/// unsubstantiated by someone else (so a knowingly-false finding may follow).
pub(super) fn ready(stage: Stage, owner: StaffId) -> CaseState {
    CaseState {
        stage,
        owner: Some(owner),
        outcome: Some(Outcome::Unsubstantiated),
        decision: Some("批评教育".into()),
        feedback_given: true,
        transferred_by: Some(staff(77)),
        verified_by: Some(staff(78)),
        reexamination: true,
        ..CaseState::new(
            CaseId::from_uuid(Uuid::from_u128(1)),
            SelectionStage::Inspection,
        )
    }
}

fn sample(kind: ActionKind) -> Action {
    match kind {
        ActionKind::Route => Action::Route,
        ActionKind::Claim => Action::Claim,
        ActionKind::Accept => Action::Accept,
        ActionKind::Refer => Action::Refer {
            to: ReferralBody::DisciplineInspection,
            message: "反映的是贪污问题，已转交纪委监委".into(),
        },
        ActionKind::AskSpecifics => Action::AskSpecifics {
            question: "请说明何人、何时、何地、何事".into(),
        },
        ActionKind::KnowinglyFalse => Action::KnowinglyFalse {
            reason: "捏造事实，经查系诬告".into(),
        },
        ActionKind::Verified => Action::Verified {
            outcome: Outcome::Substantiated,
        },
        ActionKind::Transfer => Action::Transfer {
            to: "县纪委".into(),
        },
        ActionKind::Rechecked => Action::Rechecked {
            outcome: Outcome::Unsubstantiated,
        },
        ActionKind::Decided => Action::Decided {
            decision: "取消考察对象资格".into(),
        },
        ActionKind::Extend => Action::Extend {
            days: 10,
            reason: "证人出差".into(),
        },
        ActionKind::AskReporter => Action::AskReporter {
            question: "请补充时间地点".into(),
        },
        ActionKind::Feedback => Action::Feedback {
            message: "已查实并处理".into(),
        },
        ActionKind::Close => Action::Close,
        ActionKind::Merge => Action::Merge {
            into: CaseId::from_uuid(Uuid::from_u128(OTHER_CASE)),
        },
        ActionKind::Reopen => Action::Reopen {
            reason: "复查发现新线索".into(),
            to: Stage::Verify,
        },
        ActionKind::Uphold => Action::Uphold {
            message: "经复查，维持原处理意见".into(),
        },
    }
}

pub(super) fn run(state: &CaseState, kind: ActionKind, who: &Actor) -> Result<Transition, Refusal> {
    apply(state, sample(kind), who, now(), &limits())
}

#[test]
fn every_action_in_every_stage() {
    use Stage::*;
    let allowed: &[(ActionKind, &[Stage])] = &[
        (ActionKind::Route, &[Received]),
        (ActionKind::Accept, &[Received]),
        (ActionKind::Refer, &[Received]),
        (ActionKind::AskSpecifics, &[Received]),
        (ActionKind::KnowinglyFalse, &[Handle, Notify]),
        (
            ActionKind::Claim,
            &[Received, Verify, Handle, Recheck, Notify],
        ),
        (ActionKind::Verified, &[Verify]),
        (ActionKind::Transfer, &[Verify]),
        (ActionKind::Rechecked, &[Recheck]),
        (ActionKind::Decided, &[Handle]),
        (ActionKind::Extend, &[Verify]),
        (ActionKind::AskReporter, &[Verify, Handle, Recheck]),
        (ActionKind::Feedback, &[Notify]),
        (ActionKind::Close, &[Notify]),
        (
            ActionKind::Merge,
            &[Received, Verify, Handle, Recheck, Notify],
        ),
        (ActionKind::Reopen, &[Closed]),
        (ActionKind::Uphold, &[Closed]),
    ];
    assert_eq!(allowed.len(), ActionKind::ALL.len());
    let boss = actor(1, Role::Supervisor);
    let mut tried = 0;
    for (kind, stages) in allowed {
        for stage in Stage::ALL {
            tried += 1;
            let result = run(&ready(*stage, boss.id), *kind, &boss);
            if stages.contains(stage) {
                assert!(result.is_ok(), "{kind} in {stage}: {result:?}");
            } else if *stage == Closed {
                assert_eq!(result, Err(Refusal::AlreadyClosed), "{kind}");
            } else {
                let refusal = result.unwrap_err();
                assert_eq!(
                    refusal,
                    Refusal::NotAllowedInStage {
                        action: *kind,
                        stage: *stage
                    }
                );
                assert_eq!(refusal.class(), RefusalClass::Conflict);
            }
        }
    }
    assert_eq!(tried, 17 * 6);
}

#[test]
fn role_matrix() {
    use Role::*;
    use Stage as S;
    // (action, stage) → roles allowed; the module doc's table, spelled out.
    let matrix: &[(ActionKind, S, &[Role])] = &[
        (ActionKind::Route, S::Received, &[Intake, Supervisor]),
        (ActionKind::Accept, S::Received, &[Intake, Supervisor]),
        (ActionKind::Refer, S::Received, &[Intake, Supervisor]),
        (ActionKind::AskSpecifics, S::Received, &[Intake, Supervisor]),
        (ActionKind::KnowinglyFalse, S::Handle, &[Supervisor]),
        (ActionKind::KnowinglyFalse, S::Notify, &[Supervisor]),
        (ActionKind::Claim, S::Received, &[Intake, Supervisor]),
        (ActionKind::Claim, S::Verify, &[Verifier, Supervisor]),
        (ActionKind::Claim, S::Handle, &[Supervisor]),
        (ActionKind::Claim, S::Recheck, &[Supervisor]),
        (ActionKind::Claim, S::Notify, &[Verifier, Supervisor]),
        (ActionKind::Verified, S::Verify, &[Verifier, Supervisor]),
        (ActionKind::Transfer, S::Verify, &[Verifier, Supervisor]),
        (ActionKind::Rechecked, S::Recheck, &[Supervisor]),
        (ActionKind::Decided, S::Handle, &[Supervisor]),
        (ActionKind::Extend, S::Verify, &[Supervisor]),
        (ActionKind::AskReporter, S::Verify, &[Verifier, Supervisor]),
        (ActionKind::AskReporter, S::Handle, &[Verifier, Supervisor]),
        (ActionKind::AskReporter, S::Recheck, &[Verifier, Supervisor]),
        (ActionKind::Feedback, S::Notify, &[Verifier, Supervisor]),
        (ActionKind::Close, S::Notify, &[Verifier, Supervisor]),
        (ActionKind::Reopen, S::Closed, &[Supervisor]),
        (ActionKind::Uphold, S::Closed, &[Supervisor]),
    ];
    for (kind, stage, roles) in matrix {
        for role in Role::ALL {
            let who = actor(1, *role);
            let result = run(&ready(*stage, who.id), *kind, &who);
            if roles.contains(role) {
                assert!(result.is_ok(), "{role} {kind} in {stage}: {result:?}");
            } else {
                let refusal = result.unwrap_err();
                assert_eq!(
                    refusal,
                    Refusal::RoleNotAllowed {
                        action: *kind,
                        role: *role
                    },
                    "{role} {kind} in {stage}"
                );
                assert_eq!(refusal.class(), RefusalClass::Forbidden);
            }
        }
    }
    for stage in OPEN {
        for role in Role::ALL {
            let who = actor(1, *role);
            let merged = run(&ready(*stage, who.id), ActionKind::Merge, &who);
            assert_eq!(
                merged.is_ok(),
                *role == Supervisor,
                "{role} merge in {stage}"
            );
        }
    }
    // Intake never verifies or decides; a verifier never decides.
    assert!(!ActionKind::Verified.roles(S::Verify).contains(&Intake));
    assert!(!ActionKind::Decided.roles(S::Handle).contains(&Verifier));
}

#[test]
fn acting_needs_ownership_and_claims_are_exclusive() {
    let (alice, bob) = (actor(1, Role::Verifier), actor(2, Role::Verifier));
    let boss = actor(3, Role::Supervisor);
    let owned_by_alice = ready(Stage::Verify, alice.id);
    for kind in [
        ActionKind::Verified,
        ActionKind::Transfer,
        ActionKind::AskReporter,
    ] {
        assert_eq!(
            run(&owned_by_alice, kind, &bob),
            Err(Refusal::NotOwner { action: kind })
        );
    }
    assert_eq!(
        run(&owned_by_alice, ActionKind::Claim, &bob),
        Err(Refusal::AlreadyOwned)
    );
    let again = run(&owned_by_alice, ActionKind::Claim, &alice).unwrap();
    assert!(
        again.events.is_empty(),
        "claiming one's own case changes nothing"
    );
    let reassigned = run(&owned_by_alice, ActionKind::Claim, &boss).unwrap();
    assert_eq!(reassigned.state.owner, Some(boss.id));
    assert_eq!(
        reassigned.events,
        vec![Event::Claimed {
            previous: Some(alice.id)
        }]
    );
    // A supervisor approves an extension without owning the case.
    assert!(run(&owned_by_alice, ActionKind::Extend, &boss).is_ok());
}

#[test]
fn close_needs_outcome_decision_and_feedback() {
    let who = actor(1, Role::Supervisor);
    let full = ready(Stage::Notify, who.id);
    let cases = [
        (
            CaseState {
                outcome: None,
                ..full.clone()
            },
            Refusal::MissingOutcome,
        ),
        (
            CaseState {
                decision: None,
                ..full.clone()
            },
            Refusal::MissingDecision,
        ),
        (
            CaseState {
                feedback_given: false,
                ..full.clone()
            },
            Refusal::MissingFeedback,
        ),
    ];
    for (state, refusal) in cases {
        assert_eq!(run(&state, ActionKind::Close, &who), Err(refusal));
    }
    let closed = run(&full, ActionKind::Close, &who).unwrap();
    assert_eq!((closed.from, closed.to), (Stage::Notify, Stage::Closed));
    assert_eq!(closed.state.owner, None);
}

#[test]
fn recheck_by_a_different_staff_member() {
    let (transferrer, boss, other_boss) = (
        actor(1, Role::Supervisor),
        actor(2, Role::Supervisor),
        actor(3, Role::Supervisor),
    );
    let t = run(
        &ready(Stage::Verify, transferrer.id),
        ActionKind::Transfer,
        &transferrer,
    )
    .unwrap();
    assert_eq!(t.to, Stage::Recheck);
    assert_eq!(t.state.transferred_by, Some(transferrer.id));
    assert_eq!(t.state.owner, None);
    assert!(
        t.state.hold_active,
        "the hold waits for the other body's result"
    );

    let claimed = run(&t.state, ActionKind::Claim, &transferrer)
        .unwrap()
        .state;
    assert_eq!(
        run(&claimed, ActionKind::Rechecked, &transferrer),
        Err(Refusal::RecheckBySameStaff)
    );
    let claimed = run(&claimed, ActionKind::Claim, &boss).unwrap().state;
    let done = run(&claimed, ActionKind::Rechecked, &boss).unwrap();
    assert_eq!(done.to, Stage::Handle);
    assert_eq!(done.state.outcome, Some(Outcome::Unsubstantiated));
    assert!(done.events.contains(&Event::HoldLifted));
    assert_eq!(
        run(&claimed, ActionKind::Rechecked, &other_boss),
        Err(Refusal::NotOwner {
            action: ActionKind::Rechecked
        })
    );
}

#[test]
fn extension_once_within_the_bound() {
    let boss = actor(1, Role::Supervisor);
    let state = ready(Stage::Verify, boss.id);
    let extend = |state: &CaseState, days: u32, reason: &str| {
        apply(
            state,
            Action::Extend {
                days,
                reason: reason.into(),
            },
            &boss,
            now(),
            &limits(),
        )
    };
    assert_eq!(
        extend(&state, 31, "x"),
        Err(Refusal::ExtensionTooLong { max: 30 })
    );
    assert_eq!(extend(&state, 0, "x"), Err(Refusal::EmptyExtension));
    assert_eq!(
        extend(&state, 30, "  "),
        Err(Refusal::EmptyText { field: "reason" })
    );
    let t = extend(&state, 30, "证人出差").unwrap();
    assert_eq!((t.from, t.to), (Stage::Verify, Stage::Verify));
    assert_eq!(t.state.extension_days, Some(30));
    assert!(t.events.iter().all(Event::for_reporter));
    assert_eq!(extend(&t.state, 1, "x"), Err(Refusal::AlreadyExtended));
}

#[test]
fn asking_the_reporter_pauses_until_answered_or_bound() {
    let who = actor(1, Role::Verifier);
    let t = run(&ready(Stage::Verify, who.id), ActionKind::AskReporter, &who).unwrap();
    assert_eq!(t.state.paused_until, Some(limits().pause_ends));
    assert!(t.state.is_paused(now()));
    assert_eq!(
        run(&t.state, ActionKind::AskReporter, &who),
        Err(Refusal::AlreadyPaused)
    );
    let resumed = t.state.resumed(now()).unwrap();
    assert!(run(&resumed, ActionKind::AskReporter, &who).is_ok());
    assert!(!t.state.is_paused(limits().pause_ends));
    // Leaving the stage ends the pause.
    let verified = run(&t.state, ActionKind::Verified, &who).unwrap();
    assert_eq!(verified.state.paused_until, None);
}

#[test]
fn merge_closes_without_deleting() {
    let boss = actor(1, Role::Supervisor);
    let state = ready(Stage::Verify, boss.id);
    let same = Action::Merge { into: state.id };
    assert_eq!(
        apply(&state, same, &boss, now(), &limits()),
        Err(Refusal::MergeIntoSelf)
    );
    let t = run(&state, ActionKind::Merge, &boss).unwrap();
    let into = CaseId::from_uuid(Uuid::from_u128(OTHER_CASE));
    assert_eq!(t.to, Stage::Closed);
    assert_eq!(t.state.merged_into, Some(into));
    assert_eq!(t.state.outcome, state.outcome, "the record is kept");
    assert_eq!(
        t.events,
        vec![Event::Merged {
            into,
            carry_hold: true
        }]
    );
}

#[test]
fn empty_texts_are_refused() {
    let who = actor(1, Role::Supervisor);
    let cases = [
        (Stage::Verify, Action::Transfer { to: " ".into() }, "to"),
        (
            Stage::Handle,
            Action::Decided {
                decision: "".into(),
            },
            "decision",
        ),
        (
            Stage::Verify,
            Action::AskReporter {
                question: "\n".into(),
            },
            "question",
        ),
        (
            Stage::Notify,
            Action::Feedback { message: "".into() },
            "message",
        ),
    ];
    for (stage, action, field) in cases {
        let refusal = apply(&ready(stage, who.id), action, &who, now(), &limits()).unwrap_err();
        assert_eq!(refusal, Refusal::EmptyText { field });
        assert_eq!(refusal.class(), RefusalClass::Invalid);
    }
}

#[test]
fn actions_read_from_json() {
    let action: Action =
        serde_json::from_str(r#"{"action":"verified","outcome":"partly"}"#).unwrap();
    assert_eq!(
        action,
        Action::Verified {
            outcome: Outcome::Partly
        }
    );
    let action: Action =
        serde_json::from_str(r#"{"action":"extend","days":10,"reason":"r","note":"n"}"#).unwrap();
    assert_eq!(action.kind(), ActionKind::Extend);
    assert!(serde_json::from_str::<Action>(r#"{"action":"delete"}"#).is_err());
    for kind in ActionKind::ALL {
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        assert_eq!(sample(*kind).kind(), *kind);
    }
}

#[test]
fn limits_follow_the_policy() {
    let policy = Policy::cn_12380();
    let cal = Calendar::cn();
    let limits = Limits::from_policy(&policy, &cal, now());
    assert_eq!(limits.extension_max_days, 30);
    assert_eq!(
        limits.pause_ends,
        DateTime::parse_from_rfc3339("2026-10-31T00:00:00+08:00").unwrap()
    );
}

#[test]
fn reopen_goes_back_to_verify_or_handle_and_clears_what_follows() {
    let boss = actor(1, Role::Supervisor);
    let closed = CaseState {
        extension_days: Some(10),
        ..ready(Stage::Closed, boss.id)
    };
    let reopen = |to| Action::Reopen {
        reason: "上级复查要求重新核查".into(),
        to,
    };
    let t = apply(&closed, reopen(Stage::Verify), &boss, now(), &limits()).unwrap();
    assert_eq!(t.to, Stage::Verify);
    assert_eq!(t.state.outcome, None, "a new verification, a new outcome");
    assert_eq!(t.state.extension_days, None, "with its own extension");
    assert!(t.state.decision.is_none() && !t.state.feedback_given);
    assert!(!t.state.reexamination, "reopening answers the objection");
    assert_eq!(t.state.owner, None, "it waits in the verify queue");
    assert!(!t.events[0].for_reporter(), "the reason is for staff");

    let t = apply(&closed, reopen(Stage::Handle), &boss, now(), &limits()).unwrap();
    assert_eq!(t.to, Stage::Handle);
    assert_eq!(
        t.state.outcome,
        Some(Outcome::Unsubstantiated),
        "the outcome stands"
    );
    assert!(t.state.decision.is_none() && !t.state.feedback_given);

    for to in [
        Stage::Received,
        Stage::Notify,
        Stage::Recheck,
        Stage::Closed,
    ] {
        let refusal = apply(&closed, reopen(to), &boss, now(), &limits()).unwrap_err();
        assert_eq!(refusal, Refusal::ReopenTo { to });
        assert_eq!(refusal.class(), RefusalClass::Invalid);
    }
    let blank = Action::Reopen {
        reason: "  ".into(),
        to: Stage::Verify,
    };
    assert_eq!(
        apply(&closed, blank, &boss, now(), &limits()),
        Err(Refusal::EmptyText { field: "reason" })
    );
    let merged = CaseState {
        merged_into: Some(CaseId::from_uuid(Uuid::from_u128(OTHER_CASE))),
        ..closed.clone()
    };
    let refusal = apply(&merged, reopen(Stage::Verify), &boss, now(), &limits()).unwrap_err();
    assert_eq!(refusal, Refusal::MergedCase);
    assert_eq!(refusal.class(), RefusalClass::Conflict);
}

#[test]
fn uphold_needs_an_open_reexamination_and_tells_the_reporter() {
    let boss = actor(1, Role::Supervisor);
    let asked = ready(Stage::Closed, boss.id);
    let uphold = || Action::Uphold {
        message: "经复查，维持原处理意见".into(),
    };
    let t = apply(&asked, uphold(), &boss, now(), &limits()).unwrap();
    assert_eq!(t.to, Stage::Closed);
    assert!(!t.state.reexamination);
    assert!(t.events[0].for_reporter());
    let quiet = CaseState {
        reexamination: false,
        ..asked
    };
    let refusal = apply(&quiet, uphold(), &boss, now(), &limits()).unwrap_err();
    assert_eq!(refusal, Refusal::NoReexamination);
    assert_eq!(refusal.class(), RefusalClass::Conflict);
}
