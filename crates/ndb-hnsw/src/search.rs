//! Graph search: greedy descent through the upper levels, then a best-first beam on level 0.

use crate::view::GraphView;
use crate::{Metric, Vectors};
use ndb_kernels::Kernels;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// A score with a total order, for heaps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Scored(pub f32, pub u32);

impl Eq for Scored {}
impl PartialOrd for Scored {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .total_cmp(&other.0)
            .then_with(|| other.1.cmp(&self.1))
    }
}

/// Reusable per-thread search state: a visited set and the two heaps, so a search allocates
/// nothing once warmed up.
///
/// The visited set is one bit per node (a 390,000-node graph's set is 49 KB and stays in the
/// L1/L2 caches, where 16-bit generation stamps took 780 KB and missed on most checks); the
/// words a search sets are listed and only those are cleared for the next search.
#[derive(Debug, Default)]
pub struct Scratch {
    visited: Vec<u64>,
    /// Words of `visited` that are not zero.
    touched: Vec<u32>,
    /// Nodes of the current graph (`visited` answers "visited" for any node at or past it).
    n: u32,
    candidates: BinaryHeap<Scored>,
    pub(crate) results: BinaryHeap<Reverse<Scored>>,
    buf: Vec<u32>,
    /// Two-hop expansion: the rejected neighbours, a rejected neighbour's neighbours, and the
    /// expanded list.
    rejected: Vec<u32>,
    hop: Vec<u32>,
    expanded: Vec<u32>,
}

impl Scratch {
    /// An empty scratch space.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn reset(&mut self, n: u32) {
        let words = (n as usize).div_ceil(64);
        if self.visited.len() < words {
            self.visited.resize(words, 0);
        }
        if self.touched.len() > words / 8 {
            self.visited.iter_mut().for_each(|w| *w = 0);
        } else {
            for &w in &self.touched {
                if let Some(word) = self.visited.get_mut(w as usize) {
                    *word = 0;
                }
            }
        }
        self.touched.clear();
        self.n = n;
        self.candidates.clear();
        self.results.clear();
    }

    /// Whether `node` was visited in this search (every node past the graph counts as visited).
    #[inline]
    pub(crate) fn is_visited(&self, node: u32) -> bool {
        node >= self.n
            || self
                .visited
                .get((node / 64) as usize)
                .is_none_or(|&w| w & (1 << (node % 64)) != 0)
    }

    /// Mark `node` visited; false if it already was (or lies past the graph).
    #[inline]
    pub(crate) fn visit(&mut self, node: u32) -> bool {
        if node >= self.n {
            return false;
        }
        let bit = 1u64 << (node % 64);
        match self.visited.get_mut((node / 64) as usize) {
            Some(w) if *w & bit == 0 => {
                if *w == 0 {
                    self.touched.push(node / 64);
                }
                *w |= bit;
                true
            }
            _ => false,
        }
    }
}

/// Neighbours whose vectors are being loaded ahead of the one being scored: enough to keep the
/// memory system busy, few enough that the prefetches do not stall on full miss buffers (a
/// whole list of 32 at once did, on 50-d vectors).
const PREFETCH_AHEAD: usize = 8;

/// Greedy walk on one level towards `query`, from `(score, node)`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn greedy<S: NodeScore + ?Sized>(
    neighbors: impl Fn(u32, &mut Vec<u32>),
    buf: &mut Vec<u32>,
    score: &S,
    mut cur: Scored,
    n: u32,
) -> Scored {
    loop {
        let mut improved = false;
        neighbors(cur.1, buf);
        buf.retain(|&nb| nb < n);
        // Scored four at a time (see `beam`), compared in list order as one at a time.
        for group in buf.chunks(4) {
            for (s, &nb) in score_group(score, group).into_iter().zip(group) {
                if s > cur.0 {
                    cur = Scored(s, nb);
                    improved = true;
                }
            }
        }
        if !improved {
            return cur;
        }
    }
}

