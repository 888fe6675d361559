//! Graph build timing on the first N base vectors of a dataset, straight through `ndb_hnsw`
//! (no storage): `cargo run --release -p ndb-bench --example build_loop -- DATASET_DIR N THREADS`.
//! Cosine datasets (INFO.md says angular/cosine) are normalised and built with the dot metric.
use ndb_bench::vecs::read_fvecs;
use ndb_hnsw::{build, FlatVectors, Metric, Params};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let data = std::path::Path::new(&a[1]);
    let n: usize = a[2].parse()?;
    let threads: usize = a[3].parse()?;
    let info = std::fs::read_to_string(data.join("INFO.md")).unwrap_or_default();
    let cosine = info.contains("**angular**") || info.contains("**cosine**");
    let base = read_fvecs(data.join("base.fvecs"), Some(n))?;
    let dim = base.dim;
    let mut flat: Vec<f32> = base.iter().flat_map(|v| v.iter().copied()).collect();
    let metric = if cosine {
        for v in flat.chunks_mut(dim) {
            ndb_kernels::normalize(v);
        }
        Metric::Dot
    } else {
        Metric::NegL2Squared
    };
    let vectors = FlatVectors::new(&flat, dim);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let t = Instant::now();
    let graph = pool.install(|| build(&vectors, metric, Params::default()));
    println!(
        "{} x {dim}, {threads} thread(s): build {:.2} s ({} words)",
        flat.len() / dim,
        t.elapsed().as_secs_f64(),
        graph.words.len()
    );
    Ok(())
}
