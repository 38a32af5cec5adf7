//! `trainer export-users`: moves a model's users out of its artifact, for serving them from
//! Workers KV. It writes the artifact without users (`users = external`) and a
//! `wrangler kv bulk put` file with one record per user (`edgerec_core::UserRecord`).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context, bail};
use base64::Engine as _;
use serde::Serialize;

use super::output::read_model;
use crate::atomic::write_atomic;

/// Workers KV's longest key, in bytes.
const MAX_KV_KEY_BYTES: usize = 512;

/// `trainer export-users`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportUsersCommand {
    /// The model artifact, with its users (as `trainer train` writes it).
    #[arg(long)]
    model: PathBuf,
    /// Where to write the artifact without users.
    #[arg(long)]
    artifact_out: PathBuf,
    /// Where to write the users, as JSON for `wrangler kv bulk put`: `[{"key": "<version>/<user
    /// ID>", "value": base64 record}, …]`, where version is that of the artifact
    /// without users (`edgerec_core::user_record_key`).
    #[arg(long)]
    kv_out: PathBuf,
    /// Print a JSON summary instead of a line of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
/// One KV entry. The value is the record in base64 *text*: `wrangler kv bulk put` with
/// `"base64": true` (binary values) turned records into lossy UTF-8 under `wrangler dev`
/// (measured with wrangler 4.86), so the Worker decodes the text itself.
struct Entry {
    key: String,
    value: String,
}

#[derive(Serialize)]
struct Summary {
    users: usize,
    artifact_bytes_before: usize,
    artifact_bytes: usize,
    kv_bytes: u64,
    record_bytes_max: usize,
}

impl ExportUsersCommand {
    /// Runs the command.
    pub fn run(&self) -> anyhow::Result<()> {
        let bytes = read_model(&self.model)?;
        let (artifact, records) = edgerec_core::split_users(&bytes)
            .with_context(|| format!("loading model {}", self.model.display()))?;
        if records.is_empty() {
            bail!("{} holds no users to export", self.model.display());
        }
        // Keys name the model the records belong to: the artifact without users, as served.
        let version = edgerec_core::artifact_version(&artifact);
        let key = |id: &str| edgerec_core::user_record_key(&version, id);
        if let Some((id, _)) = records.iter().find(|(id, _)| key(id).len() > MAX_KV_KEY_BYTES) {
            bail!("the KV key of user ID `{id}` is longer than Workers KV's {MAX_KV_KEY_BYTES}-byte limit");
        }
        let mut record_bytes_max = 0;
        write_atomic(&self.kv_out, |w| {
            w.write_all(b"[")?;
            for (k, (id, record)) in records.iter().enumerate() {
                let encoded = record.encode();
                record_bytes_max = record_bytes_max.max(encoded.len());
                let value = base64::engine::general_purpose::STANDARD.encode(encoded);
                w.write_all(if k == 0 { b"\n" } else { b",\n" })?;
                serde_json::to_writer(&mut *w, &Entry { key: key(id), value })?;
            }
            w.write_all(b"\n]\n")
        })
        .with_context(|| format!("writing {}", self.kv_out.display()))?;
        write_atomic(&self.artifact_out, |w| w.write_all(&artifact))
            .with_context(|| format!("writing {}", self.artifact_out.display()))?;
        let summary = Summary {
            users: records.len(),
            artifact_bytes_before: bytes.len(),
            artifact_bytes: artifact.len(),
            kv_bytes: std::fs::metadata(&self.kv_out).map(|m| m.len()).unwrap_or(0),
            record_bytes_max,
        };
        if self.json {
            println!("{}", serde_json::to_string_pretty(&summary)?);
        } else {
            println!(
                "{} users to {} ({} bytes, records up to {} bytes); artifact without users {} bytes (was {})",
                summary.users,
                self.kv_out.display(),
                summary.kv_bytes,
                summary.record_bytes_max,
                summary.artifact_bytes,
                summary.artifact_bytes_before
            );
        }
        Ok(())
    }
}
