'use strict'
// Concurrency: a reader process beside a writer, searches racing inserts, and an event loop
// that stays free while the work runs on the libuv thread pool.

const test = require('node:test')
const assert = require('node:assert/strict')
const { tempDir, closeAtEnd, runNode, randomVectors } = require('./helpers')
const { Database } = require('ndb-vector')

test('a reader process sees whole batches while a writer writes', async (t) => {
  const dir = tempDir(t)
  const db = new Database(dir, { backgroundMaintenance: true })
  closeAtEnd(t, db)
  const dim = 16
  const batch = 50
  const coll = db.createCollection('c', dim, { flushThresholdBytes: 64 << 10 })
  const vectors = randomVectors(batch, dim, 9)
  await coll.insertBatch(vectors.map((v, i) => ({ id: `w0-${i}`, vector: v, payload: { b: 0 } })))

  // The reader reopens the database (a new snapshot) again and again, counting and searching.
  const reader = `
    const { Database } = require('ndb-vector')
    const [dir, dim] = [process.argv[1], Number(process.argv[2])]
    ;(async () => {
      const counts = []
      const q = new Float32Array(dim).fill(0.5)
      const until = Date.now() + 1500
      while (Date.now() < until) {
        const db = new Database(dir, { readOnly: true })
        const c = db.getCollection('c')
        const n = c.count()
        const hits = await c.search({ vector: q, topK: 5 })
        if (hits.length !== Math.min(5, n)) throw new Error('short result: ' + hits.length + ' of ' + n)
        counts.push(n)
        db.close()
      }
      console.log(JSON.stringify(counts))
    })().catch((e) => { console.error(e.code, e.message); process.exit(1) })`
  const readerDone = runNode(reader, [dir, String(dim)])
  let written = 1
  let stop = false
  readerDone.finally(() => (stop = true))
  while (!stop) {
    await coll.insertBatch(vectors.map((v, i) => ({ id: `w${written}-${i}`, vector: v, payload: { b: written } })))
    written++
  }
  const counts = JSON.parse(await readerDone)
  assert.ok(counts.length >= 3, `the reader made ${counts.length} passes`)
  for (let i = 0; i < counts.length; i++) {
    assert.equal(counts[i] % batch, 0, `a batch is all or nothing (saw ${counts[i]})`)
    if (i > 0) assert.ok(counts[i] >= counts[i - 1], 'a later snapshot never has fewer documents')
  }
  assert.ok(counts[counts.length - 1] > counts[0], `the reader saw the writer's progress: ${counts[0]} -> ${counts.at(-1)}`)
  assert.equal(coll.count(), written * batch)
})

test('many concurrent search Promises while inserts run', async (t) => {
  const dir = tempDir(t)
  const db = new Database(dir)
  closeAtEnd(t, db)
  const dim = 32
  const coll = db.createCollection('c', dim, { distance: 'euclidean', flushThresholdBytes: 256 << 10 })
  const base = randomVectors(2000, dim, 21)
  await coll.insertBatch(base.map((v, i) => ({ id: `b${i}`, vector: v, payload: { i } })))
  const extra = randomVectors(2000, dim, 22)
  let inserting = true
  const writer = (async () => {
    for (let i = 0; i < extra.length; i += 20) {
      await coll.insertBatch(extra.slice(i, i + 20).map((v, j) => ({ id: `x${i + j}`, vector: v })))
      await coll.insert(`single${i}`, extra[i], { single: true })
    }
    inserting = false
  })()
  let rounds = 0
  while (inserting || rounds < 2) {
    const picks = Array.from({ length: 200 }, (_, k) => (rounds * 200 + k) % base.length)
    const results = await Promise.all(picks.map((i) => coll.search({ vector: base[i], topK: 10, exact: true })))
    results.forEach((hits, k) => {
      assert.equal(hits.length, 10)
      // The query is itself a stored document: it comes first, at distance 0.
      assert.equal(hits[0].id, `b${picks[k]}`)
      assert.equal(hits[0].score, -0)
      for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1].score >= hits[i].score)
    })
    rounds++
  }
  await writer
  assert.ok(rounds >= 2)
  assert.equal(coll.count(), 2000 + 2000 + 100)
})

