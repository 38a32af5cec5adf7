//! The storage half of `trainer ingest` against a real MariaDB server (started by
//! `scripts/test.sh`, which exports `EDGEREC_TEST_DATABASE_URL` and runs these with
//! `--include-ignored`), driven with pages parsed from NDJSON as the Worker sends them. A plain
//! `cargo test` reports them as ignored; run without a server, they fail and say why.

use std::process::Command;
use std::time::Duration;

use edgerec_trainer::db::Target;
use edgerec_trainer::live::page::{Page, parse_page};
use edgerec_trainer::live::store::{Sink, Written};
use mysql_async::Conn;
use mysql_async::prelude::Queryable as _;

use crate::common::{TRAINER, db_url};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// One NDJSON line; `user` and the behaviour/rating vary with `seq`.
fn line(seq: u64, user: &str) -> String {
    let (behavior, rating) = match seq % 4 {
        0 => ("\"view\"", "null"),
        1 => ("\"purchase\"", "null"),
        2 => ("null", "3.6"),
        _ => ("\"cart\"", "2"),
    };
    serde_json::json!({
        "seq": seq, "event_id": format!("ev-{seq:06}"), "user_id": user, "item_id": format!("I{}", seq % 97),
        "behavior": serde_json::from_str::<serde_json::Value>(behavior).unwrap(),
        "rating": serde_json::from_str::<serde_json::Value>(rating).unwrap(),
        "timestamp": 1_767_225_600 + seq, "received_at": 1, "stored_at": 2
    })
    .to_string()
}

/// A page of events `from..=to` after `after`, parsed as the client parses the Worker's answer.
fn page(after: u64, seqs: std::ops::RangeInclusive<u64>, user: impl Fn(u64) -> String) -> Page {
    let body: String = seqs.clone().map(|s| line(s, &user(s)) + "\n").collect();
    let next = if seqs.is_empty() { after } else { *seqs.end() };
    parse_page(body.as_bytes(), after, 5000, Some(&next.to_string())).unwrap()
}

async fn connect(url: &str) -> Conn {
    let mut conn = Conn::from_url(url).await.unwrap();
    conn.query_drop("SET time_zone = '+00:00'").await.unwrap();
    conn
}

async fn reset(conn: &mut Conn, table: &str, source: &str) {
    conn.query_drop(format!("DROP TABLE IF EXISTS `{table}`")).await.unwrap();
    conn.query_drop(
        "CREATE TABLE IF NOT EXISTS edgerec_ingest_cursor (source VARCHAR(512) CHARACTER SET ascii \
         COLLATE ascii_bin NOT NULL, table_name VARCHAR(129) CHARACTER SET ascii COLLATE ascii_bin \
         NOT NULL, `after` BIGINT UNSIGNED NOT NULL, updated_at DATETIME NOT NULL, \
         PRIMARY KEY (source, table_name))",
    )
    .await
    .unwrap();
    conn.exec_drop("DELETE FROM edgerec_ingest_cursor WHERE source = ? AND table_name = ?", (source, table))
        .await
        .unwrap();
}

async fn count(conn: &mut Conn, table: &str) -> u64 {
    conn.query_first(format!("SELECT COUNT(*) FROM `{table}`")).await.unwrap().unwrap()
}

async fn cursor(conn: &mut Conn, source: &str) -> Option<u64> {
    conn.exec_first("SELECT `after` FROM edgerec_ingest_cursor WHERE source = ?", (source,)).await.unwrap()
}

const OLD_TABLE: &str = "(id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, \
     user_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, \
     item_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, \
     rating TINYINT UNSIGNED NOT NULL, behavior ENUM('view','click','cart','purchase') NOT NULL, \
     `timestamp` DATETIME NOT NULL)";

