// `doctor <env> [db…]`: every check a tunnel needs, without opening one.
import { instanceProblem, TARGET_OPTIONS } from './options.js';
import { defineCommand } from './spec.js';

export const doctor = defineCommand({
  path: ['doctor'],
  positionals: '<env> [dbs..]',
  describe: 'Check everything a tunnel needs, without opening one',
  positionalOptions: {
    env: { type: 'string', demandOption: true, describe: 'Environment from the config' },
    dbs: { type: 'string', array: true, describe: 'Database(s) of that environment (default: all)' },
  },
  options: {
    ...TARGET_OPTIONS,
    reachability: {
      type: 'boolean',
      default: false,
      describe: 'Also ask AWS Reachability Analyzer about each path, and compare (AWS charges per analysis)',
    },
    yes: { alias: 'y', type: 'boolean', default: false, describe: 'Run --reachability without asking' },
  },
  check: (a) => instanceProblem(a.instance),
  async run(a, { term, signals }) {
    // Ctrl-C while AWS analyses: the analysis and its path are deleted before doctor stops.
    if (a.reachability) signals.install(term);
    const { doctorCommand } = await import('../doctor-command.js');
    return doctorCommand(
      {
        env: a.env,
        dbs: (a.dbs ?? []).map(String),
        config: a.config,
        profile: a.profile,
        region: a.region,
        instance: a.instance,
        reachability: a.reachability,
        yes: a.yes,
      },
      term,
      signals.stop.signal,
    );
  },
});
