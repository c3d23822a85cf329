// The ES module entry point. It re-exports the CommonJS implementation, so
// `import` and `require` hand out the very same classes (`instanceof` works
// across both). ESM needs the names spelled out; a test checks that this
// list matches the CommonJS exports.
import charter from './index.js';

export const {
  Registry,
  Bus,
  Client,
  Subscription,
  Message,
  KeyPair,
  PublicKey,
  Token,
  Authority,
  ManualClock,
  Session,
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
} = charter;
