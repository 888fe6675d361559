'use strict'
// Quantized codes from Node: chosen at creation or later, reported by stats(), searched with
// oversampling and rescoring, and refused when the settings are wrong.
const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Database } = require('..')

function tempDb (t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndb-quant-'))
  const db = new Database(dir)
  t.after(() => { db.close(); fs.rmSync(dir, { recursive: true, force: true }) })
  return db
}

// Clusters of points on a 16-dimensional subspace (like real embeddings), seeded.
function clustered (n, dim, seed) {
  let s = seed >>> 0
  const rand = () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 4294967296 }
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand())
  let g = 7
  const fixed = () => { g = (g * 1664525 + 1013904223) >>> 0; return g / 4294967296 }
  const fixedGauss = () => Math.sqrt(-2 * Math.log(fixed() + 1e-12)) * Math.cos(2 * Math.PI * fixed())
  const centres = Array.from({ length: 20 }, () => Float32Array.from({ length: dim }, fixedGauss))
  const basis = Array.from({ length: 16 }, () => Float32Array.from({ length: dim }, () => fixedGauss() / 4))
  return Array.from({ length: n }, () => {
    const v = Float32Array.from(centres[Math.floor(rand() * 20)])
    for (const b of basis) {
      const z = gauss()
      for (let d = 0; d < dim; d++) v[d] += z * b[d]
    }
    return v
  })
}

for (const kind of ['int8', 'binary']) {
  test(`${kind} codes: stats, recall against exact search, rescoring`, async (t) => {
    const db = tempDb(t)
    const dim = 384
    const coll = db.createCollection('q', dim, { distance: 'euclidean', quantization: kind, index: { minRows: 1000 } })
    const base = clustered(2000, dim, 1)
    await coll.insertBatch(base.map((vector, i) => ({ id: String(i), vector })))
    await coll.flush()
    const stats = coll.stats()
    assert.strictEqual(stats.quantization, kind)
    assert.strictEqual(stats.quantizedDocs, 2000)
    assert.ok(stats.segments.every((s) => s.quantization === kind))
    assert.ok(stats.residentBytesPerVector < (stats.vectorBytes + stats.graphBytes) / 2000)
    assert.strictEqual(coll.config().quantization, kind)
    let hits = 0
    for (const q of clustered(40, dim, 2)) {
      const exact = new Set((await coll.search({ vector: q, topK: 10, exact: true })).map((h) => h.id))
      const got = await coll.search({ vector: q, topK: 10 })
      hits += got.filter((h) => exact.has(h.id)).length
    }
    assert.ok(hits / 400 >= 0.95, `recall ${hits / 400}`)
    const q = base[3]
    const rescored = await coll.search({ vector: q, topK: 3, oversampling: 3 })
    assert.deepStrictEqual(rescored.map((h) => h.id), coll.searchSync({ vector: q, topK: 3, exact: true }).map((h) => h.id))
    assert.strictEqual(coll.searchSync({ vector: q, topK: 3, rescore: false }).length, 3)
  })
}

test('quantization changes with updateConfig and rebuildIndex; bad settings are refused', async (t) => {
  const db = tempDb(t)
  const coll = db.createCollection('c', 64)
  const base = clustered(300, 64, 3)
  await coll.insertBatch(base.map((vector, i) => ({ id: String(i), vector })))
  await coll.flush()
  assert.strictEqual(coll.stats().quantizedDocs, 0)
  assert.strictEqual((await coll.updateConfig({ quantization: 'int8' })).quantization, 'int8')
  await coll.rebuildIndex()
  assert.strictEqual(coll.stats().quantizedDocs, 300)
  const code = (fn) => { try { fn() } catch (e) { return e.code } return 'no error' }
  assert.strictEqual(code(() => db.createCollection('a', 8, { quantization: 'pq' })), 'NDB_INVALID_ARGUMENT')
  assert.strictEqual(code(() => db.createCollection('b', 8, { quantization: 'binary' })), 'NDB_INVALID_ARGUMENT')
  assert.strictEqual(code(() => coll.searchSync({ vector: base[0], oversampling: 0 })), 'NDB_INVALID_ARGUMENT')
  await assert.rejects(coll.search({ vector: base[0], oversampling: 'lots' }), { code: 'NDB_INVALID_ARGUMENT' })
})
