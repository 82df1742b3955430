//! The wording of mails to staff, from the message catalog. A mail says
//! only that something needs attention: the case number, the unit, the
//! stage, the deadline and a link. Never the report, the accused, the
//! reporter or a tracking code — the inputs below cannot carry them.

use chrono::{DateTime, Utc};
use sunlight_core::i18n::Lang;
use sunlight_core::notice::NoticeKind;
use sunlight_core::policy::Policy;
use sunlight_core::{CaseId, CaseNumber, Stage, TaskKind};

use crate::i18n::{catalog, word};

/// Where the mails point and in which language they are written.
#[derive(Debug, Clone)]
pub struct MailStyle {
    pub lang: Lang,
    /// The triage app as staff open it, e.g. `https://triage.example.org`.
    pub link_base: String,
}

/// What a mail may say.
#[derive(Debug, Clone)]
pub struct MailFacts<'a> {
    pub case: CaseId,
    /// Named in the subject and body when the case has one.
    pub number: Option<&'a CaseNumber>,
    pub unit_name: &'a str,
    /// `None` for hold notices.
    pub stage: Option<Stage>,
    /// `None` for a reply on a closed case.
    pub due: Option<DateTime<Utc>>,
}

/// The catalog keys of a notice's subject and body (literal, so the
/// catalog test finds them).
fn keys(kind: NoticeKind) -> (&'static str, &'static str) {
    match kind {
        NoticeKind::Opened => ("mail.opened_subject", "mail.opened_body"),
        NoticeKind::Reminder { .. } => ("mail.reminder_subject", "mail.reminder_body"),
        NoticeKind::Unclaimed => ("mail.unclaimed_subject", "mail.unclaimed_body"),
        NoticeKind::Overdue => ("mail.overdue_subject", "mail.overdue_body"),
        NoticeKind::HoldNoticeLate => (
            "mail.hold_notice_late_subject",
            "mail.hold_notice_late_body",
        ),
        NoticeKind::HoldExpired => ("mail.hold_expired_subject", "mail.hold_expired_body"),
    }
}

/// The last 8 hex digits of the case id: random in both id versions, so
/// short enough for a subject and still telling cases apart.
pub fn short_case(case: CaseId) -> String {
    let low = case.as_uuid().as_u128() & 0xffff_ffff;
    format!("{low:08x}")
}

/// Subject and body of a notice's mail, deadlines shown as local dates.
pub fn render(
    style: &MailStyle,
    policy: &Policy,
    kind: NoticeKind,
    facts: &MailFacts<'_>,
) -> (String, String) {
    let percent = match kind {
        NoticeKind::Reminder { per_mille } => format!("{}", f64::from(per_mille) / 10.0),
        _ => String::new(),
    };
    compose(style, policy, keys(kind), facts, &percent)
}

/// The mail that tells a case's people a reporter wrote (new words or
/// evidence): to the owner, or the stage's workers, or — on a closed case —
/// the unit's supervisors, who may reopen it (复查). It says that, never
/// what.
pub fn render_reply(
    style: &MailStyle,
    policy: &Policy,
    closed: bool,
    facts: &MailFacts<'_>,
) -> (String, String) {
    let keys = if closed {
        ("mail.closed_reply_subject", "mail.closed_reply_body")
    } else {
        ("mail.reply_subject", "mail.reply_body")
    };
    compose(style, policy, keys, facts, "")
}

/// Subject and body of a task's notice (受理告知, 复查): what is due and by
/// when, never what the report or the objection says.
pub fn render_task(
    style: &MailStyle,
    policy: &Policy,
    task: TaskKind,
    kind: NoticeKind,
    facts: &MailFacts<'_>,
) -> (String, String) {
    let keys = match (task, kind) {
        (TaskKind::Acknowledge, NoticeKind::Overdue) => (
            "mail.acknowledge_overdue_subject",
            "mail.acknowledge_overdue_body",
        ),
        (TaskKind::Acknowledge, _) => (
            "mail.acknowledge_reminder_subject",
            "mail.acknowledge_reminder_body",
        ),
        (TaskKind::Reexamine, NoticeKind::Opened) => (
            "mail.reexamine_opened_subject",
            "mail.reexamine_opened_body",
        ),
        (TaskKind::Reexamine, NoticeKind::Overdue) => (
            "mail.reexamine_overdue_subject",
            "mail.reexamine_overdue_body",
        ),
        (TaskKind::Reexamine, _) => (
            "mail.reexamine_reminder_subject",
            "mail.reexamine_reminder_body",
        ),
        (TaskKind::Interim, NoticeKind::Overdue) => {
            ("mail.interim_overdue_subject", "mail.interim_overdue_body")
        }
        (TaskKind::Interim, _) => (
            "mail.interim_reminder_subject",
            "mail.interim_reminder_body",
        ),
    };
    let percent = match kind {
        NoticeKind::Reminder { per_mille } => format!("{}", f64::from(per_mille) / 10.0),
        _ => String::new(),
    };
    compose(style, policy, keys, facts, &percent)
}

