//! Graph build timing on the first N base vectors of a dataset, straight through `ndb_hnsw`
//! (no storage): `cargo run --release -p ndb-bench --example build_loop -- DATASET_DIR N THREADS`.
//! Cosine datasets (by their INFO.md) are normalised and built with the dot metric.
use ndb_bench::measure::Metric;
use ndb_bench::vecs::read_fvecs;
use ndb_hnsw::{build, FlatVectors, Params};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let data = std::path::Path::new(&a[1]);
    let n: usize = a[2].parse()?;
    let threads: usize = a[3].parse()?;
    let metric = Metric::from_info(data).unwrap_or(Metric::L2);
    let base = read_fvecs(data.join("base.fvecs"), Some(n))?;
    let dim = base.dim;
    let mut flat: Vec<f32> = base.iter().flat_map(|v| v.iter().copied()).collect();
    let graph_metric = match metric {
        Metric::Cosine => {
            for v in flat.chunks_mut(dim) {
                ndb_kernels::normalize(v);
            }
            ndb_hnsw::Metric::Dot
        }
        Metric::Dot => ndb_hnsw::Metric::Dot,
        Metric::L2 => ndb_hnsw::Metric::NegL2Squared,
    };
    let vectors = FlatVectors::new(&flat, dim);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let t = Instant::now();
    let graph = pool.install(|| build(&vectors, graph_metric, Params::default()));
    println!(
        "{} x {dim}, {threads} thread(s): build {:.2} s ({} words)",
        flat.len() / dim,
        t.elapsed().as_secs_f64(),
        graph.words.len()
    );
    Ok(())
}
