'use strict'
// Search hits carry each payload as stored (JSON text the addon never parses): every search
// path gives the payload `get()` gives, from the memtable, a segment and a reopened log.

const test = require('node:test')
const assert = require('node:assert/strict')
const { tempDir, closeAtEnd } = require('./helpers')
const { Database } = require('ndb-vector')

// Payloads JSON text can carry in awkward ways; `null` and `undefined` are none.
const PAYLOADS = [
  { nested: { a: { b: { c: [1, { d: 'deep' }] } } }, empty: {}, list: [] },
  { s: 'é 日本 😀 \u0301 "quoted" back\\slash \n\t\r \u0000 \u001f \u2028 \u2029 </script>', '键 😀': 'key' },
  { big: 1e300, tiny: 5e-324, max: Number.MAX_VALUE, negZero: -0, neg: -1e-300, frac: 0.1 },
  { ints: [0, 1, -1, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 53, -(2 ** 53), 123456789012] },
  { mixed: [1, 'two', null, true, false, [3, [4]], { five: 5 }], nothing: null },
  { z: 1, a: 2, 10: 'ten', 2: 'two', m: { y: 1, b: 2 } },
  { lone: '\ud800 x \udfff' },
  null,
  undefined,
]

async function fixture(t) {
  const dir = tempDir(t)
  let db = closeAtEnd(t, new Database(dir, { backgroundMaintenance: false }))
  let c = db.createCollection('c', 3, { distance: 'euclidean' })
  // Enough documents for searchSync's results not to fit its first buffer at topK 100.
  const docs = []
  for (let i = 0; i < 60; i++) {
    const doc = { id: `doc-${i}`, vector: new Float32Array([i, i % 5, -i]) }
    const payload = PAYLOADS[i % PAYLOADS.length]
    if (payload !== undefined) doc.payload = payload
    docs.push(doc)
  }
  await c.insertBatch(docs)
  const reopen = () => {
    db.close()
    db = closeAtEnd(t, new Database(dir, { backgroundMaintenance: false }))
    c = db.getCollection('c')
    return c
  }
  return { docs, coll: () => c, reopen }
}

/** Every search path's hits for `vector` (the same request on each). */
async function allHits(c, vector, topK) {
  const req = { vector, topK, exact: true }
  return {
    search: await c.search(req),
    searchGeneral: await c.search({ ...req, rescore: true }),
    searchSync: c.searchSync(req),
    searchSyncAgain: c.searchSync(req), // after searchSync's buffer grew, when it had to
    searchSyncGeneral: c.searchSync({ ...req, rescore: true }),
  }
}

function checkHits(c, byId, hits, where) {
  for (const [path, list] of Object.entries(hits)) {
    const what = `${where}, ${path}`
    assert.ok(list.length > 0, what)
    for (const h of list) {
      assert.deepEqual(Object.keys(h), ['id', 'score', 'payload'], what)
      const got = c.get(h.id)
      // Exactly what get() shows (Object.is on numbers: -0 and 0 differ), keys in its order.
      assert.deepStrictEqual(h.payload, got.payload, `${what}: ${h.id}`)
      assert.equal(JSON.stringify(h.payload), JSON.stringify(got.payload), `${what}: ${h.id}`)
      // And what was inserted, as JSON has it (-0 is stored as 0; no payload is null).
      const inserted = byId.get(h.id).payload
      if (inserted === undefined || inserted === null) assert.equal(h.payload, null, what)
      else if (inserted.lone === undefined) assert.deepStrictEqual(h.payload, JSON.parse(JSON.stringify(inserted)), what)
    }
  }
  assert.deepStrictEqual(hits.searchSync, hits.search, where)
  assert.deepStrictEqual(hits.searchSyncAgain, hits.search, where)
}

test('search and searchSync hits carry the payloads get() returns, exactly', async (t) => {
  const { docs, coll, reopen } = await fixture(t)
  const byId = new Map(docs.map((d) => [d.id, d]))
  const stages = [
    ['memtable', async () => coll()],
    ['segment', async () => (await coll().flush(), coll())],
    ['reopened', async () => reopen()],
  ]
  for (const [where, stage] of stages) {
    const c = await stage()
    for (const topK of [1, PAYLOADS.length, 100]) {
      const hits = await allHits(c, new Float32Array([30, 2, -30]), topK)
      assert.equal(hits.search.length, Math.min(topK, docs.length))
      checkHits(c, byId, hits, `${where}, topK ${topK}`)
    }
    // A hit of each kind of payload, on its own (searchSync packs payloads only when some
    // hit has one).
    for (let i = 0; i < PAYLOADS.length; i++) {
      const hits = await allHits(c, docs[i].vector, 1)
      assert.equal(hits.search[0].id, docs[i].id)
      checkHits(c, byId, hits, `${where}, ${docs[i].id} alone`)
    }
  }
  // Payloads written since (setPayload, patchPayload) are searched as stored, too.
  const c = coll()
  await c.setPayload('doc-0', { replaced: [1e300, -0, 'ü'] })
  await c.patchPayload('doc-1', { added: { n: 2 ** 40 } })
  await c.setPayload('doc-2', null)
  for (const id of ['doc-0', 'doc-1', 'doc-2']) {
    const hits = await allHits(c, byId.get(id).vector, 1)
    for (const list of Object.values(hits)) {
      assert.equal(list[0].id, id)
      assert.deepStrictEqual(list[0].payload, c.get(id).payload)
    }
  }
  assert.deepStrictEqual(c.get('doc-0').payload, { replaced: [1e300, 0, 'ü'] })
  assert.equal(c.get('doc-2').payload, null)
})
