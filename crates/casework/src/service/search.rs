//! Search and the pre-appointment check (查询, 凡提必查): the member's
//! jurisdiction's sealed reports opened in their session, in parallel,
//! batch by batch, and matched with `sunlight_core::search`. Nothing is
//! indexed at rest; each search is audited with its count, and its words
//! only sealed to the member's units (a searched name is as sensitive as a
//! reported one).

use serde::Deserialize;
use sunlight_core::crypto::Opener;
use sunlight_core::search::{Query, QueryError};
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
pub struct SearchHit {
    pub case_id: CaseId,
    pub number: Option<CaseNumber>,
    pub stage: Stage,
    pub outcome: Option<Outcome>,
    pub received_at: DateTime<Utc>,
    pub accused_name: Zeroizing<String>,
    pub accused_position: Zeroizing<String>,
}

impl std::fmt::Debug for SearchHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchHit")
            .field("case_id", &self.case_id)
            .finish_non_exhaustive()
    }
}

/// What a search found, newest arrival first.
#[derive(Debug, Default)]
pub struct SearchFound {
    pub hits: Vec<SearchHit>,
    /// Hits in all (`hits` stops at `SEARCH_HITS_MAX`).
    pub total: u64,
    /// Reports read.
    pub scanned: u64,
    /// Reports of the member's units that did not open or decode with
    /// their key: damaged or tampered with, never silently "not found".
    pub unreadable: u64,
}

/// One batch's result: the hits and how many reports did not open.
type Matched = (Vec<SearchHit>, u64);

/// Opens and matches one batch on `threads` threads; `None` when a
/// thread failed (the search fails rather than miss a report).
fn match_batch(
    opener: &Opener,
    query: &Query,
    rows: &[SearchRow],
    threads: usize,
) -> Option<Matched> {
    let per = rows.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = rows
            .chunks(per)
            .map(|chunk| {
                scope.spawn(move || {
                    let mut out: Matched = (Vec::new(), 0);
                    for row in chunk {
                        match hit(opener, query, row) {
                            Ok(Some(h)) => out.0.push(h),
                            Ok(None) => {}
                            Err(()) => out.1 += 1,
                        }
                    }
                    out
                })
            })
            .collect();
        let mut all: Matched = (Vec::new(), 0);
        for w in workers {
            let (hits, unreadable) = w.join().ok()?;
            all.0.extend(hits);
            all.1 += unreadable;
        }
        Some(all)
    })
}

/// The row as a hit when its report matches; `Err` when it does not open
/// or decode with the member's key. Every report of the member's units is
/// sealed to their unit and the units above, so that means damage or
/// tampering.
fn hit(opener: &Opener, query: &Query, row: &SearchRow) -> Result<Option<SearchHit>, ()> {
    // Purged under the retention rule: nothing left to search.
    if row.sealed_report.is_empty() {
        return Ok(None);
    }
    let ctx = SealContext {
        case_id: row.id,
        item: item::REPORT,
    };
    let plain = opener.open(&row.sealed_report, &ctx).map_err(|_| ())?;
    let report: ReportContent = decode_padded(&plain).map_err(|_| ())?;
    Ok(query.hit(&report).then(|| SearchHit {
        case_id: row.id,
        number: row.number.clone(),
        stage: row.stage,
        outcome: row.outcome,
        received_at: row.received_at,
        accused_name: Zeroizing::new(report.accused_name.clone()),
        accused_position: Zeroizing::new(report.accused_position.clone()),
    }))
}

