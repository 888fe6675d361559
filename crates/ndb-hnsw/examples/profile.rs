//! Build and search one graph over a `.fvecs` file, for profiling:
//! `cargo run --release -p ndb-hnsw --example profile -- BASE.fvecs QUERY.fvecs [N] [EF]`.

use ndb_hnsw::{build, FlatVectors, GraphView, Metric, Params, Scratch, Vectors};
use std::time::Instant;

fn read_fvecs(path: &str, limit: usize) -> (Vec<f32>, usize) {
    let bytes = std::fs::read(path).expect("read fvecs");
    let dim = u32::from_le_bytes(bytes[0..4].try_into().unwrap()) as usize;
    let row = 4 + 4 * dim;
    let n = (bytes.len() / row).min(limit);
    let mut out = Vec::with_capacity(n * dim);
    for r in 0..n {
        let base = r * row + 4;
        out.extend(
            bytes[base..base + 4 * dim]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap())),
        );
    }
    (out, dim)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let limit: usize = args
        .get(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(usize::MAX);
    let ef: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(64);
    let (base, dim) = read_fvecs(&args[1], limit);
    let (queries, _) = read_fvecs(&args[2], 1000);
    let v = FlatVectors::new(&base, dim);
    let t = Instant::now();
    let g = build(&v, Metric::NegL2Squared, Params::default());
    let build_s = t.elapsed().as_secs_f64();
    let view = GraphView::parse(&g.words, v.len() as u32).unwrap();
    let k = ndb_kernels::active();
    let mut scratch = Scratch::new();
    let qv = FlatVectors::new(&queries, dim);
    // exact
    let mut hits = 0;
    let t = Instant::now();
    let mut results = Vec::new();
    for i in 0..qv.len() as u32 {
        results.push(view.search(
            &v,
            Metric::NegL2Squared,
            &k,
            qv.vector(i),
            10,
            ef,
            &|_| true,
            &mut scratch,
        ));
    }
    let search_s = t.elapsed().as_secs_f64();
    for (i, r) in results.iter().enumerate() {
        let q = qv.vector(i as u32);
        let mut all: Vec<(f32, u32)> = (0..v.len() as u32)
            .map(|j| (k.l2_squared(q, v.vector(j)), j))
            .collect();
        all.select_nth_unstable_by(10, |a, b| a.0.total_cmp(&b.0));
        let kth = all[..10].iter().map(|x| x.0).fold(f32::MIN, f32::max);
        hits += r.iter().filter(|(s, _)| -s <= kth).count();
    }
    println!(
        "n={} dim={dim} build {build_s:.2}s ({:.0}/s) | ef={ef}: {:.0} QPS, recall@10 {:.4}",
        v.len(),
        v.len() as f64 / build_s,
        qv.len() as f64 / search_s,
        hits as f64 / (qv.len() * 10) as f64
    );
}
