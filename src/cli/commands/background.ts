// The background commands: `up` (with -d, hand the tunnels to the background supervisor), `ps`,
// `down`, `logs`. Their work is in ../background.ts and src/background/.
import { instanceProblem, TUNNEL_OPTIONS, tunnelTarget } from './options.js';
import { defineCommand } from './spec.js';

const { profile, region, instance, all, yes, timeout, json, reconnect } = TUNNEL_OPTIONS;

export const up = defineCommand({
  path: ['up'],
  positionals: '<env> [dbs..]',
  describe: 'Open tunnels; with -d, hand them to the background supervisor and return once they are ready',
  positionalOptions: {
    env: { type: 'string', demandOption: true, describe: 'Environment from the config' },
    dbs: { type: 'string', array: true, describe: 'Database(s) of that environment' },
  },
  // The tunnel's own options, but those that have no meaning in the background.
  options: {
    profile,
    region,
    instance,
    detach: { alias: 'd', type: 'boolean', default: false, describe: 'Hold the tunnels in the background' },
    all,
    yes,
    timeout,
    json,
    reconnect: { ...reconnect, describe: 'When a session ends unasked (default with -d: always)' },
    'max-reconnects': TUNNEL_OPTIONS['max-reconnects'],
    'session-client': TUNNEL_OPTIONS['session-client'],
  },
  examples: [['$0 up -d stg mydb', 'Open mydb in the background; dbtunnel ps lists it, dbtunnel down closes it']],
  check: (a) => instanceProblem(a.instance),
  async run(a, { term, signals }) {
    const target = tunnelTarget(a);
    signals.install(term);
    if (a.detach) {
      const { upDetached } = await import('../background.js');
      return upDetached(target, term, signals.stop.signal);
    }
    const { tunnelCommand } = await import('../tunnel-command.js');
    return tunnelCommand({ ...target, legacyPlugin: false, dryRun: false, command: undefined }, term, signals);
  },
});

export const ps = defineCommand({
  path: ['ps'],
  positionals: '',
  describe: 'List the tunnels held in the background (env, db, address, state, age, pid)',
  positionalOptions: {},
  options: { json: { type: 'boolean', default: false, describe: 'As JSON' } },
  async run(a, { term }) {
    const { psCommand } = await import('../background.js');
    return psCommand({ json: a.json }, term);
  },
});

export const down = defineCommand({
  path: ['down'],
  positionals: '[env] [db]',
  describe: "Close background tunnels (all, an environment's, or one), properly: plugin stopped, session terminated",
  positionalOptions: {
    env: { type: 'string', describe: "Only this environment's" },
    db: { type: 'string', describe: 'Only this database' },
  },
  options: {},
  async run(a, { term }) {
    const { downCommand } = await import('../background.js');
    return downCommand({ env: a.env, db: a.db }, term);
  },
});

export const logs = defineCommand({
  path: ['logs'],
  positionals: '<env> [db]',
  describe: 'Show what the tunnels held in the background reported (opened, reconnected, errors); -f follows',
  positionalOptions: {
    env: { type: 'string', demandOption: true, describe: 'Environment' },
    db: { type: 'string', describe: 'Only this database' },
  },
  options: {
    follow: { alias: 'f', type: 'boolean', default: false, describe: 'Keep printing as they report' },
    json: { type: 'boolean', default: false, describe: 'One JSON event per line' },
  },
  async run(a, { term, signals }) {
    signals.install(term);
    const { logsCommand } = await import('../background.js');
    return logsCommand({ env: a.env, db: a.db, follow: a.follow }, term, signals.stop.signal);
  },
});
