//! Validated, zero-copy access to a graph's words.

use crate::{HEADER_WORDS, LEVEL_MAX, MAGIC, M_MAX, VERSION};

/// One upper level: its nodes (sorted) and their neighbour records.
#[derive(Clone, Copy, Debug)]
struct Level<'a> {
    nodes: &'a [u32],
    records: &'a [u32],
}

/// A graph's words, checked for shape, ready to search. Neighbour ids are checked when read
/// (an id `>= n` is skipped), so damaged words can make a search worse but never unsafe or
/// endless.
#[derive(Clone, Debug)]
pub struct GraphView<'a> {
    n: u32,
    m: usize,
    m0: usize,
    entry: u32,
    level0: &'a [u32],
    upper: Vec<Level<'a>>,
}

fn word(words: &[u32], i: usize) -> Result<u32, String> {
    words
        .get(i)
        .copied()
        .ok_or_else(|| format!("graph ends at word {}, expected word {i}", words.len()))
}

impl<'a> GraphView<'a> {
    /// Check the header and block sizes of `words` for a graph over `n_expected` vectors.
    pub fn parse(words: &'a [u32], n_expected: u32) -> Result<Self, String> {
        if word(words, 0)? != MAGIC {
            return Err("bad HNSW magic".into());
        }
        let version = word(words, 1)?;
        if version != VERSION {
            return Err(format!("HNSW layout version {version}, expected {VERSION}"));
        }
        let n = word(words, 2)?;
        if n != n_expected {
            return Err(format!(
                "graph has {n} nodes, the segment {n_expected} rows"
            ));
        }
        let m = word(words, 3)? as usize;
        let m0 = word(words, 4)? as usize;
        if !(2..=M_MAX).contains(&m) || m0 != 2 * m {
            return Err(format!("invalid degrees m={m}, m0={m0}"));
        }
        let levels = word(words, 5)? as usize;
        if levels > LEVEL_MAX {
            return Err(format!("{levels} levels, at most {LEVEL_MAX}"));
        }
        let entry = word(words, 6)?;
        if (n == 0) != (entry == u32::MAX) || (n > 0 && entry >= n) {
            return Err(format!("entry point {entry} invalid for {n} nodes"));
        }
        let level0_start = HEADER_WORDS + levels;
        let level0_len = (n as usize)
            .checked_mul(1 + m0)
            .ok_or("level 0 size overflows")?;
        let level0 = words
            .get(level0_start..level0_start + level0_len)
            .ok_or("level 0 block past the end")?;
        let mut upper = Vec::with_capacity(levels);
        let mut expected_start = level0_start + level0_len;
        let mut prev_count = n as usize;
        for l in 1..=levels {
            let start = word(words, HEADER_WORDS + l - 1)? as usize;
            if start != expected_start {
                return Err(format!(
                    "level {l} starts at word {start}, expected {expected_start}"
                ));
            }
            let count = word(words, start)? as usize;
            if count == 0 || count > prev_count {
                return Err(format!("level {l} has {count} nodes"));
            }
            let nodes = words
                .get(start + 1..start + 1 + count)
                .ok_or_else(|| format!("level {l} node list past the end"))?;
            if nodes.windows(2).any(|w| w[0] >= w[1]) || nodes.iter().any(|&x| x >= n) {
                return Err(format!("level {l} node list is not sorted node ids"));
            }
            let rec_start = start + 1 + count;
            let rec_len = count * (1 + m);
            let records = words
                .get(rec_start..rec_start + rec_len)
                .ok_or_else(|| format!("level {l} records past the end"))?;
            upper.push(Level { nodes, records });
            expected_start = rec_start + rec_len;
            prev_count = count;
        }
        if expected_start != words.len() {
            return Err(format!(
                "graph is {} words, its blocks end at {expected_start}",
                words.len()
            ));
        }
        if levels > 0 && upper[levels - 1].nodes.binary_search(&entry).is_err() {
            return Err("entry point is not on the top level".into());
        }
        Ok(Self {
            n,
            m,
            m0,
            entry,
            level0,
            upper,
        })
    }

    /// A view of words that [`GraphView::parse`] accepted before (e.g. when the file was
    /// opened): reads the header and level offsets only (O(levels)), without re-checking the
    /// node lists. Still never unsafe: every neighbour id is bounds-checked when read, and
    /// words that no longer match their earlier check give an error or a worse search, never
    /// a panic.
    pub fn reopen(words: &'a [u32], n_expected: u32) -> Result<Self, String> {
        let n = word(words, 2)?;
        let m = word(words, 3)? as usize;
        let m0 = word(words, 4)? as usize;
        let levels = (word(words, 5)? as usize).min(LEVEL_MAX);
        let entry = word(words, 6)?;
        if n != n_expected || !(2..=M_MAX).contains(&m) || m0 != 2 * m || (n > 0 && entry >= n) {
            return Err("graph header changed since it was checked".into());
        }
        let level0_start = HEADER_WORDS + levels;
        let level0 = words
            .get(level0_start..level0_start + n as usize * (1 + m0))
            .ok_or("level 0 block past the end")?;
        let mut upper = Vec::with_capacity(levels);
        for l in 1..=levels {
            let start = word(words, HEADER_WORDS + l - 1)? as usize;
            let count = word(words, start)? as usize;
            let nodes = words
                .get(start + 1..start + 1 + count)
                .ok_or("level node list past the end")?;
            let rec_start = start + 1 + count;
            let records = words
                .get(rec_start..rec_start + count * (1 + m))
                .ok_or("level records past the end")?;
            upper.push(Level { nodes, records });
        }
        Ok(Self {
            n,
            m,
            m0,
            entry,
            level0,
            upper,
        })
    }

    /// Number of nodes.
    pub fn len(&self) -> u32 {
        self.n
    }

    /// Whether the graph is empty.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Top level.
    pub fn levels(&self) -> usize {
        self.upper.len()
    }

    /// Entry node (meaningless if empty).
    pub fn entry(&self) -> u32 {
        self.entry
    }

    /// `m` (neighbours per node above level 0).
    pub fn m(&self) -> usize {
        self.m
    }

    /// Neighbours of `node` on `level` (empty if `node` is not on that level). May contain
    /// ids `>= len()` if the words are damaged; callers skip those.
    #[inline]
    pub fn neighbors(&self, level: usize, node: u32) -> &'a [u32] {
        if level == 0 {
            let start = node as usize * (1 + self.m0);
            let Some(rec) = self.level0.get(start..start + 1 + self.m0) else {
                return &[];
            };
            let count = (rec[0] as usize).min(self.m0);
            &rec[1..1 + count]
        } else {
            let Some(lv) = self.upper.get(level - 1) else {
                return &[];
            };
            let Ok(pos) = lv.nodes.binary_search(&node) else {
                return &[];
            };
            let start = pos * (1 + self.m);
            let Some(rec) = lv.records.get(start..start + 1 + self.m) else {
                return &[];
            };
            let count = (rec[0] as usize).min(self.m);
            &rec[1..1 + count]
        }
    }

    /// Nodes present on `level` (all nodes for level 0).
    pub fn level_nodes(&self, level: usize) -> Box<dyn Iterator<Item = u32> + '_> {
        if level == 0 {
            Box::new(0..self.n)
        } else {
            match self.upper.get(level - 1) {
                Some(lv) => Box::new(lv.nodes.iter().copied()),
                None => Box::new(std::iter::empty()),
            }
        }
    }
}
