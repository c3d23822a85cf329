'use strict';

// Receiving with a Promise: what `Subscription.recv`, `for await` and
// `Bus.request` share.
//
// Waiting costs no thread. A receive first polls the subscription: a
// queued message is taken at once. Otherwise the core keeps the
// subscription's notify armed, and when a message arrives (or the
// subscription ends) that notify hands the subscription's key to this
// thread through the one `NativeWaker` of this environment
// (`src/ready.rs`); `wake` then polls again and settles the waiting
// receives, first come first served.
//
// A message is only ever taken on this thread, by a poll made for the
// receive at the head of the line. So a receive that aborts or times out
// leaves the line at once and never takes a message: what arrives next
// goes to the next receive, or stays queued.
//
// A wait keeps the event loop alive only as long as its `timeoutMs`, like
// a timer: its timeout timer is ref'd. A wait without one, the waker's
// thread-safe function and the session-expiry recheck are not, so a
// forgotten receive on a bus nothing will publish to lets the process
// exit.

const { NativeWaker } = require('./native.js');
const { classes, fromNative } = require('./errors.js');
const { unpack } = require('./message.js');

/** The longest delay `setTimeout` takes; longer waits are chained. */
const MAX_DELAY = 2 ** 31 - 1;

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

/**
 * Sources with receives waiting, by key. Only those are held here, so a
 * dropped subscription with none stays collectable.
 */
const waiting = new Map();
let waker = null;
let nextKey = 0;

/** Called by the waker with the keys of sources that became readable. */
function wake(keys) {
  for (const key of keys) {
    waiting.get(key)?.serve();
  }
}

/**
 * A timer calling `then` after `ms` (chained past `setTimeout`'s limit);
 * `ref`: whether it keeps the event loop alive.
 */
function timer(ms, ref, then) {
  const handle = { id: null };
  const arm = (left) => {
    handle.id = setTimeout(() => {
      if (left > MAX_DELAY) {
        arm(left - MAX_DELAY);
      } else {
        then();
      }
    }, Math.min(left, MAX_DELAY));
    if (!ref) {
      handle.id.unref();
    }
  };
  arm(ms);
  return handle;
}

function clear(handle) {
  if (handle !== null) {
    clearTimeout(handle.id);
  }
}

function isMessage(polled) {
  return polled !== null && typeof polled === 'object';
}

/** The receiving side of one native subscription, and its line of waiting receives. */
class Source {
  #tryRecv = null;
  #takeQueued = null;
  #poller = null;
  /**
   * Waiting receives, oldest first: a `Set` keeps insertion order and
   * removes any one of them at once, whichever aborts.
   */
  #line = new Set();
  /** The timer that polls again when the subscription's session expires. */
  #recheck = null;
  #key = nextKey++;

  constructor(native) {
    this.native = native;
  }

  /** The next queued `Message`, or `null`; the function is made on first use. */
  tryRecv() {
    this.#tryRecv ??= this.native.receiver();
    return this.#tryRecv();
  }

  /**
   * The Promise of the next message: at once when one is queued and no
   * receive waits before this one. Rejects with what `expired()` makes
   * after `timeoutMs` (`undefined`: no limit), an `AbortError` when
   * `signal` aborts, and the Charter error of an ended subscription.
   */
  receive(timeoutMs, signal, expired) {
    return this.#receive(timeoutMs, signal, expired, false, 0);
  }

  /**
   * `receive`, resolving with an array: the message waited for, then
   * those already queued behind it, taken at the same instant, up to `max`
   * in all (the core's `recv_many`).
   */
  receiveMany(max, timeoutMs, signal, expired) {
    return this.#receive(timeoutMs, signal, expired, false, max);
  }

  /**
   * The Promise of an async iterator's next result: `{ value: message,
   * done: false }`, or `{ done: true }` once the subscription has ended.
   * Made in one step, so that `for await` spends one turn per queued
   * message, not the several of an async generator. `signal` (or `null`)
   * rejects it with an `AbortError`.
   */
  next(signal) {
    return this.#receive(undefined, signal, undefined, true, 0);
  }

