'use strict'
// Settings after creation: Collection.config() and Collection.updateConfig(settings).

const test = require('node:test')
const assert = require('node:assert/strict')
const { tempDir, closeAtEnd, codeOf } = require('./helpers')
const { Database } = require('ndb-vector')

async function fixture(t) {
  const dir = tempDir(t)
  const db = closeAtEnd(t, new Database(dir))
  const c = db.createCollection('c', 3, { distance: 'euclidean', index: { efSearch: 50, minRows: 500 } })
  return { dir, db, c }
}

test('config() reports the settings', async (t) => {
  const { c } = await fixture(t)
  const config = c.config()
  assert.deepEqual(Object.keys(config).sort(), [
    'dim', 'distance', 'durability', 'efConstruction', 'efSearch', 'flushThresholdBytes', 'm', 'minRows', 'quantization',
  ])
  assert.equal(config.dim, 3)
  assert.equal(config.distance, 'euclidean')
  assert.equal(config.durability, 'buffered')
  assert.equal(config.efSearch, 50)
  assert.equal(config.minRows, 500)
  assert.ok(config.m >= 2 && config.efConstruction >= 1 && config.flushThresholdBytes > 0)
})

test('updateConfig changes the settings and resolves to them', async (t) => {
  const { c } = await fixture(t)
  const before = c.config()
  const pending = c.updateConfig({ durability: 'sync', efSearch: 200 })
  assert.ok(pending instanceof Promise)
  const after = await pending
  assert.deepEqual(after, { ...before, durability: 'sync', efSearch: 200 })
  assert.deepEqual(c.config(), after)
  const again = await c.updateConfig({
    m: 24, efConstruction: '300', minRows: 1000, flushThresholdBytes: 1 << 20, durability: 'buffered', efSearch: undefined,
  })
  assert.deepEqual(again, { ...after, m: 24, efConstruction: 300, minRows: 1000, flushThresholdBytes: 1 << 20, durability: 'buffered' })
  assert.deepEqual(await c.updateConfig({}), again, 'no settings: no change')
})

test('a new durability is used at once', async (t) => {
  const { c } = await fixture(t)
  await c.insert('a', [1, 0, 0])
  const syncs = c.stats().walSyncs
  await c.updateConfig({ durability: 'sync' })
  await c.insert('b', [0, 1, 0])
  assert.ok(c.stats().walSyncs > syncs)
})

test('updateConfig persists across reopen, and a reader sees it after refresh()', async (t) => {
  const { dir, db, c } = await fixture(t)
  await c.insert('a', [1, 0, 0])
  const ro = closeAtEnd(t, new Database(dir, { readOnly: true })).getCollection('c')
  const changed = await c.updateConfig({ durability: 'sync', efSearch: 150, m: 32 })
  assert.equal(ro.config().efSearch, 50)
  assert.equal(await ro.refresh(), true)
  assert.deepEqual(ro.config(), changed)
  db.close()
  const reopened = closeAtEnd(t, new Database(dir))
  assert.deepEqual(reopened.getCollection('c').config(), changed)
})

test('refused settings reject with NDB_INVALID_ARGUMENT and change nothing', async (t) => {
  const { dir, c } = await fixture(t)
  const before = c.config()
  const cases = [
    [{ dim: 4 }, /dim of a collection cannot change/],
    [{ distance: 'cosine' }, /distance of a collection cannot change/],
    [{ efSerch: 10 }, /settings\.efSerch: unknown setting/],
    [{ efSearch: 10, dim: 4 }, /dim/], // a good setting beside a refused one
    [{ efSearch: 'many' }, /not a whole number/],
    [{ efSearch: 2.5 }, /not a whole number/],
    [{ m: -3 }, /not a whole number/],
    [{ m: true }, /not a whole number/],
    [{ efSearch: [10] }, /settings\.efSearch must be a string or a number/],
    [{ durability: 'never' }, /durability/],
    [{ m: 1 }, /m must be in/],
    [{ efSearch: 0 }, /ef_search/],
    [{ flushThresholdBytes: 10 }, /flush threshold/],
  ]
  for (const [settings, message] of cases) {
    await assert.rejects(c.updateConfig(settings), (e) => {
      assert.equal(e.code, 'NDB_INVALID_ARGUMENT', JSON.stringify(settings))
      assert.match(e.message, message)
      return true
    })
    assert.deepEqual(c.config(), before, JSON.stringify(settings))
  }
  for (const bad of [undefined, null, 'efSearch=10', 5]) {
    assert.equal(await codeOf(() => c.updateConfig(bad)), 'NDB_INVALID_ARGUMENT')
  }
  const ro = closeAtEnd(t, new Database(dir, { readOnly: true })).getCollection('c')
  assert.deepEqual(ro.config(), before, 'nor on disk')
})

test('updateConfig on a reader rejects with NDB_READ_ONLY', async (t) => {
  const { dir, c } = await fixture(t)
  const before = c.config()
  const ro = closeAtEnd(t, new Database(dir, { readOnly: true })).getCollection('c')
  assert.equal(await codeOf(() => ro.updateConfig({ efSearch: 99 })), 'NDB_READ_ONLY')
  assert.deepEqual(ro.config(), before)
  assert.deepEqual(c.config(), before)
})

test('config() and updateConfig after close: NDB_CLOSED', async (t) => {
  const { db, c } = await fixture(t)
  db.close()
  assert.equal(await codeOf(() => c.config()), 'NDB_CLOSED')
  assert.equal(await codeOf(() => c.updateConfig({ efSearch: 10 })), 'NDB_CLOSED')
})
