//! The data layer against a real MariaDB server (started by `scripts/test.sh`, which exports
//! `EDGEREC_TEST_DATABASE_URL` and runs these with `--include-ignored`). A plain `cargo test`
//! reports them as ignored, never as passed; run without a server, they fail and say why.
//! No mocks: the trainer binary talks to the server over TCP.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use clap::Parser;
use edgerec_trainer::cli::DataArgs;
use edgerec_trainer::dataset::Dataset;
use mysql_async::prelude::Queryable as _;

use crate::common::{TRAINER, db_url, stderr, trainer};

fn run_ok(args: &[&str]) -> Output {
    let out = trainer(args);
    assert!(out.status.success(), "trainer {args:?} failed: {}", stderr(&out));
    out
}

#[derive(Parser)]
struct Wrapper {
    #[command(flatten)]
    data: DataArgs,
}

fn load(args: &[&str]) -> Dataset {
    let wrapper = Wrapper::try_parse_from(std::iter::once("load").chain(args.iter().copied()))
        .expect("valid data arguments");
    wrapper.data.load_quiet().expect("loads")
}

fn query<T: mysql_async::prelude::FromRow + Send + 'static>(url: &str, sql: &str) -> Vec<T> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let mut conn = mysql_async::Conn::from_url(url).await.expect("connects");
        conn.query_drop("SET time_zone = '+00:00'").await.expect("time zone");
        let rows = conn.query(sql).await.expect("query runs");
        conn.disconnect().await.expect("disconnects");
        rows
    })
}

fn exec(url: &str, statements: &[&str]) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let mut conn = mysql_async::Conn::from_url(url).await.expect("connects");
        for sql in statements {
            conn.query_drop(*sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        conn.disconnect().await.expect("disconnects");
    });
}

fn host_port(url: &str) -> String {
    let after_at = url.rsplit_once('@').map_or(url, |(_, rest)| rest);
    after_at.split('/').next().unwrap_or(after_at).to_owned()
}

#[test]
#[ignore = "needs MariaDB: scripts/test.sh starts one and runs this with --include-ignored"]
fn generate_load_round_trip_file_and_mysql_agree() {
    let url = db_url("generate_load_round_trip_file_and_mysql_agree");
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("demo.csv");
    let csv = csv.to_str().expect("utf-8 path");
    let sizes = ["--users", "300", "--items", "150", "--interactions", "20000", "--seed", "11"];
    let mut file_args = vec!["generate", "--out", csv];
    file_args.extend(sizes);
    run_ok(&file_args);
    let mut db_args = vec![
        "generate",
        "--database-url",
        &url,
        "--table",
        "rt_interactions",
        "--items-table",
        "rt_items",
        "--if-exists",
        "replace",
    ];
    db_args.extend(sizes);
    run_ok(&db_args);

    // Equal row counts and equal raw content, row by row.
    let rows: Vec<(String, String, u8, String, i64)> = query(
        &url,
        "SELECT user_id, item_id, rating, behavior, UNIX_TIMESTAMP(`timestamp`) \
         FROM rt_interactions ORDER BY id",
    );
    let text = std::fs::read_to_string(csv).expect("csv");
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 20_000);
    assert_eq!(lines.len(), rows.len());
    for (line, (user, item, rating, behavior, ts)) in lines.iter().zip(&rows) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(
            fields[..5],
            [user.as_str(), item.as_str(), &rating.to_string(), behavior.as_str(), &ts.to_string()]
        );
    }
    let items: Vec<(String, String)> = query(&url, "SELECT item_id, category FROM rt_items ORDER BY item_id");
    assert_eq!(items.len(), 150);

    // Loading both sources gives the same dataset.
    let from_file = load(&["--data", csv]);
    let from_db = load(&["--database-url", &url, "--table", "rt_interactions", "--items-table", "rt_items"]);
    assert_eq!(from_file.report.rows_read, 20_000);
    assert_eq!(from_db.report.rows_read, 20_000);
    assert_eq!(from_file.user_ids, from_db.user_ids);
    assert_eq!(from_file.item_ids, from_db.item_ids);
    assert_eq!(from_file.interactions, from_db.interactions);
    assert_eq!(from_file.item_categories, from_db.item_categories);
    assert_eq!(from_file.report.duplicates_resolved, from_db.report.duplicates_resolved);
    assert_eq!(from_file.report.users, 300);
    // And both equal the in-memory generator.
    let memory = edgerec_trainer::synthetic::csv::dataset(edgerec_trainer::synthetic::generator::GenConfig {
        users: 300,
        items: 150,
        interactions: 20_000,
        seed: 11,
        ..Default::default()
    })
    .expect("generates");
    assert_eq!(memory.interactions, from_db.interactions);
}

