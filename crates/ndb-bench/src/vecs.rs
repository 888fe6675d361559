//! TexMex vector files: `.fvecs` (per row an `i32` LE dimension, then that many `f32` LE) and
//! `.ivecs` (the same with `i32` values), as written by the dataset scripts
//! (`scripts/fetch-dataset.sh`): `base.fvecs`, `query.fvecs`, `gt.ivecs`, `gt_dist.fvecs`.
//!
//! [`VecsReader`] streams a file in chunks of rows; [`read_fvecs`] / [`read_ivecs`] load it (or its
//! first rows) whole; [`write_fvecs`] / [`write_ivecs`] write one. Every malformed file is a
//! [`VecsError`] naming the file and the row at fault.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

/// Largest dimension accepted in a vector file (a guard against reading garbage as a header).
pub const MAX_DIM: usize = 1 << 20;

/// A malformed or unreadable vector file.
#[derive(Debug)]
pub enum VecsError {
    /// The file could not be opened, read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The file's content is not a valid `.fvecs` / `.ivecs` file.
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for VecsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VecsError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            VecsError::Format { path, message } => write!(f, "{}: {message}", path.display()),
        }
    }
}

impl std::error::Error for VecsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            VecsError::Io { source, .. } => Some(source),
            VecsError::Format { .. } => None,
        }
    }
}

