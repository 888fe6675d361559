//! Filtered-search planning, per segment: find (or estimate) the rows a filter selects, then
//! search them exactly when they are few, or traverse the graph — visiting non-matching nodes
//! without returning them, with a wider beam — when they are many. Either way a search returns
//! `top_k` results whenever `top_k` documents match.

use crate::collection::state::LiveSegment;
use crate::filter::Filter;
use crate::search::row_bits::RowBits;
use crate::Result;
use roaring::RoaringBitmap;

/// Below this fraction of matching rows the graph is not walked through rejected nodes.
const GRAPH_SELECTIVITY_MIN: f64 = 0.05;
/// Below this fraction of matching rows (and from `TWO_HOP_SELECTIVITY_MIN` up), a graph walk
/// over a row bitmap steps over rejected nodes instead of scoring them.
const TWO_HOP_BELOW: f64 = 0.5;
/// Below this fraction the allowed nodes are too sparse for two-hop steps to keep them
/// connected; the matches are few enough to score exactly anyway.
const TWO_HOP_SELECTIVITY_MIN: f64 = 0.02;
/// Rows decoded to estimate a filter's selectivity when no payload index answers it.
const SAMPLE_ROWS: u32 = 512;

/// Which rows a graph search may return.
pub(crate) enum Allow<'f> {
    /// Every live row.
    Live,
    /// Exactly these rows (deleted ones already removed).
    Rows(RoaringBitmap),
    /// Exactly these rows, as one bit per row (for two-hop walks, which ask about many rows).
    Bits(RowBits),
    /// Live rows whose payload matches (decoded per visited row).
    Filter(&'f Filter),
}

/// Whether `row` of `seg` is live and its payload matches `filter` (the predicate of
/// [`Allow::Filter`]; a row whose payload cannot be read does not match).
pub(crate) fn live_and_matches(seg: &LiveSegment, filter: &Filter, row: u32) -> bool {
    !seg.deleted.contains(row)
        && seg
            .segment
            .payload_of(row)
            .is_ok_and(|p| super::payload_matches(Some(filter), p))
}

/// How to search one segment.
pub(crate) enum Plan<'f> {
    Graph {
        allow: Allow<'f>,
        ef: usize,
        /// Step over rejected nodes to their neighbours instead of scoring them (a selective
        /// filter; see `ndb_hnsw::GraphView::search_two_hop`).
        two_hop: bool,
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

/// Live rows of `seg` matching `filter`, from its payload indexes if they can answer: the
/// declared ones, and the automatic ones built (on first use) for the other fields.
fn matching_rows(seg: &LiveSegment, filter: &Filter) -> Result<Option<RoaringBitmap>> {
    let rows = seg.segment.rows();
    let declared = seg.payload_index.as_deref();
    seg.auto_index
        .ensure(&seg.segment, declared, filter.node())?;
    let Some((candidates, exact)) = seg.auto_index.candidates(declared, filter.node(), rows) else {
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

/// Rough cost model in distance computations: exact search scores every match; a graph walk
/// that scores every node it meets scores about `beam · m0` nodes to fill its beam, and
/// `1 / selectivity` times more when most nodes it meets do not match.
fn graph_is_cheaper(matches: u64, selectivity: f64, beam: usize, m0: usize) -> bool {
    let graph = beam.saturating_mul(m0) as f64 / selectivity.max(1e-6);
    selectivity >= GRAPH_SELECTIVITY_MIN && (matches as f64) > graph
}

/// A two-hop walk scores only allowed nodes, about `m0` per expansion and a beam's worth of
/// expansions: cheaper than scoring every match once the matches outnumber that.
fn two_hop_is_cheaper(matches: u64, selectivity: f64, ef: usize, m0: usize) -> bool {
    (TWO_HOP_SELECTIVITY_MIN..TWO_HOP_BELOW).contains(&selectivity)
        && matches as f64 > (ef.saturating_mul(m0)) as f64
}

/// The beam of a walk that scores every node it meets and keeps the matching ones, over a row
/// bitmap matching at least half the rows: `ef · √selectivity`. Its beam holds matches only,
/// so its worst kept match ranks about `beam / selectivity` among all rows and the walk reaches
/// further than an unfiltered one with the same beam; with this beam the filtered recall at a
/// given `ef` is the unfiltered one's (ADR 0016: within -0.001..+0.03 on three data sets at
/// ef 32, 64 and 100), which is what `ef` promises the caller.
fn narrow(ef: usize, selectivity: f64) -> usize {
    ((ef as f64) * selectivity.clamp(0.0, 1.0).sqrt()).ceil() as usize
}

/// The beam of a walk that evaluates the filter on each node it meets (no row bitmap, the
/// selectivity estimated on a sample): wider for rarer matches, without paying `1/selectivity`.
fn widen(ef: usize, selectivity: f64) -> usize {
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
                two_hop: false,
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
        let n = matches.len();
        return Ok(if !has_graph {
            Plan::Rows(matches)
        } else if two_hop_is_cheaper(n, selectivity, ef, m0) {
            Plan::Graph {
                ef,
                allow: Allow::Bits(RowBits::new(&matches, rows)),
                two_hop: true,
            }
        } else if selectivity >= TWO_HOP_BELOW
            && graph_is_cheaper(n, selectivity, narrow(ef, selectivity), m0)
        {
            Plan::Graph {
                ef: narrow(ef, selectivity),
                allow: Allow::Rows(matches),
                two_hop: false,
            }
        } else {
            Plan::Rows(matches)
        });
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
            two_hop: false,
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
