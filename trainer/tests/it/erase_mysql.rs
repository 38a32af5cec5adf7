//! The erasure half of `trainer ingest` against a real MariaDB server (see `ingest_mysql`): the
//! Worker's deletions applied to the interactions table with their cursor, and the cursor read
//! back by the MySQL source as the model's `erased_through`.

use edgerec_core::wire::StoredDeletion;
use edgerec_trainer::dataset::rules::Rules;
use edgerec_trainer::db::{ERASURE_CURSOR_TABLE, Target};
use edgerec_trainer::live::erase::Eraser;
use edgerec_trainer::live::page::parse_page;
use edgerec_trainer::live::store::Sink;
use edgerec_trainer::source::{Columns, mysql};
use mysql_async::Conn;
use mysql_async::prelude::Queryable as _;

use crate::common::db_url;

/// Events `1..=n` of `user(seq)`, one a second from 2026-01-01 00:00:01 (seq 1).
fn page(n: u64, user: impl Fn(u64) -> &'static str) -> edgerec_trainer::live::page::Page {
    let body: String = (1..=n)
        .map(|seq| {
            let line = serde_json::json!({
                "seq": seq, "event_id": format!("erase-{seq}"), "user_id": user(seq), "item_id": format!("I{seq}"),
                "behavior": "click", "rating": null, "timestamp": 1_767_225_600 + seq, "received_at": 1, "stored_at": 2
            });
            format!("{line}\n")
        })
        .collect();
    parse_page(body.as_bytes(), 0, 5000, Some(&n.to_string())).unwrap()
}

async fn rows_of(conn: &mut Conn, table: &str, user: &str) -> u64 {
    conn.exec_first(format!("SELECT COUNT(*) FROM `{table}` WHERE user_id = ?"), (user,))
        .await
        .unwrap()
        .unwrap()
}

#[test]
#[ignore = "needs MariaDB: run scripts/test.sh"]
fn deletions_erase_the_rows_at_or_before_them_once_and_the_model_records_the_cursor() {
    let url = db_url("deletions_erase_the_rows_at_or_before_them");
    let (table, source) = ("erase_basic", "http://test.invalid/erase");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let target = Target::parse(&url).unwrap();
        let mut conn = target.connect().await.unwrap();
        conn.query_drop(format!("DROP TABLE IF EXISTS `{table}`")).await.unwrap();
        conn.query_drop(format!("DROP TABLE IF EXISTS `{ERASURE_CURSOR_TABLE}`")).await.unwrap();
        let mut sink = Sink::open(&target, table, source).await.unwrap();
        // U1 before its deletion (seq 1..=10), U2, and U1 back after it (seq 21..=30).
        let user = |seq| if (11..=20).contains(&seq) { "U2" } else { "U1" };
        sink.write_page(&page(30, user)).await.unwrap();
        sink.close().await;

        let mut eraser = Eraser::open(&target, table, source).await.unwrap();
        assert_eq!(eraser.cursor(), 0);
        // Deleted at 00:00:10.999: seq 10 (00:00:10) is covered, seq 21 on are not.
        let deletion =
            StoredDeletion { seq: 7, user_id: "U1".into(), deleted_at: (1_767_225_610 * 1000) + 999 };
        let other = StoredDeletion { seq: 9, user_id: "nobody".into(), deleted_at: 1_767_225_700_000 };
        assert_eq!(eraser.apply(&[deletion.clone(), other.clone()], 9).await.unwrap(), 10);
        assert_eq!((rows_of(&mut conn, table, "U1").await, rows_of(&mut conn, table, "U2").await), (10, 10));
        eraser.close().await;

        // A rerun resumes after the cursor; the same page again deletes nothing.
        let mut eraser = Eraser::open(&target, table, source).await.unwrap();
        assert_eq!(eraser.cursor(), 9);
        assert_eq!(eraser.apply(&[deletion, other], 9).await.unwrap(), 0);
        assert_eq!(rows_of(&mut conn, table, "U1").await, 10);
        eraser.close().await;

        conn.disconnect().await.unwrap();
    });
    // The source reads the cursor as the deletions its rows had seen applied.
    let columns = Columns {
        user: "user_id".into(),
        item: "item_id".into(),
        rating: "rating".into(),
        time: ("timestamp".into(), false),
        behavior: ("behavior".into(), false),
        category: "category".into(),
    };
    let tables = mysql::Tables { interactions: table, items: None };
    let data = mysql::load_table(&url, &tables, &columns, Rules::default(), None).unwrap();
    assert_eq!((data.interactions.len(), data.erased_through), (20, Some(9)));
}
