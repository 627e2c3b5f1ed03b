import fs from 'node:fs';

/** The package version (package.json `version`; a test keeps them equal). */
export const VERSION = '0.1.0';

export interface BuildInfo {
  /** The git commit the build was made from, or null when unknown (not built from a git checkout). */
  commit: string | null;
}

let info: BuildInfo | undefined;

/** Build facts written beside the compiled code by `npm run build` (dist/build-info.json); null fields when absent. */
export function buildInfo(): BuildInfo {
  if (info) return info;
  info = { commit: null };
  try {
    const j = JSON.parse(fs.readFileSync(new URL('./build-info.json', import.meta.url), 'utf8')) as { commit?: unknown };
    if (typeof j.commit === 'string' && /^[0-9a-f]{40}$/.test(j.commit)) info.commit = j.commit;
  } catch {
    // not a build (running from source), or no git at build time
  }
  return info;
}
