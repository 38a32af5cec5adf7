//! `trainer publish`: a model artifact out to the Worker (`PUT /admin/model`), or a pointer
//! move (`POST /admin/model/activate|rollback|promote`). An artifact is loaded with the core
//! first, so a model the Worker would reject is never sent.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::ArgGroup;
use edgerec_core::wire::{Entry, Pointer, Published};
use serde_json::{Value, json};

use super::output::{load_model, read_model};
use crate::live::client::Admin;
use crate::live::metrics::{self, Period};

/// Arguments of `trainer publish`: exactly one action.
#[derive(Debug, Clone, clap::Args)]
#[command(group(ArgGroup::new("action").required(true).args(["model", "key", "rollback", "promote"])))]
#[command(group(ArgGroup::new("upload").args(["model", "key"])))]
pub struct PublishArgs {
    /// The Worker's base URL, e.g. http://127.0.0.1:8787.
    #[arg(long, value_name = "URL")]
    pub to: String,

    /// The Worker's admin token (its ADMIN_TOKEN secret).
    #[arg(long, env = "EDGEREC_ADMIN_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: String,

    /// Upload this artifact (PUT /admin/model) and make it current, or the canary with --canary.
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,

    /// Point at an artifact already in R2 under this key (POST /admin/model/activate), e.g. one
    /// put there with `wrangler r2 object put`.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,

    /// Serve the new model to this percentage of users (1..=100) as a canary.
    #[arg(long, value_name = "P", requires = "upload", value_parser = clap::value_parser!(u8).range(1..=100))]
    pub canary: Option<u8>,

    /// Drop the canary if there is one; else point back to the previous current model.
    #[arg(long)]
    pub rollback: bool,

    /// Make the canary the current model, after printing how it compares online with the
    /// current one (`trainer metrics` over the last seven days).
    #[arg(long)]
    pub promote: bool,

    /// Print the Worker's answer and the pointer as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `trainer publish`.
pub fn run(args: &PublishArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let admin = Admin::new(&args.to, &args.token)?;
    let mut comparison = Value::Null;
    let (action, answer) = if let Some(path) = &args.model {
        let bytes = read_model(path)?;
        load_model(path, &bytes)?;
        let version = edgerec_core::artifact_version(&bytes);
        let answer = admin.put_model(&bytes, args.canary)?;
        let served = typed::<Published>(&answer, "PUT /admin/model")?.version;
        anyhow::ensure!(
            served == version,
            "the Worker stored {} as version {served}, but its SHA-256 gives {version}",
            path.display()
        );
        ("model", answer)
    } else if let Some(key) = &args.key {
        // `canary` is left out rather than sent as null when not asked for.
        let mut body = json!({ "key": key });
        if let Some(p) = args.canary {
            body["canary"] = json!(p);
        }
        ("activate", admin.post("/admin/model/activate", Some(&body))?)
    } else if args.rollback {
        ("rollback", admin.post("/admin/model/rollback", None)?)
    } else {
        // What the canary did so far, printed before it becomes the current model (a Worker
        // without the metrics store still promotes; the reason is printed instead).
        match metrics::fetch(&admin, Period { since: None, until: None, window_hours: None }) {
            Ok(report) if !args.json => metrics::print(&mut std::io::stderr().lock(), &report)?,
            Ok(report) => comparison = serde_json::to_value(&report)?,
            Err(e) => eprintln!("warning: no comparison before promoting: {e:#}"),
        }
        ("promote", admin.post("/admin/model/promote", None)?)
    };
    let published = match action {
        "model" | "activate" => Some(typed::<Published>(&answer, action)?),
        _ => None,
    };
    let pointer: Option<Pointer> = if published.is_some() {
        match admin.get("/admin/model").and_then(|v| typed(&v, "GET /admin/model")) {
            Ok(p) => Some(p),
            Err(err) => {
                eprintln!("warning: published, but reading the pointer back failed: {err:#}");
                None
            }
        }
    } else {
        Some(typed(&answer, action)?)
    };
    let elapsed = started.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = json!({
            "action": action,
            "answer": answer,
            "pointer": pointer,
            "comparison": comparison,
            "elapsed_seconds": elapsed,
        });
        serde_json::to_writer(&mut out, &v)?;
        writeln!(out)?;
        return Ok(());
    }
    match &published {
        Some(p) => writeln!(
            out,
            "published version {} as {}{}: key {}, {} bytes",
            p.version,
            p.role,
            p.percent.map(|x| format!(" ({x} %)")).unwrap_or_default(),
            p.key,
            p.bytes
        )?,
        None => writeln!(out, "{action}: done")?,
    }
    if let Some(p) = &pointer {
        write_pointer(&mut out, p)?;
    }
    writeln!(out, "  elapsed   {elapsed:.2} s")?;
    Ok(())
}

/// The Worker's answer to `what` read as its documented type.
fn typed<T: serde::de::DeserializeOwned>(answer: &Value, what: &str) -> anyhow::Result<T> {
    serde_json::from_value(answer.clone()).with_context(|| {
        format!("the Worker's answer to {what} does not have the documented shape: {answer}")
    })
}

fn entry(e: &Entry, percent: Option<u8>) -> String {
    let percent = percent.map(|p| format!(", {p} %")).unwrap_or_default();
    format!("{} ({}{percent}, published {})", e.version, e.key, e.published_at)
}

fn write_pointer(out: &mut impl std::io::Write, pointer: &Pointer) -> std::io::Result<()> {
    let current = pointer.current.as_ref().map_or("-".to_owned(), |e| entry(e, None));
    let canary = pointer.canary.as_ref().map_or("-".to_owned(), |c| entry(&c.entry, Some(c.percent)));
    writeln!(out, "  current   {current}")?;
    writeln!(out, "  canary    {canary}")?;
    let history = pointer.history.len();
    let newest = pointer.history.last().map(|e| format!(", newest {}", entry(e, None))).unwrap_or_default();
    writeln!(out, "  history   {history} earlier model(s){newest}")
}
