// `sessions [env]`: your own active Session Manager sessions; `logout`: forget kept credentials.
import { EXIT } from '../../errors.js';
import { defineCommand } from './spec.js';

export const sessions = defineCommand({
  path: ['sessions'],
  positionals: '[env]',
  describe: 'List your own active Session Manager sessions (target, age); --terminate ends them',
  positionalOptions: { env: { type: 'string', describe: "Use this environment's profile and region" } },
  options: {
    profile: { type: 'string', describe: 'AWS profile' },
    region: { type: 'string', describe: 'AWS region' },
    terminate: { type: 'boolean', default: false, describe: 'End them (TerminateSession)' },
    json: { type: 'boolean', default: false, describe: 'As JSON' },
  },
  async run(a, { term }) {
    const { sessionsCommand } = await import('../sessions-command.js');
    return sessionsCommand(
      { env: a.env, config: a.config, profile: a.profile, region: a.region, terminate: a.terminate, json: a.json },
      term,
    );
  },
});

export const logout = defineCommand({
  path: ['logout'],
  positionals: '',
  describe: 'Forget the temporary AWS credentials dbtunnel keeps between runs (assume-role, MFA)',
  positionalOptions: {},
  options: { profile: { type: 'string', describe: "Only this profile's" } },
  async run(a, { term }) {
    const { clearCachedCredentials } = await import('../../aws/credential-cache.js');
    const kept = await clearCachedCredentials(a.profile);
    if (kept === 0)
      term.info(a.profile ? `No credentials of profile ${a.profile} were cached.` : 'No credentials were cached.');
    else
      term.success(
        a.profile
          ? `forgot the cached credentials of profile ${a.profile}`
          : `forgot the cached credentials of ${kept} profile${kept === 1 ? '' : 's'}`,
      );
    return EXIT.ok;
  },
});
