//! Evaluating a filter against one payload: path lookup, equality and ordering of JSON values.

use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::{Cond, Node};

/// Does the payload match? `None` is a document without payload.
pub(super) fn matches(node: &Node, payload: Option<&Value>) -> bool {
    match node {
        Node::Field { path, cond } => cond_matches(cond, resolve(payload, path)),
        Node::And(children) => children.iter().all(|c| matches(c, payload)),
        Node::Or(children) => children.iter().any(|c| matches(c, payload)),
        Node::Not(inner) => !matches(inner, payload),
        Node::TooDeep => false,
    }
}

/// The value at a dotted path, entering objects only; `None` when it does not resolve.
pub(crate) fn resolve<'a>(payload: Option<&'a Value>, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(payload?, |value, segment| value.as_object()?.get(segment))
}

/// Does a field's value (`None`: missing) satisfy the condition?
pub(crate) fn cond_matches(cond: &Cond, value: Option<&Value>) -> bool {
    let Some(value) = value else {
        return false;
    };
    match cond {
        Cond::Exists => true,
        Cond::Eq(operand) => any_candidate(value, |c| json_eq(c, operand)),
        Cond::Ne(operand) => !any_candidate(value, |c| json_eq(c, operand)),
        Cond::In(set) => any_candidate(value, |c| set.iter().any(|v| json_eq(c, v))),
        Cond::Nin(set) => !any_candidate(value, |c| set.iter().any(|v| json_eq(c, v))),
        Cond::Gt(operand) => {
            any_candidate(value, |c| json_cmp(c, operand).is_some_and(Ordering::is_gt))
        }
        Cond::Gte(operand) => {
            any_candidate(value, |c| json_cmp(c, operand).is_some_and(Ordering::is_ge))
        }
        Cond::Lt(operand) => {
            any_candidate(value, |c| json_cmp(c, operand).is_some_and(Ordering::is_lt))
        }
        Cond::Lte(operand) => {
            any_candidate(value, |c| json_cmp(c, operand).is_some_and(Ordering::is_le))
        }
    }
}

/// MongoDB's array rule: the value itself, or any element when it is an array.
fn any_candidate(value: &Value, test: impl Fn(&Value) -> bool) -> bool {
    test(value) || matches!(value, Value::Array(items) if items.iter().any(&test))
}

/// Deep equality with numbers compared by value (`1 == 1.0`).
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => number_cmp(x, y) == Ordering::Equal,
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(k, x)| ys.get(k).is_some_and(|y| json_eq(x, y)))
        }
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        _ => false,
    }
}

/// The order of two numbers or two strings; `None` for any other pair.
pub(crate) fn json_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Some(number_cmp(x, y)),
        (Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        _ => None,
    }
}

/// A JSON number as an exact integer or a float (always finite: JSON has no NaN or infinity).
enum Num {
    Int(i128),
    Float(f64),
}

fn num(n: &Number) -> Num {
    if let Some(i) = n.as_i64() {
        Num::Int(i128::from(i))
    } else if let Some(u) = n.as_u64() {
        Num::Int(i128::from(u))
    } else {
        Num::Float(n.as_f64().unwrap_or(0.0))
    }
}

/// Numeric order of two JSON numbers, exact across integers and floats.
fn number_cmp(a: &Number, b: &Number) -> Ordering {
    match (num(a), num(b)) {
        (Num::Int(x), Num::Int(y)) => x.cmp(&y),
        // Finite floats are totally ordered by partial_cmp (and -0.0 == 0.0).
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Num::Int(x), Num::Float(y)) => int_float_cmp(x, y),
        (Num::Float(x), Num::Int(y)) => int_float_cmp(y, x).reverse(),
    }
}

/// Compare an integer (|i| < 2^65) with a finite float without rounding either.
fn int_float_cmp(i: i128, f: f64) -> Ordering {
    // Beyond every integer a JSON number can hold (|i| < 2^64) and within i128 (2^127).
    const BOUND: f64 = 1.0e30;
    if f >= BOUND {
        return Ordering::Less;
    }
    if f <= -BOUND {
        return Ordering::Greater;
    }
    let whole = f.trunc();
    // Exact: |whole| < 1e30 < 2^127 fits i128, and a float's integer part is an integer.
    #[allow(clippy::cast_possible_truncation)]
    let whole_int = whole as i128;
    i.cmp(&whole_int).then_with(|| {
        // Same integer part: the fraction decides.
        if f > whole {
            Ordering::Less
        } else if f < whole {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    })
}
