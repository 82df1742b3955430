//! The application state shared by all workers.

use std::path::PathBuf;

use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
use sunlight_core::i18n::Lang;
use sunlight_core::policy::DeadlineKind;

use crate::error::{Failure, Format, IntakeError};
use crate::guard::Limiters;
use crate::i18n;
use sunlight_filing::Filing;
use sunlight_web::Opt;

#[derive(Debug)]
pub struct AppState {
    pub filing: Filing,
    pub limiters: Limiters,
    pub spool_dir: PathBuf,
    pub onion: Option<String>,
}

impl AppState {
    /// A browser-sealing request: refused at once where the deployment
    /// does not offer that path (before a limit, a permit or the body is
    /// spent on it), then admitted as any other.
    pub(crate) fn admit_sealed(
        &self,
        req: &HttpRequest,
        bucket: fn(&Limiters) -> bool,
    ) -> Result<Lang, Failure> {
        if !self.filing.seals_in_browser() {
            return Err(Failure {
                error: IntakeError::Sealed(sunlight_filing::SealedRefusal::NotOffered),
                lang: i18n::lang_of(req),
                format: Format::Json,
            });
        }
        self.admit(req, bucket, Format::Json)
    }

    /// The opening of every reporter POST: the caller's language, once
    /// `bucket` gave the request a token (a 429 in `format` when spent).
    /// It comes before the body is read, so a refused request costs no
    /// reading.
    pub(crate) fn admit(
        &self,
        req: &HttpRequest,
        bucket: fn(&Limiters) -> bool,
        format: Format,
    ) -> Result<Lang, Failure> {
        let lang = i18n::lang_of(req);
        if !bucket(&self.limiters) {
            return Err(Failure {
                error: IntakeError::RateLimited,
                lang,
                format,
            });
        }
        Ok(lang)
    }

    /// The most a multipart body may hold: every file at its limit plus the
    /// text fields and multipart framing.
    pub fn max_body_bytes(&self) -> u64 {
        let l = &self.filing.limits;
        let files = l
            .attachment_bytes
            .saturating_mul(u64::try_from(l.attachments).unwrap_or(u64::MAX));
        let text = u64::try_from(l.max_text_bytes()).unwrap_or(u64::MAX);
        files
            .saturating_add(text.saturating_mul(3))
            .saturating_add(64 * 1024)
    }

    pub fn route_deadline(&self, received: DateTime<Utc>) -> DateTime<Utc> {
        self.filing
            .policy
            .due(DeadlineKind::Route, received, &self.filing.calendar)
    }

    /// A date as the deployment's people read it (the policy's time zone).
    pub fn local_date(&self, at: DateTime<Utc>) -> String {
        self.filing
            .policy
            .local_date(at)
            .format("%Y-%m-%d")
            .to_string()
    }

    /// The last day of a deadline: deadlines fall at the end of a local
    /// day (midnight after it), and people count the day itself.
    pub fn deadline_date(&self, due: DateTime<Utc>) -> String {
        self.filing
            .policy
            .last_day(due)
            .format("%Y-%m-%d")
            .to_string()
    }

    pub fn local_time(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.filing.policy.utc_offset())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    /// The unit tree as select options in tree order (province, its
    /// cities, each city's counties), labelled with the full path: English
    /// names on English pages where the unit has one.
    pub async fn unit_options(&self, chosen: &str, english: bool) -> Result<Vec<Opt>, IntakeError> {
        let units = self.filing.store.public_units().await?;
        let mut out = Vec::with_capacity(units.len());
        // Depth-first from the roots; the tree has at most a few thousand units.
        fn walk<'a>(
            units: &'a [sunlight_store::UnitRow],
            parent: Option<&'a str>,
            prefix: &str,
            chosen: &str,
            english: bool,
            out: &mut Vec<Opt>,
            depth: usize,
        ) {
            if depth > 8 {
                return;
            }
            let mut children: Vec<_> = units
                .iter()
                .filter(|u| u.parent.as_ref().map(|p| p.as_str()) == parent)
                .collect();
            children.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
            for u in children {
                let name = u.display_name(english);
                let label = if prefix.is_empty() {
                    name.to_owned()
                } else {
                    format!("{prefix} / {name}")
                };
                out.push(Opt {
                    value: u.id.as_str().to_owned(),
                    label: label.clone(),
                    selected: u.id.as_str() == chosen,
                });
                walk(
                    units,
                    Some(u.id.as_str()),
                    &label,
                    chosen,
                    english,
                    out,
                    depth + 1,
                );
            }
        }
        walk(&units, None, "", chosen, english, &mut out, 0);
        Ok(out)
    }
}
