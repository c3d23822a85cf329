// The registry from TypeScript: typed events, priorities, error handling,
// and `using` for deterministic cleanup.
import { ClosedError, LimitExceededError, Registry, type NotifyReport } from 'charter';

interface ConfigChanged {
  key: string;
  value: string;
}

function main(): void {
  const failures: string[] = [];
  using registry = new Registry<ConfigChanged>({
    maxDepth: 4,
    onError: (handlerId, error) => {
      failures.push(`handler ${handlerId}: ${error instanceof Error ? error.message : String(error)}`);
    },
  });

  registry.register((event) => console.log(`audit: ${event.key} = ${event.value}`), { priority: 10 });
  const cacheId = registry.register((event) => {
    if (event.key === 'cache.size') throw new Error('cache cannot resize live');
  });

  const report: NotifyReport = registry.notify({ key: 'cache.size', value: '512' });
  console.log(report, failures);

  registry.unregister(cacheId);
  console.log(`${registry.size} handler(s) left, contains(cacheId) = ${registry.contains(cacheId)}`);

  // A handler that notifies its own registry recurses until the bound.
  registry.clear();
  let depth = 0;
  registry.register((event) => {
    depth += 1;
    try {
      registry.notify(event);
    } catch (error) {
      if (!(error instanceof LimitExceededError)) throw error;
      console.log(`nested ${depth} deep, then ${error.code} (maxDepth ${registry.maxDepth})`);
    }
  });
  registry.notify({ key: 'loop', value: '' });
  // `using` closes the registry at the end of the block.
}

main();

const closed = new Registry();
closed.close();
try {
  closed.notify('too late');
} catch (error) {
  if (error instanceof ClosedError) console.log(`${error.name} (${error.code}, ${error.status})`);
}

// Async handlers: `notifyAsync` awaits the Promises they return.
async function asyncRound(): Promise<void> {
  // A failed Promise goes to onError (without one, to a process warning).
  using registry = new Registry<ConfigChanged>({
    onError: (id, error) => console.log(`async handler failed: ${(error as Error).message}`),
  });
  registry.register(async (event) => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (event.value === '') throw new Error('empty value');
  });
  const report: NotifyReport = await registry.notifyAsync({ key: 'name', value: '' }, { sequential: true });
  console.log(`async round: delivered ${report.delivered}, failed ${report.failed}`);
}

void asyncRound();
