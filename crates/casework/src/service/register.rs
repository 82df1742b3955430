//! The register (登记簿) as a member asks for it: filters as typed in a
//! query string or a form, checked against the member's jurisdiction.

use chrono::NaiveDate;
use serde::Deserialize;
use sunlight_core::{CaseNumber, Category, Channel, Disposition, Outcome, Role, UnitId};
use sunlight_store::{RegisterFilter, RegisterPage};

use super::*;

/// The register's filters as they arrive: text, empty meaning "all".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegisterRequest {
    pub stage: Option<String>,
    /// That unit and every unit below it; one of the member's.
    pub unit: Option<String>,
    pub category: Option<String>,
    pub channel: Option<String>,
    /// `true` or `false`.
    pub real_name: Option<String>,
    pub outcome: Option<String>,
    /// `open`, `accepted`, `referred`, `filed_for_reference`, `merged`,
    /// `concluded` or `knowingly_false`.
    pub disposition: Option<String>,
    /// First local arrival day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last local arrival day, `YYYY-MM-DD`.
    pub to: Option<String>,
    /// `me`, or a member's id.
    pub owner: Option<String>,
    /// A case number `UNIT-YEAR-NNNNN`.
    pub number: Option<String>,
    /// From 1.
    pub page: Option<String>,
    /// The answer's language, read elsewhere; accepted so `?lang=` is not
    /// an unknown key.
    pub lang: Option<String>,
}

/// A filter's value that is not one of its kind, by field.
fn bad(field: &'static str) -> CaseworkError {
    CaseworkError::Invalid(Invalid::RegisterFilter(field))
}

/// The value of a filter field, `None` when absent or blank.
pub(super) fn given(raw: Option<&String>) -> Option<&str> {
    raw.map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn parsed<T: std::str::FromStr>(
    raw: Option<&String>,
    field: &'static str,
) -> Result<Option<T>, CaseworkError> {
    given(raw)
        .map(|s| s.parse::<T>().map_err(|_| bad(field)))
        .transpose()
}

/// A day written `YYYY-MM-DD`, four-digit year 2000-2999: chrono alone
/// would take a sign and any number of digits, dates the databases cannot
/// hold or compare alike.
pub(super) fn local_day(raw: &str) -> Option<NaiveDate> {
    let shape = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
    (shape && (2000..=2999).contains(&chrono::Datelike::year(&date))).then_some(date)
}

impl Triage {
    /// One page of the register of the member's units. Admins act on no
    /// case and list none.
    pub async fn register(
        &self,
        session: &Session,
        req: &RegisterRequest,
    ) -> Result<RegisterPage, CaseworkError> {
        if session.role == Role::Admin {
            return Err(CaseworkError::Forbidden);
        }
        let filter = self.register_filter(session, req).await?;
        Ok(self.store.register(&session.jurisdiction, &filter).await?)
    }

    async fn register_filter(
        &self,
        session: &Session,
        req: &RegisterRequest,
    ) -> Result<RegisterFilter, CaseworkError> {
        let units = match given(req.unit.as_ref()) {
            None => None,
            Some(raw) => {
                let unit = UnitId::parse(raw).map_err(|_| bad("unit"))?;
                if !session.jurisdiction.contains(&unit) {
                    return Err(bad("unit"));
                }
                Some(self.store.jurisdiction(&unit).await?)
            }
        };
        let day = |raw: Option<&String>, field| -> Result<Option<NaiveDate>, CaseworkError> {
            given(raw)
                .map(|s| local_day(s).ok_or_else(|| bad(field)))
                .transpose()
        };
        let from = day(req.from.as_ref(), "from")?;
        let to = day(req.to.as_ref(), "to")?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(bad("to"));
        }
        let owner = match given(req.owner.as_ref()) {
            None => None,
            Some("me") => Some(session.staff_id),
            Some(raw) => Some(Uuid::parse_str(raw).map_err(|_| bad("owner"))?),
        };
        let real_name = match given(req.real_name.as_ref()) {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => return Err(bad("real_name")),
        };
        let page = match given(req.page.as_ref()) {
            None => 1,
            Some(raw) => match raw.parse::<u64>() {
                Ok(n @ 1..=1_000_000) => n,
                _ => return Err(bad("page")),
            },
        };
        Ok(RegisterFilter {
            units,
            stage: parsed::<Stage>(req.stage.as_ref(), "stage")?,
            category: parsed::<Category>(req.category.as_ref(), "category")?,
            channel: parsed::<Channel>(req.channel.as_ref(), "channel")?,
            real_name,
            outcome: parsed::<Outcome>(req.outcome.as_ref(), "outcome")?,
            disposition: parsed::<Disposition>(req.disposition.as_ref(), "disposition")?,
            received_from: from.map(|d| {
                d.pred_opt().map_or(DateTime::<Utc>::MIN_UTC, |before| {
                    self.policy.end_of_local_day(before)
                })
            }),
            received_before: to.map(|d| self.policy.end_of_local_day(d)),
            owner,
            number: given(req.number.as_ref())
                .map(|s| CaseNumber::parse(s).map_err(|_| bad("number")))
                .transpose()?,
            page,
        })
    }
}
