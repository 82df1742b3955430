//! The simulation's final count, from what the store holds (the ledger,
//! the queue entries and the outbox), and its printed form.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sunlight_core::notice::NoticeKind;
use sunlight_core::policy::Policy;
use sunlight_store::Store;
use uuid::Uuid;

use super::{SimConfig, SimError, SimSummary};

/// The final count, from what the store holds.
pub(super) async fn tally(
    store: &Store,
    policy: &Policy,
    cfg: &SimConfig,
    end: DateTime<Utc>,
    summary: &mut SimSummary,
) -> Result<(), SimError> {
    let interval = Duration::minutes(i64::from(cfg.sweep_minutes.max(1)));
    let entries = store.all_queue_entries().await?;
    let notices = store.all_notices().await?;
    let mut by_entry: HashMap<Uuid, Vec<&sunlight_store::entity::notice::Model>> = HashMap::new();
    let mut pairs: Vec<(Uuid, &str)> = Vec::with_capacity(notices.len());
    for n in &notices {
        by_entry.entry(n.entry_id).or_default().push(n);
        pairs.push((n.entry_id, n.kind.as_str()));
        // Stage reminders are counted against the stages' reminder points;
        // a task's (`task:…`) follow the task's own clock.
        if n.kind.starts_with("reminder-") && !n.stage.starts_with("task:") {
            if n.mails > 0 {
                summary.reminders_mailed += 1;
            } else {
                summary.reminders_superseded += 1;
            }
        }
        if n.kind == NoticeKind::HoldExpired.to_string() {
            summary.holds_expired += 1;
        }
    }
    let all = pairs.len();
    pairs.sort_unstable();
    pairs.dedup();
    summary.duplicates += (all - pairs.len()) as u64;
    let mails = store.outbox_all().await?;
    let mut keys: Vec<&str> = mails.iter().map(|m| m.dedupe_key.as_str()).collect();
    let all = keys.len();
    keys.sort_unstable();
    keys.dedup();
    summary.duplicates += (all - keys.len()) as u64;
    for m in &mails {
        *summary
            .mails_by_kind
            .entry(m.kind.clone().unwrap_or_default())
            .or_default() += 1;
    }

    #[derive(Default)]
    struct CaseTally {
        open: bool,
        late: bool,
        unescalated: bool,
    }
    let mut cases: HashMap<Uuid, CaseTally> = HashMap::new();
    let mut verified: std::collections::HashSet<Uuid> = std::collections::HashSet::new();
    for e in &entries {
        let stage = e
            .stage
            .parse::<sunlight_core::Stage>()
            .map_or("?", |s| s.as_str());
        if stage == "verify" {
            verified.insert(e.case_id);
        }
        let per_stage = summary.stages.entry(stage).or_default();
        if let Some(closed) = e.closed_at.filter(|c| *c <= end) {
            per_stage.0 += 1;
            per_stage.1 += u64::from(closed <= e.due_at);
        }
        if e.due_at <= e.closed_at.unwrap_or(end).min(end) {
            per_stage.2 += 1;
        }
        let t = cases.entry(e.case_id).or_default();
        t.open |= e.closed_at.is_none();
        let until = e.closed_at.unwrap_or(end).min(end);
        let points = policy.reminder_instants(e.opened_at, e.due_at);
        summary.reminders_expected += points
            .iter()
            .filter(|(k, at)| {
                matches!(k, sunlight_core::policy::ReminderKind::Reminder { .. }) && *at <= until
            })
            .count() as u64;
        // The deadline is the end of its last day: at that instant the
        // stage is overdue (the sweeper escalates at `due <= now`).
        if e.due_at > until {
            continue;
        }
        summary.overdue_stages += 1;
        t.late = true;
        let mine = by_entry.get(&e.id).map_or(&[][..], Vec::as_slice);
        match mine.iter().find(|n| n.kind == "overdue") {
            Some(n) => {
                let lag = n.recorded_at - e.due_at;
                if lag <= Duration::zero() {
                    summary.escalated_at_deadline += 1;
                } else if lag <= interval {
                    summary.escalated_within_interval += 1;
                } else {
                    summary.escalated_late += 1;
                    t.unescalated = true;
                }
            }
            None => {
                summary.never_escalated += 1;
                t.unescalated = true;
            }
        }
        if mine
            .iter()
            .any(|n| n.kind.starts_with("reminder-") && n.mails > 0 && n.recorded_at <= e.due_at)
        {
            summary.reminded_before_deadline += 1;
        }
    }
    for (id, disposition) in store.all_dispositions().await? {
        *summary
            .dispositions
            .entry(disposition.as_str())
            .or_default() += 1;
        let short = matches!(
            disposition,
            sunlight_core::Disposition::Referred | sunlight_core::Disposition::FiledForReference
        );
        summary.short_disposals_verified += u64::from(short && verified.contains(&id));
    }
    for t in cases.values() {
        match (t.open, t.late) {
            (true, _) => summary.still_open += 1,
            (false, false) => summary.closed_in_time += 1,
            (false, true) => summary.closed_late += 1,
        }
        summary.reports_overdue += u64::from(t.late);
        summary.reports_without_escalation += u64::from(t.unescalated);
    }
    Ok(())
}

