'use strict';

// Every Node version that package.json's `engines` claims must satisfy the
// `engines` of every package in package-lock.json, or `npm ci` prints
// EBADENGINE warnings on some version the package says it supports.
// semver is pinned by the lockfile (a dependency of the build tools).

const semver = require('semver');
const { engines } = require('../package.json');
const lock = require('../package-lock.json');

const claimed = engines.node;
const narrower = Object.entries(lock.packages)
  .filter(([name, meta]) => name !== '' && meta.engines && meta.engines.node)
  .filter(([, meta]) => !semver.subset(claimed, meta.engines.node))
  .map(([name, meta]) => `${name} needs node ${meta.engines.node}`);
if (narrower.length > 0) {
  console.error(`engines.node "${claimed}" claims versions that these packages reject:\n  ${narrower.join('\n  ')}`);
  process.exit(1);
}
console.log(`engines.node "${claimed}" is accepted by every package in package-lock.json`);
