'use strict';

// The CommonJS entry point; `index.mjs` re-exports the same objects for ESM,
// so both module systems share one set of classes.
const { Registry } = require('./lib/registry.js');
const { classes } = require('./lib/errors.js');

module.exports = { Registry, ...classes };
