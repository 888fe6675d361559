//! Recall@10 after rescoring the best `oversampling × 10` candidates by exact distance.
//!
//! Always run: a seeded clustered synthetic set (see `common::clustered`). `#[ignore]`d: the
//! real datasets cached under `target/datasets` (`scripts/fetch-dataset.sh fashion-mnist|glove-50
//! target/datasets/NAME`), asserting recall ≥ 0.95 at the default oversampling and printing
//! recall against oversampling:
//! `cargo test -p ndb-quant --release --test recall -- --ignored --nocapture`.

mod common;

use common::{clustered, normalize_rows, recall_at, BinaryIndex, Estimator, Int8Index, Rng};
use ndb_quant::Metric;

const K: usize = 10;
/// The oversampling factors the tables print.
const OVERSAMPLINGS: [usize; 7] = [1, 2, 3, 5, 10, 20, 50];
/// Rows the quantizers are fitted on (the rest is only encoded).
const SAMPLE_ROWS: usize = 10_000;

fn table(
    name: &str,
    index: &dyn Estimator,
    base: &[f32],
    queries: &[f32],
    dim: usize,
    metric: Metric,
) -> Vec<f64> {
    let recalls = recall_at(index, base, queries, dim, metric, K, &OVERSAMPLINGS);
    let cells: Vec<String> = OVERSAMPLINGS
        .iter()
        .zip(&recalls)
        .map(|(o, r)| format!("{o}x: {r:.3}"))
        .collect();
    println!(
        "{name} {dim}-d {metric:?} {}: recall@{K} {}",
        index.name(),
        cells.join("  ")
    );
    recalls
}

fn at(recalls: &[f64], oversampling: usize) -> f64 {
    OVERSAMPLINGS
        .iter()
        .position(|&o| o == oversampling)
        .map_or(0.0, |i| recalls[i])
}

/// 20,000 vectors of 256-d in 50 clusters, 30 held-out queries from the same clusters; L2 and
/// cosine (rows and queries normalized, [`Metric::Dot`]). Clusters are where a binary
/// quantizer's centroids matter: RaBitQ's error grows with the residual's length.
#[test]
fn synthetic_clustered_recall_after_rescoring() {
    let mut rng = Rng::new(100);
    let dim = 256;
    let mut all = clustered(&mut rng, 20_030, dim, 50, 0.6);
    for metric in [Metric::L2Squared, Metric::Dot] {
        if metric == Metric::Dot {
            normalize_rows(&mut all, dim);
        }
        let (base, queries) = all.split_at(20_000 * dim);
        let int8 = Int8Index::build(base, dim, SAMPLE_ROWS);
        let int8_recalls = table("synthetic", &int8, base, queries, dim, metric);
        assert!(
            at(&int8_recalls, 2) >= 0.95,
            "int8 {metric:?}: {int8_recalls:?}"
        );
        // One centroid (the mean) leaves long residuals on 50 clusters: reported, not asserted.
        let binary = BinaryIndex::build(base, dim, SAMPLE_ROWS, 1);
        table("synthetic", &binary, base, queries, dim, metric);
        // The default, 16 centroids (fewer than the clusters), and 64.
        let binary = BinaryIndex::build(base, dim, SAMPLE_ROWS, 16);
        let recalls_16 = table("synthetic", &binary, base, queries, dim, metric);
        let binary = BinaryIndex::build(base, dim, SAMPLE_ROWS, 64);
        let recalls_64 = table("synthetic", &binary, base, queries, dim, metric);
        assert!(
            at(&recalls_16, 50) >= 0.95,
            "binary, 16 centroids, {metric:?}: {recalls_16:?}"
        );
        assert!(
            at(&recalls_64, 20) >= 0.95,
            "binary, 64 centroids, {metric:?}: {recalls_64:?}"
        );
    }
}

/// fashion-mnist (784-d, L2): the first 200 queries against all 60,000 base vectors.
#[test]
#[ignore = "needs target/datasets/fashion-mnist; slow in debug builds"]
fn fashion_mnist_recall_after_rescoring() {
    let Some((dim, base, queries)) = common::dataset("fashion-mnist", usize::MAX, 200) else {
        panic!("fashion-mnist is not cached under target/datasets (see the module docs)");
    };
    let int8 = Int8Index::build(&base, dim, SAMPLE_ROWS);
    let recalls = table(
        "fashion-mnist",
        &int8,
        &base,
        &queries,
        dim,
        Metric::L2Squared,
    );
    assert!(at(&recalls, 2) >= 0.95, "int8: {recalls:?}");
    // 1 and 64 centroids are reported; the default, 16, is asserted.
    for centroids in [1, 64, 16] {
        let binary = BinaryIndex::build(&base, dim, SAMPLE_ROWS, centroids);
        let recalls = table(
            "fashion-mnist",
            &binary,
            &base,
            &queries,
            dim,
            Metric::L2Squared,
        );
        if centroids == 16 {
            assert!(at(&recalls, 5) >= 0.95, "binary: {recalls:?}");
        }
    }
}

/// glove-50 (50-d, cosine: rows and queries normalized): the first 200 queries against the
/// first 100,000 base vectors (exact ground truth recomputed over those).
#[test]
#[ignore = "needs target/datasets/glove-50; slow in debug builds"]
fn glove_recall_after_rescoring() {
    let Some((dim, mut base, mut queries)) = common::dataset("glove-50", 100_000, 200) else {
        panic!("glove-50 is not cached under target/datasets (see the module docs)");
    };
    normalize_rows(&mut base, dim);
    normalize_rows(&mut queries, dim);
    let int8 = Int8Index::build(&base, dim, SAMPLE_ROWS);
    let recalls = table("glove-50", &int8, &base, &queries, dim, Metric::Dot);
    assert!(at(&recalls, 3) >= 0.95, "int8: {recalls:?}");
    for centroids in [1, 64] {
        let binary = BinaryIndex::build(&base, dim, SAMPLE_ROWS, centroids);
        table("glove-50", &binary, &base, &queries, dim, Metric::Dot);
    }
    let binary = BinaryIndex::build(&base, dim, SAMPLE_ROWS, 16);
    // Binary codes of 50-d (64 bits) are coarse: recall is reported, not asserted (the issue
    // asks binary to reach 0.95 only at 384-d or more).
    table("glove-50", &binary, &base, &queries, dim, Metric::Dot);
}
