// dbtunnel's command words, once: the CLI has a command for each (src/cli/commands/index.ts must
// name every one, and nothing else), and none of them can name an environment in a config
// (src/config/schema.ts), so that `dbtunnel policy` always means the command.
export const COMMAND_NAMES = [
  'up',
  'down',
  'ps',
  'logs',
  'policy',
  'doctor',
  'sessions',
  'init',
  'logout',
  'list',
  'alias',
  'completion',
] as const;

export type CommandName = (typeof COMMAND_NAMES)[number];

/** The words an environment cannot be called: the commands, and `help`, which yargs answers itself. */
export const RESERVED_WORDS: readonly string[] = [...COMMAND_NAMES, 'help'];