/// The scores of up to four nodes (`group.len() <= 4`; the first `group.len()` are theirs):
/// four at once through [`NodeScore::score4`], fewer one by one.
#[inline]
fn score_group<S: NodeScore + ?Sized>(score: &S, group: &[u32]) -> [f32; 4] {
    match *group {
        [a, b, c, d] => score.score4([a, b, c, d]),
        _ => {
            let mut out = [0.0; 4];
            for (s, &nb) in out.iter_mut().zip(group) {
                *s = score.score(nb);
            }
            out
        }
    }
}

/// Rejected neighbours whose lists are being loaded ahead of the one being read in a two-hop
/// expansion (each list is two or three cache lines; all of them at once would fill the miss
/// buffers, as whole lists of vectors did in ADR 0020).
const HOP_LISTS_AHEAD: usize = 4;

/// Replace `buf` (a node's neighbours) by the unvisited nodes to score next, marked visited:
/// the neighbours `allow` accepts and, for each rejected neighbour in list order, the accepted
/// nodes among its own neighbours (ACORN-1's two-hop expansion), at most `cap` in all. A
/// rejected neighbour is marked visited when its list is read (it is never scored); one left
/// unread because the cap was reached stays unvisited, so a later expansion can step over it.
fn expand_two_hop<A: Fn(u32) -> bool + ?Sized>(
    neighbors: &impl Fn(u32, &mut Vec<u32>),
    prefetch_list: &impl Fn(u32),
    buf: &mut Vec<u32>,
    n: u32,
    allow: &A,
    cap: usize,
    scratch: &mut Scratch,
) {
    let mut out = std::mem::take(&mut scratch.expanded);
    let mut rejected = std::mem::take(&mut scratch.rejected);
    let mut hop = std::mem::take(&mut scratch.hop);
    out.clear();
    rejected.clear();
    for &nb in buf.iter() {
        if nb >= n || scratch.is_visited(nb) {
            continue;
        }
        if !allow(nb) {
            rejected.push(nb);
        } else if out.len() < cap {
            scratch.visit(nb);
            out.push(nb);
        }
    }
    for &r in rejected.iter().take(HOP_LISTS_AHEAD) {
        prefetch_list(r);
    }
    for (i, &r) in rejected.iter().enumerate() {
        if out.len() >= cap {
            break;
        }
        if let Some(&ahead) = rejected.get(i + HOP_LISTS_AHEAD) {
            prefetch_list(ahead);
        }
        scratch.visit(r);
        neighbors(r, &mut hop);
        for &nb2 in &hop {
            if out.len() >= cap {
                break;
            }
            if nb2 < n && !scratch.is_visited(nb2) && allow(nb2) {
                scratch.visit(nb2);
                out.push(nb2);
            }
        }
    }
    std::mem::swap(buf, &mut out);
    scratch.expanded = out;
    scratch.rejected = rejected;
    scratch.hop = hop;
}

/// Keep the unvisited nodes of `buf` (in order), marking them visited.
fn keep_unvisited(buf: &mut Vec<u32>, n: u32, scratch: &mut Scratch) {
    let mut fresh = 0;
    for i in 0..buf.len() {
        let nb = buf[i];
        if nb < n && scratch.visit(nb) {
            buf[fresh] = nb;
            fresh += 1;
        }
    }
    buf.truncate(fresh);
}

