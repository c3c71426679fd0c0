// From a validated config and what the user typed to the plan of one run: which AWS profile and
// region, which bastion, which databases. Pure: no I/O, so every rule here is a table test.
import { TunnelError } from '../errors.js';
import { closest } from '../suggest.js';
import type { BastionQuery, EnvironmentPlan, TunnelSpec } from '../model.js';
import { RESERVED_ENVIRONMENT_NAMES, type BastionRef, type Config } from './schema.js';

export type { BastionQuery, EnvironmentPlan, TunnelSpec } from '../model.js';

export interface Selection {
  env: string;
  dbs: string[];
  /** Every database of the environment. */
  all?: boolean | undefined;
  profile?: string | undefined;
  region?: string | undefined;
  instance?: string | undefined;
}

/** A database's part of the variables a `--` command gets: DBTUNNEL_<stem>_HOST, _PORT. Pure. */
export function variableStem(db: string): string {
  return db.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

export function bastionQuery(ref: BastionRef): BastionQuery {
  if (typeof ref === 'string') return { kind: 'name', name: ref };
  if ('instanceId' in ref) return { kind: 'instance', instanceId: ref.instanceId, from: 'config' };
  return { kind: 'tags', tags: ref.tags };
}

export function resolvePlan(config: Config, sel: Selection, configName: string): EnvironmentPlan {
  const envNames = Object.keys(config.environments);
  const env = config.environments[sel.env];
  if (!env) {
    const guess = closest(sel.env, envNames);
    // `dbtunnel lst`: a command mistyped is read as an environment.
    const command = guess ? undefined : closest(sel.env, RESERVED_ENVIRONMENT_NAMES);
    throw new TunnelError('unknownTarget', `There is no environment "${sel.env}" in ${configName}.`, {
      details: [`Environments: ${envNames.join(', ')}`],
      hint: guess
        ? `Did you mean "${guess}"?`
        : command
          ? `Did you mean the command: dbtunnel ${command}?`
          : 'Use one of the environments above, or add it to the config.',
    });
  }
  const dbNames = Object.keys(env.databases);
  let wanted = sel.all ? dbNames : [...new Set(sel.dbs)];
  if (wanted.length === 0) {
    if (dbNames.length !== 1) {
      throw new TunnelError('usage', `Which database of "${sel.env}"?`, {
        details: [`Databases: ${dbNames.join(', ')}`],
        hint: `Run: dbtunnel ${sel.env} ${dbNames[0]}   (or dbtunnel ${sel.env} --all)`,
      });
    }
    wanted = dbNames;
  }
  const tunnels = wanted.map((db): TunnelSpec => {
    const d = env.databases[db];
    if (!d) {
      const guess = closest(db, dbNames);
      throw new TunnelError(
        'unknownTarget',
        `There is no database "${db}" in environment "${sel.env}" of ${configName}.`,
        {
          details: [`Databases of ${sel.env}: ${dbNames.join(', ')}`],
          hint: guess ? `Did you mean "${guess}"?` : 'Use one of the databases above, or add it to the config.',
        },
      );
    }
    return { env: sel.env, db, host: d.host, port: d.port, localPort: d.localPort, engine: d.engine };
  });
  return {
    env: sel.env,
    profile: sel.profile ?? env.profile,
    region: sel.region ?? env.region,
    bastion: sel.instance
      ? { kind: 'instance', instanceId: sel.instance, from: '--instance' }
      : bastionQuery(env.bastion),
    tunnels,
    confirm: env.confirm ?? false,
    reconnect: env.reconnect,
    sessionClient: env.sessionClient,
  };
}
