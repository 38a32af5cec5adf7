//! Atomic file writes: a temporary file next to the target (`tempfile`), synced, then renamed
//! over it. On any error the temporary file is removed and the target is untouched.

use std::io::{BufWriter, Write as _};
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

/// Writes `path` atomically: `write` fills a buffered temporary file in the same directory,
/// which then replaces `path`.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    let (file, tmp_path) = tmp.into_parts();
    let mut w = BufWriter::with_capacity(1 << 20, file);
    write(&mut w)?;
    let file = w.into_inner().map_err(std::io::IntoInnerError::into_error)?;
    file.sync_all()?;
    tmp_path.persist(path).map_err(|e| e.error)
}

/// Writes `value` as pretty JSON to `path`, atomically.
pub fn write_json_atomic(path: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(value).context("serialising JSON")?;
    write_atomic(path, |w| {
        w.write_all(json.as_bytes())?;
        w.write_all(b"\n")
    })
    .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_target_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("out.txt");
        std::fs::write(&path, b"old").unwrap_or_else(|e| panic!("{e}"));
        let err = write_atomic(&path, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&path).unwrap_or_default(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).map(Iterator::count).unwrap_or(0), 1);
        write_atomic(&path, |w| w.write_all(b"new")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(std::fs::read(&path).unwrap_or_default(), b"new");
    }
}
