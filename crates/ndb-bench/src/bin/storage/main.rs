//! `ndb-storage-bench`: storage-engine figures for nDB (issue 2, "Figures to report").
//!
//! Scenarios (384-dim random vectors, seeded):
//! - `bulk`: `insert_batch` of 1,000 documents, N in all, under `Buffered` and
//!   `FdatasyncEachBatch` -> docs/s (each run in a fresh directory).
//! - `single`: single-document `insert` under `FdatasyncEachBatch` with 1 and 8 writer threads for
//!   a fixed time -> docs/s and fdatasyncs per insert (group commit).
//! - `reopen`: N flushed vectors (100k and 1M by default); `Database::open` + `get_collection`
//!   time and RSS, each measurement in a fresh child process (page cache warm).
//! - `wal-reopen`: a collection whose WAL/memtable holds ~64 MiB (not flushed); reopen (replay) time
//!   and RSS in a child process.
//! - `all`: every scenario above.
//!
//! Usage: `ndb-storage-bench [--scenario all|bulk|single|reopen|wal-reopen] [--n N[,N..]]
//!   [--runs R] [--dir DIR] [--secs S] [--threads 1,8] [--wal-mib 64] [--seed S] [--keep] [--json]`
//!
//! Output: a markdown report on stdout; with `--json`, one JSON object instead. Progress goes to
//! stderr. Every figure is a median over the stated number of runs, with min and max.
//!
//! Modules: [`insert`] (the `bulk` and `single` scenarios), [`reopen`] (`reopen`, `wal-reopen`
//! and the child process that measures one open).

mod insert;
mod reopen;

use clap::{Parser, ValueEnum};
use ndb::CollectionConfig;
use ndb_bench::cli::{self, List, ScratchArgs};
use ndb_bench::report::{self, fmt, Bench, Filesystem, Machine, Table};
use ndb_bench::{median, min_max, Res};
use serde_json::{json, Value};

const BENCH: Bench = Bench::new("ndb-storage-bench");

const DIM: usize = 384;
const BATCH: usize = 1_000;
const COLL: &str = "bench";
const MIB: f64 = 1024.0 * 1024.0;

/// What to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// Every scenario.
    All,
    /// insert_batch under Buffered and FdatasyncEachBatch.
    Bulk,
    /// Single-document inserts from 1 and more threads (group commit).
    Single,
    /// Reopen time and RSS of flushed collections.
    Reopen,
    /// Reopen (replay) time and RSS of a collection held in its WAL.
    WalReopen,
    /// One measured open, in the child process the reopen scenarios start.
    #[value(hide = true)]
    ReopenChild,
}

impl Scenario {
    /// Whether a run of `self` includes `s`.
    fn includes(self, s: Scenario) -> bool {
        self == s || self == Scenario::All
    }
}

/// Storage figures for nDB (384-dim random vectors).
#[derive(Clone, Debug, Parser)]
#[command(name = "ndb-storage-bench", args_override_self = true)]
struct Args {
    /// The scenario to run.
    #[arg(long, value_name = "NAME", value_enum, default_value_t = Scenario::All)]
    scenario: Scenario,
    /// bulk: total documents (default 200k); reopen: collection sizes (default 100k,1M).
    #[arg(long, value_name = "N[,N..]", value_parser = cli::counts)]
    n: Option<List<u64>>,
    /// Bulk size when running `all`.
    #[arg(long, value_name = "N", value_parser = cli::count)]
    bulk_n: Option<u64>,
    /// Reopen sizes when running `all`.
    #[arg(long, value_name = "N,..", value_parser = cli::counts)]
    reopen_n: Option<List<u64>>,
    /// Runs per figure (default: bulk 3, single 3, reopen 5, wal-reopen 5).
    #[arg(long, value_name = "R", value_parser = cli::positive::<usize>)]
    runs: Option<usize>,
    #[command(flatten)]
    scratch: ScratchArgs,
    /// single: seconds per run.
    #[arg(long, value_name = "S", default_value_t = 3.0, value_parser = cli::positive::<f64>)]
    secs: f64,
    /// single: writer thread counts.
    #[arg(long, value_name = "T,..", default_value = "1,8", value_parser = cli::positive_list::<usize>)]
    threads: List<usize>,
    /// wal-reopen: WAL size to build, MiB.
    #[arg(long, value_name = "M", default_value_t = 64, value_parser = cli::positive::<u64>)]
    wal_mib: u64,
    /// PRNG seed.
    #[arg(long, value_name = "S", default_value_t = 42)]
    seed: u64,
    /// Print one JSON object instead of markdown.
    #[arg(long)]
    json: bool,
    /// reopen-child: the collection name.
    #[arg(long, hide = true, default_value = COLL)]
    name: String,
}

impl Args {
    /// The sizes `--n` gives for `scenario`, when it is the one run (under `all`, the
    /// per-scenario flags say).
    fn n_for(&self, scenario: Scenario) -> Option<&[u64]> {
        (self.scenario == scenario)
            .then_some(self.n.as_deref())
            .flatten()
    }
}

/// One reported figure: every run's value, summarised by the median.
struct Figure {
    scenario: String,
    config: String,
    metric: String,
    unit: String,
    values: Vec<f64>,
}

impl Figure {
    fn to_json(&self) -> Value {
        let (lo, hi) = min_max(&self.values);
        json!({
            "scenario": self.scenario,
            "config": self.config,
            "metric": self.metric,
            "unit": self.unit,
            "median": median(&self.values),
            "runs": self.values.len(),
            "min": lo,
            "max": hi,
            "values": self.values,
        })
    }
}

#[derive(Default)]
struct Report {
    figures: Vec<Figure>,
    notes: Vec<String>,
}

