//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/*`) through the fuzz harnesses
//! (`ndb_testkit::fuzz_*`), so every input the fuzzers kept — seeds, inputs that reached new
//! code, and former crashes — runs in CI as an ordinary test. docs/FUZZING.md says how the
//! corpora are made; `cargo test -p ndb-testkit --test fuzz_corpus -- --ignored` rewrites the seeds.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

const TARGETS: [&str; 4] = ["wal", "segment", "manifest", "filter"];

fn fuzz_dir(kind: &str, target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(kind)
        .join(target)
}

fn corpus_dir(target: &str) -> PathBuf {
    fuzz_dir("corpus", target)
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Run every file of `target`'s corpus; fail naming each input that panics.
fn replay(target: &str) {
    let dir = corpus_dir(target);
    let files = files_in(&dir);
    assert!(
        !files.is_empty(),
        "corpus {} is missing or empty",
        dir.display()
    );
    replay_files(target, &files);
}

fn replay_files(target: &str, files: &[PathBuf]) {
    let harness = ndb_testkit::harness(target).expect("a known target");
    let mut failed = Vec::new();
    for path in files {
        let data = std::fs::read(path).expect("read a corpus file");
        if catch_unwind(AssertUnwindSafe(|| harness(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} {target} inputs panicked (messages above); reproduce one with \
         `cargo fuzz run {target} <file>` in fuzz/:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
}

#[test]
fn wal_corpus_replays_without_panics() {
    replay("wal");
}

#[test]
fn segment_corpus_replays_without_panics() {
    replay("segment");
}

#[test]
fn manifest_corpus_replays_without_panics() {
    replay("manifest");
}

#[test]
fn filter_corpus_replays_without_panics() {
    replay("filter");
}

/// Inputs that crashed a harness through a bug that is not fixed yet (`fuzz/crashes/<target>/`,
/// listed in docs/FUZZING.md). Once it is fixed this passes: move the files into the corpus.
#[test]
#[ignore = "open bugs; see docs/FUZZING.md, Findings"]
fn known_crashes_replay() {
    for target in TARGETS {
        replay_files(target, &files_in(&fuzz_dir("crashes", target)));
    }
}

/// Rewrites the seed inputs (`seed-*` files) from a freshly built database; run after a format
/// change, then re-minimize (docs/FUZZING.md).
#[test]
#[ignore = "writes into fuzz/corpus; run by hand"]
fn write_seed_corpus() {
    for (target, name, bytes) in ndb_testkit::seeds() {
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).expect("create the corpus directory");
        std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("write a seed");
    }
}
