//! Streaming readers of the import formats (JSON Lines, `.fvecs`, `.npy`), one document at a
//! time, and the document checks an import runs before writing anything.

mod npy;

use crate::bounded::{self, Line};
use crate::error::{CliError, CliResult};
use ndb::{Distance, Document};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::path::{Path, PathBuf};

/// Input file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line: {"id": .., "vector": [..], "payload": {..}}.
    Jsonl,
    /// TexMex .fvecs: per row, a little-endian i32 dimension then that many f32.
    Fvecs,
    /// NumPy .npy: a 2-D little-endian float32 (or float64) array in C order.
    Npy,
}

impl Format {
    /// The format named by a file's extension.
    pub fn from_path(path: &Path) -> CliResult<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("jsonl" | "ndjson" | "json") => Ok(Format::Jsonl),
            Some("fvecs") => Ok(Format::Fvecs),
            Some("npy") => Ok(Format::Npy),
            _ => Err(CliError::usage(format!(
                "cannot tell the format of {} from its extension; pass --format jsonl|fvecs|npy",
                path.display()
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Fvecs => "fvecs",
            Format::Npy => "npy",
        }
    }
}

/// Where a row came from, for messages: `data.jsonl line 7`, `base.fvecs row 6`.
#[derive(Clone, Debug)]
pub struct Loc {
    pub file: PathBuf,
    /// JSON Lines: 1-based line number. Binary formats: 0-based row number (= the id).
    pub n: u64,
    pub is_line: bool,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_line { "line" } else { "row" };
        write!(f, "{} {kind} {}", self.file.display(), self.n)
    }
}

/// One row read from a source: a document, or why this row is not one (skippable).
pub type Row = (Loc, Result<Document, String>);

/// A streaming reader of documents.
pub trait Source {
    /// The next row; `Ok(None)` at the end. `Err` is damage that ends the read (it cannot be
    /// skipped: a broken file structure, an I/O error).
    fn next_row(&mut self) -> CliResult<Option<Row>>;
    /// Bytes of the main file consumed so far.
    fn position(&self) -> u64;
    /// Size of the main file.
    fn len(&self) -> u64;
    /// Number of rows, when the format says it up front.
    fn rows(&self) -> Option<u64>;
    /// Dimension, when the format says it up front.
    fn dim(&self) -> Option<usize>;
}

/// Open `path` as `format`, with an optional payload file (binary formats only).
pub fn open(path: &Path, format: Format, payloads: Option<&Path>) -> CliResult<Box<dyn Source>> {
    let file = File::open(path)
        .map_err(|e| CliError::fail(format!("cannot open {}: {e}", path.display())))?;
    let len = file.metadata().map_err(|e| CliError::io(path, e))?.len();
    let payloads = match payloads {
        Some(p) => Some(PayloadLines::open(p)?),
        None => None,
    };
    let reader = BufReader::with_capacity(1 << 20, file);
    Ok(match format {
        Format::Jsonl => {
            if payloads.is_some() {
                return Err(CliError::usage(
                    "--payloads is for .fvecs and .npy input; JSON Lines carry their payloads inline",
                ));
            }
            Box::new(JsonlSource {
                lines: TextLines::new(path, reader),
                pos: 0,
                len,
            })
        }
        Format::Fvecs => Box::new(FvecsSource::new(path, reader, len, payloads)?),
        Format::Npy => Box::new(npy::NpySource::new(path, reader, len, payloads)?),
    })
}

// ---------------------------------------------------------------------------------------------
// JSON Lines

/// One line of a JSON Lines import (and of an export).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonDoc {
    #[serde(deserialize_with = "id_string")]
    id: String,
    vector: Vec<f32>,
    #[serde(default)]
    payload: Option<Value>,
}

struct JsonlSource {
    lines: TextLines,
    pos: u64,
    len: u64,
}

