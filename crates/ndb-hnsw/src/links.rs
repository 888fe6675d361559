//! Neighbour lists while a graph is built, shared by the inserting threads.
//!
//! Level 0 holds every node, and a build reads a node's level-0 list at every step of every
//! insertion, so those lists live in one flat array of fixed-size records laid out as in the
//! stored graph (`[count, m0 ids]`), each guarded by a lock bit in its count word: reaching a
//! node's neighbours costs one cache miss, where a lock, a per-node list of levels and a heap
//! list cost three dependent ones (measured: a quarter of a GloVe-50 build went there). The few
//! nodes of the upper levels keep a list per level behind a mutex.

use parking_lot::{Mutex, MutexGuard};
use std::sync::atomic::{AtomicU32, Ordering};

/// Set in a level-0 count word while a thread holds that node's list.
const LOCKED: u32 = 1 << 31;

/// Spins on a held lock before yielding the CPU (lists are held for a few hundred cycles).
const SPINS_BEFORE_YIELD: u32 = 64;

/// All neighbour lists of a build.
pub(crate) struct Links {
    m0: usize,
    /// `n` records of `1 + m0` words: the count (with [`LOCKED`]), then the ids.
    level0: Vec<AtomicU32>,
    /// Per node, its lists on levels `1..=level` (empty for level-0 nodes).
    upper: Vec<Mutex<Vec<Vec<u32>>>>,
}

impl Links {
    /// Empty lists for nodes of the given levels, level 0 holding up to `m0` ids per node.
    pub(crate) fn new(levels: &[u8], m0: usize) -> Self {
        let words = levels.len().saturating_mul(1 + m0);
        Self {
            m0,
            level0: (0..words).map(|_| AtomicU32::new(0)).collect(),
            upper: levels
                .iter()
                .map(|&l| Mutex::new(vec![Vec::new(); l as usize]))
                .collect(),
        }
    }

    /// The level-0 record of `node`, if there is one.
    #[inline]
    fn record(&self, node: u32) -> Option<&[AtomicU32]> {
        let start = node as usize * (1 + self.m0);
        self.level0.get(start..start + 1 + self.m0)
    }

    /// The list of `node` on `level`, locked; `None` if the node is not on that level.
    pub(crate) fn lock(&self, level: usize, node: u32) -> Option<ListGuard<'_>> {
        match level.checked_sub(1) {
            None => Some(ListGuard::Flat(FlatGuard::lock(self.record(node)?))),
            Some(upper) => {
                let lists = self.upper.get(node as usize)?.lock();
                (upper < lists.len()).then_some(ListGuard::Upper(lists, upper))
            }
        }
    }

    /// Start loading the level-0 list of `node` (a hint; upper levels are few and left alone).
    #[inline]
    pub(crate) fn prefetch(&self, level: usize, node: u32) {
        if let (0, Some(record)) = (level, self.record(node)) {
            ndb_kernels::prefetch(record);
        }
    }

    /// Replace `buf` by the list of `node` on `level` (empty if the node is not on it).
    #[inline]
    pub(crate) fn read(&self, level: usize, node: u32, buf: &mut Vec<u32>) {
        buf.clear();
        if let Some(list) = self.lock(level, node) {
            list.copy_to(buf);
        }
    }
}

/// One locked list.
pub(crate) enum ListGuard<'a> {
    Flat(FlatGuard<'a>),
    Upper(MutexGuard<'a, Vec<Vec<u32>>>, usize),
}

impl ListGuard<'_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            ListGuard::Flat(g) => g.count as usize,
            ListGuard::Upper(lists, l) => lists[*l].len(),
        }
    }

    /// Append `ids` to `buf`.
    pub(crate) fn copy_to(&self, buf: &mut Vec<u32>) {
        match self {
            ListGuard::Flat(g) => buf.extend(g.ids().map(|w| w.load(Ordering::Relaxed))),
            ListGuard::Upper(lists, l) => buf.extend_from_slice(&lists[*l]),
        }
    }

    pub(crate) fn contains(&self, id: u32) -> bool {
        match self {
            ListGuard::Flat(g) => g.ids().any(|w| w.load(Ordering::Relaxed) == id),
            ListGuard::Upper(lists, l) => lists[*l].contains(&id),
        }
    }

    /// Append `id`; ignored when a level-0 list is full (callers check `len` first).
    pub(crate) fn push(&mut self, id: u32) {
        match self {
            ListGuard::Flat(g) => g.push(id),
            ListGuard::Upper(lists, l) => lists[*l].push(id),
        }
    }

    /// Make the list `ids` (a level-0 list keeps the first `m0`).
    pub(crate) fn set(&mut self, ids: &[u32]) {
        match self {
            ListGuard::Flat(g) => {
                g.count = 0;
                for &id in ids {
                    g.push(id);
                }
            }
            ListGuard::Upper(lists, l) => {
                let list = &mut lists[*l];
                list.clear();
                list.extend_from_slice(ids);
            }
        }
    }

    /// Overwrite the id at position `i` (`i < len()`).
    pub(crate) fn replace(&mut self, i: usize, id: u32) {
        match self {
            ListGuard::Flat(g) => {
                if let Some(w) = g.ids().nth(i) {
                    w.store(id, Ordering::Relaxed);
                }
            }
            ListGuard::Upper(lists, l) => {
                if let Some(x) = lists[*l].get_mut(i) {
                    *x = id;
                }
            }
        }
    }
}