/// Best-first search of one level from `entries`, keeping the `ef` best nodes that `allow`
/// accepts (others are traversed, not kept; with `two_hop = Some(cap)`, rejected nodes are not
/// scored at all: the walk steps over them to their neighbours, at most `cap` per expansion).
/// Results are left in `scratch.results`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn beam<S: NodeScore + ?Sized, A: Fn(u32) -> bool + ?Sized>(
    neighbors: impl Fn(u32, &mut Vec<u32>),
    prefetch_list: impl Fn(u32),
    score: &S,
    entries: &[Scored],
    ef: usize,
    n: u32,
    allow: &A,
    two_hop: Option<usize>,
    scratch: &mut Scratch,
) {
    scratch.reset(n);
    let mut buf = std::mem::take(&mut scratch.buf);
    for &e in entries {
        if scratch.visit(e.1) {
            scratch.candidates.push(e);
            if allow(e.1) {
                scratch.results.push(Reverse(e));
            }
        }
    }
    while scratch.results.len() > ef {
        scratch.results.pop();
    }
    while let Some(c) = scratch.candidates.pop() {
        if scratch.results.len() >= ef {
            if let Some(Reverse(worst)) = scratch.results.peek() {
                if c.0 < worst.0 {
                    break;
                }
            }
        }
        // The next candidate's list is likely read next: load it while this one's
        // neighbours are scored.
        if let Some(next) = scratch.candidates.peek() {
            prefetch_list(next.1);
        }
        neighbors(c.1, &mut buf);
        match two_hop {
            Some(cap) => {
                expand_two_hop(&neighbors, &prefetch_list, &mut buf, n, allow, cap, scratch)
            }
            None => keep_unvisited(&mut buf, n, scratch),
        }
        for &nb in buf.iter().take(PREFETCH_AHEAD) {
            score.prefetch(nb);
        }
        // Four neighbours scored at once (their vectors' loads in flight together), then
        // admitted one by one in list order: the same admissions as one at a time.
        for (g, group) in buf.chunks(4).enumerate() {
            for &ahead in buf.iter().skip(4 * g + PREFETCH_AHEAD).take(group.len()) {
                score.prefetch(ahead);
            }
            for (s, &nb) in score_group(score, group).into_iter().zip(group) {
                let admit = scratch.results.len() < ef
                    || scratch.results.peek().is_some_and(|Reverse(w)| s > w.0);
                if admit {
                    let top = scratch.candidates.peek().is_none_or(|t| s > t.0);
                    scratch.candidates.push(Scored(s, nb));
                    if top {
                        // The best candidate now: its list is read next.
                        prefetch_list(nb);
                    }
                    if allow(nb) {
                        scratch.results.push(Reverse(Scored(s, nb)));
                        if scratch.results.len() > ef {
                            scratch.results.pop();
                        }
                    }
                }
            }
        }
    }
    scratch.buf = buf;
}

/// How close each node is to one query, for a graph search: the caller's choice of vectors
/// and arithmetic (exact `f32` vectors, or compressed codes with an estimate). Higher is closer.
pub trait NodeScore {
    /// The score of node `node` (`node < ` the graph's length).
    fn score(&self, node: u32) -> f32;
    /// The scores of four nodes, each equal to [`NodeScore::score`] of that node (the default
    /// scores them one by one; exact scores compute the four together).
    #[inline]
    fn score4(&self, nodes: [u32; 4]) -> [f32; 4] {
        nodes.map(|node| self.score(node))
    }
    /// Start loading what scoring `node` will read (a hint; the default does nothing).
    #[inline]
    fn prefetch(&self, _node: u32) {}
}

/// Exact scores of `f32` vectors under a metric.
pub struct ExactScore<'a, V: ?Sized> {
    /// The vectors the graph indexes.
    pub vectors: &'a V,
    /// How closeness is measured.
    pub metric: Metric,
    /// The distance kernels.
    pub kernels: &'a Kernels,
    /// The query.
    pub query: &'a [f32],
}

impl<V: Vectors + ?Sized> NodeScore for ExactScore<'_, V> {
    #[inline]
    fn score(&self, node: u32) -> f32 {
        self.metric
            .score(self.kernels, self.query, self.vectors.vector(node))
    }

    #[inline]
    fn score4(&self, nodes: [u32; 4]) -> [f32; 4] {
        let rows = nodes.map(|node| self.vectors.vector(node));
        self.metric.score4(self.kernels, self.query, rows)
    }

    #[inline]
    fn prefetch(&self, node: u32) {
        ndb_kernels::prefetch(self.vectors.vector(node));
    }
}

