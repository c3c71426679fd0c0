import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configCacheFile, configDigest, configSearchPath, findConfig, loadConfig, rememberedConfig } from '../../src/config/load.js';
import { mergeConfig } from '../../src/config/validate.js';
import { resolvePlan } from '../../src/config/resolve.js';
import { TunnelError } from '../../src/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbtunnel-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(text: string, local?: string): Promise<ReturnType<typeof loadConfig>> {
  const file = path.join(dir, 'dbtunnel.yaml');
  await writeFile(file, text);
  if (local !== undefined) await writeFile(path.join(dir, 'dbtunnel.local.yaml'), local);
  return loadConfig({ file, via: '--config' });
}

async function problem(text: string, local?: string): Promise<TunnelError> {
  try {
    await load(text, local);
  } catch (e) {
    expect(e).toBeInstanceOf(TunnelError);
    expect((e as TunnelError).exitCode).toBe(10);
    return e as TunnelError;
  }
  throw new Error('expected a config error');
}

const GOOD = `environments:
  stg:
    profile: stg
    region: ap-northeast-1
    bastion: bastion-db-maintenance
    databases:
      mydb:
        host: mydb.cluster-xxxx.ap-northeast-1.rds.amazonaws.com
        port: 3306
        localPort: 13306
      reportdb:
        host: report.internal
        port: 5432
`;

describe('where the config is found', () => {
  it('here and each parent (dbtunnel.yaml, then .dbtunnel.yaml), then XDG_CONFIG_HOME', () => {
    expect(configSearchPath('/a/b', { XDG_CONFIG_HOME: '/xdg' }, '/home/u')).toEqual([
      '/a/b/dbtunnel.yaml', '/a/b/.dbtunnel.yaml', '/a/dbtunnel.yaml', '/a/.dbtunnel.yaml', '/dbtunnel.yaml', '/.dbtunnel.yaml', '/xdg/dbtunnel/config.yaml',
    ]);
    expect(configSearchPath('/', {}, '/home/u').at(-1)).toBe('/home/u/.config/dbtunnel/config.yaml');
  });

  it('--config wins over DBTUNNEL_CONFIG, which wins over the search', async () => {
    expect(await findConfig({ flag: 'x.yaml', env: { DBTUNNEL_CONFIG: '/y.yaml' }, cwd: '/w', home: '/h' })).toEqual({ file: '/w/x.yaml', via: '--config' });
    expect(await findConfig({ flag: undefined, env: { DBTUNNEL_CONFIG: '/y.yaml' }, cwd: '/w', home: '/h' })).toEqual({ file: '/y.yaml', via: 'DBTUNNEL_CONFIG' });
  });

  it('finds a team file in a parent directory', async () => {
    await writeFile(path.join(dir, '.dbtunnel.yaml'), GOOD);
    const sub = path.join(dir, 'a', 'b');
    await mkdir(sub, { recursive: true });
    expect((await findConfig({ flag: undefined, env: {}, cwd: sub, home: dir })).file).toBe(path.join(dir, '.dbtunnel.yaml'));
  });

  it('says where it looked when there is none, and how to make one', async () => {
    const e = await findConfig({ flag: undefined, env: { XDG_CONFIG_HOME: path.join(dir, 'x') }, cwd: dir, home: dir }).catch((err: unknown) => err);
    expect(e).toMatchObject({ kind: 'config', message: 'No dbtunnel config found.' });
    expect((e as TunnelError).hint).toMatch(/^dbtunnel init writes one/);
  });
});

