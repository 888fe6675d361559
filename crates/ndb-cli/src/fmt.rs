//! Human-readable output: tables, byte sizes, counts, durations.

use crate::error::{write_err, CliResult};
use std::io::Write;
use std::time::Duration;

/// Column alignment.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A plain-text table with a header row, columns padded to their widest cell.
pub struct Table {
    headers: Vec<&'static str>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: &[(&'static str, Align)]) -> Self {
        Self {
            headers: columns.iter().map(|c| c.0).collect(),
            align: columns.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.headers.len());
        self.rows.push(cells);
    }

    pub fn print(&self, out: &mut dyn Write) -> CliResult<()> {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut line = |cells: Vec<&str>| -> CliResult<()> {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                let pad = widths[i].saturating_sub(c.chars().count());
                let last = i + 1 == n;
                match self.align[i] {
                    Align::Left if last => s.push_str(c),
                    Align::Left => {
                        s.push_str(c);
                        s.extend(std::iter::repeat_n(' ', pad));
                    }
                    Align::Right => {
                        s.extend(std::iter::repeat_n(' ', pad));
                        s.push_str(c);
                    }
                }
                if !last {
                    s.push_str("  ");
                }
            }
            writeln!(out, "{}", s.trim_end()).map_err(write_err)
        };
        line(self.headers.to_vec())?;
        for r in &self.rows {
            line(r.iter().map(String::as_str).collect())?;
        }
        Ok(())
    }
}

/// Print `key  value` lines with the keys padded to one width.
pub fn print_fields(out: &mut dyn Write, fields: &[(&str, String)]) -> CliResult<()> {
    let w = fields.iter().map(|f| f.0.len()).max().unwrap_or(0);
    for (k, v) in fields {
        writeln!(out, "{k:<w$}  {v}").map_err(write_err)?;
    }
    Ok(())
}

/// `1234567` -> `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut s = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            s.push(',');
        }
        s.push(ch);
    }
    s
}

/// `1 document`, `1,000 documents`.
pub fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{} {word}s", count(n))
    }
}

/// Bytes in binary units: `1.5 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// A duration for people: `850 µs`, `12.3 ms`, `4.56 s`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1e-3 {
        format!("{:.0} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

/// Shorten `s` to at most `max` characters, ending in `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A string from the data (an id) made safe for a terminal, escaped as JSON escapes a string:
/// `\` and control characters (`\n`, `\u001b`, ...) become escapes, so an id cannot move the
/// cursor, colour the screen or forge table rows. Bidirectional-text controls are escaped too.
pub fn escape_text(s: &str) -> String {
    escape(s, true)
}

/// JSON text (a payload) made safe for a terminal: JSON already escapes `\` and the C0
/// controls; this escapes what it leaves raw (DEL, C1 controls such as U+009B, bidi controls).
pub fn escape_json_text(s: &str) -> String {
    escape(s, false)
}

fn escape(s: &str, backslash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' if backslash => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || is_bidi_control(c) => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

/// Characters that reorder the text around them when displayed (Trojan Source).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A vector for people: the first few components, then how many there are.
pub fn vector_preview(v: &[f32], shown: usize) -> String {
    let parts: Vec<String> = v.iter().take(shown).map(|x| format!("{x}")).collect();
    if v.len() <= shown {
        format!("[{}]", parts.join(", "))
    } else {
        format!("[{}, …] ({} dimensions)", parts.join(", "), v.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_bytes() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(64 << 20), "64.0 MiB");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }

    #[test]
    fn escapes() {
        assert_eq!(escape_text("a\nb\x1b[31m\\"), "a\\nb\\u001b[31m\\\\");
        assert_eq!(escape_text("plain ✓"), "plain ✓");
        assert_eq!(escape_text("\u{202e}x\u{9b}"), "\\u202ex\\u009b");
        assert_eq!(
            escape_json_text("{\"a\":\"\\n\u{9b}\"}"),
            "{\"a\":\"\\n\\u009b\"}"
        );
    }
}
