//! Domain types with one way in: identifiers and the closed vocabularies of
//! interfaces.md (form values, JSON values and database values are the same
//! strings).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a value from outside was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("unit id must be 1-64 characters of a-z, 0-9 and '-', starting with a letter")]
    BadUnitId,
    #[error("not a case id")]
    BadCaseId,
    #[error("not a case number (UNIT-YEAR-NNNNN)")]
    BadCaseNumber,
    #[error("unknown {kind} value")]
    UnknownValue { kind: &'static str },
}

/// A unit (组织部门) slug such as `gd-guangzhou-tianhe`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UnitId(String);

impl UnitId {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let ok_len = (1..=64).contains(&raw.len());
        let starts_with_letter = raw.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        let ok_chars = raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok_len && starts_with_letter && ok_chars && !raw.ends_with('-') {
            Ok(Self(raw.to_owned()))
        } else {
            Err(DomainError::BadUnitId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UnitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for UnitId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A case (举报件) identifier: a UUIDv7, so ids sort by arrival.
/// A UUIDv7 whose time part is `day_start` (the start of the arrival day)
/// and whose other 74 bits are random: for the rows a reporter's arrival
/// writes (case, message, attachment), so no id carries the moment.
pub fn arrival_id(day_start: chrono::DateTime<chrono::Utc>) -> Uuid {
    let millis = u64::try_from(day_start.timestamp_millis()).unwrap_or(0);
    let mut random = [0u8; 10];
    // Without the OS generator there is no tracking code either; the id
    // then still carries no time beyond the day.
    let _no_randomness = getrandom::fill(&mut random);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CaseId(Uuid);

impl CaseId {
    /// A new id. Its time part is the arrival time in milliseconds, which is
    /// already kept as `received_at`, so it reveals nothing more: callers
    /// pass the start of the arrival day (`arrival_id`), never the moment.
    pub fn new_v7(unix_millis: u64) -> Self {
        let ts = uuid::Timestamp::from_unix(
            uuid::NoContext,
            unix_millis / 1000,
            u32::try_from((unix_millis % 1000) * 1_000_000).unwrap_or(0),
        );
        Self(Uuid::new_v7(ts))
    }

    /// The id of a case that arrived on the day starting at `day_start`:
    /// ids sort by day, and within a day at random.
    pub fn arrived_on(day_start: chrono::DateTime<chrono::Utc>) -> Self {
        Self(arrival_id(day_start))
    }

    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        Uuid::parse_str(raw.trim())
            .map(Self)
            .map_err(|_| DomainError::BadCaseId)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Declares a closed vocabulary whose wire form is a fixed snake_case string.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                match raw { $($wire => Ok($name::$variant),)+ _ => Err(DomainError::UnknownValue { kind: $kind }) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// The five key problem classes (5类问题) and the catch-all.
    Category, "category" {
        /// 拉票贿选
        CanvassingBribery => "canvassing_bribery",
        /// 买官卖官
        OfficeTrading => "office_trading",
        /// 带病提拔
        PromotedWithProblems => "promoted_with_problems",
        /// 突击提拔调整干部
        RushedPromotion => "rushed_promotion",
        /// 其他违规用人
        Other => "other",
    }
);

vocabulary!(
    /// Who the accused is; the last two are key persons (突出关键人).
    AccusedRole, "accused_role" {
        Ordinary => "ordinary",
        UnitLeader => "unit_leader",
        /// 党委主要负责人
        PartySecretary => "party_secretary",
        /// 组织部门主要负责人
        OrgDeptHead => "org_dept_head",
    }
);

impl AccusedRole {
    /// Rule 3: reports about these go to the level above.
    pub fn is_key_person(self) -> bool {
        matches!(self, Self::PartySecretary | Self::OrgDeptHead)
    }
}

vocabulary!(
    /// The step of a selection (选任) that the report points at.
    SelectionStage, "selection_stage" {
        None => "none",
        /// 民主推荐
        Recommendation => "recommendation",
        /// 考察
        Inspection => "inspection",
        /// 讨论决定
        Deliberation => "deliberation",
        /// 任前公示
        Publicity => "publicity",
        /// 已任职
        Appointed => "appointed",
    }
);

impl SelectionStage {
    /// Rule 4: a running selection is held until the report is verified.
    pub fn triggers_hold(self) -> bool {
        matches!(
            self,
            Self::Inspection | Self::Deliberation | Self::Publicity
        )
    }
}

vocabulary!(
    /// How the report arrived (电话、网络、信访).
    Channel, "channel" {
        Web => "web",
        Phone => "phone",
        Letter => "letter",
        Visit => "visit",
    }
);

vocabulary!(
    /// Where a case is in its life.
    Stage, "stage" {
        Received => "received",
        /// 查核
        Verify => "verify",
        /// 处理
        Handle => "handle",
        /// 转办件复核
        Recheck => "recheck",
        /// 反馈
        Notify => "notify",
        Closed => "closed",
    }
);

vocabulary!(
    /// How a case was disposed of (处置方式). `open` until the acceptance
    /// decision (受理); then accepted, or out by one of the short ways.
    Disposition, "disposition" {
        /// Not decided yet.
        Open => "open",
        /// 受理: in verification and the steps after it.
        Accepted => "accepted",
        /// 转交: outside the remit, sent to the responsible body; closed.
        Referred => "referred",
        /// 存查: no substance, and no answer to the question for specifics.
        FiledForReference => "filed_for_reference",
        /// A duplicate merged into another case.
        Merged => "merged",
        /// 办结: verified, handled and answered.
        Concluded => "concluded",
        /// 诬告陷害: recorded by a supervisor after verification; the
        /// reporter is only ever told "not substantiated".
        KnowinglyFalse => "knowingly_false",
    }
);

impl Disposition {
    /// Accepted and verified: the cases a substantiated rate is taken over.
    pub fn was_verified(self) -> bool {
        matches!(self, Self::Concluded | Self::KnowinglyFalse)
    }
}

vocabulary!(
    /// Where a report outside the remit is referred (转交). 12380 takes
    /// reports on the selection and appointment of cadres only.
    ReferralBody, "referral_body" {
        /// 纪委监委 (12388): corruption and discipline.
        DisciplineInspection => "discipline_inspection",
        /// 信访部门: personal grievances and petitions.
        Petitions => "petitions",
        /// 公安机关: crimes.
        PublicSecurity => "public_security",
        /// 其他: another responsible body, named in the message.
        Other => "other",
    }
);

vocabulary!(
    /// Level of a unit in the tree (省、市、县).
    Level, "level" {
        Province => "province",
        City => "city",
        County => "county",
    }
);

impl Level {
    /// The level a unit's parent must have (`None`: a province is a root).
    pub fn parent_level(self) -> Option<Level> {
        match self {
            Level::Province => None,
            Level::City => Some(Level::Province),
            Level::County => Some(Level::City),
        }
    }
}

vocabulary!(
    /// Staff roles.
    Role, "role" {
        /// 受理员
        Intake => "intake",
        /// 查核员
        Verifier => "verifier",
        /// 审核 / 复核
        Supervisor => "supervisor",
        Admin => "admin",
    }
);

vocabulary!(
    /// The result of verification (查核结论).
    Outcome, "outcome" {
        Substantiated => "substantiated",
        Partly => "partly",
        Unsubstantiated => "unsubstantiated",
    }
);

vocabulary!(
    /// The reporter's rating of how their report was handled (满意度评价),
    /// given once per round of feedback.
    Rating, "rating" {
        /// 满意
        Satisfied => "satisfied",
        /// 基本满意
        BasicallySatisfied => "basically_satisfied",
        /// 不满意
        Dissatisfied => "dissatisfied",
    }
);

impl Rating {
    /// Counts towards the satisfaction rate (满意率): satisfied or basically so.
    pub fn is_satisfied(self) -> bool {
        !matches!(self, Self::Dissatisfied)
    }
}

vocabulary!(
    /// Work on a case beside its stages, with a deadline of its own.
    TaskKind, "task" {
        /// 受理告知: tell a real-name reporter the report is accepted.
        Acknowledge => "acknowledge",
        /// 复查: the unit above answers a reporter's objection.
        Reexamine => "reexamine",
        /// 阶段性反馈: a stage ran past its deadline; its owner writes the
        /// reporter a short interim message with the new time frame (an
        /// extension's reason and a question reach the reporter already).
        Interim => "interim",
    }
);

vocabulary!(
    /// What a statistics cell counts (举报情况统计). Each is an event with a
    /// time; a cell counts the events of one local month.
    Measure, "measure" {
        /// Reports received.
        Received => "received",
        /// Routed to the responsible unit (分办).
        Routed => "routed",
        /// Verification concluded (查核结论), first or after 复核.
        Verified => "verified",
        /// Closed with an outcome of substantiated or partly substantiated (属实、部分属实).
        Substantiated => "substantiated",
        /// Closed (办结), merged duplicates not counted.
        Closed => "closed",
        /// Feedback given to the reporter (反馈).
        Feedback => "feedback",
        /// Hold tasks issued on a running selection (暂停任用).
        Hold => "hold",
        /// A verify stage completed; cells also count those done on time.
        VerifyDone => "verify_done",
        HandleDone => "handle_done",
        RecheckDone => "recheck_done",
        NotifyDone => "notify_done",
        /// Ratings given by reporters (满意度评价), by the day they rated.
        Rated => "rated",
        /// Of those, satisfied or basically satisfied (满意率的分子).
        Satisfied => "satisfied",
        /// Objections that asked the unit above for a re-examination (复查).
        Objected => "objected",
        /// The acceptance step (受理) completed; cells also count those on time.
        AcceptDone => "accept_done",
        /// Accepted into verification (受理).
        Accepted => "accepted",
        /// Closed as referred to another body (转交, 业务范围外).
        Referred => "referred",
        /// Closed as filed for reference (存查, 无实质内容).
        FiledForReference => "filed_for_reference",
        /// Closed after verification: the base of the substantiated rate.
        Concluded => "concluded",
        /// Of those, recorded as knowingly false (诬告陷害).
        KnowinglyFalse => "knowingly_false",
        /// Closed cases opened again (重新办理, or reporter material on a filed case).
        Reopened => "reopened",
    }
);

impl Measure {
    /// The measure counting completions of a queue stage, if it has a queue.
    pub fn stage_done(stage: Stage) -> Option<Self> {
        match stage {
            Stage::Verify => Some(Self::VerifyDone),
            Stage::Handle => Some(Self::HandleDone),
            Stage::Recheck => Some(Self::RecheckDone),
            Stage::Notify => Some(Self::NotifyDone),
            Stage::Received => Some(Self::AcceptDone),
            Stage::Closed => None,
        }
    }

    /// Stage completions carry an on-time count.
    pub fn has_deadline(self) -> bool {
        matches!(
            self,
            Self::AcceptDone
                | Self::VerifyDone
                | Self::HandleDone
                | Self::RecheckDone
                | Self::NotifyDone
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_ids() {
        assert!(UnitId::parse("gd").is_ok());
        assert!(UnitId::parse("gd-gz-tianhe2").is_ok());
        for bad in ["", "Gd", "1gd", "gd_", "gd-", "gd/..", &"a".repeat(65)] {
            assert_eq!(UnitId::parse(bad), Err(DomainError::BadUnitId), "{bad}");
        }
    }

    #[test]
    fn vocabularies_round_trip_and_refuse_unknown() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>(), Ok(*c));
            assert_eq!(
                serde_json::to_string(c).unwrap(),
                format!("\"{}\"", c.as_str())
            );
        }
        assert!("bribery".parse::<Category>().is_err());
        assert!("Verify".parse::<Stage>().is_err());
        assert_eq!("recheck".parse::<Stage>(), Ok(Stage::Recheck));
    }

    #[test]
    fn rules_three_and_four() {
        assert!(AccusedRole::PartySecretary.is_key_person());
        assert!(AccusedRole::OrgDeptHead.is_key_person());
        assert!(!AccusedRole::UnitLeader.is_key_person());
        let held: Vec<_> = SelectionStage::ALL
            .iter()
            .filter(|s| s.triggers_hold())
            .collect();
        assert_eq!(held.len(), 3);
    }

    #[test]
    fn case_ids_sort_by_time() {
        let a = CaseId::new_v7(1_000);
        let b = CaseId::new_v7(2_000);
        assert!(a < b);
        assert_eq!(CaseId::parse(&a.to_string()), Ok(a));
    }
}
