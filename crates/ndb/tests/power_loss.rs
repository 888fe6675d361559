//! Simulated power loss over the fault-injecting `SimVfs`.
//!
//! A seeded workload (batches and single inserts over a small id space, so replacements of
//! flushed documents happen; deletes; explicit flushes and syncs; a 4 KiB flush threshold, so
//! automatic flushes and WAL rotations happen) runs against a database on a [`SimVfs`]. A model
//! tracks the state after every write, and which writes were acknowledged. The simulated machine
//! then crashes (process kill, power loss, or power loss with torn writes), the database is
//! reopened, and the recovered state must be
//! - the model's state after *some prefix* of the issued writes (no holes, no torn batch);
//! - a prefix that holds every write known durable: under `FdatasyncEachBatch` every
//!   acknowledged write; under `Buffered` every write acknowledged before the last successful
//!   `flush()`, `sync()` or automatic flush; after a process kill, every acknowledged write.
//!
//! The workload then continues on the recovered database and crashes again (several cycles per
//! seed). Crash points are random (after some number of operations) or exact: the k-th sync of a
//! short workload halts the file system (`Fault::CrashAtSync`), for every k.
//!
//! Reproduce one seed: `NDB_SIM_SEED=<n> cargo test -p ndb --test power_loss -- --nocapture
//! --include-ignored <test name>` (every failure message prints this line). Long run:
//! `NDB_SIM_SEEDS=5000 cargo test -p ndb --test power_loss -- --ignored --nocapture`.

mod common;
use common::workload::Op;

use ndb::testing::{CrashMode, Fault, SimVfs};
use ndb::{Collection, CollectionConfig, Database, Distance, Document, Durability, Error};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Display;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

const DB: &str = "/db";
const COLL: &str = "c";
const DIM: usize = 8;
/// Ids are drawn from `k0..k{IDS}`, so most writes replace or delete existing documents.
const IDS: u32 = 40;
const FLUSH_THRESHOLD: usize = 4096;

/// id -> (vector, payload).
type Model = BTreeMap<String, (Vec<f32>, Option<Value>)>;

fn gen_id(rng: &mut StdRng) -> String {
    format!("k{}", rng.gen_range(0..IDS))
}

fn gen_doc(rng: &mut StdRng) -> Document {
    let id = gen_id(rng);
    // Multiples of 1/8: exact in f32 and stored verbatim (Euclidean, no normalization).
    let vector = (0..DIM)
        .map(|_| rng.gen_range(-64i32..64) as f32 / 8.0)
        .collect();
    let doc = Document::new(id, vector);
    match rng.gen_range(0..4) {
        0 => doc,
        1 => doc.with_payload(json!({ "n": rng.gen_range(0..1_000_000u32) })),
        2 => {
            let len = rng.gen_range(0..300);
            doc.with_payload(json!({ "s": "x".repeat(len), "n": rng.gen_range(0..10u32) }))
        }
        _ => doc.with_payload(json!({
            "nested": { "a": [1, 2, "three"], "b": rng.gen_bool(0.5) },
            "year": rng.gen_range(1990..2030u32),
        })),
    }
}

fn gen_op(rng: &mut StdRng) -> Op {
    match rng.gen_range(0..100) {
        0..=27 => Op::Batch((0..rng.gen_range(1..=8)).map(|_| gen_doc(rng)).collect()),
        28..=67 => Op::Insert(gen_doc(rng)),
        68..=89 => Op::Delete(gen_id(rng)),
        90..=95 => Op::Flush,
        _ => Op::Sync,
    }
}

/// The model state after `op` (the batch's last copy of an id wins).
fn apply(model: &Model, op: &Op) -> Model {
    let mut next = model.clone();
    let mut put = |d: &Document| {
        next.insert(d.id.clone(), (d.vector.clone(), d.payload.clone()));
    };
    match op {
        Op::Batch(docs) => docs.iter().for_each(&mut put),
        Op::Insert(d) => put(d),
        Op::Delete(id) => {
            next.remove(id);
        }
        Op::Flush | Op::Compact | Op::Sync => {}
    }
    next
}

