//! The two cipher suites side by side: sealing and opening a report, an
//! attachment's stream, and PBKDF2-HMAC-SM3 (the ShangMi suite's
//! documented fallback for Argon2id) at the rounds docs/crypto.md names.

use std::time::{Duration, Instant};

use sunlight_core::CaseId;
use sunlight_core::crypto::{
    AttachmentOpener, AttachmentSealer, CHUNK_SIZE, CryptoError, PBKDF2_SM3_ROUNDS, PasswordPolicy,
    SealContext, Suite, UnitKeyPair, open, seal,
};

use super::{ms, time};

/// Bytes in the attachment the stream rows seal and open.
const ATTACHMENT: usize = 8 * 1024 * 1024;

/// One table: a row per operation, a column per suite (median of `runs`).
pub fn rows(runs: usize) -> Result<Vec<String>, String> {
    let e = |err: CryptoError| err.to_string();
    let mut figures: Vec<(String, Vec<String>)> = Vec::new();
    for suite in Suite::ALL {
        let column = measure(suite, runs).map_err(e)?;
        for (i, (name, value)) in column.into_iter().enumerate() {
            match figures.get_mut(i) {
                Some((_, values)) => values.push(value),
                None => figures.push((name, vec![value])),
            }
        }
    }
    let mut lines = vec![format!(
        "{:<44} {:>12} {:>12}",
        "suite", "modern", "shangmi"
    )];
    for (name, values) in figures {
        let cells: Vec<String> = values.iter().map(|v| format!("{v:>12}")).collect();
        lines.push(format!("{name:<44} {}", cells.join(" ")));
    }
    // A sign-in's check of a version-3 record, as `sunlight suite
    // passwords pbkdf2-sm3` makes them.
    let (record, _) = PasswordPolicy::Pbkdf2Sm3 {
        rounds: PBKDF2_SM3_ROUNDS,
    }
    .enroll(b"correct horse battery staple")
    .map_err(e)?;
    let (mid, _, _) = time(runs, || {
        record.verify(b"correct horse battery staple").map(|_| ())
    })
    .map_err(e)?;
    lines.push(format!(
        "{:<44} {:>10.2}ms",
        format!("password check PBKDF2-HMAC-SM3 {PBKDF2_SM3_ROUNDS} rounds"),
        ms(mid)
    ));
    Ok(lines)
}

fn measure(suite: Suite, runs: usize) -> Result<Vec<(String, String)>, CryptoError> {
    let pairs: Vec<_> = (0..4)
        .map(|_| UnitKeyPair::generate(suite))
        .collect::<Result<_, _>>()?;
    let recipients: Vec<_> = pairs.iter().map(|p| p.public).collect();
    let first = pairs.first().ok_or(CryptoError::NoRecipients)?;
    let report = vec![b'x'; 4096];
    let ctx = SealContext {
        case_id: CaseId::new_v7(0),
        item: b"report",
    };
    let many = runs.saturating_mul(10);
    let sealed = seal(&report, &ctx, &recipients)?;
    let (seal_mid, _, _) = time(many, || seal(&report, &ctx, &recipients).map(|_| ()))?;
    let (open_mid, _, _) = time(many, || open(&sealed, &ctx, &first.secret).map(|_| ()))?;
    let chunk = vec![b'y'; CHUNK_SIZE];
    let started = Instant::now();
    let (header, mut sealer) = AttachmentSealer::start(&ctx, &recipients)?;
    let mut chunks = Vec::with_capacity(ATTACHMENT / CHUNK_SIZE + 1);
    for _ in 0..ATTACHMENT / CHUNK_SIZE {
        chunks.push(sealer.seal_chunk(&chunk)?);
    }
    let last = sealer.finish(&[])?;
    let sealing = started.elapsed();
    let started = Instant::now();
    let mut opener = AttachmentOpener::start(&header, &ctx, &first.secret)?;
    for c in &chunks {
        opener.open_chunk(c)?;
    }
    opener.finish(&last)?;
    let opening = started.elapsed();
    Ok(vec![
        (
            "seal 4 KiB report to 4 recipients".into(),
            format!("{:.3}ms", ms(seal_mid)),
        ),
        (
            "open 4 KiB report (one recipient)".into(),
            format!("{:.3}ms", ms(open_mid)),
        ),
        (
            "seal 8 MiB attachment, MiB/s".into(),
            format!("{:.0}", mib_per_s(sealing)),
        ),
        (
            "open 8 MiB attachment, MiB/s".into(),
            format!("{:.0}", mib_per_s(opening)),
        ),
    ])
}

fn mib_per_s(d: Duration) -> f64 {
    (ATTACHMENT as f64 / (1024.0 * 1024.0)) / d.as_secs_f64().max(1e-9)
}
