//! Shared helpers for the nDB benchmark binaries: a seeded PRNG, random documents, medians,
//! process memory figures and a description of the machine; recall–QPS sweeps and their plot.

pub mod bandwidth;
pub mod measure;
pub mod plot;
pub mod sweep;
pub mod vecs;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ndb::Document;

/// SplitMix64: small, fast and good enough for benchmark vectors. Deterministic for a seed.
#[derive(Clone, Debug)]
pub struct Prng(u64);

impl Prng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Prng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// Next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    #[inline]
    pub fn next_f32(&mut self) -> f32 {
        // 24 random bits -> [0, 1) exactly representable, then to [-1, 1).
        let u = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        u * 2.0 - 1.0
    }

    /// A vector of `dim` components uniform in [-1, 1).
    pub fn vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.next_f32()).collect()
    }
}

/// Write a report file the safe way: into a new temporary file beside `path`, synced, then
/// renamed over it, so a failure leaves the previous file as it was; a target that exists and
/// is not a regular file (a FIFO, `/dev/stdout`) is written in place, never replaced.
pub fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let meta = std::fs::metadata(path);
    if meta.as_ref().is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(path)?
            .write_all(bytes);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The id of document number `i` (fixed width so ids are all the same length).
pub fn doc_id(prefix: &str, i: u64) -> String {
    format!("{prefix}{i:010}")
}

/// `count` random documents with ids `prefix{first..first+count}`.
pub fn make_docs(
    rng: &mut Prng,
    prefix: &str,
    first: u64,
    count: usize,
    dim: usize,
) -> Vec<Document> {
    (0..count as u64)
        .map(|k| Document::new(doc_id(prefix, first + k), rng.vector(dim)))
        .collect()
}

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

/// The machine: logical CPUs, CPU model, memory, kernel.
pub fn machine_description() -> serde_json::Value {
    let nproc = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_total_kib: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    serde_json::json!({
        "nproc": nproc,
        "cpu_model": cpu_model,
        "mem_total_gib": (mem_total_kib as f64 / (1024.0 * 1024.0) * 10.0).round() / 10.0,
        "kernel": kernel,
    })
}

/// The file system of `dir` as `df -T` reports it: (device, type, mount point).
pub fn filesystem_of(dir: &Path) -> (String, String, String) {
    let out = Command::new("df").arg("-T").arg(dir).output();
    if let Ok(out) = out {
        let text = String::from_utf8_lossy(&out.stdout);
        if let Some(line) = text.lines().nth(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() >= 7 {
                return (cols[0].into(), cols[1].into(), cols[6].into());
            }
        }
    }
    ("unknown".into(), "unknown".into(), "unknown".into())
}

/// Total size in bytes of the files under `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += dir_bytes(&e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// Parse a count like `200000`, `200k`, `1M` or `1_000_000`.
pub fn parse_count(s: &str) -> Option<u64> {
    let s = s.trim().replace('_', "");
    let (num, mul) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1_000),
        'm' | 'M' => (&s[..s.len() - 1], 1_000_000),
        _ => (&s[..], 1),
    };
    let v: f64 = num.parse().ok()?;
    if v < 0.0 {
        return None;
    }
    Some((v * mul as f64).round() as u64)
}

/// A count for people: `200k`, `1M`, `40960`.
pub fn fmt_count(n: u64) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count("200k"), Some(200_000));
        assert_eq!(parse_count("1M"), Some(1_000_000));
        assert_eq!(parse_count("1_000"), Some(1_000));
        assert_eq!(fmt_count(1_000_000), "1M");
    }

    #[test]
    fn prng_range_and_determinism() {
        let mut a = Prng::new(7);
        let mut b = Prng::new(7);
        for _ in 0..10_000 {
            let x = a.next_f32();
            assert!((-1.0..1.0).contains(&x));
            assert_eq!(x, b.next_f32());
        }
    }

    #[test]
    fn reports_replace_files_whole_and_write_fifos_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.md");
        std::fs::write(&path, "old").unwrap();
        write_file(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        // A failed write (the target is a directory) leaves nothing behind.
        assert!(write_file(dir.path(), b"x").is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("report.md")]);
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let reader = std::thread::spawn({
            let fifo = fifo.clone();
            move || std::fs::read(fifo).unwrap()
        });
        write_file(&fifo, b"through").unwrap();
        assert_eq!(reader.join().unwrap(), b"through");
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    }
}