/// A change to a member's account, told to the member by mail. The mail
/// says what changed and when, never a password, code or key: a member who
/// did not expect it knows to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountChange {
    Disabled,
    Enabled,
    PasswordReset,
    PasswordChanged,
    SecondFactorReset,
    SecondFactorEnrolled,
    RecoveryCodeUsed,
    UnitKeyRotated,
}

impl AccountChange {
    /// The catalog key of the change's wording, and its name in the
    /// outbox (`account.<name>`).
    fn key(self) -> (&'static str, &'static str) {
        match self {
            Self::Disabled => ("account.disabled", "disabled"),
            Self::Enabled => ("account.enabled", "enabled"),
            Self::PasswordReset => ("account.password_reset", "password_reset"),
            Self::PasswordChanged => ("account.password_changed", "password_changed"),
            Self::SecondFactorReset => ("account.totp_reset", "totp_reset"),
            Self::SecondFactorEnrolled => ("account.totp_enrolled", "totp_enrolled"),
            Self::RecoveryCodeUsed => ("account.recovery_code_used", "recovery_code_used"),
            Self::UnitKeyRotated => ("account.key_rotated", "key_rotated"),
        }
    }

    /// The outbox kind of the mail.
    pub fn kind(self) -> String {
        format!("account.{}", self.key().1)
    }
}

/// Subject and body of the mail that tells a member their account changed
/// on `day` (a date: the mail is no finer a clock than the audit page).
pub fn render_account(style: &MailStyle, change: AccountChange, day: &str) -> (String, String) {
    let t = catalog(style.lang);
    let what = t.get(change.key().0);
    let link = format!("{}/login", style.link_base.trim_end_matches('/'));
    let args = [("what", what), ("day", day), ("link", link.as_str())];
    let mut body = t.format("mail.account_body", &args);
    body.push_str("\n\n-- \n");
    body.push_str(t.get("mail.footer"));
    body.push('\n');
    (t.format("mail.account_subject", &args), body)
}

