'use strict';

// The addon that `npm install` (the `prepare` script, `napi build`) compiles
// from the Rust sources into the package root. Everything else in the
// package reaches native code through this one module.
try {
  module.exports = require('../charter.node');
} catch (cause) {
  throw new Error(
    'charter: the native addon is missing or could not be loaded; ' +
      'run `npm install` (or `npm run build`) in the package directory',
    { cause },
  );
}
