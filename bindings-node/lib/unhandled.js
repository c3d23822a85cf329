'use strict';

// Where a handler's failure goes when nobody asked for it: a process
// warning, as Node reports what it cannot throw to anyone (an
// EventEmitter's 'error' with no listener would crash the process instead;
// a bus keeps delivering). The library itself never prints: the warning is
// Node's to show, and `process.on('warning')` or --no-warnings take it.

/** The code of every warning this module emits. */
const CODE = 'CHARTER_HANDLER_ERROR';

/**
 * Emits a `CharterHandlerWarning` saying that `source` threw `error` (kept
 * as the warning's `cause`), because no `onError` hook took it, or because
 * the hook threw too.
 */
function unhandled(source, error) {
  let text;
  try {
    text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    text = 'a value that cannot be shown';
  }
  const warning = new Error(`${source} threw ${text}`, { cause: error });
  warning.name = 'CharterHandlerWarning';
  warning.code = CODE;
  process.emitWarning(warning);
}

module.exports = { unhandled };
