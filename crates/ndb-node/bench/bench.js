'use strict'
// From Node: ingest with payloads, single-query QPS along an ef sweep (recall@10 against exact
// ground truth), 64 concurrent search Promises, for nDB (ndb-vector), hnswlib-node and usearch,
// on one dataset in TexMex format (scripts/fetch-dataset.sh). See README.md; run.sh runs it.
//
//   node bench/bench.js DATASET_DIR [--queries N] [--ef-sweep 10,16,...] [--engines ndb,hnswlib,usearch]
//                                   [--m 16] [--ef-construction 200] [--json FILE] [--tmp DIR]
//                                   [--keep-ndb DIR]
//
// With --keep-ndb DIR, nDB's database is made in DIR (which must not exist) instead of under the
// temp dir, and is left there, closed, after nDB's part, so that the Rust example search_db
// (crates/ndb-bench/examples/search_db.rs) can time the same searches of the same collection
// ('bench') from Rust: the difference of the two medians is the binding's cost per call, on one
// graph (run.sh does this).

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { performance } = require('node:perf_hooks')

// ---- arguments ----
const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : dflt
}
const DATASET = argv.find((a, i) => !a.startsWith('--') && (i === 0 || !argv[i - 1].startsWith('--')))
if (!DATASET) {
  console.error('usage: node bench/bench.js DATASET_DIR [--queries N] [--ef-sweep LIST] [--engines LIST] [--json FILE] [--keep-ndb DIR]')
  process.exit(2)
}
const K = 10
const NQ = Number(opt('--queries', 1000))
const EF_SWEEP = opt('--ef-sweep', '8,10,12,16,24,32,48,64,96,128,192,256').split(',').map(Number)
const ENGINES = opt('--engines', 'ndb,hnswlib,usearch').split(',')
const M = Number(opt('--m', 16))
const EF_CONSTRUCTION = Number(opt('--ef-construction', 200))
const PASSES = Number(opt('--passes', 2))
const CONCURRENCY = 64
const BATCH = 1000
const TARGET = 0.95
const TMP = opt('--tmp', path.join(__dirname, '..', '..', '..', 'target', 'bench-tmp', `node-${process.pid}`))
const JSON_OUT = opt('--json')
// --keep-ndb: where nDB's database is made and left, closed (undefined: under TMP, removed).
const KEEP_NDB = opt('--keep-ndb')
if (KEEP_NDB !== undefined) {
  if (!KEEP_NDB || KEEP_NDB.startsWith('--')) {
    console.error('--keep-ndb needs a directory')
    process.exit(2)
  }
  if (fs.existsSync(KEEP_NDB)) {
    console.error(`--keep-ndb ${KEEP_NDB}: already exists`)
    process.exit(2)
  }
  if (!ENGINES.includes('ndb')) {
    console.error('--keep-ndb needs the ndb engine (--engines)')
    process.exit(2)
  }
}

// ---- data ----
function readVecs(file, Ctor, limit = Infinity) {
  const buf = fs.readFileSync(file)
  const dim = buf.readInt32LE(0)
  const rowBytes = 4 + dim * 4
  const n = Math.min(buf.length / rowBytes, limit)
  const out = new Ctor(n * dim)
  for (let i = 0; i < n; i++) {
    out.set(new Ctor(buf.buffer, buf.byteOffset + i * rowBytes + 4, dim), i * dim)
  }
  return { n, dim, data: out, row: (i) => out.subarray(i * dim, (i + 1) * dim) }
}

const info = fs.readFileSync(path.join(DATASET, 'INFO.md'), 'utf8')
const metric = /metric = \*\*cosine/.test(info) ? 'cosine' : 'l2'
const name = path.basename(path.resolve(DATASET))
const base = readVecs(path.join(DATASET, 'base.fvecs'), Float32Array)
const queries = readVecs(path.join(DATASET, 'query.fvecs'), Float32Array, NQ)
const gt = readVecs(path.join(DATASET, 'gt.ivecs'), Int32Array, NQ)
const gtDist = readVecs(path.join(DATASET, 'gt_dist.fvecs'), Float32Array, NQ)
const labels = fs.existsSync(path.join(DATASET, 'base.labels'))
  ? fs.readFileSync(path.join(DATASET, 'base.labels'))
  : null