fn io_err(path: &Path, source: io::Error) -> VecsError {
    VecsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn format_err(path: &Path, message: impl Into<String>) -> VecsError {
    VecsError::Format {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// A 4-byte little-endian element of a vector file: `f32` (`.fvecs`) or `i32` (`.ivecs`).
pub trait Elem: Copy + Default + Send + Sync + 'static {
    /// The value from its 4 little-endian bytes.
    fn from_le(bytes: [u8; 4]) -> Self;
    /// Its 4 little-endian bytes.
    fn to_le(self) -> [u8; 4];
}

impl Elem for f32 {
    #[inline]
    fn from_le(bytes: [u8; 4]) -> Self {
        f32::from_le_bytes(bytes)
    }
    #[inline]
    fn to_le(self) -> [u8; 4] {
        self.to_le_bytes()
    }
}

impl Elem for i32 {
    #[inline]
    fn from_le(bytes: [u8; 4]) -> Self {
        i32::from_le_bytes(bytes)
    }
    #[inline]
    fn to_le(self) -> [u8; 4] {
        self.to_le_bytes()
    }
}

/// Rows of equal dimension, stored row-major in one buffer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Vectors<T> {
    /// Dimension (values per row).
    pub dim: usize,
    /// `rows() * dim` values, row after row.
    pub data: Vec<T>,
}

impl<T: Elem> Vectors<T> {
    /// Rows from a flat buffer; `data.len()` must be a multiple of `dim`.
    pub fn new(dim: usize, data: Vec<T>) -> Self {
        assert!(dim > 0 && data.len().is_multiple_of(dim), "ragged vectors");
        Vectors { dim, data }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    /// Row `i`.
    #[inline]
    pub fn row(&self, i: usize) -> &[T] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// Iterator over the rows.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[T]> + '_ {
        self.data.chunks_exact(self.dim.max(1))
    }

    /// Keep only the first `n` rows.
    pub fn truncate(&mut self, n: usize) {
        self.data.truncate(n * self.dim);
    }
}

/// A streaming reader of a `.fvecs` (`T = f32`) or `.ivecs` (`T = i32`) file.
pub struct VecsReader<T> {
    path: PathBuf,
    reader: BufReader<File>,
    dim: usize,
    rows: usize,
    next_row: usize,
    buf: Vec<u8>,
    _elem: PhantomData<T>,
}

impl<T: Elem> VecsReader<T> {
    /// Open `path` and check its header and size: the first row's dimension must be in
    /// `1..=MAX_DIM` and the size a whole number of rows. Rows' own headers are checked as they
    /// are read.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, VecsError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| io_err(path, e))?;
        let len = file.metadata().map_err(|e| io_err(path, e))?.len();
        if len == 0 {
            return Err(format_err(path, "empty file (no vectors)"));
        }
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut head = [0u8; 4];
        reader.read_exact(&mut head).map_err(|_| {
            format_err(
                path,
                format!("file of {len} bytes is too short for a header"),
            )
        })?;
        let d = i32::from_le_bytes(head);
        if d <= 0 || d as usize > MAX_DIM {
            return Err(format_err(
                path,
                format!("first row's dimension is {d}, expected 1..={MAX_DIM} (not a .fvecs/.ivecs file?)"),
            ));
        }
        let dim = d as usize;
        let row_bytes = 4 + 4 * dim as u64;
        if len % row_bytes != 0 {
            return Err(format_err(
                path,
                format!(
                    "size {len} bytes is not a whole number of rows of dimension {dim} \
                     ({row_bytes} bytes each): truncated or mixed dimensions"
                ),
            ));
        }
        Ok(VecsReader {
            path: path.to_path_buf(),
            reader,
            dim,
            rows: (len / row_bytes) as usize,
            next_row: 0,
            buf: Vec::new(),
            _elem: PhantomData,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Dimension of every row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Rows in the file.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Rows not read yet.
    pub fn remaining(&self) -> usize {
        self.rows - self.next_row
    }

    /// Read up to `max_rows` more rows, appending their values to `out`; returns how many rows
    /// were read (0 at the end of the file).
    pub fn read_rows(&mut self, max_rows: usize, out: &mut Vec<T>) -> Result<usize, VecsError> {
        let n = max_rows.min(self.remaining());
        if n == 0 {
            return Ok(0);
        }
        let row_bytes = 4 + 4 * self.dim;
        // The first row's header was consumed by `open`.
        let skip_first = self.next_row == 0;
        let bytes = n * row_bytes - if skip_first { 4 } else { 0 };
        self.buf.resize(bytes, 0);
        self.reader
            .read_exact(&mut self.buf)
            .map_err(|e| io_err(&self.path, e))?;
        out.reserve(n * self.dim);
        let mut pos = 0;
        for r in 0..n {
            if !(skip_first && r == 0) {
                let d = i32::from_le_bytes(self.buf[pos..pos + 4].try_into().expect("4 bytes"));
                if d as i64 != self.dim as i64 {
                    return Err(format_err(
                        &self.path,
                        format!(
                            "row {} has dimension {d}, expected {} (the first row's)",
                            self.next_row + r,
                            self.dim
                        ),
                    ));
                }
                pos += 4;
            }
            out.extend(
                self.buf[pos..pos + 4 * self.dim]
                    .chunks_exact(4)
                    .map(|b| T::from_le(b.try_into().expect("4 bytes"))),
            );
            pos += 4 * self.dim;
        }
        self.next_row += n;
        Ok(n)
    }

    /// Read up to `max_rows` more rows as a new buffer; `None` at the end of the file.
    pub fn next_chunk(&mut self, max_rows: usize) -> Result<Option<Vec<T>>, VecsError> {
        let mut out = Vec::new();
        match self.read_rows(max_rows, &mut out)? {
            0 => Ok(None),
            _ => Ok(Some(out)),
        }
    }

    /// Read the remaining rows, at most `limit` of them.
    pub fn read_all(mut self, limit: Option<usize>) -> Result<Vectors<T>, VecsError> {
        let n = limit.unwrap_or(usize::MAX).min(self.remaining());
        let mut data = Vec::with_capacity(n * self.dim);
        let mut left = n;
        while left > 0 {
            let got = self.read_rows(left.min(64 * 1024), &mut data)?;
            left -= got;
        }
        Ok(Vectors {
            dim: self.dim,
            data,
        })
    }
}

/// Load a `.fvecs` file (its first `limit` rows, or all).
pub fn read_fvecs(path: impl AsRef<Path>, limit: Option<usize>) -> Result<Vectors<f32>, VecsError> {
    VecsReader::<f32>::open(path)?.read_all(limit)
}

/// Load an `.ivecs` file (its first `limit` rows, or all).
pub fn read_ivecs(path: impl AsRef<Path>, limit: Option<usize>) -> Result<Vectors<i32>, VecsError> {
    VecsReader::<i32>::open(path)?.read_all(limit)
}

fn write_vecs<T: Elem>(path: &Path, v: &Vectors<T>) -> Result<(), VecsError> {
    if v.dim == 0 || v.dim > MAX_DIM || v.dim > i32::MAX as usize {
        return Err(format_err(
            path,
            format!("cannot write dimension {}", v.dim),
        ));
    }
    let file = File::create(path).map_err(|e| io_err(path, e))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let head = (v.dim as i32).to_le_bytes();
    let mut row_buf = Vec::with_capacity(4 + 4 * v.dim);
    for row in v.iter() {
        row_buf.clear();
        row_buf.extend_from_slice(&head);
        for &x in row {
            row_buf.extend_from_slice(&x.to_le());
        }
        w.write_all(&row_buf).map_err(|e| io_err(path, e))?;
    }
    w.flush().map_err(|e| io_err(path, e))?;
    Ok(())
}

/// Write `v` as a `.fvecs` file.
pub fn write_fvecs(path: impl AsRef<Path>, v: &Vectors<f32>) -> Result<(), VecsError> {
    write_vecs(path.as_ref(), v)
}

/// Write `v` as an `.ivecs` file.
pub fn write_ivecs(path: impl AsRef<Path>, v: &Vectors<i32>) -> Result<(), VecsError> {
    write_vecs(path.as_ref(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ndb-vecs-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        dir.join(name)
    }

    #[test]
    fn round_trip_and_chunks() {
        let p = tmp("a.fvecs");
        let v = Vectors::new(3, (0..30).map(|i| i as f32 * 0.5).collect());
        write_fvecs(&p, &v).expect("write");
        assert_eq!(read_fvecs(&p, None).expect("read"), v);
        assert_eq!(read_fvecs(&p, Some(4)).expect("read").rows(), 4);
        let mut r = VecsReader::<f32>::open(&p).expect("open");
        assert_eq!((r.dim(), r.rows()), (3, 10));
        let mut all = Vec::new();
        while let Some(c) = r.next_chunk(3).expect("chunk") {
            all.extend(c);
        }
        assert_eq!(all, v.data);

        let p = tmp("b.ivecs");
        let v = Vectors::new(2, vec![1, -2, 3, 4]);
        write_ivecs(&p, &v).expect("write");
        assert_eq!(read_ivecs(&p, None).expect("read"), v);
    }

    #[test]
    fn clear_errors() {
        let p = tmp("bad.fvecs");
        std::fs::write(&p, b"").expect("write");
        assert!(read_fvecs(&p, None)
            .unwrap_err()
            .to_string()
            .contains("empty file"));
        std::fs::write(&p, [2u8, 0, 0, 0, 0, 0, 0, 0]).expect("write");
        assert!(read_fvecs(&p, None)
            .unwrap_err()
            .to_string()
            .contains("whole number of rows"));
        std::fs::write(&p, [0xff, 0xff, 0xff, 0xff]).expect("write");
        assert!(read_fvecs(&p, None)
            .unwrap_err()
            .to_string()
            .contains("dimension is -1"));
        // Second row with another dimension (same byte size per row: 1 + 1 vs 1 + 1).
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&1i32.to_le_bytes());
        bytes.extend_from_slice(&1f32.to_le_bytes());
        bytes.extend_from_slice(&7i32.to_le_bytes());
        bytes.extend_from_slice(&1f32.to_le_bytes());
        std::fs::write(&p, &bytes).expect("write");
        assert!(read_fvecs(&p, None)
            .unwrap_err()
            .to_string()
            .contains("row 1 has dimension 7"));
        let missing = tmp("missing.fvecs");
        assert!(read_fvecs(&missing, None)
            .unwrap_err()
            .to_string()
            .contains("missing.fvecs"));
    }
}
