//! Parallel graph construction (insertion order is parallel, so two builds of the same data may
//! differ; the built graph is stored, never rebuilt at open).

use crate::links::Links;
use crate::search::{beam, greedy, ExactScore, Scored, Scratch};
use crate::{
    Graph, GraphView, Metric, Params, Vectors, HEADER_WORDS, LEVEL_MAX, MAGIC, M_MAX, VERSION,
};
use ndb_kernels::Kernels;
use parking_lot::RwLock;
use rayon::prelude::*;
use std::cell::RefCell;
use std::cmp::Reverse;
use std::sync::atomic::{AtomicBool, Ordering};

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::new());
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Level of node `i`: geometric with ratio `1/m`, capped at `LEVEL_MAX`.
fn level_of(i: u32, seed: u64, m: usize) -> usize {
    let r = splitmix64(seed ^ u64::from(i).wrapping_mul(0xA24B_AED4_963E_E407));
    let u = ((r >> 11) as f64 + 1.0) / (1u64 << 53) as f64; // (0, 1]
    let ml = 1.0 / (m as f64).ln();
    ((-u.ln() * ml) as usize).min(LEVEL_MAX)
}

struct Builder<'v, V: Vectors + ?Sized> {
    vectors: &'v V,
    metric: Metric,
    k: Kernels,
    m: usize,
    m0: usize,
    ef: usize,
    levels: Vec<u8>,
    /// Every node's neighbour lists.
    links: Links,
    /// (entry node, top level).
    entry: RwLock<(u32, usize)>,
}

impl<'v, V: Vectors + ?Sized> Builder<'v, V> {
    /// A builder whose node `i` has level `levels[i]` and no links yet, entered at `entry`.
    fn new(
        vectors: &'v V,
        metric: Metric,
        m: usize,
        ef_construction: usize,
        levels: Vec<u8>,
        entry: u32,
    ) -> Self {
        let top = levels.get(entry as usize).map_or(0, |&l| l as usize);
        Builder {
            vectors,
            metric,
            k: ndb_kernels::active(),
            m,
            m0: 2 * m,
            ef: ef_construction.max(m),
            links: Links::new(&levels, 2 * m),
            entry: RwLock::new((entry, top)),
            levels,
        }
    }

    fn score(&self, a: u32, b: u32) -> f32 {
        self.metric
            .score(&self.k, self.vectors.vector(a), self.vectors.vector(b))
    }

    /// Exact scores of every node against `query`.
    fn exact<'q>(&'q self, query: &'q [f32]) -> ExactScore<'q, V> {
        ExactScore {
            vectors: self.vectors,
            metric: self.metric,
            kernels: &self.k,
            query,
        }
    }

    fn fill(&self, level: usize, node: u32, buf: &mut Vec<u32>) {
        self.links.read(level, node, buf);
    }

    /// Malkov & Yashunin's heuristic: walk candidates best first, keep one unless it is closer
    /// to an already kept neighbour than to the base (keeps links pointing in diverse
    /// directions).
    fn select(&self, mut candidates: Vec<Scored>, max: usize) -> Vec<u32> {
        candidates.sort_by(|a, b| b.cmp(a));
        let mut kept: Vec<u32> = Vec::with_capacity(max);
        for c in candidates {
            if kept.len() >= max {
                break;
            }
            if kept.iter().all(|&r| self.score(c.1, r) <= c.0) {
                kept.push(c.1);
            }
        }
        kept
    }

