'use strict'
// Online backup (Database.backup) and salvage (recover), both on the libuv pool.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { tempDir, closeAtEnd, codeOf, randomVectors } = require('./helpers')
const { Database, recover } = require('ndb-vector')

const N = 600
const DIM = 16

/** "docs": half in a segment, half in the WAL, one deleted; "empty": nothing. */
async function fill(db) {
  const vectors = randomVectors(N, DIM, 11)
  const docs = db.createCollection('docs', DIM, { distance: 'euclidean' })
  const batch = (from, to) => vectors.slice(from, to).map((v, k) => ({ id: `d${from + k}`, vector: v, payload: { i: from + k } }))
  await docs.insertBatch(batch(0, N / 2))
  await docs.flush()
  await docs.insertBatch(batch(N / 2, N))
  docs.delete('d3')
  db.createCollection('empty', 4)
  return vectors
}

/** Every document of "docs" by id (there is no iteration in the Node API: look up each id). */
function contents(db, ids) {
  const c = db.getCollection('docs')
  const out = {}
  for (const id of ids) {
    const d = c.get(id)
    if (d) out[id] = { vector: Array.from(d.vector), payload: d.payload }
  }
  return out
}

const allIds = [...Array.from({ length: N }, (_, i) => `d${i}`), 'later']

/** Every file under `dir`, path -> bytes. */
function snapshot(dir) {
  const out = {}
  for (const entry of fs.readdirSync(dir, { recursive: true })) {
    const p = path.join(dir, entry)
    if (fs.statSync(p).isFile()) out[entry] = fs.readFileSync(p)
  }
  return out
}

test('backup: the copy opens as a database with the same documents', async (t) => {
  const dir = tempDir(t)
  const db = closeAtEnd(t, new Database(path.join(dir, 'db')))
  await fill(db)
  const dest = path.join(dir, 'copy')
  const pending = db.backup(dest)
  assert.ok(pending instanceof Promise)
  const stats = await pending
  assert.deepEqual(Object.keys(stats).sort(), ['bytesCopied', 'collections', 'dest', 'durationMs', 'filesCopied', 'filesLinked'])
  assert.equal(stats.dest, path.resolve(dest))
  assert.equal(stats.collections, 2)
  assert.ok(stats.filesLinked + stats.filesCopied > 0 && stats.bytesCopied > 0 && stats.durationMs >= 0)
  // A write after the backup is not in it.
  await db.getCollection('docs').insert('later', new Float32Array(DIM), { late: true })

  const copy = closeAtEnd(t, new Database(dest))
  assert.deepEqual(copy.listCollections(), ['docs', 'empty'])
  assert.equal(copy.getCollection('docs').count(), N - 1)
  assert.equal(copy.getCollection('empty').count(), 0)
  const live = contents(db, allIds)
  delete live.later
  assert.deepEqual(contents(copy, allIds), live)
  await copy.getCollection('docs').verify()
  await copy.getCollection('docs').insert('new', new Float32Array(DIM)) // an ordinary, writable database
})

test('backup while inserts run: the copy holds a prefix of the acknowledged writes', async (t) => {
  const dir = tempDir(t)
  const db = closeAtEnd(t, new Database(path.join(dir, 'db')))
  await fill(db)
  const docs = db.getCollection('docs')
  let stop = false
  let written = 0
  const writer = (async () => {
    while (!stop) {
      await docs.insert(`w${written}`, new Float32Array(DIM).fill(written))
      written++
    }
  })()
  const dest = path.join(dir, 'empty-dir')
  fs.mkdirSync(dest) // an empty directory is a valid destination
  await new Promise((resolve) => setTimeout(resolve, 20))
  await db.backup(dest)
  stop = true
  await writer
  const copy = closeAtEnd(t, new Database(dest, { readOnly: true })).getCollection('docs')
  let n = 0
  while (copy.get(`w${n}`)) n++
  assert.equal(copy.count(), N - 1 + n, 'the copied w* documents are exactly w0..w(n-1)')
  assert.ok(n <= written)
})

test('backup refusals reject with a code and write nothing', async (t) => {
  const dir = tempDir(t)
  const dbDir = path.join(dir, 'db')
  const db = closeAtEnd(t, new Database(dbDir))
  await fill(db)
  const taken = path.join(dir, 'taken')
  fs.mkdirSync(taken)
  fs.writeFileSync(path.join(taken, 'mine.txt'), 'keep me')
  const e = await db.backup(taken).catch((e) => e)
  assert.ok(e instanceof Error)
  assert.equal(e.code, 'NDB_DESTINATION_NOT_EMPTY')
  assert.match(e.message, /taken exists and is not an empty directory/)
  assert.deepEqual(fs.readdirSync(taken), ['mine.txt'])
  assert.equal(await codeOf(() => db.backup(path.join(dbDir, 'inside'))), 'NDB_INVALID_ARGUMENT')
  assert.equal(fs.existsSync(path.join(dbDir, 'inside')), false)
  assert.equal(await codeOf(() => db.backup(42)), 'NDB_INVALID_ARGUMENT')
  const ro = closeAtEnd(t, new Database(dbDir, { readOnly: true }))
  assert.equal(await codeOf(() => ro.backup(path.join(dir, 'from-reader'))), 'NDB_READ_ONLY')
  assert.equal(fs.existsSync(path.join(dir, 'from-reader')), false)
  db.close()
  assert.equal(await codeOf(() => db.backup(path.join(dir, 'after-close'))), 'NDB_CLOSED')
})

