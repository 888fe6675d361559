'use strict'
// Readers that follow the writer: Collection.refresh() and { readOnly: true, refreshIntervalMs }.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { tempDir, closeAtEnd, codeOf, randomVectors } = require('./helpers')
const { Database } = require('ndb-vector')

/** A writer with collection `c` holding `a`, and the database directory. */
async function writer(t) {
  const dir = tempDir(t)
  const db = closeAtEnd(t, new Database(dir))
  const w = db.createCollection('c', 2, { distance: 'euclidean' })
  await w.insert('a', [1, 0])
  return { dir, w }
}

const reader = (t, dir, options = {}) =>
  closeAtEnd(t, new Database(dir, { readOnly: true, ...options })).getCollection('c')

const ids = (hits) => hits.map((h) => h.id).sort()

test("refresh() shows the writer's new documents, false when nothing changed", async (t) => {
  const { dir, w } = await writer(t)
  const r = reader(t, dir)
  const pending = r.refresh()
  assert.ok(pending instanceof Promise)
  assert.equal(await pending, false)
  await w.insert('b', [0, 1], { k: 1 })
  assert.equal(r.get('b'), null, 'a reader keeps its snapshot...')
  assert.equal(r.count(), 1)
  assert.equal(await r.refresh(), true, '...until it refreshes')
  assert.deepEqual(r.get('b').payload, { k: 1 })
  assert.deepEqual(ids(await r.search({ vector: [0, 1], topK: 5 })), ['a', 'b'])
  assert.equal(await r.refresh(), false)
})

test('refresh() follows flushes, deletions and compactions', async (t) => {
  const { dir, w } = await writer(t)
  const r = reader(t, dir)
  const vectors = randomVectors(300, 2, 5)
  await w.insertBatch(vectors.map((vector, i) => ({ id: `d${i}`, vector })))
  await w.flush()
  w.delete('a')
  await w.compact()
  assert.equal(await r.refresh(), true)
  assert.equal(r.count(), 300)
  assert.equal(r.get('a'), null)
  assert.deepEqual(Array.from(r.get('d7').vector), Array.from(vectors[7]))
  assert.equal(r.stats().segmentCount, w.stats().segmentCount)
})

test("refresh() on a writer's collection resolves to false", async (t) => {
  const { w } = await writer(t)
  await w.insert('b', [0, 1])
  assert.equal(await w.refresh(), false)
  assert.equal(w.count(), 2)
})

test('a reader with refreshIntervalMs: 0 sees new data on every search', async (t) => {
  const { dir, w } = await writer(t)
  const r = reader(t, dir, { refreshIntervalMs: 0 })
  await w.insert('b', [0, 1])
  assert.deepEqual(ids(await r.search({ vector: [0, 1], topK: 5 })), ['a', 'b'])
  w.delete('a')
  assert.deepEqual(ids(r.searchSync({ vector: [0, 1], topK: 5 })), ['b'])
  assert.equal(await r.refresh(), false, 'the search already moved it')
})

test('a reader with a long refreshIntervalMs searches its snapshot until due', async (t) => {
  const { dir, w } = await writer(t)
  const r = reader(t, dir, { refreshIntervalMs: 3_600_000 })
  await w.insert('b', [0, 1])
  assert.deepEqual(ids(await r.search({ vector: [0, 1], topK: 5 })), ['a'])
  assert.equal(await r.refresh(), true)
  assert.deepEqual(ids(await r.search({ vector: [0, 1], topK: 5 })), ['a', 'b'])
})

test('bad refreshIntervalMs, or one on a writer, throws NDB_INVALID_ARGUMENT', async (t) => {
  const { dir } = await writer(t)
  for (const refreshIntervalMs of [-1, NaN, Infinity, '10']) {
    assert.equal(await codeOf(() => new Database(dir, { readOnly: true, refreshIntervalMs })), 'NDB_INVALID_ARGUMENT')
  }
  const other = path.join(dir, '..', `${path.basename(dir)}-other`)
  assert.equal(await codeOf(() => new Database(other, { refreshIntervalMs: 10 })), 'NDB_INVALID_ARGUMENT')
  assert.equal(fs.existsSync(other), false, 'refused before anything was created')
})

test('refresh() after close rejects with NDB_CLOSED', async (t) => {
  const { dir } = await writer(t)
  const ro = new Database(dir, { readOnly: true })
  const r = ro.getCollection('c')
  ro.close()
  assert.equal(await codeOf(() => r.refresh()), 'NDB_CLOSED')
})
