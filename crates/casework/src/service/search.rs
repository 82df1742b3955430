//! Search and the pre-appointment check (查询, 凡提必查): the member's
//! jurisdiction's sealed reports opened in their session, in parallel,
//! batch by batch, and matched with `sunlight_core::search`. Nothing is
//! indexed at rest; each search is audited with its count, and its words
//! only sealed to the member's units (a searched name is as sensitive as a
//! reported one).

use serde::Deserialize;
use sunlight_core::crypto::Opener;
use sunlight_core::search::Query;
use sunlight_core::{CaseNumber, Outcome, Role, UnitId};
use sunlight_store::{SEARCH_BATCH, SearchRow};

use super::*;

/// The most hits one search lists; the count is always whole.
pub const SEARCH_HITS_MAX: usize = 1000;

/// What a member searches for; blank fields are left out, at least one
/// must be given.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchRequest {
    /// The accused's name (the pre-appointment check's candidate).
    pub name: String,
    /// Words anywhere in the report's narrative or the accused's position.
    pub text: String,
    /// The accused's position (the pre-appointment check).
    pub position: String,
    /// Only this unit and the units below it; one of the member's.
    pub unit: String,
}

impl std::fmt::Debug for SearchRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SearchRequest(<redacted>)")
    }
}

/// A case the search found.
#[derive(Debug)]
pub struct SearchHit {
    pub case_id: CaseId,
    pub number: Option<CaseNumber>,
    pub stage: Stage,
    pub outcome: Option<Outcome>,
    pub received_at: DateTime<Utc>,
    pub accused_name: Zeroizing<String>,
    pub accused_position: Zeroizing<String>,
}

/// What a search found, newest arrival first.
#[derive(Debug, Default)]
pub struct SearchFound {
    pub hits: Vec<SearchHit>,
    /// Hits in all (`hits` stops at `SEARCH_HITS_MAX`).
    pub total: u64,
    /// Reports opened and compared.
    pub scanned: u64,
}

/// Opens and matches one batch on `threads` threads.
fn match_batch(
    opener: &Opener,
    query: &Query,
    rows: &[SearchRow],
    threads: usize,
) -> Vec<SearchHit> {
    let per = rows.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = rows
            .chunks(per)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|r| hit(opener, query, r))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    })
}

/// The row as a hit, when its report opens and matches. A report that
/// does not open with the member's key is none of theirs to find.
fn hit(opener: &Opener, query: &Query, row: &SearchRow) -> Option<SearchHit> {
    let ctx = SealContext {
        case_id: row.id,
        item: item::REPORT,
    };
    let plain = opener.open(&row.sealed_report, &ctx).ok()?;
    let report: ReportContent = decode_padded(&plain).ok()?;
    query.hit(&report).then(|| SearchHit {
        case_id: row.id,
        number: row.number.clone(),
        stage: row.stage,
        outcome: row.outcome,
        received_at: row.received_at,
        accused_name: Zeroizing::new(report.accused_name.clone()),
        accused_position: Zeroizing::new(report.accused_position.clone()),
    })
}

/// Opens every report of `units` with `opener`, newest first, a batch
/// at a time on every core, and keeps those `query` hits. What
/// [`Triage::search`] runs, and `sunlight bench` measures.
pub async fn scan(
    store: &sunlight_store::Store,
    units: &sunlight_store::Jurisdiction,
    opener: Opener,
    query: Query,
) -> Result<SearchFound, CaseworkError> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let (opener, query) = (Arc::new(opener), Arc::new(query));
    let mut found = SearchFound::default();
    let mut after = None;
    loop {
        let rows = store.search_batch(units, after, SEARCH_BATCH).await?;
        let Some(last) = rows.last() else { break };
        after = Some((last.received_at, last.id.as_uuid()));
        found.scanned += rows.len() as u64;
        let (o, q) = (Arc::clone(&opener), Arc::clone(&query));
        let hits = tokio::task::spawn_blocking(move || match_batch(&o, &q, &rows, threads))
            .await
            .map_err(|e| CaseworkError::Internal(format!("search: {e}")))?;
        found.total += hits.len() as u64;
        let room = SEARCH_HITS_MAX.saturating_sub(found.hits.len());
        found.hits.extend(hits.into_iter().take(room));
    }
    Ok(found)
}

impl Triage {
    /// Searches the member's jurisdiction (or a unit subtree of it).
    pub async fn search(
        &self,
        session: &Session,
        req: &SearchRequest,
        now: DateTime<Utc>,
    ) -> Result<SearchFound, CaseworkError> {
        if session.role == Role::Admin {
            return Err(CaseworkError::Forbidden);
        }
        let query = Query::new(&req.name, &req.text, &req.position)
            .ok_or(CaseworkError::Invalid(Invalid::SearchEmpty))?;
        let units = match req.unit.trim() {
            "" => session.jurisdiction.clone(),
            raw => {
                let refused = || CaseworkError::Invalid(Invalid::SearchUnit);
                let unit = UnitId::parse(raw).map_err(|_| refused())?;
                if !session.jurisdiction.contains(&unit) {
                    return Err(refused());
                }
                self.store.jurisdiction(&unit).await?
            }
        };
        let found = scan(&self.store, &units, Opener::new(session.unit_key()), query).await?;
        self.audit_search(session, req, &found, now).await?;
        Ok(found)
    }

    /// `search.run` in the audit log: who, when, how many hits and reports;
    /// the words sealed to the member's units under a fresh id.
    async fn audit_search(
        &self,
        session: &Session,
        req: &SearchRequest,
        found: &SearchFound,
        now: DateTime<Utc>,
    ) -> Result<(), CaseworkError> {
        let id = Uuid::new_v4();
        let words = serde_json::json!({
            "name": req.name, "text": req.text, "position": req.position, "unit": req.unit,
        })
        .to_string();
        let keys: Vec<UnitPublicKey> = self
            .store
            .unit_with_ancestors(&session.unit)
            .await?
            .into_iter()
            .map(|u| u.public_key)
            .collect();
        let item = [b"search/".as_slice(), id.as_bytes()].concat();
        let sealed = seal_text(&words, CaseId::from_uuid(id), &item, &keys)?;
        self.store
            .audit(
                sunlight_store::AuditRecord {
                    actor: format!("staff:{}", session.staff_id),
                    action: "search.run".into(),
                    unit: session.unit.to_string(),
                    case_id: String::new(),
                    detail: format!(
                        "search={id} hits={} scanned={} sealed={}",
                        found.total,
                        found.scanned,
                        data_encoding::BASE64.encode(&sealed)
                    ),
                },
                now,
            )
            .await?;
        Ok(())
    }
}
