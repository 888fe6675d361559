//! The insert scenarios: `bulk` (insert_batch under each durability) and `single` (one document
//! per insert from several threads: group commit).

use std::time::{Duration, Instant};

use ndb::{CollectionConfig, Database, Document, Durability};
use ndb_bench::report::fmt;
use ndb_bench::scratch::{self, fresh_dir};
use ndb_bench::{doc_id, make_docs, Prng, Res};

use crate::{storage_only, Args, Report, Scenario, BATCH, BENCH, COLL, DIM};

fn durability_name(d: Durability) -> &'static str {
    match d {
        Durability::Buffered => "Buffered",
        Durability::FdatasyncEachBatch => "FdatasyncEachBatch",
        #[allow(unreachable_patterns)]
        _ => "other",
    }
}

/// What one bulk run measured.
struct BulkRun {
    docs_per_s: f64,
    syncs: u64,
    batches: u64,
    segments: usize,
}

/// `n` documents with insert_batch into a fresh collection under `durability`; only the
/// insert_batch calls and one final sync() are timed.
fn bulk_run(args: &Args, durability: Durability, n: u64, run: usize) -> Res<BulkRun> {
    let dir = fresh_dir(
        &args.scratch.dir,
        &format!("bulk-{}-{run}", durability_name(durability)),
    )?;
    let measured = {
        let db = Database::open(&dir)?;
        let coll = db.create_collection(
            COLL,
            storage_only(CollectionConfig::new(DIM).with_durability(durability)),
        )?;
        let syncs0 = coll.stats()?.wal_syncs;
        let mut rng = Prng::new(args.seed.wrapping_add(run as u64));
        let mut timed = Duration::ZERO;
        let mut done = 0u64;
        let mut batches = 0u64;
        while done < n {
            let count = (n - done).min(BATCH as u64) as usize;
            // Vector generation is outside the timed region: only insert_batch is timed.
            let docs = make_docs(&mut rng, "d", done, count, DIM);
            let t = Instant::now();
            coll.insert_batch(docs)?;
            timed += t.elapsed();
            done += count as u64;
            batches += 1;
        }
        // The run ends durable in both modes (a no-op wait under FdatasyncEachBatch).
        let t = Instant::now();
        coll.sync()?;
        timed += t.elapsed();
        let st = coll.stats()?;
        if st.doc_count != n {
            return Err(format!("bulk: expected {n} docs, stats say {}", st.doc_count).into());
        }
        BulkRun {
            docs_per_s: n as f64 / timed.as_secs_f64(),
            syncs: st.wal_syncs - syncs0,
            batches,
            segments: st.segment_count,
        }
    };
    scratch::remove(&BENCH, &dir, args.scratch.keep);
    Ok(measured)
}

/// `bulk`: insert_batch of [`BATCH`] documents, N in all, under each durability.
pub fn bulk(args: &Args, rep: &mut Report) -> Res<()> {
    let n = args
        .bulk_n
        .or_else(|| args.n_for(Scenario::Bulk).and_then(|v| v.first().copied()))
        .unwrap_or(200_000);
    let runs = args.runs.unwrap_or(3);
    for durability in [Durability::Buffered, Durability::FdatasyncEachBatch] {
        let dname = durability_name(durability);
        let config = format!("insert_batch({BATCH}), N={}, {dname}", fmt::count(n));
        let mut rates = Vec::new();
        let mut syncs_per_batch = Vec::new();
        let mut segments = Vec::new();
        for run in 0..runs {
            let r = bulk_run(args, durability, n, run)?;
            BENCH.progress(format!(
                "bulk {dname} run {}/{runs}: {:.0} docs/s ({} WAL fdatasyncs for {} batches, {} segments)",
                run + 1,
                r.docs_per_s,
                r.syncs,
                r.batches,
                r.segments
            ));
            rates.push(r.docs_per_s);
            syncs_per_batch.push(r.syncs as f64 / r.batches as f64);
            segments.push(r.segments as f64);
        }
        rep.add("bulk", &config, "throughput", "docs/s", rates);
        let per_batch = "WAL fdatasyncs per batch";
        rep.add("bulk", &config, per_batch, "syncs/batch", syncs_per_batch);
        let segs = "segments after run (flushes at 64 MiB)";
        rep.add("bulk", &config, segs, "segments", segments);
    }
    rep.note("bulk: only insert_batch calls plus one final sync() are timed; vector generation is excluded; default 64 MiB flush threshold, so flushes during the load are included; each run in a fresh directory");
    Ok(())
}

