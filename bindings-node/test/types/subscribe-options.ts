// Type-checked by `npm run typecheck` (test/types/tsconfig.json):
// the typings let every combination of subscribe options through, with or
// without a handler, because the core judges them; test/rules.test.js
// checks at run time that its refusals arrive with its words.
import { Bus, type HandlerOptions, type SubscribeOptions } from 'charter';

declare const bus: Bus;

const every: SubscribeOptions = {
  capacity: 1,
  maxBytes: 1,
  overflow: { block: 1 },
  ttlMs: 1,
  idleTtlMs: 1,
  dispatch: 'thread',
};
const handled: HandlerOptions = every;

// Thread dispatch on a pull subscription and `idleTtlMs` with a handler
// are the core's to refuse.
bus.subscribe('rules', { dispatch: 'thread' });
bus.subscribe('rules', () => {}, { idleTtlMs: 5 });
bus.subscribe('rules', every);
bus.subscribe('rules', () => {}, handled);

// The types still type: an unknown dispatch is not an option.
// @ts-expect-error 'later' is not a dispatch
bus.subscribe('rules', () => {}, { dispatch: 'later' });
