//! The audit log as staff read it (#18 item 12): admins and supervisors see
//! the entries of their units only, filtered by case number, member,
//! action and day; the page says whether the chain holds up to its head
//! and names the entry where it breaks; bad filters are refused with 422
//! in the reader's language.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use chrono::{Duration, Utc};
use serde_json::json;
use sunlight_testkit::drop_audit_guards;

use crate::common::{ENGINES, Harness, email};

/// The `data-seq` of every listed entry, in page order.
fn seqs(body: &str) -> Vec<i64> {
    body.split("data-seq=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisors_read_their_units_audit_and_see_the_chain_hold() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        // A report of Tianhe, numbered; a sign-in in Shenzhen.
        let desk = h.sign_in(&email("intake", "gd-gz-tianhe")).await;
        let (s, v) = desk
            .post(
                "/api/v1/intake",
                json!({
                    "unit": "gd-gz-tianhe", "category": "office_trading",
                    "accused": {"name": "周某", "position": "", "role": "ordinary"},
                    "selection_stage": "none", "narrative": "来电反映。",
                    "real_name": false, "reporter": {"name": "", "phone": ""},
                    "channel": "phone"
                }),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let case_id = v["case_id"].as_str().unwrap().to_owned();
        let triage = crate::numbering::triage(&h.db.store);
        triage
            .number_pending(Utc::now() + Duration::days(2))
            .await
            .unwrap();
        let (_, case) = h
            .sign_in(&email("verifier", "gd-gz-tianhe"))
            .await
            .get(&format!("/api/v1/cases/{case_id}"))
            .await;
        let number = case["number"].as_str().unwrap().to_owned();
        // A Shenzhen case, numbered too: a number the city must not probe.
        let sz_desk = h.sign_in(&email("intake", "gd-sz")).await;
        let (s, v) = sz_desk
            .post(
                "/api/v1/intake",
                json!({
                    "unit": "gd-sz", "category": "office_trading",
                    "accused": {"name": "吴某", "position": "", "role": "ordinary"},
                    "selection_stage": "none", "narrative": "来访反映。",
                    "real_name": false, "reporter": {"name": "", "phone": ""},
                    "channel": "visit"
                }),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        triage
            .number_pending(Utc::now() + Duration::days(2))
            .await
            .unwrap();
        let sz_case = v["case_id"].as_str().unwrap().to_owned();
        let (_, sz) = h
            .sign_in(&email("verifier", "gd-sz"))
            .await
            .get(&format!("/api/v1/cases/{sz_case}"))
            .await;
        let sz_number = sz["number"].as_str().unwrap().to_owned();
        // The province reads the Tianhe case: oversight from above, which
        // the city's log does not show.
        let province = h.sign_in(&email("supervisor", "gd")).await;
        let (s, _) = province.get(&format!("/api/v1/cases/{case_id}")).await;
        assert_eq!(s, 200);
        // A hotspot flag on the city, and a search by a city member: the
        // flag is for the units above only, the search's words are sealed.
        let city_api = h.sign_in(&email("supervisor", "gd-gz")).await;
        for (actor, action, detail) in [
            (
                "system:stats".to_owned(),
                "hotspot.raised",
                "reports=9".to_owned(),
            ),
            (
                format!("staff:{}", city_api.staff_id),
                "search.run",
                "hits=1 sealed=U0VDUkVUV09SRA".to_owned(),
            ),
        ] {
            h.db.store
                .audit(
                    sunlight_store::AuditRecord {
                        actor,
                        action: action.into(),
                        unit: "gd-gz".into(),
                        case_id: String::new(),
                        detail,
                    },
                    Utc::now(),
                )
                .await
                .unwrap();
        }

        let city = h.sign_in_page(&email("supervisor", "gd-gz")).await;
        let a = city.get("/audit?lang=en").await;
        assert_eq!(a.status, 200, "{}", a.body);
        // The chain holds up to the newest entry, whose hash is shown.
        let (head_seq, head_hash) = h.db.store.audit_head().await.unwrap().unwrap();
        assert!(a.body.contains("data-intact=\"true\""), "{}", a.body);
        assert!(
            a.body.contains(&data_encoding::HEXLOWER.encode(&head_hash)),
            "{engine:?}"
        );
        assert!(
            a.body.contains(&format!("the newest, entry {head_seq}.")),
            "{}",
            a.body
        );
        // Tianhe's entries and the desk member by email; nothing of Shenzhen.
        assert!(a.body.contains("intake@gd-gz-tianhe.test"), "{}", a.body);
        assert!(!a.body.contains("gd-sz"), "{engine:?}");
        assert!(!a.body.contains("深圳"), "{engine:?}");
        let listed = seqs(&a.body);
        assert!(listed.windows(2).all(|w| w[0] > w[1]), "newest first");
        assert!(
            !a.body.contains("supervisor@gd.test"),
            "{engine:?}: the province's read"
        );
        assert!(
            !a.body.contains("<code>hotspot.raised</code>"),
            "{engine:?}"
        );
        assert!(a.body.contains("sealed=…") && !a.body.contains("U0VDUkVUV09SRA"));
        let province_page = h.sign_in_page(&email("supervisor", "gd")).await;
        let p = province_page.get("/audit").await.body;
        assert!(
            p.contains("<code>hotspot.raised</code>"),
            "the unit above sees the flag"
        );
        assert!(p.contains("supervisor@gd.test"), "and its own reads");

        // By case number: only that case's entries, its number shown.
        let a = city.get(&format!("/audit?number={number}")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(
            a.body.contains("<code>case.received</code>")
                && a.body.contains("<code>case.numbered</code>")
        );
        assert!(!a.body.contains("<code>session.open</code>"), "{engine:?}");
        assert!(a.body.contains(&format!(">{number}</a>")), "{}", a.body);
        // By member, action and day.
        let a = city
            .get("/audit?actor=intake%40gd-gz-tianhe.test&action=session.open")
            .await;
        assert_eq!(seqs(&a.body).len(), 1, "{}", a.body);
        let today = sunlight_core::policy::Policy::cn_12380().local_date(Utc::now());
        // (The numbering ran on a clock two days ahead.)
        let tomorrow = today + Duration::days(1);
        let later = today + Duration::days(3);
        let a = city.get(&format!("/audit?from={later}")).await;
        assert!(a.body.contains("id=\"no-entries\""), "{engine:?}");

        // Bad filters: 422 in the reader's language, nothing listed.
        let sz = format!("number={sz_number}");
        for q in [
            sz.as_str(),
            "number=nonsense",
            "actor=supervisor%40gd-sz.test",
            "actor=nobody%40x.test",
            "action=DROP%20TABLE",
            "from=2026-13-01",
            &format!("from={tomorrow}&to={today}"),
            "before=x",
        ] {
            let a = city.get(&format!("/audit?lang=en&{q}")).await;
            assert_eq!(a.status, 422, "{q}");
            assert!(a.body.contains("A filter is not right"), "{q}");
            assert!(seqs(&a.body).is_empty(), "{q}");
        }

        // Admins read the entries that name no case (sign-ins, staff);
        // verifiers and the desk read none.
        let admin = h.sign_in_page(&email("admin", "gd-gz")).await;
        let a = admin.get("/audit").await;
        assert_eq!(a.status, 200);
        assert!(a.body.contains("<code>session.open</code>"), "{}", a.body);
        assert!(!a.body.contains("<code>case.received</code>"), "{engine:?}");
        let a = admin.get(&format!("/audit?number={number}")).await;
        assert_eq!(a.status, 422);
        let verifier = h.sign_in_page(&email("verifier", "gd-gz")).await;
        assert_eq!(verifier.get("/audit").await.status, 403);
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_cut_back_below_a_verified_head_stays_broken() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let city = h.sign_in_page(&email("supervisor", "gd-gz")).await;
        let a = city.get("/audit?lang=en").await;
        assert!(a.body.contains("data-intact=\"true\""), "{}", a.body);
        let (head, _) = h.db.store.audit_head().await.unwrap().unwrap();
        // The newest entries dropped: what is left is a valid, shorter
        // chain, but the head verified before is gone.
        drop_audit_guards(&h.db.store).await.unwrap();
        h.db.raw(&format!("DELETE FROM audit_log WHERE seq >= {}", head - 1))
            .await
            .unwrap();
        for _ in 0..2 {
            let a = city.get("/audit?lang=en").await;
            assert!(
                a.body.contains("data-intact=\"false\""),
                "{engine:?}: {}",
                a.body
            );
            assert!(
                a.body
                    .contains(&format!("entry {head}, verified earlier, is gone")),
                "{}",
                a.body
            );
        }
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_names_the_entry_where_the_chain_breaks() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let city = h.sign_in_page(&email("supervisor", "gd-gz")).await;
        let a = city.get("/audit?lang=en").await;
        assert!(a.body.contains("data-intact=\"true\""), "{}", a.body);
        // New entries after the verified head, one of them rewritten by
        // whoever owns the schema: the next view checks the new entries
        // and names it.
        let _more = h.sign_in(&email("verifier", "gd-gz")).await;
        let _again = h.sign_in(&email("intake", "gd-gz")).await;
        let (head, _) = h.db.store.audit_head().await.unwrap().unwrap();
        drop_audit_guards(&h.db.store).await.unwrap();
        h.db.raw(&format!(
            "UPDATE audit_log SET detail = 'forged' WHERE seq = {}",
            head - 1
        ))
        .await
        .unwrap();
        let a = city.get("/audit?lang=en").await;
        assert!(
            a.body.contains("data-intact=\"false\""),
            "{engine:?}: {}",
            a.body
        );
        assert!(
            a.body
                .contains(&format!("The chain is BROKEN at entry {}", head - 1)),
            "{}",
            a.body
        );
        h.stop().await;
    }
}