fn compose(
    style: &MailStyle,
    policy: &Policy,
    (subject_key, body_key): (&str, &str),
    facts: &MailFacts<'_>,
    percent: &str,
) -> (String, String) {
    let t = catalog(style.lang);
    let stage = facts
        .stage
        .map_or_else(String::new, |s| word(style.lang, "stage", s.as_str()));
    let (short, case) = match facts.number {
        Some(n) => (n.to_string(), n.to_string()),
        None => (short_case(facts.case), facts.case.to_string()),
    };
    let link = format!(
        "{}/cases/{}",
        style.link_base.trim_end_matches('/'),
        facts.case
    );
    let due = facts
        .due
        .map_or_else(String::new, |d| policy.last_day(d).to_string());
    let args = [
        ("stage", stage.as_str()),
        ("unit", facts.unit_name),
        ("percent", percent),
        ("short", short.as_str()),
        ("case", case.as_str()),
        ("link", link.as_str()),
        ("due", due.as_str()),
    ];
    let mut body = t.format(body_key, &args);
    body.push_str("\n\n");
    body.push_str(&t.format("mail.case", &args));
    body.push('\n');
    body.push_str(&t.format("mail.unit", &args));
    if facts.stage.is_some() {
        body.push('\n');
        body.push_str(&t.format("mail.stage", &args));
    }
    if facts.due.is_some() {
        body.push('\n');
        body.push_str(&t.format("mail.due", &args));
    }
    body.push_str("\n\n");
    body.push_str(&t.format("mail.link", &args));
    body.push_str("\n\n-- \n");
    body.push_str(t.get("mail.footer"));
    body.push('\n');
    (t.format(subject_key, &args), body)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn account_mails_name_the_change_and_carry_no_secret() {
        let changes = [
            AccountChange::Disabled,
            AccountChange::Enabled,
            AccountChange::PasswordReset,
            AccountChange::PasswordChanged,
            AccountChange::SecondFactorReset,
            AccountChange::SecondFactorEnrolled,
            AccountChange::RecoveryCodeUsed,
            AccountChange::UnitKeyRotated,
        ];
        for lang in [Lang::ZhCn, Lang::En] {
            let style = MailStyle {
                lang,
                link_base: "https://triage.example.org/".into(),
            };
            let mut bodies = std::collections::HashSet::new();
            for change in changes {
                let (subject, body) = render_account(&style, change, "2026-12-05");
                assert!(!subject.contains('{') && !body.contains('{'), "{body}");
                assert!(body.contains("2026-12-05"));
                assert!(body.contains("https://triage.example.org/login"));
                assert!(bodies.insert(body), "each change has its own words");
            }
        }
    }

    #[test]
    fn every_kind_renders_in_both_languages_without_placeholders() {
        let policy = Policy::cn_12380();
        let due = Utc
            .with_ymd_and_hms(2026, 5, 1, 15, 59, 0)
            .single()
            .expect("valid");
        let case = CaseId::from_uuid(Uuid::from_u128(0x0123_4567_89ab_cdef_0011_2233_4455_6677));
        for lang in [Lang::ZhCn, Lang::En] {
            let style = MailStyle {
                lang,
                link_base: "https://triage.example.org/".into(),
            };
            for kind in [
                NoticeKind::Opened,
                NoticeKind::Reminder { per_mille: 750 },
                NoticeKind::Unclaimed,
                NoticeKind::Overdue,
                NoticeKind::HoldNoticeLate,
                NoticeKind::HoldExpired,
            ] {
                let facts = MailFacts {
                    case,
                    number: None,
                    unit_name: "天河区委组织部",
                    stage: Some(Stage::Verify),
                    due: Some(due),
                };
                let (subject, body) = render(&style, &policy, kind, &facts);
                for text in [&subject, &body] {
                    assert!(!text.contains('{'), "{kind}: {text}");
                    assert!(!text.contains("mail."), "{kind}: missing key in {text}");
                }
                assert!(body.contains(&format!("https://triage.example.org/cases/{case}")));
                // The deadline is the local (Beijing) date: 23:59 on May 1st.
                assert!(body.contains("2026-05-01"), "{body}");
                // A deadline at the midnight that ends May 2nd is May 2nd in
                // the mail, as on the pages (which show `last_day`).
                let midnight = policy
                    .end_of_local_day(chrono::NaiveDate::from_ymd_opt(2026, 5, 2).expect("date"));
                let (_, at_midnight) = render(
                    &style,
                    &policy,
                    kind,
                    &MailFacts {
                        due: Some(midnight),
                        ..facts.clone()
                    },
                );
                assert!(at_midnight.contains("2026-05-02"), "{at_midnight}");
                assert!(!at_midnight.contains("2026-05-03"), "{at_midnight}");
                if kind == (NoticeKind::Reminder { per_mille: 750 }) {
                    assert!(subject.contains("75%"), "{subject}");
                }
                assert!(subject.contains("44556677") || kind == NoticeKind::Opened);
                // A numbered case is named by its number; the link keeps the id.
                let number = CaseNumber::parse("gd-gz-tianhe-2026-00042").expect("number");
                let (numbered_subject, numbered_body) = render(
                    &style,
                    &policy,
                    kind,
                    &MailFacts {
                        number: Some(&number),
                        ..facts.clone()
                    },
                );
                assert!(
                    numbered_subject.contains("gd-gz-tianhe-2026-00042")
                        || kind == NoticeKind::Opened,
                    "{numbered_subject}"
                );
                assert!(
                    numbered_body.contains("gd-gz-tianhe-2026-00042"),
                    "{numbered_body}"
                );
                assert!(numbered_body.contains(&format!("/cases/{case}")));
            }
        }
    }
}
