//! `sunlight bench`: measures what the deployment's speed rests on and prints
//! a table (median and spread over `runs`). Figures go to docs/performance.md.

use std::time::{Duration, Instant};

use sunlight_core::crypto::{
    CodeStretcher, DeploymentSecrets, PasswordKeys, SealContext, StretchParams, UnitKeyPair, seal,
};
use sunlight_core::{CaseId, TrackingCode};

fn median(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    let min = samples.first().copied().unwrap_or_default();
    let max = samples.last().copied().unwrap_or_default();
    let mid = samples.get(samples.len() / 2).copied().unwrap_or_default();
    (mid, min, max)
}

fn time<E>(
    runs: usize,
    mut f: impl FnMut() -> Result<(), E>,
) -> Result<(Duration, Duration, Duration), E> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        samples.push(t.elapsed());
    }
    Ok(median(samples))
}

pub fn run(runs: usize) -> Result<Vec<String>, String> {
    let runs = runs.max(1);
    let e = |err: sunlight_core::crypto::CryptoError| err.to_string();
    let mut lines = vec![format!(
        "{:<44} {:>10} {:>10} {:>10}",
        "operation", "median", "min", "max"
    )];
    let mut row = |name: &str, (mid, min, max): (Duration, Duration, Duration)| {
        lines.push(format!(
            "{name:<44} {:>8.2}ms {:>8.2}ms {:>8.2}ms",
            ms(mid),
            ms(min),
            ms(max)
        ));
    };

    let p = StretchParams::CODE;
    let stretcher = CodeStretcher::new(DeploymentSecrets::generate().map_err(e)?, p);
    let code = TrackingCode::generate().map_err(|err| err.to_string())?;
    row(
        &format!(
            "code stretch Argon2id m={}MiB t={} p={}",
            p.m_kib / 1024,
            p.t,
            p.p
        ),
        time(runs, || stretcher.stretch(&code).map(|_| ())).map_err(e)?,
    );

    let p = StretchParams::PASSWORD;
    let (record, _) = PasswordKeys::enroll(b"correct horse battery staple", p).map_err(e)?;
    row(
        &format!(
            "password check Argon2id m={}MiB t={} p={}",
            p.m_kib / 1024,
            p.t,
            p.p
        ),
        time(runs, || {
            record.verify(b"correct horse battery staple").map(|_| ())
        })
        .map_err(e)?,
    );

    let recipients: Vec<_> = (0..4)
        .map(|_| UnitKeyPair::generate().map(|k| k.public))
        .collect::<Result<_, _>>()
        .map_err(e)?;
    let report = vec![b'x'; 4096];
    let ctx = SealContext {
        case_id: CaseId::new_v7(0),
        item: b"report",
    };
    row(
        "seal 4 KiB report to 4 recipients",
        time(runs.saturating_mul(10), || {
            seal(&report, &ctx, &recipients).map(|_| ())
        })
        .map_err(e)?,
    );
    Ok(lines)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
