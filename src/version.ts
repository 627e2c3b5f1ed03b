import fs from 'node:fs';

/** The package version (package.json `version`; a test keeps them equal). */
export const VERSION = '0.1.0';

export interface BuildInfo {
  /** The git commit the build was made from, or null when unknown (not built from a git checkout). */
  commit: string | null;
}

let info: BuildInfo | undefined;

/**
 * Build facts written by `npm run build` to dist/build-info.json; null fields when absent. This module runs from
 * dist/ (tsc) or from a chunk under dist/bin/ (the CLI bundle), so the file is looked up in the parent folders.
 */
export function buildInfo(): BuildInfo {
  if (info) return info;
  info = { commit: null };
  for (const rel of ['./build-info.json', '../build-info.json', '../../build-info.json']) {
    try {
      const j = JSON.parse(fs.readFileSync(new URL(rel, import.meta.url), 'utf8')) as { commit?: unknown };
      if (typeof j.commit === 'string' && /^[0-9a-f]{40}$/.test(j.commit)) info.commit = j.commit;
      break;
    } catch {
      // not here: not a build (running from source), or no git at build time
    }
  }
  return info;
}
