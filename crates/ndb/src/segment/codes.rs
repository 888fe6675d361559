//! Quantized code files: `segments/<segment>-<gen>.codes`, one per segment of a collection
//! with quantization on, named by the manifest (docs/FORMAT.md, "Code files").
//!
//! ```text
//! 0   magic        [u8; 8]  "NDBCODES"
//! 8   version      u32      1
//! 12  kind         u32      1 int8, 2 binary
//! 16  segment_id   u64
//! 24  rows         u64
//! 32  params_len   u64      bytes of quantizer parameters
//! 40  stride       u32      bytes per row record
//! 44  dim          u32
//! 48  body_crc     u32      CRC-32C of bytes 64..end
//! 52  header_crc   u32      CRC-32C of bytes 0..52
//! 56  reserved     [u8; 8]  zero
//! 64  params       the quantizer's own checksummed bytes ("NQI8" / "NQB1", crates/ndb-quant)
//! ..  zero padding to a multiple of 64
//! R   records      rows × stride
//! ```
//!
//! An int8 record is the `dim` code bytes, zero padding to a multiple of 4, then `‖v‖²` as an
//! `f32`; a binary record is the `⌈dim/64⌉` code words (`u64`) then the 24 bytes of
//! [`BinaryFactors`].

use crate::codec::{crc32c, Reader};
use crate::config::Quantization;
use crate::error::IoContext;
use crate::{Error, Result};
use ndb_quant::{BinaryConfig, BinaryFactors, BinaryQuantizer, Int8Config, Int8Quantizer};
use ndb_storage::{Mapping, OpenMode, Vfs};
use std::path::{Path, PathBuf};

const MAGIC: [u8; 8] = *b"NDBCODES";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 64;
/// Rows the quantizer is fitted on, spread evenly over the segment.
const FIT_SAMPLE_ROWS: usize = 16_384;

/// File name of generation `gen` of segment `segment_id`'s codes.
pub(crate) fn codes_file_name(segment_id: u64, gen: u64) -> String {
    format!("{segment_id:06}-{gen:06}.codes")
}

/// A fitted quantizer.
#[derive(Debug)]
pub(crate) enum Quantizer {
    Int8(Int8Quantizer),
    Binary(BinaryQuantizer),
}

impl Quantizer {
    fn kind(&self) -> u32 {
        match self {
            Quantizer::Int8(_) => 1,
            Quantizer::Binary(_) => 2,
        }
    }

    pub fn quantization(&self) -> Quantization {
        match self {
            Quantizer::Int8(_) => Quantization::Int8,
            Quantizer::Binary(_) => Quantization::Binary,
        }
    }

