//! Bounded reads of user-named input files: a whole file, or one line, is read up to a limit
//! derived from the library's own limits, never without end (`--vector-file /dev/zero` or a
//! JSON Lines file without newlines must fail with a message, not exhaust memory). A UTF-8
//! byte-order mark at the start of a text file is skipped.

use crate::error::{CliError, CliResult};
use ndb::limits::{DIM_MAX, ID_BYTES_MAX, PAYLOAD_BYTES_MAX};
use std::io::{BufRead, ErrorKind, Read};
use std::path::Path;

/// Text bytes one JSON number of a vector may take, generously (`-1.2345678901234567e-38, `).
const NUMBER_TEXT_BYTES_MAX: usize = 32;
/// Slack for field names, brackets and whitespace.
const SLACK_BYTES: usize = 64 << 10;

/// The longest line a JSON document can be: a payload of the library's largest size (twice,
/// for whitespace and escapes), an id escaped at 6 bytes a byte, and `DIM_MAX` numbers.
pub const DOCUMENT_LINE_BYTES_MAX: usize =
    2 * PAYLOAD_BYTES_MAX + 6 * ID_BYTES_MAX + DIM_MAX * NUMBER_TEXT_BYTES_MAX + SLACK_BYTES;
/// The longest line of a payload file.
pub const PAYLOAD_LINE_BYTES_MAX: usize = 2 * PAYLOAD_BYTES_MAX + SLACK_BYTES;

/// The UTF-8 byte-order mark some editors put at the start of a text file.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Read the whole of `path` as UTF-8 text, refusing it if it is larger than `max` bytes (at
/// most `max + 1` bytes are read). `what` names the file's role in messages.
pub fn read_text(path: &Path, max: usize, what: &str) -> CliResult<String> {
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::fail(format!("cannot read {}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::fail(format!("cannot read {}: {e}", path.display())))?;
    if bytes.len() > max {
        return Err(CliError::fail(format!(
            "{} is larger than {} bytes, more than {what} can be; is it the right file?",
            path.display(),
            max
        )));
    }
    let text = bytes.strip_prefix(UTF8_BOM).unwrap_or(&bytes);
    String::from_utf8(text.to_vec())
        .map_err(|e| CliError::fail(format!("{}: not UTF-8 text: {e}", path.display())))
}

/// What [`read_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line of this many bytes (with its newline, if any) is in the buffer.
    Read(usize),
    /// End of file.
    End,
    /// The line is longer than the limit (the buffer holds its first `max` bytes or so).
    TooLong,
}

/// Append one line of `r` (up to and including `\n`) to `buf`, reading at most about `max`
/// bytes of it.
pub fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Line> {
    let mut total = 0usize;
    loop {
        let available = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(if total == 0 {
                Line::End
            } else {
                Line::Read(total)
            });
        }
        let (take, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if total + take > max.saturating_add(1) {
            return Ok(Line::TooLong);
        }
        buf.extend_from_slice(&available[..take]);
        r.consume(take);
        total += take;
        if done {
            return Ok(Line::Read(total));
        }
    }
}

/// Drop a byte-order mark at the start of the first line of a file.
pub fn strip_bom(buf: &mut Vec<u8>) {
    if buf.starts_with(UTF8_BOM) {
        buf.drain(..UTF8_BOM.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded() {
        let mut r = std::io::BufReader::with_capacity(4, &b"ab\ncdefgh\nij"[..]);
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut r, &mut buf, 5).unwrap(), Line::Read(3));
        assert_eq!(buf, b"ab\n");
        buf.clear();
        assert_eq!(read_line(&mut r, &mut buf, 5).unwrap(), Line::TooLong);
        let mut r = std::io::BufReader::new(&b"ij"[..]);
        buf.clear();
        assert_eq!(read_line(&mut r, &mut buf, 5).unwrap(), Line::Read(2));
        buf.clear();
        assert_eq!(read_line(&mut r, &mut buf, 5).unwrap(), Line::End);
    }

    #[test]
    fn bom_is_stripped() {
        let mut b = b"\xEF\xBB\xBF{}".to_vec();
        strip_bom(&mut b);
        assert_eq!(b, b"{}");
    }
}
