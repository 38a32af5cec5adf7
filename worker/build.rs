//! Bundles the model artifact into the Worker at build time.
//!
//! `EDGEREC_MODEL` names the artifact (relative paths are relative to `worker/`); the default is
//! the demo's model, `../web/models/demo.safetensors`. The file is copied to
//! `$OUT_DIR/model.safetensors` and included with `include_bytes!`. A missing file still builds:
//! the bundle is then empty and the Worker reports "no model" on `/health` and 503 elsewhere.
//! An empty file (`EDGEREC_MODEL=/dev/null`) counts as missing: use that with an R2 model.
//! The artifact's version (SHA-256, 16 hex digits) is computed here, once.

use std::path::{Path, PathBuf};
use std::{env, fs};

const DEFAULT_MODEL: &str = "../web/models/demo.safetensors";

fn main() {
    println!("cargo::rerun-if-env-changed=EDGEREC_MODEL");
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    let requested = env::var("EDGEREC_MODEL").ok().filter(|s| !s.is_empty());
    let path = manifest_dir.join(requested.as_deref().unwrap_or(DEFAULT_MODEL));
    println!("cargo::rerun-if-changed={}", path.display());

    let target = out_dir.join("model.safetensors");
    let (bytes, status) = match fs::read(&path) {
        Ok(bytes) if bytes.is_empty() => (bytes, "missing"),
        Ok(bytes) => (bytes, "bundled"),
        Err(e) => {
            println!("cargo::warning=no model bundled: cannot read {}: {e}", path.display());
            (Vec::new(), "missing")
        }
    };
    if let Err(e) = write_if_changed(&target, &bytes) {
        panic!("cannot write {}: {e}", target.display());
    }
    println!("cargo::rustc-env=EDGEREC_MODEL_STATUS={status}");
    // Hashed here, so an isolate's cold start does not hash the bundle.
    println!("cargo::rustc-env=EDGEREC_MODEL_VERSION={}", edgerec_core::artifact_version(&bytes));
    println!("cargo::rustc-env=EDGEREC_MODEL_PATH={}", display_path(&path));
}

/// Rewrites the copy only when its contents differ, so an unchanged model does not rebuild.
fn write_if_changed(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if fs::read(target).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    fs::write(target, bytes)
}

/// The path as given, made relative to the repository for stable, short messages.
fn display_path(path: &Path) -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default();
    let mut clean = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                clean.pop();
            }
            std::path::Component::CurDir => {}
            other => clean.push(other),
        }
    }
    clean.strip_prefix(&repo).unwrap_or(&clean).display().to_string()
}