impl Source for JsonlSource {
    fn next_row(&mut self) -> CliResult<Option<Row>> {
        loop {
            let limit = bounded::DOCUMENT_LINE_BYTES_MAX;
            let what = "any document can be; is this a JSON Lines file?";
            let Some(n) = self.lines.next(limit, what)? else {
                return Ok(None);
            };
            self.pos += n as u64;
            if self.lines.is_blank() {
                continue; // blank lines are allowed
            }
            let loc = Loc {
                file: self.lines.path.clone(),
                n: self.lines.line,
                is_line: true,
            };
            return Ok(Some((loc, parse_json_doc(&self.lines.buf))));
        }
    }
    fn position(&self) -> u64 {
        self.pos
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn rows(&self) -> Option<u64> {
        None
    }
    fn dim(&self) -> Option<usize> {
        None
    }
}

/// serde_json's message without its "at line 1 column N" suffix, with the column kept.
fn json_error(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let msg = match full.rfind(" at line ") {
        Some(i) => &full[..i],
        None => &full,
    };
    if e.column() > 0 {
        format!("invalid JSON (column {}): {msg}", e.column())
    } else {
        format!("invalid JSON: {msg}")
    }
}

fn parse_json_doc(line: &[u8]) -> Result<Document, String> {
    let d: JsonDoc = serde_json::from_slice(line).map_err(|e| json_error(&e))?;
    Ok(Document {
        id: d.id,
        vector: d.vector,
        payload: d.payload,
    })
}

/// An `"id"`: a string, or an integer written in decimal; anything else is refused as serde
/// refuses the other fields' wrong types ("invalid type: ..., expected ...").
fn id_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct Id;
    impl serde::de::Visitor<'_> for Id {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an id (a string or an integer)")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<String, E> {
            Ok(s.to_owned())
        }
        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<String, E> {
            Ok(n.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<String, E> {
            Ok(n.to_string())
        }
    }
    d.deserialize_any(Id)
}

// ---------------------------------------------------------------------------------------------
// Payload file for binary formats: line i is the payload of row i.

struct PayloadLines {
    lines: TextLines,
}

impl PayloadLines {
    fn open(path: &Path) -> CliResult<Self> {
        let file = File::open(path)
            .map_err(|e| CliError::fail(format!("cannot open {}: {e}", path.display())))?;
        let reader = BufReader::with_capacity(1 << 20, file);
        Ok(Self {
            lines: TextLines::new(path, reader),
        })
    }

    /// The payload of the next row. `Ok(Err(..))` is a bad line (skippable); `Err` means the
    /// file ended early or could not be read.
    fn next_payload(
        &mut self,
        rows_file: &Path,
        row: u64,
    ) -> CliResult<Result<Option<Value>, String>> {
        let lines = &mut self.lines;
        if lines
            .next(bounded::PAYLOAD_LINE_BYTES_MAX, PAYLOAD_WHAT)?
            .is_none()
        {
            return Err(CliError::fail(format!(
                "{} has {} lines but {} has more rows (line i must be the payload of row i)",
                lines.path.display(),
                lines.line,
                rows_file.display()
            )));
        }
        if lines.is_blank() {
            return Ok(Ok(None));
        }
        Ok(match serde_json::from_slice::<Value>(&lines.buf) {
            Ok(v) => Ok(Some(v)),
            Err(e) => Err(format!(
                "payload at {} line {} (row {row}): {}",
                lines.path.display(),
                lines.line,
                json_error(&e)
            )),
        })
    }

    /// Check that no payload lines are left once the rows are done.
    fn finish(&mut self, rows_file: &Path, rows: u64) -> CliResult<()> {
        let lines = &mut self.lines;
        while lines
            .next(bounded::PAYLOAD_LINE_BYTES_MAX, PAYLOAD_WHAT)?
            .is_some()
        {
            if !lines.is_blank() {
                return Err(CliError::fail(format!(
                    "{} has a payload on line {} but {} has only {rows} rows",
                    lines.path.display(),
                    lines.line,
                    rows_file.display()
                )));
            }
        }
        Ok(())
    }
}

/// What a payload line longer than the limit is more than, for the message.
const PAYLOAD_WHAT: &str = "a payload can be";

/// What the binary formats share: the file and the position in it, the next row's number (its
/// id), and the payload file whose line i is the payload of row i.
struct BinaryRows {
    path: PathBuf,
    reader: BufReader<File>,
    payloads: Option<PayloadLines>,
    row: u64,
    pos: u64,
    len: u64,
    buf: Vec<u8>,
}

impl BinaryRows {
    fn new(
        path: &Path,
        reader: BufReader<File>,
        len: u64,
        pos: u64,
        payloads: Option<PayloadLines>,
    ) -> Self {
        Self {
            path: path.to_path_buf(),
            reader,
            payloads,
            row: 0,
            pos,
            len,
            buf: Vec::new(),
        }
    }