/// A document's value, abbreviated.
fn short((v, p): &(Vec<f32>, Option<Value>)) -> String {
    let p = p.as_ref().map_or("-".to_string(), |p| p.to_string());
    let p: String = p.chars().take(40).collect();
    format!("[{}, {}, ..] {p}", v[0], v[1])
}

/// Up to ten differences between two states, for failure messages.
fn diff(got: &Model, want: &Model) -> String {
    let mut out = Vec::new();
    for (id, v) in got {
        match want.get(id) {
            None => out.push(format!("{id}: present, expected absent")),
            Some(w) if w != v => out.push(format!("{id}: {}, expected {}", short(v), short(w))),
            Some(_) => {}
        }
    }
    for id in want.keys() {
        if !got.contains_key(id) {
            out.push(format!("{id}: absent, expected present"));
        }
    }
    let n = out.len();
    out.truncate(10);
    format!("{n} differences: {}", out.join("; "))
}

/// Everything the collection shows, read three ways that must agree: `iter()`, `get()` of every
/// id, and `stats().doc_count`; also `verify()` (every checksum).
fn read_state(c: &Collection) -> Result<Model, String> {
    let mut m = Model::new();
    for d in c.iter().map_err(|e| format!("iter: {e}"))? {
        let d = d.map_err(|e| format!("iter: {e}"))?;
        let id = d.id.clone();
        if m.insert(d.id, (d.vector, d.payload)).is_some() {
            return Err(format!("iter returned {id} twice"));
        }
    }
    for i in 0..IDS {
        let id = format!("k{i}");
        let got = c.get(&id).map_err(|e| format!("get({id}): {e}"))?;
        let want = m.get(&id).map(|(v, p)| Document {
            id: id.clone(),
            vector: v.clone(),
            payload: p.clone(),
        });
        if got != want {
            return Err(format!("get({id}) = {got:?} but iter() says {want:?}"));
        }
    }
    let stats = c.stats().map_err(|e| format!("stats: {e}"))?;
    if stats.doc_count != m.len() as u64 {
        return Err(format!(
            "stats().doc_count = {} but iter() yields {} documents",
            stats.doc_count,
            m.len()
        ));
    }
    c.verify().map_err(|e| format!("verify: {e}"))?;
    Ok(m)
}

/// Seeds to run: `NDB_SIM_SEED=<n>` runs that one seed only.
fn seeds(default: Range<u64>) -> Vec<u64> {
    match std::env::var("NDB_SIM_SEED") {
        Ok(s) => vec![s.trim().parse().expect("NDB_SIM_SEED must be a number")],
        Err(_) => default.collect(),
    }
}

/// Seed count for the long (`#[ignore]`) runs: `NDB_SIM_SEEDS`, default `default`.
fn long_seeds(default: u64) -> Vec<u64> {
    let n = std::env::var("NDB_SIM_SEEDS")
        .ok()
        .map(|s| s.trim().parse().expect("NDB_SIM_SEEDS must be a number"))
        .unwrap_or(default);
    seeds(0..n)
}

fn durability_name(d: Durability) -> &'static str {
    match d {
        Durability::FdatasyncEachBatch => "FdatasyncEachBatch",
        _ => "Buffered",
    }
}

