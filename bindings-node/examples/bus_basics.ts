// The topic bus from TypeScript: wildcards, a queue read with `for await`,
// handlers, timeouts and cancellation, request/reply, and the accounting.
import { Bus, TimeoutError, type Message, type MessageHeaders, type PublishReport } from 'charter';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  using bus = new Bus({
    onError: (id, error) => console.log(`handler of subscription ${id} failed: ${String(error)}`),
  });

  // A queue of everything under `orders.`, at most 100 messages.
  using orders = bus.subscribe('orders.>', { capacity: 100, overflow: 'dropOldest' });

  // A handler run inside `publish`, and one run later, off the publisher's path.
  bus.subscribe('orders.*.created', (m) => console.log(`audit: ${m.topic} ${m.payload.toString()}`));
  bus.subscribe(
    'orders.eu.*',
    (m) => {
      if (m.header('priority') === 'rush') throw new Error('cannot rush an order');
    },
    { dispatch: 'thread' },
  );

  const rush: MessageHeaders = { priority: 'rush' }; // fetch's global Headers stays unshadowed
  const report: PublishReport = bus.publish('orders.eu.created', 'order 17', rush);
  console.log(report);
  bus.publish('orders.us.created', JSON.stringify({ id: 18 }));

  const seen: string[] = [];
  for await (const m of orders) {
    seen.push(`#${m.seq} ${m.topic}`);
    if (seen.length === 2) break; // leaves the subscription open
  }
  console.log(seen);

  // Waiting ends with a timeout or an AbortSignal; neither consumes a message.
  try {
    await orders.recv({ timeoutMs: 20 });
  } catch (error) {
    if (error instanceof TimeoutError) console.log(`${error.name} (${error.code})`);
  }
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 20);
  try {
    await orders.recv({ signal: controller.signal });
  } catch (error) {
    console.log(`${(error as Error).name} after abort()`);
  }

  // Request and reply.
  bus.subscribe('math.double', (m) => bus.respond(m, String(Number(m.payload.toString()) * 2)));
  const reply: Message = await bus.request('math.double', '21', { timeoutMs: 1000 });
  console.log(`21 doubled is ${reply.payload.toString()}`);

  await sleep(20); // lets the thread handler's failure be reported
  const { received, delivered, dropped, queued } = orders.stats();
  console.log(`orders: received ${received} = delivered ${delivered} + dropped ${dropped.total} + queued ${queued}`);
  console.log(`handler failures: ${bus.stats().subscriptions.handlerFailures}`);
  // `using` closes the subscription, then the bus, at the end of the block.
}

main();
