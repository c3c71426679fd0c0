// Where dbtunnel keeps its files, by the XDG base directory rules: a variable that is set to an
// absolute path wins; otherwise the usual place under the home directory. Pure.
import path from 'node:path';

const DEFAULTS = {
  config: { variable: 'XDG_CONFIG_HOME', under: ['.config'] },
  cache: { variable: 'XDG_CACHE_HOME', under: ['.cache'] },
  state: { variable: 'XDG_STATE_HOME', under: ['.local', 'state'] },
} as const;

/** The base directory of a kind (not yet dbtunnel's own folder inside it). */
export function xdgBase(kind: keyof typeof DEFAULTS, env: NodeJS.ProcessEnv, home: string): string {
  const { variable, under } = DEFAULTS[kind];
  const set = env[variable];
  return set && path.isAbsolute(set) ? set : path.join(home, ...under);
}
