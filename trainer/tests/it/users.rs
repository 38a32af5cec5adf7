//! `trainer export-users`: a trained model's users moved to a `wrangler kv bulk put` file get,
//! from their records, the answers the full artifact gives them.

use base64::Engine as _;
use edgerec_core::{Model, RecommendOptions, Source, UserRecord};

use crate::common::{ok, trainer};

#[test]
fn exported_users_get_the_answers_of_the_full_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (data, full, items, kv) =
        (path("data.csv"), path("full.safetensors"), path("items.safetensors"), path("users.kv.json"));
    ok(&[
        "generate",
        "--users",
        "60",
        "--items",
        "80",
        "--interactions",
        "2500",
        "--seed",
        "5",
        "--out",
        &data,
    ]);
    ok(&["train", "--data", &data, "--epochs", "3", "--quantize", "int8", "--out", &full, "--quiet"]);
    let summary: serde_json::Value = serde_json::from_str(&ok(&[
        "export-users",
        "--model",
        &full,
        "--artifact-out",
        &items,
        "--kv-out",
        &kv,
        "--json",
    ]))
    .unwrap();

    let (full_bytes, items_bytes) = (std::fs::read(&full).unwrap(), std::fs::read(&items).unwrap());
    let (full, outside) = (Model::from_bytes(&full_bytes).unwrap(), Model::from_bytes(&items_bytes).unwrap());
    assert!(outside.users_external());
    assert_eq!(summary["users"], full.num_users());
    assert_eq!(summary["artifact_bytes"].as_u64().unwrap() as usize, items_bytes.len());
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&std::fs::read(&kv).unwrap()).unwrap();
    assert_eq!(entries.len(), full.num_users());
    let opts = RecommendOptions { top_n: 15, ..RecommendOptions::default() };
    // Keys are `<version of the artifact without users>/<user id>`.
    let prefix = format!("{}/", edgerec_core::artifact_version(&items_bytes));
    for entry in &entries {
        assert_eq!(entry.get("base64"), None, "values are base64 text, decoded by the Worker");
        let id = entry["key"].as_str().unwrap().strip_prefix(&prefix).unwrap();
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(entry["value"].as_str().unwrap()).unwrap();
        let record = UserRecord::decode(&bytes, &outside).unwrap();
        let want = full.recommend(id, &opts).unwrap();
        assert_eq!(want.source, Source::Personalized);
        assert_eq!(outside.recommend_record(&record, &opts).unwrap(), want, "user {id}");
        assert_eq!(outside.recommend(id, &opts).unwrap().source, Source::Popular);
    }
    // An artifact without users has none to export.
    let again =
        trainer(&["export-users", "--model", &items, "--artifact-out", &path("x"), "--kv-out", &path("y")]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("holds no users"));
}
