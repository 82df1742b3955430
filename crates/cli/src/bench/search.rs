//! `sunlight bench --search-cases N,M`: the search (查询, 凡提必查) over a
//! province's sealed reports, as `Triage::search` runs it: every report
//! opened with the province's key on every core and matched, batch by
//! batch. Reports are sealed for real (the province's key and a reporter
//! key), each about 1 KiB of Chinese narrative padded as filing pads it.

use std::time::{Duration, Instant};

use chrono::{Duration as ChronoDuration, Utc};
use sunlight_core::crypto::{Opener, SealContext, Suite, UnitKeyPair, UnitPublicKey, seal};
use sunlight_core::report::{ReportContent, encode_padded, item};
use sunlight_core::search::Query;
use sunlight_core::{AccusedRole, CaseId, Category, Channel, Level, SelectionStage, Stage, UnitId};
use sunlight_store::{NewCase, NewQueueEntry, Store};

use super::ms;

/// Seals cases `from..to` to `keys` on every core.
fn sealed_cases(from: u64, to: u64, keys: &[UnitPublicKey], unit: &UnitId) -> Vec<NewCase> {
    let now = Utc::now();
    let make = |i: u64| -> Option<NewCase> {
        let received = now - ChronoDuration::minutes(i64::try_from(i).ok()?);
        let id = CaseId::new_v7(u64::try_from(received.timestamp_millis()).ok()?);
        let report = ReportContent {
            accused_name: format!("候选人{}", i % 5000),
            accused_position: "某县某局副局长".into(),
            narrative:
                "在干部考察期间，该同志向考察组成员许诺提拔其亲属，换取考察意见中的优秀评价，\
                        并在民主推荐前组织宴请、发放购物卡。知情人有人事科工作人员。"
                    .repeat(3),
            reporter_name: None,
            reporter_phone: None,
            letter: None,
        };
        let payload = encode_padded(&report).ok()?;
        let ctx = SealContext {
            case_id: id,
            item: item::REPORT,
        };
        let sealed_report = seal(&payload, &ctx, keys).ok()?;
        let mut lookup_key = [0u8; 32];
        lookup_key[..8].copy_from_slice(&i.to_be_bytes());
        lookup_key[8] = 0x5e;
        Some(NewCase {
            id,
            lookup_key,
            unit: unit.clone(),
            addressed_unit: unit.clone(),
            category: Category::PromotedWithProblems,
            accused_role: AccusedRole::Ordinary,
            selection_stage: SelectionStage::None,
            channel: Channel::Web,
            real_name: false,
            received_at: received,
            sealed_report,
            reporter_public_key: sunlight_core::crypto::UnitPublicKey::from_bytes([7u8; 32]),
            first_entry: NewQueueEntry {
                stage: Stage::Verify,
                due_at: received + ChronoDuration::days(60),
            },
            sealed_to: Default::default(),
        })
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from) as u64;
    let per = (to - from).div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let start = from + t * per;
                let end = (start + per).min(to);
                s.spawn(move || (start..end).filter_map(make).collect::<Vec<_>>())
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    })
}

/// Seeds up to each size in turn on one database and times a search of
/// the whole province at that size (median of three).
pub async fn run(sizes: &[u64], database_url: Option<String>) -> Result<Vec<String>, String> {
    let e = |err: sunlight_store::StoreError| err.to_string();
    let dir = tempfile::tempdir().map_err(|err| err.to_string())?;
    let url =
        database_url.unwrap_or_else(|| format!("sqlite://{}/search.db", dir.path().display()));
    let store = Store::connect(&url).await.map_err(e)?;
    store.migrate().await.map_err(e)?;
    let now = Utc::now();
    let unit = UnitId::parse("p").map_err(|err| err.to_string())?;
    let (province, secret, _) = sunlight_store::provision::create_unit(
        &store,
        sunlight_core::unit_tree::UnitSpec::new(unit.clone(), "p", Level::Province, None),
        true,
        "bench",
        now,
    )
    .await
    .map_err(|err| err.to_string())?;
    let reporter = UnitKeyPair::generate(Suite::Modern).map_err(|err| err.to_string())?;
    let keys = [province.public_key, reporter.public];
    let j = store.jurisdiction(&unit).await.map_err(e)?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut lines = vec![format!(
        "{:<44} {:>10} {:>12} {:>8}",
        format!("search, whole province ({cores} cores)"),
        "median",
        "reports/s",
        "hits"
    )];
    let mut seeded = 0;
    let mut sorted = sizes.to_vec();
    sorted.sort_unstable();
    for size in sorted {
        while seeded < size {
            let to = size.min(seeded + 5_000);
            let batch = sealed_cases(seeded, to, &keys, &unit);
            for chunk in batch.chunks(500) {
                store.bulk_seed_cases(chunk).await.map_err(e)?;
            }
            seeded = to;
        }
        let mut samples: Vec<Duration> = Vec::new();
        let mut hits = 0;
        for _ in 0..3 {
            let query = Query::new("候选人42", "", "").map_err(|err| err.to_string())?;
            let t = Instant::now();
            let found = sunlight_casework::service::scan(&store, &j, Opener::new(&secret), query)
                .await
                .map_err(|err| err.to_string())?;
            samples.push(t.elapsed());
            hits = found.total;
        }
        // Names 候选人0 … 候选人4999 in turn: 42, 420–429 and 4200–4299 hit.
        let expected = (0..size)
            .filter(|i| format!("候选人{}", i % 5000).contains("候选人42"))
            .count() as u64;
        if hits != expected {
            return Err(format!("search found {hits} of {expected} reports"));
        }
        samples.sort();
        let median = samples.get(1).copied().unwrap_or_default();
        lines.push(format!(
            "{:<44} {:>8.0}ms {:>12.0} {hits:>8}",
            format!("{size} sealed reports"),
            ms(median),
            size as f64 / median.as_secs_f64().max(1e-9)
        ));
    }
    Ok(lines)
}
