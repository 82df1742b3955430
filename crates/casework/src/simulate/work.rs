//! One working day of the simulated staff: claims, actions and answers to the reporters' questions.

use super::*;

/// Reporters who were asked answer after their delay (some never do).
pub(super) async fn answer_questions(
    store: &Store,
    units: &[SimUnit],
    plans: &mut HashMap<CaseId, Plan>,
    now: DateTime<Utc>,
) -> Result<(), SimError> {
    let mut due: Vec<CaseId> = plans
        .iter()
        .filter(|(_, p)| {
            let question = !p.answered
                && matches!((p.asked_at, p.answer_after_days), (Some(at), Some(d)) if at + Duration::days(d) <= now);
            let specifics = matches!((p.specifics_asked_at, p.remit), (Some(at), Remit::NoSubstance(Some(d))) if at + Duration::days(d) <= now);
            question || specifics
        })
        .map(|(id, _)| *id)
        .collect();
    due.sort_by_key(|id| id.as_uuid());
    for id in due {
        let Some(plan) = plans.get_mut(&id) else {
            continue;
        };
        if let Remit::NoSubstance(Some(_)) = plan.remit {
            // The specifics came: the desk now finds it within the remit.
            plan.remit = Remit::Within;
        } else {
            plan.answered = true;
        }
        let Some(unit) = units.get(plan.unit) else {
            continue;
        };
        let mid = Uuid::now_v7();
        let sealed = seal(
            "模拟答复".as_bytes(),
            &SealContext {
                case_id: id,
                item: &item::message(mid),
            },
            &unit.chain_keys,
        )
        .map_err(|e| SimError::Setup(e.to_string()))?;
        store
            .add_message_with(id, mid, None, sealed, Vec::new(), now)
            .await?;
    }
    Ok(())
}

/// One working day of one unit's verifier and supervisor.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site, all state of the loop"
)]
pub(super) async fn work_day(
    triage: &Triage,
    calendar: &Calendar,
    unit_index: usize,
    unit: &SimUnit,
    plans: &mut HashMap<CaseId, Plan>,
    rng: &mut Rng,
    cfg: &SimConfig,
    now: DateTime<Utc>,
) -> Result<u64, SimError> {
    let policy = &triage.policy;
    let mut actions = 0;
    let worked_days = |from: DateTime<Utc>| {
        calendar.working_days_between(policy.local_date(from), policy.local_date(now))
    };
    actions += accept_day(triage, unit, plans, rng, cfg, &worked_days, now).await?;
    for stage in [Stage::Verify, Stage::Recheck, Stage::Handle, Stage::Notify] {
        let filter = QueueFilter {
            unit: Some(unit.id.clone()),
            limit: 1000,
            ..QueueFilter::default()
        };
        let mut items = triage
            .store
            .queue_items(&unit.jurisdiction, stage, &filter)
            .await?;
        items.sort_by_key(|i| i.entry.case_id.as_uuid());
        for item in items {
            if !rng.chance(cfg.share) {
                continue;
            }
            let id = item.entry.case_id;
            let Some(plan) = plans.get_mut(&id) else {
                continue;
            };
            let worker = match stage {
                Stage::Verify | Stage::Notify => &unit.verifier,
                _ => &unit.supervisor,
            };
            if item.entry.paused_until.is_some_and(|p| p > now) {
                continue;
            }
            let action = if item.entry.owner.is_none() {
                plan.claimed_at = Some(now);
                Some(Action::Claim)
            } else {
                let since = plan.claimed_at.unwrap_or(now);
                match stage {
                    Stage::Verify if plan.ask_reporter && plan.asked_at.is_none() => {
                        plan.asked_at = Some(now);
                        Some(Action::AskReporter {
                            question: "请补充具体时间和地点。".into(),
                        })
                    }
                    Stage::Verify if (now - since).num_days() >= plan.verify_days => {
                        plan.claimed_at = None;
                        if plan.transfer {
                            Some(Action::Transfer {
                                to: "市纪委监委".into(),
                            })
                        } else {
                            Some(Action::Verified {
                                outcome: rng.pick(Outcome::ALL).unwrap_or(Outcome::Partly),
                            })
                        }
                    }
                    Stage::Recheck if worked_days(since) >= 5 => {
                        plan.claimed_at = None;
                        Some(Action::Rechecked {
                            outcome: rng.pick(Outcome::ALL).unwrap_or(Outcome::Partly),
                        })
                    }
                    Stage::Handle if worked_days(since) >= plan.handle_working_days => {
                        plan.claimed_at = None;
                        Some(Action::Decided {
                            decision: "按规定处理。".into(),
                        })
                    }
                    Stage::Notify if worked_days(since) >= plan.notify_working_days => {
                        let feedback = ActionRequest {
                            action: Action::Feedback {
                                message: "您反映的问题已核查处理。".into(),
                            },
                            note: None,
                        };
                        triage.act(worker, id, feedback, now).await?;
                        actions += 1;
                        plan.claimed_at = None;
                        Some(Action::Close)
                    }
                    _ => None,
                }
            };
            if let Some(action) = action {
                triage
                    .act(worker, id, ActionRequest { action, note: None }, now)
                    .await?;
                actions += 1;
            }
        }
    }
    // Holds: the supervisor confirms the notice to the selection body.
    let mut holds: Vec<(CaseId, Uuid)> = plans
        .iter()
        .filter(|(_, p)| p.unit == unit_index)
        .filter_map(|(id, p)| p.hold.map(|h| (*id, h)))
        .collect();
    holds.sort();
    for (id, hold) in holds {
        if rng.chance(cfg.share) {
            match triage
                .confirm_hold(&unit.supervisor, id, hold, "选拔工作领导小组", now)
                .await
            {
                Ok(()) => actions += 1,
                // Lifted by the verification meanwhile: nothing to confirm.
                Err(
                    CaseworkError::Conflict(_)
                    | CaseworkError::Invalid(_)
                    | CaseworkError::NotFound,
                ) => {}
                Err(e) => return Err(e.into()),
            }
            if let Some(p) = plans.get_mut(&id) {
                p.hold = None;
            }
        }
    }
    Ok(actions)
}