/// Every thread of `threads` inserts its own documents, one per call, until the deadline; the
/// documents inserted in all.
fn insert_until(coll: &ndb::Collection, threads: usize, deadline: Instant, seed: u64) -> Res<u64> {
    let counts: Vec<Result<u64, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let coll = coll.clone();
                let seed = seed.wrapping_add(t as u64);
                s.spawn(move || -> Result<u64, String> {
                    let mut rng = Prng::new(seed);
                    let prefix = format!("t{t}-");
                    let mut i = 0u64;
                    while Instant::now() < deadline {
                        coll.insert(Document::new(doc_id(&prefix, i), rng.vector(DIM)))
                            .map_err(|e| e.to_string())?;
                        i += 1;
                    }
                    Ok(i)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("writer thread panicked".to_string()))
            })
            .collect()
    });
    let mut total = 0;
    for c in counts {
        total += c?;
    }
    Ok(total)
}

/// One `single` run with `threads` writers: (inserts, elapsed, fdatasyncs).
fn single_run(args: &Args, threads: usize, run: usize) -> Res<(u64, Duration, u64)> {
    let dir = fresh_dir(&args.scratch.dir, &format!("single-{threads}-{run}"))?;
    let measured = {
        let db = Database::open(&dir)?;
        let coll = db.create_collection(
            COLL,
            storage_only(
                CollectionConfig::new(DIM).with_durability(Durability::FdatasyncEachBatch),
            ),
        )?;
        let syncs0 = coll.stats()?.wal_syncs;
        let start = Instant::now();
        let deadline = start + Duration::from_secs_f64(args.secs);
        let seed = args.seed.wrapping_add(1_000 * run as u64);
        let total = insert_until(&coll, threads, deadline, seed)?;
        let elapsed = start.elapsed();
        let st = coll.stats()?;
        if st.doc_count != total {
            return Err(format!("single: inserted {total}, stats say {}", st.doc_count).into());
        }
        (total, elapsed, st.wal_syncs - syncs0)
    };
    scratch::remove(&BENCH, &dir, args.scratch.keep);
    Ok(measured)
}

/// `single`: single-document inserts under FdatasyncEachBatch for `--secs`, per thread count.
pub fn single(args: &Args, rep: &mut Report) -> Res<()> {
    let runs = args.runs.unwrap_or(3);
    for &threads in &args.threads {
        let config = format!(
            "insert, FdatasyncEachBatch, {threads} thread(s), {:.1} s",
            args.secs
        );
        let mut rates = Vec::new();
        let mut syncs_per_insert = Vec::new();
        let mut latency_us = Vec::new();
        for run in 0..runs {
            let (total, elapsed, syncs) = single_run(args, threads, run)?;
            let rate = total as f64 / elapsed.as_secs_f64();
            let spi = syncs as f64 / total.max(1) as f64;
            let lat = elapsed.as_secs_f64() * threads as f64 / total.max(1) as f64 * 1e6;
            BENCH.progress(format!(
                "single {threads} thread(s) run {}/{runs}: {total} inserts, {rate:.0} docs/s, {syncs} fdatasyncs ({spi:.3}/insert), mean latency {lat:.0} us",
                run + 1
            ));
            rates.push(rate);
            syncs_per_insert.push(spi);
            latency_us.push(lat);
        }
        rep.add("single", &config, "throughput", "docs/s", rates);
        let per_insert = "WAL fdatasyncs per insert";
        rep.add(
            "single",
            &config,
            per_insert,
            "syncs/insert",
            syncs_per_insert,
        );
        rep.add("single", &config, "mean insert latency", "us", latency_us);
    }
    rep.note("single: every thread inserts its own ids until the deadline; fdatasyncs per insert = stats().wal_syncs delta / inserts (< 1 means group commit shared fsyncs)");
    Ok(())
}
