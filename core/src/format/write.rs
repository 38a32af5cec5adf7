//! Serialising artifacts reproducibly: the same tensors and metadata give the same bytes.

use std::collections::HashMap;
use std::fmt::Display;

use safetensors::View;

/// `safetensors::serialize`, then every key of the JSON header put in sorted order.
/// `safetensors` writes the metadata in a `HashMap`'s order, which differs from one map to the
/// next, so the same parts would otherwise give different bytes, and a different content hash,
/// each time they are written. The sorted header has the same length; its padding is kept.
pub(crate) fn serialize<S: AsRef<str> + Ord + Display, V: View>(
    views: impl IntoIterator<Item = (S, V)>,
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>, String> {
    fn sorted(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
            }
            other => other,
        }
    }
    let mut bytes = safetensors::serialize(views, Some(metadata)).map_err(|e| e.to_string())?;
    let corrupt = |what: &str| format!("safetensors wrote a header that {what}");
    let len = bytes
        .first_chunk::<8>()
        .and_then(|n| usize::try_from(u64::from_le_bytes(*n)).ok())
        .filter(|&n| n <= bytes.len() - 8)
        .ok_or_else(|| corrupt("overruns the file"))?;
    let header = &mut bytes[8..8 + len];
    let value: serde_json::Value = serde_json::from_slice(header).map_err(|_| corrupt("is not JSON"))?;
    let json = serde_json::to_vec(&sorted(value)).map_err(|_| corrupt("cannot be written back"))?;
    if json.len() > len {
        return Err(corrupt("grew when sorted"));
    }
    header[..json.len()].copy_from_slice(&json);
    header[json.len()..].fill(b' ');
    Ok(bytes)
}
