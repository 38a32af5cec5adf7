//! `trainer publish` and `trainer ingest` arguments: exactly one publish action, the canary
//! range, the page range, and a model checked locally before anything is sent. The Worker URL
//! is a port nobody listens on, so an error about the model proves nothing was sent.

use crate::common::trainer;

fn closed_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("http://127.0.0.1:{port}")
}

fn fails(args: &[&str], needle: &str) {
    let out = trainer(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "trainer {args:?} should fail");
    assert!(stderr.contains(needle), "trainer {args:?}: expected {needle:?} in:\n{stderr}");
}

#[test]
fn publish_takes_exactly_one_action() {
    let url = closed_url();
    let base = ["publish", "--to", &url, "--token", "t"];
    let with =
        |extra: &[&'static str]| base.iter().copied().chain(extra.iter().copied()).collect::<Vec<&str>>();
    fails(&with(&[]), "the following required arguments were not provided");
    fails(&with(&["--rollback", "--promote"]), "cannot be used with");
    fails(&with(&["--model", "m.safetensors", "--key", "models/x"]), "cannot be used with");
    fails(&with(&["--key", "models/x", "--rollback"]), "cannot be used with");
    fails(&with(&["--canary", "5"]), "the following required arguments were not provided");
    fails(&with(&["--rollback", "--canary", "5"]), "--canary");
    fails(&["publish", "--to", &url, "--rollback"], "--token");
}

#[test]
fn publish_canary_is_a_percentage_from_1_to_100() {
    let url = closed_url();
    for bad in ["0", "101", "ten"] {
        fails(&["publish", "--to", &url, "--token", "t", "--key", "k", "--canary", bad], "--canary");
    }
    // In range, the arguments pass and the (unreachable) Worker is what fails.
    for good in ["1", "100"] {
        fails(
            &["publish", "--to", &url, "--token", "t", "--key", "k", "--canary", good],
            "could not be reached",
        );
    }
}

#[test]
fn publish_checks_the_model_locally_before_sending() {
    let url = closed_url();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.safetensors");
    fails(&["publish", "--to", &url, "--token", "t", "--model", missing.to_str().unwrap()], "reading model");
    let corrupt = dir.path().join("corrupt.safetensors");
    std::fs::write(&corrupt, b"not a model").unwrap();
    fails(&["publish", "--to", &url, "--token", "t", "--model", corrupt.to_str().unwrap()], "loading model");
}

#[test]
fn ingest_pages_are_1_to_5000_events() {
    let url = closed_url();
    let db = "mysql://u:p@127.0.0.1:1/db";
    for bad in ["0", "5001"] {
        fails(&["ingest", "--from", &url, "--token", "t", "--database-url", db, "--page", bad], "--page");
    }
    fails(&["ingest", "--from", "ftp://x", "--token", "t", "--database-url", db], "must start with http");
}
