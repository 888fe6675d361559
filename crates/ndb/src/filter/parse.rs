//! The MongoDB-style JSON form: `{"year": {"$gte": 2020}, "$or": [{"lang": "en"}, ...]}`.
//!
//! Every error is an `InvalidArgument` that names the operator and the field path, and, inside
//! `$and`/`$or`/`$not`, where in the filter it is (`at $or[1]`).

use serde_json::{Map, Value};

use super::{Cond, Node, FILTER_DEPTH_MAX};
use crate::{Error, Result};

/// Parse a whole filter.
pub(super) fn filter(json: &Value) -> Result<Node> {
    parse_filter(json, "", 0)
}

/// ` (at $or[1])`, or nothing at the top level.
fn at_suffix(at: &str) -> String {
    if at.is_empty() {
        String::new()
    } else {
        format!(" (at {at})")
    }
}

/// Extend a location: `$or[1]` then `$or[1].$not`.
fn child(at: &str, step: &str) -> String {
    if at.is_empty() {
        step.to_string()
    } else {
        format!("{at}.{step}")
    }
}

/// A short description of a JSON value for error messages: `string "x"`, `array [1,2]`.
fn describe(value: &Value) -> String {
    const SHOWN_CHARS_MAX: usize = 60;
    let kind = match value {
        Value::Null => return "null".to_string(),
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let text = value.to_string();
    if text.chars().count() > SHOWN_CHARS_MAX {
        let cut: String = text.chars().take(SHOWN_CHARS_MAX).collect();
        format!("{kind} {cut}...")
    } else {
        format!("{kind} {text}")
    }
}

fn parse_filter(json: &Value, at: &str, depth: usize) -> Result<Node> {
    if depth > FILTER_DEPTH_MAX {
        return Err(Error::invalid(format!(
            "filter nests deeper than {FILTER_DEPTH_MAX} levels{}",
            at_suffix(at)
        )));
    }
    let Value::Object(map) = json else {
        return Err(Error::invalid(format!(
            "a filter must be a JSON object such as {{\"field\": value}}, got {}{}",
            describe(json),
            at_suffix(at)
        )));
    };
    let mut nodes = Vec::with_capacity(map.len());
    for (key, value) in map {
        nodes.push(match key.as_str() {
            "$and" | "$or" => parse_list(key, value, at, depth)?,
            "$not" => {
                if !value.is_object() {
                    return Err(Error::invalid(format!(
                        "operator $not expects a filter object, got {}{}",
                        describe(value),
                        at_suffix(at)
                    )));
                }
                Node::Not(Box::new(parse_filter(
                    value,
                    &child(at, "$not"),
                    depth + 1,
                )?))
            }
            op if op.starts_with('$') => return Err(misplaced_operator(op, at)),
            path => parse_field(path, value, at, depth)?,
        });
    }
    Ok(single_or_and(nodes))
}

/// `$and` / `$or`: a non-empty array of filters.
fn parse_list(op: &str, value: &Value, at: &str, depth: usize) -> Result<Node> {
    let items = match value {
        Value::Array(items) if !items.is_empty() => items,
        _ => {
            return Err(Error::invalid(format!(
                "operator {op} expects a non-empty array of filters, got {}{}",
                describe(value),
                at_suffix(at)
            )))
        }
    };
    let children = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let here = child(at, &format!("{op}[{i}]"));
            parse_filter(item, &here, depth + 1)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(if op == "$and" {
        Node::And(children)
    } else {
        Node::Or(children)
    })
}

/// A `$` key at the filter level that is not `$and`, `$or` or `$not`.
fn misplaced_operator(op: &str, at: &str) -> Error {
    let here = at_suffix(at);
    if is_field_operator(op) {
        Error::invalid(format!(
            "operator {op} must be applied to a field, \
             as in {{\"field\": {{\"{op}\": ...}}}}{here}"
        ))
    } else {
        Error::invalid(format!(
            "unknown operator \"{op}\"{here}; \
             at the filter level use a field path, $and, $or or $not"
        ))
    }
}

/// One condition as itself, several ANDed (none: the empty `and`, which matches everything).
fn single_or_and(mut nodes: Vec<Node>) -> Node {
    if nodes.len() == 1 {
        if let Some(node) = nodes.pop() {
            return node;
        }
    }
    Node::And(nodes)
}

fn is_field_operator(op: &str) -> bool {
    matches!(
        op,
        "$eq" | "$ne" | "$gt" | "$gte" | "$lt" | "$lte" | "$in" | "$nin" | "$exists"
    )
}

/// Is this field value an object of operators (rather than a value to match)?
fn operator_object<'a>(
    path: &str,
    value: &'a Value,
    at: &str,
) -> Result<Option<&'a Map<String, Value>>> {
    let Value::Object(map) = value else {
        return Ok(None);
    };
    let operators: Vec<&str> = map
        .keys()
        .filter(|k| k.starts_with('$'))
        .map(String::as_str)
        .collect();
    if operators.is_empty() {
        return Ok(None);
    }
    let plain: Vec<&str> = map
        .keys()
        .filter(|k| !k.starts_with('$'))
        .map(String::as_str)
        .collect();
    if !plain.is_empty() {
        return Err(Error::invalid(format!(
            "field \"{path}\" mixes operators ({}) with plain keys ({}){}; \
             to match an object literally use {{\"$eq\": {{...}}}}",
            operators.join(", "),
            plain.join(", "),
            at_suffix(at)
        )));
    }
    Ok(Some(map))
}