const dim = base.dim
const payloadOf = (i) => ({ row: i, label: labels ? labels[i] : i % 10, split: i % 2 ? 'odd' : 'even' })

// The ground truth's own distance (squared L2, or 1 - cosine), in float64.
function distance(a, b) {
  if (metric === 'l2') {
    let s = 0
    for (let j = 0; j < a.length; j++) {
      const d = a[j] - b[j]
      s += d * d
    }
    return s
  }
  let dot = 0
  let na = 0
  let nb = 0
  for (let j = 0; j < a.length; j++) {
    dot += a[j] * b[j]
    na += a[j] * a[j]
    nb += b[j] * b[j]
  }
  return 1 - dot / Math.sqrt(na * nb)
}

// Recall@K, fair with ties: a result is a hit if it is in the true top K or no farther than the
// K-th true neighbour (the same rule as ndb-search-bench).
function recallOf(q, rows) {
  const truth = new Set(gt.row(q).subarray(0, K))
  const kth = gtDist.row(q)[K - 1]
  let hits = 0
  for (const r of rows.slice(0, K)) {
    if (truth.has(r) || distance(queries.row(q), base.row(r)) <= kth * (1 + 1e-6) + 1e-6) hits++
  }
  return hits / K
}

// ---- measurement helpers ----
const median = (xs) => {
  const s = Float64Array.from(xs).sort()
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/** One ef of a sweep: PASSES passes over the queries, one at a time, after a warm-up; the
 * fastest pass's QPS and the median per-query latency over all passes (microseconds). Recall
 * is judged on the first pass (results do not change between passes). */
async function sweepPoint(ef, runOne) {
  for (let q = 0; q < Math.min(100, queries.n); q++) {
    const r = runOne(q)
    if (r instanceof Promise) await r
  }
  let best = Infinity
  let recall = 0
  const latencies = []
  for (let pass = 0; pass < PASSES; pass++) {
    let sum = 0
    const t0 = performance.now()
    for (let q = 0; q < queries.n; q++) {
      const s = performance.now()
      let rows = runOne(q)
      if (rows instanceof Promise) rows = await rows // synchronous engines are not awaited
      latencies.push((performance.now() - s) * 1000)
      if (pass === 0) sum += recallOf(q, rows)
    }
    best = Math.min(best, performance.now() - t0)
    if (pass === 0) recall = sum / queries.n
  }
  return { ef, recall, qps: (queries.n * 1000) / best, p50Us: median(latencies) }
}

/** The first ef of the sweep reaching the target recall, and its QPS (null if none does). */
function atTarget(points) {
  const p = points.find((x) => x.recall >= TARGET)
  return p ? { ...p } : null
}

function log(msg) {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${name}: ${msg}\n`)
}

// ---- engines ----
async function benchNdb() {
  const { Database } = require('..')
  const dir = KEEP_NDB ?? path.join(TMP, 'ndb')
  if (KEEP_NDB === undefined) fs.rmSync(dir, { recursive: true, force: true })
  else if (fs.existsSync(dir)) throw new Error(`--keep-ndb ${dir}: already exists`)
  fs.mkdirSync(path.dirname(dir), { recursive: true })
  const db = new Database(dir, { backgroundMaintenance: false })
  const coll = db.createCollection('bench', dim, {
    distance: metric === 'l2' ? 'euclidean' : 'cosine',
    durability: 'buffered',
    // One segment with one graph, as ndb-search-bench --hnsw builds it.
    flushThresholdBytes: base.n * (dim * 4 + 256) * 2,
    index: { m: M, efConstruction: EF_CONSTRUCTION, minRows: 1 },
  })
  log('nDB: ingest')
  const t0 = performance.now()
  for (let s = 0; s < base.n; s += BATCH) {
    const docs = []
    for (let i = s; i < Math.min(s + BATCH, base.n); i++) {
      docs.push({ id: String(i), vector: base.row(i), payload: payloadOf(i) })
    }
    await coll.insertBatch(docs)
  }
  const tAck = performance.now() - t0
  await coll.flush() // writes the segment (and, without background maintenance, its graph)
  if (!coll.hasIndex()) await coll.rebuildIndex()
  const tIndexed = performance.now() - t0
  const st = coll.stats()
  log(`nDB: ${st.docCount} docs, ${st.segmentCount} segment(s), ${st.indexedDocs} indexed`)

  const rowsOf = (hits) => hits.map((h) => Number(h.id))
  const sync = []
  const promised = []
  for (const ef of EF_SWEEP) {
    sync.push(await sweepPoint(ef, (q) => rowsOf(coll.searchSync({ vector: queries.row(q), topK: K, ef }))))
    promised.push(await sweepPoint(ef, async (q) => rowsOf(await coll.search({ vector: queries.row(q), topK: K, ef }))))
    log(`nDB ef=${ef}: recall ${sync.at(-1).recall.toFixed(4)}, searchSync ${sync.at(-1).qps.toFixed(0)} QPS, await search ${promised.at(-1).qps.toFixed(0)} QPS`)
  }
  const target = atTarget(promised)
  const concurrent = target ? await concurrentQps((q) => coll.search({ vector: queries.row(q), topK: K, ef: target.ef })) : null
  db.close()
  if (KEEP_NDB === undefined) fs.rmSync(dir, { recursive: true, force: true })
  else log(`nDB: database kept, closed, in ${path.resolve(dir)} (collection 'bench')`)
  return {
    engine: 'nDB (ndb-vector)',
    ingest: { docsPerSecAcked: (base.n * 1000) / tAck, docsPerSecIndexed: (base.n * 1000) / tIndexed, ackMs: tAck, indexedMs: tIndexed },
    sweep: { searchSync: sync, awaitSearch: promised },
    atTarget: { searchSync: atTarget(sync), awaitSearch: target },
    concurrent64: concurrent,
  }
}

/** QPS with CONCURRENCY search Promises in flight at all times. */
async function concurrentQps(searchOne) {
  let next = 0
  const t0 = performance.now()
  const total = queries.n * 2
  async function worker() {
    while (next < total) {
      const q = next++ % queries.n
      await searchOne(q)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return { concurrency: CONCURRENCY, qps: (total * 1000) / (performance.now() - t0), threadpool: Number(process.env.UV_THREADPOOL_SIZE || 4) }
}

async function benchHnswlib() {
  const { HierarchicalNSW } = require('./node_modules/hnswlib-node')
  // hnswlib-node takes plain arrays only: convert outside the timings (the cheapest case for it).
  const baseArrays = Array.from({ length: base.n }, (_, i) => Array.from(base.row(i)))
  const queryArrays = Array.from({ length: queries.n }, (_, q) => Array.from(queries.row(q)))
  const index = new HierarchicalNSW(metric === 'l2' ? 'l2' : 'cosine', dim)
  index.initIndex(base.n, M, EF_CONSTRUCTION, 100)
  const payloads = new Array(base.n)
  log('hnswlib-node: ingest')
  const t0 = performance.now()
  for (let i = 0; i < base.n; i++) {
    index.addPoint(baseArrays[i], i)
    payloads[i] = payloadOf(i) // kept by the application beside the index
  }
  const tIndexed = performance.now() - t0
  const sweep = []
  for (const ef of EF_SWEEP) {
    index.setEf(ef)
    sweep.push(
      await sweepPoint(ef, (q) => {
        const { neighbors } = index.searchKnn(queryArrays[q], K)
        for (const r of neighbors) void payloads[r]
        return neighbors
      }),
    )
    log(`hnswlib-node ef=${ef}: recall ${sweep.at(-1).recall.toFixed(4)}, ${sweep.at(-1).qps.toFixed(0)} QPS`)
  }
  return {
    engine: 'hnswlib-node 3.0.0',
    ingest: { docsPerSecIndexed: (base.n * 1000) / tIndexed, indexedMs: tIndexed },
    sweep: { searchKnn: sweep },
    atTarget: { searchKnn: atTarget(sweep) },
    note: 'in memory, no persistence; payloads in a JS array beside the index; synchronous calls only',
  }
}

async function benchUsearch() {
  const usearch = require('./node_modules/usearch')
  const config = (ef) => ({
    metric: metric === 'l2' ? 'l2sq' : 'cos',
    dimensions: dim,
    connectivity: M,
    expansion_add: EF_CONSTRUCTION,
    expansion_search: ef,
  })
  const index = new usearch.Index(config(EF_SWEEP[0]))
  const payloads = new Array(base.n)
  log('usearch: ingest')
  const t0 = performance.now()
  for (let s = 0; s < base.n; s += BATCH) {
    const e = Math.min(s + BATCH, base.n)
    const keys = new BigUint64Array(e - s)
    for (let i = s; i < e; i++) {
      keys[i - s] = BigInt(i)
      payloads[i] = payloadOf(i)
    }
    index.add(keys, base.data.subarray(s * dim, e * dim))
  }
  const tIndexed = performance.now() - t0
  // expansion_search is fixed at construction: save once, load per ef.
  const file = path.join(TMP, 'usearch.index')
  fs.mkdirSync(TMP, { recursive: true })
  index.save(file)
  const sweep = []
  for (const ef of EF_SWEEP) {
    const ix = new usearch.Index(config(ef))
    ix.load(file)
    sweep.push(
      await sweepPoint(ef, (q) => {
        const m = ix.search(queries.row(q), K, 1)
        const rows = Array.from(m.keys, Number)
        for (const r of rows) void payloads[r]
        return rows
      }),
    )
    log(`usearch ef=${ef}: recall ${sweep.at(-1).recall.toFixed(4)}, ${sweep.at(-1).qps.toFixed(0)} QPS`)
  }
  fs.rmSync(file, { force: true })
  return {
    engine: `usearch ${require('./node_modules/usearch/package.json').version}`,
    ingest: { docsPerSecIndexed: (base.n * 1000) / tIndexed, indexedMs: tIndexed },
    sweep: { search: sweep },
    atTarget: { search: atTarget(sweep) },
    note: 'in memory, no persistence; payloads in a JS array beside the index; add() in batches of 1000 on its own threads; search(q, 10, 1 thread)',
  }
}

async function main() {
  log(`${base.n} x ${dim} (${metric}), ${queries.n} queries, M ${M}, ef_construction ${EF_CONSTRUCTION}, ef sweep ${EF_SWEEP.join(',')}`)
  const results = []
  for (const e of ENGINES) {
    if (e === 'ndb') results.push(await benchNdb())
    else if (e === 'hnswlib') results.push(await benchHnswlib())
    else if (e === 'usearch') results.push(await benchUsearch())
    else throw new Error(`unknown engine ${e}`)
    if (global.gc) global.gc()
  }
  const out = {
    bench: 'crates/ndb-node/bench/bench.js',
    dataset: { name, dir: path.resolve(DATASET), n: base.n, dim, metric, queries: queries.n },
    k: K,
    m: M,
    efConstruction: EF_CONSTRUCTION,
    efSweep: EF_SWEEP,
    recallTarget: TARGET,
    node: process.version,
    cpus: `${os.cpus().length} x ${os.cpus()[0]?.model}`,
    results,
  }
  fs.rmSync(TMP, { recursive: true, force: true })
  if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify(out, null, 2))
  process.stdout.write(JSON.stringify(out) + '\n')
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