    fn insert(&self, q: u32, scratch: &mut Scratch) {
        let lq = self.levels[q as usize] as usize;
        let (entry, top) = *self.entry.read();
        if entry == q {
            return;
        }
        let query = self.vectors.vector(q);
        let score = self.exact(query);
        let n = self.vectors.len() as u32;
        let mut cur = Scored(
            self.metric
                .score(&self.k, query, self.vectors.vector(entry)),
            entry,
        );
        let mut buf = Vec::new();
        for level in (lq + 1..=top).rev() {
            cur = greedy(
                |node, b: &mut Vec<u32>| self.fill(level, node, b),
                &mut buf,
                &score,
                cur,
                n,
            );
        }
        let mut entries = vec![cur];
        for level in (0..=lq.min(top)).rev() {
            beam(
                |node, b: &mut Vec<u32>| self.fill(level, node, b),
                |node| self.links.prefetch(level, node),
                &score,
                &entries,
                self.ef,
                n,
                &|node| node != q,
                None,
                scratch,
            );
            let found: Vec<Scored> = scratch.results.drain().map(|Reverse(s)| s).collect();
            if found.is_empty() {
                continue;
            }
            let neighbours = self.select(found.clone(), self.m);
            let cap = if level == 0 { self.m0 } else { self.m };
            if let Some(mut list) = self.links.lock(level, q) {
                list.set(&neighbours);
            }
            for &e in &neighbours {
                let Some(mut list) = self.links.lock(level, e) else {
                    continue;
                };
                if list.contains(q) {
                    continue;
                }
                if list.len() < cap {
                    list.push(q);
                } else {
                    buf.clear();
                    list.copy_to(&mut buf);
                    let mut cands: Vec<Scored> =
                        buf.iter().map(|&x| Scored(self.score(e, x), x)).collect();
                    cands.push(Scored(self.score(e, q), q));
                    list.set(&self.select(cands, cap));
                }
            }
            entries = found;
        }
        if lq > top {
            let mut e = self.entry.write();
            if lq > e.1 {
                *e = (q, lq);
            }
        }
    }
}

/// Build a graph over `vectors` (in parallel on the current rayon pool).
pub fn build<V: Vectors + ?Sized>(vectors: &V, metric: Metric, params: Params) -> Graph {
    let never = AtomicBool::new(false);
    match build_cancellable(vectors, metric, params, &never) {
        Some(graph) => graph,
        None => unreachable!("a build whose flag nobody sets is never cancelled"),
    }
}

/// [`build`], abandoned (`None`) soon after `cancel` is set: the flag is read between node
/// insertions, so a build of any size stops within about one insertion per thread.
pub fn build_cancellable<V: Vectors + ?Sized>(
    vectors: &V,
    metric: Metric,
    params: Params,
    cancel: &AtomicBool,
) -> Option<Graph> {
    let n = vectors.len();
    let m = params.m.clamp(2, M_MAX);
    let levels: Vec<u8> = (0..n as u32)
        .map(|i| level_of(i, params.seed, m) as u8)
        .collect();
    let builder = Builder::new(vectors, metric, m, params.ef_construction, levels, 0);
    if n > 1 {
        // A first stretch sequentially gives the parallel phase a connected core to start from.
        let warm = n.min(1024) as u32;
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            for q in 1..warm {
                if cancel.load(Ordering::Relaxed) {
                    return;
                }
                builder.insert(q, &mut s);
            }
        });
        insert_all(&builder, (warm..n as u32).into_par_iter(), cancel);
    }
    if cancel.load(Ordering::Relaxed) {
        return None;
    }
    builder.connect_unreachable();
    Some(serialize(&builder, n))
}

/// Insert `nodes` in parallel, unless `cancel` is set.
fn insert_all<V: Vectors + ?Sized>(
    builder: &Builder<'_, V>,
    nodes: impl ParallelIterator<Item = u32>,
    cancel: &AtomicBool,
) {
    nodes.for_each(|q| {
        if !cancel.load(Ordering::Relaxed) {
            SCRATCH.with(|s| builder.insert(q, &mut s.borrow_mut()));
        }
    });
}

/// Build a graph over `vectors` that starts from an existing graph `seed` over some of them:
/// seed node `i` is node `map[i]` here (same vector). The seed's links and levels are kept and
/// only the other nodes are inserted, in parallel, so the cost is that of inserting
/// `vectors.len() - seed.len()` nodes (Lucene initializes merged segments' graphs this way).
///
/// Errors (the caller then builds from scratch) if the seed was built with another `m`, is
/// empty, or `map` is not an injection into `0..vectors.len()` of the seed's length.
pub fn build_seeded<V: Vectors + ?Sized>(
    vectors: &V,
    metric: Metric,
    params: Params,
    seed: &GraphView<'_>,
    map: &[u32],
) -> Result<Graph, String> {
    let never = AtomicBool::new(false);
    build_seeded_cancellable(vectors, metric, params, seed, map, &never).map(|g| match g {
        Some(graph) => graph,
        None => unreachable!("a build whose flag nobody sets is never cancelled"),
    })
}

