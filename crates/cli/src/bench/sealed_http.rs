//! The JavaScript path of `sunlight bench --http-seconds S`: this process
//! plays the browsers. Their own cost (Argon2id of the code, sealing) is
//! theirs and is kept out of the figures: each filing uses a random token
//! and a random reporter key, which the server cannot tell from real ones,
//! and seals a ~1.3 KiB report to the keys `prepare` answers. A filing is
//! the two requests a browser makes (`prepare`, then `reports`).

use std::time::{Duration, Instant};

use data_encoding::BASE64;
use serde_json::{Value, json};
use sunlight_core::CaseId;
use sunlight_core::crypto::{SealContext, Suite, UnitKeyPair, UnitPublicKey, seal};
use sunlight_core::report::{ReportContent, encode_padded, item};
use tokio::io::BufReader;
use tokio::net::TcpStream;

use super::http::{Round, request};

fn random32() -> Result<[u8; 32], String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| e.to_string())?;
    Ok(b)
}

fn content() -> ReportContent {
    ReportContent {
        accused_name: "某某".into(),
        accused_position: "副局长".into(),
        narrative: "在本次干部推荐过程中，有人组织宴请并发放红包，要求参会人员投票。".repeat(12),
        reporter_name: None,
        reporter_phone: None,
        letter: None,
    }
}

/// One browser filing: prepare, seal, send. Returns the token on success.
async fn file_one(conn: &mut BufReader<TcpStream>) -> Result<Option<String>, String> {
    let token = BASE64.encode(&random32()?);
    let prepare = json!({"unit": "p", "accused_role": "unit_leader", "token": token});
    let (status, answer) = request(conn, "/api/v1/sealed/prepare", &prepare.to_string()).await?;
    if status != 200 {
        return Ok(None);
    }
    let prepared: Value = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
    let case = prepared
        .get("case_id")
        .and_then(Value::as_str)
        .and_then(|c| CaseId::parse(c).ok())
        .ok_or("prepare: no case id")?;
    let reporter = UnitKeyPair::generate(Suite::Modern).map_err(|e| e.to_string())?;
    let mut to: Vec<UnitPublicKey> = prepared
        .get("recipients")
        .and_then(Value::as_array)
        .ok_or("prepare: no recipients")?
        .iter()
        .filter_map(|k| k.as_str())
        .filter_map(|k| BASE64.decode(k.as_bytes()).ok())
        .filter_map(|k| UnitPublicKey::from_slice(&k).ok())
        .collect();
    to.push(reporter.public);
    let payload = encode_padded(&content()).map_err(|e| e.to_string())?;
    let ctx = SealContext {
        case_id: case,
        item: item::REPORT,
    };
    let sealed = seal(&payload, &ctx, &to).map_err(|e| e.to_string())?;
    let body = json!({
        "case_id": case.to_string(), "token": token,
        "reporter_public": BASE64.encode(reporter.public.as_bytes()),
        "unit": "p", "category": "canvassing_bribery", "accused_role": "unit_leader",
        "selection_stage": "recommendation", "real_name": false,
        "report": BASE64.encode(&sealed),
    });
    let (status, _) = request(conn, "/api/v1/sealed/reports", &body.to_string()).await?;
    Ok((status == 201).then_some(token))
}

/// `clients` browsers filing for `seconds`.
pub async fn filings(port: u16, clients: usize, seconds: f64) -> Result<Round, String> {
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let cpu = super::http::cpu_seconds();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(("127.0.0.1", port))
                .await
                .map_err(|e| e.to_string())?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            let mut conn = BufReader::new(stream);
            let (mut latencies, mut failures, mut tokens) = (Vec::new(), 0u64, Vec::new());
            while Instant::now() < until {
                let t = Instant::now();
                match file_one(&mut conn).await? {
                    Some(token) => tokens.push(token),
                    None => failures += 1,
                }
                latencies.push(t.elapsed());
            }
            Ok::<_, String>((latencies, failures, tokens))
        }));
    }
    let mut all = Round::default();
    for task in tasks {
        let (latencies, failures, tokens) = task.await.map_err(|e| e.to_string())??;
        all.latencies.extend(latencies);
        all.failures += failures;
        all.codes.extend(tokens);
    }
    all.elapsed = started.elapsed();
    all.cpu = super::http::cpu_seconds() - cpu;
    all.latencies.sort();
    Ok(all)
}