/** Count timer ticks while `work` runs; returns the ticks, the longest gap and the duration. */
async function ticksDuring(work) {
  let ticks = 0
  let last = performance.now()
  let longestGap = 0
  const timer = setInterval(() => {
    const now = performance.now()
    longestGap = Math.max(longestGap, now - last)
    last = now
    ticks++
  }, 2)
  const start = performance.now()
  try {
    await work()
  } finally {
    clearInterval(timer)
  }
  return { ticks, longestGap: Math.max(longestGap, performance.now() - last), ms: performance.now() - start }
}

/** Collection `c` (Euclidean, dimension `dim`, graphs for segments of `minRows` rows or more)
 * of a new database without background maintenance, closed at the end of the test. */
function quietCollection(t, dim, minRows) {
  const db = closeAtEnd(t, new Database(tempDir(t), { backgroundMaintenance: false }))
  return db.createCollection('c', dim, { distance: 'euclidean', index: { minRows } })
}

test('the event loop keeps ticking during a large compaction', async (t) => {
  const dim = 64
  const coll = quietCollection(t, dim, 1000)
  const vectors = randomVectors(15000, dim, 31)
  for (let s = 0; s < 3; s++) {
    const part = vectors.slice(s * 5000, (s + 1) * 5000)
    await coll.insertBatch(part.map((v, i) => ({ id: `d${s * 5000 + i}`, vector: v, payload: { s } })))
    await coll.flush()
  }
  for (let i = 0; i < 15000; i += 3) coll.delete(`d${i}`)

  // Control: synchronous searches of a similar length starve the timer completely, so the
  // measurement can see a blocked loop.
  const control = await ticksDuring(async () => {
    const until = performance.now() + 150
    while (performance.now() < until) coll.searchSync({ vector: vectors[1], topK: 10, exact: true })
  })
  assert.equal(control.ticks, 0, 'a blocked event loop does not tick')

  const compaction = await ticksDuring(async () => {
    const stats = await coll.compact()
    assert.equal(stats.docsAfter, 10000)
  })
  t.diagnostic(`compaction: ${compaction.ms.toFixed(0)} ms, ${compaction.ticks} ticks, longest gap ${compaction.longestGap.toFixed(1)} ms`)
  assert.ok(compaction.ms > 100, 'the compaction is large enough to matter')
  assert.ok(compaction.ticks >= 10, `the timer ticked ${compaction.ticks} times during the compaction`)
  assert.ok(compaction.longestGap < compaction.ms / 3, 'no long stall of the event loop')
})

test('the event loop keeps ticking during a batch of 256 concurrent searches', async (t) => {
  const dim = 128
  // 40k x 128 floats (20 MB) without an index: each exact search scans them all.
  const coll = quietCollection(t, dim, 1e9)
  const vectors = randomVectors(40000, dim, 41)
  for (let s = 0; s < vectors.length; s += 10000) {
    await coll.insertBatch(vectors.slice(s, s + 10000).map((v, i) => ({ id: `d${s + i}`, vector: v })))
  }
  await coll.flush()
  // All 256 at once: had a search run on the calling thread, creating them would block.
  const searches = await ticksDuring(async () => {
    const results = await Promise.all(vectors.slice(0, 256).map((q) => coll.search({ vector: q, topK: 10, exact: true })))
    results.forEach((hits, i) => assert.equal(hits[0].id, `d${i}`))
  })
  t.diagnostic(`256 exact searches over 40k x 128: ${searches.ms.toFixed(0)} ms, ${searches.ticks} ticks, longest gap ${searches.longestGap.toFixed(1)} ms`)
  assert.ok(searches.ms > 50, 'the searches take long enough to matter')
  assert.ok(searches.ticks >= 10, `the timer ticked ${searches.ticks} times during the searches`)
  assert.ok(searches.longestGap < searches.ms / 3, 'no long stall of the event loop')
})