test('recover of an undamaged database copies everything', async (t) => {
  const dir = tempDir(t)
  const src = path.join(dir, 'db')
  const db = new Database(src)
  await fill(db)
  const want = contents(db, allIds)
  db.close()
  const dest = path.join(dir, 'salvaged')
  const pending = recover(src, dest)
  assert.ok(pending instanceof Promise)
  const report = await pending
  assert.equal(report.complete, true)
  assert.equal(report.rowsLost, 0)
  assert.equal(report.documentsRecovered, N - 1)
  assert.equal(report.source, src)
  assert.equal(report.dest, dest)
  assert.deepEqual(report.collections.map((c) => c.name), ['docs', 'empty'])
  const [docs] = report.collections
  assert.equal(docs.documentsRecovered, N - 1)
  assert.equal(docs.complete, true)
  assert.equal(docs.configFromManifest, true)
  const kinds = new Set(docs.files.map((f) => f.kind))
  for (const k of ['collection_manifest', 'segment', 'wal']) assert.ok(kinds.has(k), k)
  assert.ok(report.collections.every((c) => c.files.every((f) => f.damage.length === 0)))
  assert.match(report.text, /^recovered 599 documents from 2 collections of .*: nothing lost\n/)
  const copy = closeAtEnd(t, new Database(dest))
  assert.deepEqual(contents(copy, allIds), want) // Euclidean vectors are copied bit for bit
})

test('recover of a database with one flipped byte in a segment row reports the lost row', async (t) => {
  const dir = tempDir(t)
  const src = path.join(dir, 'db')
  const db = new Database(src)
  const c = db.createCollection('c', 32, { distance: 'euclidean' })
  const vectors = randomVectors(1000, 32, 5)
  await c.insertBatch(vectors.map((v, i) => ({ id: `id${i}`, vector: v, payload: { i } })))
  await c.flush()
  db.close()
  const segDir = path.join(src, 'c', 'segments')
  const seg = fs.readdirSync(segDir).find((f) => f.endsWith('.ndb'))
  const file = path.join(segDir, seg)
  const bytes = fs.readFileSync(file)
  bytes[Math.floor(bytes.length / 2)] ^= 0x40
  fs.writeFileSync(file, bytes)
  const sourceBefore = snapshot(src)

  const dest = path.join(dir, 'salvaged')
  const report = await recover(src, dest)
  assert.equal(report.complete, false)
  assert.equal(report.rowsLost, 1)
  assert.equal(report.documentsRecovered, 999)
  const [coll] = report.collections
  assert.equal(coll.complete, false)
  assert.equal(coll.rowsLost, 1)
  const damaged = coll.files.filter((f) => f.damage.length > 0)
  assert.equal(damaged.length, 1)
  assert.equal(damaged[0].kind, 'segment')
  assert.equal(damaged[0].path, path.join('c', 'segments', seg))
  assert.equal(damaged[0].rowsLost, 1)
  assert.equal(damaged[0].documentsRead, 999)
  const [damage] = damaged[0].damage
  assert.equal(damage.rows.end - damage.rows.start, 1)
  assert.ok(damage.bytes.end > damage.bytes.start)
  assert.equal(damage.records, null)
  assert.equal(damage.ids.length, 1)
  assert.ok(damage.reason.length > 0)
  assert.match(report.text, /1 row lost/)
  assert.match(report.text, /LOST/)
  const salvaged = closeAtEnd(t, new Database(dest)).getCollection('c')
  assert.equal(salvaged.count(), 999)
  assert.equal(salvaged.get(damage.ids[0]), null)
  assert.deepEqual(snapshot(src), sourceBefore, 'the source was not written')
})

test('recover refusals reject with a code', async (t) => {
  const dir = tempDir(t)
  const src = path.join(dir, 'db')
  const db = new Database(src)
  await db.createCollection('c', 2).insert('a', [1, 0])
  db.close()
  const taken = path.join(dir, 'taken')
  fs.mkdirSync(taken)
  fs.writeFileSync(path.join(taken, 'x'), 'x')
  assert.equal(await codeOf(() => recover(src, taken)), 'NDB_DESTINATION_NOT_EMPTY')
  assert.deepEqual(fs.readdirSync(taken), ['x'])
  assert.equal(await codeOf(() => recover(path.join(dir, 'missing'), path.join(dir, 'out'))), 'NDB_NOT_A_DATABASE')
  assert.equal(fs.existsSync(path.join(dir, 'out')), false)
  assert.equal(await codeOf(() => recover(src)), 'NDB_INVALID_ARGUMENT')
})