impl Report {
    fn add(&mut self, scenario: &str, config: &str, metric: &str, unit: &str, values: Vec<f64>) {
        self.figures.push(Figure {
            scenario: scenario.into(),
            config: config.into(),
            metric: metric.into(),
            unit: unit.into(),
            values,
        });
    }

    fn note(&mut self, s: impl Into<String>) {
        let s = s.into();
        eprintln!("  note: {s}");
        self.notes.push(s);
    }
}

/// These figures are about the storage engine: no HNSW graph is built at flush (index builds
/// are measured by `ndb-search-bench --hnsw`).
fn storage_only(config: CollectionConfig) -> CollectionConfig {
    config.with_index(ndb::IndexConfig::default().with_min_rows(usize::MAX))
}

/// The run's setting: machine, scratch file system, command, seed.
struct Header {
    machine: Machine,
    fs: Filesystem,
    args: Args,
    command: String,
}

impl Header {
    fn to_json(&self) -> Value {
        let unix_time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        json!({
            "machine": self.machine.to_json(),
            "dir": self.args.scratch.dir.display().to_string(),
            "filesystem": self.fs.to_json(),
            "command": self.command,
            "seed": self.args.seed,
            "dim": DIM,
            "unix_time": unix_time,
        })
    }

    fn markdown(&self, rep: &Report) -> String {
        let (m, fs) = (&self.machine, &self.fs);
        let mut md = format!(
            "# nDB storage benchmark (`ndb-storage-bench`)\n\n\
             - Machine: {} logical CPUs, {}, {} GiB RAM, Linux {}\n\
             - Scratch directory: `{}` on {} ({}, mounted at {})\n\
             - Command: `{}`\n\
             - Vectors: {DIM}-dim f32, uniform random (seed {}); figures are medians over `runs` runs\n\n",
            m.nproc,
            m.cpu_model,
            m.mem_gib(),
            m.kernel,
            self.args.scratch.dir.display(),
            fs.fs_type,
            fs.device,
            fs.mount,
            self.command,
            self.args.seed
        );
        let mut t = Table::new()
            .lefts(["Scenario", "Configuration", "Metric"])
            .right("Median")
            .left("Unit")
            .rights(["Runs", "Min", "Max"]);
        for fig in &rep.figures {
            let (lo, hi) = min_max(&fig.values);
            t.row([
                fig.scenario.clone(),
                fig.config.clone(),
                fig.metric.clone(),
                fmt::value(median(&fig.values)),
                fig.unit.clone(),
                fig.values.len().to_string(),
                fmt::value(lo),
                fmt::value(hi),
            ]);
        }
        md.push_str(&t.to_string());
        if !rep.notes.is_empty() {
            md.push_str("\nNotes:\n\n");
            for n in &rep.notes {
                md.push_str(&format!("- {n}\n"));
            }
        }
        md
    }
}

fn main() {
    let args = Args::parse();
    BENCH.run(|| real_main(args));
}

fn real_main(args: Args) -> Res<()> {
    if args.scenario == Scenario::ReopenChild {
        return reopen::child(&args);
    }
    let dir = &args.scratch.dir;
    std::fs::create_dir_all(dir)?;
    let fs = Filesystem::of(dir);
    BENCH.progress(format!(
        "scratch directory {} is on {} ({}, mounted at {})",
        dir.display(),
        fs.fs_type,
        fs.device,
        fs.mount
    ));
    if fs.in_memory() {
        eprintln!(
            "  warning: {} may not reach a real disk on fsync; use --dir on a disk file system",
            fs.fs_type
        );
    }
    let machine = Machine::describe();
    let command = report::command_line();
    let mut rep = Report::default();
    if args.scenario.includes(Scenario::Bulk) {
        insert::bulk(&args, &mut rep)?;
    }
    if args.scenario.includes(Scenario::Single) {
        insert::single(&args, &mut rep)?;
    }
    if args.scenario.includes(Scenario::Reopen) {
        reopen::flushed(&args, &mut rep)?;
    }
    if args.scenario.includes(Scenario::WalReopen) {
        reopen::wal(&args, &mut rep)?;
    }
    let header = Header {
        machine,
        fs,
        args,
        command,
    };
    if header.args.json {
        let mut obj = header.to_json();
        obj["figures"] = Value::Array(rep.figures.iter().map(Figure::to_json).collect());
        obj["notes"] = json!(rep.notes);
        println!("{}", report::json_text(&obj)?);
    } else {
        print!("{}", header.markdown(&rep));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_and_sizes_parse() {
        let parse = cli::parse_words::<Args>;
        for (name, scenario) in [
            ("all", Scenario::All),
            ("bulk", Scenario::Bulk),
            ("single", Scenario::Single),
            ("reopen", Scenario::Reopen),
            ("wal-reopen", Scenario::WalReopen),
        ] {
            let a = parse(&format!("b --scenario {name} --n 100k,1M")).unwrap();
            assert_eq!(a.scenario, scenario);
            assert_eq!(a.n_for(scenario), Some(&[100_000, 1_000_000][..]));
        }
        let a = parse("b").unwrap();
        assert_eq!(
            (a.scenario, a.threads.as_slice()),
            (Scenario::All, &[1, 8][..])
        );
        assert_eq!(a.n_for(Scenario::Bulk), None);
        let child = parse("b --scenario reopen-child --dir /x --name c").unwrap();
        assert_eq!(
            (child.scenario, child.name.as_str()),
            (Scenario::ReopenChild, "c")
        );
        assert!(parse("b --scenario nope").is_err());
        assert!(parse("b --threads 1,0").is_err());
        assert!(parse("b --secs 0").is_err());
    }
}
