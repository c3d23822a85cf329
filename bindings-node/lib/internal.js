'use strict';

/**
 * The token the library passes to the constructors of the classes only it
 * makes (keys, tokens, sessions, logs, messages, ...), each from a native
 * object it has checked: a user's `new` lacks it.
 */
const internal = Symbol('internal');

/**
 * Throws the `TypeError` of a `new className(...)` outside the library,
 * saying how such objects are made (`howToMake`).
 */
function libraryOnly(token, className, howToMake) {
  if (token !== internal) {
    throw new TypeError(`${className} is not constructible: ${howToMake}`);
  }
}

module.exports = { internal, libraryOnly };
