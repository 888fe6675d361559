//! Memory-bandwidth probe: sequential read speed of one thread and of all threads over a buffer
//! much larger than the last-level cache, the yardstick for exact (brute-force) search, which on
//! data larger than the cache is bound by memory bandwidth.
//!
//! Each pass sums the buffer's `f32` values in 32 independent lanes (element-wise adds that LLVM
//! vectorises at any target level, as a search kernel reads its vectors); the result goes through
//! [`std::hint::black_box`] so the pass is not optimised away. One untimed pass first faults every
//! page in.
//!
//! The machine may be shared: a pass during which a measuring thread waited in the scheduler's run
//! queue for more than 2% of the pass (from `/proc/thread-self/schedstat`) is marked disturbed, and
//! the reported figure is the median of the undisturbed passes (of all passes if none was).

use std::hint::black_box;
use std::time::Instant;

use crate::report::fmt::{r2, r4};

/// A pass is disturbed if a measuring thread waited for a CPU longer than this fraction of it.
const DISTURBED_WAIT: f64 = 0.02;

/// What [`probe`] measured.
#[derive(Clone, Debug)]
pub struct Bandwidth {
    /// Buffer size in bytes.
    pub buffer_bytes: usize,
    /// Threads of the all-thread probe.
    pub threads: usize,
    /// Timed passes per figure.
    pub runs: usize,
    /// Single-thread sequential read, GB/s (10^9 bytes/s): median of the undisturbed passes.
    pub single_gbs: f64,
    /// All-thread sequential read, GB/s: median of the undisturbed passes.
    pub multi_gbs: f64,
    /// Every single-thread pass.
    pub single_runs: Vec<Pass>,
    /// Every all-thread pass.
    pub multi_runs: Vec<Pass>,
}

/// One timed pass.
#[derive(Clone, Copy, Debug)]
pub struct Pass {
    /// GB/s.
    pub gbs: f64,
    /// Largest run-queue wait of a measuring thread, as a fraction of the pass.
    pub sched_wait: f64,
}

impl Pass {
    /// Whether another process took the CPU from a measuring thread during the pass.
    pub fn disturbed(&self) -> bool {
        self.sched_wait > DISTURBED_WAIT
    }
}

/// Median GB/s of the undisturbed passes (all passes if every one was disturbed), and how many
/// passes it is taken over.
fn clean_median(passes: &[Pass]) -> (f64, usize) {
    let clean: Vec<f64> = passes
        .iter()
        .filter(|p| !p.disturbed())
        .map(|p| p.gbs)
        .collect();
    if clean.is_empty() {
        let all: Vec<f64> = passes.iter().map(|p| p.gbs).collect();
        (crate::median(&all), 0)
    } else {
        (crate::median(&clean), clean.len())
    }
}

impl Bandwidth {
    /// The figures as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let runs = |v: &[Pass]| -> serde_json::Value {
            v.iter()
                .map(|p| serde_json::json!({"gbs": r2(p.gbs), "sched_wait": r4(p.sched_wait)}))
                .collect()
        };
        serde_json::json!({
            "buffer_bytes": self.buffer_bytes,
            "threads": self.threads,
            "runs": self.runs,
            "single_thread_gbs": r2(self.single_gbs),
            "all_threads_gbs": r2(self.multi_gbs),
            "single_thread_clean_passes": self.single_runs.iter().filter(|p| !p.disturbed()).count(),
            "all_threads_clean_passes": self.multi_runs.iter().filter(|p| !p.disturbed()).count(),
            "single_thread_best_gbs": r2(self.single_runs.iter().map(|p| p.gbs).fold(0.0, f64::max)),
            "all_threads_best_gbs": r2(self.multi_runs.iter().map(|p| p.gbs).fold(0.0, f64::max)),
            "single_thread_passes": runs(&self.single_runs),
            "all_threads_passes": runs(&self.multi_runs),
            "method": "sequential read: sum of f32 in 32 lanes; median of the passes whose threads \
                       waited < 2% for a CPU (of all passes if none), after one warm pass",
        })
    }
}

