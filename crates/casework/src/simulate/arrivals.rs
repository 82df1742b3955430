//! A year of reports: when they arrive, where and about what, from the seed.

use super::*;

pub(super) struct Arrival {
    pub(super) at: DateTime<Utc>,
    pub(super) case: NewCase,
    pub(super) plan: Plan,
}

pub(super) fn arrivals(
    cfg: &SimConfig,
    policy: &Policy,
    calendar: &Calendar,
    units: &[SimUnit],
    rng: &mut Rng,
    start: DateTime<Utc>,
) -> Result<Vec<Arrival>, SimError> {
    let seconds = i64::from(cfg.days) * 86_400;
    let ids: Vec<UnitId> = units.iter().map(|u| u.id.clone()).collect();
    // One key for every simulated reporter: nobody opens their messages here.
    let reporter =
        UnitKeyPair::generate(Suite::Modern).map_err(|e| SimError::Setup(e.to_string()))?;
    let mut out = Vec::with_capacity(usize::try_from(cfg.reports).unwrap_or(0));
    for _ in 0..cfg.reports {
        let at = start + Duration::seconds(rng.range(1, seconds - 1));
        // Counties get most reports, the province fewest.
        let weights: Vec<u64> = UNITS
            .iter()
            .map(|u| match u.2 {
                Level::County => 4,
                Level::City => 2,
                Level::Province => 1,
            })
            .collect();
        let mut ticket = rng.below(weights.iter().sum());
        let mut chosen = 0;
        for (i, w) in weights.iter().enumerate() {
            if ticket < *w {
                chosen = i;
                break;
            }
            ticket -= w;
        }
        let role = if rng.chance(0.9) {
            AccusedRole::Ordinary
        } else {
            rng.pick(AccusedRole::ALL).unwrap_or(AccusedRole::Ordinary)
        };
        // The chain of the chosen unit, nearest first, for the key-person rule.
        let mut chain = Vec::new();
        let mut cur = UNITS.get(chosen).map(|u| u.0);
        while let Some(c) = cur {
            chain.push(UnitId::parse(c).map_err(|e| SimError::Setup(e.to_string()))?);
            cur = UNITS.iter().find(|u| u.0 == c).and_then(|u| u.3);
        }
        let addressed =
            address(&chain, role).ok_or_else(|| SimError::Setup("empty unit chain".into()))?;
        let unit_index = ids
            .iter()
            .position(|u| *u == addressed.responsible)
            .unwrap_or(chosen);
        let unit = units
            .get(unit_index)
            .ok_or_else(|| SimError::Setup("unit out of range".into()))?;
        let selection = if rng.chance(0.85) {
            SelectionStage::None
        } else {
            rng.pick(SelectionStage::ALL)
                .unwrap_or(SelectionStage::None)
        };
        let mut raw = [0u8; 16];
        raw[..8].copy_from_slice(&rng.next().to_le_bytes());
        raw[8..].copy_from_slice(&rng.next().to_le_bytes());
        let id = CaseId::from_uuid(uuid::Builder::from_random_bytes(raw).into_uuid());
        let mut lookup = [0u8; 32];
        for chunk in lookup.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next().to_le_bytes());
        }
        let sealed_report = seal(
            "模拟举报（仅用于演练）".as_bytes(),
            &SealContext {
                case_id: id,
                item: item::REPORT,
            },
            &unit.chain_keys,
        )
        .map_err(|e| SimError::Setup(e.to_string()))?;
        let case = NewCase {
            id,
            lookup_key: lookup,
            unit: addressed.responsible.clone(),
            addressed_unit: chain.first().cloned().unwrap_or_else(|| unit.id.clone()),
            category: rng.pick(Category::ALL).unwrap_or(Category::Other),
            accused_role: role,
            selection_stage: selection,
            channel: rng.pick(Channel::ALL).unwrap_or(Channel::Web),
            real_name: rng.chance(0.3),
            received_at: at,
            sealed_report,
            reporter_public_key: reporter.public,
            first_entry: NewQueueEntry {
                stage: Stage::Received,
                due_at: policy.due(DeadlineKind::Route, at, calendar),
            },
            sealed_to: Default::default(),
        };
        // Most verifications fit the 60 days; one in ten runs long.
        let verify_days = if rng.chance(0.1) {
            rng.range(55, 90)
        } else {
            rng.range(5, 40)
        };
        let ask = rng.chance(0.08);
        let draw = rng.unit();
        let remit = if draw < 0.193 {
            Remit::Outside(rng.pick(ReferralBody::ALL).unwrap_or(ReferralBody::Other))
        } else if draw < 0.193 + 0.073 {
            // A third of them send the specifics asked for.
            Remit::NoSubstance(rng.chance(0.35).then(|| rng.range(2, 25)))
        } else {
            Remit::Within
        };
        let plan = Plan {
            unit: unit_index,
            remit,
            accept_working_days: u32::try_from(rng.range(1, 4)).unwrap_or(2),
            specifics_asked_at: None,
            verify_days,
            handle_working_days: u32::try_from(rng.range(1, 14)).unwrap_or(5),
            notify_working_days: u32::try_from(rng.range(1, 12)).unwrap_or(5),
            transfer: rng.chance(0.05),
            ask_reporter: ask,
            answer_after_days: (ask && rng.chance(0.7)).then(|| rng.range(1, 25)),
            asked_at: None,
            answered: false,
            claimed_at: None,
            hold_pending: selection.triggers_hold(),
            hold: None,
        };
        out.push(Arrival { at, case, plan });
    }
    Ok(out)
}
