//! The register's pages over the cases `sunlight bench --queue-cases N`
//! seeded: p50/p99 of a page of 50 with its true total, for the listings
//! staff use most.

use std::time::Instant;

use super::{ms, percentile};

use chrono::{Duration as Days, Utc};
use sunlight_core::{Category, UnitId};
use sunlight_store::{RegisterFilter, Store};

/// One line per listing: p50, p99, the total it counted.
pub async fn listings(store: &Store, runs: usize) -> Result<Vec<String>, String> {
    let e = |err: sunlight_store::StoreError| err.to_string();
    let unit = |id: &str| UnitId::parse(id).map_err(|err| err.to_string());
    let province = store.jurisdiction(&unit("p")?).await.map_err(e)?;
    let city = store.jurisdiction(&unit("p-c00")?).await.map_err(e)?;
    let county = store.jurisdiction(&unit("p-c00-x0")?).await.map_err(e)?;
    let week = RegisterFilter {
        received_from: Some(Utc::now() - Days::days(7)),
        ..RegisterFilter::default()
    };
    let listings = [
        ("province, page 1", &province, RegisterFilter::default()),
        ("one city (5%), page 1", &city, RegisterFilter::default()),
        (
            "one county (1%), page 1",
            &county,
            RegisterFilter::default(),
        ),
        (
            "province, category + real-name",
            &province,
            RegisterFilter {
                category: Some(Category::OfficeTrading),
                real_name: Some(true),
                ..RegisterFilter::default()
            },
        ),
        ("province, last 7 days", &province, week),
        (
            "province, page 100",
            &province,
            RegisterFilter {
                page: 100,
                ..RegisterFilter::default()
            },
        ),
        (
            "province, page 2000 (the 100,000th case)",
            &province,
            RegisterFilter {
                page: 2000,
                ..RegisterFilter::default()
            },
        ),
    ];
    let mut lines = vec![format!(
        "{:<44} {:>10} {:>10} {:>8}",
        "register page (50 lines + total)", "p50", "p99", "total"
    )];
    for (label, j, filter) in listings {
        let mut samples = Vec::with_capacity(runs);
        let mut total = 0;
        for _ in 0..runs {
            let t = Instant::now();
            total = store.register(j, &filter).await.map_err(e)?.total;
            samples.push(t.elapsed());
        }
        samples.sort();
        let p = |q: f64| percentile(&samples, q);
        lines.push(format!(
            "{label:<44} {:>8.2}ms {:>8.2}ms {total:>8}",
            ms(p(0.5)),
            ms(p(0.99))
        ));
    }
    Ok(lines)
}