/// One simulated machine running the workload, with the model of what it may recover to.
struct Run {
    test: &'static str,
    seed: u64,
    durability: Durability,
    sim: SimVfs,
    db: Option<Database>,
    coll: Option<Collection>,
    /// `path[i]` is the state after the first `i` writes of the current history (every write
    /// issued since the beginning that a recovery has not discarded). `path[0]` is empty.
    path: Vec<Model>,
    /// Smallest prefix a power loss may recover to (writes known durable).
    durable_floor: usize,
    /// Smallest prefix a process kill may recover to (every acknowledged write).
    kill_floor: usize,
    /// `create_collection` was acknowledged (the collection must never vanish).
    created: bool,
    /// `stats().flushes` last seen (per open), to notice automatic flushes under `Buffered`.
    flushes_seen: u64,
    recoveries: u64,
    /// Which scenario, for failure messages.
    label: String,
    /// Recent events, for failure messages.
    events: Vec<String>,
}

impl Run {
    fn new(test: &'static str, seed: u64, durability: Durability) -> Self {
        Self {
            test,
            seed,
            durability,
            sim: SimVfs::new(seed),
            db: None,
            coll: None,
            path: vec![Model::new()],
            durable_floor: 0,
            kill_floor: 0,
            created: false,
            flushes_seen: 0,
            recoveries: 0,
            label: String::from("random crash points"),
            events: Vec::new(),
        }
    }

    fn config(&self) -> CollectionConfig {
        CollectionConfig::new(DIM)
            .with_distance(Distance::Euclidean)
            .with_durability(self.durability)
            .with_flush_threshold_bytes(FLUSH_THRESHOLD)
    }

    fn event(&mut self, e: impl Into<String>) {
        self.events.push(e.into());
    }

    #[track_caller]
    fn fail(&self, msg: impl Display) -> ! {
        let from = self.events.len().saturating_sub(40);
        panic!(
            "{msg}\n  {}, seed {} ({}), history length {}, durable floor {}, kill floor {}, {} recoveries passed\n  last events:\n    {}\n  reproduce: NDB_SIM_SEED={} cargo test -p ndb --test power_loss -- --nocapture --include-ignored {}",
            self.label,
            self.seed,
            durability_name(self.durability),
            self.path.len() - 1,
            self.durable_floor,
            self.kill_floor,
            self.recoveries,
            self.events[from..].join("\n    "),
            self.seed,
            self.test,
        )
    }

    fn coll(&self) -> Collection {
        self.coll
            .clone()
            .unwrap_or_else(|| self.fail("no open collection"))
    }

    /// Open the database and create the collection (the first start of the machine).
    fn start(&mut self) -> ndb::Result<()> {
        let db = Database::open_with_vfs(DB, Arc::new(self.sim.clone()), false)?;
        self.db = Some(db.clone());
        let c = db.create_collection(COLL, self.config())?;
        self.created = true;
        self.coll = Some(c);
        self.event("opened, collection created");
        Ok(())
    }

    /// Issue `op`. A failed write may still have reached the WAL, so it enters the history
    /// either way (as a write that may or may not be recovered).
    fn exec(&mut self, op: &Op) -> ndb::Result<()> {
        let c = self.coll();
        let before = self.path.last().expect("non-empty").clone();
        let res = match op {
            Op::Batch(docs) => c.insert_batch(docs.clone()),
            Op::Insert(d) => c.insert(d.clone()),
            Op::Delete(id) => c.delete(id).map(|was| {
                if was != before.contains_key(id) {
                    self.fail(format!("delete({id}) returned {was}, the model disagrees"));
                }
            }),
            Op::Flush => c.flush(),
            Op::Compact => c.compact().map(|_| ()),
            Op::Sync => c.sync(),
        };
        if op.is_write() {
            self.path.push(apply(&before, op));
        }
        let idx = self.path.len() - 1;
        match &res {
            Err(e) => self.event(format!("#{idx} {} -> Err({e})", op.short())),
            Ok(()) => {
                self.event(format!("#{idx} {} ok", op.short()));
                self.kill_floor = idx;
                // An automatic flush rotated the WAL (synced) and committed a segment.
                let flushes = c.stats().map(|s| s.flushes).unwrap_or(0);
                let auto_flush = op.is_write() && flushes > self.flushes_seen;
                self.flushes_seen = flushes;
                if auto_flush {
                    self.event(format!("  (automatic flush: #{idx} durable)"));
                }
                let durable = auto_flush
                    || self.durability == Durability::FdatasyncEachBatch
                    || matches!(op, Op::Flush | Op::Sync);
                if durable {
                    self.durable_floor = idx;
                }
            }
        }
        res
    }

