// The options several commands share, declared once: where the AWS side is (a target), and how a
// tunnel is held. `up` takes the tunnel's options but those that make no sense in the background.
import { TunnelError } from '../../errors.js';
import { INSTANCE_ID_PATTERN, type ReconnectMode, SESSION_CLIENTS, type SessionClientChoice } from '../../model.js';

export const TARGET_OPTIONS = {
  profile: { type: 'string', describe: 'AWS profile (overrides the config)' },
  region: { type: 'string', describe: 'AWS region (overrides the config)' },
  instance: { type: 'string', describe: 'Use this bastion instance id instead of looking it up' },
} as const;

/** The options of a tunnel (`dbtunnel <env> [db…]`, the default command). */
export const TUNNEL_OPTIONS = {
  ...TARGET_OPTIONS,
  all: { type: 'boolean', default: false, describe: 'Every database of the environment' },
  timeout: { type: 'number', default: 30, describe: 'Seconds to wait for each tunnel to open' },
  json: { type: 'boolean', default: false, describe: 'One JSON event per line (ready, ended, error…), nothing else' },
  quiet: { alias: 'q', type: 'boolean', default: false, describe: 'Print only errors' },
  yes: {
    alias: 'y',
    type: 'boolean',
    default: false,
    describe: 'Open an environment marked confirm: true without asking',
  },
  'dry-run': { type: 'boolean', default: false, describe: 'Print the equivalent aws CLI commands; start nothing' },
  reconnect: {
    choices: ['always', 'on-failure', 'never'],
    describe: 'When a session ends unasked (default: always on a terminal, else on-failure)',
  },
  'max-reconnects': { type: 'number', default: 10, describe: 'Reconnect attempts per outage' },
  'session-client': {
    choices: SESSION_CLIENTS,
    describe:
      'Which session client carries the tunnels ' +
      "(default auto: session-manager-plugin when installed, else dbtunnel's own)",
  },
  'legacy-plugin': {
    type: 'boolean',
    default: false,
    describe: 'Allow session-manager-plugin ≤ 1.2.497.0 (the session token goes on its command line)',
  },
} as const;

/** What the default command and `up` both hand on of their parsed options. */
export function tunnelTarget(a: {
  env: string;
  dbs?: (string | number)[] | undefined;
  all: boolean;
  config?: string | undefined;
  profile?: string | undefined;
  region?: string | undefined;
  instance?: string | undefined;
  yes: boolean;
  timeout: number;
  reconnect?: ReconnectMode | undefined;
  maxReconnects: number;
  sessionClient?: SessionClientChoice | undefined;
}) {
  return {
    env: a.env,
    dbs: (a.dbs ?? []).map(String),
    all: a.all,
    config: a.config,
    profile: a.profile,
    region: a.region,
    instance: a.instance,
    yes: a.yes,
    timeout: a.timeout,
    reconnect: a.reconnect,
    maxReconnects: a.maxReconnects,
    sessionClient: a.sessionClient,
  };
}

/** --instance, when given, is an instance id. */
export function instanceProblem(instance: string | undefined): string | undefined {
  return instance !== undefined && !INSTANCE_ID_PATTERN.test(instance)
    ? `--instance must be an instance id such as i-0abc1234def567890 (got "${instance}").`
    : undefined;
}

/** A usage error for a handler's own check that comes too late for yargs' .check(). */
export function usage(message: string, hint?: string): TunnelError {
  return new TunnelError('usage', message, hint === undefined ? {} : { hint });
}
