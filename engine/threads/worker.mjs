// Bootstrap of a matmul worker (engine/threads/pool.ts) when the engine runs from its TypeScript
// sources: workers start without the parent's TypeScript loader under vitest, so register tsx here,
// then load the worker itself. Under `tsx` the loader is inherited and registering again is
// harmless. The compiled package starts worker.js directly and never loads this file.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
