// nDB for Node.js: loads the native addon built by `npm run build` (napi build) into this folder,
// and shapes search results into plain objects (see `search` below).
'use strict'

const { join } = require('node:path')

let binding
try {
  binding = require(join(__dirname, 'ndb.node'))
} catch (e) {
  const err = new Error(
    `ndb-vector: could not load the native addon ${join(__dirname, 'ndb.node')} ` +
      `(build it with \`npm run build\` in ${__dirname}): ${e.message}`,
  )
  err.cause = e
  throw err
}

// `search` results come as JSON text: V8's JSON.parse builds the `{ id, score, payload }`
// objects several times faster than N-API can, property by property. The payloads in it are
// the stored text, copied in unparsed (the addon's `raw_hits`), so text that does not parse is
// a damaged payload: reported as the addon reports damage, an Error with code NDB_CORRUPTION.
function parse(json) {
  try {
    return JSON.parse(json)
  } catch (e) {
    const err = new Error(`corruption: a stored payload of a search hit is not JSON: ${e.message}`)
    err.code = 'NDB_CORRUPTION'
    throw err
  }
}

// `searchSync` results come packed (the addon's `packed_hits`): the addon writes
// `[n, hasPayloads, idChars, score x n, idLength x n]` into `packed`, a Float64Array kept here
// and reused, and returns the ids one after the other, then (when some hit has a payload) the
// JSON array of the payloads (each as stored, `null` for none). When `packed` is too small for
// the hits it sets n to -1 and returns the JSON text of the hits instead; `packed` then grows
// for the next call.
let packed = new Float64Array(3 + 2 * 32)
function unpack(text, f) {
  const n = f[0]
  if (n < 0) {
    const all = parse(text)
    packed = new Float64Array(3 + 2 * all.length)
    return all
  }
  const idChars = f[2]
  const payloads = f[1] === 1 ? parse(text.slice(idChars)) : null
  const out = []
  let at = 0
  for (let i = 0; i < n; i++) {
    const end = at + f[3 + n + i]
    out.push({ id: text.slice(at, end), score: f[3 + i], payload: payloads === null ? null : payloads[i] })
    at = end
  }
  return out
}

// The request's properties are read here (fast in JavaScript) and passed in order; anything
// but an object goes to the addon whole, which rejects it with NDB_INVALID_ARGUMENT.
const { prototype } = binding.Collection
const method = (name, fn) => Object.defineProperty(prototype, name, { value: fn, writable: true, configurable: true })
// Requests with quantization options take the general path (the positional one covers the
// common options only).
const general = (r) => typeof r !== 'object' || r === null || r.oversampling !== undefined || r.rescore !== undefined
method('search', function search(r) {
  if (general(r)) return this._search(r).then(parse)
  return this._searchArgs(r.vector, r.topK, r.filter, r.exact, r.ef, r.distance).then(parse)
})
method('searchSync', function searchSync(r) {
  if (general(r)) return parse(this._searchSync(r))
  const f = packed
  return unpack(this._searchSyncPacked(r.vector, r.topK, r.filter, r.exact, r.ef, r.distance, f), f)
})

module.exports = binding
