//! Command-line pieces the binaries share: clap value parsers for the forms their flags take
//! (counts such as `200k`, comma-separated lists, metric names) and the flags several binaries
//! have in common.

use std::path::PathBuf;
use std::str::FromStr;

use serde_json::Value;

use crate::measure::Metric;
use crate::{report, Res};

/// A comma-separated list given as one value (`--ef-sweep 16,32,64`). An alias, so that clap's
/// derive takes the field as one value rather than as a flag that may be repeated.
pub type List<T> = Vec<T>;

/// Parse a count like `200000`, `200k`, `1M` or `1_000_000`.
pub fn parse_count(s: &str) -> Option<u64> {
    let s = s.trim().replace('_', "");
    let (num, mul) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1_000),
        'm' | 'M' => (&s[..s.len() - 1], 1_000_000),
        _ => (&s[..], 1),
    };
    let v: f64 = num.parse().ok()?;
    if v < 0.0 {
        return None;
    }
    Some((v * mul as f64).round() as u64)
}

/// A count (`200k`, `1M`, `1_000`).
pub fn count(s: &str) -> Result<u64, String> {
    parse_count(s).ok_or_else(|| "expected a count such as 1000, 200k or 1M".into())
}

/// A count of at least 1.
pub fn positive_count(s: &str) -> Result<usize, String> {
    match count(s)? {
        0 => Err("must be at least 1".into()),
        n => usize::try_from(n).map_err(|e| e.to_string()),
    }
}

/// Counts separated by commas (`100k,1M`).
pub fn counts(s: &str) -> Result<List<u64>, String> {
    s.split(',').map(count).collect()
}

/// A number above zero (`--secs 0.5`, `--wal-mib 64`).
pub fn positive<T>(s: &str) -> Result<T, String>
where
    T: FromStr + PartialOrd + Default,
    T::Err: std::fmt::Display,
{
    let v: T = s.trim().parse().map_err(|e: T::Err| e.to_string())?;
    if v > T::default() {
        Ok(v)
    } else {
        Err("must be above 0".into())
    }
}

/// A number of at least zero (`--idle-secs 0`).
pub fn non_negative<T>(s: &str) -> Result<T, String>
where
    T: FromStr + PartialOrd + Default,
    T::Err: std::fmt::Display,
{
    let v: T = s.trim().parse().map_err(|e: T::Err| e.to_string())?;
    if v >= T::default() {
        Ok(v)
    } else {
        Err("must not be negative".into())
    }
}

/// Values separated by commas, in the order given.
pub fn list<T>(s: &str) -> Result<List<T>, String>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    s.split(',')
        .map(|p| p.trim().parse().map_err(|e: T::Err| format!("{p:?}: {e}")))
        .collect()
}

/// Numbers above zero separated by commas, in the order given (`--threads 1,8`).
pub fn positive_list<T>(s: &str) -> Result<List<T>, String>
where
    T: FromStr + PartialOrd + Default,
    T::Err: std::fmt::Display,
{
    s.split(',').map(positive).collect()
}

/// A set of `ef` values (or thread counts) such as `16,32,64`: each at least 1, sorted, each
/// once.
pub fn ef_list(s: &str) -> Result<List<usize>, String> {
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<usize>() {
            Ok(ef) if ef > 0 => v.push(ef),
            _ => return Err(format!("{part:?} is not a number of at least 1")),
        }
    }
    if v.is_empty() {
        return Err("the list is empty".into());
    }
    v.sort_unstable();
    v.dedup();
    Ok(v)
}

/// A metric: `l2`, `cosine` or `dot` (and their other names, see [`Metric::parse`]).
pub fn metric(s: &str) -> Result<Metric, String> {
    Metric::parse(s).ok_or_else(|| "expected l2, cosine or dot".into())
}

/// Parse a command line written as one string of words separated by spaces (the first is the
/// program), after checking that the definition of `A` is consistent (clap's `debug_assert`,
/// which panics if not): what the binaries' tests parse their documented commands with.
pub fn parse_words<A: clap::Parser>(line: &str) -> Result<A, clap::Error> {
    A::command().debug_assert();
    A::try_parse_from(line.split_whitespace())
}

/// `--json-out` and `--md-out`: report files written besides the report on stdout.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ReportFiles {
    /// Also write the JSON figures here.
    #[arg(long, value_name = "PATH")]
    pub json_out: Option<PathBuf>,
    /// Also write the markdown report here.
    #[arg(long, value_name = "PATH")]
    pub md_out: Option<PathBuf>,
}

impl ReportFiles {
    /// Print the markdown report with the JSON figures after it, and write each to its file
    /// where one was asked for.
    pub fn publish(&self, md: &str, json: &Value) -> Res<()> {
        let json_text = report::json_text(json)?;
        report::print_markdown_and_json(md, &json_text);
        report::write_report(self.json_out.as_deref(), &json_text)?;
        report::write_report(self.md_out.as_deref(), md)
    }
}

/// `--dir` and `--keep`: where the databases are made, and whether they stay.
#[derive(Clone, Debug, clap::Args)]
pub struct ScratchArgs {
    /// Scratch directory, on the disk to measure.
    #[arg(long, value_name = "DIR", default_value_os_t = crate::scratch::scratch_root())]
    pub dir: PathBuf,
    /// Keep the database directories (default: removed).
    #[arg(long)]
    pub keep: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_parse() {
        assert_eq!(parse_count("200k"), Some(200_000));
        assert_eq!(parse_count("1M"), Some(1_000_000));
        assert_eq!(parse_count("1_000"), Some(1_000));
        assert_eq!(parse_count("-1"), None);
        assert_eq!(positive_count("0").ok(), None);
        assert_eq!(counts("100k,1M"), Ok(vec![100_000, 1_000_000]));
    }

    #[test]
    fn numbers_and_lists_parse() {
        assert_eq!(positive::<f64>("0.5"), Ok(0.5));
        assert!(positive::<usize>("0").is_err());
        assert_eq!(non_negative::<f64>("0"), Ok(0.0));
        assert!(non_negative::<f64>("-1").is_err());
        assert_eq!(positive_list::<usize>("8,1"), Ok(vec![8, 1]));
        assert!(positive_list::<usize>("1,0").is_err());
        assert_eq!(list::<usize>("64,16"), Ok(vec![64, 16]));
        assert_eq!(ef_list("64, 16,32,16"), Ok(vec![16, 32, 64]));
        assert!(ef_list("0").is_err());
        assert!(ef_list("x").is_err());
        assert!(ef_list("").is_err());
        assert_eq!(metric("l2"), Ok(Metric::L2));
        assert!(metric("manhattan").is_err());
    }
}
