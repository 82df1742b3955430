//! Deadline policy: how long each stage of a case may take, when the owner is
//! reminded, and in which time zone days end.
//!
//! Deadlines are data. Two presets ship embedded (`cn-12380`, the default,
//! and `eu-2019-1937`); an operator's policy file may start from a preset
//! with `preset = "cn-12380"` and override any value, or spell out all of
//! them. Every policy is validated when loaded, so a running service never
//! meets a zero-length stage or a reminder after its deadline.

use std::fmt;

use chrono::{DateTime, Days, FixedOffset, Months, NaiveDate, NaiveTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, toml_message};

const PRESETS: &[(&str, &str)] = &[
    ("cn-12380", include_str!("../policies/cn-12380.toml")),
    (
        "eu-2019-1937",
        include_str!("../policies/eu-2019-1937.toml"),
    ),
];

/// Real time zones lie within ±14 hours of UTC.
const MAX_OFFSET_MINUTES: i32 = 14 * 60;

/// The kinds of deadline a policy sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// Accept, or forward to the responsible level.
    Route,
    /// 受理告知 to a real-name reporter.
    AcknowledgeRealName,
    /// 暂缓: tell a running selection to stop, counted from routing.
    HoldNotice,
    /// Longest a hold lasts before it escalates to the level above.
    HoldMax,
    /// 查核
    Verify,
    /// Longest single extension of verification.
    VerifyExtensionMax,
    /// 处理, after the verification outcome.
    Handle,
    /// 转办件复核, after the other body's result.
    Recheck,
    /// 反馈, after the handling decision.
    Notify,
    /// Longest a question to the reporter pauses a stage.
    ReporterPauseMax,
    /// How long after the feedback a reporter may object and ask for a
    /// re-examination (复查请求).
    ReexamineRequest,
    /// 复查: the unit above answers an objection within this.
    Reexamine,
    /// 阶段性反馈: after a stage runs late, the owner writes the reporter
    /// an interim message within this. Optional in a policy
    /// file (5 working days when absent).
    Interim,
}

impl DeadlineKind {
    /// The deadline a stage runs against; a closed case has none.
    pub fn of_stage(stage: crate::Stage) -> Option<Self> {
        use crate::Stage;
        match stage {
            Stage::Received => Some(Self::Route),
            Stage::Verify => Some(Self::Verify),
            Stage::Handle => Some(Self::Handle),
            Stage::Recheck => Some(Self::Recheck),
            Stage::Notify => Some(Self::Notify),
            Stage::Closed => None,
        }
    }

    pub const ALL: &'static [Self] = &[
        Self::Route,
        Self::AcknowledgeRealName,
        Self::HoldNotice,
        Self::HoldMax,
        Self::Verify,
        Self::VerifyExtensionMax,
        Self::Handle,
        Self::Recheck,
        Self::Notify,
        Self::ReporterPauseMax,
        Self::ReexamineRequest,
        Self::Reexamine,
        Self::Interim,
    ];

    /// The key in a policy file's `[deadlines]` table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Route => "route",
            Self::AcknowledgeRealName => "acknowledge_real_name",
            Self::HoldNotice => "hold_notice",
            Self::HoldMax => "hold_max",
            Self::Verify => "verify",
            Self::VerifyExtensionMax => "verify_extension_max",
            Self::Handle => "handle",
            Self::Recheck => "recheck",
            Self::Notify => "notify",
            Self::ReporterPauseMax => "reporter_pause_max",
            Self::ReexamineRequest => "reexamine_request",
            Self::Reexamine => "reexamine",
            Self::Interim => "interim",
        }
    }
}

impl fmt::Display for DeadlineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A length of time. In a policy file: `{ working_days = 5 }`,
/// `{ calendar_days = 60 }` or `{ months = 3 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Span {
    /// 工作日 on the calendar; the start day never counts.
    WorkingDays(u32),
    CalendarDays(u32),
    /// Same day of the month, or the month's last day when it is shorter.
    Months(u32),
}

