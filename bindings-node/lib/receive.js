'use strict';

// Receiving with a Promise: what `Subscription.recv`, `for await` and
// `Bus.request` share.
//
// A receive first takes a queued message synchronously, so a consumer that
// keeps up never leaves the JS thread. Otherwise it waits on a thread of
// the addon's pool (`src/wait.rs`) in slices of 50 ms, and an `AbortSignal`
// stops it at the end of the current slice. A cancelled wait never
// consumes a message, with one exception it cannot rule out: a message
// that arrives within that last slice is taken, and the receive then
// resolves with it instead of rejecting. Later receives of the same
// subscription wait for such a wait to settle, so they cannot overtake it
// and take messages out of order.

const { Canceller } = require('./native.js');
const { classes, fromNative } = require('./errors.js');

/** What Node's own APIs reject with when aborted: `name` 'AbortError', `code` 'ABORT_ERR'. */
class AbortError extends Error {
  constructor(signal) {
    super('The operation was aborted', { cause: signal.reason });
    this.code = 'ABORT_ERR';
  }
}
Object.defineProperty(AbortError.prototype, 'name', {
  value: 'AbortError',
  writable: true,
  configurable: true,
});

/** The receiving side of one native subscription. */
class Source {
  /** Cancelled waits that have not settled yet. */
  settling = new Set();
  #tryRecv = null;

  constructor(native) {
    this.native = native;
  }

  /** The next queued `Message`, or `null`; the function is made on first use. */
  tryRecv() {
    this.#tryRecv ??= this.native.receiver();
    return this.#tryRecv();
  }
}

/**
 * The next message of `source`, waiting up to `timeoutMs` (`undefined`: no
 * limit). On abort, `abandon` (when given) is called instead of cancelling
 * the wait: `Bus.request` closes its reply inbox, which ends the wait at once.
 */
async function receive(source, timeoutMs, signal, abandon) {
  while (source.settling.size > 0) {
    await Promise.allSettled(source.settling);
  }
  if (signal?.aborted) {
    throw new AbortError(signal);
  }
  let queued;
  try {
    queued = source.tryRecv();
  } catch (error) {
    throw fromNative(error);
  }
  if (queued !== null) {
    return queued;
  }
  const canceller = signal !== null && abandon === undefined ? new Canceller() : undefined;
  const waiting = source.native.wait(timeoutMs, canceller);
  const onAbort = () => {
    if (abandon !== undefined) {
      abandon();
      return;
    }
    canceller.cancel();
    source.settling.add(waiting);
    const settled = () => source.settling.delete(waiting);
    waiting.then(settled, settled);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  let settled;
  try {
    settled = await waiting;
  } catch (error) {
    if (signal?.aborted && error?.code === classes.ClosedError.code && abandon !== undefined) {
      throw new AbortError(signal);
    }
    throw fromNative(error);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (settled === null) {
    throw new AbortError(signal);
  }
  if (settled === undefined) {
    throw new classes.InternalError('the receive ended without an outcome');
  }
  return settled;
}

module.exports = { AbortError, Source, receive };
