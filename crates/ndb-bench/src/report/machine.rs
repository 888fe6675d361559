//! The machine a benchmark ran on, as every report states it: CPUs, memory, kernel, the load
//! other processes put on it, and the file system under the scratch directory.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

/// The machine: logical CPUs, CPU model, memory, kernel (from `/proc`).
#[derive(Clone, Debug, PartialEq)]
pub struct Machine {
    /// Logical CPUs this process may use.
    pub nproc: usize,
    /// The CPU's model name, `unknown` where `/proc/cpuinfo` does not say.
    pub cpu_model: String,
    /// Total memory, GiB, one decimal.
    pub mem_total_gib: f64,
    /// Kernel release.
    pub kernel: String,
}

impl Machine {
    /// The machine this process runs on.
    pub fn describe() -> Machine {
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
        Machine {
            nproc,
            cpu_model,
            mem_total_gib: crate::report::fmt::round(mem_total_kib as f64 / (1024.0 * 1024.0), 1),
            kernel,
        }
    }

    /// Total memory as the JSON report writes it (`23.5`, `24.0`).
    pub fn mem_gib(&self) -> String {
        json!(self.mem_total_gib).to_string()
    }

    /// `2 × Intel(R) Xeon(R) ...`: logical CPUs and model.
    pub fn cpus(&self) -> String {
        format!("{} × {}", self.nproc, self.cpu_model)
    }

    /// `Intel(R) Xeon(R) ... (2 logical CPUs, 23.5 GiB)`: model, logical CPUs and memory.
    pub fn summary(&self) -> String {
        format!(
            "{} ({} logical CPUs, {} GiB)",
            self.cpu_model,
            self.nproc,
            self.mem_gib()
        )
    }

    /// The machine as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "nproc": self.nproc,
            "cpu_model": self.cpu_model,
            "mem_total_gib": self.mem_total_gib,
            "kernel": self.kernel,
        })
    }
}

/// The 1, 5 and 15-minute load averages, as `/proc/loadavg` shows them (`unknown` without it).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The file system of a directory, as `df -T` reports it (`unknown` where it cannot say).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filesystem {
    /// The device (or `tmpfs`, `overlay`).
    pub device: String,
    /// The file system type (`ext4`, `tmpfs`).
    pub fs_type: String,
    /// Where it is mounted.
    pub mount: String,
}

impl Filesystem {
    /// The file system holding `dir`.
    pub fn of(dir: &Path) -> Filesystem {
        let out = Command::new("df").arg("-T").arg(dir).output();
        if let Ok(out) = out {
            let text = String::from_utf8_lossy(&out.stdout);
            if let Some(line) = text.lines().nth(1) {
                let cols: Vec<&str> = line.split_whitespace().collect();
                if cols.len() >= 7 {
                    return Filesystem {
                        device: cols[0].into(),
                        fs_type: cols[1].into(),
                        mount: cols[6].into(),
                    };
                }
            }
        }
        Filesystem {
            device: "unknown".into(),
            fs_type: "unknown".into(),
            mount: "unknown".into(),
        }
    }

    /// Whether an fsync on it may not reach a disk.
    pub fn in_memory(&self) -> bool {
        matches!(self.fs_type.as_str(), "tmpfs" | "ramfs" | "overlay")
    }

    /// The file system as JSON.
    pub fn to_json(&self) -> Value {
        json!({"device": self.device, "type": self.fs_type, "mount": self.mount})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_this_machine() {
        let m = Machine::describe();
        assert!(m.nproc >= 1);
        assert_eq!(m.to_json()["nproc"], m.nproc);
        assert_eq!(
            Machine {
                mem_total_gib: 24.0,
                ..m
            }
            .mem_gib(),
            "24.0"
        );
        assert_eq!(load_average().split(' ').count(), 3);
    }
}