impl Span {
    /// A span longer than about ten years is a typo, not a policy, and
    /// would make every deadline computation walk that many days (a
    /// `working_days = 4294967295` took seconds per case). Returns the
    /// bound it breaks, as a policy file would write it.
    fn too_long(self) -> Option<&'static str> {
        match self {
            Self::WorkingDays(n) if n > 2_500 => Some("working_days = 2500"),
            Self::CalendarDays(n) if n > 3_660 => Some("calendar_days = 3660"),
            Self::Months(n) if n > 120 => Some("months = 120"),
            _ => None,
        }
    }

    fn amount(self) -> u32 {
        match self {
            Self::WorkingDays(n) | Self::CalendarDays(n) | Self::Months(n) => n,
        }
    }

    /// The last day of the span that starts on local date `start`.
    /// Saturates at the last date chrono can hold.
    pub fn end_date(self, start: NaiveDate, cal: &Calendar) -> NaiveDate {
        match self {
            Self::WorkingDays(n) => cal.add_working_days(start, n),
            Self::CalendarDays(n) => start
                .checked_add_days(Days::new(u64::from(n)))
                .unwrap_or(NaiveDate::MAX),
            Self::Months(n) => start
                .checked_add_months(Months::new(n))
                .unwrap_or(NaiveDate::MAX),
        }
    }

    /// The span in calendar days from `start`, e.g. to bound an extension
    /// that is granted in days by a policy written in months.
    pub fn calendar_days_from(self, start: NaiveDate, cal: &Calendar) -> u32 {
        let days = (self.end_date(start, cal) - start).num_days();
        u32::try_from(days).unwrap_or(u32::MAX)
    }
}

/// A reminder point of a stage, the key that makes each one sent once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderKind {
    /// To the owner, when this share (in ‰) of the stage's time has passed.
    Reminder { per_mille: u16 },
    /// The deadline passed: supervisors and the parent unit are told.
    Overdue,
}

impl fmt::Display for ReminderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reminder { per_mille } => write!(f, "reminder-{per_mille}"),
            Self::Overdue => f.write_str("overdue"),
        }
    }
}

/// Why a policy was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("not a valid policy file: {message}")]
    Toml { message: String },
    #[error("no policy preset named {name:?} (known: cn-12380, eu-2019-1937)")]
    UnknownPreset { name: String },
    #[error("no built-in calendar named {name:?} (known: cn, weekends)")]
    UnknownCalendar { name: String },
    #[error("{field} is missing (or start from a preset with `preset = \"cn-12380\"`)")]
    Missing { field: String },
    #[error("deadline {kind} must not be zero")]
    ZeroSpan { kind: DeadlineKind },
    #[error("deadline {kind} is longer than ten years (at most {max})")]
    SpanTooLong {
        kind: DeadlineKind,
        max: &'static str,
    },
    #[error("reminders: {reason}")]
    BadReminders { reason: &'static str },
    #[error("utc_offset_minutes {minutes} is outside ±840")]
    BadUtcOffset { minutes: i32 },
    #[error("retention_months {months} is outside 1..=1200")]
    BadRetention { months: u32 },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    preset: Option<String>,
    name: Option<String>,
    calendar: Option<String>,
    utc_offset_minutes: Option<i32>,
    reminders: Option<Vec<f64>>,
    retention_months: Option<u32>,
    end_on_working_day: Option<bool>,
    #[serde(default)]
    deadlines: Deadlines<Option<Span>>,
}

/// One value per [`DeadlineKind`]: `Option<Span>` as read, `Span` once whole.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Deadlines<T> {
    route: T,
    acknowledge_real_name: T,
    hold_notice: T,
    hold_max: T,
    verify: T,
    verify_extension_max: T,
    handle: T,
    recheck: T,
    notify: T,
    reporter_pause_max: T,
    reexamine_request: T,
    reexamine: T,
    #[serde(default)]
    interim: T,
}

