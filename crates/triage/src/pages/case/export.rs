//! `GET /cases/{id}/export.zip`: one case as a ZIP for the paper file
//! (归档/呈批) — the report, history, messages and internal comments as
//! text in the member's language, every attachment opened, and a manifest
//! of SHA-256 sums (`sha256sum -c manifest.sha256` checks the copy).
//! Supervisors only; audited as `case.export`. Streamed as it is written:
//! an attachment is never whole in memory and nothing touches the disk.

use std::io::Write as _;
use std::sync::{Arc, Mutex};

use actix_web::web::{self, Bytes};
use actix_web::{HttpResponse, http::header};
use chrono::Utc;
use sha2::{Digest, Sha256};
use sunlight_casework::service::CaseExport;
use sunlight_core::policy::Policy;
use sunlight_store::UnitRow;
use tokio::sync::mpsc;
use zeroize::Zeroize;
use zip::write::{SimpleFileOptions, ZipWriter};

use super::view::row_facts;
use super::{PageError, Viewer, case_id};
use crate::pages::Ui;
use crate::pages::dates::local_time;
use crate::state::AppState;

/// Bytes of the ZIP, then `None` once it is whole and its manifest is on
/// record; a channel that closes without it broke off.
type Sender = mpsc::Sender<Result<Option<Bytes>, std::io::Error>>;

/// A place the ZIP writer writes to and the sender drains.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = self.0.lock().map_err(|_| std::io::Error::other("sink"))?;
        out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sink {
    /// Hands what was written so far to the response.
    async fn drain(&self, tx: &Sender) -> std::io::Result<()> {
        let taken = {
            let mut out = self.0.lock().map_err(|_| std::io::Error::other("sink"))?;
            std::mem::take(&mut *out)
        };
        if taken.is_empty() {
            return Ok(());
        }
        tx.send(Ok(Some(Bytes::from(taken))))
            .await
            .map_err(|_| std::io::Error::other("the client went away"))
    }
}

pub async fn case_export(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = case_id(&viewer, &path)?;
    let export = state
        .triage
        .export(&viewer.session, id, Utc::now())
        .await
        .map_err(|e| viewer.fail(e))?;
    let units = state
        .triage
        .store
        .units()
        .await
        .map_err(|e| viewer.fail(e))?;
    let ui = viewer.ui(format!("/cases/{id}"));
    let texts = texts(&ui, &state.triage.policy, &export, &units);
    // Heads damaged.txt, should a file stop opening part way.
    let cut_note = ui.t("case.attachment_cut").to_owned();
    let name = export
        .case
        .number
        .as_ref()
        .map_or_else(|| export.case.id.to_string(), ToString::to_string);
    let done = Done {
        triage: state.triage.clone(),
        session: Arc::clone(&viewer.session),
        case: id,
        unit: export.case.unit.clone(),
    };
    Ok(zip_answer(&name, (texts, cut_note), export, done))
}

/// What records a finished export: the manifest's SHA-256 goes into the
/// audit log, so the paper file can show later that its copy is the one
/// that was made (the manifest inside the ZIP alone proves nothing: whoever
/// holds the copy can rewrite both).
struct Done {
    triage: sunlight_casework::Triage,
    session: Arc<sunlight_casework::session::Session>,
    case: sunlight_core::CaseId,
    unit: sunlight_core::UnitId,
}

