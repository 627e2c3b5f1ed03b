/** node:os for the verifier page: one core (verifiers hash inline, no worker threads). */
export const availableParallelism = (): number => 1;
export const cpus = (): unknown[] => [{}];
export const EOL = '\n';
export const platform = (): string => 'browser';
export const tmpdir = (): string => '/tmp';
export const homedir = (): string => '/';
export default { availableParallelism, cpus, EOL, platform, tmpdir, homedir };
