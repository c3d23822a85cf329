'use strict';

// The CommonJS entry point; `index.mjs` re-exports the same objects for ESM,
// so both module systems share one set of classes.
const { Registry } = require('./lib/registry.js');
const { Bus, Client } = require('./lib/bus.js');
const { Bridge, BridgeVerifier } = require('./lib/bridge.js');
const { Subscription } = require('./lib/subscription.js');
const { Message } = require('./lib/message.js');
const { KeyPair, PublicKey } = require('./lib/keys.js');
const { Token } = require('./lib/token.js');
const { Authority, ManualClock, Session } = require('./lib/authority.js');
const {
  AuditLog,
  auditLimits,
  encodeRecord,
  leafHash,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
} = require('./lib/audit.js');
const { LogView, verifyLog, verifyLogSync } = require('./lib/auditor.js');
const {
  Witness,
  cosign,
  cosignerKey,
  parseWitnessRequest,
  verifyCosigned,
  witnessRequest,
} = require('./lib/witness.js');
const { patternContains, topicMatches, validatePattern, validateTopic } = require('./lib/topic.js');
const { classes } = require('./lib/errors.js');
const native = require('./lib/native.js');

/** The core's version, as the C library's charter_version() gives it. */
const version = native.version();

// Names only, so that Node reads this list statically for `index.mjs`'s
// `export *`; the error classes, made at load from the core's status table,
// are spread last.
module.exports = {
  Registry,
  Bus,
  Client,
  Bridge,
  BridgeVerifier,
  Subscription,
  Message,
  KeyPair,
  PublicKey,
  Token,
  Authority,
  ManualClock,
  Session,
  AuditLog,
  auditLimits,
  encodeRecord,
  leafHash,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
  verifyLog,
  verifyLogSync,
  LogView,
  Witness,
  cosignerKey,
  cosign,
  verifyCosigned,
  witnessRequest,
  parseWitnessRequest,
  validateTopic,
  validatePattern,
  topicMatches,
  patternContains,
  version,
  ...classes,
};