impl<T: Copy> Deadlines<T> {
    fn get(&self, kind: DeadlineKind) -> T {
        match kind {
            DeadlineKind::Route => self.route,
            DeadlineKind::AcknowledgeRealName => self.acknowledge_real_name,
            DeadlineKind::HoldNotice => self.hold_notice,
            DeadlineKind::HoldMax => self.hold_max,
            DeadlineKind::Verify => self.verify,
            DeadlineKind::VerifyExtensionMax => self.verify_extension_max,
            DeadlineKind::Handle => self.handle,
            DeadlineKind::Recheck => self.recheck,
            DeadlineKind::Notify => self.notify,
            DeadlineKind::ReporterPauseMax => self.reporter_pause_max,
            DeadlineKind::ReexamineRequest => self.reexamine_request,
            DeadlineKind::Reexamine => self.reexamine,
            DeadlineKind::Interim => self.interim,
        }
    }

    fn try_map<U, E>(
        &self,
        mut f: impl FnMut(DeadlineKind, T) -> Result<U, E>,
    ) -> Result<Deadlines<U>, E> {
        use DeadlineKind as K;
        Ok(Deadlines {
            route: f(K::Route, self.route)?,
            acknowledge_real_name: f(K::AcknowledgeRealName, self.acknowledge_real_name)?,
            hold_notice: f(K::HoldNotice, self.hold_notice)?,
            hold_max: f(K::HoldMax, self.hold_max)?,
            verify: f(K::Verify, self.verify)?,
            verify_extension_max: f(K::VerifyExtensionMax, self.verify_extension_max)?,
            handle: f(K::Handle, self.handle)?,
            recheck: f(K::Recheck, self.recheck)?,
            notify: f(K::Notify, self.notify)?,
            reporter_pause_max: f(K::ReporterPauseMax, self.reporter_pause_max)?,
            reexamine_request: f(K::ReexamineRequest, self.reexamine_request)?,
            reexamine: f(K::Reexamine, self.reexamine)?,
            interim: f(K::Interim, self.interim)?,
        })
    }
}

/// A validated deadline policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    name: String,
    calendar: String,
    offset: FixedOffset,
    /// Strictly increasing, each in 1..=999.
    reminders: Vec<u16>,
    spans: Deadlines<Span>,
    /// How long a closed case keeps its sealed content (months).
    retention_months: u32,
    /// A span in calendar days or months whose last day is not a working
    /// day ends on the next working day instead (期间届满的最后一日是法定
    /// 休假日的，以休假日后的第一日为期间届满的日期).
    end_on_working_day: bool,
}

