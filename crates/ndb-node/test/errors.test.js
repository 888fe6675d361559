'use strict'
// Every error code from a real cause, and bad input that must throw or reject, never crash.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { tempDir, closeAtEnd, codeOf, runNode, randomVectors } = require('./helpers')
const { Database } = require('ndb-vector')

test('NDB_LOCKED: a second writer process; the lock is released by close()', async (t) => {
  const dir = tempDir(t)
  const db = new Database(dir)
  db.createCollection('c', 2)
  const tryOpen = `
    const { Database } = require('ndb-vector')
    try { const db = new Database(process.argv[1]); console.log('opened ' + db.listCollections().join(',')); db.close() }
    catch (e) { console.log(e.code + ' ' + (e instanceof Error) + ' ' + e.message) }`
  const out = await runNode(tryOpen, [dir])
  assert.match(out, /^NDB_LOCKED true locked by another writer: .*LOCK/)
  // A reader process is not locked out.
  const reader = `
    const { Database } = require('ndb-vector')
    const db = new Database(process.argv[1], { readOnly: true }); console.log(db.listCollections().join(','))`
  assert.equal((await runNode(reader, [dir])).trim(), 'c')
  db.close()
  assert.equal((await runNode(tryOpen, [dir])).trim(), 'opened c')
})

async function corruptedSegment(t, flipAt) {
  const dir = tempDir(t)
  const db = new Database(dir)
  const c = db.createCollection('c', 16, { distance: 'euclidean' })
  const vectors = randomVectors(500, 16, 5)
  await c.insertBatch(vectors.map((v, i) => ({ id: `id${i}`, vector: v, payload: { i } })))
  await c.flush()
  db.close()
  const segDir = path.join(dir, 'c', 'segments')
  const file = path.join(segDir, fs.readdirSync(segDir).find((f) => f.endsWith('.ndb')))
  const bytes = fs.readFileSync(file)
  bytes[flipAt(bytes.length, bytes)] ^= 0x01
  fs.writeFileSync(file, bytes)
  return dir
}

test('NDB_CORRUPTION: a flipped byte in a segment header fails the open', async (t) => {
  const dir = await corruptedSegment(t, () => 20)
  const db = new Database(dir)
  closeAtEnd(t, db)
  let error
  try {
    db.getCollection('c')
  } catch (e) {
    error = e
  }
  assert.ok(error instanceof Error)
  assert.equal(error.code, 'NDB_CORRUPTION')
  assert.match(error.message, /corruption in .*000001\.ndb at offset \d+/)
})

test('NDB_CORRUPTION: a flipped byte among the vectors fails verify()', async (t) => {
  const dir = await corruptedSegment(t, (n) => Math.floor(n / 2))
  const db = new Database(dir)
  closeAtEnd(t, db)
  const c = db.getCollection('c')
  await assert.rejects(c.verify(), (e) => e instanceof Error && e.code === 'NDB_CORRUPTION' && /checksum/.test(e.message))
})

test('NDB_CORRUPTION: a damaged payload fails the searches that return it', async (t) => {
  // The payload of id123 stops being JSON ('{' becomes 'z'); searches hand payloads over as
  // stored text, and the one that meets it rejects or throws.
  const dir = await corruptedSegment(t, (n, bytes) => bytes.indexOf('{"i":123}'))
  const db = closeAtEnd(t, new Database(dir))
  const c = db.getCollection('c')
  const q = randomVectors(500, 16, 5)[123]
  const damaged = (e) => e instanceof Error && e.code === 'NDB_CORRUPTION' && /payload/.test(e.message)
  await assert.rejects(c.search({ vector: q, topK: 1, exact: true }), damaged)
  await assert.rejects(c.search({ vector: q, topK: 1, exact: true, rescore: true }), damaged)
  assert.throws(() => c.searchSync({ vector: q, topK: 1, exact: true }), damaged)
  assert.throws(() => c.searchSync({ vector: q, topK: 100, exact: true }), damaged)
  assert.throws(() => c.searchSync({ vector: q, topK: 1, exact: true, rescore: true }), damaged)
  // Searches that do not return it are unaffected.
  const other = await c.search({ vector: randomVectors(500, 16, 5)[7], topK: 1, exact: true })
  assert.deepEqual(other[0].payload, { i: 7 })
})

