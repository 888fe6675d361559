'use strict'
// Filters give exactly the documents a naive JavaScript evaluation of the same filter selects,
// with and without payload indexes, in the memtable and in segments.

const test = require('node:test')
const assert = require('node:assert/strict')
const { tempDir, closeAtEnd, rng, randomVectors } = require('./helpers')
const { Database } = require('ndb-vector')

// ---- The reference: the filter semantics of docs/USER-GUIDE.md, written out plainly. ----

function resolve(payload, path) {
  let v = payload
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !(key in v)) return undefined
    v = v[key]
  }
  return v
}

function deepEqual(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a === b
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]))
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a)
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]))
  }
  return a === b
}

function order(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0
  if (typeof a === 'string' && typeof b === 'string') {
    const x = Buffer.from(a)
    const y = Buffer.from(b)
    return Buffer.compare(x, y)
  }
  return undefined
}

function anyCandidate(value, testFn) {
  return testFn(value) || (Array.isArray(value) && value.some(testFn))
}

function condMatches(op, operand, value) {
  if (value === undefined) return false
  switch (op) {
    case '$exists': return true
    case '$eq': return anyCandidate(value, (c) => deepEqual(c, operand))
    case '$ne': return !anyCandidate(value, (c) => deepEqual(c, operand))
    case '$in': return anyCandidate(value, (c) => operand.some((o) => deepEqual(c, o)))
    case '$nin': return !anyCandidate(value, (c) => operand.some((o) => deepEqual(c, o)))
    case '$gt': return anyCandidate(value, (c) => order(c, operand) > 0)
    case '$gte': return anyCandidate(value, (c) => order(c, operand) >= 0)
    case '$lt': return anyCandidate(value, (c) => order(c, operand) < 0)
    case '$lte': return anyCandidate(value, (c) => order(c, operand) <= 0)
  }
  throw new Error(`unknown operator ${op}`)
}

function isOperatorObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).some((k) => k.startsWith('$'))
}

function fieldMatches(path, spec, payload) {
  const value = resolve(payload, path)
  if (!isOperatorObject(spec)) return condMatches('$eq', spec, value)
  return Object.entries(spec).every(([op, operand]) => {
    if (op === '$not') return !fieldMatches(path, operand, payload)
    if (op === '$exists') return operand ? value !== undefined : value === undefined
    return condMatches(op, operand, value)
  })
}

function naiveMatches(filter, payload) {
  return Object.entries(filter).every(([key, spec]) => {
    if (key === '$and') return spec.every((f) => naiveMatches(f, payload))
    if (key === '$or') return spec.some((f) => naiveMatches(f, payload))
    if (key === '$not') return !naiveMatches(spec, payload)
    return fieldMatches(key, spec, payload)
  })
}

// ---- Data and filters. ----

const LANGS = ['en', 'de', 'fr', 'ja']
const TAGS = ['a', 'b', 'c', 'd', 'e']

function randomPayload(r, i) {
  if (i % 17 === 0) return null
  const p = {}
  if (r() < 0.85) p.lang = LANGS[Math.floor(r() * LANGS.length)]
  if (r() < 0.8) p.year = 1990 + Math.floor(r() * 35)
  if (r() < 0.6) p.score = Math.round(r() * 1000) / 100
  if (r() < 0.5) p.tags = TAGS.filter(() => r() < 0.35)
  if (r() < 0.5) p.author = { name: ['ada', 'bob', 'cy'][Math.floor(r() * 3)], age: 20 + Math.floor(r() * 50) }
  if (r() < 0.3) p.draft = r() < 0.5 ? null : r() < 0.5
  if (r() < 0.2) p.year = p.year === undefined ? String(2000 + Math.floor(r() * 20)) : [p.year, p.year + 1]
  return p
}

function randomLeaf(r) {
  const pick = (xs) => xs[Math.floor(r() * xs.length)]
  const year = 1990 + Math.floor(r() * 35)
  const leaves = [
    () => ({ lang: pick(LANGS) }),
    () => ({ lang: { $ne: pick(LANGS) } }),
    () => ({ lang: { $in: [pick(LANGS), pick(LANGS)] } }),
    () => ({ lang: { $nin: [pick(LANGS)] } }),
    () => ({ year: { $gte: year } }),
    () => ({ year: { $lt: year, $gt: year - 10 } }),
    () => ({ year }),
    () => ({ year: { $lte: year + 0.5 } }),
    () => ({ year: { $gt: '2005' } }),
    () => ({ score: { $gt: r() * 10 } }),
    () => ({ tags: pick(TAGS) }),
    () => ({ tags: { $in: [pick(TAGS)] } }),
    () => ({ tags: { $nin: [pick(TAGS)] } }),
    () => ({ tags: [] }),
    () => ({ 'author.name': pick(['ada', 'bob', 'cy']) }),
    () => ({ 'author.age': { $gte: 40 } }),
    () => ({ author: { $exists: true } }),
    () => ({ draft: { $exists: false } }),
    () => ({ draft: null }),
    () => ({ draft: true }),
    () => ({ year: { $not: { $gte: year } } }),
  ]
  return pick(leaves)()
}

function randomFilter(r, depth = 0) {
  const x = r()
  if (depth >= 2 || x < 0.45) return randomLeaf(r)
  if (x < 0.65) return { ...randomLeaf(r), ...randomLeaf(r) }
  if (x < 0.8) return { $or: [randomFilter(r, depth + 1), randomFilter(r, depth + 1)] }
  if (x < 0.9) return { $and: [randomFilter(r, depth + 1), randomFilter(r, depth + 1)] }
  return { $not: randomFilter(r, depth + 1) }
}

test('filters select exactly what a naive evaluation selects', async (t) => {
  const dir = tempDir(t)
  const db = new Database(dir)
  closeAtEnd(t, db)
  const n = 400
  const coll = db.createCollection('f', 8, { distance: 'euclidean' })
  const r = rng(42)
  const vectors = randomVectors(n, 8, 43)
  const payloads = vectors.map((_, i) => randomPayload(r, i))
  // Half in a segment, half in the memtable.
  await coll.insertBatch(vectors.slice(0, n / 2).map((v, i) => ({ id: `d${i}`, vector: v, payload: payloads[i] })))
  await coll.flush()
  await coll.insertBatch(vectors.slice(n / 2).map((v, j) => ({ id: `d${n / 2 + j}`, vector: v, payload: payloads[n / 2 + j] })))

  const query = vectors[0]
  const check = async (label) => {
    let partial = 0
    for (let k = 0; k < 150; k++) {
      const filter = randomFilter(r)
      const expected = payloads
        .map((p, i) => (naiveMatches(filter, p) ? `d${i}` : null))
        .filter((x) => x !== null)
        .sort()
      const hits = await coll.search({ vector: query, topK: n, filter, exact: k % 2 === 0 })
      const got = hits.map((h) => h.id).sort()
      assert.deepEqual(got, expected, `${label}: ${JSON.stringify(filter)}`)
      if (expected.length > 0 && expected.length < n) partial++
      for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1].score >= hits[i].score)
      for (const h of hits) assert.deepEqual(h.payload, payloads[Number(h.id.slice(1))])
    }
    assert.ok(partial > 100, `${label}: most filters select some but not all documents (${partial})`)
  }
  await check('no payload index')
  coll.createPayloadIndex('lang', 'keyword')
  coll.createPayloadIndex('year', 'integer')
  coll.createPayloadIndex('score', 'float')
  coll.createPayloadIndex('draft', 'bool')
  coll.createPayloadIndex('author.name', 'keyword')
  await coll.flush()
  await check('payload indexes')
})
