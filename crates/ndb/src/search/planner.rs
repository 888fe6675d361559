//! Filtered-search planning, per segment: find (or estimate) the rows a filter selects, then
//! search them exactly when they are few, or traverse the graph — visiting non-matching nodes
//! without returning them, with a wider beam — when they are many. Either way a search returns
//! `top_k` results whenever `top_k` documents match.

use crate::collection::state::LiveSegment;
use crate::filter::Filter;
use crate::Result;
use roaring::RoaringBitmap;

/// Below this fraction of matching rows the graph is not used.
const GRAPH_SELECTIVITY_MIN: f64 = 0.05;
/// Rows decoded to estimate a filter's selectivity when no payload index answers it.
const SAMPLE_ROWS: u32 = 512;

/// Which rows a graph search may return.
pub(crate) enum Allow<'f> {
    /// Every live row.
    Live,
    /// Exactly these rows (deleted ones already removed).
    Rows(RoaringBitmap),
    /// Live rows whose payload matches (decoded per visited row).
    Filter(&'f Filter),
}

impl Allow<'_> {
    pub fn allows(&self, seg: &LiveSegment, row: u32) -> bool {
        match self {
            Allow::Live => !seg.deleted.contains(row),
            Allow::Rows(rows) => rows.contains(row),
            Allow::Filter(f) => {
                !seg.deleted.contains(row)
                    && seg
                        .segment
                        .payload_of(row)
                        .is_ok_and(|p| super::payload_matches(Some(f), p))
            }
        }
    }
}

/// How to search one segment.
pub(crate) enum Plan<'f> {
    Graph {
        allow: Allow<'f>,
        ef: usize,
    },
    /// Score exactly these rows.
    Rows(RoaringBitmap),
    /// Scan every row (filter checked on candidates).
    Scan,
}

fn row_matches(seg: &LiveSegment, filter: &Filter, row: u32) -> Result<bool> {
    Ok(super::payload_matches(
        Some(filter),
        seg.segment.payload_of(row)?,
    ))
}

/// Live rows of `seg` matching `filter`, from its payload index if that can answer.
fn matching_rows(seg: &LiveSegment, filter: &Filter) -> Result<Option<RoaringBitmap>> {
    let rows = seg.segment.rows();
    let Some((candidates, exact)) = seg
        .payload_index
        .as_ref()
        .and_then(|p| p.candidates(filter.node(), rows))
    else {
        return Ok(None);
    };
    let mut out = candidates - &*seg.deleted;
    if !exact {
        let mut checked = RoaringBitmap::new();
        for row in out.iter() {
            if row_matches(seg, filter, row)? {
                checked.insert(row);
            }
        }
        out = checked;
    }
    Ok(Some(out))
}

/// Wider beams for rarer matches: the graph must be walked further to meet `k` of them.
/// Rough cost model in distance computations: exact search scores every match; a graph search
/// scores about `ef · m0` nodes to fill its beam, and `1 / selectivity` times more when most
/// nodes it meets do not match.
fn graph_is_cheaper(matches: u64, selectivity: f64, ef: usize, m0: usize) -> bool {
    let graph = widen(ef, selectivity).saturating_mul(m0) as f64 / selectivity.max(1e-6);
    selectivity >= GRAPH_SELECTIVITY_MIN && (matches as f64) > graph
}

fn widen(ef: usize, selectivity: f64) -> usize {
    // The beam already walks through non-matching nodes; a moderate widening keeps recall at
    // low selectivity without paying 1/selectivity.
    let factor = (1.0 / selectivity.max(1e-3)).sqrt().min(4.0);
    // `as` saturates: a huge `ef` gives usize::MAX, never a wrap.
    ((ef as f64) * factor).ceil() as usize
}

pub(crate) fn plan<'f>(
    seg: &LiveSegment,
    filter: Option<&'f Filter>,
    has_graph: bool,
    ef: usize,
) -> Result<Plan<'f>> {
    // Neighbours per node on the bottom level of the graph, for the cost model.
    let m0 = seg
        .index
        .as_ref()
        .and_then(|i| i.view().ok())
        .map_or(32, |v| 2 * v.m());
    let Some(filter) = filter else {
        return Ok(if has_graph {
            Plan::Graph {
                allow: Allow::Live,
                ef,
            }
        } else {
            Plan::Scan
        });
    };
    let rows = seg.segment.rows();
    if rows == 0 {
        return Ok(Plan::Rows(RoaringBitmap::new()));
    }
    if let Some(matches) = matching_rows(seg, filter)? {
        let selectivity = matches.len() as f64 / f64::from(rows);
        return Ok(
            if has_graph && graph_is_cheaper(matches.len(), selectivity, ef, m0) {
                Plan::Graph {
                    ef: widen(ef, selectivity),
                    allow: Allow::Rows(matches),
                }
            } else {
                Plan::Rows(matches)
            },
        );
    }
    if !has_graph {
        return Ok(Plan::Scan);
    }
    // No payload index: estimate the selectivity on a sample of rows spread over the segment.
    let step = (rows / SAMPLE_ROWS).max(1);
    let (mut seen, mut hits) = (0u32, 0u32);
    for row in (0..rows).step_by(step as usize) {
        seen += 1;
        hits += u32::from(row_matches(seg, filter, row)?);
    }
    let selectivity = f64::from(hits) / f64::from(seen.max(1));
    if selectivity >= 2.0 * GRAPH_SELECTIVITY_MIN {
        return Ok(Plan::Graph {
            ef: widen(ef, selectivity),
            allow: Allow::Filter(filter),
        });
    }
    let mut matches = RoaringBitmap::new();
    for row in 0..rows {
        if !seg.deleted.contains(row) && row_matches(seg, filter, row)? {
            matches.insert(row);
        }
    }
    Ok(Plan::Rows(matches))
}