test('NDB_READ_ONLY, NDB_NOT_FOUND, NDB_EXISTS, NDB_WRONG_DIMENSION, NDB_IO, NDB_NOT_A_DATABASE, NDB_CLOSED', async (t) => {
  const dir = tempDir(t)
  const db = new Database(dir)
  const c = db.createCollection('c', 3)
  await c.insert('a', [1, 2, 3])
  assert.equal(await codeOf(() => db.createCollection('c', 3)), 'NDB_EXISTS')
  assert.equal(await codeOf(() => db.getCollection('nope')), 'NDB_NOT_FOUND')
  assert.equal(await codeOf(() => c.insert('b', [1, 2])), 'NDB_WRONG_DIMENSION')
  assert.equal(await codeOf(() => c.insertBatch([{ id: 'b', vector: [1, 2, 3] }, { id: 'c', vector: [1, 2, 3, 4] }])), 'NDB_WRONG_DIMENSION')
  assert.equal(c.get('b'), null, 'a failed batch writes nothing')
  assert.equal(await codeOf(() => c.search({ vector: [1, 2] })), 'NDB_WRONG_DIMENSION')
  assert.equal(await codeOf(() => c.searchSync({ vector: [1, 2, 3, 4] })), 'NDB_WRONG_DIMENSION')
  // A handle to a dropped collection.
  db.createCollection('gone', 3)
  const gone = db.getCollection('gone')
  db.dropCollection('gone')
  assert.equal(await codeOf(() => gone.count()), 'NDB_NOT_FOUND')
  db.close()
  assert.equal(await codeOf(() => c.count()), 'NDB_CLOSED')
  assert.equal(await codeOf(() => c.search({ vector: [1, 2, 3] })), 'NDB_CLOSED')
  assert.equal(await codeOf(() => db.listCollections()), 'NDB_CLOSED')

  const ro = new Database(dir, { readOnly: true })
  closeAtEnd(t, ro)
  const rc = ro.getCollection('c')
  assert.equal(rc.count(), 1)
  assert.equal(await codeOf(() => rc.insert('b', [1, 2, 3])), 'NDB_READ_ONLY')
  assert.equal(await codeOf(() => rc.flush()), 'NDB_READ_ONLY')
  assert.equal(await codeOf(() => rc.compact()), 'NDB_READ_ONLY')
  assert.equal(await codeOf(() => rc.delete('a')), 'NDB_READ_ONLY')
  assert.equal(await codeOf(() => ro.createCollection('d', 3)), 'NDB_READ_ONLY')
  assert.equal(await codeOf(() => ro.dropCollection('c')), 'NDB_READ_ONLY')

  // A path below a regular file cannot be created: the operating system says ENOTDIR.
  const file = path.join(dir, 'plain-file')
  fs.writeFileSync(file, 'x')
  assert.equal(await codeOf(() => new Database(path.join(file, 'db'))), 'NDB_IO')
  // A directory holding something else is not taken over.
  const foreign = path.join(dir, 'foreign')
  fs.mkdirSync(foreign)
  fs.writeFileSync(path.join(foreign, 'notes.txt'), 'mine')
  assert.equal(await codeOf(() => new Database(foreign)), 'NDB_NOT_A_DATABASE')
  // A reader of a database that does not exist.
  assert.equal(await codeOf(() => new Database(path.join(dir, 'missing'), { readOnly: true })), 'NDB_NOT_A_DATABASE')
})