    /// Issue `op`, which must succeed (no fault is injected).
    fn exec_ok(&mut self, op: &Op) {
        if let Err(e) = self.exec(op) {
            self.fail(format!(
                "{} failed without any injected fault: {e}",
                op.short()
            ));
        }
    }

    /// The live (not crashed) collection shows the model's latest state.
    fn check_live(&mut self) {
        let c = self.coll();
        let want = self.path.last().expect("non-empty");
        match read_state(&c) {
            Ok(got) if got == *want => {}
            Ok(got) => self.fail(format!(
                "live state differs from the model: {}",
                diff(&got, want)
            )),
            Err(e) => self.fail(format!("reading the live collection failed: {e}")),
        }
    }

    /// Crash the machine, reopen, and check the recovered state against the history.
    fn crash_and_recover(&mut self, mode: CrashMode, drop_handles_first: bool) {
        if drop_handles_first {
            self.coll = None;
            self.db = None;
        }
        self.sim.crash(mode);
        self.coll = None;
        self.db = None;
        self.sim.clear_faults();
        let floor = if mode == CrashMode::ProcessKill {
            self.kill_floor
        } else {
            self.durable_floor
        };
        self.event(format!(
            "CRASH {mode:?} (may recover to #{floor}..=#{})",
            self.path.len() - 1
        ));
        let db = Database::open_with_vfs(DB, Arc::new(self.sim.clone()), false)
            .unwrap_or_else(|e| self.fail(format!("reopen after {mode:?} failed: {e}")));
        let has = db
            .has_collection(COLL)
            .unwrap_or_else(|e| self.fail(format!("has_collection: {e}")));
        let (coll, state) = if has {
            let c = db.get_collection(COLL).unwrap_or_else(|e| {
                self.fail(format!("get_collection after {mode:?} failed: {e}"))
            });
            let s = read_state(&c).unwrap_or_else(|e| {
                self.fail(format!("reading the recovered collection failed: {e}"))
            });
            (c, s)
        } else {
            if self.created {
                self.fail(format!(
                    "the collection was acknowledged by create_collection but is gone after {mode:?}"
                ));
            }
            let c = db
                .create_collection(COLL, self.config())
                .unwrap_or_else(|e| self.fail(format!("create_collection after recovery: {e}")));
            self.created = true;
            (c, Model::new())
        };
        let Some(i) = (floor..self.path.len())
            .rev()
            .find(|&i| self.path[i] == state)
        else {
            let near: Vec<usize> = (0..self.path.len())
                .filter(|&i| self.path[i] == state)
                .collect();
            self.fail(format!(
                "after {mode:?} the recovered state ({} docs) is not the state after any prefix #{floor}..=#{} of the issued writes (matches earlier prefixes: {near:?}).\n  vs the latest state: {}\n  vs the oldest allowed state #{floor}: {}",
                state.len(),
                self.path.len() - 1,
                diff(&state, self.path.last().expect("non-empty")),
                diff(&state, &self.path[floor]),
            ));
        };
        let stats = coll
            .stats()
            .unwrap_or_else(|e| self.fail(format!("stats: {e}")));
        self.event(format!(
            "recovered to #{i} ({} docs, {} segments, {} WAL records replayed, {} torn bytes cut)",
            state.len(),
            stats.segment_count,
            stats.wal_replayed_records,
            stats.wal_truncated_bytes
        ));
        COVERAGE.with(|cov| {
            let mut cov = cov.borrow_mut();
            cov.lost_writes += u64::from(i + 1 < self.path.len());
            cov.torn_tails += u64::from(stats.wal_truncated_bytes > 0);
            cov.with_segments += u64::from(stats.segment_count > 0);
            cov.with_deletions += u64::from(stats.deleted_count > 0);
        });
        self.path.truncate(i + 1);
        self.kill_floor = i;
        if mode != CrashMode::ProcessKill {
            // After a power loss everything on disk is the durable image.
            self.durable_floor = i;
        }
        self.flushes_seen = 0;
        self.recoveries += 1;
        self.db = Some(db);
        self.coll = Some(coll);
    }
}

