//! Search of sealed reports (查询, 凡提必查): how a searched name or text is
//! compared with a report opened in a staff session. Pure: the caller
//! opens each report with the session's unit key and asks [`Query::hit`];
//! nothing here is stored, so nothing about a report is indexed at rest.
//!
//! Names are compared after [`normalize`]: full-width letters and digits
//! become half-width (`ＡＢＣ１２` → `abc12`), every space (also the
//! ideographic one) and the dots of transcribed names (`阿不都·热合曼`,
//! `阿不都・热合曼`) go, Latin letters are lower-cased. A name hits when
//! the accused's normalized name contains the searched one (`张三` finds
//! `张三丰` too: a pre-appointment check had rather show one report too
//! many than miss one; staff see the name and judge).

use crate::report::ReportContent;

/// Characters dropped from names and texts before comparing: spaces, the
/// dots and dashes that join the parts of transcribed names, and the
/// invisible format characters a form accepts (a soft hyphen or a zero
/// width joiner must not hide a name from a check).
fn dropped(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '·' | '・' | '･' | '•' | '‧' | '.' | '-' | '‐' | '‑' | '‒' | '–' | '—' | '_'
        )
        || matches!(
            u32::from(c),
            0xAD | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0xFEFF
        )
}

/// Shortest part of a query, in characters once normalized: one character
/// (a surname, 局) would list a jurisdiction's reports wholesale.
pub const MIN_PART: usize = 2;

/// Longest part of a query, in characters as given.
pub const MAX_PART: usize = 200;

/// Why a query was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("nothing to search for")]
    Empty,
    #[error("each part of a search needs at least {MIN_PART} characters")]
    TooShort,
    #[error("each part of a search has at most {MAX_PART} characters")]
    TooLong,
}

/// The form a name or text is compared in.
pub fn normalize(text: &str) -> String {
    text.chars()
        .map(|c| match u32::from(c) {
            // Full-width ASCII (！ … ～) to half-width.
            0xFF01..=0xFF5E => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .filter(|c| !dropped(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// What a member searches for; each part, when given, must hit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// The accused's name, normalized.
    name: Option<String>,
    /// Anywhere in the narrative or the accused's position, normalized.
    text: Option<String>,
    /// The accused's position (the pre-appointment check's), normalized.
    position: Option<String>,
}

impl Query {
    /// A query from the member's words; blank parts are left out.
    pub fn new(name: &str, text: &str, position: &str) -> Result<Self, QueryError> {
        let part = |raw: &str| -> Result<Option<String>, QueryError> {
            if raw.chars().count() > MAX_PART {
                return Err(QueryError::TooLong);
            }
            match normalize(raw) {
                n if n.is_empty() => Ok(None),
                n if n.chars().count() < MIN_PART => Err(QueryError::TooShort),
                n => Ok(Some(n)),
            }
        };
        let q = Self {
            name: part(name)?,
            text: part(text)?,
            position: part(position)?,
        };
        if q.name.is_none() && q.text.is_none() && q.position.is_none() {
            return Err(QueryError::Empty);
        }
        Ok(q)
    }

    /// A query every report hits (a list of cases opened for their names).
    pub fn everything() -> Self {
        Self::default()
    }

    /// Whether the opened report hits every part of the query.
    pub fn hit(&self, report: &ReportContent) -> bool {
        let contains = |field: &str, part: &Option<String>| {
            part.as_ref()
                .is_none_or(|p| normalize(field).contains(p.as_str()))
        };
        contains(&report.accused_name, &self.name)
            && contains(&report.accused_position, &self.position)
            && self.text.as_ref().is_none_or(|t| {
                normalize(&report.narrative).contains(t.as_str())
                    || normalize(&report.accused_position).contains(t.as_str())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str, position: &str, narrative: &str) -> ReportContent {
        ReportContent {
            accused_name: name.into(),
            accused_position: position.into(),
            narrative: narrative.into(),
            reporter_name: Some("举报人甲".into()),
            reporter_phone: None,
            letter: None,
        }
    }

    #[test]
    fn widths_spaces_and_dots_do_not_matter() {
        assert_eq!(normalize("Ｚｈａｎｇ　Ｓａｎ１２"), "zhangsan12");
        assert_eq!(normalize(" 阿不都·热合曼 "), normalize("阿不都・热合曼"));
        assert_eq!(normalize("张 三"), "张三");
        let q = Query::new("张　三", "", "").unwrap();
        assert!(q.hit(&report("张三", "", "")));
        assert!(
            q.hit(&report(" 张三丰", "", "")),
            "contains: one too many, never one missed"
        );
        assert!(
            !q.hit(&report("李四", "", "张三请客")),
            "the name is the accused's"
        );
        let uyghur = Query::new("阿不都・热合曼", "", "").unwrap();
        for written in [
            "阿不都·热合曼",
            "阿不都．热合曼",
            "阿不都.热合曼",
            "阿不都-热合曼",
            "阿不都\u{ad}热合\u{200d}曼",
        ] {
            assert!(uyghur.hit(&report(written, "", "")), "{written}");
        }
        assert_eq!(
            normalize("ÉLODIE İz"),
            normalize("élodie i̇z"),
            "not only ASCII folds"
        );
    }

    #[test]
    fn every_given_part_must_hit_and_blank_parts_do_not_count() {
        assert_eq!(Query::new(" ", "\u{3000}", ""), Err(QueryError::Empty));
        assert_eq!(Query::new("王", "", ""), Err(QueryError::TooShort));
        assert_eq!(
            Query::new(&"王".repeat(201), "", ""),
            Err(QueryError::TooLong)
        );
        let r = report("王五", "县交通局局长", "2024年民主推荐前送购物卡");
        assert!(Query::new("王五", "购物卡", "").unwrap().hit(&r));
        assert!(
            Query::new("", "交通局", "").unwrap().hit(&r),
            "text finds the position too"
        );
        assert!(Query::new("王五", "", "交通局").unwrap().hit(&r));
        assert!(!Query::new("王五", "", "财政局").unwrap().hit(&r));
        assert!(Query::everything().hit(&r), "the merge picker's list");
        assert!(!Query::new("王五", "茅台", "").unwrap().hit(&r));
        assert!(
            !Query::new("", "举报人甲", "").unwrap().hit(&r),
            "never the reporter's own details"
        );
    }
}
