//! Searching a segment through its quantized codes: estimates from the codes rank the rows (in
//! a graph walk or a scan), then the best `oversampling × k` candidates are rescored with the
//! `f32` vectors (checked rows), unless the search asked for estimates only.

use super::metric::Scorer;
use super::topk::TopK;
use crate::collection::state::LiveSegment;
use crate::segment::codes::{Quantizer, SegmentCodes};
use crate::{Distance, Result};
use ndb_quant::{BinaryFactors, BinaryQuery, Int8Query, Metric, PrepareQuery};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Rows whose estimates are computed per block of a scan.
const SCAN_BLOCK_ROWS: u32 = 256;

/// How many candidates are rescored, and whether.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rescore {
    /// Candidates per result (≥ 1).
    pub oversampling: f32,
    /// `false`: return the estimates as scores.
    pub rescore: bool,
}

impl Rescore {
    /// The default oversampling for codes of `quantizer` at `dim` dimensions: enough for
    /// recall@10 ≥ 0.95 on the sets in docs/USER-GUIDE.md ("Quantization").
    pub fn default_oversampling(quantizer: &Quantizer, dim: usize) -> f32 {
        match quantizer {
            Quantizer::Int8(_) => 2.0,
            Quantizer::Binary(_) if dim >= 256 => 4.0,
            Quantizer::Binary(_) => 10.0,
        }
    }

    /// Candidates to rescore for `k` results.
    pub fn candidates(oversampling: f32, k: usize) -> usize {
        // `as` saturates: a huge product gives usize::MAX, never a wrap.
        ((k as f64) * f64::from(oversampling)).ceil().max(k as f64) as usize
    }
}

/// A query prepared for one segment's codes.
pub(crate) enum CodeQuery {
    Int8(Int8Query),
    Binary(BinaryQuery),
}

impl CodeQuery {
    /// Prepare `query` (the scorer's: unit length for cosine) for `codes`.
    pub fn new(codes: &SegmentCodes, query: &[f32], stored: Distance) -> Result<Self> {
        let metric = quant_metric(stored);
        let bad = |e: ndb_quant::QuantError| crate::Error::invalid(format!("query: {e}"));
        Ok(match codes.quantizer() {
            Quantizer::Int8(q) => CodeQuery::Int8(q.prepare(query, metric).map_err(bad)?),
            Quantizer::Binary(q) => CodeQuery::Binary(q.prepare(query, metric).map_err(bad)?),
        })
    }
}

/// The estimate nDB's stored metric maps onto (cosine collections store unit vectors).
fn quant_metric(stored: Distance) -> Metric {
    match stored {
        Distance::Euclidean => Metric::L2Squared,
        Distance::Cosine | Distance::DotProduct => Metric::Dot,
    }
}

/// Estimated graph scores (dot, or negated squared L2) of one segment's rows.
pub(crate) struct CodeScore<'a> {
    codes: &'a SegmentCodes,
    query: &'a CodeQuery,
    /// −1 when the estimate is a squared distance (lower is closer).
    sign: f32,
    /// Bytes of a record's code part.
    code_bytes: usize,
}

impl<'a> CodeScore<'a> {
    pub fn new(codes: &'a SegmentCodes, query: &'a CodeQuery, stored: Distance) -> Self {
        let stride = codes.stride();
        let code_bytes = match query {
            CodeQuery::Int8(_) => stride - 4,
            CodeQuery::Binary(_) => stride - BinaryFactors::BYTES,
        };
        let sign = match quant_metric(stored) {
            Metric::Dot => 1.0,
            Metric::L2Squared => -1.0,
        };
        Self {
            codes,
            query,
            sign,
            code_bytes,
        }
    }

    /// The estimate for a record (`-inf` for a malformed one, which the open checks rule out).
    #[inline]
    fn estimate(&self, record: &[u8]) -> f32 {
        let Some((code, tail)) = record.split_at_checked(self.code_bytes) else {
            return f32::NEG_INFINITY;
        };
        let estimate = match self.query {
            CodeQuery::Int8(q) => {
                let dim = q.codes().len();
                let correction = tail
                    .first_chunk::<4>()
                    .map_or(f32::NAN, |b| f32::from_le_bytes(*b));
                code.get(..dim).and_then(|c| q.estimate(c, correction).ok())
            }
            CodeQuery::Binary(q) => {
                let words: Option<&[u64]> = bytemuck::try_cast_slice(code).ok();
                let factors = tail
                    .first_chunk::<{ BinaryFactors::BYTES }>()
                    .map(|b| BinaryFactors::from_le_bytes(*b));
                words
                    .zip(factors)
                    .and_then(|(w, f)| q.estimate(w, &f).ok())
                    .map(|e| e.value)
            }
        };
        match estimate {
            Some(e) if !e.is_nan() => self.sign * e,
            _ => f32::NEG_INFINITY,
        }
    }
}

impl ndb_hnsw::NodeScore for CodeScore<'_> {
    #[inline]
    fn score(&self, node: u32) -> f32 {
        self.estimate(self.codes.record(node))
    }

    #[inline]
    fn prefetch(&self, node: u32) {
        ndb_kernels::prefetch(self.codes.record(node));
    }
}

/// Rescore `candidates` (graph scores from estimates, any order) of segment `seg_index` into
/// `top`: with the `f32` vectors when `rescore.rescore`, else as estimated.
pub(crate) fn rescore_into<'s>(
    seg: &'s LiveSegment,
    seg_index: usize,
    scorer: &Scorer,
    rescore: Rescore,
    candidates: impl IntoIterator<Item = (f32, u32)>,
    top: &mut TopK<'s>,
) -> Result<()> {
    for (estimate, row) in candidates {
        let score = if rescore.rescore {
            scorer.score_one(seg.segment.row_checked_vector(row)?)
        } else {
            scorer.score_of_graph(estimate)
        };
        super::offer_row(top, seg, seg_index, row, score)?;
    }
    Ok(())
}

/// Scan rows `range` of a segment on its codes: keep the `want` best estimates among the rows
/// `allow` accepts, best first.
pub(crate) fn scan_codes(
    score: &CodeScore<'_>,
    range: std::ops::Range<u32>,
    want: usize,
    mut allow: impl FnMut(u32) -> Result<bool>,
) -> Result<Vec<(f32, u32)>> {
    // Min-heap of the best `want`: the worst kept estimate on top.
    let mut best: BinaryHeap<Reverse<(Ordered, u32)>> = BinaryHeap::with_capacity(want + 1);
    let mut row = range.start;
    while row < range.end {
        let end = range.end.min(row.saturating_add(SCAN_BLOCK_ROWS));
        let records = score.codes.records(row..end);
        for (i, record) in records.chunks_exact(score.codes.stride()).enumerate() {
            let r = row + i as u32;
            let s = score.estimate(record);
            let admits = best.len() < want || best.peek().is_some_and(|w| s > w.0 .0 .0);
            if admits && allow(r)? {
                best.push(Reverse((Ordered(s), r)));
                if best.len() > want {
                    best.pop();
                }
            }
        }
        row = end;
    }
    let mut out: Vec<(f32, u32)> = best.into_iter().map(|Reverse((s, r))| (s.0, r)).collect();
    out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    Ok(out)
}

/// An `f32` with a total order.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Ordered(f32);

impl Eq for Ordered {}
impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}
