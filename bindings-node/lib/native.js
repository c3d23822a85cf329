'use strict';

// The native addon; everything else in the package reaches native code
// through this one module. It is looked for in two places, in this order:
//
// - `charter.node` in the package root, which `npm run build` compiles from
//   the Rust sources in a clone of the repository (tests, other platforms);
// - `prebuilds/<platform>/charter.node`, the stripped addon that the npm
//   package ships: linux-x64-gnu only, built for glibc 2.17 or newer.
//
// When neither fits, the error names the platform and the way to build the
// addon from source, because the npm package carries no Rust sources.

const fs = require('node:fs');
const path = require('node:path');

const packageRoot = path.join(__dirname, '..');
const installDocs = 'https://example.invalid/charter/blob/main/docs/INSTALL.md#node';

/** `linux-x64-gnu`, `linux-x64-musl`, `darwin-arm64`, ...: napi-rs's names. */
function platformName() {
  if (process.platform !== 'linux') {
    return `${process.platform}-${process.arch}`;
  }
  const { header } = process.report.getReport();
  return `linux-${process.arch}-${header.glibcVersionRuntime ? 'gnu' : 'musl'}`;
}

function load() {
  const local = path.join(packageRoot, 'charter.node');
  if (fs.existsSync(local)) {
    try {
      return require(local);
    } catch (cause) {
      throw new Error(`charter: the addon ${local} could not be loaded: ${cause.message}`, { cause });
    }
  }
  const platform = platformName();
  const prebuilt = path.join(packageRoot, 'prebuilds', platform, 'charter.node');
  if (!fs.existsSync(prebuilt)) {
    throw new Error(
      `charter: no native addon for ${platform}. This package ships a prebuilt addon ` +
        'for linux-x64-gnu (glibc 2.17 or newer) only. Elsewhere, build it from a clone ' +
        'of the repository with Rust 1.89 or newer (`npm ci && npm run build` in ' +
        `bindings-node), then install that directory; see ${installDocs}`,
    );
  }
  try {
    return require(prebuilt);
  } catch (cause) {
    throw new Error(
      `charter: the prebuilt addon for ${platform} could not be loaded ` +
        `(it needs glibc 2.17 or newer): ${cause.message}; see ${installDocs}`,
      { cause },
    );
  }
}

module.exports = load();
