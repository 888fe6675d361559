//! Which segments to merge: a pure function of segment sizes and deletion counts (the code that
//! rewrites files is `compact.rs`).
//!
//! Tiered: segments are grouped by size into tiers that grow by [`FANOUT`]; when a tier holds
//! `FANOUT` segments, they are merged into one of the next tier. The segment count therefore
//! stays about `FANOUT - 1` per tier, logarithmic in the data size. A segment whose deleted
//! fraction passes [`DELETED_FRACTION_MAX`] is rewritten on its own to reclaim the space.
//!
//! Consolidation (when the collection goes quiet): the segments with graphs become one, so
//! that a search walks one graph instead of one per segment (see [`consolidation`]).

/// Segments per tier before they are merged.
pub(crate) const FANOUT: usize = 4;
/// Rows of the smallest tier.
const TIER_BASE_ROWS: u64 = 1024;
/// A segment with more than this fraction of deleted rows is rewritten.
pub(crate) const DELETED_FRACTION_MAX: f64 = 0.3;

/// What the policy sees of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegmentMeta {
    pub rows: u64,
    pub deleted: u64,
}

fn tier(live_rows: u64) -> u32 {
    let mut t = 0;
    let mut bound = TIER_BASE_ROWS;
    while live_rows > bound && t < 32 {
        bound = bound.saturating_mul(FANOUT as u64);
        t += 1;
    }
    t
}

/// Positions of the segments to merge next (ascending), or `None` if the layout is fine.
pub(crate) fn plan(segments: &[SegmentMeta]) -> Option<Vec<usize>> {
    if let Some(i) = segments
        .iter()
        .position(|s| s.rows > 0 && s.deleted as f64 > DELETED_FRACTION_MAX * s.rows as f64)
    {
        return Some(vec![i]);
    }
    let mut tiers: std::collections::BTreeMap<u32, Vec<usize>> = std::collections::BTreeMap::new();
    for (i, s) in segments.iter().enumerate() {
        tiers
            .entry(tier(s.rows - s.deleted.min(s.rows)))
            .or_default()
            .push(i);
    }
    tiers
        .into_values()
        .find(|members| members.len() >= FANOUT)
        .map(|members| members.into_iter().take(FANOUT).collect())
}

/// A consolidation is skipped while the smaller graph segments hold less than
/// `1 / CONSOLIDATE_MIN_SHARE` of the largest one's rows: rewriting the largest segment for them
/// would cost more I/O than their extra graph searches are worth.
pub(crate) const CONSOLIDATE_MIN_SHARE: u64 = 16;

/// Positions of the segments with graphs to merge into one when the collection goes quiet (a
/// user `flush`, an open), or `None`. The largest must have no deletions, so that its graph
/// seeds the merged one and only the other segments' rows are inserted.
pub(crate) fn consolidation(with_graphs: &[SegmentMeta]) -> Option<Vec<usize>> {
    if with_graphs.len() < 2 {
        return None;
    }
    let largest = with_graphs.iter().max_by_key(|s| s.rows)?;
    let all: u64 = with_graphs
        .iter()
        .map(|s| s.rows - s.deleted.min(s.rows))
        .sum();
    let others = all - largest.rows;
    let worth_it = others.saturating_mul(CONSOLIDATE_MIN_SHARE) >= largest.rows;
    (largest.deleted == 0 && worth_it).then(|| (0..with_graphs.len()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn meta(rows: u64) -> SegmentMeta {
        SegmentMeta { rows, deleted: 0 }
    }

    #[test]
    fn merges_a_full_tier_and_rewrites_mostly_deleted_segments() {
        assert_eq!(plan(&[meta(100), meta(100), meta(100)]), None);
        assert_eq!(
            plan(&[meta(100), meta(5000), meta(100), meta(100), meta(100)]),
            Some(vec![0, 2, 3, 4])
        );
        assert_eq!(
            plan(&[
                meta(100),
                SegmentMeta {
                    rows: 100,
                    deleted: 40
                }
            ]),
            Some(vec![1])
        );
        assert_eq!(plan(&[]), None);
    }

    #[test]
    fn consolidates_graph_segments_seeded_by_a_clean_largest_one() {
        assert_eq!(consolidation(&[meta(21_000)]), None);
        assert_eq!(
            consolidation(&[meta(21_000), meta(22_000), meta(17_000)]),
            Some(vec![0, 1, 2])
        );
        // Too little beside the largest to be worth rewriting it.
        assert_eq!(consolidation(&[meta(1_000_000), meta(50_000)]), None);
        assert_eq!(
            consolidation(&[meta(1_000_000), meta(70_000)]),
            Some(vec![0, 1])
        );
        // No seed: the largest has deletions (the deleted-fraction rule handles those).
        let dirty = SegmentMeta {
            rows: 30_000,
            deleted: 10,
        };
        assert_eq!(consolidation(&[dirty, meta(20_000)]), None);
    }

    proptest! {
        /// Simulate flushes of equal size followed by the policy until it is satisfied: the
        /// segment count stays logarithmic in the total.
        #[test]
        fn segment_count_stays_logarithmic(flushes in 1usize..3000, size in 100u64..2000) {
            let mut segs: Vec<SegmentMeta> = Vec::new();
            for _ in 0..flushes {
                segs.push(meta(size));
                while let Some(which) = plan(&segs) {
                    let merged: u64 = which.iter().map(|&i| segs[i].rows - segs[i].deleted).sum();
                    segs = segs.iter().enumerate().filter(|(i, _)| !which.contains(i)).map(|(_, s)| *s).collect();
                    segs.push(meta(merged));
                }
            }
            let total = flushes as u64 * size;
            let tiers = (total as f64 / TIER_BASE_ROWS as f64).log(FANOUT as f64).max(0.0).ceil() as usize + 2;
            prop_assert!(segs.len() <= tiers * (FANOUT - 1), "{} segments for {} rows", segs.len(), total);
        }
    }
}
