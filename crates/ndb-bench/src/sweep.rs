//! Recall–QPS sweeps of approximate search: one point per `ef`, and the QPS an engine reaches at a
//! given recall, read off its curve.

use serde_json::{json, Value};

use crate::report::fmt::{qps as fmt_qps, round};

/// One measured `ef` of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepPoint {
    /// Candidate list size of the search.
    pub ef: usize,
    /// Recall@k over the queries.
    pub recall: f64,
    /// Queries per second (queries / wall time of the run).
    pub qps: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Share of the run the process waited for a CPU (other processes), if measured.
    pub sched_wait: Option<f64>,
    /// Queries per second of on-CPU time of the searching thread (queries / CPU seconds): the
    /// QPS without the time other processes held the CPU, if measured.
    pub cpu_qps: Option<f64>,
}

impl SweepPoint {
    /// A point of `ef`, recall and QPS only (no latencies or CPU figures: zero and none).
    pub fn bare(ef: usize, recall: f64, qps: f64) -> SweepPoint {
        SweepPoint {
            ef,
            recall,
            qps,
            p50_ms: 0.0,
            p99_ms: 0.0,
            sched_wait: None,
            cpu_qps: None,
        }
    }

    /// The point as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "ef": self.ef,
            "recall": round(self.recall, 4),
            "qps": round(self.qps, 2),
            "p50_ms": round(self.p50_ms, 4),
            "p99_ms": round(self.p99_ms, 4),
            "sched_wait": self.sched_wait.map(|w| round(w, 4)),
            "cpu_qps": self.cpu_qps.map(|q| round(q, 2)),
        })
    }
}

/// The QPS of a curve at a target recall.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AtRecall {
    /// Between two measured points: QPS interpolated (log QPS linear in recall) between the
    /// last point below the target and the first at or above it, in `ef` order.
    Interpolated {
        /// Interpolated QPS.
        qps: f64,
        /// `ef` of the points on either side.
        ef_lo: usize,
        /// See `ef_lo`.
        ef_hi: usize,
    },
    /// Already reached at the smallest `ef` measured: its QPS, a lower bound (a smaller `ef`
    /// might reach the target faster).
    AtLeast {
        /// QPS of the smallest `ef`.
        qps: f64,
        /// That `ef`.
        ef: usize,
    },
    /// No measured `ef` reaches the target.
    NotReached {
        /// Best recall measured.
        best_recall: f64,
    },
}

impl AtRecall {
    /// The QPS figure, if the target was reached.
    pub fn qps(&self) -> Option<f64> {
        match *self {
            AtRecall::Interpolated { qps, .. } | AtRecall::AtLeast { qps, .. } => Some(qps),
            AtRecall::NotReached { .. } => None,
        }
    }

    /// For a table: `12,345` (interpolated), `>= 12,345` (at the smallest ef), or
    /// `not reached (best 0.981)`.
    pub fn cell(&self) -> String {
        match *self {
            AtRecall::Interpolated { qps, .. } => fmt_qps(qps),
            AtRecall::AtLeast { qps, ef } => format!(">= {} (ef {ef})", fmt_qps(qps)),
            AtRecall::NotReached { best_recall } => {
                format!("not reached (best {best_recall:.4})")
            }
        }
    }

    /// As JSON.
    pub fn to_json(&self) -> Value {
        match *self {
            AtRecall::Interpolated { qps, ef_lo, ef_hi } => json!({
                "qps": round(qps, 2), "how": "interpolated", "ef_between": [ef_lo, ef_hi],
            }),
            AtRecall::AtLeast { qps, ef } => json!({
                "qps": round(qps, 2), "how": "reached at the smallest ef (lower bound)", "ef": ef,
            }),
            AtRecall::NotReached { best_recall } => json!({
                "qps": null, "how": "not reached", "best_recall": round(best_recall, 4),
            }),
        }
    }
}

/// The QPS of the sweep `points` at recall `target`.
///
/// The points are taken in increasing `ef`; the first point whose recall is at least the target
/// decides. If it is the first point, its QPS is a lower bound ([`AtRecall::AtLeast`]);
/// otherwise log QPS is interpolated linearly in recall between it and the point before.
pub fn qps_at_recall(points: &[SweepPoint], target: f64) -> AtRecall {
    at_recall(points, target, |p| Some(p.qps))
}

/// As [`qps_at_recall`], with the on-CPU QPS ([`SweepPoint::cpu_qps`]); points without it are
/// left out.
pub fn cpu_qps_at_recall(points: &[SweepPoint], target: f64) -> AtRecall {
    at_recall(points, target, |p| p.cpu_qps)
}

fn at_recall(
    points: &[SweepPoint],
    target: f64,
    qps_of: impl Fn(&SweepPoint) -> Option<f64>,
) -> AtRecall {
    let mut pts: Vec<SweepPoint> = points
        .iter()
        .filter_map(|p| {
            let q = qps_of(p)?;
            (p.recall.is_finite() && q.is_finite() && q > 0.0).then(|| SweepPoint {
                qps: q,
                ..p.clone()
            })
        })
        .collect();
    pts.sort_by_key(|p| p.ef);
    let Some(i) = pts.iter().position(|p| p.recall >= target) else {
        let best_recall = pts.iter().map(|p| p.recall).fold(f64::NAN, f64::max);
        return AtRecall::NotReached { best_recall };
    };
    if i == 0 {
        return AtRecall::AtLeast {
            qps: pts[0].qps,
            ef: pts[0].ef,
        };
    }
    let (a, b) = (&pts[i - 1], &pts[i]);
    let span = b.recall - a.recall;
    let t = if span > 0.0 {
        ((target - a.recall) / span).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let qps = (a.qps.ln() + t * (b.qps.ln() - a.qps.ln())).exp();
    AtRecall::Interpolated {
        qps,
        ef_lo: a.ef,
        ef_hi: b.ef,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(ef: usize, recall: f64, qps: f64) -> SweepPoint {
        SweepPoint {
            cpu_qps: Some(qps / 2.0),
            ..SweepPoint::bare(ef, recall, qps)
        }
    }

    #[test]
    fn interpolates_log_qps() {
        let pts = [p(16, 0.8, 10_000.0), p(32, 0.9, 1_000.0), p(64, 1.0, 100.0)];
        match qps_at_recall(&pts, 0.95) {
            AtRecall::Interpolated { qps, ef_lo, ef_hi } => {
                assert!((qps - 316.227_766).abs() < 1e-3, "{qps}");
                assert_eq!((ef_lo, ef_hi), (32, 64));
            }
            other => panic!("{other:?}"),
        }
        // Exactly on a point.
        assert!((qps_at_recall(&pts, 0.9).qps().unwrap() - 1_000.0).abs() < 1e-9);
        assert!((cpu_qps_at_recall(&pts, 0.9).qps().unwrap() - 500.0).abs() < 1e-9);
    }

    #[test]
    fn lower_bound_and_not_reached() {
        let pts = [p(64, 0.97, 500.0), p(16, 0.93, 2_000.0)];
        assert_eq!(
            qps_at_recall(&pts, 0.90),
            AtRecall::AtLeast {
                qps: 2_000.0,
                ef: 16
            }
        );
        assert_eq!(
            qps_at_recall(&pts, 0.99),
            AtRecall::NotReached { best_recall: 0.97 }
        );
        assert!(qps_at_recall(&pts, 0.99).cell().starts_with("not reached"));
    }
}
