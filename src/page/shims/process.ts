/** The `process` global of the verifier page (esbuild `inject`): an empty environment, cwd `/` (the dropped files). */
export const process = {
  env: {} as Record<string, string | undefined>,
  cwd: (): string => '/',
  platform: 'browser',
  version: 'v20.0.0',
  versions: {} as Record<string, string>,
  argv: [] as string[],
  exitCode: undefined as number | undefined,
  nextTick: (fn: (...a: unknown[]) => void, ...args: unknown[]): void => void queueMicrotask(() => fn(...args)),
  emitWarning: (): void => {},
  hrtime: Object.assign((): [number, number] => [0, 0], { bigint: (): bigint => BigInt(Math.round(performance.now() * 1e6)) }),
};
