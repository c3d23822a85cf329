'use strict';

const { inspect } = require('node:util');

const { NativeRegistry } = require('./native.js');
const { classes, fromNative } = require('./errors.js');
const { failure, optionalFunction, options } = require('./options.js');
const { isThenable } = require('./thenable.js');
const { unhandled } = require('./unhandled.js');

/** The error of any use of a closed registry but `close` and `closed`. */
function closed(stackStart) {
  return failure(classes.ClosedError, 'the registry is closed', stackStart ?? closed);
}

/**
 * What a registry shares with its guarded handlers: the event of the
 * innermost `notify` in progress and the `onError` hook. It leads nowhere
 * else on purpose: the native registry holds the guarded handlers strongly,
 * so a path from them back to the registry would keep an unclosed registry
 * alive forever.
 */
class Dispatch {
  event = undefined;
  onError = null;
  /**
   * What the round in progress does with a handler's Promise: `null` in a
   * `notify` round (its rejection goes to `onError`), an array in a
   * `notifyAsync` round (collected, then awaited and counted), `'defer'` in
   * a sequential `notifyAsync` round (the handler is not called in the
   * native round but collected, to be called and awaited one by one).
   */
  pending = null;

  /**
   * Passes what handler `id` threw to `onError`, or, with no hook, to a
   * process warning (`lib/unhandled.js`); what the hook throws goes there
   * too: it must not affect the other handlers.
   */
  failed(id, error) {
    const hook = this.onError;
    if (hook === null) {
      unhandled(`registry handler ${id}`, error);
      return;
    }
    try {
      hook(id, error);
    } catch (hookError) {
      unhandled("the registry's onError hook", hookError);
    }
  }
}

/**
 * `handler` as the native registry calls it (see `src/callback.rs`): with
 * no argument, returning whether the handler returned normally. It calls
 * the handler with the event of the round in progress (`this` undefined)
 * and passes what the handler throws to `onError`, so nothing thrown ever
 * reaches native code. Its `id` is set once the native registry assigned
 * one; it cannot run before (same thread).
 */
function guard(handler, dispatch, once) {
  const guarded = () => {
    const pending = dispatch.pending;
    if (pending !== null && pending.sequential) {
      pending.push({ id: guarded.id, once, handler, event: dispatch.event });
      return true;
    }
    try {
      const returned = handler(dispatch.event);
      if (isThenable(returned)) {
        if (pending === null) {
          settled(returned, guarded.id, dispatch);
        } else {
          pending.push({ id: guarded.id, promise: returned });
        }
      }
      return true;
    } catch (error) {
      dispatch.failed(guarded.id, error);
      return false;
    }
  };
  guarded.id = 0;
  return guarded;
}

/**
 * Passes the rejection of a Promise that a handler returned in a `notify`
 * round to `onError`, so it is never an unhandled rejection. `notify` has
 * already reported the handler as delivered; `notifyAsync` awaits and
 * counts such failures.
 */
function settled(returned, id, dispatch) {
  Promise.resolve(returned).then(undefined, (error) => dispatch.failed(id, error));
}

/**
 * A set of handlers notified together. Higher priority fires first, equal
 * priorities in registration order. A handler that throws is counted as
 * failed and its error goes to `onError`; the other handlers still run.
 */
class Registry {
  #native;
  /** The native `notify` function, made once: the hot path. */
  #notify;
  #dispatch = new Dispatch();
  #closed = false;

  constructor(opts) {
    const { maxDepth, onError } = options(opts, 'options', Registry, ['maxDepth', 'onError']);
    try {
      this.#native = new NativeRegistry(maxDepth);
      this.#notify = this.#native.notifier();
    } catch (error) {
      throw fromNative(error, Registry);
    }
    this.#dispatch.onError = optionalFunction(onError, 'onError', Registry);
  }

  /**
   * `call(native)` while the registry is open, `ClosedError` once closed;
   * errors start their stacks at `here`, the public method called.
   */
  #open(here, call) {
    if (this.#closed) {
      throw closed(here);
    }
    try {
      return call(this.#native);
    } catch (error) {
      throw fromNative(error, here);
    }
  }

  register(handler, opts) {
    return this.#add(handler, opts, false, this.register);
  }

  /**
   * Registers `handler` to run once: the first round that reaches it calls
   * it, then removes and releases it, even if it throws.
   */
  registerOnce(handler, opts) {
    return this.#add(handler, opts, true, this.registerOnce);
  }

  #add(handler, opts, once, caller) {
    const { priority } = options(opts, 'options', caller, ['priority']);
    if (this.#closed) {
      throw closed(caller);
    }
    if (optionalFunction(handler, 'handler', caller) === null) {
      throw failure(classes.NullArgumentError, 'handler is required', caller);
    }
    const guarded = guard(handler, this.#dispatch, once);
    try {
      guarded.id = once
        ? this.#native.registerOnce(guarded, priority)
        : this.#native.register(guarded, priority);
    } catch (error) {
      throw fromNative(error, caller);
    }
    return guarded.id;
  }

