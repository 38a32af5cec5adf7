//! Snapshots of the CLI's `--json` outputs: their shape (every key, every string, every
//! integer) is pinned; floating-point values, which move with the machine's SIMD paths, and
//! timings are replaced by their kind. Update with `INSTA_UPDATE=always cargo test -p
//! edgerec-trainer --test it snapshots` and review the diff.

use std::path::Path;

use serde_json::Value;

use crate::common::ok;

/// Runs the trainer, which must succeed, and reads its `--json` output.
fn trainer(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).unwrap()
}

/// Floats become `"<float>"`; paths and times become placeholders.
fn shape(v: Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => Value::String("<float>".into()),
        Value::Array(a) => Value::Array(a.into_iter().map(shape).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        "artifact" | "source" | "created_at" | "data_fingerprint" | "trainer_version" => {
                            Value::String(format!("<{k}>"))
                        }
                        _ => shape(v),
                    };
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    }
}

fn data(dir: &Path) -> String {
    let path = dir.join("data.csv").to_str().unwrap().to_owned();
    ok(&[
        "generate",
        "--users",
        "60",
        "--items",
        "30",
        "--interactions",
        "1500",
        "--seed",
        "5",
        "--out",
        &path,
    ]);
    path
}

#[test]
fn json_outputs_keep_their_shape() {
    let dir = tempfile::tempdir().unwrap();
    let data = data(dir.path());
    let model = dir.path().join("m.safetensors");
    let model = model.to_str().unwrap();
    let mut train = trainer(&["train", "--data", &data, "--dim", "8", "--out", model, "--json"]);
    // Epoch counts depend on early stopping, which floats decide.
    for key in ["history", "recency_trials"] {
        let n = train[key].as_array().map_or(0, Vec::len);
        train[key] = Value::String(format!("<{} entries>", if n > 0 { "some" } else { "no" }));
    }
    for key in ["best_epoch", "epochs_run"] {
        train[key] = Value::String("<epochs>".into());
    }
    // Whether recency helps, and whether popularity wins on 60 users, are decided by floats.
    assert!(train["recency"].is_null() || train["recency"]["decay"].is_number());
    train["recency"] = Value::String("<null or {weight, decay, window}>".into());
    assert!(train["warnings"].is_array());
    train["warnings"] = Value::String("<warnings>".into());
    insta::assert_json_snapshot!("train", shape(train));
    insta::assert_json_snapshot!(
        "evaluate_last",
        shape(trainer(&[
            "evaluate", "--model", model, "--data", &data, "--split", "last", "--json", "--quiet"
        ]))
    );
    let mut inspect = trainer(&["inspect", model, "--json"]);
    inspect["file_bytes"] = Value::String("<bytes>".into());
    inspect["info"] = Value::String("<the train report's config, metrics and baselines>".into());
    insta::assert_json_snapshot!("inspect", shape(inspect));
    insta::assert_json_snapshot!(
        "recommend_unknown_user",
        shape(trainer(&["recommend", "--model", model, "--user", "NOBODY", "-n", "3", "--json"]))
    );
    insta::assert_json_snapshot!("data_report", shape(trainer(&["data-report", "--data", &data, "--json"])));
    let mut cv =
        trainer(&["train", "--data", &data, "--dim", "8", "--epochs", "2", "--folds", "2", "--json"]);
    cv["fit_seconds"] = Value::String("<seconds>".into());
    insta::assert_json_snapshot!("cross_validation", shape(cv));
}
