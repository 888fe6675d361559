//! The data a run measures: a TexMex dataset directory or seeded synthetic vectors, its ground
//! truth, and `--base-limit`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ndb::Document;
use ndb_bench::data::insert_in_batches;
use ndb_bench::measure::{exact_ground_truth, Metric, RecallJudge};
use ndb_bench::report::fmt::thousands;
use ndb_bench::vecs::{read_fvecs, read_ivecs, write_fvecs, write_ivecs, VecsReader, Vectors};
use ndb_bench::{Prng, Res};

use crate::timing::search_once;
use crate::{Args, BATCH, BENCH};

/// The data a run measures.
pub struct Dataset {
    /// Name for the report.
    pub name: String,
    /// Directory holding the .fvecs/.ivecs files (for the reference script).
    pub dir: PathBuf,
    pub synthetic: bool,
    pub metric: Metric,
    pub base: Vectors<f32>,
    pub queries: Vectors<f32>,
    /// Ground truth (synthetic: filled in after ingest by nDB's exact search).
    pub gt: Option<Vectors<i32>>,
    pub gt_dist: Option<Vectors<f32>>,
    /// Queries in the file (before --queries).
    pub queries_in_file: usize,
}

/// The ground truth must cover the queries, `k` neighbours each, with ids inside the base.
fn check_ground_truth(
    args: &Args,
    base: &Vectors<f32>,
    queries: &Vectors<f32>,
    gt: &Vectors<i32>,
    gt_dist: &Vectors<f32>,
) -> Res<()> {
    if queries.dim != base.dim {
        return Err(format!(
            "query.fvecs has dimension {}, base.fvecs {}",
            queries.dim, base.dim
        )
        .into());
    }
    if gt.rows() < queries.rows() || gt_dist.rows() < queries.rows() {
        return Err(format!(
            "ground truth has {} rows (gt_dist {}), fewer than the {} queries",
            gt.rows(),
            gt_dist.rows(),
            queries.rows()
        )
        .into());
    }
    if gt.dim < args.k || gt_dist.dim < args.k {
        return Err(format!(
            "ground truth has {} neighbours per query (gt_dist {}): --k {} is too large",
            gt.dim, gt_dist.dim, args.k
        )
        .into());
    }
    if let Some(&bad) = gt
        .data
        .iter()
        .find(|&&i| i < 0 || i as usize >= base.rows())
    {
        return Err(format!("gt.ivecs holds id {bad}, outside 0..{}", base.rows()).into());
    }
    Ok(())
}