/// The ZIP as a download, written by a task of its own as the client
/// reads it (a few chunks ahead at most).
fn zip_answer(
    name: &str,
    (texts, cut_note): (Vec<(&'static str, String)>, String),
    export: CaseExport,
    done: Done,
) -> HttpResponse {
    let (tx, rx) = mpsc::channel(4);
    actix_web::rt::spawn(async move {
        let written = match write_zip(&tx, texts, &cut_note, export).await {
            Ok(manifest) => done
                .triage
                .exported(&done.session, done.case, &done.unit, &manifest, Utc::now())
                .await
                .map_err(|e| std::io::Error::other(e.to_string())),
            Err(e) => Err(e),
        };
        let last = match written {
            Ok(()) => Ok(None),
            Err(e) => {
                tracing::warn!(error = %e, "a case export broke off");
                Err(e)
            }
        };
        let _gone = tx.send(last).await;
    });
    // Ends only on the producer's word: a task that died mid-way makes the
    // download fail, never a short ZIP that looks whole.
    let body = futures_util::stream::unfold((rx, false), |(mut rx, over)| async move {
        if over {
            return None;
        }
        match rx.recv().await {
            Some(Ok(Some(bytes))) => Some((Ok(bytes), (rx, false))),
            Some(Ok(None)) => None,
            Some(Err(e)) => Some((Err(e), (rx, true))),
            None => Some((Err(std::io::Error::other("export broke off")), (rx, true))),
        }
    });
    HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.zip\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body)
}

/// The ZIP: the texts, then each attachment as it is opened, then the
/// manifest of every file's SHA-256.
/// Returns the manifest's SHA-256 (hex).
async fn write_zip(
    tx: &Sender,
    texts: Vec<(&'static str, String)>,
    cut_note: &str,
    export: CaseExport,
) -> std::io::Result<String> {
    let sink = Sink::default();
    let mut zip = ZipWriter::new_stream(sink.clone());
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut manifest = String::new();
    let mut cut = Vec::new();
    for (name, mut text) in texts {
        zip.start_file(name, options)
            .map_err(std::io::Error::other)?;
        zip.write_all(text.as_bytes())?;
        manifest.push_str(&format!(
            "{}  {name}\n",
            hex(&Sha256::digest(text.as_bytes()))
        ));
        text.zeroize();
        sink.drain(tx).await?;
    }
    for (n, (_, meta, mut stream)) in export.files.into_iter().enumerate() {
        let name = format!("attachments/{:02}-{}", n + 1, file_name(&meta.file_name));
        zip.start_file(name.as_str(), options)
            .map_err(std::io::Error::other)?;
        let mut sum = Sha256::new();
        loop {
            match stream.next_chunk().await {
                Ok(Some(mut chunk)) => {
                    sum.update(&chunk);
                    zip.write_all(&chunk)?;
                    chunk.zeroize();
                    sink.drain(tx).await?;
                }
                Ok(None) => break,
                // A chunk that does not open (sealed wrongly in a browser,
                // damaged, altered): the file ends there, and says so.
                Err(sunlight_casework::CaseworkError::Conflict(
                    sunlight_store::Clash::Unreadable,
                )) => {
                    cut.push(name.clone());
                    break;
                }
                Err(e) => return Err(std::io::Error::other(e.to_string())),
            }
        }
        manifest.push_str(&format!("{}  {name}\n", hex(&sum.finalize())));
    }
    if !cut.is_empty() {
        let text = format!("{cut_note}\n\n{}\n", cut.join("\n"));
        zip.start_file("damaged.txt", options)
            .map_err(std::io::Error::other)?;
        zip.write_all(text.as_bytes())?;
        manifest.push_str(&format!(
            "{}  damaged.txt\n",
            hex(&Sha256::digest(text.as_bytes()))
        ));
    }
    zip.start_file("manifest.sha256", options)
        .map_err(std::io::Error::other)?;
    zip.write_all(manifest.as_bytes())?;
    zip.finish().map_err(std::io::Error::other)?;
    sink.drain(tx).await?;
    Ok(hex(&Sha256::digest(manifest.as_bytes())))
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

/// A reporter's file name as a ZIP entry: no folders, no format
/// characters, never empty.
fn file_name(raw: &str) -> String {
    // At most 150 bytes, so `attachments/NN-` and the name fit the 255
    // bytes file systems allow; nothing a file system reserves (the
    // `NN-` prefix keeps a name from being a device name such as CON).
    let mut bytes = 0usize;
    let clean: String = sunlight_core::report::without_format_chars(raw)
        .chars()
        .take_while(|c| {
            bytes = bytes.saturating_add(c.len_utf8());
            bytes <= 150
        })
        .map(|c| {
            if matches!(c, '/' | '\\' | ':' | '<' | '>' | '"' | '|' | '?' | '*') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let clean = clean.trim_start_matches('.').trim().to_owned();
    if clean.is_empty() {
        "attachment".to_owned()
    } else {
        clean
    }
}

/// The case's texts, in the member's language.
fn texts(
    ui: &Ui,
    policy: &Policy,
    export: &CaseExport,
    units: &[UnitRow],
) -> Vec<(&'static str, String)> {
    vec![
        ("report.txt", report_text(ui, policy, export, units)),
        ("history.txt", steps_text(ui, policy, export, false)),
        ("comments.txt", steps_text(ui, policy, export, true)),
        ("messages.txt", messages_text(ui, policy, export)),
    ]
}

fn report_text(ui: &Ui, policy: &Policy, export: &CaseExport, units: &[UnitRow]) -> String {
    let mut out = format!("{}\n\n", ui.t("export.title"));
    let r = &export.opened.report;
    let mut line = |label: &str, value: &str| {
        out.push_str(&format!("{label}: {value}\n"));
    };
    for fact in row_facts(ui, policy, &export.case, units) {
        // An arrival is kept to its day (docs/threat-model.md 7.8); rows
        // older than that rule may hold a time, which must not leave.
        if fact.id == "received" {
            line(
                &fact.label,
                &policy.local_date(export.case.received_at).to_string(),
            );
        } else {
            line(&fact.label, &fact.value);
        }
    }
    line(
        ui.t("case.stage"),
        &ui.word("stage", export.case.stage.as_str()),
    );
    line(ui.t("report.accused_name"), &r.accused_name);
    line(ui.t("report.accused_position"), &r.accused_position);
    if let Some(name) = &r.reporter_name {
        line(ui.t("report.reporter_name"), name);
    }
    if let Some(phone) = &r.reporter_phone {
        line(ui.t("report.reporter_phone"), phone);
    }
    if let Some(letter) = &r.letter {
        if let Some(postmark) = &letter.postmark_on {
            line(ui.t("intake.postmark_on"), postmark);
        }
        if !letter.return_address.is_empty() {
            line(ui.t("intake.return_address"), &letter.return_address);
        }
    }
    out.push_str(&format!(
        "\n{}:\n{}\n",
        ui.t("report.narrative"),
        r.narrative
    ));
    if export.opened.report_unreadable {
        out.push_str(&format!("\n{}\n", ui.t("case.report_unreadable")));
    }
    let files = &export.files;
    if !files.is_empty() {
        out.push_str(&format!("\n{}:\n", ui.t("case.attachments")));
        for (n, (_, meta, _)) in files.iter().enumerate() {
            out.push_str(&format!(
                "{:02}. {} ({}, {})\n",
                n + 1,
                file_name(&meta.file_name),
                meta.declared_type,
                sunlight_web::human_size(meta.size)
            ));
        }
    }
    // Listed on the case page but left out here: those whose description
    // or stream header does not open.
    let left_out = export.opened.attachments.len().saturating_sub(files.len());
    if left_out > 0 {
        let n = left_out.to_string();
        out.push_str(&format!(
            "\n{}\n",
            ui.t("case.attachments_unreadable").replace("{n}", &n)
        ));
    }
    out
}

/// The history without its internal comments, or only those.
fn steps_text(ui: &Ui, policy: &Policy, export: &CaseExport, comments: bool) -> String {
    let title = if comments {
        "export.comments"
    } else {
        "case.history"
    };
    let mut out = format!("{}\n\n", ui.t(title));
    let steps = export
        .opened
        .history
        .iter()
        .filter(|s| (s.action == "noted") == comments);
    for s in steps {
        let actor = s
            .actor
            .and_then(|a| export.staff.get(&a).cloned())
            .unwrap_or_else(|| ui.t("actor.system").to_owned());
        // The system's steps (routing, numbering) carry an arrival's day.
        let at = match s.actor {
            Some(_) => local_time(policy, s.at),
            None => policy.local_date(s.at).to_string(),
        };
        out.push_str(&format!(
            "{at} · {} → {} · {} · {actor}",
            ui.word("stage", s.from.as_str()),
            ui.word("stage", s.to.as_str()),
            ui.word("event", &s.action),
        ));
        if s.reporter_visible {
            out.push_str(&format!(" · {}", ui.t("export.for_reporter")));
        }
        out.push('\n');
        if let Some(w) = super::view::authenticity_warning(ui, s.authenticity) {
            out.push_str(&format!("    [{w}]\n"));
        }
        if let Some(note) = &s.note {
            out.push_str(&format!("    {}\n", note.replace('\n', "\n    ")));
        }
        out.push('\n');
    }
    out
}

fn messages_text(ui: &Ui, policy: &Policy, export: &CaseExport) -> String {
    let mut out = format!("{}\n\n", ui.t("case.messages"));
    for m in &export.opened.messages {
        let from = ui.t(if m.from_staff {
            "export.from_staff"
        } else {
            "export.from_reporter"
        });
        // A reporter's message carries its day only (docs/threat-model.md).
        let at = if m.from_staff {
            local_time(policy, m.at)
        } else {
            policy.local_date(m.at).to_string()
        };
        let body = if m.unreadable {
            ui.t("case.message_unreadable")
        } else {
            m.body.as_str()
        };
        if let Some(w) = super::view::authenticity_warning(ui, Some(m.authenticity)) {
            out.push_str(&format!("{at} · {from}\n[{w}]\n{body}\n\n"));
        } else {
            out.push_str(&format!("{at} · {from}\n{body}\n\n"));
        }
    }
    out
}
