// Worker-thread bootstrap: Node 20 does not pass the main thread's --import loaders on to
// workers, so TypeScript support is registered here before the worker's own module loads.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