impl std::fmt::Display for SimSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "reports received              {:>8}", self.received)?;
        writeln!(
            f,
            "  closed in time              {:>8}",
            self.closed_in_time
        )?;
        writeln!(f, "  closed late                 {:>8}", self.closed_late)?;
        writeln!(f, "  still open                  {:>8}", self.still_open)?;
        writeln!(
            f,
            "reports that went overdue     {:>8}",
            self.reports_overdue
        )?;
        writeln!(
            f,
            "  without an escalation by the deadline (+1 sweep) {:>3}",
            self.reports_without_escalation
        )?;
        writeln!(
            f,
            "stages past their deadline    {:>8}",
            self.overdue_stages
        )?;
        writeln!(
            f,
            "  escalated at the deadline   {:>8}",
            self.escalated_at_deadline
        )?;
        writeln!(
            f,
            "  escalated within one sweep  {:>8}",
            self.escalated_within_interval
        )?;
        writeln!(
            f,
            "  escalated later             {:>8}",
            self.escalated_late
        )?;
        writeln!(
            f,
            "  never escalated             {:>8}",
            self.never_escalated
        )?;
        writeln!(
            f,
            "  reminded before the deadline{:>8}",
            self.reminded_before_deadline
        )?;
        writeln!(
            f,
            "reminders expected            {:>8}",
            self.reminders_expected
        )?;
        writeln!(
            f,
            "  mailed                      {:>8}",
            self.reminders_mailed
        )?;
        writeln!(
            f,
            "  superseded (not mailed)     {:>8}",
            self.reminders_superseded
        )?;
        self.fmt_dispositions(f)?;
        writeln!(f, "duplicates                    {:>8}", self.duplicates)?;
        writeln!(f, "holds escalated (past max)    {:>8}", self.holds_expired)?;
        writeln!(f, "staff actions                 {:>8}", self.staff_actions)?;
        writeln!(
            f,
            "sweeper passes                {:>8}",
            self.sweeper_passes
        )?;
        let total: u64 = self.mails_by_kind.values().sum();
        writeln!(f, "mails written                 {total:>8}")?;
        for (kind, n) in &self.mails_by_kind {
            writeln!(f, "  {kind:<28}{n:>8}")?;
        }
        write!(f, "elapsed                       {:>6} ms", self.elapsed_ms)
    }
}

impl SimSummary {
    /// The dispositions at the end and each stage's completions.
    fn fmt_dispositions(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "dispositions at the end")?;
        for (d, n) in &self.dispositions {
            writeln!(f, "  {d:<28}{n:>8}")?;
        }
        writeln!(
            f,
            "  referred or filed, yet verified {:>5}",
            self.short_disposals_verified
        )?;
        writeln!(f, "stages done (on time) / past their deadline")?;
        for (stage, (done, on_time, overdue)) in &self.stages {
            writeln!(
                f,
                "  {stage:<10}{done:>8} ({on_time:>6} on time) {overdue:>6} overdue"
            )?;
        }
        Ok(())
    }
}
