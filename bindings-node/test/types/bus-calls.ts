// Type-checked by `npm run typecheck` (test/types/tsconfig.json): a `Bus`
// and a `Client` both make the calls of `BusCalls`, so code that takes
// either types with both, and neither gains the other's own members.
import { Bus, type BusCalls, type Client, type PublishReport } from 'charter';

declare const bus: Bus;
declare const client: Client;

function announce(calls: BusCalls): PublishReport {
  return calls.publish('news', 'hello');
}

announce(bus);
announce(client);
client.session satisfies object;
// @ts-expect-error a client gives no way to close the bus
client.close();
// @ts-expect-error a bus has no session
void bus.session;
