//! The ISO 37002:2021 (§9.1.2) indicators that routing metadata can give,
//! per row (a unit, a month, a category, a channel) and over a whole
//! jurisdiction. Each is a share or a time from the counted events, never
//! from anything a single case says: docs/statistics.md lists the
//! indicators the standard names that this system must not compute.

use serde::Serialize;

use super::{Figures, Row, median};
use crate::domain::{Channel, Measure};

fn share(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

impl Row {
    /// 属实率: substantiated or partly, over the cases accepted and
    /// verified (concluded or found knowingly false) — never over cases
    /// referred, filed for reference or merged.
    pub fn substantiated_rate(&self) -> Option<f64> {
        share(
            self.get(Measure::Substantiated).n,
            self.get(Measure::Concluded).n,
        )
    }

    /// A disposition's share of the cases closed (`Referred`: out of scope).
    pub fn share_of_closed(&self, m: Measure) -> Option<f64> {
        share(self.get(m).n, self.get(Measure::Closed).n)
    }

    /// 诬告陷害 over the cases accepted and verified.
    pub fn knowingly_false_rate(&self) -> Option<f64> {
        share(
            self.get(Measure::KnowinglyFalse).n,
            self.get(Measure::Concluded).n,
        )
    }

    /// The rates every exported line carries, in column order: on time,
    /// satisfaction, substantiated, out of scope, filed for reference,
    /// knowingly false, reopened.
    pub fn rates(&self) -> [Option<f64>; 7] {
        [
            self.on_time_rate(),
            self.satisfaction_rate(),
            self.substantiated_rate(),
            self.share_of_closed(Measure::Referred),
            self.share_of_closed(Measure::FiledForReference),
            self.knowingly_false_rate(),
            self.share_of_closed(Measure::Reopened),
        ]
    }

    /// Acceptance decisions made within their deadline, 0–1.
    pub fn acceptance_on_time_rate(&self) -> Option<f64> {
        let c = self.get(Measure::AcceptDone);
        share(c.on_time, c.n)
    }
}

/// The indicators of a jurisdiction over the figures' months.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Indicators {
    /// Median days from arrival to the acceptance decision (受理).
    pub days_to_acknowledge: Option<u32>,
    /// Acceptance decisions within their deadline, 0–1.
    pub acknowledged_on_time: Option<f64>,
    /// Median days from arrival to the end of each step, by measure
    /// (`accept_done`, `verify_done`, `handle_done`, `recheck_done`,
    /// `notify_done`).
    pub days_to_step: Vec<(Measure, u32)>,
    /// Share of reports per channel.
    pub channel_mix: Vec<(Channel, f64)>,
    /// Referred elsewhere (业务范围外) over the cases closed.
    pub out_of_scope: Option<f64>,
    /// Filed for reference (存查) over the cases closed.
    pub filed_for_reference: Option<f64>,
    /// Substantiated or partly over the cases accepted and verified.
    pub substantiated: Option<f64>,
    /// Knowingly false over the cases accepted and verified.
    pub knowingly_false: Option<f64>,
    /// 满意率 of the reporters' ratings.
    pub satisfaction: Option<f64>,
    /// Mean days from arrival to closing.
    pub mean_days_to_close: Option<f64>,
    /// Reopened (重新办理, or reporter material on a filed case) over the
    /// cases closed.
    pub reopened: Option<f64>,
}

const STEPS: [Measure; 5] = [
    Measure::AcceptDone,
    Measure::VerifyDone,
    Measure::HandleDone,
    Measure::RecheckDone,
    Measure::NotifyDone,
];

impl Indicators {
    pub fn of(fig: &Figures) -> Self {
        let total = &fig.total;
        let received = total.get(Measure::Received).n;
        let hist = |m: Measure| fig.day_hist.get(&m);
        Self {
            days_to_acknowledge: hist(Measure::AcceptDone).and_then(median),
            acknowledged_on_time: total.acceptance_on_time_rate(),
            days_to_step: STEPS
                .iter()
                .filter_map(|m| Some((*m, median(hist(*m)?)?)))
                .collect(),
            channel_mix: Channel::ALL
                .iter()
                .filter_map(|c| {
                    let n = fig.by_channel.get(c)?.get(Measure::Received).n;
                    Some((*c, share(n, received)?))
                })
                .collect(),
            out_of_scope: total.share_of_closed(Measure::Referred),
            filed_for_reference: total.share_of_closed(Measure::FiledForReference),
            substantiated: total.substantiated_rate(),
            knowingly_false: total.knowingly_false_rate(),
            satisfaction: total.satisfaction_rate(),
            mean_days_to_close: hist(Measure::Closed).and_then(|h| {
                let n: u64 = h.values().sum();
                let days: u64 = h.iter().map(|(d, k)| u64::from(*d) * k).sum();
                share(days, n)
            }),
            reopened: total.share_of_closed(Measure::Reopened),
        }
    }
}