    /// Where the next row is, for messages.
    fn loc(&self) -> Loc {
        Loc {
            file: self.path.clone(),
            n: self.row,
            is_line: false,
        }
    }

    /// The next row, whose `bytes` bytes were read and hold `vector`: a document whose id is
    /// the row number, with the row's payload.
    fn row_read(&mut self, vector: Vec<f32>, bytes: u64) -> CliResult<Option<Row>> {
        let (loc, row) = (self.loc(), self.row);
        self.pos += bytes;
        self.row += 1;
        let mut doc = Document::new(row.to_string(), vector);
        let Some(p) = &mut self.payloads else {
            return Ok(Some((loc, Ok(doc))));
        };
        let doc = p.next_payload(&self.path, row)?.map(|payload| {
            doc.payload = payload;
            doc
        });
        Ok(Some((loc, doc)))
    }

    /// The end of the rows: no payload may be left over.
    fn end(&mut self) -> CliResult<Option<Row>> {
        if let Some(p) = &mut self.payloads {
            p.finish(&self.path, self.row)?;
            self.payloads = None;
        }
        Ok(None)
    }
}

/// A text input read line by line, each line bounded.
struct TextLines {
    path: PathBuf,
    reader: BufReader<File>,
    /// Lines read so far (the number of the line in `buf`).
    line: u64,
    buf: Vec<u8>,
}

impl TextLines {
    fn new(path: &Path, reader: BufReader<File>) -> Self {
        Self {
            path: path.to_path_buf(),
            reader,
            line: 0,
            buf: Vec::new(),
        }
    }

    /// Read the next line into `buf` (cleared first), at most `max` bytes of it (`what` says in
    /// the message what a longer line is more than); the first line loses a byte-order mark.
    /// Returns the bytes read, or `None` at the end of the file.
    fn next(&mut self, max: usize, what: &str) -> CliResult<Option<usize>> {
        self.buf.clear();
        let read = bounded::read_line(&mut self.reader, &mut self.buf, max)
            .map_err(|e| CliError::io(&self.path, e))?;
        match read {
            Line::End => Ok(None),
            Line::TooLong => Err(CliError::fail(format!(
                "{} line {}: longer than {max} bytes, more than {what}",
                self.path.display(),
                self.line + 1
            ))),
            Line::Read(n) => {
                if self.line == 0 {
                    bounded::strip_bom(&mut self.buf);
                }
                self.line += 1;
                Ok(Some(n))
            }
        }
    }

    /// Whether the line in `buf` is blank.
    fn is_blank(&self) -> bool {
        self.buf.iter().all(u8::is_ascii_whitespace)
    }
}

