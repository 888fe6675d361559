//! Seeded k-means (k-means++ seeding, then Lloyd iterations) for the centroids of
//! [`BinaryQuantizer`](crate::BinaryQuantizer). Deterministic for a given sample and seed.

use ndb_rand::SplitMix;

/// Lloyd iterations after seeding: the centroids only need to be good enough to shorten the
/// residuals, not converged.
const ITERATIONS: usize = 10;

/// Index and squared distance of the centroid (rows of `dim` in `centroids`) nearest to `v`.
pub(crate) fn nearest(centroids: &[f32], dim: usize, v: &[f32]) -> (usize, f32) {
    centroids
        .chunks_exact(dim.max(1))
        .map(|c| ndb_kernels::l2_squared(c, v))
        .enumerate()
        .fold(
            (0, f32::INFINITY),
            |best, (i, d)| if d < best.1 { (i, d) } else { best },
        )
}

/// Up to `k` centroids of the rows of `sample` (`dim` values each; `sample` non-empty and whole
/// rows), row-major. Fewer than `k` only if the sample has fewer rows.
pub(crate) fn kmeans(sample: &[f32], dim: usize, k: usize, seed: u64) -> Vec<f32> {
    let rows: Vec<&[f32]> = sample.chunks_exact(dim.max(1)).collect();
    let k = k.min(rows.len()).max(1);
    let mut rng = SplitMix::new(seed ^ 0x6B6D_6561_6E73_2B2B);
    // k-means++: the first centroid uniformly, each next with probability ∝ squared distance
    // to the nearest chosen one.
    let mut centroids: Vec<f32> = Vec::with_capacity(k * dim);
    let first = (rng.next_u64() % rows.len() as u64) as usize;
    centroids.extend_from_slice(rows.get(first).copied().unwrap_or_default());
    let mut nearest_sq: Vec<f64> = rows
        .iter()
        .map(|row| f64::from(ndb_kernels::l2_squared(row, &centroids)))
        .collect();
    while centroids.len() < k * dim {
        let total: f64 = nearest_sq.iter().sum();
        let pick = if total > 0.0 {
            let mut target = f64::from(rng.next_unit()) * total;
            nearest_sq
                .iter()
                .position(|&d| {
                    target -= d;
                    target < 0.0
                })
                .unwrap_or(rows.len() - 1)
        } else {
            // Every row coincides with a centroid: more centroids cannot help.
            break;
        };
        let chosen = rows.get(pick).copied().unwrap_or_default();
        centroids.extend_from_slice(chosen);
        for (d, row) in nearest_sq.iter_mut().zip(&rows) {
            *d = d.min(f64::from(ndb_kernels::l2_squared(row, chosen)));
        }
    }
    let k = centroids.len() / dim.max(1);
    let mut sums = vec![0.0f64; k * dim];
    let mut counts = vec![0usize; k];
    for _ in 0..ITERATIONS {
        sums.iter_mut().for_each(|s| *s = 0.0);
        counts.iter_mut().for_each(|c| *c = 0);
        for row in &rows {
            let (i, _) = nearest(&centroids, dim, row);
            if let Some(count) = counts.get_mut(i) {
                *count += 1;
            }
            let sum = sums.chunks_exact_mut(dim.max(1)).nth(i).unwrap_or_default();
            sum.iter_mut()
                .zip(row.iter())
                .for_each(|(s, &x)| *s += f64::from(x));
        }
        for ((centroid, sum), &count) in centroids
            .chunks_exact_mut(dim.max(1))
            .zip(sums.chunks_exact(dim.max(1)))
            .zip(&counts)
        {
            // An empty cluster keeps its centroid.
            if count > 0 {
                centroid
                    .iter_mut()
                    .zip(sum)
                    .for_each(|(c, &s)| *c = (s / count as f64) as f32);
            }
        }
    }
    centroids
}
