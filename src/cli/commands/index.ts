// Every command, in the order `--help` lists them. Each name in src/commands.ts has its command here,
// and nothing else is here (the type below holds both): the words an environment may not be called
// and the commands yargs knows cannot drift apart.
import type { CommandName } from '../../commands.js';
import { down, logs, ps, up } from './background.js';
import { doctor } from './doctor.js';
import { init } from './init.js';
import { policy, policyCheck } from './policy.js';
import { logout, sessions } from './sessions.js';
import { alias, completion, list } from './shell.js';
import { declared, type Declared } from '../usage.js';
import { type AnyCommand, GLOBAL_OPTIONS } from './spec.js';
import { tunnel } from './tunnel.js';

const NAMED = {
  policy,
  doctor,
  up,
  ps,
  down,
  logs,
  init,
  sessions,
  logout,
  list,
  alias,
  completion,
} satisfies Record<CommandName, AnyCommand>;

/** The default command (a tunnel), the named ones, and the subcommands (`policy check`). */
export const COMMANDS: readonly AnyCommand[] = [tunnel, ...Object.values(NAMED), policyCheck];

/** The command a line runs: the one whose words it starts with (the longest), else a tunnel. Pure. */
export function commandOf(words: readonly string[], commands: readonly AnyCommand[] = COMMANDS): AnyCommand {
  let best = commands.find((c) => c.path.length === 0)!;
  for (const c of commands) {
    if (c.path.length > best.path.length && c.path.every((w, i) => words[i] === w)) best = c;
  }
  return best;
}

/** Every option any command declares: to tell an option's value from a command's word. Pure. */
export function declaredAnywhere(commands: readonly AnyCommand[]): Declared {
  return declared(Object.assign({ ...GLOBAL_OPTIONS }, ...commands.map((c) => c.options)));
}