    /// Bytes per row record.
    fn stride(&self, dim: usize) -> usize {
        match self {
            Quantizer::Int8(_) => dim.next_multiple_of(4) + 4,
            Quantizer::Binary(q) => 8 * q.code_words() + BinaryFactors::BYTES,
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        match self {
            Quantizer::Int8(q) => q.to_bytes(),
            Quantizer::Binary(q) => q.to_bytes(),
        }
    }

    /// Encode `vector` into `record` (`stride` bytes, zeroed); `words` is scratch space.
    fn encode(&self, vector: &[f32], record: &mut [u8], words: &mut Vec<u64>) -> Result<()> {
        let quant = |e: ndb_quant::QuantError| Error::invalid(format!("quantizing: {e}"));
        match self {
            Quantizer::Int8(q) => {
                let (codes, tail) = record.split_at_mut(record.len() - 4);
                let norm = q
                    .encode(vector, &mut codes[..vector.len()])
                    .map_err(quant)?;
                tail.copy_from_slice(&norm.to_le_bytes());
            }
            Quantizer::Binary(q) => {
                words.clear();
                words.resize(q.code_words(), 0);
                let factors = q.encode(vector, words).map_err(quant)?;
                let (code, tail) = record.split_at_mut(8 * words.len());
                code.copy_from_slice(bytemuck::cast_slice(words));
                tail.copy_from_slice(&factors.to_le_bytes());
            }
        }
        Ok(())
    }
}

/// Fit a quantizer of kind `quantization` to `vectors` (a sample of up to 16,384 rows spread
/// over them; `seed` seeds the binary rotation). `None` for [`Quantization::None`] or no rows.
pub(crate) fn fit(
    vectors: &(impl ndb_hnsw::Vectors + ?Sized),
    quantization: Quantization,
    seed: u64,
) -> Result<Option<Quantizer>> {
    let (rows, dim) = (vectors.len(), vectors.dim());
    if rows == 0 || quantization == Quantization::None {
        return Ok(None);
    }
    let step = rows.div_ceil(FIT_SAMPLE_ROWS);
    let mut sample = Vec::with_capacity(rows.div_ceil(step) * dim);
    for row in (0..rows).step_by(step) {
        sample.extend_from_slice(vectors.vector(row as u32));
    }
    let quant = |e: ndb_quant::QuantError| Error::invalid(format!("fitting codes: {e}"));
    Ok(Some(match quantization {
        Quantization::Int8 => {
            Quantizer::Int8(Int8Quantizer::fit(&sample, dim, Int8Config::default()).map_err(quant)?)
        }
        Quantization::Binary => {
            let config = BinaryConfig {
                seed: BinaryConfig::default().seed ^ seed,
                ..BinaryConfig::default()
            };
            Quantizer::Binary(BinaryQuantizer::fit(&sample, dim, config).map_err(quant)?)
        }
        Quantization::None => return Ok(None),
    }))
}

/// Write the codes of `vectors` under `quantizer` as segment `segment_id`'s code file and fsync
/// it (the caller syncs the directory). Returns its length.
pub(crate) fn write(
    vfs: &dyn Vfs,
    path: &Path,
    segment_id: u64,
    quantizer: &Quantizer,
    vectors: &(impl ndb_hnsw::Vectors + ?Sized),
) -> Result<u64> {
    let dim = vectors.dim();
    let stride = quantizer.stride(dim);
    let params = quantizer.to_bytes();
    let records_at = (HEADER_LEN + params.len()).next_multiple_of(64);
    let mut body = vec![0u8; records_at - HEADER_LEN + vectors.len() * stride];
    body[..params.len()].copy_from_slice(&params);
    let records = &mut body[records_at - HEADER_LEN..];
    let mut words = Vec::new();
    for (row, record) in records.chunks_exact_mut(stride).enumerate() {
        quantizer.encode(vectors.vector(row as u32), record, &mut words)?;
    }
    let mut head = Vec::with_capacity(HEADER_LEN);
    head.extend_from_slice(&MAGIC);
    head.extend_from_slice(&VERSION.to_le_bytes());
    head.extend_from_slice(&quantizer.kind().to_le_bytes());
    head.extend_from_slice(&segment_id.to_le_bytes());
    head.extend_from_slice(&(vectors.len() as u64).to_le_bytes());
    head.extend_from_slice(&(params.len() as u64).to_le_bytes());
    head.extend_from_slice(&(stride as u32).to_le_bytes());
    head.extend_from_slice(&(dim as u32).to_le_bytes());
    head.extend_from_slice(&crc32c(&body).to_le_bytes());
    let crc = crc32c(&head);
    head.extend_from_slice(&crc.to_le_bytes());
    head.resize(HEADER_LEN, 0);
    let file = vfs.open(path, OpenMode::CreateTruncate).at(path)?;
    file.write_all_at(&head, 0).at(path)?;
    file.write_all_at(&body, HEADER_LEN as u64).at(path)?;
    file.sync_all().at(path)?;
    Ok((HEADER_LEN + body.len()) as u64)
}

/// A mapped code file, checked whole at open (header, parameters, length, body checksum).
#[derive(Debug)]
pub(crate) struct SegmentCodes {
    path: PathBuf,
    map: Mapping,
    quantizer: Quantizer,
    rows: u32,
    stride: usize,
    records_at: usize,
    pub file_bytes: u64,
}

/// The fields of a code file's header.
struct Header {
    kind: u32,
    segment: u64,
    rows: u64,
    params_len: u64,
    stride: u32,
    dim: u32,
    body_crc: u32,
}

impl SegmentCodes {
    /// Open and check every byte: a code file is used only if it is entirely intact.
    pub fn open(
        vfs: &dyn Vfs,
        path: &Path,
        segment_id: u64,
        rows: u32,
        dim: usize,
    ) -> Result<Self> {
        let bad = |offset: u64, reason: String| Error::corruption(path, offset, reason);
        let file = vfs.open(path, OpenMode::Read).at(path)?;
        let len = file.len().at(path)?;
        if len < HEADER_LEN as u64 {
            return Err(bad(
                0,
                format!("code file is {len} bytes, shorter than its header"),
            ));
        }
        let map = file.map(len).at(path)?;
        let h = read_header(path, &map)?;
        if h.segment != segment_id || h.rows != u64::from(rows) || h.dim as usize != dim {
            return Err(bad(
                16,
                format!(
                    "codes are for segment {} with {} rows of {} dimensions; expected segment \
                 {segment_id}, {rows} rows of {dim}",
                    h.segment, h.rows, h.dim
                ),
            ));
        }
        let body = map.get(HEADER_LEN..).unwrap_or_default();
        if crc32c(body) != h.body_crc {
            return Err(bad(
                HEADER_LEN as u64,
                "code file body checksum mismatch".into(),
            ));
        }
        let params = usize::try_from(h.params_len)
            .ok()
            .and_then(|n| body.get(..n))
            .ok_or_else(|| {
                bad(
                    32,
                    format!("parameters of {} bytes overrun the file", h.params_len),
                )
            })?;
        let quant = |e: ndb_quant::QuantError| bad(HEADER_LEN as u64, format!("quantizer: {e}"));
        let quantizer = match h.kind {
            1 => Quantizer::Int8(Int8Quantizer::from_bytes(params).map_err(quant)?),
            2 => Quantizer::Binary(BinaryQuantizer::from_bytes(params).map_err(quant)?),
            other => return Err(bad(12, format!("unknown code kind {other}"))),
        };
        let dim_of = match &quantizer {
            Quantizer::Int8(q) => q.dim(),
            Quantizer::Binary(q) => q.dim(),
        };
        let stride = quantizer.stride(dim);
        if dim_of != dim || h.stride as usize != stride {
            return Err(bad(40, format!(
                "quantizer of {dim_of} dimensions with {}-byte records; expected {dim} and {stride}",
                h.stride
            )));
        }
        let records_at = (HEADER_LEN + params.len()).next_multiple_of(64);
        let expected = (records_at as u64).checked_add(u64::from(rows) * stride as u64);
        if expected != Some(len) {
            return Err(bad(
                0,
                format!("code file is {len} bytes; its header says {expected:?}"),
            ));
        }
        // Codes are read at random by graph searches: no read-ahead.
        map.advise_random();
        Ok(Self {
            path: path.to_path_buf(),
            map,
            quantizer,
            rows,
            stride,
            records_at,
            file_bytes: len,
        })
    }

