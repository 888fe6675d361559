//! Bounded top-k selection with a deterministic order: score descending, then id ascending.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// One candidate result.
#[derive(Clone, Debug)]
pub(crate) struct Hit<'s> {
    pub score: f32,
    pub id: Cow<'s, str>,
    /// Where the document lives, to fetch its payload at the end.
    pub source: Source,
}

/// Where a hit was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// Index into the snapshot's memtable documents.
    Memtable(u32),
    /// (index into the snapshot's segments, row).
    Segment(usize, u32),
}

/// `Less` means `a` ranks better than `b`.
pub(crate) fn rank(a_score: f32, a_id: &str, b_score: f32, b_id: &str) -> Ordering {
    b_score
        .total_cmp(&a_score)
        .then_with(|| a_id.as_bytes().cmp(b_id.as_bytes()))
}

/// Heap entry ordered so that the *worst* hit is at the top of the max-heap.
struct Worst<'s>(Hit<'s>);

impl PartialEq for Worst<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Worst<'_> {}
impl PartialOrd for Worst<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        rank(self.0.score, &self.0.id, other.0.score, &other.0.id)
    }
}

/// Keeps the `k` best hits seen.
pub(crate) struct TopK<'s> {
    k: usize,
    heap: BinaryHeap<Worst<'s>>,
}

impl<'s> TopK<'s> {
    pub fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k.min(4096) + 1),
        }
    }

    /// Whether a hit with `score` could enter (cheap pre-check before resolving its id): true
    /// if the heap is not full or `score` is at least the current worst score.
    #[inline]
    pub fn admits(&self, score: f32) -> bool {
        match self.heap.peek() {
            _ if self.heap.len() < self.k => true,
            Some(worst) => score.total_cmp(&worst.0.score) != Ordering::Less,
            None => false,
        }
    }

    /// A score below which nothing is admitted: `-inf` until the heap is full, then the worst
    /// score kept (a plain `<` against it is a cheaper first check than [`TopK::admits`]).
    #[inline]
    pub fn floor(&self) -> f32 {
        match self.heap.peek() {
            Some(worst) if self.heap.len() >= self.k => worst.0.score,
            _ => f32::NEG_INFINITY,
        }
    }

    /// Offer a hit (call only if [`TopK::admits`]).
    pub fn push(&mut self, hit: Hit<'s>) {
        if self.k == 0 {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(Worst(hit));
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if rank(hit.score, &hit.id, worst.0.score, &worst.0.id) == Ordering::Less {
                *worst = Worst(hit);
            }
        }
    }

    /// Merge another selection into this one.
    pub fn merge(&mut self, other: TopK<'s>) {
        for Worst(hit) in other.heap {
            if self.admits(hit.score) {
                self.push(hit);
            }
        }
    }

    /// The hits, best first.
    pub fn into_sorted(self) -> Vec<Hit<'s>> {
        let mut hits: Vec<Hit<'s>> = self.heap.into_iter().map(|w| w.0).collect();
        hits.sort_by(|a, b| rank(a.score, &a.id, b.score, &b.id));
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn equals_full_sort(scores in proptest::collection::vec(-3i32..3, 0..200), k in 0usize..20) {
            let mut top = TopK::new(k);
            for (i, s) in scores.iter().enumerate() {
                let score = *s as f32;
                if top.admits(score) {
                    top.push(Hit { score, id: Cow::Owned(format!("{:03}", (i * 37) % 200)), source: Source::Memtable(i as u32) });
                }
            }
            let got: Vec<(f32, String)> = top.into_sorted().into_iter().map(|h| (h.score, h.id.into_owned())).collect();
            let mut all: Vec<(f32, String)> = scores.iter().enumerate().map(|(i, s)| (*s as f32, format!("{:03}", (i * 37) % 200))).collect();
            all.sort_by(|a, b| rank(a.0, &a.1, b.0, &b.1));
            all.truncate(k);
            prop_assert_eq!(got, all);
        }
    }
}
