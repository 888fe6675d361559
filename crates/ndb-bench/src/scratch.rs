//! Scratch directories: where the benchmarks make their databases and data files, and their
//! removal at the end of a run unless `--keep` says otherwise.

use std::path::{Path, PathBuf};

use crate::report::Bench;
use crate::Res;

/// The workspace the binaries were built in (from the build-time manifest directory,
/// `crates/ndb-bench`), if it is still there; else the current directory.
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ws = manifest
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    if ws.join("scripts/bench/reference.py").exists() {
        return ws;
    }
    // Fall back on the current directory when run from a checkout elsewhere.
    PathBuf::from(".")
}

/// `<workspace>/target/bench-tmp`, the default scratch directory.
pub fn scratch_root() -> PathBuf {
    workspace_root().join("target").join("bench-tmp")
}

/// A fresh, empty directory `base/name` (what was there before is removed).
pub fn fresh_dir(base: &Path, name: &str) -> Res<PathBuf> {
    let d = base.join(name);
    if d.exists() {
        std::fs::remove_dir_all(&d)?;
    }
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

/// Create `dir` for a database, which must not exist or be empty (`what` names it in the
/// error, e.g. `--db`).
pub fn empty_dir(dir: &Path, what: &str) -> Res<()> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(format!("{what} {} exists and is not empty", dir.display()).into());
    }
    std::fs::create_dir_all(dir)?;
    Ok(())
}

/// Remove the scratch directory `dir`, or say it is kept; a failure to remove it is reported,
/// not fatal.
pub fn remove(bench: &Bench, dir: &Path, keep: bool) {
    if keep {
        bench.progress(format!("kept {}", dir.display()));
    } else if let Err(e) = std::fs::remove_dir_all(dir) {
        bench.progress(format!("warning: could not remove {}: {e}", dir.display()));
    }
}

/// Scratch directories removed when dropped (also on an error), unless kept.
pub struct ScratchDirs {
    bench: Bench,
    dirs: Vec<PathBuf>,
    keep: bool,
}

impl ScratchDirs {
    /// None yet; `keep` keeps them all.
    pub fn new(bench: Bench, keep: bool) -> Self {
        ScratchDirs {
            bench,
            dirs: Vec::new(),
            keep,
        }
    }

    /// Remove `dir` too at the end.
    pub fn push(&mut self, dir: PathBuf) {
        self.dirs.push(dir);
    }
}

impl Drop for ScratchDirs {
    fn drop(&mut self) {
        for d in &self.dirs {
            remove(&self.bench, d, self.keep);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_dirs_go_unless_kept() {
        let bench = Bench::new("test");
        let root = tempfile::tempdir().unwrap();
        let a = fresh_dir(root.path(), "a").unwrap();
        std::fs::write(a.join("f"), "x").unwrap();
        assert!(empty_dir(&a, "--db").is_err());
        let b = root.path().join("b");
        empty_dir(&b, "--db").unwrap();
        {
            let mut dirs = ScratchDirs::new(bench, false);
            dirs.push(a.clone());
        }
        assert!(!a.exists());
        {
            let mut dirs = ScratchDirs::new(bench, true);
            dirs.push(b.clone());
        }
        assert!(b.exists());
    }
}
