'use strict'
// Payload-only updates: setPayload and patchPayload (RFC 7396), on the libuv pool.

const test = require('node:test')
const assert = require('node:assert/strict')
const { tempDir, closeAtEnd, codeOf } = require('./helpers')
const { Database } = require('ndb-vector')

async function fixture(t) {
  const dir = tempDir(t)
  const db = closeAtEnd(t, new Database(dir))
  const c = db.createCollection('c', 3, { distance: 'euclidean' })
  await c.insertBatch([
    { id: 'a', vector: [1, 0, 0], payload: { lang: 'en', meta: { year: 2020, draft: true } } },
    { id: 'b', vector: [0, 1, 0], payload: { lang: 'de' } },
    { id: 'c', vector: [0, 0, 1] },
  ])
  return { dir, db, c }
}

const ids = (hits) => hits.map((h) => h.id).sort()

test('setPayload replaces the payload and keeps the vector', async (t) => {
  const { c } = await fixture(t)
  const before = c.get('a').vector
  const pending = c.setPayload('a', { lang: 'fr', tags: ['x', 1, 2.5, null] })
  assert.ok(pending instanceof Promise)
  assert.equal(await pending, true)
  const a = c.get('a')
  assert.deepEqual(a.payload, { lang: 'fr', tags: ['x', 1, 2.5, null] })
  assert.deepEqual(Array.from(a.vector), Array.from(before))
  assert.equal(c.count(), 3)
  // null (or undefined) removes the payload.
  assert.equal(await c.setPayload('b', null), true)
  assert.equal(c.get('b').payload, null)
  assert.equal(await c.setPayload('a', undefined), true)
  assert.equal(c.get('a').payload, null)
  // A document without a payload gets one.
  assert.equal(await c.setPayload('c', { lang: 'en' }), true)
  assert.deepEqual(c.get('c').payload, { lang: 'en' })
})

test('patchPayload merges (RFC 7396)', async (t) => {
  const { c } = await fixture(t)
  assert.equal(await c.patchPayload('a', { meta: { year: 2024, draft: null }, added: 1 }), true)
  assert.deepEqual(c.get('a').payload, { lang: 'en', meta: { year: 2024 }, added: 1 })
  assert.equal(await c.patchPayload('b', { lang: null, meta: { k: 'v' } }), true)
  assert.deepEqual(c.get('b').payload, { meta: { k: 'v' } })
  assert.equal(await c.patchPayload('c', { x: { y: null, z: 1 } }), true)
  assert.deepEqual(c.get('c').payload, { x: { z: 1 } })
})

test('an absent document resolves to false and writes nothing', async (t) => {
  const { c } = await fixture(t)
  const walBytes = c.stats().walBytes
  assert.equal(await c.setPayload('missing', { lang: 'en' }), false)
  assert.equal(await c.setPayload('missing', null), false)
  assert.equal(await c.patchPayload('missing', { lang: 'en' }), false)
  assert.equal(c.get('missing'), null)
  assert.equal(c.count(), 3)
  assert.equal(c.stats().walBytes, walBytes)
})

test('searches, filters and payload indexes see the new payload, through flush and compaction', async (t) => {
  const { c } = await fixture(t)
  c.createPayloadIndex('lang', 'keyword')
  const q = [1, 0, 0]
  const where = async (filter) => ids(await c.search({ vector: q, topK: 10, filter }))
  assert.deepEqual(await where({ lang: 'en' }), ['a'])
  await c.setPayload('a', { lang: 'de' })
  assert.deepEqual(await where({ lang: 'en' }), [])
  assert.deepEqual(await where({ lang: 'de' }), ['a', 'b'])
  await c.patchPayload('c', { lang: 'en' })
  assert.deepEqual(ids(c.searchSync({ vector: q, topK: 10, filter: { lang: 'en' }, exact: true })), ['c'])
  const [best] = await c.search({ vector: q, topK: 1 })
  assert.equal(best.id, 'a')
  assert.deepEqual(best.payload, { lang: 'de' })
  await c.flush()
  await c.compact()
  assert.deepEqual(await where({ lang: 'de' }), ['a', 'b'])
  assert.deepEqual(await where({ lang: 'en' }), ['c'])
})

test('updates survive close and reopen', async (t) => {
  const dir = tempDir(t)
  let db = new Database(dir)
  const c = db.createCollection('c', 2, { durability: 'sync' })
  await c.insert('a', [1, 0], { v: 1 })
  await c.flush()
  await c.setPayload('a', { v: 2 })
  await c.patchPayload('a', { w: 3 })
  db.close()
  db = closeAtEnd(t, new Database(dir))
  assert.deepEqual(db.getCollection('c').get('a').payload, { v: 2, w: 3 })
})

test('bad input rejects (never throws) with the right code and changes nothing', async (t) => {
  const { c } = await fixture(t)
  const before = c.get('a').payload
  const walBytes = c.stats().walBytes
  const big = 'x'.repeat(16 << 20)
  const cases = [
    // The library's rules: a payload and a patch are JSON objects, within the limits.
    [() => c.setPayload('a', [1, 2]), 'NDB_INVALID_ARGUMENT'],
    [() => c.setPayload('a', 'text'), 'NDB_INVALID_ARGUMENT'],
    [() => c.patchPayload('a', null), 'NDB_INVALID_ARGUMENT'],
    [() => c.patchPayload('a', [{ lang: 'x' }]), 'NDB_INVALID_ARGUMENT'],
    [() => c.setPayload('a', { big }), 'NDB_INVALID_ARGUMENT'],
    [() => c.patchPayload('a', { big }), 'NDB_INVALID_ARGUMENT'],
    [() => c.setPayload('x'.repeat(5000), { lang: 'x' }), 'NDB_INVALID_ARGUMENT'],
    [() => c.patchPayload('', { lang: 'x' }), 'NDB_INVALID_ARGUMENT'],
    // JavaScript values of the wrong type.
    [() => c.setPayload(42, { lang: 'x' }), 'NDB_INVALID_ARGUMENT'],
    [() => c.patchPayload(undefined, { lang: 'x' }), 'NDB_INVALID_ARGUMENT'],
    [() => c.setPayload('a', { f: () => 1 }), 'NDB_INVALID_ARGUMENT'],
  ]
  for (const [call, code] of cases) {
    let promise
    assert.doesNotThrow(() => {
      promise = call()
    })
    assert.ok(promise instanceof Promise)
    assert.equal(await codeOf(() => promise), code, call.toString())
  }
  assert.deepEqual(c.get('a').payload, before)
  assert.equal(c.stats().walBytes, walBytes)
})

test('a read-only database refuses payload updates', async (t) => {
  const dir = tempDir(t)
  const db = new Database(dir)
  await db.createCollection('c', 2).insert('a', [1, 0], { v: 1 })
  db.close()
  const ro = closeAtEnd(t, new Database(dir, { readOnly: true }))
  const c = ro.getCollection('c')
  assert.equal(await codeOf(() => c.setPayload('a', { v: 2 })), 'NDB_READ_ONLY')
  assert.equal(await codeOf(() => c.patchPayload('a', { v: 2 })), 'NDB_READ_ONLY')
  assert.deepEqual(c.get('a').payload, { v: 1 })
  ro.close()
  assert.equal(await codeOf(() => c.setPayload('a', { v: 2 })), 'NDB_CLOSED')
})