    /// The quantizer the codes were made with.
    pub fn quantizer(&self) -> &Quantizer {
        &self.quantizer
    }

    /// Row `row`'s record (empty past the last row).
    #[inline]
    pub fn record(&self, row: u32) -> &[u8] {
        let start = self.records_at + row as usize * self.stride;
        self.map.get(start..start + self.stride).unwrap_or_default()
    }

    /// The records of rows `rows` (clamped to the file), back to back.
    pub fn records(&self, rows: std::ops::Range<u32>) -> &[u8] {
        let end = rows.end.min(self.rows) as usize;
        let start = (rows.start as usize).min(end);
        let at = |row: usize| self.records_at + row * self.stride;
        self.map.get(at(start)..at(end)).unwrap_or_default()
    }

    /// Bytes per record.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Check every byte again (what `verify` does).
    pub fn verify(&self) -> Result<()> {
        let h = read_header(&self.path, &self.map)?;
        if crc32c(self.map.get(HEADER_LEN..).unwrap_or_default()) != h.body_crc {
            return Err(Error::corruption(
                &self.path,
                HEADER_LEN as u64,
                "code file body checksum mismatch",
            ));
        }
        Ok(())
    }
}

/// The checked header of a code file.
fn read_header(path: &Path, bytes: &[u8]) -> Result<Header> {
    let bad = |offset: u64, reason: &str| Error::corruption(path, offset, reason);
    let head = bytes
        .get(..HEADER_LEN)
        .ok_or_else(|| bad(0, "code file shorter than its header"))?;
    let mut r = Reader::new(head);
    if r.array::<8>() != Some(MAGIC) {
        return Err(bad(0, "bad code file magic"));
    }
    let version = r.u32().unwrap_or(0);
    let h = Header {
        kind: r.u32().unwrap_or(0),
        segment: r.u64().unwrap_or(0),
        rows: r.u64().unwrap_or(0),
        params_len: r.u64().unwrap_or(0),
        stride: r.u32().unwrap_or(0),
        dim: r.u32().unwrap_or(0),
        body_crc: r.u32().unwrap_or(0),
    };
    let header_crc = r.u32().unwrap_or(0);
    // The checksum first: a damaged version field is damage, not a newer format.
    if header_crc != crc32c(head.get(..52).unwrap_or_default()) {
        return Err(bad(52, "code file header checksum mismatch"));
    }
    if version > VERSION {
        return Err(Error::UnsupportedFormat {
            file: path.to_path_buf(),
            found: version,
            supported: VERSION,
        });
    }
    if version == 0 {
        return Err(bad(8, "code file version 0"));
    }
    Ok(h)
}