fn checksum(url: &str, table: &str) -> (i64, String) {
    let rows: Vec<(i64, String)> = query(
        url,
        &format!(
            "SELECT COUNT(*), CAST(COALESCE(SUM(CRC32(CONCAT_WS(',', id, user_id, item_id, \
             rating, behavior, `timestamp`))), 0) AS CHAR) FROM {table}"
        ),
    );
    rows.into_iter().next().expect("one row")
}

#[test]
#[ignore = "needs MariaDB: scripts/test.sh starts one and runs this with --include-ignored"]
fn rerun_is_idempotent_and_never_silently_duplicates() {
    let url = db_url("rerun_is_idempotent_and_never_silently_duplicates");
    exec(&url, &["DROP TABLE IF EXISTS idem_interactions, idem_items"]);
    let target =
        ["generate", "--database-url", &url, "--table", "idem_interactions", "--items-table", "idem_items"];
    let sizes = ["--users", "50", "--items", "30", "--interactions", "1000"];
    let base: Vec<&str> = target.iter().chain(&sizes).copied().collect();
    let with =
        |extra: &[&'static str]| -> Vec<&str> { base.iter().copied().chain(extra.iter().copied()).collect() };
    run_ok(&with(&[]));
    let first = checksum(&url, "idem_interactions");
    assert_eq!(first.0, 1000);

    // The same settings again: a no-op.
    let out = run_ok(&with(&[]));
    assert!(stderr(&out).contains("nothing to do"), "{}", stderr(&out));
    assert_eq!(checksum(&url, "idem_interactions"), first);

    // Other settings with the default --if-exists fail: refused, table untouched.
    let out = trainer(&with(&["--seed", "7"]));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("`edgerec`.`idem_interactions` already exists"), "{err}");
    assert!(err.contains("--if-exists replace"), "{err}");
    assert_eq!(checksum(&url, "idem_interactions"), first);

    // Replace: new content, same size, no staging tables left behind.
    run_ok(&with(&["--seed", "7", "--if-exists", "replace"]));
    let replaced = checksum(&url, "idem_interactions");
    assert_eq!(replaced.0, 1000);
    assert_ne!(replaced, first);
    run_ok(&with(&["--seed", "7", "--if-exists", "replace"]));
    assert_eq!(checksum(&url, "idem_interactions"), replaced);
    let leftovers = || -> Vec<String> {
        query(
            &url,
            "SELECT TABLE_NAME FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'idem%edgerec%'",
        )
    };
    assert!(leftovers().is_empty(), "{:?}", leftovers());

    // A replace killed in the middle of its bulk load leaves the table as it was.
    let big_sizes = ["--users", "5000", "--items", "900", "--interactions", "400000"];
    let big: Vec<&str> =
        target.iter().chain(&big_sizes).chain(&["--if-exists", "replace"]).copied().collect();
    let mut child =
        Command::new(TRAINER).args(&big).stderr(Stdio::null()).spawn().expect("spawns the trainer");
    let started = std::time::Instant::now();
    loop {
        let staging: Vec<i64> = query(
            &url,
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME = 'idem_interactions__edgerec_staging'",
        );
        if staging == [1] {
            break;
        }
        assert!(started.elapsed().as_secs() < 60, "no staging table appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    child.kill().expect("kills the trainer");
    let status = child.wait().expect("waits");
    assert!(!status.success(), "killed before it finished");
    assert_eq!(checksum(&url, "idem_interactions"), replaced, "an interrupted replace changed it");
    // The next run drops the leftover staging table.
    run_ok(&with(&["--seed", "7", "--if-exists", "replace"]));
    assert_eq!(checksum(&url, "idem_interactions"), replaced);
    assert!(leftovers().is_empty(), "{:?}", leftovers());

    // Append is explicit: it adds every row again, items stay unique.
    run_ok(&with(&["--seed", "7", "--if-exists", "append"]));
    assert_eq!(checksum(&url, "idem_interactions").0, 2000);
    let items: Vec<i64> = query(&url, "SELECT COUNT(*) FROM idem_items");
    assert_eq!(items, [30]);
}

#[test]
#[ignore = "needs MariaDB: scripts/test.sh starts one and runs this with --include-ignored"]
fn seeded_bad_rows_give_an_exact_report() {
    let url = db_url("seeded_bad_rows_give_an_exact_report");
    exec(
        &url,
        &[
            "DROP TABLE IF EXISTS bad_interactions",
            "CREATE TABLE bad_interactions (id INT PRIMARY KEY, user_id VARCHAR(20) NULL, \
             item_id VARCHAR(20) NULL, rating VARCHAR(10) NULL, behavior VARCHAR(10) NULL, \
             `timestamp` VARCHAR(30) NULL)",
            "INSERT INTO bad_interactions VALUES \
             (1, 'U1', 'I1', '4', 'view', '2026-01-01 00:00:00'), \
             (2, NULL, 'I1', '4', 'view', '2026-01-01 00:00:00'), \
             (3, '  ', 'I2', '4', 'view', '2026-01-01 00:00:00'), \
             (4, 'U1', NULL, '4', 'view', '2026-01-01 00:00:00'), \
             (5, 'U1', 'I2', 'four', 'view', '2026-01-01 00:00:00'), \
             (6, 'U1', 'I2', NULL, 'view', '2026-01-01 00:00:00'), \
             (7, 'U1', 'I2', '7', 'view', '2026-01-01 00:00:00'), \
             (8, 'U1', 'I2', '0.5', 'view', '2026-01-01 00:00:00'), \
             (9, 'U1', 'I2', '3', 'view', 'not a date'), \
             (10, 'U1', 'I2', '3', 'view', NULL), \
             (11, 'U1', 'I2', '3', 'like', '2026-01-01 00:00:00'), \
             (12, 'U2', 'I1', '2', 'click', '1767225600'), \
             (13, 'U2', 'I1', '5', 'cart', '2026-01-02 00:00:00'), \
             (14, 'U2', 'I1', '1', 'view', '2026-01-01 12:00:00'), \
             (15, 'U3', 'I3', '3.5', NULL, '2026-01-03T00:00:00Z')",
        ],
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let json_path = dir.path().join("report.json");
    let out = run_ok(&[
        "data-report",
        "--database-url",
        &url,
        "--table",
        "bad_interactions",
        "--json",
        "--report-json",
        json_path.to_str().expect("utf-8"),
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let source = format!("mysql://{}/edgerec table bad_interactions", host_port(&url));
    let expected = serde_json::json!({
        "source": source,
        "rows_read": 15,
        "rows_skipped": {
            "bad_timestamp": 2,
            "empty_item_id": 1,
            "empty_user_id": 2,
            "rating_out_of_range": 2,
            "unknown_behavior": 1,
            "unparsable_rating": 2
        },
        "duplicates_resolved": 2,
        "duplicate_policy": "latest by timestamp (ties: last row read)",
        "interactions": 3,
        "users": 3,
        "items": 2,
        "examples": [
            {"row": 2, "reason": "empty_user_id", "detail": "NULL or missing"},
            {"row": 3, "reason": "empty_user_id", "detail": "\"  \""},
            {"row": 4, "reason": "empty_item_id", "detail": "NULL or missing"},
            {"row": 5, "reason": "unparsable_rating", "detail": "\"four\""},
            {"row": 6, "reason": "unparsable_rating", "detail": "NULL or missing"},
            {"row": 7, "reason": "rating_out_of_range", "detail": "7 not in 1..=5"},
            {"row": 8, "reason": "rating_out_of_range", "detail": "0.5 not in 1..=5"},
            {"row": 9, "reason": "bad_timestamp", "detail": "\"not a date\""},
            {"row": 10, "reason": "bad_timestamp", "detail": "NULL or missing"},
            {"row": 11, "reason": "unknown_behavior", "detail": "\"like\""}
        ]
    });
    assert_eq!(report, expected);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("report file")).expect("JSON");
    assert_eq!(written, expected);

    // The duplicate (U2, I1) resolves to the latest row: rating 5, cart.
    let dataset = load(&["--database-url", &url, "--table", "bad_interactions"]);
    let u2 = dataset.user_ids.iter().position(|u| u == "U2").expect("U2") as u32;
    let kept: Vec<_> = dataset.interactions.iter().filter(|i| i.user == u2).collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].rating, 5.0);
    assert_eq!(kept[0].timestamp, 1_767_225_600 + 86_400);

    // --strict turns the first bad row into a failure.
    let out = trainer(&["data-report", "--database-url", &url, "--table", "bad_interactions", "--strict"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("row 2: empty_user_id"), "{}", stderr(&out));
}

#[test]
#[ignore = "needs MariaDB: scripts/test.sh starts one and runs this with --include-ignored"]
fn missing_table_or_column_is_named() {
    let url = db_url("missing_table_or_column_is_named");
    let out = trainer(&["data-report", "--database-url", &url, "--table", "no_such_table"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("table `edgerec`.`no_such_table` does not exist"), "{}", stderr(&out));

    exec(
        &url,
        &[
            "DROP TABLE IF EXISTS col_interactions",
            "CREATE TABLE col_interactions (user_id VARCHAR(9), item_id VARCHAR(9), score INT)",
        ],
    );
    let out = trainer(&["data-report", "--database-url", &url, "--table", "col_interactions"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("has no column `rating`"), "{}", stderr(&out));
    let out = run_ok(&[
        "data-report",
        "--database-url",
        &url,
        "--table",
        "col_interactions",
        "--rating-col",
        "score",
    ]);
    assert!(stderr(&out).contains("rows read: 0"), "{}", stderr(&out));
    let out = trainer(&[
        "data-report",
        "--database-url",
        &url,
        "--table",
        "col_interactions",
        "--rating-col",
        "score",
        "--time-col",
        "created",
    ]);
    assert!(stderr(&out).contains("has no column `created`"), "{}", stderr(&out));

    // Identifiers are validated, never spliced raw.
    let out = trainer(&["data-report", "--database-url", &url, "--table", "x`; DROP TABLE y"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("invalid identifier"), "{}", stderr(&out));
}

#[test]
#[ignore = "needs MariaDB: scripts/test.sh starts one and runs this with --include-ignored"]
fn bad_password_or_unreachable_server_gives_a_clean_error() {
    let url = db_url("bad_password_or_unreachable_server_gives_a_clean_error");
    let address = host_port(&url);
    let secret = "wrong-Secret-4711";
    let bad = format!("mysql://edgerec:{secret}@{address}/edgerec");
    for args in [
        vec!["data-report", "--database-url", bad.as_str()],
        vec!["generate", "--database-url", bad.as_str()],
    ] {
        let out = trainer(&args);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(err.contains(&address), "names {address}: {err}");
        assert!(err.contains("Access denied"), "{err}");
        assert!(!err.contains(secret), "leaks the password: {err}");
    }

    // A port nobody listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let closed = format!("mysql://edgerec:{secret}@127.0.0.1:{port}/edgerec");
    let out = trainer(&["data-report", "--database-url", &closed]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(!err.contains(secret), "{err}");
}

/// A second MariaDB, started here and killed here; the shared one is never touched.
struct OwnServer {
    dir: PathBuf,
    pid: u32,
    url: String,
}

impl OwnServer {
    fn start(dir: &Path) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/mariadb.sh");
        let info = dir.join("server.info");
        let status = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source {script} && mariadb_start >{log} 2>&1 && \
                 echo \"$MARIADB_PID $EDGEREC_TEST_DATABASE_URL\" > {info}",
                log = dir.join("start.log").display(),
                info = info.display()
            ))
            .env("MARIADB_DIR", dir.join("mariadb"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("runs bash");
        assert!(status.success(), "starting the second MariaDB failed; see {}", dir.display());
        let info = std::fs::read_to_string(&info).expect("server info");
        let (pid, url) = info.trim().split_once(' ').expect("pid and url");
        Self { dir: dir.to_owned(), pid: pid.parse().expect("pid"), url: url.to_owned() }
    }

    fn kill(&self) {
        let _ = Command::new("kill").args(["-KILL", &self.pid.to_string()]).stderr(Stdio::null()).status();
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(self.dir.join("mariadb"));
    }
}

#[test]
#[ignore = "needs MariaDB: scripts/test.sh starts one and runs this with --include-ignored"]
fn server_killed_mid_read_fails_cleanly_and_writes_nothing() {
    db_url("server_killed_mid_read_fails_cleanly_and_writes_nothing");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mariadb-killed-mid-read");
    std::fs::create_dir_all(&dir).expect("dir");
    let server = OwnServer::start(&dir);
    run_ok(&[
        "generate",
        "--database-url",
        &server.url,
        "--users",
        "20000",
        "--items",
        "3000",
        "--interactions",
        "1000000",
    ]);
    let report = dir.join("report.json");
    let _ = std::fs::remove_file(&report);
    let mut child = Command::new(TRAINER)
        .args([
            "data-report",
            "--database-url",
            &server.url,
            "--progress-every",
            "20000",
            "--report-json",
            report.to_str().expect("utf-8"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns the trainer");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let first = lines.next().expect("a progress line").expect("utf-8");
    assert_eq!(first, "progress: 20000 rows", "the read is under way");
    server.kill();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("waits");
    assert!(!status.success(), "a lost connection must fail the load");
    let err = rest.iter().find(|l| l.starts_with("error:")).expect("an error line");
    eprintln!("{err}");
    assert!(
        err.contains(&format!("reading `edgerec`.`interactions` from {}", host_port(&server.url))),
        "{err}"
    );
    let progress = rest.iter().filter(|l| l.starts_with("progress:")).count();
    assert!(progress < 49, "the read was cut short: {progress} more progress lines");
    assert!(!report.exists(), "nothing is written downstream");
}
