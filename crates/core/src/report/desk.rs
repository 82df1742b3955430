//! What only the desk asks of a report taken by phone, letter or visit
//! (信、访、电): the day it was received, from which its deadlines count,
//! and a letter's own details, sealed with the report.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{Field, FieldError, Problem};
use crate::Channel;

/// How far back a received date may lie: a letter found in a drawer after
/// two months is entered as received today and says so in its narrative,
/// so its deadlines are not all overdue the moment it is typed in.
pub const MAX_DAYS_BACK: u64 = 60;

/// The longest return address kept (a postal address with a name).
pub const RETURN_ADDRESS_CHARS: usize = 500;

/// A letter's envelope as the desk read it. Sealed with the report: the
/// return address names the writer as surely as a real name does.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct Letter {
    /// The postmark's date, `YYYY-MM-DD`, when legible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postmark_on: Option<String>,
    /// The return address, as written (empty when there is none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub return_address: String,
}

impl std::fmt::Debug for Letter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Letter(<redacted>)")
    }
}

/// The desk's fields as received (all text, nothing trusted).
#[derive(Clone, Default, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct DeskDraft {
    pub received_on: String,
    pub postmark_on: String,
    pub return_address: String,
}

impl std::fmt::Debug for DeskDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeskDraft(<redacted>)")
    }
}

/// The desk's fields checked: the day received, and the letter's details
/// when the report came by letter and any were given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskDetails {
    pub received_on: NaiveDate,
    pub letter: Option<Letter>,
}

fn date(errors: &mut Vec<FieldError>, field: Field, raw: &str) -> Option<NaiveDate> {
    let parsed = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok();
    if parsed.is_none() {
        errors.push(FieldError {
            field,
            problem: Problem::NotADate,
        });
    }
    parsed
}

impl DeskDraft {
    /// Checks the desk's fields against `today` (the service's local day):
    /// the received day is today when left empty, never later than today
    /// and at most [`MAX_DAYS_BACK`] days back; a postmark is not after
    /// the day received; a return address is bounded text. Fields of a
    /// letter given for a call or visit are refused, not silently dropped.
    pub fn validate(
        &self,
        channel: Channel,
        today: NaiveDate,
    ) -> Result<DeskDetails, Vec<FieldError>> {
        let mut errors = Vec::new();
        let received_on = if self.received_on.trim().is_empty() {
            Some(today)
        } else {
            date(&mut errors, Field::ReceivedOn, &self.received_on)
        };
        let earliest = today.checked_sub_days(Days::new(MAX_DAYS_BACK));
        match received_on {
            Some(day) if day > today => errors.push(FieldError {
                field: Field::ReceivedOn,
                problem: Problem::InTheFuture,
            }),
            Some(day) if earliest.is_some_and(|e| day < e) => errors.push(FieldError {
                field: Field::ReceivedOn,
                problem: Problem::TooLongAgo { max: MAX_DAYS_BACK },
            }),
            _ => {}
        }
        let postmark_on = match self.postmark_on.trim() {
            "" => None,
            raw => date(&mut errors, Field::PostmarkOn, raw),
        };
        if let (Some(postmark), Some(received)) = (postmark_on, received_on)
            && postmark > received
        {
            errors.push(FieldError {
                field: Field::PostmarkOn,
                problem: Problem::AfterReceipt,
            });
        }
        let return_address = super::text(
            &mut errors,
            Field::ReturnAddress,
            &self.return_address,
            RETURN_ADDRESS_CHARS,
            false,
            true,
        );
        let letter_given = postmark_on.is_some() || !return_address.is_empty();
        if letter_given && channel != Channel::Letter {
            let field = if postmark_on.is_some() {
                Field::PostmarkOn
            } else {
                Field::ReturnAddress
            };
            errors.push(FieldError {
                field,
                problem: Problem::OnlyForLetters,
            });
        }
        match received_on {
            Some(received_on) if errors.is_empty() => Ok(DeskDetails {
                received_on,
                letter: letter_given.then(|| Letter {
                    postmark_on: postmark_on.map(|d| d.format("%Y-%m-%d").to_string()),
                    return_address,
                }),
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn draft(received: &str, postmark: &str, address: &str) -> DeskDraft {
        DeskDraft {
            received_on: received.into(),
            postmark_on: postmark.into(),
            return_address: address.into(),
        }
    }

    fn problems(r: Result<DeskDetails, Vec<FieldError>>) -> Vec<(Field, Problem)> {
        r.unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.problem))
            .collect()
    }

    #[test]
    fn the_received_day_is_today_or_up_to_sixty_days_back() {
        let today = day("2026-12-05");
        let ok = draft("", "", "").validate(Channel::Phone, today).unwrap();
        assert_eq!((ok.received_on, ok.letter), (today, None));
        let back = draft("2026-10-06", "", "").validate(Channel::Visit, today);
        assert_eq!(back.unwrap().received_on, day("2026-10-06"));
        assert_eq!(
            problems(draft("2026-10-05", "", "").validate(Channel::Phone, today)),
            [(Field::ReceivedOn, Problem::TooLongAgo { max: 60 })]
        );
        assert_eq!(
            problems(draft("2026-12-06", "", "").validate(Channel::Phone, today)),
            [(Field::ReceivedOn, Problem::InTheFuture)]
        );
        assert_eq!(
            problems(draft("5.12.2026", "", "").validate(Channel::Phone, today)),
            [(Field::ReceivedOn, Problem::NotADate)]
        );
    }

    #[test]
    fn a_letter_keeps_its_envelope_and_a_call_has_none() {
        let today = day("2026-12-05");
        let letter = draft("2026-12-03", "2026-12-01", "  广州市天河区某路 1 号  ")
            .validate(Channel::Letter, today)
            .unwrap();
        let envelope = letter.letter.unwrap();
        assert_eq!(envelope.postmark_on.as_deref(), Some("2026-12-01"));
        assert_eq!(envelope.return_address, "广州市天河区某路 1 号");
        assert_eq!(
            problems(draft("2026-12-03", "2026-12-04", "").validate(Channel::Letter, today)),
            [(Field::PostmarkOn, Problem::AfterReceipt)]
        );
        assert_eq!(
            problems(draft("", "", "某路 1 号").validate(Channel::Phone, today)),
            [(Field::ReturnAddress, Problem::OnlyForLetters)]
        );
        let long = "路".repeat(RETURN_ADDRESS_CHARS + 1);
        assert_eq!(
            problems(draft("", "", &long).validate(Channel::Letter, today)),
            [(Field::ReturnAddress, Problem::TooLong { max: 500 })]
        );
    }
}
