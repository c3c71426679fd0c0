// Around the shell: `list`, `alias`, `completion`.
import { EXIT } from '../../errors.js';
import { defineCommand } from './spec.js';

const shell = { choices: ['bash', 'zsh', 'fish'], describe: 'Default: from $SHELL' } as const;

export const list = defineCommand({
  path: ['list'],
  positionals: '',
  describe: 'List environments, databases and ports',
  positionalOptions: {},
  options: { json: { type: 'boolean', default: false, describe: 'As JSON' } },
  async run(a, { term }) {
    const { listCommand } = await import('../shell-commands.js');
    return listCommand({ config: a.config, json: a.json }, term);
  },
});

export const alias = defineCommand({
  path: ['alias'],
  positionals: '',
  describe: 'Print a shell alias per database: eval "$(dbtunnel alias)" in your shell rc',
  positionalOptions: {},
  options: { shell },
  async run(a, { term }) {
    const { aliasCommand } = await import('../shell-commands.js');
    return aliasCommand({ config: a.config, shell: a.shell }, term);
  },
});

export const completion = defineCommand({
  path: ['completion'],
  positionals: '',
  describe: 'Print a completion script: eval "$(dbtunnel completion)" (bash, zsh); fish: --shell fish',
  positionalOptions: {},
  options: { shell },
  async run(a, { term, showCompletionScript }) {
    const { detectShell, FISH_COMPLETION } = await import('../shell-commands.js');
    if ((a.shell ?? detectShell(process.env)) === 'fish') term.print(FISH_COMPLETION);
    else showCompletionScript(); // yargs' own, for the shell app.ts set from --shell, else $SHELL's
    return EXIT.ok;
  },
});
