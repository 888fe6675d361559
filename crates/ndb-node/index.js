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

// The addon returns search results as JSON text: V8's JSON.parse builds the `{ id, score,
// payload }` objects several times faster than N-API can, property by property.
const hits = (json) => JSON.parse(json)

const { prototype } = binding.Collection
const method = (name, fn) => Object.defineProperty(prototype, name, { value: fn, writable: true, configurable: true })
method('search', function search(request) {
  return this._search(request).then(hits)
})
method('searchSync', function searchSync(request) {
  return hits(this._searchSync(request))
})

module.exports = binding
