//! Markdown tables: a header, an alignment row, and one line per row.

use std::fmt;

/// How a column's cells line up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// A markdown table built a row at a time; `Display` writes it, one line per row, each line
/// ending in a newline. An empty cell is written as `| |`.
#[derive(Clone, Debug, Default)]
pub struct Table {
    head: Vec<String>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table without columns.
    pub fn new() -> Self {
        Self::default()
    }

    /// One more column.
    pub fn column(mut self, name: impl fmt::Display, align: Align) -> Self {
        self.head.push(name.to_string());
        self.align.push(align);
        self
    }

    /// One more text column.
    pub fn left(self, name: impl fmt::Display) -> Self {
        self.column(name, Align::Left)
    }

    /// One more number column.
    pub fn right(self, name: impl fmt::Display) -> Self {
        self.column(name, Align::Right)
    }

    /// More text columns.
    pub fn lefts<I>(self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        names.into_iter().fold(self, Self::left)
    }

    /// More number columns.
    pub fn rights<I>(self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        names.into_iter().fold(self, Self::right)
    }

    /// Add a row of cells.
    pub fn row<I>(&mut self, cells: I)
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        self.rows
            .push(cells.into_iter().map(|c| c.to_string()).collect());
    }
}

fn write_line(f: &mut fmt::Formatter<'_>, cells: &[String]) -> fmt::Result {
    f.write_str("|")?;
    for c in cells {
        if c.is_empty() {
            f.write_str(" |")?;
        } else {
            write!(f, " {c} |")?;
        }
    }
    f.write_str("\n")
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_line(f, &self.head)?;
        f.write_str("|")?;
        for a in &self.align {
            f.write_str(match a {
                Align::Left => "---|",
                Align::Right => "---:|",
            })?;
        }
        f.write_str("\n")?;
        for r in &self.rows {
            write_line(f, r)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_markdown() {
        let mut t = Table::new().left("engine").right("QPS").left("note");
        t.row(["nDB", "1,234", ""]);
        t.row(["x".to_string(), 5.to_string(), "y".into()]);
        assert_eq!(
            t.to_string(),
            "| engine | QPS | note |\n|---|---:|---|\n| nDB | 1,234 | |\n| x | 5 | y |\n"
        );
        let t = Table::new().lefts(["a", "b"]).rights(["c"]);
        assert_eq!(t.to_string(), "| a | b | c |\n|---|---|---:|\n");
    }
}
