//! The acceptance decision and the knowingly-false finding: what each
//! changes, and every way each is refused.

use super::super::tests::{actor, limits, now, ready, run};
use super::super::*;

fn received() -> CaseState {
    CaseState::new(
        CaseId::from_uuid(Uuid::from_u128(5)),
        SelectionStage::Publicity,
    )
}

#[test]
fn accept_starts_verification_and_cannot_happen_twice() {
    let desk = actor(1, Role::Intake);
    let t = apply(&received(), Action::Accept, &desk, now(), &limits()).unwrap();
    assert_eq!((t.from, t.to), (Stage::Received, Stage::Verify));
    assert_eq!(t.state.disposition, Disposition::Accepted);
    assert_eq!(t.events, vec![Event::Accepted]);
    // The hold stays: the selection waits for the verification.
    assert!(t.state.hold_active);
    let again = apply(&t.state, Action::Accept, &desk, now(), &limits()).unwrap_err();
    assert_eq!(
        again,
        Refusal::NotAllowedInStage {
            action: ActionKind::Accept,
            stage: Stage::Verify
        }
    );
    assert_eq!(again.class(), RefusalClass::Conflict);
}

#[test]
fn refer_closes_with_the_body_lifts_the_hold_and_tells_the_reporter() {
    let desk = actor(1, Role::Supervisor);
    let refer = Action::Refer {
        to: ReferralBody::PublicSecurity,
        message: "反映的是刑事案件，已转交公安机关".into(),
    };
    let t = apply(&received(), refer, &desk, now(), &limits()).unwrap();
    assert_eq!(t.to, Stage::Closed);
    assert_eq!(t.state.disposition, Disposition::Referred);
    assert!(!t.state.hold_active);
    assert!(t.events[0].for_reporter());
    assert!(matches!(
        t.events[0],
        Event::Referred {
            to: ReferralBody::PublicSecurity,
            ..
        }
    ));
    assert!(t.events.contains(&Event::HoldLifted));
    // A disposition on a closed case is refused.
    let late = Action::Refer {
        to: ReferralBody::Petitions,
        message: "x".into(),
    };
    assert_eq!(
        apply(&t.state, late, &desk, now(), &limits()),
        Err(Refusal::AlreadyClosed)
    );
    let empty = Action::Refer {
        to: ReferralBody::Other,
        message: "  ".into(),
    };
    assert_eq!(
        apply(&received(), empty, &desk, now(), &limits()),
        Err(Refusal::EmptyText { field: "message" })
    );
}

#[test]
fn specifics_are_asked_once_and_pause_the_clock() {
    let desk = actor(1, Role::Intake);
    let ask = || Action::AskSpecifics {
        question: "请说明何人、何时、何地、何事".into(),
    };
    let t = apply(&received(), ask(), &desk, now(), &limits()).unwrap();
    assert_eq!(t.to, Stage::Received);
    assert!(t.state.specifics_asked);
    assert_eq!(t.state.paused_until, Some(limits().pause_ends));
    assert!(t.events[0].for_reporter());
    assert_eq!(t.state.disposition, Disposition::Open);
    // Answered (the pause lifted): still only once.
    let answered = t.state.resumed(now()).unwrap();
    assert_eq!(
        apply(&answered, ask(), &desk, now(), &limits()),
        Err(Refusal::SpecificsAlreadyAsked)
    );
    // The answer came: the desk decides as for any report.
    let accepted = apply(&answered, Action::Accept, &desk, now(), &limits()).unwrap();
    assert_eq!(accepted.to, Stage::Verify);
    assert_eq!(accepted.state.paused_until, None);
}

#[test]
fn knowingly_false_needs_another_supervisor_and_an_unsubstantiated_outcome() {
    let boss = actor(1, Role::Supervisor);
    let verifier_boss = actor(2, Role::Supervisor);
    let reason = || Action::KnowinglyFalse {
        reason: "捏造事实".into(),
    };
    let mut state = ready(Stage::Handle, boss.id);
    state.verified_by = Some(verifier_boss.id);
    assert_eq!(
        apply(&state, reason(), &verifier_boss, now(), &limits()),
        Err(Refusal::KnowinglyFalseByVerifier)
    );
    assert_eq!(
        Refusal::KnowinglyFalseByVerifier.class(),
        RefusalClass::Forbidden
    );
    let verifier = actor(3, Role::Verifier);
    assert!(matches!(
        apply(&state, reason(), &verifier, now(), &limits()),
        Err(Refusal::RoleNotAllowed { .. })
    ));
    let t = apply(&state, reason(), &boss, now(), &limits()).unwrap();
    assert_eq!(t.state.disposition, Disposition::KnowinglyFalse);
    assert_eq!(t.to, Stage::Handle);
    // Staff only: the reporter never reads the finding.
    assert!(t.events.iter().all(|e| !e.for_reporter()));
    assert_eq!(
        apply(&t.state, reason(), &boss, now(), &limits()),
        Err(Refusal::AlreadyKnowinglyFalse)
    );
    // It survives the close.
    let mut notify = t.state.clone();
    notify.stage = Stage::Notify;
    let closed = apply(&notify, Action::Close, &boss, now(), &limits()).unwrap();
    assert_eq!(closed.state.disposition, Disposition::KnowinglyFalse);
    // Not for a substantiated report.
    let mut partly = ready(Stage::Notify, boss.id);
    partly.outcome = Some(Outcome::Partly);
    assert_eq!(
        apply(&partly, reason(), &boss, now(), &limits()),
        Err(Refusal::NotUnsubstantiated)
    );
}