/// [`build_seeded`], abandoned (`Ok(None)`) soon after `cancel` is set.
pub fn build_seeded_cancellable<V: Vectors + ?Sized>(
    vectors: &V,
    metric: Metric,
    params: Params,
    seed: &GraphView<'_>,
    map: &[u32],
    cancel: &AtomicBool,
) -> Result<Option<Graph>, String> {
    let n = vectors.len();
    let m = params.m.clamp(2, M_MAX);
    if seed.m() != m {
        return Err(format!("seed graph has m {}, not {m}", seed.m()));
    }
    if seed.is_empty() || map.len() != seed.len() as usize {
        return Err("empty seed, or a map of another length".into());
    }
    let mut seeded = vec![false; n];
    for &to in map {
        match seeded.get_mut(to as usize) {
            Some(slot) if !*slot => *slot = true,
            _ => return Err(format!("map target {to} repeated or out of 0..{n}")),
        }
    }
    let mut levels: Vec<u8> = (0..n as u32)
        .map(|i| {
            if seeded[i as usize] {
                0
            } else {
                level_of(i, params.seed, m) as u8
            }
        })
        .collect();
    for level in 1..=seed.levels() {
        for node in seed.level_nodes(level) {
            if let Some(&to) = map.get(node as usize) {
                levels[to as usize] = level as u8;
            }
        }
    }
    let entry = map
        .get(seed.entry() as usize)
        .copied()
        .ok_or("seed entry out of range")?;
    let builder = Builder::new(vectors, metric, m, params.ef_construction, levels, entry);
    for (from, &to) in map.iter().enumerate() {
        for level in 0..=builder.levels[to as usize] as usize {
            if let Some(mut list) = builder.links.lock(level, to) {
                for &x in seed.neighbors(level, from as u32) {
                    if let Some(&x) = map.get(x as usize) {
                        list.push(x);
                    }
                }
            }
        }
    }
    let fresh = (0..n as u32)
        .into_par_iter()
        .filter(|&q| !seeded[q as usize]);
    insert_all(&builder, fresh, cancel);
    if cancel.load(Ordering::Relaxed) {
        return Ok(None);
    }
    builder.connect_unreachable();
    Ok(Some(serialize(&builder, n)))
}

impl<V: Vectors + ?Sized> Builder<'_, V> {
    /// Nodes of level 0 reachable from the entry point.
    fn reachable(&self) -> Vec<bool> {
        let n = self.vectors.len();
        let mut seen = vec![false; n];
        if n == 0 {
            return seen;
        }
        let mut stack = vec![self.entry.read().0];
        let mut buf = Vec::new();
        while let Some(x) = stack.pop() {
            if !std::mem::replace(&mut seen[x as usize], true) {
                self.links.read(0, x, &mut buf);
                stack.extend_from_slice(&buf);
            }
        }
        seen
    }

    /// The pruning heuristic can leave a node without in-links. Link every such node from its
    /// nearest reachable node (into a free slot if one of the close candidates has one, else
    /// replacing the candidate's farthest neighbour), until the whole level 0 is reachable.
    fn connect_unreachable(&self) {
        let n = self.vectors.len() as u32;
        let mut scratch = Scratch::new();
        for _ in 0..8 {
            let seen = self.reachable();
            let lost: Vec<u32> = (0..n).filter(|&i| !seen[i as usize]).collect();
            if lost.is_empty() {
                return;
            }
            let entry = self.entry.read().0;
            for u in lost {
                let query = self.vectors.vector(u);
                let start = Scored(
                    self.metric
                        .score(&self.k, query, self.vectors.vector(entry)),
                    entry,
                );
                beam(
                    |node, b: &mut Vec<u32>| self.fill(0, node, b),
                    |node| self.links.prefetch(0, node),
                    &self.exact(query),
                    &[start],
                    self.ef,
                    n,
                    &|x| x != u && seen[x as usize],
                    None,
                    &mut scratch,
                );
                let mut near: Vec<Scored> = scratch.results.drain().map(|Reverse(s)| s).collect();
                near.sort_by(|a, b| b.cmp(a));
                let Some(best) = near.first().copied() else {
                    continue;
                };
                let host = near
                    .iter()
                    .find(|c| self.links.lock(0, c.1).is_some_and(|l| l.len() < self.m0))
                    .copied()
                    .unwrap_or(best);
                let Some(mut list) = self.links.lock(0, host.1) else {
                    continue;
                };
                if list.contains(u) {
                    continue;
                }
                if list.len() < self.m0 {
                    list.push(u);
                    continue;
                }
                let mut ids = Vec::with_capacity(self.m0);
                list.copy_to(&mut ids);
                if let Some((worst, _)) = ids
                    .iter()
                    .enumerate()
                    .map(|(i, &x)| (i, self.score(host.1, x)))
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                {
                    list.replace(worst, u);
                }
            }
        }
    }
}

