'use strict'
// Shared helpers of the tests: temporary directories, error codes, child processes, vectors.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')

const PACKAGE_DIR = path.join(__dirname, '..')

const toClose = new WeakMap()

/** Close `db` when the test ends, before its temporary directories are removed. */
function closeAtEnd(t, db) {
  if (!toClose.has(t)) toClose.set(t, [])
  toClose.get(t).push(db)
  return db
}

/** A fresh temporary directory, removed when the test ends (after closing its databases, so
 * no background flush writes into a directory being removed). */
function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndb-node-'))
  t.after(() => {
    for (const db of toClose.get(t) ?? []) db.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return dir
}

/** The `code` of the error `fn` throws or its Promise rejects with (fails if it succeeds). */
async function codeOf(fn) {
  try {
    await fn()
  } catch (e) {
    if (!(e instanceof Error)) throw new Error(`not an Error object: ${e}`)
    return e.code
  }
  throw new Error('expected an error')
}

/** Run `source` in a child Node process (with `ndb-vector` resolvable); resolves its stdout. */
function runNode(source, args = [], { timeoutMs = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', source, '--', ...args], {
      cwd: PACKAGE_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve(out)
      else reject(new Error(`child exited with ${code}: ${err}${out}`))
    })
  })
}

/** A deterministic pseudo-random generator (mulberry32). */
function rng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `n` random vectors of `dim` components in [-1, 1). */
function randomVectors(n, dim, seed = 1) {
  const r = rng(seed)
  return Array.from({ length: n }, () => Float32Array.from({ length: dim }, () => r() * 2 - 1))
}

module.exports = { PACKAGE_DIR, tempDir, closeAtEnd, codeOf, runNode, rng, randomVectors }