/// `"path": value` or `"path": {"$op": operand, ...}`.
fn parse_field(path: &str, value: &Value, at: &str, depth: usize) -> Result<Node> {
    match operator_object(path, value, at)? {
        None => {
            check_path_at(path, "$eq", at)?;
            Ok(Node::Field {
                path: path.to_string(),
                cond: Cond::Eq(value.clone()),
            })
        }
        Some(ops) => {
            let nodes = ops
                .iter()
                .map(|(op, operand)| parse_operator(path, op, operand, at, depth))
                .collect::<Result<Vec<_>>>()?;
            Ok(single_or_and(nodes))
        }
    }
}

/// One `"$op": operand` on the field at `path`.
fn parse_operator(path: &str, op: &str, operand: &Value, at: &str, depth: usize) -> Result<Node> {
    check_path_at(path, op, at)?;
    let field = |cond| Node::Field {
        path: path.to_string(),
        cond,
    };
    let here = at_suffix(at);
    Ok(match op {
        "$eq" => field(Cond::Eq(operand.clone())),
        "$ne" => field(Cond::Ne(operand.clone())),
        "$gt" | "$gte" | "$lt" | "$lte" => {
            check_ordered_operand_at(path, op, operand, at)?;
            field(match op {
                "$gt" => Cond::Gt(operand.clone()),
                "$gte" => Cond::Gte(operand.clone()),
                "$lt" => Cond::Lt(operand.clone()),
                _ => Cond::Lte(operand.clone()),
            })
        }
        "$in" | "$nin" => {
            let Value::Array(values) = operand else {
                return Err(Error::invalid(format!(
                    "operator {op} on field \"{path}\" expects an array of values, got {}{here}",
                    describe(operand)
                )));
            };
            field(if op == "$in" {
                Cond::In(values.clone())
            } else {
                Cond::Nin(values.clone())
            })
        }
        "$exists" => match operand {
            Value::Bool(true) => field(Cond::Exists),
            Value::Bool(false) => Node::Not(Box::new(field(Cond::Exists))),
            _ => {
                return Err(Error::invalid(format!(
                    "operator $exists on field \"{path}\" expects true or false, got {}{here}",
                    describe(operand)
                )))
            }
        },
        "$not" => {
            let inner = match operator_object(path, operand, at)? {
                Some(ops) if depth < FILTER_DEPTH_MAX => ops,
                Some(_) => {
                    return Err(Error::invalid(format!(
                        "filter nests deeper than {FILTER_DEPTH_MAX} levels \
                         (field \"{path}\"){here}"
                    )))
                }
                None => {
                    return Err(Error::invalid(format!(
                        "operator $not on field \"{path}\" expects an object of operators \
                         such as {{\"$gt\": 1}}, got {}{here}",
                        describe(operand)
                    )))
                }
            };
            let nodes = inner
                .iter()
                .map(|(op, operand)| parse_operator(path, op, operand, at, depth + 1))
                .collect::<Result<Vec<_>>>()?;
            Node::Not(Box::new(single_or_and(nodes)))
        }
        "$and" | "$or" => {
            return Err(Error::invalid(format!(
                "operator {op} is not allowed on field \"{path}\"{here}; \
                 it combines whole filters: {{\"{op}\": [{{\"{path}\": ...}}, ...]}}"
            )))
        }
        _ => {
            return Err(Error::invalid(format!(
                "unknown operator \"{op}\" on field \"{path}\"{here}; \
                 expected one of $eq $ne $gt $gte $lt $lte $in $nin $exists $not"
            )))
        }
    })
}

/// A path is non-empty, has no empty segment and does not start with `$`.
pub(super) fn check_path(path: &str, op: &str) -> Result<()> {
    check_path_at(path, op, "")
}

fn check_path_at(path: &str, op: &str, at: &str) -> Result<()> {
    let problem = if path.is_empty() {
        "the path is empty"
    } else if path.split('.').any(str::is_empty) {
        "the path has an empty segment"
    } else if path.starts_with('$') {
        "a path must not start with '$'"
    } else {
        return Ok(());
    };
    Err(Error::invalid(format!(
        "invalid field path \"{path}\" for {op}{}: {problem}",
        at_suffix(at)
    )))
}

/// Ordering operators take a number or a string.
pub(super) fn check_ordered_operand(path: &str, op: &str, operand: &Value) -> Result<()> {
    check_ordered_operand_at(path, op, operand, "")
}

fn check_ordered_operand_at(path: &str, op: &str, operand: &Value, at: &str) -> Result<()> {
    if operand.is_number() || operand.is_string() {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "operator {op} on field \"{path}\" expects a number or a string, got {}{}",
        describe(operand),
        at_suffix(at)
    )))
}