fn serialize<V: Vectors + ?Sized>(b: &Builder<'_, V>, n: usize) -> Graph {
    let (entry, top) = if n == 0 {
        (u32::MAX, 0)
    } else {
        *b.entry.read()
    };
    let mut words = vec![
        MAGIC,
        VERSION,
        n as u32,
        b.m as u32,
        b.m0 as u32,
        top as u32,
        entry,
        0,
    ];
    words.resize(HEADER_WORDS + top, 0);
    let mut list = Vec::with_capacity(b.m0);
    for i in 0..n as u32 {
        b.links.read(0, i, &mut list);
        words.push(list.len().min(b.m0) as u32);
        words.extend(list.iter().take(b.m0));
        words.extend(std::iter::repeat_n(0, b.m0 - list.len().min(b.m0)));
    }
    for level in 1..=top {
        words[HEADER_WORDS + level - 1] = words.len() as u32;
        let nodes: Vec<u32> = (0..n as u32)
            .filter(|&i| b.levels[i as usize] as usize >= level)
            .collect();
        words.push(nodes.len() as u32);
        words.extend(&nodes);
        for &i in &nodes {
            b.links.read(level, i, &mut list);
            words.push(list.len().min(b.m) as u32);
            words.extend(list.iter().take(b.m));
            words.extend(std::iter::repeat_n(0, b.m - list.len().min(b.m)));
        }
    }
    Graph { words }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FlatVectors, GraphView};

    fn data(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        (0..n * dim)
            .map(|i| (splitmix64(seed ^ i as u64) >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
            .collect()
    }

    fn exact(v: &FlatVectors<'_>, q: &[f32], k: usize) -> Vec<u32> {
        let kern = ndb_kernels::active();
        let mut all: Vec<(f32, u32)> = (0..v.len() as u32)
            .map(|i| (-kern.l2_squared(q, v.vector(i)), i))
            .collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        all.into_iter().take(k).map(|x| x.1).collect()
    }

    #[test]
    fn recall_and_invariants_on_random_data() {
        let (n, dim) = (3000, 16);
        let raw = data(n, dim, 7);
        let v = FlatVectors::new(&raw, dim);
        let g = build(
            &v,
            Metric::NegL2Squared,
            Params {
                m: 12,
                ef_construction: 100,
                seed: 1,
            },
        );
        let view = GraphView::parse(&g.words, n as u32).unwrap();
        check_invariants(&view, n, 12);
        let recall = recall(&view, &v, dim);
        assert!(recall >= 0.95, "recall {recall}");
        let kern = ndb_kernels::active();
        let mut scratch = Scratch::new();
        let queries = data(100, dim, 99);
        // Predicate: only even nodes returned, still k of them.
        let q = &queries[..dim];
        let got = view.search(
            &v,
            Metric::NegL2Squared,
            &kern,
            q,
            10,
            64,
            &|i| i % 2 == 0,
            &mut scratch,
        );
        assert_eq!(got.len(), 10);
        assert!(got.iter().all(|(_, i)| i % 2 == 0));
        two_hop_keeps_recall_for_selective_filters(&view, &v, dim);
    }

    /// The two-hop walk scores only allowed nodes and still finds the filtered neighbours:
    /// 10% and 25% of the nodes allowed, recall@10 against the exact filtered answer.
    fn two_hop_keeps_recall_for_selective_filters(
        view: &GraphView<'_>,
        v: &FlatVectors<'_>,
        dim: usize,
    ) {
        let kern = ndb_kernels::active();
        let queries = data(100, dim, 1234);
        for keep_one_in in [10u32, 4] {
            let allow = |i: u32| splitmix64(u64::from(i)).is_multiple_of(u64::from(keep_one_in));
            let mut scratch = Scratch::new();
            let (mut hits, mut scored_max) = (0, 0);
            for q in queries.chunks_exact(dim) {
                let mut truth: Vec<(f32, u32)> = (0..v.len() as u32)
                    .filter(|&i| allow(i))
                    .map(|i| (-kern.l2_squared(q, v.vector(i)), i))
                    .collect();
                truth.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                let truth: Vec<u32> = truth.iter().take(10).map(|x| x.1).collect();
                let scored = std::cell::Cell::new(0usize);
                let score = CountingScore {
                    inner: ExactScore {
                        vectors: v,
                        metric: Metric::NegL2Squared,
                        kernels: &kern,
                        query: q,
                    },
                    scored: &scored,
                };
                let got = view.search_two_hop(&score, 10, 64, &allow, &mut scratch);
                assert_eq!(got.len(), 10);
                assert!(got.iter().all(|&(_, i)| allow(i)));
                hits += got.iter().filter(|(_, i)| truth.contains(i)).count();
                scored_max = scored_max.max(scored.get());
            }
            let recall = hits as f64 / 1000.0;
            println!("1 in {keep_one_in} allowed: two-hop recall@10 {recall}, at most {scored_max} nodes scored");
            assert!(
                recall >= 0.9,
                "1 in {keep_one_in} allowed: two-hop recall@10 {recall}"
            );
            // Only allowed nodes are scored on level 0: at most the allowed ones, plus the
            // upper levels' few.
            let allowed = (0..v.len() as u32).filter(|&i| allow(i)).count();
            assert!(
                scored_max < allowed + 100,
                "1 in {keep_one_in}: scored {scored_max} of {allowed} allowed"
            );
        }
    }

    /// Exact scores that count the nodes scored.
    struct CountingScore<'a, 'v> {
        inner: ExactScore<'a, FlatVectors<'v>>,
        scored: &'a std::cell::Cell<usize>,
    }

    impl crate::NodeScore for CountingScore<'_, '_> {
        fn score(&self, node: u32) -> f32 {
            self.scored.set(self.scored.get() + 1);
            self.inner.score(node)
        }
    }

    /// Every node reachable from the entry point on level 0, degrees bounded, no self loops.
    fn check_invariants(view: &GraphView<'_>, n: usize, m: usize) {
        for level in 0..=view.levels() {
            for node in view.level_nodes(level) {
                let nb = view.neighbors(level, node);
                assert!(nb.len() <= if level == 0 { 2 * m } else { m });
                assert!(!nb.contains(&node), "self loop at {node}");
                assert!(nb.iter().all(|&x| (x as usize) < n));
            }
        }
        let mut seen = vec![false; n];
        let mut stack = vec![view.entry()];
        while let Some(x) = stack.pop() {
            if !std::mem::replace(&mut seen[x as usize], true) {
                stack.extend(view.neighbors(0, x));
            }
        }
        assert!(
            seen.iter().all(|&s| s),
            "unreachable nodes: {}",
            seen.iter().filter(|s| !**s).count()
        );
    }

    fn recall(view: &GraphView<'_>, v: &FlatVectors<'_>, dim: usize) -> f64 {
        let kern = ndb_kernels::active();
        let mut scratch = Scratch::new();
        let queries = data(100, dim, 99);
        let mut hits = 0;
        for q in queries.chunks(dim) {
            let want = exact(v, q, 10);
            let got = view.search(
                v,
                Metric::NegL2Squared,
                &kern,
                q,
                10,
                64,
                &|_| true,
                &mut scratch,
            );
            hits += got.iter().filter(|(_, i)| want.contains(i)).count();
        }
        hits as f64 / 1000.0
    }

    #[test]
    fn seeded_builds_keep_recall_and_invariants() {
        let (n, dim, m) = (4000, 16, 12);
        let raw = data(n, dim, 11);
        let all = FlatVectors::new(&raw, dim);
        let params = Params {
            m,
            ef_construction: 100,
            seed: 5,
        };
        // The seed graph covers rows 1000..4000 (its node i is row 1000 + i); the merged
        // graph adds rows 0..1000 in front.
        let tail = FlatVectors::new(&raw[1000 * dim..], dim);
        let seed_graph = build(&tail, Metric::NegL2Squared, params);
        let seed = GraphView::parse(&seed_graph.words, 3000).unwrap();
        let map: Vec<u32> = (1000..4000).collect();
        let g = build_seeded(&all, Metric::NegL2Squared, params, &seed, &map).unwrap();
        let view = GraphView::parse(&g.words, n as u32).unwrap();
        check_invariants(&view, n, m);
        // The seed's links survive, renumbered (new nodes displace some of them).
        let (mut kept, mut total) = (0, 0);
        for i in 0..3000u32 {
            let before: Vec<u32> = seed.neighbors(0, i).iter().map(|&x| x + 1000).collect();
            let after = view.neighbors(0, i + 1000);
            kept += before.iter().filter(|x| after.contains(x)).count();
            total += before.len();
        }
        assert!(kept * 2 >= total, "{kept} of {total} seed links kept");
        let seeded_recall = recall(&view, &all, dim);
        let full = build(&all, Metric::NegL2Squared, params);
        let full_recall = recall(&GraphView::parse(&full.words, n as u32).unwrap(), &all, dim);
        assert!(
            seeded_recall >= 0.95 && seeded_recall >= full_recall - 0.02,
            "seeded recall {seeded_recall}, full build {full_recall}"
        );
    }

    #[test]
    fn bad_seeds_are_refused() {
        let raw = data(200, 4, 1);
        let v = FlatVectors::new(&raw, 4);
        let params = Params {
            m: 4,
            ef_construction: 20,
            seed: 1,
        };
        let g = build(&FlatVectors::new(&raw[..400], 4), Metric::Dot, params);
        let seed = GraphView::parse(&g.words, 100).unwrap();
        let ok: Vec<u32> = (0..100).collect();
        assert!(build_seeded(&v, Metric::Dot, params, &seed, &ok).is_ok());
        let mut repeated = ok.clone();
        repeated[5] = 4;
        assert!(build_seeded(&v, Metric::Dot, params, &seed, &repeated).is_err());
        let mut outside = ok.clone();
        outside[5] = 200;
        assert!(build_seeded(&v, Metric::Dot, params, &seed, &outside).is_err());
        assert!(build_seeded(&v, Metric::Dot, params, &seed, &ok[..99]).is_err());
        let other_m = Params { m: 8, ..params };
        assert!(build_seeded(&v, Metric::Dot, other_m, &seed, &ok).is_err());
    }

    #[test]
    fn tiny_graphs() {
        for n in 0..4 {
            let raw = data(n, 3, 1);
            let v = FlatVectors::new(&raw, 3);
            let g = build(&v, Metric::Dot, Params::default());
            let view = GraphView::parse(&g.words, n as u32).unwrap();
            let got = view.search(
                &v,
                Metric::Dot,
                &ndb_kernels::active(),
                &[1.0, 0.0, 0.0],
                5,
                10,
                &|_| true,
                &mut Scratch::new(),
            );
            assert_eq!(got.len(), n);
        }
    }

    #[test]
    fn damaged_words_never_panic() {
        let raw = data(300, 4, 3);
        let v = FlatVectors::new(&raw, 4);
        let g = build(
            &v,
            Metric::Dot,
            Params {
                m: 4,
                ef_construction: 20,
                seed: 2,
            },
        );
        let mut scratch = Scratch::new();
        for i in 0..g.words.len() {
            for x in [1u32, 0xFFFF_FFFF, 1 << 31] {
                let mut w = g.words.clone();
                w[i] ^= x;
                if let Ok(view) = GraphView::parse(&w, 300) {
                    let _ = view.search(
                        &v,
                        Metric::Dot,
                        &ndb_kernels::active(),
                        &[0.1, 0.2, 0.3, 0.4],
                        5,
                        16,
                        &|_| true,
                        &mut scratch,
                    );
                }
            }
            let _ = GraphView::parse(&g.words[..i], 300);
        }
    }
}