/// Little-endian f32 values.
fn le_f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Read exactly `buf.len()` bytes; `Ok(false)` if the file ended first.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut done = 0;
    while done < buf.len() {
        match r.read(&mut buf[done..]) {
            Ok(0) => return Ok(false),
            Ok(n) => done += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// .fvecs

struct FvecsSource {
    data: BinaryRows,
    first_dim: Option<usize>,
    done: bool,
}

impl FvecsSource {
    fn new(
        path: &Path,
        mut reader: BufReader<File>,
        len: u64,
        payloads: Option<PayloadLines>,
    ) -> CliResult<Self> {
        // Peek at the first row's dimension (for the row count and --create).
        let first_dim = {
            let head = reader.fill_buf().map_err(|e| CliError::io(path, e))?;
            if head.len() >= 4 {
                let d = i32::from_le_bytes([head[0], head[1], head[2], head[3]]);
                (d > 0 && d as usize <= ndb::limits::DIM_MAX).then_some(d as usize)
            } else {
                None
            }
        };
        Ok(Self {
            data: BinaryRows::new(path, reader, len, 0, payloads),
            first_dim,
            done: false,
        })
    }
}

impl Source for FvecsSource {
    fn next_row(&mut self) -> CliResult<Option<Row>> {
        if self.done {
            return Ok(None);
        }
        let d = &mut self.data;
        let mut head = [0u8; 4];
        let got = d
            .reader
            .read(&mut head[..1])
            .map_err(|e| CliError::io(&d.path, e))?;
        if got == 0 {
            self.done = true;
            return d.end();
        }
        let loc = d.loc();
        let damaged = |what: String| CliError::fail(format!("{loc}: {what}"));
        if !read_full(&mut d.reader, &mut head[1..]).map_err(|e| CliError::io(&d.path, e))? {
            return Err(damaged(format!(
                "the file ends inside the row's dimension field (offset {})",
                d.pos
            )));
        }
        let dim = i32::from_le_bytes(head);
        if dim <= 0 || dim as usize > ndb::limits::DIM_MAX {
            return Err(damaged(format!(
                "dimension field at offset {} is {dim}; is this really an .fvecs file?",
                d.pos
            )));
        }
        let dim = dim as usize;
        d.buf.resize(dim * 4, 0);
        if !read_full(&mut d.reader, &mut d.buf).map_err(|e| CliError::io(&d.path, e))? {
            return Err(damaged(format!(
                "the file ends inside the row (it needs {} bytes after offset {})",
                4 + dim * 4,
                d.pos
            )));
        }
        let vector = le_f32s(&d.buf);
        d.row_read(vector, 4 + dim as u64 * 4)
    }
    fn position(&self) -> u64 {
        self.data.pos
    }
    fn len(&self) -> u64 {
        self.data.len
    }
    fn rows(&self) -> Option<u64> {
        let row_bytes = 4 + 4 * self.first_dim? as u64;
        let len = self.data.len;
        len.is_multiple_of(row_bytes).then_some(len / row_bytes)
    }
    fn dim(&self) -> Option<usize> {
        self.first_dim
    }
}

// ---------------------------------------------------------------------------------------------
// Checks

/// Check `doc` the way `Collection::insert_batch` will (the library's own rules), so that an
/// import can refuse a file before writing any of it. Returns the approximate bytes the
/// document adds to a WAL record.
pub fn check_doc(dim: usize, distance: Distance, doc: &Document) -> Result<usize, String> {
    ndb::CollectionConfig::new(dim)
        .with_distance(distance)
        .check_document(doc)
        .map_err(|e| match e {
            ndb::Error::WrongDimension { expected, got } => format!(
                "document {:?}: wrong vector dimension: expected {expected}, got {got}",
                doc.id
            ),
            ndb::Error::InvalidArgument(m) => m,
            other => other.to_string(),
        })?;
    let payload_bytes = match &doc.payload {
        Some(v @ Value::Object(_)) => {
            let mut counter = ByteCounter(0);
            serde_json::to_writer(&mut counter, v).map_err(|e| format!("payload: {e}"))?;
            counter.0
        }
        _ => 0,
    };
    Ok(doc.id.len() + 4 * dim + payload_bytes + 16)
}

struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines() {
        let d = parse_json_doc(br#"{"id": 7, "vector": [1, 2.5]}"#).unwrap();
        assert_eq!(d.id, "7");
        assert_eq!(d.vector, vec![1.0, 2.5]);
        let e = parse_json_doc(br#"{"id": "a", "vector": [1, "x"]}"#).unwrap_err();
        assert!(e.starts_with("invalid JSON (column"), "{e}");
        let e = parse_json_doc(br#"{"id": true, "vector": [1]}"#).unwrap_err();
        assert!(e.contains("string or an integer"), "{e}");
    }

    #[test]
    fn ids_are_strings_or_integers() {
        for (id, want) in [
            (r#""a\u00e9""#, "a\u{e9}"),
            ("-7", "-7"),
            ("18446744073709551615", "18446744073709551615"),
        ] {
            let line = format!(r#"{{"id": {id}, "vector": [1]}}"#);
            assert_eq!(parse_json_doc(line.as_bytes()).unwrap().id, want);
        }
        for id in ["1.5", "null", "[1]", "{}", "18446744073709551616"] {
            let line = format!(r#"{{"id": {id}, "vector": [1]}}"#);
            let e = parse_json_doc(line.as_bytes()).unwrap_err();
            assert!(
                e.contains("expected an id (a string or an integer)"),
                "{id}: {e}"
            );
        }
    }

    #[test]
    fn checks() {
        let d = Document::new("a", vec![0.0, 0.0]);
        assert!(check_doc(2, Distance::Cosine, &d).is_err());
        assert!(check_doc(2, Distance::DotProduct, &d).is_ok());
        assert!(check_doc(3, Distance::DotProduct, &d)
            .unwrap_err()
            .contains("expected 3, got 2"));
        let d = Document::new("a", vec![1.0]).with_payload(serde_json::json!([1]));
        assert!(check_doc(1, Distance::DotProduct, &d).is_err());
    }
}