#[test]
#[ignore = "needs MariaDB: run scripts/test.sh"]
fn a_page_inserts_rows_and_moves_the_cursor_and_the_same_events_again_are_skipped() {
    let url = db_url("a_page_inserts_rows_and_moves_the_cursor");
    let (table, source) = ("ingest_basic", "http://test.invalid/basic");
    rt().block_on(async {
        let mut conn = connect(&url).await;
        reset(&mut conn, table, source).await;
        let target = Target::parse(&url).unwrap();
        let mut sink = Sink::open(&target, table, source).await.unwrap();
        assert!(sink.changes()[0].contains("created table"), "{:?}", sink.changes());
        assert_eq!(sink.cursor(), 0);
        // Any ID the Worker accepts fits the generator's schema: 256 bytes of UTF-8, emoji too.
        let user = |s: u64| match s {
            1 => "é".repeat(128),
            2 => "🦀 crab".to_owned(),
            5 => "tab\there\nnew\\line\r\0\\N".to_owned(),
            _ => format!("U{}", s % 31),
        };
        let first = page(0, 1..=2500, user);
        assert_eq!(sink.write_page(&first).await.unwrap(), Written { inserted: 2500, skipped: 0 });
        assert_eq!((sink.cursor(), cursor(&mut conn, source).await), (2500, Some(2500)));
        assert_eq!(count(&mut conn, table).await, 2500);
        let mapped: Vec<(String, u8, String, String)> = conn
            .query(format!(
                "SELECT user_id, rating, behavior, DATE_FORMAT(`timestamp`, '%Y-%m-%d %H:%i:%s') \
                 FROM `{table}` WHERE event_id IN ('ev-000001', 'ev-000002', 'ev-000003', 'ev-000004') \
                 ORDER BY event_id"
            ))
            .await
            .unwrap();
        let want = [
            ("é".repeat(128), 4, "purchase", "2026-01-01 00:00:01"), // implied by purchase
            ("🦀 crab".to_owned(), 4, "view", "2026-01-01 00:00:02"), // 3.6 rounds; view by default
            ("U3".to_owned(), 2, "cart", "2026-01-01 00:00:03"),
            ("U4".to_owned(), 3, "view", "2026-01-01 00:00:04"), // implied by view
        ];
        let want: Vec<_> = want.into_iter().map(|(u, r, b, t)| (u, r, b.to_owned(), t.to_owned())).collect();
        assert_eq!(mapped, want);
        let escaped: Option<String> = conn
            .query_first(format!("SELECT user_id FROM `{table}` WHERE event_id = 'ev-000005'"))
            .await
            .unwrap();
        assert_eq!(escaped.as_deref(), Some("tab\there\nnew\\line\r\0\\N"));
        sink.close().await;

        // A rerun resumes after the cursor; the same events sent again are counted as skipped,
        // through INSERT this time (what a server that refuses LOAD DATA LOCAL gets).
        let mut sink = Sink::open(&target, table, source).await.unwrap();
        sink.prefer_insert();
        assert!(sink.changes().is_empty());
        assert_eq!(sink.cursor(), 2500);
        assert_eq!(sink.write_page(&first).await.unwrap(), Written { inserted: 0, skipped: 2500 });
        let mixed = page(2000, 2001..=2600, user);
        assert_eq!(sink.write_page(&mixed).await.unwrap(), Written { inserted: 100, skipped: 500 });
        assert_eq!(count(&mut conn, table).await, 2600);
        assert_eq!(cursor(&mut conn, source).await, Some(2600));
        // An empty page keeps the cursor and writes nothing.
        let empty = parse_page(&b""[..], 2600, 5000, Some("2600")).unwrap();
        assert_eq!(sink.write_page(&empty).await.unwrap(), Written::default());
        assert_eq!(sink.cursor(), 2600);
        sink.close().await;
        conn.disconnect().await.unwrap();
    });
}

