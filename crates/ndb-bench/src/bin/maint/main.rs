//! `ndb-maint-bench`: sustained ingest with and without background maintenance (issue 7,
//! "Figures to report").
//!
//! For each mode (background maintenance on, then off): a fresh database, one collection of
//! `--dim` dimensions with the default configuration (cosine, 64 MiB flush threshold unless
//! `--flush-mib` says otherwise, default HNSW
//! index), `--n` seeded random vectors inserted with `insert_batch` of `--batch` documents. Then
//! `flush()` and a wait until the collection is idle (segment count, flushes and merges unchanged
//! for `--stable-secs` and the background threads using < 0.1 core meanwhile), then `--idle-secs`
//! more of searches on the idle collection.
//!
//! Meanwhile:
//! - a sampler records every 250 ms `(t, docs inserted, segments, flushes, merges, memtable docs,
//!   indexed docs, CPU used by background threads)`; the report shows it once a second;
//! - a reader thread issues default searches (`Search::new(&q).top_k(10).threads(1)`) back to
//!   back and records `(start time, latency)`; latencies are reported by phase: during the ingest,
//!   during merges (the spans between the previous flush/merge completing and a merge completing:
//!   the maintenance thread runs its merges right after a flush, one at a time), after the last
//!   insert until idle ("drain"), and idle.
//!
//! Usage: `ndb-maint-bench [--n 200000] [--dim 384] [--batch 1000] [--modes on,off] [--seed 42] [--rate R]
//!   [--flush-mib 64]
//!   [--idle-secs 10] [--stable-secs 2] [--no-reader] [--dir DIR] [--json-out PATH]
//!   [--md-out PATH] [--keep]`
//!
//! Output: a markdown report on stdout followed by the JSON figures (also written to
//! `--json-out` / `--md-out` when given). Progress goes to stderr.
//!
//! Modules: [`run`] (one mode: the ingest, the sampler and reader threads, the wait for idle),
//! [`report`] (the markdown and JSON of all modes).

mod report;
mod run;

use std::time::Instant;

use clap::Parser;
use ndb_bench::cli::{self, List, ReportFiles, ScratchArgs};
use ndb_bench::report::{command_line, load_average, Bench};
use ndb_bench::{Prng, Res};

const BENCH: Bench = Bench::new("ndb-maint-bench");

/// `on` / `off`: background maintenance.
fn mode(s: &str) -> Result<bool, String> {
    match s.trim() {
        "on" => Ok(true),
        "off" => Ok(false),
        o => Err(format!("unknown mode {o:?} (on|off)")),
    }
}

fn modes(s: &str) -> Result<List<bool>, String> {
    s.split(',').map(mode).collect()
}

fn mode_name(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// Sustained ingest with background maintenance on and off (issue 7).
#[derive(Clone, Debug, Parser)]
#[command(name = "ndb-maint-bench", args_override_self = true)]
struct Args {
    /// Documents to insert (1M is the size).
    #[arg(long, value_name = "N", default_value = "200k", value_parser = cli::positive_count)]
    n: usize,
    /// Vector dimension.
    #[arg(long, value_name = "D", default_value_t = 384, value_parser = cli::positive::<usize>)]
    dim: usize,
    /// Documents per insert_batch.
    #[arg(long, value_name = "B", default_value_t = 1000, value_parser = cli::positive::<usize>)]
    batch: usize,
    /// on, off or both in that order.
    #[arg(long, value_name = "M,..", default_value = "on,off", value_parser = modes)]
    modes: List<bool>,
    /// PRNG seed.
    #[arg(long, value_name = "S", default_value_t = 42)]
    seed: u64,
    /// Memtable flush threshold in MiB (default: the collection default, 64).
    #[arg(long, value_name = "M")]
    flush_mib: Option<usize>,
    /// Seconds of searches on the idle collection.
    #[arg(long, value_name = "S", default_value_t = 10.0, value_parser = cli::non_negative::<f64>)]
    idle_secs: f64,
    /// Idle = no segment/flush/merge change and < 0.1 core of background CPU for S s.
    #[arg(long, value_name = "S", default_value_t = 2.0, value_parser = cli::non_negative::<f64>)]
    stable_secs: f64,
    /// Offer at most R docs/s (paced per batch; default: as fast as insert_batch returns).
    #[arg(long, value_name = "R", value_parser = cli::positive::<f64>)]
    rate: Option<f64>,
    /// No concurrent searches (ingest rate only).
    #[arg(long)]
    no_reader: bool,
    #[command(flatten)]
    scratch: ScratchArgs,
    #[command(flatten)]
    out: ReportFiles,
}

fn main() {
    let args = Args::parse();
    BENCH.run(|| real_main(&args));
}

fn real_main(args: &Args) -> Res<()> {
    let command = command_line();
    std::fs::create_dir_all(&args.scratch.dir)?;
    let load_start = load_average();
    BENCH.progress(format!("load average at start: {load_start}"));
    let t = Instant::now();
    let mut rng = Prng::new(args.seed);
    let data: Vec<f32> = (0..args.n * args.dim).map(|_| rng.next_f32()).collect();
    BENCH.progress(format!(
        "generated {} × {} vectors ({:.0} MiB) in {:.1} s",
        args.n,
        args.dim,
        data.len() as f64 * 4.0 / (1024.0 * 1024.0),
        t.elapsed().as_secs_f64()
    ));
    let mut results = Vec::new();
    for &on in &args.modes {
        results.push(run::run_mode(args, on, &data)?);
    }
    let rep = report::Report {
        args,
        command,
        load_start,
        load_end: load_average(),
        results,
    };
    args.out.publish(&rep.markdown(), &rep.to_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_commands_parse() {
        let parse = cli::parse_words::<Args>;
        let a = parse("b --n 200000 --dim 384 --flush-mib 16 --rate 1000").unwrap();
        assert_eq!(
            (a.n, a.dim, a.flush_mib, a.rate),
            (200_000, 384, Some(16), Some(1000.0))
        );
        let a = parse("b").unwrap();
        assert_eq!((a.n, a.modes.as_slice()), (200_000, &[true, false][..]));
        let a = parse("b --n 1M --modes off --no-reader --keep --json-out j --md-out m").unwrap();
        assert_eq!(
            (a.n, a.modes.as_slice(), a.no_reader),
            (1_000_000, &[false][..], true)
        );
        assert!(a.scratch.keep && a.out.json_out.is_some() && a.out.md_out.is_some());
        assert!(parse("b --modes on,maybe").is_err());
        assert!(parse("b --n 0").is_err());
        assert!(parse("b --idle-secs -1").is_err());
    }
}
