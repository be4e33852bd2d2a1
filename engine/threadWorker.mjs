// Bootstrap of a matmul worker (engine/threads.ts): workers start without the parent's TypeScript
// loader under vitest, so register tsx here, then load the worker itself. Under `tsx` the loader is
// inherited and registering again is harmless.
import { register } from 'tsx/esm/api';

register();
await import('./threadWorker.ts');