/// What the recoveries of one test ran into, to show the workload explores what it should.
#[derive(Default)]
struct Coverage {
    /// Recoveries that lost un-synced writes (recovered to an earlier prefix than the latest).
    lost_writes: u64,
    /// Recoveries that cut a torn WAL tail.
    torn_tails: u64,
    /// Recoveries with at least one segment, and with persisted deletions of segment rows.
    with_segments: u64,
    with_deletions: u64,
}

thread_local! {
    static COVERAGE: std::cell::RefCell<Coverage> = std::cell::RefCell::default();
}

fn pick_mode(rng: &mut StdRng) -> CrashMode {
    match rng.gen_range(0..10) {
        0..=1 => CrashMode::ProcessKill,
        2..=5 => CrashMode::PowerLoss,
        _ => CrashMode::PowerLossTorn,
    }
}

/// Random crash points: `cycles` rounds of a random number of operations, then a crash.
/// Returns the recoveries checked.
fn random_crash_cycles(test: &'static str, seed: u64, durability: Durability) -> u64 {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut run = Run::new(test, seed, durability);
    if let Err(e) = run.start() {
        run.fail(format!("first open failed without any fault: {e}"));
    }
    let cycles = rng.gen_range(3..=6);
    for _ in 0..cycles {
        // Sometimes crash right after recovery: what recovery itself did must be durable.
        let n = if rng.gen_bool(0.15) {
            0
        } else {
            rng.gen_range(1..90)
        };
        for _ in 0..n {
            let op = gen_op(&mut rng);
            run.exec_ok(&op);
            if matches!(op, Op::Flush) || rng.gen_bool(0.05) {
                run.check_live();
            }
        }
        let mode = pick_mode(&mut rng);
        run.crash_and_recover(mode, rng.gen_bool(0.5));
    }
    run.recoveries
}

/// Exhaustive crash points: a short workload (open, create, `ops`) is run once to count its
/// syncs; then, for every k, a fresh machine runs it with the k-th sync halting the file system
/// (`Fault::CrashAtSync`), loses power, recovers, continues, and loses power again.
/// Returns the recoveries checked.
///
/// The first crash after the halt cycles through `first_crashes`. A `ProcessKill` there means
/// the process died right before that sync returned, and the page cache survived.
fn crash_at_every_sync(
    test: &'static str,
    seed: u64,
    durability: Durability,
    first_crashes: &[CrashMode],
) -> u64 {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x2545_f491_4f6c_dd1d);
    let ops: Vec<Op> = (0..rng.gen_range(15..35))
        .map(|_| gen_op(&mut rng))
        .collect();
    let after: Vec<Op> = (0..rng.gen_range(5..25))
        .map(|_| gen_op(&mut rng))
        .collect();

    let mut dry = Run::new(test, seed, durability);
    if let Err(e) = dry.start() {
        dry.fail(format!("first open failed without any fault: {e}"));
    }
    for op in &ops {
        dry.exec_ok(op);
    }
    let total = dry.sim.sync_count();

    let mut recoveries = 0;
    for k in 0..=total {
        let mut run = Run::new(test, seed.wrapping_mul(1000).wrapping_add(k), durability);
        run.seed = seed;
        run.label = format!("crash at sync {k} of {total} (CrashAtSync {{ after: {k} }})");
        run.sim.inject(Fault::CrashAtSync { after: k });
        let mut failure = run.start().err();
        if failure.is_none() {
            for op in &ops {
                if let Err(e) = run.exec(op) {
                    failure = Some(e);
                    break;
                }
            }
        }
        match (&failure, k < total) {
            (None, true) => run.fail(format!(
                "sync {k} of {total} halted the file system but no operation failed"
            )),
            (Some(e), false) => run.fail(format!("operation failed without a fault: {e}")),
            (Some(e), true) => {
                let ok_kind = matches!(e, Error::Io { .. } | Error::Poisoned { .. });
                if !ok_kind {
                    run.fail(format!(
                        "a failed sync surfaced as an unexpected error: {e:?}"
                    ));
                }
                // Nothing more is acknowledged once a write failed.
                if let Some(c) = run.coll.clone() {
                    let probe = Document::new("probe", vec![1.0; DIM]);
                    if c.insert(probe).is_ok() {
                        run.fail("an insert was acknowledged after a failed sync");
                    }
                }
            }
            (None, false) => {}
        }
        let mode = first_crashes[k as usize % first_crashes.len()];
        run.crash_and_recover(mode, k % 2 == 0);
        for op in &after {
            run.exec_ok(op);
        }
        run.crash_and_recover(CrashMode::PowerLossTorn, k % 2 == 0);
        recoveries += run.recoveries;
    }
    recoveries
}