/// The desk's acceptance decisions (受理) of one working day: accept,
/// refer, or ask for specifics once, each after the desk's own delay.
async fn accept_day(
    triage: &Triage,
    unit: &SimUnit,
    plans: &mut HashMap<CaseId, Plan>,
    rng: &mut Rng,
    cfg: &SimConfig,
    worked_days: &impl Fn(DateTime<Utc>) -> u32,
    now: DateTime<Utc>,
) -> Result<u64, SimError> {
    let filter = QueueFilter {
        unit: Some(unit.id.clone()),
        limit: 1000,
        ..QueueFilter::default()
    };
    let mut items = triage
        .store
        .queue_items(&unit.jurisdiction, Stage::Received, &filter)
        .await?;
    items.sort_by_key(|i| i.entry.case_id.as_uuid());
    let mut actions = 0;
    for item in items {
        if !rng.chance(cfg.share) || item.entry.paused_until.is_some_and(|p| p > now) {
            continue;
        }
        let id = item.entry.case_id;
        let Some(plan) = plans.get_mut(&id) else {
            continue;
        };
        if worked_days(item.entry.opened_at) < plan.accept_working_days {
            continue;
        }
        let action = match plan.remit {
            Remit::Within => Action::Accept,
            Remit::Outside(to) => Action::Refer {
                to,
                message: "您反映的问题不属于本单位受理范围，已转交有关部门。".into(),
            },
            Remit::NoSubstance(_) if plan.specifics_asked_at.is_none() => {
                plan.specifics_asked_at = Some(now);
                Action::AskSpecifics {
                    question: "请补充被举报人、时间、地点和具体事实。".into(),
                }
            }
            // Asked and unanswered: the sweeper files it when the pause ends.
            Remit::NoSubstance(_) => continue,
        };
        let request = ActionRequest { action, note: None };
        triage.act(&unit.supervisor, id, request, now).await?;
        actions += 1;
    }
    Ok(actions)
}
