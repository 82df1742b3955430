//! A report as a reporter (or an intake officer) writes it: validation of the
//! raw fields, the split into plain routing metadata and the sealed content,
//! and the padded encoding of what gets sealed.
//!
//! Validation caps every length *before* anything slow or stored happens
//! (audits of SecureDrop and GlobaLeaks found unbounded input fed to key
//! derivation), and refuses control characters that have no place in text a
//! person typed.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{AccusedRole, Category, Channel, SelectionStage, UnitId};

/// Size limits of what a reporter may send. Defaults from the intake issue:
/// 50,000 characters of narrative, 5 files of 20 MiB each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub narrative_chars: usize,
    pub message_chars: usize,
    pub name_chars: usize,
    pub phone_chars: usize,
    pub attachments: usize,
    pub attachment_bytes: u64,
    pub file_name_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            narrative_chars: 50_000,
            message_chars: 20_000,
            name_chars: 200,
            phone_chars: 40,
            attachments: 5,
            attachment_bytes: 20 * 1024 * 1024,
            file_name_chars: 200,
        }
    }
}

impl Limits {
    /// Worst-case UTF-8 bytes of all text fields of a report, for body-size
    /// limits set before parsing.
    pub fn max_text_bytes(&self) -> usize {
        let chars = self
            .narrative_chars
            .saturating_add(self.name_chars.saturating_mul(3))
            .saturating_add(self.phone_chars)
            .saturating_add(1024);
        chars.saturating_mul(4)
    }
}

/// The fields of the report form, as received (all text, nothing trusted).
#[derive(Clone, Default, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct ReportDraft {
    pub unit: String,
    pub category: String,
    pub accused_name: String,
    pub accused_position: String,
    pub accused_role: String,
    pub selection_stage: String,
    pub narrative: String,
    pub real_name: bool,
    pub reporter_name: String,
    pub reporter_phone: String,
}

/// Which field a problem is about; the wire names of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Unit,
    Category,
    AccusedName,
    AccusedPosition,
    AccusedRole,
    SelectionStage,
    Narrative,
    RealName,
    ReporterName,
    ReporterPhone,
    Attachment,
    Body,
    Code,
    Channel,
    ReceivedOn,
    PostmarkOn,
    ReturnAddress,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unit => "unit",
            Self::Category => "category",
            Self::AccusedName => "accused_name",
            Self::AccusedPosition => "accused_position",
            Self::AccusedRole => "accused_role",
            Self::SelectionStage => "selection_stage",
            Self::Narrative => "narrative",
            Self::RealName => "real_name",
            Self::ReporterName => "reporter_name",
            Self::ReporterPhone => "reporter_phone",
            Self::Attachment => "attachment",
            Self::Body => "body",
            Self::Code => "code",
            Self::Channel => "channel",
            Self::ReceivedOn => "received_on",
            Self::PostmarkOn => "postmark_on",
            Self::ReturnAddress => "return_address",
        }
    }
}

/// What is wrong with a field. Each maps to a catalog message
/// `problem.<name>` that can name the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    Missing,
    TooLong {
        max: u64,
    },
    UnknownValue,
    ControlCharacters,
    /// A phone number may hold digits, spaces and `+-()` only.
    NotAPhoneNumber,
    TooMany {
        max: u64,
    },
    /// An unknown unit: the slug names no unit of this service.
    NoSuchUnit,
    /// Not a date of the form `YYYY-MM-DD`.
    NotADate,
    /// A day received that has not come yet.
    InTheFuture,
    /// A day received more than `max` days back.
    TooLongAgo {
        max: u64,
    },
    /// A postmark later than the day the letter was received.
    AfterReceipt,
    /// A letter's detail given for a call or a visit.
    OnlyForLetters,
    /// A file over `max` MiB.
    FileTooLarge {
        max: u64,
    },
}

