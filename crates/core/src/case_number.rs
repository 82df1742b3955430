//! Case numbers (案件编号) `UNIT-YEAR-NNNNN`: what staff put on a memo
//! instead of a case id, unique and gapless per responsible unit and year.

use std::fmt;

use serde::Serialize;

use crate::domain::{DomainError, UnitId};

/// The oldest and latest year a number may carry: wide enough for any
/// deployment, narrow enough that a typo such as `20266` is refused.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2999;

/// A case number such as `gd-gz-tianhe-2026-00042`: the unit that was
/// responsible when the case was numbered, the local year of its arrival
/// and its place in that unit's year (1, 2, … without gaps). Beyond 99999 a
/// year's sequence simply grows a digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseNumber {
    pub unit: UnitId,
    pub year: i32,
    pub seq: u32,
}

impl CaseNumber {
    /// Parses what a person typed or copied from a memo; surrounding white
    /// space is ignored, anything else malformed is refused.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let bad = || DomainError::BadCaseNumber;
        let mut parts = raw.trim().rsplitn(3, '-');
        let seq = parts.next().ok_or_else(bad)?;
        let year = parts.next().ok_or_else(bad)?;
        let unit = parts.next().ok_or_else(bad)?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(seq) || !digits(year) || year.len() != 4 {
            return Err(bad());
        }
        let year: i32 = year.parse().map_err(|_| bad())?;
        let seq: u32 = seq.parse().map_err(|_| bad())?;
        if !YEARS.contains(&year) || seq == 0 {
            return Err(bad());
        }
        Ok(Self {
            unit: UnitId::parse(unit).map_err(|_| bad())?,
            year,
            seq,
        })
    }
}

impl fmt::Display for CaseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{:05}", self.unit, self.year, self.seq)
    }
}

impl Serialize for CaseNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_pads_to_five_digits() {
        let n = CaseNumber::parse("gd-gz-tianhe-2026-00042").unwrap();
        assert_eq!(n.unit.as_str(), "gd-gz-tianhe");
        assert_eq!((n.year, n.seq), (2026, 42));
        assert_eq!(n.to_string(), "gd-gz-tianhe-2026-00042");
        let big = CaseNumber {
            seq: 123_456,
            ..n.clone()
        };
        assert_eq!(big.to_string(), "gd-gz-tianhe-2026-123456");
        assert_eq!(CaseNumber::parse(&big.to_string()).unwrap(), big);
        assert_eq!(
            CaseNumber::parse("  gd-2026-7 ").unwrap().to_string(),
            "gd-2026-00007"
        );
    }

    #[test]
    fn refuses_what_is_not_a_number() {
        for raw in [
            "",
            "gd",
            "gd-2026",
            "2026-00001",
            "gd-26-00001",
            "gd-20266-00001",
            "gd-1999-00001",
            "gd-2026-00000",
            "gd-2026-0x1",
            "gd-2026-+1",
            "GD-2026-00001",
            "gd--2026-00001",
            "gd-2026-99999999999",
            "01a21d2b-f57c-4e5d-9c1a-5b7e8d2f3a41",
        ] {
            assert!(CaseNumber::parse(raw).is_err(), "{raw:?} accepted");
        }
    }
}