const POWER: &[CrashMode] = &[CrashMode::PowerLoss, CrashMode::PowerLossTorn];
const ALL_CRASHES: &[CrashMode] = &[
    CrashMode::PowerLoss,
    CrashMode::PowerLossTorn,
    CrashMode::ProcessKill,
];

fn report(test: &str, seeds: usize, recoveries: u64, started: Instant) {
    let cov = COVERAGE.with(|c| std::mem::take(&mut *c.borrow_mut()));
    println!(
        "{test}: {seeds} seeds, {recoveries} recoveries checked in {:.2?} ({} lost un-synced writes, {} cut a torn WAL tail, {} had segments, {} had deleted segment rows)",
        started.elapsed(),
        cov.lost_writes,
        cov.torn_tails,
        cov.with_segments,
        cov.with_deletions,
    );
}

/// Run the workload `run(seed, durability)`, which returns the recoveries it checked, for each
/// of `seeds` and each of `modes` in turn; then print the report of `test`.
fn each_seed(
    test: &str,
    seeds: Vec<u64>,
    modes: &[Durability],
    run: impl Fn(u64, Durability) -> u64,
) {
    let started = Instant::now();
    let mut recoveries = 0;
    for &s in &seeds {
        for &durability in modes {
            recoveries += run(s, durability);
        }
    }
    report(test, seeds.len() * modes.len(), recoveries, started);
}

const FDATASYNC: &[Durability] = &[Durability::FdatasyncEachBatch];
const BUFFERED: &[Durability] = &[Durability::Buffered];
const BOTH: &[Durability] = &[Durability::FdatasyncEachBatch, Durability::Buffered];

#[test]
fn random_power_loss_fdatasync_each_batch() {
    let test = "random_power_loss_fdatasync_each_batch";
    each_seed(test, seeds(0..200), FDATASYNC, |s, d| {
        random_crash_cycles(test, s, d)
    });
}

#[test]
fn random_power_loss_buffered() {
    let test = "random_power_loss_buffered";
    each_seed(test, seeds(0..200), BUFFERED, |s, d| {
        random_crash_cycles(test, s, d)
    });
}

#[test]
fn crash_at_every_sync_fdatasync_each_batch() {
    let test = "crash_at_every_sync_fdatasync_each_batch";
    each_seed(test, seeds(0..8), FDATASYNC, |s, d| {
        crash_at_every_sync(test, s, d, POWER)
    });
}