impl Problem {
    /// The catalog key of the message.
    pub fn key(self) -> &'static str {
        match self {
            Self::Missing => "problem.missing",
            Self::TooLong { .. } => "problem.too_long",
            Self::UnknownValue => "problem.unknown_value",
            Self::ControlCharacters => "problem.control_characters",
            Self::NotAPhoneNumber => "problem.not_a_phone_number",
            Self::TooMany { .. } => "problem.too_many",
            Self::NoSuchUnit => "problem.no_such_unit",
            Self::NotADate => "problem.not_a_date",
            Self::InTheFuture => "problem.in_the_future",
            Self::TooLongAgo { .. } => "problem.too_long_ago",
            Self::AfterReceipt => "problem.after_receipt",
            Self::OnlyForLetters => "problem.only_for_letters",
            Self::FileTooLarge { .. } => "problem.file_too_large",
        }
    }

    /// The number a message may show (`{max}`).
    pub fn max(self) -> Option<u64> {
        match self {
            Self::TooLong { max }
            | Self::TooMany { max }
            | Self::TooLongAgo { max }
            | Self::FileTooLarge { max } => Some(max),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: Field,
    pub problem: Problem,
}

/// The part of a report that is sealed: everything a person wrote. Padded
/// when encoded so the ciphertext length says little about the text.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct ReportContent {
    pub accused_name: String,
    pub accused_position: String,
    pub narrative: String,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    /// A letter's envelope, for reports the desk took by letter; absent
    /// from (and so not changing) the encoding of every other report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub letter: Option<desk::Letter>,
}

/// A report that passed validation: plain routing metadata plus the content
/// to seal.
#[derive(Clone, PartialEq, Eq)]
pub struct ValidReport {
    pub unit: UnitId,
    pub category: Category,
    pub accused_role: AccusedRole,
    pub selection_stage: SelectionStage,
    pub channel: Channel,
    pub real_name: bool,
    pub content: ReportContent,
}

/// What is sealed for one attachment besides its bytes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct AttachmentMeta {
    /// The file name the reporter's browser sent, cleaned of any path.
    pub file_name: String,
    /// The declared type: shown to staff, never trusted for serving.
    pub declared_type: String,
    pub size: u64,
}

/// A message between staff and the reporter, as sealed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct MessageContent {
    pub body: String,
}

/// What each sealed item of a case is bound to (the `item` of a
/// `SealContext`), so one item's ciphertext cannot stand in for another's.
pub mod item {
    use uuid::Uuid;

    pub const REPORT: &[u8] = b"report";

    pub fn message(id: Uuid) -> Vec<u8> {
        [b"message/".as_slice(), id.as_bytes()].concat()
    }

    pub fn attachment_meta(id: Uuid) -> Vec<u8> {
        [b"attachment-meta/".as_slice(), id.as_bytes()].concat()
    }

    pub fn attachment(id: Uuid) -> Vec<u8> {
        [b"attachment/".as_slice(), id.as_bytes()].concat()
    }
}

/// What a person wrote never appears in a debug print or a log line.
macro_rules! redacted_debug {
    ($($t:ty),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($t), "(<redacted>)"))
            }
        }
    )*};
}
redacted_debug!(
    ReportDraft,
    ReportContent,
    ValidReport,
    AttachmentMeta,
    MessageContent
);

/// Ciphertext lengths are rounded up to this many bytes.
pub const PAD_TO: usize = 1024;

/// Encodes `value` as JSON padded with trailing spaces to a multiple of
/// 1 KiB (JSON ignores trailing whitespace, so decoding needs no framing).
pub fn encode_padded<T: Serialize>(value: &T) -> Result<Zeroizing<Vec<u8>>, serde_json::Error> {
    let mut out = Zeroizing::new(serde_json::to_vec(value)?);
    let padded = out.len().div_ceil(PAD_TO).max(1).saturating_mul(PAD_TO);
    out.resize(padded, b' ');
    Ok(out)
}

pub fn decode_padded<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// Checks one free-text field: trimmed, bounded, no control characters
/// except line breaks and tabs (narratives have paragraphs).
fn text(
    errors: &mut Vec<FieldError>,
    field: Field,
    raw: &str,
    max_chars: usize,
    required: bool,
    multiline: bool,
) -> String {
    let value = raw.trim();
    let problem = if value.is_empty() {
        required.then_some(Problem::Missing)
    } else if value.chars().count() > max_chars {
        Some(Problem::TooLong {
            max: u64::try_from(max_chars).unwrap_or(u64::MAX),
        })
    } else if value
        .chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
    {
        Some(Problem::ControlCharacters)
    } else {
        None
    };
    if let Some(problem) = problem {
        errors.push(FieldError { field, problem });
    }
    value.to_owned()
}

fn vocab<T: std::str::FromStr>(errors: &mut Vec<FieldError>, field: Field, raw: &str) -> Option<T> {
    let raw = raw.trim();
    if raw.is_empty() {
        errors.push(FieldError {
            field,
            problem: Problem::Missing,
        });
        return None;
    }
    let parsed = raw.parse().ok();
    if parsed.is_none() {
        errors.push(FieldError {
            field,
            problem: Problem::UnknownValue,
        });
    }
    parsed
}

