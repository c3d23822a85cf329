'use strict';

// Telling an `async` handler's result from a plain one, for the registry
// and the bus, which both await the first and take the second as done.

/**
 * Whether `value` is a Promise or another thenable. Reading `then` may
 * throw (a getter): the caller treats that as the handler's failure.
 */
function isThenable(value) {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof value.then === 'function'
  );
}

module.exports = { isThenable };
