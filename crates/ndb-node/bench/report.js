'use strict'
// Markdown report of bench.js results, with the per-call overhead of Node over Rust, for each dataset.
//   node bench/report.js target/bench-results/node-fashion-mnist [target/bench-results/node-glove-50 ...]
// reads PREFIX.json (bench.js) and node-rust-same-db-NAME.json beside it: the example search_db's
// sweep ({ ef, qps, p50_us }) on the database bench.js built and kept (--keep-ndb), i.e. the same
// searches of the same collection from Rust (run.sh makes both).

const fs = require('node:fs')
const path = require('node:path')

const fmt = (x, digits = 0) =>
  x == null ? '-' : Number(x).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

let md = ''
const say = (line = '') => (md += line + '\n')

for (const prefix of process.argv.slice(2)) {
  const node = JSON.parse(fs.readFileSync(`${prefix}.json`, 'utf8'))
  const rustFile = path.join(path.dirname(prefix), `node-rust-same-db-${node.dataset.name}.json`)
  const rustSweep = fs.existsSync(rustFile) ? JSON.parse(fs.readFileSync(rustFile, 'utf8')).sweep : null
  const ndb = node.results.find((r) => r.engine.startsWith('nDB'))
  const hnsw = node.results.find((r) => r.engine.startsWith('hnswlib'))
  const us = node.results.find((r) => r.engine.startsWith('usearch'))
  const d = node.dataset

  say(`### ${d.name}: ${fmt(d.n)} x ${d.dim}, ${d.metric}, ${fmt(d.queries)} queries, k ${node.k}, M ${node.m}, ef_construction ${node.efConstruction}`)
  say()
  say(`Node ${node.node}, ${node.cpus}. One query at a time on the calling thread unless said.`)
  say()
  say('| engine | ingest with payloads, docs/s (acknowledged) | docs/s until searchable with its graph |')
  say('|---|---:|---:|')
  if (ndb) say(`| nDB (insertBatch of 1000, then flush + graph) | ${fmt(ndb.ingest.docsPerSecAcked)} | ${fmt(ndb.ingest.docsPerSecIndexed)} |`)
  if (hnsw) say(`| hnswlib-node (addPoint, 1 thread) | - | ${fmt(hnsw.ingest.docsPerSecIndexed)} |`)
  if (us) say(`| usearch (add of 1000, its threads) | - | ${fmt(us.ingest.docsPerSecIndexed)} |`)
  say()
  say(`| search at recall@10 >= ${node.recallTarget} | first ef reaching it | recall@10 | QPS | p50 µs |`)
  say('|---|---:|---:|---:|---:|')
  const row = (label, p) =>
    say(p ? `| ${label} | ${p.ef} | ${p.recall.toFixed(4)} | ${fmt(p.qps)} | ${fmt(p.p50Us, 1)} |` : `| ${label} | not reached | | | |`)
  if (ndb) {
    row('nDB `await coll.search()`', ndb.atTarget.awaitSearch)
    row('nDB `coll.searchSync()`', ndb.atTarget.searchSync)
  }
  if (hnsw) row('hnswlib-node `searchKnn()`', hnsw.atTarget.searchKnn)
  if (us) row('usearch `search(q, 10, 1)`', us.atTarget.search)
  if (ndb && rustSweep) {
    // Same collection, same graph, same queries: the recall is the Node run's at that ef.
    const t = ndb.sweep.searchSync.find((p) => p.recall >= node.recallTarget)
    const r = t && rustSweep.find((p) => p.ef === t.ef)
    row('nDB from Rust (`search_db`, same collection, right after)', r && { ef: r.ef, recall: t.recall, qps: r.qps, p50Us: r.p50_us })
  }
  if (ndb?.concurrent64) {
    say(`| nDB, ${ndb.concurrent64.concurrency} concurrent \`search\` Promises (libuv pool of ${ndb.concurrent64.threadpool}) | ${ndb.atTarget.awaitSearch.ef} | | ${fmt(ndb.concurrent64.qps)} | |`)
  }
  say()
  if (ndb && !rustSweep) {
    say(`(No per-call overhead: ${path.basename(rustFile)} is missing; run.sh makes it.)`)
    say()
  }
  if (ndb && rustSweep) {
    say('Per-call overhead of Node over Rust: median latency from Node minus median latency of the same searches of the')
    say('same collection from Rust (the database the Node run built and kept, reopened by the example `search_db`, which')
    say('times `Collection::search` with `top_k(10).ef(ef)` one query at a time, right after the Node run).')
    say()
    say('| ef | recall (same graph) | p50 µs Rust | p50 µs `searchSync` | overhead µs | p50 µs `await search` | overhead µs |')
    say('|---:|---:|---:|---:|---:|---:|---:|')
    const overSync = []
    const overAsync = []
    for (const r of rustSweep) {
      const s = ndb.sweep.searchSync.find((p) => p.ef === r.ef)
      const a = ndb.sweep.awaitSearch.find((p) => p.ef === r.ef)
      if (!s || !a) continue
      const rp = r.p50_us
      overSync.push(s.p50Us - rp)
      overAsync.push(a.p50Us - rp)
      say(`| ${r.ef} | ${s.recall.toFixed(4)} | ${fmt(rp, 1)} | ${fmt(s.p50Us, 1)} | ${fmt(s.p50Us - rp, 1)} | ${fmt(a.p50Us, 1)} | ${fmt(a.p50Us - rp, 1)} |`)
    }
    say()
    if (overSync.length) {
      say(`Median overhead over the sweep: \`searchSync\` ${fmt(median(overSync), 1)} µs, \`await search\` ${fmt(median(overAsync), 1)} µs per query.`)
      say()
    }
  }
  if (ndb && hnsw) {
    const a = ndb.atTarget.awaitSearch
    const s = ndb.atTarget.searchSync
    const h = hnsw.atTarget.searchKnn
    if (a && s && h) {
      say(`QPS at recall >= ${node.recallTarget}, nDB / hnswlib-node: \`await search\` ${(a.qps / h.qps).toFixed(2)}x, \`searchSync\` ${(s.qps / h.qps).toFixed(2)}x.`)
      say()
    }
  }
}

process.stdout.write(md)