/// A level-0 record held through the lock bit of its count word; the count is kept here and
/// stored (unlocking) on drop.
pub(crate) struct FlatGuard<'a> {
    record: &'a [AtomicU32],
    count: u32,
}

impl<'a> FlatGuard<'a> {
    fn lock(record: &'a [AtomicU32]) -> Self {
        let word = &record[0];
        let mut spins = 0u32;
        loop {
            let current = word.load(Ordering::Relaxed);
            if current & LOCKED == 0
                && word
                    .compare_exchange_weak(
                        current,
                        current | LOCKED,
                        Ordering::Acquire,
                        Ordering::Relaxed,
                    )
                    .is_ok()
            {
                return Self {
                    record,
                    count: current,
                };
            }
            spins += 1;
            if spins < SPINS_BEFORE_YIELD {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    fn capacity(&self) -> usize {
        self.record.len() - 1
    }

    /// The id words in use.
    fn ids(&self) -> impl Iterator<Item = &'a AtomicU32> + 'a {
        let count = (self.count as usize).min(self.capacity());
        self.record[1..].iter().take(count)
    }

    fn push(&mut self, id: u32) {
        if let Some(w) = self.record.get(1 + self.count as usize) {
            w.store(id, Ordering::Relaxed);
            self.count += 1;
        }
    }
}

impl Drop for FlatGuard<'_> {
    fn drop(&mut self) {
        // Publishes the ids written under the lock to the next thread that takes it.
        self.record[0].store(self.count, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_keep_what_is_written_and_level0_caps_at_m0() {
        let links = Links::new(&[0, 2, 1], 4);
        let mut buf = Vec::new();
        links.lock(0, 1).unwrap().set(&[5, 6, 7, 8, 9, 10]);
        links.read(0, 1, &mut buf);
        assert_eq!(buf, [5, 6, 7, 8]);
        {
            let mut l = links.lock(0, 0).unwrap();
            l.push(3);
            l.push(4);
            assert!(l.contains(4) && !l.contains(5));
            l.replace(0, 9);
        }
        links.read(0, 0, &mut buf);
        assert_eq!(buf, [9, 4]);
        assert!(links.lock(1, 0).is_none(), "node 0 is on level 0 only");
        assert!(links.lock(3, 1).is_none());
        links.lock(2, 1).unwrap().set(&[0, 2]);
        links.read(2, 1, &mut buf);
        assert_eq!(buf, [0, 2]);
        assert!(links.lock(0, 3).is_none(), "no node 3");
    }

    #[test]
    fn concurrent_pushes_are_all_kept() {
        let links = Links::new(&[0; 8], 64);
        std::thread::scope(|s| {
            for t in 0..4u32 {
                let links = &links;
                s.spawn(move || {
                    for i in 0..16 {
                        for node in 0..8 {
                            links.lock(0, node).unwrap().push(t * 100 + i);
                        }
                    }
                });
            }
        });
        let mut buf = Vec::new();
        for node in 0..8 {
            links.read(0, node, &mut buf);
            buf.sort_unstable();
            let mut want: Vec<u32> = (0..4)
                .flat_map(|t| (0..16).map(move |i| t * 100 + i))
                .collect();
            want.sort_unstable();
            assert_eq!(buf, want);
        }
    }
}
