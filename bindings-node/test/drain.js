'use strict';

// What the queue tests read a subscription with when they must not wait.

/** Every message queued on `sub` right now, oldest first. */
function drain(sub) {
  const messages = [];
  for (let m = sub.tryRecv(); m !== null; m = sub.tryRecv()) {
    messages.push(m);
  }
  return messages;
}

module.exports = { drain };
