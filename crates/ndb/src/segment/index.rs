//! HNSW index files: `segments/<segment>-<gen>.hnsw`, one per indexed segment, named by the
//! manifest (docs/FORMAT.md, "Index files").
//!
//! ```text
//! 0   magic        [u8; 8]  "NDBHNSW\0"
//! 8   version      u32
//! 12  metric       u32      1 dot, 2 negated squared L2
//! 16  segment_id   u64
//! 24  rows         u64
//! 32  words        u64      number of u32 graph words
//! 40  body_crc     u32      CRC-32C of the body
//! 44  header_crc   u32      CRC-32C of bytes 0..44
//! 48  reserved     [u8; 16]
//! 64  body         graph words (u32 little-endian), layout in crates/ndb-hnsw
//! ```

use crate::codec::{crc32c, Reader};
use crate::error::IoContext;
use crate::{Error, Result};
use ndb_hnsw::{GraphView, Metric};
use ndb_storage::{Mapping, OpenMode, Vfs};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

const MAGIC: [u8; 8] = *b"NDBHNSW\0";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 64;

/// File name of generation `gen` of segment `segment_id`'s index.
pub(crate) fn index_file_name(segment_id: u64, gen: u64) -> String {
    format!("{segment_id:06}-{gen:06}.hnsw")
}

/// The graph metric for a collection metric (cosine collections store unit vectors).
pub(crate) fn graph_metric(d: crate::Distance) -> Metric {
    match d {
        crate::Distance::Euclidean => Metric::NegL2Squared,
        crate::Distance::Cosine | crate::Distance::DotProduct => Metric::Dot,
    }
}

/// Build the graph for `vectors` with the collection's index parameters; `None` if `cancel`
/// was set meanwhile (the collection is closing).
pub(crate) fn build_graph(
    vectors: &(impl ndb_hnsw::Vectors + ?Sized),
    distance: crate::Distance,
    config: &crate::IndexConfig,
    seed: u64,
    start_from: Option<&GraphSeed<'_>>,
    cancel: &AtomicBool,
) -> Option<ndb_hnsw::Graph> {
    let metric = graph_metric(distance);
    let params = ndb_hnsw::Params {
        m: config.m,
        ef_construction: config.ef_construction,
        seed,
    };
    // On a background task's own pool (the task thread waits without running other tasks).
    crate::background::install(|| build_on_this_pool(vectors, metric, params, start_from, cancel))
}

fn build_on_this_pool(
    vectors: &(impl ndb_hnsw::Vectors + ?Sized),
    metric: Metric,
    params: ndb_hnsw::Params,
    start_from: Option<&GraphSeed<'_>>,
    cancel: &AtomicBool,
) -> Option<ndb_hnsw::Graph> {
    if let Some(from) = start_from {
        let seeded = ndb_hnsw::build_seeded_cancellable(
            vectors,
            metric,
            params,
            &from.graph,
            from.map,
            cancel,
        );
        match seeded {
            Ok(graph) => return graph,
            Err(e) => log::info!("building segment {}'s graph from scratch: {e}", params.seed),
        }
    }
    ndb_hnsw::build_cancellable(vectors, metric, params, cancel)
}

/// An existing graph to start a new segment's graph from: `graph`'s node `i` is the new
/// segment's row `map[i]`.
pub(crate) struct GraphSeed<'a> {
    pub graph: GraphView<'a>,
    pub map: &'a [u32],
}

fn metric_code(m: Metric) -> u32 {
    match m {
        Metric::Dot => 1,
        Metric::NegL2Squared => 2,
    }
}

/// Write an index file and fsync it (the caller syncs the directory). Returns its length.
pub(crate) fn write(
    vfs: &dyn Vfs,
    path: &Path,
    segment_id: u64,
    rows: u64,
    metric: Metric,
    words: &[u32],
) -> Result<u64> {
    let body: &[u8] = bytemuck::cast_slice(words);
    let mut head = Vec::with_capacity(HEADER_LEN);
    head.extend_from_slice(&MAGIC);
    head.extend_from_slice(&VERSION.to_le_bytes());
    head.extend_from_slice(&metric_code(metric).to_le_bytes());
    head.extend_from_slice(&segment_id.to_le_bytes());
    head.extend_from_slice(&rows.to_le_bytes());
    head.extend_from_slice(&(words.len() as u64).to_le_bytes());
    head.extend_from_slice(&crc32c(body).to_le_bytes());
    let crc = crc32c(&head);
    head.extend_from_slice(&crc.to_le_bytes());
    head.resize(HEADER_LEN, 0);
    let file = vfs.open(path, OpenMode::CreateTruncate).at(path)?;
    file.write_all_at(&head, 0).at(path)?;
    file.write_all_at(body, HEADER_LEN as u64).at(path)?;
    file.sync_all().at(path)?;
    Ok((HEADER_LEN + body.len()) as u64)
}

