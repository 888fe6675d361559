//! Numbers for people: rounding for JSON, and the cell formats of the reports' tables.

/// `x` rounded to `digits` decimals (the precision the JSON reports keep).
pub fn round(x: f64, digits: i32) -> f64 {
    let m = 10f64.powi(digits);
    (x * m).round() / m
}

/// `x` rounded to 2 decimals.
pub fn r2(x: f64) -> f64 {
    round(x, 2)
}

/// `x` rounded to 4 decimals.
pub fn r4(x: f64) -> f64 {
    round(x, 4)
}

/// A digit string with thousands separators: `12345` -> `12,345` (a leading `-` is kept).
fn group_digits(s: &str) -> String {
    let (sign, digits) = match s.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", s),
    };
    let mut out = String::from(sign);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count with thousands separators: `12,345`.
pub fn thousands(n: u64) -> String {
    group_digits(&n.to_string())
}

/// A count for people: `200k`, `1M`, `40960`.
pub fn count(n: u64) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}

/// A value of any size with about three significant digits: `12,345`, `123.4`, `12.34`,
/// `0.123`; `n/a` when not finite.
pub fn value(v: f64) -> String {
    if !v.is_finite() {
        "n/a".into()
    } else if v.abs() >= 1000.0 {
        group_digits(&format!("{v:.0}"))
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Milliseconds with three significant-ish digits: `123`, `12.3`, `1.23`.
pub fn ms(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// Latency in milliseconds, below 1 ms with three decimals (HNSW latencies are tens of
/// microseconds).
pub fn latency_ms(x: f64) -> String {
    if x >= 1.0 {
        ms(x)
    } else {
        format!("{x:.3}")
    }
}

/// A small figure (milliseconds, a ratio): three decimals below 1, else two; `-` for NaN.
pub fn small(x: f64) -> String {
    if x.is_nan() {
        "-".into()
    } else if x < 1.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.2}")
    }
}

/// QPS with thousands separators above 1,000, else one decimal below 100: `12,345`, `345`,
/// `34.5`; `-` when not finite.
pub fn qps(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    if x >= 1000.0 {
        thousands(x.round() as u64)
    } else {
        qps_ungrouped(x)
    }
}

/// QPS without separators: `12345`, `345`, `34.5`.
pub fn qps_ungrouped(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// A fraction as a whole percentage: `0.123` -> `12%`.
pub fn percent(fraction: f64) -> String {
    format!("{:.0}%", 100.0 * fraction)
}

/// The formatted value, or `-` for none.
pub fn or_dash<T>(x: Option<T>, f: impl FnOnce(T) -> String) -> String {
    x.map(f).unwrap_or_else(|| "-".into())
}

/// `yes`, or a bold `**no**` that stands out in a report.
pub fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "**no**"
    }
}

/// `met` or `not met`, for a goal.
pub fn met(b: bool) -> &'static str {
    if b {
        "met"
    } else {
        "not met"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(value(-12_345.4), "-12,345");
        assert_eq!(value(f64::NAN), "n/a");
        assert_eq!(value(0.1234), "0.123");
        assert_eq!(qps(12_345.4), "12,345");
        assert_eq!(qps(123.4), "123");
        assert_eq!(qps_ungrouped(12_345.4), "12345");
    }

    #[test]
    fn counts_and_times() {
        assert_eq!(count(1_000_000), "1M");
        assert_eq!(count(200_000), "200k");
        assert_eq!(count(40_960), "40960");
        assert_eq!(ms(123.4), "123");
        assert_eq!(ms(12.34), "12.3");
        assert_eq!(latency_ms(0.01234), "0.012");
        assert_eq!(small(f64::NAN), "-");
        assert_eq!(small(1.234), "1.23");
        assert_eq!(r4(0.123_456), 0.1235);
        assert_eq!(percent(0.126), "13%");
    }
}
