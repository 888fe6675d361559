'use strict'
// Round trips: what goes in comes back out, through close and reopen; vector inputs.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { tempDir, closeAtEnd, randomVectors, codeOf } = require('./helpers')

test('the package loads by name and by path', () => {
  const byName = require('ndb-vector')
  const byPath = require(path.join(__dirname, '..'))
  assert.equal(byName, byPath)
  assert.equal(typeof byName.Database, 'function')
  assert.equal(typeof byName.Collection, 'function')
})

const { Database } = require('ndb-vector')

test('documents survive close and reopen, in the memtable and in segments', async (t) => {
  const dir = tempDir(t)
  const vectors = randomVectors(200, 8, 7)
  let db = new Database(dir)
  const coll = db.createCollection('docs', 8, { distance: 'euclidean', durability: 'sync' })
  assert.equal(coll.name, 'docs')
  assert.equal(coll.dim, 8)
  assert.equal(coll.distance, 'euclidean')
  await coll.insertBatch(
    vectors.slice(0, 100).map((v, i) => ({ id: `d${i}`, vector: v, payload: { i, even: i % 2 === 0, tags: ['x', `t${i % 3}`], nested: { n: i / 2 } } })),
  )
  await coll.flush() // the first 100 go to a segment
  for (let i = 100; i < 200; i++) {
    await coll.insert(`d${i}`, vectors[i], i % 10 === 0 ? null : { i })
  }
  assert.equal(coll.delete('d5'), true)
  assert.equal(coll.delete('d5'), false)
  assert.equal(coll.delete('never'), false)
  assert.equal(coll.count(), 199)
  const before = await coll.search({ vector: vectors[3], topK: 5, exact: true })
  db.close()
  assert.equal(db.closed, true)

  db = new Database(dir)
  closeAtEnd(t, db)
  assert.deepEqual(db.listCollections(), ['docs'])
  assert.equal(db.hasCollection('docs'), true)
  assert.equal(db.hasCollection('other'), false)
  const again = db.getCollection('docs')
  assert.equal(again.count(), 199)
  assert.equal(again.get('d5'), null)
  const d7 = again.get('d7')
  assert.ok(d7.vector instanceof Float32Array)
  assert.deepEqual(Array.from(d7.vector), Array.from(vectors[7]))
  assert.deepEqual(d7.payload, { i: 7, even: false, tags: ['x', 't1'], nested: { n: 3.5 } })
  assert.equal(Object.getPrototypeOf(d7.payload), Object.prototype, 'payloads are plain objects')
  assert.equal(again.get('d110').payload, null)
  assert.deepEqual(again.get('d151').payload, { i: 151 })
  const after = await again.search({ vector: vectors[3], topK: 5, exact: true })
  assert.deepEqual(after, before)
  assert.equal(after[0].id, 'd3')
  assert.equal(after[0].score, -0)
  assert.deepEqual(after[0].payload, { i: 3, even: false, tags: ['x', 't0'], nested: { n: 1.5 } })
  const stats = again.stats()
  assert.equal(stats.docCount, 199)
  assert.ok(stats.segmentCount >= 1)
  assert.ok(stats.walReplayedRecords > 0)
})

test('Float32Array and number[] are the same vector', async (t) => {
  const dir = tempDir(t)
  const db = new Database(dir)
  closeAtEnd(t, db)
  const a = db.createCollection('a', 4, { distance: 'dot_product' })
  const [v] = randomVectors(1, 4, 3)
  // A Float32Array view with a byte offset into a larger buffer.
  const backing = new Float32Array(12)
  backing.set(v, 5)
  const view = backing.subarray(5, 9)
  await a.insert('typed', view, { kind: 'typed' })
  await a.insert('plain', Array.from(v), { kind: 'plain' })
  assert.deepEqual(Array.from(a.get('typed').vector), Array.from(a.get('plain').vector))
  const byTyped = a.searchSync({ vector: view, topK: 2 })
  const byArray = a.searchSync({ vector: Array.from(view), topK: 2 })
  assert.deepEqual(byTyped, byArray)
  assert.equal(byTyped[0].score, byTyped[1].score)
  assert.deepEqual(await a.search({ vector: view, topK: 2 }), byTyped)
  // The returned vector is the caller's to keep: changing it changes nothing stored.
  const got = a.get('typed').vector
  got[0] = 1234
  assert.notEqual(a.get('typed').vector[0], 1234)
  // Other typed arrays and non-numbers are refused.
  assert.equal(await codeOf(() => a.insert('x', new Float64Array(4))), 'NDB_INVALID_ARGUMENT')
  assert.equal(await codeOf(() => a.insert('x', [1, 2, '3', 4])), 'NDB_INVALID_ARGUMENT')
  assert.equal(await codeOf(() => a.searchSync({ vector: new Int32Array(4) })), 'NDB_INVALID_ARGUMENT')
})