/// A mapped index file whose header and graph shape were checked.
#[derive(Debug)]
pub(crate) struct SegmentIndex {
    path: PathBuf,
    map: Mapping,
    rows: u32,
    body_crc: u32,
    pub file_bytes: u64,
}

impl SegmentIndex {
    /// Open and check (header, length, graph shape; the body checksum is checked by
    /// [`SegmentIndex::verify`]).
    pub fn open(
        vfs: &dyn Vfs,
        path: &Path,
        segment_id: u64,
        rows: u32,
        metric: Metric,
    ) -> Result<Self> {
        let bad = |offset: u64, reason: String| Error::corruption(path, offset, reason);
        let file = vfs.open(path, OpenMode::Read).at(path)?;
        let len = file.len().at(path)?;
        if len < HEADER_LEN as u64 {
            return Err(bad(
                0,
                format!("index file is {len} bytes, shorter than its header"),
            ));
        }
        let mut head = [0u8; HEADER_LEN];
        file.read_exact_at(&mut head, 0).at(path)?;
        let mut r = Reader::new(&head);
        let magic = r.array::<8>();
        let version = r.u32().unwrap_or(0);
        let code = r.u32().unwrap_or(0);
        let seg = r.u64().unwrap_or(0);
        let file_rows = r.u64().unwrap_or(0);
        let words = r.u64().unwrap_or(0);
        let body_crc = r.u32().unwrap_or(0);
        let header_crc = r.u32().unwrap_or(0);
        if magic != Some(MAGIC) {
            return Err(bad(0, "bad index magic".into()));
        }
        // The checksum first: a damaged version field is damage, not a newer format.
        if header_crc != crc32c(&head[..44]) {
            return Err(bad(44, "index header checksum mismatch".into()));
        }
        if version > VERSION {
            return Err(Error::UnsupportedFormat {
                file: path.to_path_buf(),
                found: version,
                supported: VERSION,
            });
        }
        if version == 0 {
            return Err(bad(8, "index version 0".into()));
        }
        if seg != segment_id || file_rows != u64::from(rows) || code != metric_code(metric) {
            return Err(bad(16, format!(
                "index is for segment {seg} with {file_rows} rows and metric {code}; expected segment {segment_id}, {rows} rows, metric {}",
                metric_code(metric)
            )));
        }
        if Some(len)
            != words
                .checked_mul(4)
                .and_then(|b| b.checked_add(HEADER_LEN as u64))
        {
            return Err(bad(
                32,
                format!("index file is {len} bytes, its header says {words} words"),
            ));
        }
        let map = file.map(len).at(path)?;
        let idx = Self {
            path: path.to_path_buf(),
            map,
            rows,
            body_crc,
            file_bytes: len,
        };
        // The full shape check, once; searches use the cheap `view`.
        idx.check_shape()?;
        Ok(idx)
    }

    fn words(&self) -> Result<&[u32]> {
        bytemuck::try_cast_slice(&self.map[HEADER_LEN..]).map_err(|e| {
            Error::corruption(
                &self.path,
                HEADER_LEN as u64,
                format!("index body misaligned: {e}"),
            )
        })
    }

    fn graph_error(&self, reason: String) -> Error {
        Error::corruption(
            &self.path,
            HEADER_LEN as u64,
            format!("index graph: {reason}"),
        )
    }

    /// Every structural check of the graph (O(nodes on the upper levels)).
    fn check_shape(&self) -> Result<()> {
        GraphView::parse(self.words()?, self.rows)
            .map(|_| ())
            .map_err(|r| self.graph_error(r))
    }

    /// The graph, ready to search (its shape was checked at open; this reads only its header).
    pub fn view(&self) -> Result<GraphView<'_>> {
        GraphView::reopen(self.words()?, self.rows).map_err(|r| self.graph_error(r))
    }

    /// Check the body checksum and the graph's shape.
    pub fn verify(&self) -> Result<()> {
        let actual = crc32c(&self.map[HEADER_LEN..]);
        if actual != self.body_crc {
            return Err(Error::corruption(
                &self.path,
                HEADER_LEN as u64,
                format!(
                    "index body checksum mismatch (stored {:#010x}, computed {actual:#010x})",
                    self.body_crc
                ),
            ));
        }
        self.check_shape()
    }
}
