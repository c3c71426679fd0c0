// A whole test world in a temporary directory: the AWS emulator, a stand-in database, the fake
// plugin on PATH, AWS config and credentials files, a dbtunnel config, and the environment that
// ties them together (nothing from the developer's own AWS setup leaks in).
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { startEchoServer, type EchoServer } from './echo-server.js';
import { DEV_USER, startEmulator, type Emulator, type Scenario } from './emulator.js';
import { trackPid } from './processes.js';

export const FAKE_PLUGIN_DIR = fileURLToPath(new URL('./fake-plugin/', import.meta.url));
export const BASTION_ID = 'i-0abc1234def567890';
export const DB_HOST = 'mydb.cluster-xxxx.ap-northeast-1.rds.amazonaws.com';

export interface PluginRecord {
  argv: string[];
  env: Record<string, string>;
  pid: number;
  ppid: number;
}

export interface World {
  emu: Emulator;
  db: EchoServer;
  dir: string;
  configFile: string;
  /** The environment to run dbtunnel (or the AWS CLI) in. */
  env: Record<string, string>;
  pluginRecords(): Promise<PluginRecord[]>;
  writeConfig(config: unknown): Promise<void>;
  close(): Promise<void>;
}

export interface WorldOptions {
  scenario?: Partial<Scenario>;
  /** The dbtunnel config; default: environment stg with database mydb on the bastion. */
  config?: unknown;
  /** Extra lines for the AWS config file (profiles). */
  awsConfig?: string;
  env?: Record<string, string>;
}

/**
 * Environment stg with database mydb. Tests run in parallel, so by default the system picks each
 * tunnel's local port (localPort 0) rather than all racing for 3306; `{ databasePort: true }`
 * leaves localPort out, as most users do. `also` names more databases on the same host.
 */
export function defaultConfig(opts: { databasePort?: boolean; also?: string[] } = {}): Record<string, unknown> {
  const more = Object.fromEntries((opts.also ?? []).map((db) => [db, { host: DB_HOST, port: 3306, localPort: 0 }]));
  return {
    environments: {
      stg: {
        profile: 'stg',
        region: 'ap-northeast-1',
        bastion: 'bastion-db-maintenance',
        databases: {
          mydb: opts.databasePort ? { host: DB_HOST, port: 3306 } : { host: DB_HOST, port: 3306, localPort: 0 },
          ...more,
        },
      },
    },
  };
}

/** Variables from the developer's machine (or CI: ora turns its spinner off when CI is set) that would change what dbtunnel or the SDK do. */
const SCRUB =
  /^(AWS_|DBTUNNEL_|XDG_|FAKE_PLUGIN_|CI$|NO_COLOR$|FORCE_COLOR$|HTTPS?_PROXY$|https?_proxy$|NO_PROXY$|no_proxy$)/;

export async function createWorld(opts: WorldOptions = {}): Promise<World> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dbtunnel-test-'));
  const db = await startEchoServer();
  const emu = await startEmulator({
    instances: [{ id: BASTION_ID, tags: { Name: 'bastion-db-maintenance' } }],
    network: { [`${DB_HOST}:3306`]: `127.0.0.1:${db.port}` },
    ...opts.scenario,
  });
  const configFile = path.join(dir, 'dbtunnel.yaml');
  await writeFile(
    path.join(dir, 'aws-credentials'),
    `[default]\naws_access_key_id = ${DEV_USER.accessKeyId}\naws_secret_access_key = ${DEV_USER.secretAccessKey}\n\n` +
      `[stg]\naws_access_key_id = ${DEV_USER.accessKeyId}\naws_secret_access_key = ${DEV_USER.secretAccessKey}\n`,
  );
  await writeFile(
    path.join(dir, 'aws-config'),
    `[default]\nregion = ap-northeast-1\n\n[profile stg]\nregion = ap-northeast-1\n\n${opts.awsConfig ?? ''}`,
  );
  const recordDir = path.join(dir, 'plugin-runs');
  await import('node:fs/promises').then((fs) => fs.mkdir(recordDir));
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !SCRUB.test(k)) base[k] = v;
  const env: Record<string, string> = {
    ...base,
    PATH: `${FAKE_PLUGIN_DIR}${path.delimiter}${process.env.PATH ?? ''}`,
    HOME: dir,
    XDG_CONFIG_HOME: path.join(dir, 'xdg-config'),
    AWS_CONFIG_FILE: path.join(dir, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    FAKE_PLUGIN_RECORD_DIR: recordDir,
    NO_COLOR: '1',
    ...emu.endpointEnv(),
    ...opts.env,
  };
  const world: World = {
    emu,
    db,
    dir,
    configFile,
    env,
    async pluginRecords() {
      const files = (await readdir(recordDir)).sort();
      const records = await Promise.all(
        files.map(async (f) => JSON.parse(await readFile(path.join(recordDir, f), 'utf8')) as PluginRecord),
      );
      for (const r of records) trackPid(r.pid);
      return records;
    },
    async writeConfig(config: unknown) {
      await writeFile(configFile, typeof config === 'string' ? config : stringify(config));
    },
    async close() {
      await world.pluginRecords(); // so that a plugin left running by a failed test is killed after it
      await emu.close();
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await world.writeConfig(opts.config ?? defaultConfig());
  return world;
}