impl Dataset {
    /// A dataset directory as `scripts/fetch-dataset.sh` makes it.
    pub fn load(args: &Args, dir: &Path) -> Res<Dataset> {
        for f in ["base.fvecs", "query.fvecs", "gt.ivecs", "gt_dist.fvecs"] {
            if !dir.join(f).is_file() {
                return Err(format!(
                    "{} has no {f}; make the dataset with scripts/fetch-dataset.sh NAME {}",
                    dir.display(),
                    dir.display()
                )
                .into());
            }
        }
        let metric = match args.metric {
            Some(m) => m,
            None => Metric::from_info(dir).unwrap_or_else(|| {
                BENCH.progress("no metric given and none found in INFO.md: using l2");
                Metric::L2
            }),
        };
        let t = Instant::now();
        let base = read_fvecs(dir.join("base.fvecs"), None)?;
        let qr = VecsReader::<f32>::open(dir.join("query.fvecs"))?;
        let queries_in_file = qr.rows();
        let queries = qr.read_all(args.queries)?;
        let gt = read_ivecs(dir.join("gt.ivecs"), args.queries)?;
        let gt_dist = read_fvecs(dir.join("gt_dist.fvecs"), args.queries)?;
        check_ground_truth(args, &base, &queries, &gt, &gt_dist)?;
        BENCH.progress(format!(
            "loaded {}: {} base x {} dims, {} of {} queries, metric {} ({:.1} s)",
            dir.display(),
            base.rows(),
            base.dim,
            queries.rows(),
            queries_in_file,
            metric.name(),
            t.elapsed().as_secs_f64()
        ));
        let name = std::fs::canonicalize(dir)
            .unwrap_or_else(|_| dir.to_path_buf())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "dataset".into());
        Ok(Dataset {
            name,
            dir: dir.to_path_buf(),
            synthetic: false,
            metric,
            base,
            queries,
            gt: Some(gt),
            gt_dist: Some(gt_dist),
            queries_in_file,
        })
    }

    /// Seeded random base and queries, written to `dir` as base.fvecs / query.fvecs so that the
    /// reference script reads the very same data.
    pub fn synthetic(args: &Args, n: usize, dim: usize, dir: &Path) -> Res<Dataset> {
        let nq = args.queries.unwrap_or(1000);
        let metric = args.metric.unwrap_or(Metric::L2);
        let t = Instant::now();
        let mut rng = Prng::new(args.seed);
        let mut base = Vec::with_capacity(n * dim);
        for _ in 0..n * dim {
            base.push(rng.next_f32());
        }
        let mut rng = Prng::new(args.seed.wrapping_add(1));
        let queries: Vec<f32> = (0..nq * dim).map(|_| rng.next_f32()).collect();
        let base = Vectors::new(dim, base);
        let queries = Vectors::new(dim, queries);
        std::fs::create_dir_all(dir)?;
        write_fvecs(dir.join("base.fvecs"), &base)?;
        write_fvecs(dir.join("query.fvecs"), &queries)?;
        BENCH.progress(format!(
            "synthetic: {n} x {dim} base, {nq} queries, seed {}, written to {} ({:.1} s)",
            args.seed,
            dir.display(),
            t.elapsed().as_secs_f64()
        ));
        Ok(Dataset {
            name: format!("synthetic {n}x{dim} (uniform [-1,1), seed {})", args.seed),
            dir: dir.to_path_buf(),
            synthetic: true,
            metric,
            base,
            queries,
            gt: None,
            gt_dist: None,
            queries_in_file: nq,
        })
    }

    /// `name (1,000 x 128, l2)`: the data as the reports' titles name it.
    pub fn describe(&self) -> String {
        format!(
            "{} ({} x {}, {})",
            self.name,
            thousands(self.base.rows() as u64),
            self.base.dim,
            self.metric.name()
        )
    }

    /// Insert the base vectors (ids = row numbers) with insert_batch of [`BATCH`] documents.
    pub fn insert_into(&self, coll: &ndb::Collection) -> ndb::Result<()> {
        insert_in_batches(coll, self.base.rows(), BATCH, |i| {
            Document::new(i.to_string(), self.base.row(i).to_vec())
        })
    }

    /// Set the ground truth and write it beside the data (where the reference script reads
    /// it).
    fn set_ground_truth(&mut self, gt: Vectors<i32>, gd: Vectors<f32>) -> Res<()> {
        write_ivecs(self.dir.join("gt.ivecs"), &gt)?;
        write_fvecs(self.dir.join("gt_dist.fvecs"), &gd)?;
        self.gt = Some(gt);
        self.gt_dist = Some(gd);
        Ok(())
    }

    /// The recall judge of `k` results per query, once the ground truth is known.
    pub fn judge(&self, k: usize) -> Res<RecallJudge<'_>> {
        Ok(RecallJudge {
            metric: self.metric,
            k,
            base: &self.base,
            queries: &self.queries,
            gt: self.gt.as_ref().ok_or("no ground truth")?,
            gt_dist: self.gt_dist.as_ref().ok_or("no ground truth distances")?,
        })
    }

    /// Ground truth for synthetic data from nDB's exact search (default threads); distances
    /// recomputed exactly in f64.
    pub fn ground_truth_from(&mut self, coll: &ndb::Collection, k: usize) -> Res<()> {
        let t = Instant::now();
        let nq = self.queries.rows();
        let mut gt = Vec::with_capacity(nq * k);
        let mut gd = Vec::with_capacity(nq * k);
        for i in 0..nq {
            let (r, _) =
                search_once(coll, self.queries.row(i), k, None, None).map_err(|e| e.to_string())?;
            if r.len() != k {
                return Err(format!("query {i}: {} results, expected {k}", r.len()).into());
            }
            let q = self.queries.row(i);
            for &row in &r {
                gt.push(row as i32);
                gd.push(self.metric.distance(q, self.base.row(row)) as f32);
            }
        }
        self.set_ground_truth(Vectors::new(k, gt), Vectors::new(k, gd))?;
        BENCH.progress(format!(
            "synthetic ground truth: nDB exact search, default threads, k={k} ({:.1} s)",
            t.elapsed().as_secs_f64()
        ));
        Ok(())
    }

    /// Ground truth by brute force (f64) where the data came without one.
    pub fn ensure_ground_truth(&mut self, k: usize) -> Res<()> {
        if self.gt.is_some() {
            return Ok(());
        }
        let t = Instant::now();
        let (gt, gd) = exact_ground_truth(self.metric, &self.base, &self.queries, k);
        self.set_ground_truth(gt, gd)?;
        BENCH.progress(format!(
            "ground truth by brute force (f64): {:.1} s",
            t.elapsed().as_secs_f64()
        ));
        Ok(())
    }

    /// `--base-limit`: keep the first `limit` base vectors, recompute the ground truth by brute
    /// force (f64), and write the data this run uses to `dir`, where the reference script
    /// reads it.
    pub fn limit_base(&mut self, limit: usize, k: usize, dir: &Path) -> Res<()> {
        let n0 = self.base.rows();
        self.base.truncate(limit);
        let t = Instant::now();
        BENCH.progress(format!(
            "--base-limit {limit}: first {limit} of {n0} base vectors; ground truth by brute force (f64, {} threads)",
            rayon::current_num_threads()
        ));
        let (gt, gd) = exact_ground_truth(self.metric, &self.base, &self.queries, k);
        std::fs::create_dir_all(dir)?;
        write_fvecs(dir.join("base.fvecs"), &self.base)?;
        write_fvecs(dir.join("query.fvecs"), &self.queries)?;
        self.dir = dir.to_path_buf();
        self.set_ground_truth(gt, gd)?;
        BENCH.progress(format!(
            "  ground truth done ({:.1} s), data written to {}",
            t.elapsed().as_secs_f64(),
            dir.display()
        ));
        self.queries_in_file = self.queries.rows();
        self.name = format!(
            "{} (first {} base vectors)",
            self.name,
            thousands(limit as u64)
        );
        Ok(())
    }
}
