//! Without an SMTP server, mail goes to `.eml` files in the data folder:
//! each outbox row becomes one complete file, is marked sent, and is not
//! written again; a recipient that is not an address is refused for good.
//! On SQLite and PostgreSQL.

use chrono::Utc;
use sunlight_notify::{Delivery, MailSettings, Transport};
use sunlight_store::NewMail;
use sunlight_testkit::{Engine, TestDb};

fn mail(key: &str, to: &str) -> NewMail {
    NewMail {
        dedupe_key: key.into(),
        recipient: to.into(),
        subject: "【阳光】督办：案件 0badcafe 已超过查核期限".into(),
        body: "本案件查核环节已超过办理期限。\n".into(),
        case_id: None,
        kind: "overdue".into(),
    }
}

#[tokio::test]
async fn without_smtp_each_mail_becomes_one_eml_file_once() {
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let db = TestDb::new(engine).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("mail");
        let now = Utc::now();
        db.store
            .bench_enqueue_mails(
                &[
                    mail("a", "verifier@gd.demo"),
                    mail("b", "supervisor@gd.demo"),
                    mail("c", "not an address"),
                ],
                now,
            )
            .await
            .unwrap();
        let delivery = Delivery::new(
            db.store.clone(),
            Transport::new(None, &folder).unwrap(),
            MailSettings::default(),
        )
        .unwrap();
        let report = delivery.deliver_due(Utc::now()).await.unwrap();
        assert_eq!((report.sent, report.deferred, report.failed), (2, 0, 1));
        let files: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 2, "{files:?}");
        let rows = db.store.outbox_all().await.unwrap();
        for path in &files {
            assert_eq!(path.extension().unwrap(), "eml");
            let text = std::fs::read_to_string(path).unwrap();
            let id = path.file_stem().unwrap().to_str().unwrap();
            assert!(
                text.contains(&format!("Message-ID: <{id}@sunlight>")),
                "{text}"
            );
            assert!(
                text.contains("From: Sunlight <sunlight@localhost>"),
                "{text}"
            );
            let row = rows.iter().find(|r| r.id.to_string() == id).unwrap();
            assert!(text.contains(&format!("To: {}", row.recipient)), "{text}");
            assert!(row.sent_at.is_some());
        }
        let refused = rows.iter().find(|r| r.dedupe_key == "c").unwrap();
        assert!(refused.failed_at.is_some() && refused.sent_at.is_none());
        // A second round finds nothing to send.
        let again = delivery.deliver_due(Utc::now()).await.unwrap();
        assert_eq!((again.sent, again.failed), (0, 0));
        assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 2);
        let status = db.store.outbox_status().await.unwrap();
        assert_eq!((status.sent, status.failed, status.pending), (2, 1, 0));
    }
}
