//! `.npy` (NumPy) input: a 2-D little-endian float32 or float64 array in C order.

use super::{le_f32s, read_full, BinaryRows, PayloadLines, Row, Source};
use crate::error::{CliError, CliResult};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

#[derive(Clone, Copy)]
enum NpyType {
    F32,
    F64,
}

pub(super) struct NpySource {
    data: BinaryRows,
    ty: NpyType,
    rows: u64,
    dim: usize,
}

impl NpySource {
    pub(super) fn new(
        path: &Path,
        mut reader: BufReader<File>,
        len: u64,
        payloads: Option<PayloadLines>,
    ) -> CliResult<Self> {
        let bad = |what: &str| {
            CliError::fail(format!(
                "{}: not a supported .npy file: {what}",
                path.display()
            ))
        };
        let mut pre = [0u8; 10];
        if !read_full(&mut reader, &mut pre).map_err(|e| CliError::io(path, e))?
            || &pre[..6] != b"\x93NUMPY"
        {
            return Err(bad("no .npy magic"));
        }
        let major = pre[6];
        let (header_len, prefix) = match major {
            1 => (u16::from_le_bytes([pre[8], pre[9]]) as usize, 10usize),
            2 | 3 => {
                let mut more = [0u8; 2];
                if !read_full(&mut reader, &mut more).map_err(|e| CliError::io(path, e))? {
                    return Err(bad("truncated header"));
                }
                (
                    u32::from_le_bytes([pre[8], pre[9], more[0], more[1]]) as usize,
                    12usize,
                )
            }
            v => return Err(bad(&format!("format version {v}"))),
        };
        if header_len > 1 << 20 {
            return Err(bad("header too large"));
        }
        let mut header = vec![0u8; header_len];
        if !read_full(&mut reader, &mut header).map_err(|e| CliError::io(path, e))? {
            return Err(bad("truncated header"));
        }
        let header = String::from_utf8_lossy(&header);
        let descr = dict_value(&header, "descr").ok_or_else(|| bad("no 'descr' in the header"))?;
        let ty = match descr.trim_matches(|c| c == '\'' || c == '"') {
            "<f4" => NpyType::F32,
            "<f8" => NpyType::F64,
            other => {
                return Err(bad(&format!(
                    "element type {other:?}; nDB imports little-endian float32 ('<f4') or \
                     float64 ('<f8'): convert with a.astype('<f4')"
                )))
            }
        };
        let fortran = dict_value(&header, "fortran_order")
            .ok_or_else(|| bad("no 'fortran_order' in the header"))?;
        if fortran.trim() != "False" {
            return Err(bad(
                "the array is in Fortran order; save it in C order (numpy.ascontiguousarray)",
            ));
        }
        let shape = dict_value(&header, "shape").ok_or_else(|| bad("no 'shape' in the header"))?;
        let dims: Vec<u64> = shape
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<u64>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad(&format!("shape {shape}")))?;
        let [rows, dim] = dims[..] else {
            return Err(bad(&format!(
                "shape {} has {} dimensions; nDB imports a 2-D array (rows × dimension)",
                shape.trim(),
                dims.len()
            )));
        };
        if dim == 0 || dim as usize > ndb::limits::DIM_MAX {
            return Err(bad(&format!("vector dimension {dim}")));
        }
        let item = match ty {
            NpyType::F32 => 4,
            NpyType::F64 => 8,
        };
        let data_start = (prefix + header_len) as u64;
        let expected = rows
            .checked_mul(dim)
            .and_then(|n| n.checked_mul(item))
            .and_then(|n| n.checked_add(data_start));
        check_npy_len(path, len, expected, rows, dim)?;
        Ok(Self {
            data: BinaryRows::new(path, reader, len, data_start, payloads),
            ty,
            rows,
            dim: dim as usize,
        })
    }
}

/// The file must hold exactly the values its header describes.
fn check_npy_len(
    path: &Path,
    len: u64,
    expected: Option<u64>,
    rows: u64,
    dim: u64,
) -> CliResult<()> {
    let what = format!("its header describes {rows} × {dim} values");
    match expected {
        Some(e) if e == len => Ok(()),
        Some(e) if len > e => Err(CliError::fail(format!(
            "{}: the file has {} trailing bytes after the data ({what}, ending at byte {e} of {len})",
            path.display(),
            len - e
        ))),
        Some(e) => Err(CliError::fail(format!(
            "{}: the file is truncated: it is {len} bytes but {what} ({e} bytes)",
            path.display()
        ))),
        None => Err(CliError::fail(format!(
            "{}: {what}, more bytes than any file can hold",
            path.display()
        ))),
    }
}

/// The text of `key`'s value in the header's Python dict literal (up to the next top-level comma).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let start = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = &header[start + key.len() + 2..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let mut depth = 0i32;
    for (i, c) in rest.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(&rest[..i]),
            _ => {}
        }
    }
    None
}

impl Source for NpySource {
    fn next_row(&mut self) -> CliResult<Option<Row>> {
        let d = &mut self.data;
        if d.row == self.rows {
            return d.end();
        }
        let item = match self.ty {
            NpyType::F32 => 4,
            NpyType::F64 => 8,
        };
        d.buf.resize(self.dim * item, 0);
        if !read_full(&mut d.reader, &mut d.buf).map_err(|e| CliError::io(&d.path, e))? {
            return Err(CliError::fail(format!(
                "{} row {}: the file ends early",
                d.path.display(),
                d.row
            )));
        }
        let vector: Vec<f32> = match self.ty {
            NpyType::F32 => le_f32s(&d.buf),
            NpyType::F64 => d
                .buf
                .chunks_exact(8)
                .map(|c| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(c);
                    f64::from_le_bytes(b) as f32
                })
                .collect(),
        };
        let bytes = d.buf.len() as u64;
        d.row_read(vector, bytes)
    }
    fn position(&self) -> u64 {
        self.data.pos
    }
    fn len(&self) -> u64 {
        self.data.len
    }
    fn rows(&self) -> Option<u64> {
        Some(self.rows)
    }
    fn dim(&self) -> Option<usize> {
        Some(self.dim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_values() {
        let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
        assert_eq!(dict_value(h, "descr"), Some("'<f4'"));
        assert_eq!(dict_value(h, "fortran_order"), Some("False"));
        assert_eq!(dict_value(h, "shape"), Some("(3, 4)"));
    }
}