describe('loading', () => {
  it('a good file', async () => {
    const { config } = await load(GOOD);
    expect(config.environments.stg!.databases.mydb).toEqual({ host: 'mydb.cluster-xxxx.ap-northeast-1.rds.amazonaws.com', port: 3306, localPort: 13306 });
  });

  it('merges dbtunnel.local.yaml over it, key by key', async () => {
    const { config, localFile } = await load(GOOD, 'environments:\n  stg:\n    profile: my-stg\n    databases:\n      mydb:\n        localPort: 23306\n');
    expect(localFile).toBe(path.join(dir, 'dbtunnel.local.yaml'));
    expect(config.environments.stg!.profile).toBe('my-stg');
    expect(config.environments.stg!.region).toBe('ap-northeast-1');
    expect(config.environments.stg!.databases.mydb).toMatchObject({ port: 3306, localPort: 23306 });
    expect(mergeConfig({ a: { b: 1, c: [1] } }, { a: { c: [2] } })).toEqual({ a: { b: 1, c: [2] } });
  });

  it('a YAML syntax error names its line', async () => {
    const e = await problem('environments:\n  stg:\n    bastion: [unclosed\n    databases: {}\n');
    expect(e.message).toMatch(/dbtunnel\.yaml:\d+: this is not valid YAML/);
  });

  it('a duplicate key names its line', async () => {
    const e = await problem('environments:\n  stg:\n    bastion: a\n    bastion: b\n');
    expect(e.message).toMatch(/dbtunnel\.yaml:4: this is not valid YAML/);
  });

  it('a port of 99999: file, line, key path, what is allowed, what it got', async () => {
    const e = await problem(GOOD.replace('port: 3306', 'port: 99999'));
    expect(e.details[0]).toMatch(/dbtunnel\.yaml:9: environments\.stg\.databases\.mydb\.port must be a port number from 1 to 65535 \(got 99999\)/);
  });

  it('a port that is a string', async () => {
    const e = await problem(GOOD.replace('port: 3306', 'port: "3306"'));
    expect(e.details[0]).toMatch(/:9: environments\.stg\.databases\.mydb\.port must be a port number/);
  });

  it('a missing host names the database it belongs to', async () => {
    const e = await problem(GOOD.replace('        host: report.internal\n', ''));
    expect(e.details[0]).toMatch(/dbtunnel\.yaml:11: environments\.stg\.databases\.reportdb\.host is missing/);
  });

  it('an unknown key, with "did you mean"', async () => {
    const e = await problem(GOOD.replace('localPort: 13306', 'localport: 13306'));
    expect(e.details[0]).toMatch(/:10: environments\.stg\.databases\.mydb\.localport is not a known key \(did you mean "localPort"\?/);
  });

  it('a host Session Manager would reject', async () => {
    const e = await problem(GOOD.replace('host: report.internal', 'host: "db;rm -rf"'));
    expect(e.details[0]).toMatch(/reportdb\.host must be at least 3 characters with none of/);
  });

  it('two databases with one local port', async () => {
    const e = await problem(GOOD.replace('        port: 5432\n', '        port: 5432\n        localPort: 13306\n'));
    expect(e.details[0]).toMatch(/:14: environments\.stg\.databases\.reportdb\.localPort is 13306, the same as databases\.mydb\.localPort/);
  });

  it('a bastion of the wrong shape', async () => {
    const e = await problem(GOOD.replace('bastion: bastion-db-maintenance', 'bastion: {instance: i-0abc}'));
    expect(e.details.join('\n')).toMatch(/:5: environments\.stg\.bastion must be a Name tag/);
  });

  it('an error in the local file names the local file', async () => {
    const e = await problem(GOOD, 'environments:\n  stg:\n    databases:\n      mydb:\n        localPort: -1\n');
    expect(e.details[0]).toMatch(/dbtunnel\.local\.yaml:5: environments\.stg\.databases\.mydb\.localPort/);
  });

  it('an empty file, a directory, a missing file, an unreadable file', async () => {
    expect((await problem('  \n')).message).toMatch(/is empty/);
    await mkdir(path.join(dir, 'd'));
    await expect(loadConfig({ file: path.join(dir, 'd'), via: '--config' })).rejects.toThrow(/is a directory/);
    await expect(loadConfig({ file: path.join(dir, 'nope.yaml'), via: '--config' })).rejects.toThrow(/does not exist \(from --config\)/);
    if (process.getuid?.() !== 0) {
      await writeFile(path.join(dir, 'secret.yaml'), GOOD);
      await chmod(path.join(dir, 'secret.yaml'), 0);
      await expect(loadConfig({ file: path.join(dir, 'secret.yaml'), via: '--config' })).rejects.toThrow(/permission denied/);
    }
  });
});

describe('resolving env and databases', () => {
  async function config() {
    return (await load(GOOD + '  prd:\n    bastion: {instanceId: i-0abc1234def567890}\n    databases:\n      main: {host: main.internal, port: 5432}\n')).config;
  }

  it('flags win over the config', async () => {
    const plan = resolvePlan(await config(), { env: 'stg', dbs: ['mydb'], profile: 'admin', region: 'eu-west-1' }, 'dbtunnel.yaml');
    expect(plan).toMatchObject({ profile: 'admin', region: 'eu-west-1', bastion: { kind: 'name', name: 'bastion-db-maintenance' } });
    expect(plan.tunnels).toEqual([{ env: 'stg', db: 'mydb', host: 'mydb.cluster-xxxx.ap-northeast-1.rds.amazonaws.com', port: 3306, localPort: 13306 }]);
  });

  it('the SDK decides what neither sets', async () => {
    expect(resolvePlan(await config(), { env: 'prd', dbs: [] }, 'c')).toMatchObject({ profile: undefined, region: undefined, bastion: { kind: 'instance', instanceId: 'i-0abc1234def567890' } });
  });

  it('--instance overrides the lookup', async () => {
    expect(resolvePlan(await config(), { env: 'stg', dbs: ['mydb'], instance: 'i-0123456789abcdef0' }, 'c').bastion).toEqual({ kind: 'instance', instanceId: 'i-0123456789abcdef0', from: '--instance' });
  });

  it('an unknown environment lists those that exist and guesses', async () => {
    try {
      resolvePlan(await config(), { env: 'sgt', dbs: [] }, 'dbtunnel.yaml');
      expect.unreachable();
    } catch (e) {
      const err = e as TunnelError;
      expect(err.exitCode).toBe(11);
      expect(err.details).toEqual(['Environments: stg, prd']);
      expect(err.hint).toBe('Did you mean "stg"?');
    }
  });

  it('an unknown database lists those that exist', async () => {
    expect(() => resolvePlan(GOOD_CONFIG!, { env: 'stg', dbs: ['mydbb'] }, 'c')).toThrowError(/There is no database "mydbb"/);
  });

  it('one database needs no name; several do', async () => {
    const c = await config();
    expect(resolvePlan(c, { env: 'prd', dbs: [] }, 'c').tunnels.map((t) => t.db)).toEqual(['main']);
    expect(() => resolvePlan(c, { env: 'stg', dbs: [] }, 'c')).toThrowError(/Which database of "stg"\?/);
  });
});

let GOOD_CONFIG: Awaited<ReturnType<typeof loadConfig>>['config'] | undefined;
beforeEach(async () => {
  const d = await mkdtemp(path.join(os.tmpdir(), 'dbtunnel-config-'));
  await writeFile(path.join(d, 'c.yaml'), GOOD);
  GOOD_CONFIG = (await loadConfig({ file: path.join(d, 'c.yaml'), via: '--config' })).config;
  await rm(d, { recursive: true });
});

describe('reserved names', () => {
  it('an environment cannot be named like a dbtunnel command', async () => {
    const d = await mkdtemp(path.join(os.tmpdir(), 'dbtunnel-config-'));
    await writeFile(path.join(d, 'c.yaml'), GOOD.replace('  stg:', '  doctor:'));
    try {
      await expect(loadConfig({ file: path.join(d, 'c.yaml'), via: '--config' })).rejects.toThrow(TunnelError);
      await loadConfig({ file: path.join(d, 'c.yaml'), via: '--config' }).catch((e: TunnelError) => {
        expect(e.details[0]).toMatch(/c\.yaml:2: environments\.doctor is a dbtunnel command/);
      });
    } finally {
      await rm(d, { recursive: true });
    }
  });
});

describe('a config found valid is remembered', () => {
  const store = () => path.join(dir, 'cache', 'config.json');
  const at = () => ({ file: path.join(dir, 'dbtunnel.yaml'), via: '--config' as const });

  it('is taken as remembered while its text is the same, and read afresh once edited', async () => {
    await writeFile(at().file, GOOD);
    const first = await loadConfig(at(), store());
    expect(first.remembered).toBe(false);
    const again = await loadConfig(at(), store());
    expect(again).toEqual({ ...first, remembered: true });
    expect((await stat(store())).mode & 0o777).toBe(0o600);

    await writeFile(at().file, GOOD.replace('localPort: 13306', 'localPort: 13307'));
    const edited = await loadConfig(at(), store());
    expect(edited.remembered).toBe(false);
    expect(edited.config.environments.stg!.databases.mydb!.localPort).toBe(13307);

    // An edit that breaks it is reported as ever, even though an earlier text was remembered.
    await writeFile(at().file, GOOD.replace('port: 3306', 'port: 99999'));
    const broken = await loadConfig(at(), store()).catch((e: TunnelError) => e);
    expect((broken as TunnelError).details[0]).toMatch(/dbtunnel\.yaml:9: environments\.stg\.databases\.mydb\.port must be a port number/);
  });

  it('counts the per-person file: adding, changing or removing it validates again', async () => {
    await writeFile(at().file, GOOD);
    await loadConfig(at(), store());
    const local = path.join(dir, 'dbtunnel.local.yaml');
    await writeFile(local, 'environments:\n  stg:\n    profile: mine\n');
    const merged = await loadConfig(at(), store());
    expect(merged).toMatchObject({ remembered: false, localFile: local });
    expect(merged.config.environments.stg!.profile).toBe('mine');
    expect((await loadConfig(at(), store())).remembered).toBe(true);
    await writeFile(local, 'environments:\n  stg:\n    profile: 42\n');
    const broken = await loadConfig(at(), store()).catch((e: TunnelError) => e);
    expect((broken as TunnelError).details[0]).toMatch(/dbtunnel\.local\.yaml:3: environments\.stg\.profile/);
    await rm(local);
    const alone = await loadConfig(at(), store());
    expect(alone).toMatchObject({ remembered: false, localFile: undefined });
    expect(alone.config.environments.stg!.profile).toBe('stg');
  });

  it('is keyed by the text of both files and by the code that validated them', () => {
    const base = { file: '/c.yaml', text: GOOD };
    const digest = configDigest('build-1', base, undefined);
    expect(configDigest('build-1', base, undefined)).toBe(digest);
    expect(configDigest('build-2', base, undefined)).not.toBe(digest);
    expect(configDigest('build-1', { ...base, text: `${GOOD}\n` }, undefined)).not.toBe(digest);
    expect(configDigest('build-1', base, { file: '/l.yaml', text: '' })).not.toBe(digest);
    const cache = { '/c.yaml': { digest, config: { environments: {} } } };
    expect(rememberedConfig(cache, '/c.yaml', digest)).toEqual({ environments: {} });
    expect(rememberedConfig(cache, '/c.yaml', configDigest('build-2', base, undefined))).toBeUndefined();
    expect(rememberedConfig(cache, '/other.yaml', digest)).toBeUndefined();
    expect(rememberedConfig({ '/c.yaml': { digest, config: 'not a config' } }, '/c.yaml', digest)).toBeUndefined();
    expect(rememberedConfig('garbage', '/c.yaml', digest)).toBeUndefined();
  });

  it('answers rightly when the cache cannot be read or written, or is not used', async () => {
    await writeFile(at().file, GOOD);
    const blocked = path.join(dir, 'a-file');
    await writeFile(blocked, 'not a directory');
    for (let i = 0; i < 2; i++) expect((await loadConfig(at(), path.join(blocked, 'config.json'))).remembered).toBe(false);
    await mkdir(path.dirname(store()), { recursive: true });
    await writeFile(store(), '{"half":');
    expect((await loadConfig(at(), store())).remembered).toBe(false);
    expect((await loadConfig(at(), store())).remembered).toBe(true);
    expect((await loadConfig(at(), false)).remembered).toBe(false);
  });

  it('lives in the XDG cache directory', () => {
    expect(configCacheFile({ XDG_CACHE_HOME: '/xdg' }, '/home/me')).toBe(path.join('/xdg', 'dbtunnel', 'config.json'));
  });
});