  unregister(id) {
    return this.#open(this.unregister, (native) => native.unregister(id));
  }

  /**
   * `unregister`, and once it returns no round can still run the handler.
   * A registry lives on one thread, so this never blocks.
   */
  unregisterAndWait(id) {
    return this.#open(this.unregisterAndWait, (native) => native.unregisterAndWait(id));
  }

  contains(id) {
    return this.#open(this.contains, (native) => native.contains(id));
  }

  /** How many handlers are registered. */
  get size() {
    if (this.#closed) {
      throw closed();
    }
    return this.#native.size;
  }

  /** How deeply `notify` may nest on one thread (set at construction). */
  get maxDepth() {
    if (this.#closed) {
      throw closed();
    }
    return this.#native.maxDepth;
  }

  clear() {
    this.#open(this.clear, (native) => native.clear());
  }

  /** `clear`, with the promise of `unregisterAndWait` for every handler. */
  clearAndWait() {
    this.#open(this.clearAndWait, (native) => native.clearAndWait());
  }

  /**
   * Calls every handler with `event`, synchronously, and reports how they
   * fared. Throws `LimitExceededError` past the nesting bound.
   */
  notify(event) {
    if (this.#closed) {
      throw closed(this.notify);
    }
    // The guarded handlers read the event here. A handler may notify again:
    // the outer event is restored for the rest of the outer round.
    return this.#round(event, null, this.notify);
  }

  /**
   * Calls every handler with `event` and awaits the Promises they return:
   * all at once (the default), or, with `sequential`, each handler only
   * after the previous one's Promise settled. Resolves with `{ delivered,
   * failed, panicked }`, where a handler whose Promise rejected counts as
   * failed and its reason goes to `onError`. Never rejects because of a
   * handler. Rejects with `LimitExceededError` past the nesting bound.
   */
  async notifyAsync(event, opts) {
    const { sequential } = options(opts, 'options', this.notifyAsync, ['sequential']);
    if (this.#closed) {
      throw closed(this.notifyAsync);
    }
    const pending = [];
    pending.sequential = sequential === true;
    const report = this.#round(event, pending, this.notifyAsync);
    const dispatch = this.#dispatch;
    if (pending.sequential) {
      for (const { id, once, handler, event: given } of pending) {
        // Unregistered by an earlier handler: this round no longer calls it.
        if (!once && (this.#closed || !this.#native.contains(id))) {
          report.delivered -= 1;
          continue;
        }
        try {
          await handler(given);
        } catch (error) {
          report.delivered -= 1;
          report.failed += 1;
          dispatch.failed(id, error);
        }
      }
      return report;
    }
    const outcomes = await Promise.allSettled(pending.map(({ promise }) => promise));
    outcomes.forEach((outcome, i) => {
      if (outcome.status === 'rejected') {
        report.delivered -= 1;
        report.failed += 1;
        dispatch.failed(pending[i].id, outcome.reason);
      }
    });
    return report;
  }

  /** One native round with `event`, handling Promises as `pending` says (see `Dispatch`). */
  #round(event, pending, stackStart) {
    // The guarded handlers read the event here. A handler may notify again:
    // the outer event is restored for the rest of the outer round.
    const dispatch = this.#dispatch;
    const outer = { event: dispatch.event, pending: dispatch.pending };
    dispatch.event = event;
    dispatch.pending = pending;
    let outcome;
    try {
      outcome = this.#notify();
    } catch (error) {
      throw fromNative(error, stackStart);
    } finally {
      dispatch.event = outer.event;
      dispatch.pending = outer.pending;
    }
    // The addon returns a bare count when every handler succeeded, so the
    // common case builds this object here, where it is cheapest.
    return typeof outcome === 'number'
      ? { delivered: outcome, failed: 0, panicked: 0 }
      : { delivered: outcome.delivered, failed: outcome.failed, panicked: outcome.panicked };
  }

  /** `(handlerId, error) => void`, called for every handler that throws. */
  get onError() {
    if (this.#closed) {
      throw closed();
    }
    return this.#dispatch.onError;
  }

  set onError(hook) {
    if (this.#closed) {
      throw closed();
    }
    this.#dispatch.onError = optionalFunction(hook, 'onError');
  }

  get closed() {
    return this.#closed;
  }

  /** `util.inspect` and `console.log` show the registry's state. */
  [inspect.custom](depth, inspectOptions, nested) {
    const state = this.#closed
      ? { closed: true }
      : { closed: false, size: this.size, maxDepth: this.maxDepth };
    return `Registry ${nested(state, inspectOptions)}`;
  }

  /**
   * Releases every handler and the `onError` hook; any later call throws
   * `ClosedError`. Closing again does nothing. Inside a handler, the round
   * in progress runs no further handler.
   */
  close() {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#dispatch.onError = null;
    try {
      this.#native.clear();
    } catch (error) {
      throw fromNative(error, this.close);
    }
  }

  [Symbol.dispose]() {
    this.close();
  }
}

module.exports = { Registry };