test('cosine collections store unit vectors; search options', async (t) => {
  const dir = tempDir(t)
  const db = new Database(dir)
  closeAtEnd(t, db)
  const c = db.createCollection('c', 3) // cosine by default
  assert.equal(c.distance, 'cosine')
  await c.insertBatch([
    { id: 'x', vector: [2, 0, 0], payload: { lang: 'en' } },
    { id: 'y', vector: [0, 3, 0], payload: { lang: 'de' } },
    { id: 'xy', vector: [1, 1, 0] },
  ])
  assert.deepEqual(Array.from(c.get('x').vector), [1, 0, 0])
  const hits = await c.search({ vector: [1, 0.1, 0] })
  assert.deepEqual(hits.map((h) => h.id), ['x', 'xy', 'y'])
  assert.ok(hits[0].score <= 1 && hits[0].score > 0.99)
  assert.equal((await c.search({ vector: [1, 0, 0], topK: 1 })).length, 1)
  assert.deepEqual((await c.search({ vector: [1, 0, 0], filter: { lang: 'de' } })).map((h) => h.id), ['y'])
  // Rank by another metric (exact).
  const byL2 = await c.search({ vector: [0, 1, 0], distance: 'euclidean', topK: 1 })
  assert.equal(byL2[0].id, 'y')
  assert.equal(byL2[0].score, -0)
  // Duplicate ids in one batch: the last wins.
  await c.insertBatch([
    { id: 'd', vector: [1, 0, 0], payload: { v: 1 } },
    { id: 'd', vector: [0, 1, 0], payload: { v: 2 } },
  ])
  assert.deepEqual(c.get('d').payload, { v: 2 })
})

test('collections: create, list, drop; maintenance calls; payload indexes; read-only', async (t) => {
  const dir = tempDir(t)
  const db = new Database(dir)
  const a = db.createCollection('a', 2, { index: { m: 8, efConstruction: 50, efSearch: 40, minRows: 10 }, flushThresholdBytes: 1 << 20 })
  db.createCollection('b', 2)
  assert.deepEqual(db.listCollections(), ['a', 'b'])
  const vectors = randomVectors(50, 2, 11)
  await a.insertBatch(vectors.map((v, i) => ({ id: String(i), vector: v, payload: { year: 2000 + i } })))
  await a.sync()
  await a.flush()
  await a.rebuildIndex()
  assert.equal(a.hasIndex(), true)
  const s = a.stats()
  assert.equal(s.indexBacklogRows, 0)
  assert.equal(s.indexBacklogSegments, 0)
  assert.equal(s.indexEnabled, true)
  assert.equal(await a.waitForIndex(), true)
  assert.equal(await a.waitForIndex(0), true)
  assert.equal(await codeOf(() => a.waitForIndex(-1)), 'NDB_INVALID_ARGUMENT')
  a.createPayloadIndex('year', 'integer')
  assert.deepEqual(a.payloadIndexes(), [{ field: 'year', kind: 'integer' }])
  const hits = await a.search({ vector: vectors[0], topK: 3, filter: { year: { $lt: 2010 } }, ef: 64 })
  assert.equal(hits.length, 3)
  assert.ok(hits.every((h) => h.payload.year < 2010))
  for (let i = 0; i < 25; i++) a.delete(String(i))
  const compaction = await a.compact()
  assert.equal(compaction.docsAfter, 25)
  assert.ok(compaction.bytesAfter < compaction.bytesBefore)
  await a.verify()
  a.deleteIndex()
  assert.equal(a.hasIndex(), false)
  a.dropPayloadIndex('year')
  assert.deepEqual(a.payloadIndexes(), [])
  assert.equal(db.dropCollection('b'), true)
  assert.equal(db.dropCollection('b'), false)
  assert.deepEqual(db.listCollections(), ['a'])
  db.close()
  db.close() // harmless

  const reader = new Database(dir, { readOnly: true })
  closeAtEnd(t, reader)
  assert.equal(reader.readOnly, true)
  const ra = reader.getCollection('a')
  assert.equal(ra.count(), 25)
  assert.equal((await ra.search({ vector: vectors[30], topK: 1 }))[0].id, '30')
})

test('searchSync and search give the same hits: any ids, mixed payloads, many hits', async (t) => {
  const { Database } = require('..')
  const db = closeAtEnd(t, new Database(tempDir(t), { backgroundMaintenance: false }))
  const c = db.createCollection('ids', 4, { distance: 'euclidean' })
  // Ids with characters outside ASCII and the BMP (JavaScript counts UTF-16 code units), a NUL,
  // quotes; every third document without a payload; more hits than searchSync's first buffer.
  const odd = ['é', '日本', '😀', 'a\u0000b', '"q"', '\\', 'x'.repeat(300)]
  const docs = []
  for (let i = 0; i < 200; i++) {
    const id = `${odd[i % odd.length]}-${i}`
    const payload = i % 3 === 0 ? null : { i, s: odd[i % odd.length], nested: { a: [i, null, true] } }
    docs.push({ id, vector: new Float32Array([i, i % 7, -i, 0.5]), payload })
  }
  await c.insertBatch(docs)
  const byId = new Map(docs.map((d) => [d.id, d]))
  for (const flushed of [false, true]) {
    if (flushed) await c.flush()
    for (const topK of [1, 10, 32, 33, 200]) {
      const req = { vector: new Float32Array([50, 1, -50, 0.5]), topK, exact: true }
      const sync = c.searchSync(req)
      const sync2 = c.searchSync(req) // after the buffer grew, when it had to
      const viaPromise = await c.search(req)
      assert.equal(sync.length, topK)
      assert.deepEqual(sync, viaPromise)
      assert.deepEqual(sync2, viaPromise)
      for (const h of sync) {
        assert.deepEqual(Object.keys(h), ['id', 'score', 'payload'])
        assert.deepEqual(h.payload, byId.get(h.id).payload)
        assert.equal(h.score, Math.fround(h.score))
      }
    }
    assert.deepEqual(c.searchSync({ vector: [50, 1, -50, 0.5], topK: 3, filter: { i: { $lt: 0 } } }), [])
  }
})
