//! Answers a list of requests natively, through the same translation the wasm bindings use, and
//! writes the answers as JSON for `tests/web/parity.test.mjs` to compare with the wasm answers.
//!
//! `cargo run -p edgerec-wasm --example parity -- MODEL.safetensors REQUESTS.json OUT.json`
//!
//! Each request is `{"method": "recommend" | "recommendFor" | "similar", "args": ...}`; each
//! answer is `{"ok": value}` or `{"error": message}`.

use edgerec_wasm::Recommender;
use edgerec_wasm::dto::{RecommendForRequest, RecommendRequest};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(tag = "method", content = "args")]
enum Request {
    #[serde(rename = "recommend")]
    Recommend(RecommendRequest),
    #[serde(rename = "recommendFor")]
    RecommendFor(RecommendForRequest),
    #[serde(rename = "similar")]
    Similar {
        #[serde(rename = "itemId")]
        item_id: String,
        n: usize,
    },
}

fn answer<T: serde::Serialize>(r: edgerec_wasm::Result<T>) -> Value {
    match r {
        Ok(v) => json!({ "ok": v }),
        Err(e) => json!({ "error": e.to_string() }),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, requests, out] = args.as_slice() else {
        return Err("usage: parity MODEL REQUESTS.json OUT.json".into());
    };
    let rec = Recommender::from_bytes(std::fs::read(model)?)?;
    let requests: Vec<Request> = serde_json::from_slice(&std::fs::read(requests)?)?;
    let answers: Vec<Value> = requests
        .iter()
        .map(|r| match r {
            Request::Recommend(req) => answer(rec.recommend_request(req)),
            Request::RecommendFor(req) => answer(rec.recommend_for_request(req)),
            Request::Similar { item_id, n } => answer(rec.similar_request(item_id, *n)),
        })
        .collect();
    std::fs::write(out, serde_json::to_vec_pretty(&answers)?)?;
    eprintln!("wrote {} native answers to {out}", answers.len());
    Ok(())
}