impl Policy {
    /// Names of the embedded presets; the first is the default.
    pub const PRESETS: &'static [&'static str] = &["cn-12380", "eu-2019-1937"];

    /// An embedded preset.
    pub fn preset(name: &str) -> Result<Self, PolicyError> {
        let text = PRESETS
            .iter()
            .find(|(preset, _)| *preset == name)
            .map(|(_, text)| *text)
            .ok_or_else(|| PolicyError::UnknownPreset {
                name: name.to_owned(),
            })?;
        Self::from_toml(text)
    }

    /// The default preset, `cn-12380`.
    pub fn cn_12380() -> Self {
        #[expect(
            clippy::expect_used,
            reason = "the presets are embedded and parsed by the tests"
        )]
        Self::preset("cn-12380").expect("embedded preset is valid")
    }

    /// A policy file: complete, or `preset = "…"` plus overrides.
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| PolicyError::Toml {
            message: toml_message(text, &e),
        })?;
        let base = raw.preset.as_deref().map(Self::preset).transpose()?;
        let missing = |field: &str| PolicyError::Missing {
            field: field.to_owned(),
        };

        let name = match (raw.name, &base) {
            (Some(name), _) => name,
            (None, Some(base)) => base.name.clone(),
            (None, None) => return Err(missing("name")),
        };
        let calendar = match (raw.calendar, &base) {
            (Some(calendar), _) => calendar,
            (None, Some(base)) => base.calendar.clone(),
            (None, None) => return Err(missing("calendar")),
        };
        if Calendar::builtin(&calendar).is_err() {
            return Err(PolicyError::UnknownCalendar { name: calendar });
        }
        let minutes = match (raw.utc_offset_minutes, &base) {
            (Some(minutes), _) => minutes,
            (None, Some(base)) => base.offset.local_minus_utc() / 60,
            (None, None) => return Err(missing("utc_offset_minutes")),
        };
        let offset = (-MAX_OFFSET_MINUTES..=MAX_OFFSET_MINUTES)
            .contains(&minutes)
            .then(|| FixedOffset::east_opt(minutes * 60))
            .flatten()
            .ok_or(PolicyError::BadUtcOffset { minutes })?;
        let reminders = match (raw.reminders, &base) {
            (Some(fractions), _) => reminders_per_mille(&fractions)?,
            (None, Some(base)) => base.reminders.clone(),
            (None, None) => return Err(missing("reminders")),
        };
        let retention_months = match (raw.retention_months, &base) {
            (Some(months), _) => months,
            (None, Some(base)) => base.retention_months,
            (None, None) => return Err(missing("retention_months")),
        };
        if !(1..=1200).contains(&retention_months) {
            return Err(PolicyError::BadRetention {
                months: retention_months,
            });
        }
        let end_on_working_day = raw
            .end_on_working_day
            .or(base.as_ref().map(|b| b.end_on_working_day))
            .unwrap_or(false);
        let spans = raw.deadlines.try_map(|kind, span| {
            let span = match (span, &base) {
                (Some(span), _) => span,
                (None, Some(base)) => base.span(kind),
                // Added after complete policy files were written: those
                // keep working with the presets' value.
                (None, None) if kind == DeadlineKind::Interim => Span::WorkingDays(5),
                (None, None) => return Err(missing(&format!("deadlines.{kind}"))),
            };
            if span.amount() == 0 {
                return Err(PolicyError::ZeroSpan { kind });
            }
            if let Some(max) = span.too_long() {
                return Err(PolicyError::SpanTooLong { kind, max });
            }
            Ok(span)
        })?;
        Ok(Self {
            name,
            calendar,
            offset,
            reminders,
            spans,
            retention_months,
            end_on_working_day,
        })
    }

    /// How long a closed case keeps its sealed content, in months.
    pub fn retention_months(&self) -> u32 {
        self.retention_months
    }

    /// When the sealed content of a case closed at `closed_at` is purged.
    pub fn purge_at(&self, closed_at: DateTime<Utc>) -> DateTime<Utc> {
        closed_at
            .checked_add_months(Months::new(self.retention_months))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// The closing time before which a case's content is due for purging
    /// at `now`.
    pub fn purge_cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_sub_months(Months::new(self.retention_months))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The built-in calendar this policy counts working days on; load it
    /// with [`Calendar::builtin`] and add the operator's year files.
    pub fn calendar_name(&self) -> &str {
        &self.calendar
    }

    /// The deployment's time zone, as a fixed offset: days end at its midnight.
    pub fn utc_offset(&self) -> FixedOffset {
        self.offset
    }

    /// Reminder points as fractions of a stage's time.
    pub fn reminder_fractions(&self) -> Vec<f64> {
        self.reminders
            .iter()
            .map(|pm| f64::from(*pm) / 1000.0)
            .collect()
    }

    pub fn span(&self, kind: DeadlineKind) -> Span {
        self.spans.get(kind)
    }

    /// The local calendar date of an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.offset).date_naive()
    }

    /// The last local day of a deadline that runs out at `due`: deadlines
    /// fall at the midnight that ends a local day, and people count that
    /// day itself. Every page and mail that shows a deadline shows this.
    pub fn last_day(&self, due: DateTime<Utc>) -> NaiveDate {
        self.local_date(due - TimeDelta::seconds(1))
    }

    /// Local midnight at the start of the day of `at`, as an instant: the
    /// only time of a reporter's arrival that is ever stored (a finer one,
    /// matched against the network logs of the accused's unit, would name
    /// the reporter).
    pub fn start_of_local_day(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        self.start_of_date(self.local_date(at))
    }

    /// Local midnight at the start of `date`, as an instant.
    pub fn start_of_date(&self, date: NaiveDate) -> DateTime<Utc> {
        date.pred_opt().map_or(DateTime::<Utc>::MIN_UTC, |before| {
            self.end_of_local_day(before)
        })
    }

    /// Local midnight at the end of `date`, as an instant.
    pub fn end_of_local_day(&self, date: NaiveDate) -> DateTime<Utc> {
        date.succ_opt()
            .map(|next| next.and_time(NaiveTime::MIN).and_utc())
            .and_then(|midnight| {
                midnight.checked_sub_signed(TimeDelta::seconds(i64::from(
                    self.offset.local_minus_utc(),
                )))
            })
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// When a deadline of `kind` that starts at `start` runs out: the end of
    /// the span's last local day. The start day itself never counts.
    pub fn due(&self, kind: DeadlineKind, start: DateTime<Utc>, cal: &Calendar) -> DateTime<Utc> {
        let span = self.span(kind);
        let last_day = span.end_date(self.local_date(start), cal);
        let due = self.end_of_local_day(last_day);
        if matches!(span, Span::WorkingDays(_)) {
            due
        } else {
            self.on_working_day(due, cal)
        }
    }

    /// With `end_on_working_day`, a deadline whose last day is not a
    /// working day ends with the next working day (calendar-day spans and
    /// the days an extension adds); otherwise `due` itself.
    pub fn on_working_day(&self, due: DateTime<Utc>, cal: &Calendar) -> DateTime<Utc> {
        let last_day = self.last_day(due);
        if self.end_on_working_day && !cal.is_working_day(last_day) {
            self.end_of_local_day(cal.add_working_days(last_day, 1))
        } else {
            due
        }
    }

    /// The same policy without the roll to a working day: the rules of
    /// releases before it, for recomputing their deadlines.
    pub fn without_end_on_working_day(&self) -> Self {
        Self {
            end_on_working_day: false,
            ..self.clone()
        }
    }

    /// The reminder points between `start` and `due` (which the caller has
    /// already moved for pauses and extensions), then overdue at `due`.
    pub fn reminder_instants(
        &self,
        start: DateTime<Utc>,
        due: DateTime<Utc>,
    ) -> Vec<(ReminderKind, DateTime<Utc>)> {
        let total_ms = i128::from((due - start).num_milliseconds().max(0));
        let mut out: Vec<_> = self
            .reminders
            .iter()
            .map(|&per_mille| {
                let ms = total_ms * i128::from(per_mille) / 1000;
                let at = i64::try_from(ms)
                    .ok()
                    .and_then(|ms| start.checked_add_signed(TimeDelta::milliseconds(ms)))
                    .unwrap_or(due);
                (ReminderKind::Reminder { per_mille }, at)
            })
            .collect();
        out.push((ReminderKind::Overdue, due));
        out
    }
}

/// Fractions become per-mille so that each reminder has an exact key.
fn reminders_per_mille(fractions: &[f64]) -> Result<Vec<u16>, PolicyError> {
    let mut out: Vec<u16> = Vec::with_capacity(fractions.len());
    for &fraction in fractions {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(PolicyError::BadReminders {
                reason: "each must lie strictly between 0 and 1",
            });
        }
        // A search instead of a float-to-integer cast, which could truncate.
        let per_mille = (1..=999u16)
            .find(|pm| (f64::from(*pm) - fraction * 1000.0).abs() <= 0.5)
            .ok_or(PolicyError::BadReminders {
                reason: "each must be at least 0.001 away from 0 and 1",
            })?;
        if out.last().is_some_and(|prev| *prev >= per_mille) {
            return Err(PolicyError::BadReminders {
                reason: "they must increase, and differ by at least 0.001",
            });
        }
        out.push(per_mille);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
