//! Case export and print (#18 item 10): a supervisor downloads one case as
//! a ZIP — report, history, messages, comments, attachments opened, and a
//! manifest whose SHA-256 sums match every file — audited once; others are
//! refused and nothing is audited for them.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::io::Read;

use serde_json::json;
use sha2::{Digest, Sha256};
use sunlight_testkit::count_audit;

use crate::common::{ENGINES, Harness, PageClient, email};

pub(crate) async fn download(who: &PageClient, path: &str) -> (u16, Vec<u8>, String) {
    let res = who
        .client
        .get(format!("{}{path}", who.base))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let disposition = res
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, res.bytes().await.unwrap().to_vec(), disposition)
}

pub(crate) fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            file.read_to_end(&mut content).unwrap();
            (file.name().unwrap().into_owned(), content)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_exports_a_case_whole_with_its_manifest() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let desk = h.sign_in_page(&email("intake", "gd-gz-tianhe")).await;
        let evidence: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        let a = desk
            .post_multipart(
                "/intake",
                &[
                    ("channel", "visit"),
                    ("unit", "gd-gz-tianhe"),
                    ("category", "canvassing_bribery"),
                    ("accused_name", "钱某"),
                    ("accused_position", "街道办主任"),
                    ("accused_role", "ordinary"),
                    ("selection_stage", "none"),
                    ("narrative", "来访反映：推荐前宴请拉票。"),
                    ("reporter_name", ""),
                    ("reporter_phone", ""),
                ],
                &[("宴请/照片.jpg", evidence.clone())],
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
        let id = a
            .body
            .split("href=\"/cases/")
            .nth(1)
            .unwrap()
            .split(['?', '"'])
            .next()
            .unwrap()
            .to_owned();
        let supervisor_api = h.sign_in(&email("supervisor", "gd-gz-tianhe")).await;
        let (s, v) = supervisor_api
            .post(
                &format!("/api/v1/cases/{id}/comments"),
                json!({"body": "内部意见：先核实宴请名单。"}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let (s, v) = supervisor_api
            .post(
                &format!("/api/v1/cases/{id}/messages"),
                json!({"body": "请补充宴请的时间和地点。"}),
            )
            .await;
        assert!(s == 200 || s == 201, "{v}");

        // Verifiers read the case but do not export it; a unit outside the
        // jurisdiction does not even see it. Neither is audited.
        let verifier = h.sign_in_page(&email("verifier", "gd-gz-tianhe")).await;
        let (s, _, _) = download(&verifier, &format!("/cases/{id}/export.zip")).await;
        assert_eq!(s, 403, "{engine:?}");
        assert!(
            !verifier
                .get(&format!("/cases/{id}"))
                .await
                .body
                .contains("export.zip")
        );
        let elsewhere = h.sign_in_page(&email("supervisor", "gd-sz")).await;
        let (s, _, _) = download(&elsewhere, &format!("/cases/{id}/export.zip")).await;
        assert_eq!(s, 404, "{engine:?}");
        assert_eq!(count_audit(&h.db.store, "case.export").await.unwrap(), 0);

        let supervisor = h.sign_in_page(&email("supervisor", "gd-gz-tianhe")).await;
        let page = supervisor.get(&format!("/cases/{id}?lang=en")).await.body;
        assert!(
            page.contains(&format!("href=\"/cases/{id}/export.zip\"")),
            "{page}"
        );
        let (s, zip, disposition) =
            download(&supervisor, &format!("/cases/{id}/export.zip?lang=en")).await;
        assert_eq!(s, 200, "{engine:?}");
        assert!(disposition.starts_with("attachment;"), "{disposition}");
        let files = unzip(&zip);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "report.txt",
                "history.txt",
                "comments.txt",
                "messages.txt",
                "attachments/01-照片.jpg",
                "manifest.sha256"
            ],
            "{engine:?}"
        );
        let text = |name: &str| {
            String::from_utf8(files.iter().find(|(n, _)| n == name).unwrap().1.clone()).unwrap()
        };
        assert!(text("report.txt").contains("钱某") && text("report.txt").contains("宴请拉票"));
        assert!(
            text("report.txt").contains("Visit"),
            "{}",
            text("report.txt")
        );
        assert!(text("comments.txt").contains("先核实宴请名单"));
        assert!(!text("history.txt").contains("先核实宴请名单"));
        assert!(
            text("history.txt").contains("supervisor@gd-gz-tianhe.test")
                || text("history.txt").contains("intake@gd-gz-tianhe.test"),
            "{}",
            text("history.txt")
        );
        assert!(text("messages.txt").contains("请补充宴请的时间和地点"));
        assert_eq!(files[4].1, evidence);
        // The manifest is `sha256sum -c` input covering every other file.
        let manifest = text("manifest.sha256");
        let lines: Vec<&str> = manifest.lines().collect();
        assert_eq!(lines.len(), files.len() - 1, "{manifest}");
        for (name, content) in &files[..files.len() - 1] {
            let line = format!(
                "{}  {name}",
                data_encoding::HEXLOWER.encode(&Sha256::digest(content))
            );
            assert!(lines.contains(&line.as_str()), "{line} in {manifest}");
        }
        assert_eq!(count_audit(&h.db.store, "case.export").await.unwrap(), 1);
        // Once whole, the manifest's hash is on record in the chained log:
        // a copy whose files or manifest were changed no longer matches.
        let recorded = sunlight_testkit::query_text(
            &h.db.store,
            "SELECT detail FROM audit_log WHERE action = 'case.exported'",
        )
        .await
        .unwrap();
        assert_eq!(
            recorded,
            format!(
                "manifest_sha256={}",
                data_encoding::HEXLOWER.encode(&Sha256::digest(manifest.as_bytes()))
            )
        );
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_page_prints_on_a4_without_forms() {
    let css =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/static/style.css")).unwrap();
    let print = css.split("@media print").nth(1).unwrap();
    assert!(print.contains("size: A4"), "{print}");
    for hidden in ["form", "header.site", ".screen-only", ".actions-box"] {
        assert!(print.contains(hidden), "{hidden} hidden in print");
    }
}
