"""Filters against a naive Python evaluation of the documented semantics, on random payloads."""

import random

import numpy as np
import pytest

import ndb

MISSING = object()


def resolve(payload, path):
    cur = payload
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return MISSING
        cur = cur[part]
    return cur


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def json_eq(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_num(a) and is_num(b):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_eq(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_eq(a[k], b[k]) for k in a)
    if type(a) is not type(b):
        return False
    return a == b


def ordered(a, b, op):
    if not ((is_num(a) and is_num(b)) or (isinstance(a, str) and isinstance(b, str))):
        return False
    return {"$gt": a > b, "$gte": a >= b, "$lt": a < b, "$lte": a <= b}[op]


def candidates(v):
    """The value itself and, for an array, each element (one level)."""
    return [v] + (v if isinstance(v, list) else [])


def cond(v, op, operand):
    if op == "$exists":
        return (v is not MISSING) == operand
    if v is MISSING:
        return False
    if op == "$eq":
        return any(json_eq(c, operand) for c in candidates(v))
    if op == "$ne":
        return not cond(v, "$eq", operand)
    if op in ("$gt", "$gte", "$lt", "$lte"):
        return any(ordered(c, operand, op) for c in candidates(v))
    if op == "$in":
        return any(cond(v, "$eq", o) for o in operand)
    if op == "$nin":
        return not cond(v, "$in", operand)
    raise AssertionError(op)


def field_matches(v, spec):
    if isinstance(spec, dict) and spec and all(k.startswith("$") for k in spec):
        ok = True
        for op, operand in spec.items():
            if op == "$not":
                ok = ok and not field_matches(v, operand)
            else:
                ok = ok and cond(v, op, operand)
        return ok
    return cond(v, "$eq", spec)


def matches(payload, flt):
    for key, val in flt.items():
        if key == "$and":
            ok = all(matches(payload, f) for f in val)
        elif key == "$or":
            ok = any(matches(payload, f) for f in val)
        elif key == "$not":
            ok = not matches(payload, val)
        else:
            ok = field_matches(resolve(payload if payload is not None else {}, key), val)
        if not ok:
            return False
    return True


LANGS = ["en", "de", "fr", "ja"]
TAGS = ["a", "b", "c", "d"]


def random_payload(r):
    if r.random() < 0.05:
        return None
    p = {}
    if r.random() < 0.8:
        p["lang"] = r.choice(LANGS)
    if r.random() < 0.8:
        p["year"] = r.randint(1990, 2030)
    if r.random() < 0.6:
        p["score"] = r.choice([r.uniform(-1, 1), r.randint(-1, 1), 0.5])
    if r.random() < 0.5:
        p["tags"] = r.sample(TAGS, r.randint(0, 3))
    if r.random() < 0.5:
        p["author"] = {"name": r.choice(["ada", "bob", "cy"]), "age": r.randint(20, 60)}
    if r.random() < 0.4:
        p["flag"] = r.random() < 0.5
    if r.random() < 0.1:
        p["lang"] = None
    if r.random() < 0.05:
        p["year"] = str(r.randint(1990, 2030))  # a string where numbers usually are
    return p


FIELDS = {
    "lang": lambda r: r.choice(LANGS + [None]),
    "year": lambda r: r.choice([r.randint(1990, 2030), float(r.randint(1990, 2030)), "2000"]),
    "score": lambda r: r.choice([r.uniform(-1, 1), 0, 0.5]),
    "tags": lambda r: r.choice(TAGS + [["a", "b"]]),
    "author.name": lambda r: r.choice(["ada", "bob", "cy", "zed"]),
    "author.age": lambda r: r.randint(20, 60),
    "flag": lambda r: r.random() < 0.5,
    "nope": lambda r: 1,
}


def random_field_filter(r):
    path = r.choice(list(FIELDS))
    value = FIELDS[path]
    op = r.choice(["plain", "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$not", "range"])
    if op == "plain":
        return {path: value(r)}
    if op in ("$gt", "$gte", "$lt", "$lte"):
        v = value(r)
        if not (is_num(v) or isinstance(v, str)):
            v = 2000
        return {path: {op: v}}
    if op == "range":
        return {path: {"$gte": r.randint(1990, 2010), "$lt": r.randint(2000, 2030)}}
    if op in ("$in", "$nin"):
        return {path: {op: [value(r) for _ in range(r.randint(1, 3))]}}
    if op == "$exists":
        return {path: {"$exists": r.random() < 0.5}}
    if op == "$not":
        inner = {"$in": [value(r), value(r)]} if r.random() < 0.5 else {"$eq": value(r)}
        return {path: {"$not": inner}}
    return {path: {op: value(r)}}


def random_filter(r, depth=0):
    k = r.random()
    if depth < 2 and k < 0.15:
        return {"$and": [random_filter(r, depth + 1) for _ in range(r.randint(1, 3))]}
    if depth < 2 and k < 0.3:
        return {"$or": [random_filter(r, depth + 1) for _ in range(r.randint(1, 3))]}
    if depth < 2 and k < 0.4:
        return {"$not": random_filter(r, depth + 1)}
    f = random_field_filter(r)
    if r.random() < 0.2:
        f.update(random_field_filter(r))
    return f


@pytest.mark.parametrize("indexed", [False, True])
def test_filters_match_naive_evaluation(db, indexed):
    r = random.Random(42)
    n = 400
    payloads = [random_payload(r) for _ in range(n)]
    vecs = np.random.default_rng(0).standard_normal((n, 4)).astype(np.float32)
    coll = db.create_collection("f", dim=4, distance="euclidean")
    ids = [f"d{i}" for i in range(n)]
    coll.upsert(ids[:200], vecs[:200], payloads[:200])
    coll.flush()  # half in a segment, half in the memtable
    coll.upsert(ids[200:], vecs[200:], payloads[200:])
    if indexed:
        coll.create_payload_index("lang", "keyword")
        coll.create_payload_index("year", "integer")
        coll.create_payload_index("score", "float")
        coll.create_payload_index("flag", "bool")
        coll.create_payload_index("author.name", "keyword")
        coll.flush()
    q = np.zeros(4, np.float32)
    checked = nonempty = 0
    for _ in range(300):
        flt = random_filter(r)
        want = {ids[i] for i in range(n) if matches(payloads[i], flt)}
        try:
            hits = coll.search(q, k=n, filter=flt, exact=True)
        except ndb.InvalidArgumentError:
            continue  # e.g. an operand the parser rejects; the naive side has no opinion
        got = {h.id for h in hits}
        assert got == want, (flt, sorted(got ^ want)[:5])
        checked += 1
        nonempty += bool(want) and len(want) < n
    assert checked >= 250 and nonempty >= 100, (checked, nonempty)