#[test]
fn merge_and_reopen_set_the_disposition() {
    let boss = actor(1, Role::Supervisor);
    let merge = Action::Merge {
        into: CaseId::from_uuid(Uuid::from_u128(6)),
    };
    let merged = apply(&received(), merge, &boss, now(), &limits()).unwrap();
    assert_eq!(merged.state.disposition, Disposition::Merged);
    let mut referred = received();
    referred.stage = Stage::Closed;
    referred.disposition = Disposition::Referred;
    let reopen = Action::Reopen {
        reason: "属于本单位受理范围".into(),
        to: Stage::Verify,
    };
    let t = apply(&referred, reopen, &boss, now(), &limits()).unwrap();
    assert_eq!(t.state.disposition, Disposition::Accepted);
}

#[test]
fn the_new_actions_read_from_json() {
    let refer: Action = serde_json::from_str(
        r#"{"action":"refer","to":"discipline_inspection","message":"转纪委"}"#,
    )
    .unwrap();
    assert_eq!(refer.kind(), ActionKind::Refer);
    let unknown =
        serde_json::from_str::<Action>(r#"{"action":"refer","to":"court","message":"m"}"#);
    assert!(unknown.is_err());
    let accept: Action = serde_json::from_str(r#"{"action":"accept"}"#).unwrap();
    assert_eq!(accept, Action::Accept);
}

/// The whole way, from the acceptance decision to the close.
#[test]
fn happy_path_from_receipt_to_close() {
    let intake = actor(1, Role::Intake);
    let verifier = actor(2, Role::Verifier);
    let boss = actor(3, Role::Supervisor);
    let mut state = CaseState::new(CaseId::new_v7(1_790_000_000_000), SelectionStage::Publicity);
    assert!(state.hold_active);
    let steps = [
        (intake, Action::Accept, Stage::Verify),
        (verifier, Action::Claim, Stage::Verify),
        (
            verifier,
            Action::Verified {
                outcome: Outcome::Substantiated,
            },
            Stage::Handle,
        ),
        (boss, Action::Claim, Stage::Handle),
        (
            boss,
            Action::Decided {
                decision: "暂缓任命并调整".into(),
            },
            Stage::Notify,
        ),
        (boss, Action::Claim, Stage::Notify),
        (
            boss,
            Action::Feedback {
                message: "经查属实，已作处理".into(),
            },
            Stage::Notify,
        ),
        (boss, Action::Close, Stage::Closed),
    ];
    let mut history = Vec::new();
    for (who, action, expected) in steps {
        let t = apply(&state, action, &who, now(), &limits()).unwrap();
        assert_eq!(t.to, expected);
        history.extend(t.events);
        state = t.state;
    }
    assert!(!state.is_open());
    assert!(!state.hold_active);
    assert!(history.contains(&Event::HoldLifted));
    assert_eq!(history.iter().filter(|e| e.for_reporter()).count(), 1);
    assert_eq!(state.disposition, Disposition::Concluded);
    assert_eq!(state.verified_by, Some(verifier.id));
    assert_eq!(
        run(&state, ActionKind::Claim, &boss),
        Err(Refusal::AlreadyClosed)
    );
}

#[test]
fn a_referred_case_reopens_to_verification_only_and_an_unknown_verifier_is_refused() {
    let boss = actor(1, Role::Supervisor);
    let mut referred = received();
    referred.stage = Stage::Closed;
    referred.disposition = Disposition::Referred;
    let to_handle = Action::Reopen {
        reason: "应当受理".into(),
        to: Stage::Handle,
    };
    // It was never verified: in handle it could never be closed.
    assert_eq!(
        apply(&referred, to_handle, &boss, now(), &limits()),
        Err(Refusal::MissingOutcome)
    );
    // Verified before who verified was kept: the finding is refused.
    let mut unknown = ready(Stage::Notify, boss.id);
    unknown.verified_by = None;
    let finding = Action::KnowinglyFalse {
        reason: "捏造".into(),
    };
    assert_eq!(
        apply(&unknown, finding, &boss, now(), &limits()),
        Err(Refusal::KnowinglyFalseByVerifier)
    );
}