impl GraphView<'_> {
    /// The (up to) `top_k` allowed nodes nearest to `query` as `(score, node)`, best first,
    /// exploring `max(ef, top_k)` candidates on level 0.
    #[allow(clippy::too_many_arguments)]
    pub fn search<V: Vectors + ?Sized, A: Fn(u32) -> bool + ?Sized>(
        &self,
        vectors: &V,
        metric: Metric,
        kernels: &Kernels,
        query: &[f32],
        top_k: usize,
        ef: usize,
        allow: &A,
        scratch: &mut Scratch,
    ) -> Vec<(f32, u32)> {
        if vectors.len() < self.len() as usize {
            return Vec::new();
        }
        let score = ExactScore {
            vectors,
            metric,
            kernels,
            query,
        };
        self.search_by(&score, top_k, ef, allow, scratch)
    }

    /// [`GraphView::search`] with scores from `score` (for example estimates from compressed
    /// codes, rescored by the caller): the (up to) `top_k` allowed nodes with the highest
    /// scores met, best first, exploring `max(ef, top_k)` candidates on level 0.
    pub fn search_by<S: NodeScore + ?Sized, A: Fn(u32) -> bool + ?Sized>(
        &self,
        score: &S,
        top_k: usize,
        ef: usize,
        allow: &A,
        scratch: &mut Scratch,
    ) -> Vec<(f32, u32)> {
        self.walk(score, top_k, ef, allow, None, scratch)
    }

    /// [`GraphView::search_by`] for a selective `allow` (a filter most nodes fail): the walk
    /// on level 0 scores only allowed nodes, reaching past rejected neighbours to their own
    /// neighbours (ACORN-1's two-hop expansion, at most `2·m` nodes per expansion), so its cost
    /// follows the allowed nodes it visits rather than every node it passes.
    pub fn search_two_hop<S: NodeScore + ?Sized, A: Fn(u32) -> bool + ?Sized>(
        &self,
        score: &S,
        top_k: usize,
        ef: usize,
        allow: &A,
        scratch: &mut Scratch,
    ) -> Vec<(f32, u32)> {
        self.walk(score, top_k, ef, allow, Some(2 * self.m()), scratch)
    }

    fn walk<S: NodeScore + ?Sized, A: Fn(u32) -> bool + ?Sized>(
        &self,
        score: &S,
        top_k: usize,
        ef: usize,
        allow: &A,
        two_hop: Option<usize>,
        scratch: &mut Scratch,
    ) -> Vec<(f32, u32)> {
        let n = self.len();
        if n == 0 || top_k == 0 {
            return Vec::new();
        }
        let entry = self.entry();
        let mut cur = Scored(score.score(entry), entry);
        for level in (1..=self.levels()).rev() {
            cur = greedy(
                |node, buf: &mut Vec<u32>| {
                    buf.clear();
                    buf.extend_from_slice(self.neighbors(level, node));
                },
                &mut scratch.buf,
                score,
                cur,
                n,
            );
        }
        beam(
            |node, buf: &mut Vec<u32>| {
                buf.clear();
                buf.extend_from_slice(self.neighbors(0, node));
            },
            |node| ndb_kernels::prefetch(self.level0_record(node)),
            score,
            &[cur],
            ef.max(top_k),
            n,
            allow,
            two_hop,
            scratch,
        );
        let mut out: Vec<(f32, u32)> = scratch
            .results
            .drain()
            .map(|Reverse(s)| (s.0, s.1))
            .collect();
        out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        out.truncate(top_k);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Scratch;

    #[test]
    fn the_visited_set_starts_empty_for_every_search() {
        let mut s = Scratch::new();
        for search in 0..1000u32 {
            s.reset(8);
            assert!(!s.is_visited(3), "search {search}: node 3 already visited");
            assert!(s.visit(3) && !s.visit(3));
            assert!(s.is_visited(3) && !s.is_visited(4));
            assert!(s.is_visited(8), "out of range counts as visited");
            assert!(!s.visit(8) && !s.visit(u32::MAX));
        }
    }

    #[test]
    fn the_visited_set_matches_a_model_across_graph_sizes_and_clears() {
        // Searches over graphs of different sizes, some touching few words (cleared word by
        // word), some most of them (cleared whole), against a HashSet.
        let mut s = Scratch::new();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for search in 0..300 {
            let n = [1u32, 63, 64, 65, 1000, 5000][search % 6];
            s.reset(n);
            let mut model = std::collections::HashSet::new();
            let visits = if search % 3 == 0 { 3 * n } else { 5 };
            for _ in 0..visits {
                let node = (next() % u64::from(n + 2)) as u32;
                let fresh = node < n && model.insert(node);
                assert_eq!(s.visit(node), fresh, "search {search}, n {n}, node {node}");
            }
            for node in 0..n + 70 {
                assert_eq!(s.is_visited(node), node >= n || model.contains(&node));
            }
        }
    }
}
