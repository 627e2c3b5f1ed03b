/** node:worker_threads for the verifier page: none. Verifiers choose inline work when no worker is asked for. */
export const isMainThread = true;
export const parentPort = null;
export const workerData = undefined;
export class Worker {
  constructor() {
    throw Object.assign(new Error('worker threads are not available in the verifier page'), { code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' });
  }
}
export default { isMainThread, parentPort, workerData, Worker };
