// nDB for Node.js: loads the native addon built by `npm run build` (napi build) into this folder.
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

module.exports = binding