#[test]
#[ignore = "needs MariaDB: run scripts/test.sh"]
fn a_connection_killed_mid_page_rolls_the_page_back_and_a_rerun_inserts_it_once() {
    let url = db_url("a_connection_killed_mid_page");
    let (table, source) = ("ingest_killed", "http://test.invalid/killed");
    let user = |s: u64| format!("U{}", s % 13);
    rt().block_on(async {
        let mut conn = connect(&url).await;
        reset(&mut conn, table, source).await;
        let target = Target::parse(&url).unwrap();
        let mut sink = Sink::open(&target, table, source).await.unwrap();
        sink.write_page(&page(0, 1..=1000, user)).await.unwrap();

        // Hold the cursor row, so the next page's rows go in and its cursor update waits.
        let mut holder = connect(&url).await;
        holder.query_drop("START TRANSACTION").await.unwrap();
        let _: Option<u64> = holder
            .exec_first(
                // The whole primary key, so only this row is locked, not a range.
                "SELECT `after` FROM edgerec_ingest_cursor WHERE source = ? AND table_name = ? FOR UPDATE",
                (source, table),
            )
            .await
            .unwrap();
        let second = page(1000, 1001..=3500, user);
        let id = sink.connection_id();
        let killer = async {
            let mut watcher = connect(&url).await;
            watcher.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED").await.unwrap();
            for _ in 0..500 {
                let waiting: Option<u64> = watcher
                    .exec_first(
                        "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
                         WHERE ID = ? AND INFO LIKE '%edgerec_ingest_cursor%'",
                        (id,),
                    )
                    .await
                    .unwrap();
                if waiting == Some(1) {
                    // The page's 2,500 rows are in, uncommitted, when the connection dies.
                    assert_eq!(count(&mut watcher, table).await, 3500);
                    watcher.query_drop(format!("KILL CONNECTION {id}")).await.unwrap();
                    holder.query_drop("ROLLBACK").await.unwrap();
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            panic!("the sink never waited on the cursor row");
        };
        let (written, ()) = tokio::join!(sink.write_page(&second), killer);
        let err = format!("{:#}", written.expect_err("the connection was killed"));
        assert!(!err.is_empty());
        assert_eq!(count(&mut conn, table).await, 1000, "the killed page is rolled back ({err})");
        assert_eq!(cursor(&mut conn, source).await, Some(1000));

        let mut sink = Sink::open(&target, table, source).await.unwrap();
        assert_eq!(sink.cursor(), 1000);
        assert_eq!(sink.write_page(&second).await.unwrap(), Written { inserted: 2500, skipped: 0 });
        let distinct: Option<(u64, u64)> = conn
            .query_first(format!("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM `{table}`"))
            .await
            .unwrap();
        assert_eq!(distinct, Some((3500, 3500)));
        assert_eq!(cursor(&mut conn, source).await, Some(3500));
        sink.close().await;
    });
}

#[test]
#[ignore = "needs MariaDB: run scripts/test.sh"]
fn ingest_adds_event_id_to_an_old_table_and_stops_at_an_event_it_cannot_hold() {
    let url = db_url("ingest_adds_event_id_to_an_old_table");
    let (table, source) = ("ingest_old", "http://test.invalid/old");
    rt().block_on(async {
        let mut conn = connect(&url).await;
        reset(&mut conn, table, source).await;
        conn.query_drop(format!("CREATE TABLE `{table}` {OLD_TABLE}")).await.unwrap();
        conn.query_drop(format!(
            "INSERT INTO `{table}` (user_id, item_id, rating, behavior, `timestamp`) \
             VALUES ('U1', 'I1', 5, 'view', '2026-01-01 00:00:00')"
        ))
        .await
        .unwrap();
        let target = Target::parse(&url).unwrap();
        let mut sink = Sink::open(&target, table, source).await.unwrap();
        assert_eq!(sink.changes().len(), 1);
        assert!(sink.changes()[0].contains("added column `event_id` with a UNIQUE key"), "{:?}", sink.changes());
        let old_row: Option<Option<String>> =
            conn.query_first(format!("SELECT event_id FROM `{table}` WHERE id = 1")).await.unwrap();
        assert_eq!(old_row, Some(None));

        // seq 3's user ID is not ASCII: seq 1 and 2 go in, the cursor stops at 2, and the error
        // names the event.
        let user = |s: u64| if s == 3 { "Zoë".to_owned() } else { format!("U{s}") };
        let events = page(0, 1..=4, user);
        let err = format!("{:#}", sink.write_page(&events).await.expect_err("Zoë does not fit"));
        assert!(err.contains("event \"ev-000003\" (seq 3)"), "{err}");
        assert!(err.contains("character set ascii") && err.contains("cursor stays at 2"), "{err}");
        assert_eq!((count(&mut conn, table).await, cursor(&mut conn, source).await), (3, Some(2)));
        // Again: nothing new, still stopped before seq 3.
        assert!(sink.write_page(&events).await.is_err());
        assert_eq!((count(&mut conn, table).await, sink.cursor()), (3, 2));
        sink.close().await;

        // Widened as the error suggests, the next run takes the rest.
        conn.query_drop(format!(
            "ALTER TABLE `{table}` MODIFY user_id VARCHAR(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL"
        ))
        .await
        .unwrap();
        let mut sink = Sink::open(&target, table, source).await.unwrap();
        assert!(sink.changes().is_empty());
        let rest = page(2, 3..=4, user);
        assert_eq!(sink.write_page(&rest).await.unwrap(), Written { inserted: 2, skipped: 0 });
        assert_eq!((count(&mut conn, table).await, cursor(&mut conn, source).await), (5, Some(4)));
        sink.close().await;
    });
}

#[test]
#[ignore = "needs MariaDB: run scripts/test.sh"]
fn generate_creates_the_event_id_key_and_wide_ids() {
    let url = db_url("generate_creates_the_event_id_key_and_wide_ids");
    let args =
        ["generate", "--users", "20", "--items", "12", "--interactions", "200", "--table", "ingest_gen"];
    let out = Command::new(TRAINER)
        .args(args)
        .args(["--items-table", "ingest_gen_items", "--if-exists", "replace", "--database-url", &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    rt().block_on(async {
        let mut conn = connect(&url).await;
        let columns: Vec<(String, Option<u64>, Option<String>, String)> = conn
            .query(
                "SELECT COLUMN_NAME, CHARACTER_MAXIMUM_LENGTH, CHARACTER_SET_NAME, IS_NULLABLE \
                 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
                 AND TABLE_NAME = 'ingest_gen' AND COLUMN_NAME IN ('user_id', 'item_id', 'event_id') \
                 ORDER BY COLUMN_NAME",
            )
            .await
            .unwrap();
        let utf8 = Some("utf8mb4".to_owned());
        assert_eq!(
            columns,
            [
                ("event_id".to_owned(), Some(128), Some("ascii".to_owned()), "YES".to_owned()),
                ("item_id".to_owned(), Some(256), utf8.clone(), "NO".to_owned()),
                ("user_id".to_owned(), Some(256), utf8, "NO".to_owned()),
            ]
        );
        let unique: Option<u64> = conn
            .query_first(
                "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() \
                 AND TABLE_NAME = 'ingest_gen' AND COLUMN_NAME = 'event_id' AND NON_UNIQUE = 0",
            )
            .await
            .unwrap();
        assert_eq!(unique, Some(1));
        let nulls: Option<u64> =
            conn.query_first("SELECT COUNT(*) FROM ingest_gen WHERE event_id IS NULL").await.unwrap();
        assert_eq!(nulls, Some(200));
    });
}

#[test]
#[ignore = "needs MariaDB: run scripts/test.sh"]
fn ingest_from_an_unreachable_worker_fails_and_keeps_the_cursor() {
    let url = db_url("ingest_from_an_unreachable_worker_fails_and_keeps_the_cursor");
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let from = format!("http://127.0.0.1:{port}");
    let out = Command::new(TRAINER)
        .args([
            "ingest",
            "--from",
            &from,
            "--token",
            "t",
            "--table",
            "ingest_unreachable",
            "--database-url",
            &url,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("could not be reached"), "{stderr}");
    assert!(stderr.contains("cursor in `edgerec_ingest_cursor` stays at 0"), "{stderr}");
}
