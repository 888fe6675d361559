'use strict'
// The addon's own cost per call, on a collection so small that the search itself is almost free
// (64 documents of 8 dimensions in one segment, exact): what a Node caller pays above the Rust call, split into
// the argument/result conversion (searchSync) and the libuv round trip (await search), with and
// without payloads in the results.
//   node bench/overhead.js [--calls 200000]

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { performance } = require('node:perf_hooks')
const { Database } = require('..')

const callsAt = process.argv.indexOf('--calls')
const CALLS = callsAt >= 0 ? Number(process.argv[callsAt + 1]) : 100000
if (!Number.isInteger(CALLS) || CALLS < 4) throw new Error(`--calls wants an integer of at least 4, not ${process.argv[callsAt + 1]}`)

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndb-overhead-'))
  const db = new Database(dir, { backgroundMaintenance: false })
  const rows = []
  for (const withPayload of [false, true]) {
    const coll = db.createCollection(withPayload ? 'p' : 'n', 8, { distance: 'euclidean' })
    const docs = []
    for (let i = 0; i < 64; i++) {
      const v = Float32Array.from({ length: 8 }, (_, j) => Math.sin(i * 8 + j))
      docs.push({ id: `doc-${i}`, vector: v, payload: withPayload ? { row: i, label: i % 10, split: i % 2 ? 'odd' : 'even' } : null })
    }
    await coll.insertBatch(docs)
    await coll.flush() // a segment: payloads are decoded for the hits only
    const query = new Float32Array(8).fill(0.25)
    const req = { vector: query, topK: 10 }
    for (const [label, run] of [
      ['searchSync', () => coll.searchSync(req)],
      ['searchSync, topK 1', () => coll.searchSync({ vector: query, topK: 1 })],
      ['count() (no search, no conversion)', () => coll.count()],
    ]) {
      for (let i = 0; i < 1000; i++) run()
      const t0 = performance.now()
      for (let i = 0; i < CALLS; i++) run()
      rows.push({ withPayload, label, usPerCall: ((performance.now() - t0) * 1000) / CALLS })
    }
    for (let i = 0; i < 1000; i++) await coll.search(req)
    const n = Math.floor(CALLS / 4)
    let t0 = performance.now()
    for (let i = 0; i < n; i++) await coll.search(req)
    rows.push({ withPayload, label: 'await search (one at a time)', usPerCall: ((performance.now() - t0) * 1000) / n })
    t0 = performance.now()
    for (let i = 0; i < n; i += 64) await Promise.all(Array.from({ length: 64 }, () => coll.search(req)))
    rows.push({ withPayload, label: 'search, 64 in flight (per call)', usPerCall: ((performance.now() - t0) * 1000) / n })
  }
  db.close()
  fs.rmSync(dir, { recursive: true, force: true })
  console.log(`| call (64 docs x 8 dims, exact, topK 10) | payloads | µs per call |`)
  console.log('|---|---|---:|')
  for (const r of rows) console.log(`| ${r.label} | ${r.withPayload ? 'yes (3 fields)' : 'no'} | ${r.usPerCall.toFixed(2)} |`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