test('bad input throws or rejects with NDB_INVALID_ARGUMENT and never crashes', async (t) => {
  const dir = tempDir(t)
  const db = new Database(dir)
  closeAtEnd(t, db)
  const c = db.createCollection('c', 3)
  await c.insert('ok', [1, 0, 0], { a: 1 })
  const cyclic = { a: 1 }
  cyclic.self = cyclic
  const bad = {
    'path not a string': () => new Database(42),
    'options not an object': () => new Database(dir + '-x', 'readOnly'),
    'readOnly not a boolean': () => new Database(dir + '-x', { readOnly: 'yes' }),
    'name not a string': () => db.createCollection(null, 3),
    'bad name': () => db.createCollection('a/b', 3),
    'dim zero': () => db.createCollection('z', 0),
    'dim negative': () => db.createCollection('z', -3),
    'dim fractional': () => db.createCollection('z', 2.5),
    'dim a string': () => db.createCollection('z', '3'),
    'dim too large': () => db.createCollection('z', 1e9),
    'unknown distance': () => db.createCollection('z', 3, { distance: 'manhattan' }),
    'unknown durability': () => db.createCollection('z', 3, { durability: 'maybe' }),
    'bad index m': () => db.createCollection('z', 3, { index: { m: 1 } }),
    'id not a string': () => c.insert(7, [1, 2, 3]),
    'empty id': () => c.insert('', [1, 2, 3]),
    'huge id': () => c.insert('x'.repeat(5000), [1, 2, 3]),
    'vector missing': () => c.insert('x'),
    'vector a string': () => c.insert('x', '1,2,3'),
    'vector an object': () => c.insert('x', { 0: 1, 1: 2, 2: 3, length: 3 }),
    'vector with NaN': () => c.insert('x', [1, NaN, 3]),
    'vector with Infinity': () => c.insert('x', new Float32Array([1, Infinity, 3])),
    'vector beyond f32': () => c.insert('x', [1e39, 0, 0]),
    'vector with a hole': () => c.insert('x', [1, , 3]), // eslint-disable-line no-sparse-arrays
    'empty vector': () => c.insert('x', []),
    'zero vector in a cosine collection': () => c.insert('x', [0, 0, 0]),
    'payload an array': () => c.insert('x', [1, 2, 3], [1, 2]),
    'payload a string': () => c.insert('x', [1, 2, 3], 'json'),
    'payload cyclic': () => c.insert('x', [1, 2, 3], cyclic),
    'payload with a function': () => c.insert('x', [1, 2, 3], { f() {} }),
    'payload with a symbol': () => c.insert('x', [1, 2, 3], { s: Symbol('s') }),
    'payload with NaN': () => c.insert('x', [1, 2, 3], { n: NaN }),
    'batch not an array': () => c.insertBatch({ id: 'x', vector: [1, 2, 3] }),
    'batch item not an object': () => c.insertBatch([5]),
    'batch item without id': () => c.insertBatch([{ vector: [1, 2, 3] }]),
    'batch item without vector': () => c.insertBatch([{ id: 'x' }]),
    'get with a number': () => c.get(1),
    'delete with an object': () => c.delete({}),
    'search without request': () => c.search(),
    'search without vector': () => c.search({ topK: 3 }),
    'search topK zero': () => c.search({ vector: [1, 2, 3], topK: 0 }),
    'search topK huge': () => c.search({ vector: [1, 2, 3], topK: 1e7 }),
    'search topK NaN': () => c.search({ vector: [1, 2, 3], topK: NaN }),
    'search topK a string': () => c.searchSync({ vector: [1, 2, 3], topK: '10' }),
    'search ef negative': () => c.search({ vector: [1, 2, 3], ef: -1 }),
    'search exact not a boolean': () => c.search({ vector: [1, 2, 3], exact: 1 }),
    'search with NaN': () => c.searchSync({ vector: [NaN, 1, 1] }),
    'filter unknown operator': () => c.search({ vector: [1, 2, 3], filter: { a: { $regex: 'x' } } }),
    'filter $in without array': () => c.search({ vector: [1, 2, 3], filter: { a: { $in: 3 } } }),
    'filter $gte a boolean': () => c.searchSync({ vector: [1, 2, 3], filter: { a: { $gte: true } } }),
    'filter empty $or': () => c.search({ vector: [1, 2, 3], filter: { $or: [] } }),
    'filter a string': () => c.search({ vector: [1, 2, 3], filter: 'a = 1' }),
    'filter an array': () => c.search({ vector: [1, 2, 3], filter: [{ a: 1 }] }),
    'filter mixing $ and plain keys': () => c.search({ vector: [1, 2, 3], filter: { a: { $eq: 1, b: 2 } } }),
    'unknown payload index kind': () => c.createPayloadIndex('a', 'text'),
    'payload index field not a string': () => c.createPayloadIndex(1, 'integer'),
  }
  for (const [what, fn] of Object.entries(bad)) {
    const code = await codeOf(fn).catch((e) => `no error (${e.message})`)
    assert.equal(code, 'NDB_INVALID_ARGUMENT', what)
  }
  // Promise-returning calls reject (never throw) on bad arguments.
  const p = c.insert(7, 'nope')
  assert.ok(p instanceof Promise)
  await assert.rejects(p, { code: 'NDB_INVALID_ARGUMENT' })
  // Nothing bad got in.
  assert.equal(c.count(), 1)
  assert.deepEqual(db.listCollections(), ['c'])
})
