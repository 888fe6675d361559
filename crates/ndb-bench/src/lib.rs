//! The library behind the nDB benchmark binaries (`src/bin/`): what they share to make data,
//! measure, parse their command lines and report.
//!
//! - [`data`]: seeded random vectors and documents, batched inserts;
//! - [`vecs`]: TexMex `.fvecs` / `.ivecs` datasets;
//! - [`measure`]: metrics, recall against a ground truth, latency percentiles;
//! - [`bandwidth`]: the memory-bandwidth probe and CPU / scheduler readings from `/proc`;
//! - [`sweep`]: recall–QPS sweeps of approximate search;
//! - [`report`]: progress lines, number and table formats, the machine, report files and plots;
//! - [`cli`]: clap value parsers and shared flags; [`scratch`]: scratch directories.

pub mod bandwidth;
pub mod cli;
pub mod data;
pub mod measure;
pub mod report;
pub mod scratch;
pub mod sweep;
pub mod vecs;

use std::path::Path;
use std::time::Duration;

pub use data::{doc_id, make_docs, Prng};

/// What the binaries' fallible steps return: any error, reported by [`report::Bench::run`].
pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Median of the values (mean of the middle two for an even count); NaN for none.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Smallest and largest value.
pub fn min_max(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

/// Seconds as milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Memory figures of this process from `/proc/self/status`, in KiB.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mem {
    /// Resident set size.
    pub vm_rss_kib: u64,
    /// Resident anonymous memory (heap, stacks).
    pub rss_anon_kib: u64,
    /// Resident file-backed memory (mapped files, the binary).
    pub rss_file_kib: u64,
}

/// Read this process's memory figures (zeros where unavailable).
pub fn read_mem() -> Mem {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l[name.len()..].split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Mem {
        vm_rss_kib: field("VmRSS:"),
        rss_anon_kib: field("RssAnon:"),
        rss_file_kib: field("RssFile:"),
    }
}

/// Total size in bytes of the files under `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    files_under(dir, |_| true).0
}

/// Total size and count of the files under `dir` (recursively) whose path `keep` accepts.
pub fn files_under(dir: &Path, keep: impl Fn(&Path) -> bool + Copy) -> (u64, usize) {
    let mut bytes = 0;
    let mut count = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            match e.metadata() {
                Ok(m) if m.is_dir() => {
                    let (b, c) = files_under(&p, keep);
                    bytes += b;
                    count += c;
                }
                Ok(m) if keep(&p) => {
                    bytes += m.len();
                    count += 1;
                }
                _ => {}
            }
        }
    }
    (bytes, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        assert_eq!(min_max(&[2.0, -1.0, 5.0]), (-1.0, 5.0));
    }

    #[test]
    fn files_are_counted_by_kind() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("a.hnsw"), "12345").unwrap();
        std::fs::write(dir.path().join("sub/b.hnsw"), "12").unwrap();
        std::fs::write(dir.path().join("sub/c.ndb"), "1").unwrap();
        let hnsw = |p: &Path| p.extension().is_some_and(|x| x == "hnsw");
        assert_eq!(files_under(dir.path(), hnsw), (7, 2));
        assert_eq!(dir_bytes(dir.path()), 8);
    }
}