#[test]
fn crash_at_every_sync_buffered() {
    let test = "crash_at_every_sync_buffered";
    each_seed(test, seeds(0..8), BUFFERED, |s, d| {
        crash_at_every_sync(test, s, d, POWER)
    });
}

#[test]
#[ignore = "long run: NDB_SIM_SEEDS=<n> (default 3000) seeds per durability mode"]
fn long_random_power_loss() {
    let test = "long_random_power_loss";
    each_seed(test, long_seeds(3000), BOTH, |s, d| {
        random_crash_cycles(test, s, d)
    });
}

#[test]
#[ignore = "long run: NDB_SIM_SEEDS=<n> (default 100) workloads per durability mode"]
fn long_crash_at_every_sync() {
    let test = "long_crash_at_every_sync";
    each_seed(test, long_seeds(100), BOTH, |s, d| {
        crash_at_every_sync(test, s, d, POWER)
    });
}

/// Like the crash-at-every-sync tests, but the first crash is sometimes a process kill at the
/// halted sync (the page cache survives), and the second a power loss. Regression test: open
/// used to trust directory entries that were only in the page cache.
#[test]
fn crash_at_every_sync_process_kill_then_power_loss() {
    let test = "crash_at_every_sync_process_kill_then_power_loss";
    each_seed(test, seeds(0..4), BOTH, |s, d| {
        crash_at_every_sync(test, s, d, ALL_CRASHES)
    });
}

/// The smallest form of the bug above. The process dies at each sync of the first open and
/// `create_collection` (before that sync returned), restarts, acknowledges `FdatasyncEachBatch`
/// inserts, and then the machine loses power: every acknowledged insert must survive.
///
/// Regression test (open now fsyncs the directories it trusts). It used to fail for the sync
/// of the database directory after the database MANIFEST rename (the
/// collection vanishes) and for the two syncs of the new WAL file (header fdatasync, directory
/// fsync: the WAL file's directory entry is never made durable, so every acknowledged insert
/// is lost).
#[test]
fn process_kill_at_any_sync_of_create_then_power_loss_keeps_acked_writes() {
    let config = CollectionConfig::new(DIM)
        .with_distance(Distance::Euclidean)
        .with_durability(Durability::FdatasyncEachBatch);
    let dry = SimVfs::new(0);
    let db = Database::open_with_vfs(DB, Arc::new(dry.clone()), false).expect("open");
    db.create_collection(COLL, config.clone()).expect("create");
    let total = dry.sync_count();
    let mut lost = Vec::new();
    for k in 0..total {
        let sim = SimVfs::new(k);
        sim.inject(Fault::CrashAtSync { after: k });
        let res = Database::open_with_vfs(DB, Arc::new(sim.clone()), false)
            .and_then(|db| db.create_collection(COLL, config.clone()));
        assert!(res.is_err(), "sync {k}: nothing failed");
        drop(res);
        sim.crash(CrashMode::ProcessKill);
        let db = Database::open_with_vfs(DB, Arc::new(sim.clone()), false).expect("reopen");
        let c = match db.get_collection(COLL) {
            Ok(c) => c,
            Err(Error::CollectionNotFound(_)) => {
                db.create_collection(COLL, config.clone()).expect("create")
            }
            Err(e) => panic!("sync {k}: {e}"),
        };
        let doc = Document::new("acked", vec![1.0; DIM]);
        c.insert(doc.clone()).expect("insert");
        drop((db, c));
        sim.crash(CrashMode::PowerLoss);
        let db = Database::open_with_vfs(DB, Arc::new(sim.clone()), false).expect("reopen");
        let got = db.get_collection(COLL).and_then(|c| c.get("acked"));
        if !matches!(&got, Ok(Some(d)) if *d == doc) {
            lost.push(format!("process killed at sync {k} of {total}: {got:?}"));
        }
    }
    assert!(
        lost.is_empty(),
        "an acknowledged FdatasyncEachBatch insert was lost:\n  {}",
        lost.join("\n  ")
    );
}
