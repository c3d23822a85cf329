// The ES module entry point. It re-exports the CommonJS implementation, so
// `import` and `require` hand out the very same classes (`instanceof` works
// across both). Node reads the names of `index.js`'s exports statically;
// the error classes, which `index.js` makes at load from the core's status
// table, are spelled out here. A test checks that the ESM exports match the
// CommonJS ones.
import charter from './index.js';

export * from './index.js';

export const {
  CharterError,
  NullArgumentError,
  InvalidArgumentError,
  InvalidUtf8Error,
  InvalidHandleError,
  WrongHandleTypeError,
  HandleFreedError,
  AlreadyFreedError,
  LimitExceededError,
  NotFoundError,
  DeniedError,
  ExpiredError,
  NotYetValidError,
  RevokedError,
  BadSignatureError,
  MalformedError,
  UntrustedRootError,
  WouldBlockError,
  TimeoutError,
  ClosedError,
  IoError,
  CorruptError,
  PanicError,
  InternalError,
  CancelledError,
} = charter;

// `import charter from 'charter'`, as with CommonJS's require('charter').
export default charter;
