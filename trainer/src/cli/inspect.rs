//! `trainer inspect`: a summary of a model artifact.

use std::io::Write;
use std::path::PathBuf;

use edgerec_core::names;

use super::output::{load_model, read_model};

/// `trainer inspect`.
#[derive(Debug, Clone, clap::Args)]
pub struct InspectCommand {
    /// The model artifact.
    model: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

impl InspectCommand {
    /// Runs `trainer inspect`.
    pub fn run(&self) -> anyhow::Result<()> {
        let bytes = read_model(&self.model)?;
        let model = load_model(&self.model, &bytes)?;
        let info = model.info();
        let extra: serde_json::Value =
            model.metadata(names::META_INFO).and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
        let mut out = std::io::stdout().lock();
        if self.json {
            let v = serde_json::json!({
                "file_bytes": bytes.len(),
                "model": info,
                "erased_through": model.erased_through(),
                "info": extra,
            });
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
            return Ok(());
        }
        writeln!(out, "{}: {} bytes, format v{}", self.model.display(), bytes.len(), info.format_version)?;
        writeln!(out, "  kind          {}", info.kind.as_str())?;
        writeln!(out, "  dim           {}", info.dim)?;
        writeln!(out, "  users         {}", info.num_users)?;
        writeln!(out, "  items         {}", info.num_items)?;
        writeln!(out, "  interactions  {}", info.num_interactions)?;
        writeln!(
            out,
            "  categories    {}",
            if info.categories.is_empty() { "-".into() } else { info.categories.join(", ") }
        )?;
        writeln!(out, "  created_at    {}", info.created_at.as_deref().unwrap_or("-"))?;
        if let Some(seq) = model.erased_through() {
            writeln!(out, "  erased_through {seq} (the last user deletion its data had seen applied)")?;
        }
        if let Some((lo, hi)) = info.rating_range {
            writeln!(out, "  rating scale  {lo} – {hi}")?;
        }
        if let Some(m) = extra.get("metrics") {
            writeln!(out, "  validation    {m}")?;
        }
        if let Some(fp) = extra.get("data_fingerprint").and_then(|v| v.as_str()) {
            writeln!(out, "  data sha256   {fp}")?;
        }
        Ok(())
    }
}
