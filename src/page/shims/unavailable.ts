/**
 * node:module, node:async_hooks and the database drivers for the verifier page: imported by modules on the
 * verification graph (the database store behind `--db`), never called by the page, which offers no `--db`.
 * Calling anything here fails with a coded error rather than doing something else.
 */
function unavailable(): never {
  throw Object.assign(new Error('not available in the verifier page (no database, no modules to load)'), { code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' });
}
export const createRequire = (): (() => never) => unavailable;
export class AsyncLocalStorage<T> {
  getStore(): T | undefined {
    return undefined;
  }
  run<R>(_store: T, fn: () => R): R {
    return fn();
  }
}
export default { createRequire, AsyncLocalStorage };