/// Validates a message body (reporter reply or staff message).
pub fn validate_message(raw: &str, limits: &Limits) -> Result<Zeroizing<String>, FieldError> {
    let mut errors = Vec::new();
    let body = text(
        &mut errors,
        Field::Body,
        raw,
        limits.message_chars,
        true,
        true,
    );
    match errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(Zeroizing::new(body)),
    }
}

/// Unicode format characters (General Category Cf, Unicode 15.1): bidi
/// embeddings, overrides and isolates, marks, zero-width characters, the
/// byte-order mark, tags. Invisible, and some reorder what follows them:
/// `Minutes\u{202E}fdp.exe` displays as `Minutesexe.pdf`.
pub fn is_format_char(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// `name` without its format characters: for names shown or sent out that
/// were stored before uploads were cleaned of them.
pub fn without_format_chars(name: &str) -> String {
    name.chars().filter(|c| !is_format_char(*c)).collect()
}

/// Cleans a browser-sent file name: only its last path segment, no control
/// or format characters (so a name cannot display as another), bounded;
/// `None` becomes `attachment`.
pub fn clean_file_name(raw: Option<&str>, limits: &Limits) -> String {
    let base = raw
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !is_format_char(*c))
        .take(limits.file_name_chars)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "attachment".to_owned()
    } else {
        cleaned
    }
}

impl ReportDraft {
    /// Validates every field and reports all problems at once, in form
    /// order, so the reporter fixes them in one go.
    pub fn validate(
        &self,
        channel: Channel,
        limits: &Limits,
    ) -> Result<ValidReport, Vec<FieldError>> {
        let mut errors = Vec::new();
        let unit = match self.unit.trim() {
            "" => {
                errors.push(FieldError {
                    field: Field::Unit,
                    problem: Problem::Missing,
                });
                None
            }
            raw => {
                let unit = UnitId::parse(raw).ok();
                if unit.is_none() {
                    errors.push(FieldError {
                        field: Field::Unit,
                        problem: Problem::NoSuchUnit,
                    });
                }
                unit
            }
        };
        let category = vocab::<Category>(&mut errors, Field::Category, &self.category);
        let accused_name = text(
            &mut errors,
            Field::AccusedName,
            &self.accused_name,
            limits.name_chars,
            true,
            false,
        );
        let accused_position = text(
            &mut errors,
            Field::AccusedPosition,
            &self.accused_position,
            limits.name_chars,
            false,
            false,
        );
        let accused_role =
            vocab::<AccusedRole>(&mut errors, Field::AccusedRole, &self.accused_role);
        let selection_stage =
            vocab::<SelectionStage>(&mut errors, Field::SelectionStage, &self.selection_stage);
        let narrative = text(
            &mut errors,
            Field::Narrative,
            &self.narrative,
            limits.narrative_chars,
            true,
            true,
        );
        let reporter_name = text(
            &mut errors,
            Field::ReporterName,
            &self.reporter_name,
            limits.name_chars,
            self.real_name,
            false,
        );
        let reporter_phone = text(
            &mut errors,
            Field::ReporterPhone,
            &self.reporter_phone,
            limits.phone_chars,
            false,
            false,
        );
        if !reporter_phone.is_empty()
            && !reporter_phone
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')'))
            && !errors.iter().any(|e| e.field == Field::ReporterPhone)
        {
            errors.push(FieldError {
                field: Field::ReporterPhone,
                problem: Problem::NotAPhoneNumber,
            });
        }
        match (unit, category, accused_role, selection_stage) {
            (Some(unit), Some(category), Some(accused_role), Some(selection_stage))
                if errors.is_empty() =>
            {
                Ok(ValidReport {
                    unit,
                    category,
                    accused_role,
                    selection_stage,
                    channel,
                    real_name: self.real_name,
                    content: ReportContent {
                        accused_name,
                        accused_position,
                        narrative,
                        reporter_name: Some(reporter_name).filter(|s| !s.is_empty()),
                        reporter_phone: Some(reporter_phone).filter(|s| !s.is_empty()),
                        letter: None,
                    },
                })
            }
            _ => Err(errors),
        }
    }
}

pub mod desk;
#[cfg(test)]
mod tests;