  /**
   * `iterating`: settles as an async iterator's result; `many`: with an
   * array of up to that many messages (0: with one message).
   */
  #receive(timeoutMs, signal, expired, iterating, many) {
    if (signal?.aborted) {
      return Promise.reject(new AbortError(signal));
    }
    if (this.#line.size === 0) {
      if (many > 0) {
        const batch = this.#takeMany(many);
        if (batch !== null) {
          return Promise.resolve(batch);
        }
      }
      let polled;
      try {
        polled = this.#poll();
      } catch (error) {
        return settleFailed(iterating, fromNative(error));
      }
      if (isMessage(polled)) {
        return Promise.resolve(this.#result(polled, iterating, many));
      }
      if (timeoutMs === 0) {
        this.#idle(true);
        return Promise.reject(expired());
      }
      waiting.set(this.#key, this);
      this.#schedule(polled);
    }
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject, signal, onAbort: null, timer: null, iterating, many };
      if (signal !== null) {
        waiter.onAbort = () => this.#leave(waiter, new AbortError(signal));
        listen(signal, waiter);
      }
      if (timeoutMs !== undefined && timeoutMs !== Infinity) {
        waiter.timer = timer(timeoutMs, true, () => this.#leave(waiter, expired()));
      }
      this.#line.add(waiter);
    });
  }

  /** Settles the waiting receives from the head of the line while messages are queued. */
  serve() {
    while (this.#line.size > 0) {
      const head = this.#line.values().next().value;
      if (head.signal?.aborted) {
        // Aborted, but its listener has not run yet (an earlier listener
        // of the same signal published): it must not take a message.
        this.#line.delete(head);
        release(head);
        head.reject(new AbortError(head.signal));
        continue;
      }
      let polled;
      try {
        polled = this.#poll();
      } catch (error) {
        const line = [...this.#line];
        this.#line.clear();
        for (const waiter of line) {
          release(waiter);
          const failed = fromNative(error);
          if (waiter.iterating && failed instanceof classes.ClosedError) {
            waiter.resolve(END);
          } else {
            waiter.reject(failed);
          }
        }
        break;
      }
      if (!isMessage(polled)) {
        this.#schedule(polled);
        return;
      }
      this.#line.delete(head);
      release(head);
      head.resolve(this.#result(polled, head.iterating, head.many));
    }
    // The last poll took a message or found the subscription ended: either
    // way the notify fired and is no longer armed.
    this.#idle(false);
  }

  /**
   * What a receive settles with, given the message `polled` took for it:
   * for a batch (`many`), that message and those queued behind it, taken
   * now, before any other receive in the line is served.
   */
  #result(polled, iterating, many) {
    if (iterating) {
      return { value: polled, done: false };
    }
    if (many === 0) {
      return polled;
    }
    if (many === 1) {
      return [polled];
    }
    const batch = [polled];
    this.#takeInto(many - 1, batch);
    return batch;
  }

  /**
   * Up to `max` queued messages taken at once, without polling, or `null`
   * when none is queued. A batch receive tries this first: when messages
   * are queued, the whole batch crosses in one call, the first message
   * included; otherwise the poll that follows arms the subscription's
   * notify (or throws what ended it).
   */
  #takeMany(max) {
    const batch = [];
    return this.#takeInto(max, batch) > 0 ? batch : null;
  }

  /** Appends up to `max` queued messages to `batch`; returns how many. */
  #takeInto(max, batch) {
    this.#takeQueued ??= this.native.batchReceiver();
    // Cannot fail but for an ended subscription, which leaves nothing to
    // take (the poll says how it ended).
    try {
      return unpack(this.#takeQueued, max, batch);
    } catch {
      return 0;
    }
  }

  /** Takes the next message, or arms the subscription's notify (see `src/subscription.rs`). */
  #poll() {
    if (this.#poller === null) {
      waker ??= new NativeWaker(wake);
      this.#poller = this.native.poller(waker, this.#key);
    }
    return this.#poller();
  }

  /** After a pending poll: polls again when the session expires, if it can. */
  #schedule(polled) {
    clear(this.#recheck);
    this.#recheck = typeof polled === 'number' ? timer(Math.ceil(polled), false, () => this.serve()) : null;
  }

  /** `waiter` gives up (abort, timeout) and rejects with `error`. */
  #leave(waiter, error) {
    if (!this.#line.delete(waiter)) {
      return;
    }
    release(waiter);
    waiter.reject(error);
    if (this.#line.size === 0) {
      this.#idle(true);
    }
  }

  /**
   * No receive waits: forgets the source here, and takes back the arm
   * (`armed`: when the last poll left one), so the core's armed set stays
   * bounded and a dropped subscription is collectable.
   */
  #idle(armed) {
    if (armed) {
      this.native.disarm();
    }
    waiting.delete(this.#key);
    clear(this.#recheck);
    this.#recheck = null;
  }
}

/** The last result of an async iterator. */
const END = Object.freeze({ value: undefined, done: true });

/** How a receive that failed at once settles: an iterator ends when the subscription has. */
function settleFailed(iterating, error) {
  return iterating && error instanceof classes.ClosedError ? Promise.resolve(END) : Promise.reject(error);
}

/**
 * The receives waiting on each signal. A signal gets one 'abort' listener
 * however many receives share it: one per receive would make Node warn of
 * a leak past ten, and cost a listener scan per settled receive.
 */
const bySignal = new WeakMap();

/** Adds `waiter` to the receives `signal` aborts. */
function listen(signal, waiter) {
  let sharing = bySignal.get(signal);
  if (sharing === undefined) {
    const waiters = new Set();
    const onAbort = () => {
      bySignal.delete(signal);
      // A copy: each leaves the set as it rejects.
      for (const w of [...waiters]) {
        w.onAbort();
      }
    };
    sharing = { waiters, onAbort };
    bySignal.set(signal, sharing);
    signal.addEventListener('abort', onAbort, { once: true });
  }
  sharing.waiters.add(waiter);
}

/** Detaches a waiter that has left the line from its signal and timer. */
function release(waiter) {
  const sharing = bySignal.get(waiter.signal);
  if (sharing !== undefined && sharing.waiters.delete(waiter) && sharing.waiters.size === 0) {
    bySignal.delete(waiter.signal);
    waiter.signal.removeEventListener('abort', sharing.onAbort);
  }
  clear(waiter.timer);
}

module.exports = { AbortError, END, Source };
