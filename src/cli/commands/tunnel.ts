// `dbtunnel <env> [db…] [-- command…]`: open tunnels and hold them until Ctrl-C, or run a command
// through them. The default command: no word names it.
import { TunnelError } from '../../errors.js';
import { instanceProblem, TUNNEL_OPTIONS, tunnelTarget, usage } from './options.js';
import { defineCommand } from './spec.js';

export const tunnel = defineCommand({
  path: [],
  positionals: '[env] [dbs..]',
  describe: 'Open a tunnel to each database and hold them until Ctrl-C (or run a command through them)',
  positionalOptions: {
    env: { type: 'string', describe: 'Environment from the config (e.g. stg)' },
    dbs: { type: 'string', array: true, describe: 'Database(s) of that environment (e.g. mydb)' },
  },
  options: TUNNEL_OPTIONS,
  examples: [
    ['$0 stg mydb', 'Open mydb of environment stg, hold it until Ctrl-C'],
    ['$0 stg --all', 'Every database of stg'],
    // A shell expands variables before dbtunnel runs: they go inside sh -c '…' to be the tunnel's.
    ['$0 stg mydb -- ./migrate.sh', 'Run a command through the tunnel ($DBTUNNEL_HOST, $DBTUNNEL_PORT), then close it'],
    ["$0 stg mydb -- sh -c 'psql -h $DBTUNNEL_HOST -p $DBTUNNEL_PORT'", ''],
    ['$0 stg mydb --json', 'Events for scripts'],
  ],
  check: (a) => instanceProblem(a.instance),
  async run(a, { term, signals, typed }) {
    // What follows `--`, as typed (yargs leaves out an empty list).
    const command = typed.includes('--') ? typed.slice(typed.indexOf('--') + 1) : undefined;
    if (command?.length === 0)
      throw usage('Nothing after `--`.', 'Give the command to run: dbtunnel stg mydb -- psql …');
    if (!a.env) {
      // A first run, with no config yet, needs `dbtunnel init` more than the usage.
      const { environmentNames } = await import('../shell-commands.js');
      const names = await environmentNames(a.config);
      throw new TunnelError('usage', 'Which environment?', {
        details: [`Environments: ${names.join(', ')}`],
        hint: 'Run: dbtunnel <env> <db>   (dbtunnel list shows them; dbtunnel --help for more)',
      });
    }
    signals.install(term);
    const { tunnelCommand } = await import('../tunnel-command.js');
    return tunnelCommand(
      { ...tunnelTarget({ ...a, env: a.env }), legacyPlugin: a.legacyPlugin, dryRun: a.dryRun, command },
      term,
      signals,
    );
  },
});
