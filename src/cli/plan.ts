// The config found, loaded and resolved into the plan of one run: shared by every command that
// takes <env> [db…].
import os from 'node:os';
import { displayPath, findConfig, loadConfig, skippedWarning, type LoadedConfig } from '../config/load.js';
import { resolvePlan, type EnvironmentPlan, type Selection } from '../config/resolve.js';
import type { Terminal } from './terminal.js';

/** What every command that takes <env> [db…] is given. */
export interface TargetArgs {
  env: string;
  dbs: string[];
  config: string | undefined;
  profile: string | undefined;
  region: string | undefined;
  instance: string | undefined;
}

export async function loadPlan(
  configFlag: string | undefined,
  selection: Selection,
  term: Terminal,
): Promise<{ plan: EnvironmentPlan; loaded: LoadedConfig }> {
  const location = await findConfig({ flag: configFlag, env: process.env, cwd: process.cwd(), home: os.homedir() });
  term.debug(`config: ${location.file} (via ${location.via})`);
  const loaded = await loadConfig(location);
  for (const s of loaded.skipped) term.warn(skippedWarning(s));
  if (loaded.localFile) term.debug(`config: merged ${loaded.localFile}`);
  return { plan: resolvePlan(loaded.config, selection, displayPath(loaded.file)), loaded };
}

/** What a tunnel's arguments select: its environment, databases (or all) and overrides. Pure. */
export function selectionOf(args: TargetArgs & { all: boolean }): Selection {
  const { env, dbs, all, profile, region, instance } = args;
  return { env, dbs, all, profile, region, instance };
}