/// Sum of the values, in 32 independent lanes so that the loop vectorises (element-wise adds:
/// no reassociation needed) and is not bound by the latency of one add chain.
#[inline(never)]
pub fn sum_lanes(xs: &[f32]) -> f32 {
    let mut acc = [0f32; 32];
    let chunks = xs.chunks_exact(32);
    let rest: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += *x;
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// CPU seconds (user + system) this process has used, its exited threads included, from
/// `/proc/self/stat` (clock ticks of 1/100 s); NaN where unavailable.
pub fn process_cpu_s() -> f64 {
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses: state is field 3,
    // utime 14 and stime 15.
    let Some((_, rest)) = text.rsplit_once(')') else {
        return f64::NAN;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    match (
        f.get(11).and_then(|v| v.parse::<u64>().ok()),
        f.get(12).and_then(|v| v.parse::<u64>().ok()),
    ) {
        (Some(u), Some(s)) => (u + s) as f64 / 100.0,
        _ => f64::NAN,
    }
}

/// Nanoseconds the calling thread has run on a CPU (0 where unavailable), from
/// `/proc/thread-self/schedstat`: unlike wall time, not inflated while other processes hold the
/// CPU.
pub fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|t| t.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Nanoseconds the calling thread has waited in the run queue (0 where unavailable).
pub fn thread_run_delay_ns() -> u64 {
    schedstat_delay(&std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default())
}

/// Nanoseconds all threads of this process have waited in the run queue (0 where unavailable).
pub fn process_run_delay_ns() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.flatten()
        .map(|e| {
            schedstat_delay(
                &std::fs::read_to_string(e.path().join("schedstat")).unwrap_or_default(),
            )
        })
        .sum()
}

/// The second field of a schedstat line: "cpu_ns run_delay_ns timeslices".
fn schedstat_delay(text: &str) -> u64 {
    text.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// One pass over `buf` with `threads` threads, each summing a contiguous part.
fn pass(buf: &[f32], threads: usize) -> Pass {
    let bytes = std::mem::size_of_val(buf) as f64;
    if threads <= 1 {
        let d0 = thread_run_delay_ns();
        let t = Instant::now();
        black_box(sum_lanes(black_box(buf)));
        let secs = t.elapsed().as_secs_f64();
        let wait = thread_run_delay_ns().saturating_sub(d0) as f64 / 1e9;
        return Pass {
            gbs: bytes / secs / 1e9,
            sched_wait: wait / secs,
        };
    }
    let part = buf.len().div_ceil(threads);
    let barrier = std::sync::Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = buf
            .chunks(part)
            .map(|chunk| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    let d0 = thread_run_delay_ns();
                    black_box(sum_lanes(black_box(chunk)));
                    thread_run_delay_ns().saturating_sub(d0)
                })
            })
            .collect();
        // Start the clock when every worker is spawned and waiting.
        barrier.wait();
        let t = Instant::now();
        let mut max_wait = 0u64;
        for h in handles {
            max_wait = max_wait.max(h.join().expect("probe thread"));
        }
        let secs = t.elapsed().as_secs_f64();
        Pass {
            gbs: bytes / secs / 1e9,
            sched_wait: max_wait as f64 / 1e9 / secs,
        }
    })
}

/// Measure sequential read bandwidth over a buffer of `bytes` bytes: `runs` timed passes with one
/// thread and `runs` with `threads` threads, alternating.
pub fn probe(bytes: usize, threads: usize, runs: usize) -> Bandwidth {
    let len = (bytes / 4).max(32);
    let threads = threads.max(1);
    let runs = runs.max(1);
    // Fill with normal, non-zero values (a zeroed allocation may all map the same zero page;
    // denormals would slow the adds), in parallel.
    let mut buf = vec![0f32; len];
    let part = len.div_ceil(threads);
    std::thread::scope(|s| {
        for (ci, chunk) in buf.chunks_mut(part).enumerate() {
            s.spawn(move || {
                let base = ci * part;
                for (i, w) in chunk.iter_mut().enumerate() {
                    *w = 1.0 + ((base + i) % 1024) as f32 / 1024.0;
                }
            });
        }
    });
    // Warm pass (page faults, TLB) untimed.
    pass(&buf, threads);
    let mut single_runs = Vec::with_capacity(runs);
    let mut multi_runs = Vec::with_capacity(runs);
    for _ in 0..runs {
        single_runs.push(pass(&buf, 1));
        multi_runs.push(pass(&buf, threads));
    }
    Bandwidth {
        buffer_bytes: len * 4,
        threads,
        runs,
        single_gbs: clean_median(&single_runs).0,
        multi_gbs: clean_median(&multi_runs).0,
        single_runs,
        multi_runs,
    }
}

/// Size of the last-level cache in bytes from sysfs (the highest cache level of CPU 0), if known.
pub fn llc_bytes() -> Option<u64> {
    let base = std::path::Path::new("/sys/devices/system/cpu/cpu0/cache");
    let mut best: Option<(u32, u64)> = None;
    for e in std::fs::read_dir(base).ok()?.flatten() {
        let p = e.path();
        if !p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("index"))
        {
            continue;
        }
        let read = |f: &str| {
            std::fs::read_to_string(p.join(f))
                .ok()
                .map(|s| s.trim().to_string())
        };
        if read("type").as_deref() == Some("Instruction") {
            continue;
        }
        let (Some(level), Some(size)) = (read("level"), read("size")) else {
            continue;
        };
        let Ok(level) = level.parse::<u32>() else {
            continue;
        };
        let size = parse_size(&size)?;
        if best.is_none_or(|(l, _)| level > l) {
            best = Some((level, size));
        }
    }
    best.map(|(_, s)| s)
}

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mul) = match s.chars().last()? {
        'K' => (&s[..s.len() - 1], 1u64 << 10),
        'M' => (&s[..s.len() - 1], 1 << 20),
        'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok().map(|n| n * mul)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_is_right() {
        let v: Vec<f32> = (1..=1001).map(|x| x as f32).collect();
        assert_eq!(sum_lanes(&v), (1001 * 1002 / 2) as f32);
        assert_eq!(schedstat_delay("123 456 7"), 456);
    }

    #[test]
    fn small_probe_runs() {
        let b = probe(1 << 20, 2, 2);
        assert!(b.single_gbs > 0.0 && b.multi_gbs > 0.0);
        assert_eq!(parse_size("32768K"), Some(32 << 20));
    }
}
