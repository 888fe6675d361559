//! Validated, zero-copy access to a graph's words.
//!
//! The words come from a file: nothing here may panic or overflow on any input, and the
//! compiler checks it (no indexing, no unchecked arithmetic).
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

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

/// `a + b`, or an error if the sizes in the header cannot describe a real graph.
fn add(a: usize, b: usize) -> Result<usize, String> {
    a.checked_add(b)
        .ok_or_else(|| "graph sizes overflow".to_string())
}

/// `a * b`, likewise.
fn mul(a: usize, b: usize) -> Result<usize, String> {
    a.checked_mul(b)
        .ok_or_else(|| "graph sizes overflow".to_string())
}

/// `words[start..start + len]`, if it is there.
fn block(words: &[u32], start: usize, len: usize) -> Option<&[u32]> {
    words.get(start..start.checked_add(len)?)
}

/// The word offset of upper level `l`'s block (`l >= 1`) in the header's level table.
fn level_slot(l: usize) -> Result<usize, String> {
    add(HEADER_WORDS, l).map(|i| i.saturating_sub(1))
}

/// A neighbour record (`count`, then up to `max` ids): the ids it holds.
#[inline]
fn record_ids(rec: &[u32], max: usize) -> &[u32] {
    match rec.split_first() {
        Some((&count, ids)) => ids.get(..(count as usize).min(max)).unwrap_or(&[]),
        None => &[],
    }
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
        if !(2..=M_MAX).contains(&m) || Some(m0) != m.checked_mul(2) {
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
        let level0_start = add(HEADER_WORDS, levels)?;
        let level0_len = mul(n as usize, add(1, m0)?)?;
        let level0 = block(words, level0_start, level0_len).ok_or("level 0 block past the end")?;
        let mut upper = Vec::with_capacity(levels);
        let mut expected_start = add(level0_start, level0_len)?;
        let mut prev_count = n as usize;
        for l in 1..=levels {
            let start = word(words, level_slot(l)?)? as usize;
            if start != expected_start {
                return Err(format!(
                    "level {l} starts at word {start}, expected {expected_start}"
                ));
            }
            let count = word(words, start)? as usize;
            if count == 0 || count > prev_count {
                return Err(format!("level {l} has {count} nodes"));
            }
            let nodes = block(words, add(start, 1)?, count)
                .ok_or_else(|| format!("level {l} node list past the end"))?;
            let unsorted = nodes.windows(2).any(|w| matches!(w, [a, b] if a >= b));
            if unsorted || nodes.iter().any(|&x| x >= n) {
                return Err(format!("level {l} node list is not sorted node ids"));
            }
            let rec_start = add(add(start, 1)?, count)?;
            let rec_len = mul(count, add(1, m)?)?;
            let records = block(words, rec_start, rec_len)
                .ok_or_else(|| format!("level {l} records past the end"))?;
            upper.push(Level { nodes, records });
            expected_start = add(rec_start, rec_len)?;
            prev_count = count;
        }
        if expected_start != words.len() {
            return Err(format!(
                "graph is {} words, its blocks end at {expected_start}",
                words.len()
            ));
        }
        if let Some(top) = upper.last() {
            if top.nodes.binary_search(&entry).is_err() {
                return Err("entry point is not on the top level".into());
            }
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
        let degrees_ok = (2..=M_MAX).contains(&m) && Some(m0) == m.checked_mul(2);
        if n != n_expected || !degrees_ok || (n > 0 && entry >= n) {
            return Err("graph header changed since it was checked".into());
        }
        let level0_start = add(HEADER_WORDS, levels)?;
        let level0 = block(words, level0_start, mul(n as usize, add(1, m0)?)?)
            .ok_or("level 0 block past the end")?;
        let mut upper = Vec::with_capacity(levels);
        for l in 1..=levels {
            let start = word(words, level_slot(l)?)? as usize;
            let count = word(words, start)? as usize;
            let nodes =
                block(words, add(start, 1)?, count).ok_or("level node list past the end")?;
            let rec_start = add(add(start, 1)?, count)?;
            let records = block(words, rec_start, mul(count, add(1, m)?)?)
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
        // Strides are at most 1 + 2 * M_MAX and node ids below 2^32: no product overflows
        // a 64-bit usize; saturation only guards narrower targets.
        let Some(upper) = level.checked_sub(1) else {
            let stride = self.m0.saturating_add(1);
            let start = (node as usize).saturating_mul(stride);
            return block(self.level0, start, stride).map_or(&[], |rec| record_ids(rec, self.m0));
        };
        let Some(lv) = self.upper.get(upper) else {
            return &[];
        };
        let Ok(pos) = lv.nodes.binary_search(&node) else {
            return &[];
        };
        let stride = self.m.saturating_add(1);
        block(lv.records, pos.saturating_mul(stride), stride)
            .map_or(&[], |rec| record_ids(rec, self.m))
    }

    /// The whole level-0 record of `node` (its count word, then `2m` id slots), found by
    /// position alone: for prefetching, without reading the count (a demand load that would
    /// wait for the very line the prefetch asks for). Empty if `node` is past the graph.
    #[inline]
    pub(crate) fn level0_record(&self, node: u32) -> &'a [u32] {
        let stride = self.m0.saturating_add(1);
        block(self.level0, (node as usize).saturating_mul(stride), stride).unwrap_or(&[])
    }

    /// Nodes present on `level` (all nodes for level 0).
    pub fn level_nodes(&self, level: usize) -> Box<dyn Iterator<Item = u32> + '_> {
        match level.checked_sub(1) {
            None => Box::new(0..self.n),
            Some(upper) => match self.upper.get(upper) {
                Some(lv) => Box::new(lv.nodes.iter().copied()),
                None => Box::new(std::iter::empty()),
            },
        }
    }
}