/// One search at a time per process: each uses every core for up to
/// seconds, and a member who fires many waits for their own turn instead
/// of taking the whole server.
static ONE_AT_A_TIME: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Opens every report of `units` with `opener`, newest first, a batch
/// at a time on every core, and keeps those `query` hits. What
/// [`Triage::search`] runs, and `sunlight bench` measures.
pub async fn scan(
    store: &sunlight_store::Store,
    units: &sunlight_store::Jurisdiction,
    opener: Opener,
    query: Query,
) -> Result<SearchFound, CaseworkError> {
    let _turn = ONE_AT_A_TIME
        .acquire()
        .await
        .map_err(|e| CaseworkError::Internal(format!("search: {e}")))?;
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let (opener, query) = (Arc::new(opener), Arc::new(query));
    let mut found = SearchFound::default();
    let mut after = None;
    // The next batch is read while the cores open the one before.
    let mut opening: Option<tokio::task::JoinHandle<Option<Matched>>> = None;
    loop {
        let rows = store.search_batch(units, after, SEARCH_BATCH).await?;
        if let Some(batch) = opening.take() {
            take_batch(&mut found, batch).await?;
        }
        let Some(last) = rows.last() else { break };
        after = Some((last.received_at, last.id.as_uuid()));
        found.scanned += rows.len() as u64;
        let (o, q) = (Arc::clone(&opener), Arc::clone(&query));
        opening = Some(tokio::task::spawn_blocking(move || {
            match_batch(&o, &q, &rows, threads)
        }));
    }
    Ok(found)
}

/// Adds an opened batch's hits to what was found.
async fn take_batch(
    found: &mut SearchFound,
    batch: tokio::task::JoinHandle<Option<Matched>>,
) -> Result<(), CaseworkError> {
    let (hits, unreadable) = batch
        .await
        .map_err(|e| CaseworkError::Internal(format!("search: {e}")))?
        .ok_or_else(|| CaseworkError::Internal("search: a worker failed".into()))?;
    found.unreadable += unreadable;
    found.total += hits.len() as u64;
    let room = SEARCH_HITS_MAX.saturating_sub(found.hits.len());
    found.hits.extend(hits.into_iter().take(room));
    Ok(())
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
        let query = Query::new(&req.name, &req.text, &req.position).map_err(|e| {
            CaseworkError::Invalid(match e {
                QueryError::Empty => Invalid::SearchEmpty,
                QueryError::TooShort | QueryError::TooLong => Invalid::SearchLength,
            })
        })?;
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

    /// `search.run` in the audit log: who, when, how many hits and how many
    /// reports would not open; the words, the number of reports read and
    /// the cases found sealed to the member's units under a fresh id (which
    /// subtree was searched, and whom it named, is for them to read).
    async fn audit_search(
        &self,
        session: &Session,
        req: &SearchRequest,
        found: &SearchFound,
        now: DateTime<Utc>,
    ) -> Result<(), CaseworkError> {
        let id = Uuid::new_v4();
        let found_ids: Vec<String> = found.hits.iter().map(|h| h.case_id.to_string()).collect();
        let words = serde_json::json!({
            "name": req.name, "text": req.text, "position": req.position, "unit": req.unit,
            "scanned": found.scanned, "cases": found_ids,
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
                        "search={id} hits={} unreadable={} sealed={}",
                        found.total,
                        found.unreadable,
                        data_encoding::BASE64.encode(&sealed)
                    ),
                },
                now,
            )
            .await?;
        Ok(())
    }
}

impl Triage {
    /// The cases `case` may be merged into, opened to show their accused
    /// (a merge picker, not a typed id), and how many would not open
    /// (damaged or altered: counted, never silently left out). Opening
    /// them is audited with their count, as a search is.
    pub(super) async fn merge_candidates(
        &self,
        session: &Session,
        case: &CaseRow,
        now: DateTime<Utc>,
    ) -> Result<(Vec<SearchHit>, u64), CaseworkError> {
        let chain: Vec<UnitId> = self
            .store
            .unit_with_ancestors(&case.unit)
            .await?
            .into_iter()
            .map(|u| u.id)
            .collect();
        let rows = self
            .store
            .merge_candidates(&session.jurisdiction, case.id, &chain)
            .await?;
        if rows.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let opener = Opener::new(session.unit_key());
        let everyone = Query::everything();
        let mut unreadable = 0;
        let hits = rows
            .iter()
            .filter_map(|r| match hit(&opener, &everyone, r) {
                Ok(h) => h,
                Err(()) => {
                    unreadable += 1;
                    None
                }
            })
            .collect::<Vec<_>>();
        self.store
            .audit(
                sunlight_store::AuditRecord {
                    actor: format!("staff:{}", session.staff_id),
                    action: "case.merge_candidates".into(),
                    unit: case.unit.to_string(),
                    case_id: case.id.to_string(),
                    detail: format!("opened={} unreadable={unreadable}", hits.len()),
                },
                now,
            )
            .await?;
        Ok((hits, unreadable))
    }
}
