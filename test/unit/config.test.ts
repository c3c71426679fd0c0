import { chmod, lchown, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  configSearchPath,
  findConfig,
  foundFileProblem,
  loadConfig,
  skippedWarning,
  untrustedBecause,
} from '../../src/config/load.js';
import { yamlShape } from '../../src/config/yaml-shape.js';
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
      '/a/b/dbtunnel.yaml',
      '/a/b/.dbtunnel.yaml',
      '/a/dbtunnel.yaml',
      '/a/.dbtunnel.yaml',
      '/dbtunnel.yaml',
      '/.dbtunnel.yaml',
      '/xdg/dbtunnel/config.yaml',
    ]);
    expect(configSearchPath('/', {}, '/home/u').at(-1)).toBe('/home/u/.config/dbtunnel/config.yaml');
  });

  it('--config wins over DBTUNNEL_CONFIG, which wins over the search', async () => {
    expect(await findConfig({ flag: 'x.yaml', env: { DBTUNNEL_CONFIG: '/y.yaml' }, cwd: '/w', home: '/h' })).toEqual({
      file: '/w/x.yaml',
      via: '--config',
    });
    expect(await findConfig({ flag: undefined, env: { DBTUNNEL_CONFIG: '/y.yaml' }, cwd: '/w', home: '/h' })).toEqual({
      file: '/y.yaml',
      via: 'DBTUNNEL_CONFIG',
    });
  });

  it('finds a team file in a parent directory', async () => {
    await writeFile(path.join(dir, '.dbtunnel.yaml'), GOOD);
    const sub = path.join(dir, 'a', 'b');
    await mkdir(sub, { recursive: true });
    expect((await findConfig({ flag: undefined, env: {}, cwd: sub, home: dir })).file).toBe(
      path.join(dir, '.dbtunnel.yaml'),
    );
  });

  it('says where it looked when there is none, and how to make one', async () => {
    const e = await findConfig({
      flag: undefined,
      env: { XDG_CONFIG_HOME: path.join(dir, 'x') },
      cwd: dir,
      home: dir,
    }).catch((err: unknown) => err);
    expect(e).toMatchObject({ kind: 'config', message: 'No dbtunnel config found.' });
    expect((e as TunnelError).hint).toMatch(/^Run dbtunnel init: it asks what to put in a config and writes one\./);
  });
});

describe('loading', () => {
  it('a good file', async () => {
    const { config } = await load(GOOD);
    expect(config.environments.stg!.databases.mydb).toEqual({
      host: 'mydb.cluster-xxxx.ap-northeast-1.rds.amazonaws.com',
      port: 3306,
      localPort: 13306,
    });
  });

  it('merges dbtunnel.local.yaml over it, key by key', async () => {
    const { config, localFile } = await load(
      GOOD,
      'environments:\n  stg:\n    profile: my-stg\n    databases:\n      mydb:\n        localPort: 23306\n',
    );
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
    expect(e.details[0]).toMatch(
      /dbtunnel\.yaml:9: environments\.stg\.databases\.mydb\.port must be a port number from 1 to 65535 \(got 99999\)/,
    );
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
    expect(e.details[0]).toMatch(
      /:10: environments\.stg\.databases\.mydb\.localport is not a known key \(did you mean "localPort"\?/,
    );
  });

  it('a host Session Manager would reject', async () => {
    const e = await problem(GOOD.replace('host: report.internal', 'host: "db;rm -rf"'));
    expect(e.details[0]).toMatch(/reportdb\.host must be at least 3 characters with none of/);
  });

  it('two databases with one local port', async () => {
    const e = await problem(GOOD.replace('        port: 5432\n', '        port: 5432\n        localPort: 13306\n'));
    expect(e.details[0]).toMatch(
      /:14: environments\.stg\.databases\.reportdb\.localPort is 13306, the same as databases\.mydb\.localPort/,
    );
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
    await expect(loadConfig({ file: path.join(dir, 'nope.yaml'), via: '--config' })).rejects.toThrow(
      /does not exist \(from --config\)/,
    );
    if (process.getuid?.() !== 0) {
      await writeFile(path.join(dir, 'secret.yaml'), GOOD);
      await chmod(path.join(dir, 'secret.yaml'), 0);
      await expect(loadConfig({ file: path.join(dir, 'secret.yaml'), via: '--config' })).rejects.toThrow(
        /permission denied/,
      );
    }
  });
});

describe('resolving env and databases', () => {
  async function config() {
    return (
      await load(
        GOOD +
          '  prd:\n    bastion: {instanceId: i-0abc1234def567890}\n    databases:\n      main: {host: main.internal, port: 5432}\n',
      )
    ).config;
  }

  it('flags win over the config', async () => {
    const plan = resolvePlan(
      await config(),
      { env: 'stg', dbs: ['mydb'], profile: 'admin', region: 'eu-west-1' },
      'dbtunnel.yaml',
    );
    expect(plan).toMatchObject({
      profile: 'admin',
      region: 'eu-west-1',
      bastion: { kind: 'name', name: 'bastion-db-maintenance' },
    });
    expect(plan.tunnels).toEqual([
      {
        env: 'stg',
        db: 'mydb',
        host: 'mydb.cluster-xxxx.ap-northeast-1.rds.amazonaws.com',
        port: 3306,
        localPort: 13306,
      },
    ]);
  });

  it('the SDK decides what neither sets', async () => {
    expect(resolvePlan(await config(), { env: 'prd', dbs: [] }, 'c')).toMatchObject({
      profile: undefined,
      region: undefined,
      bastion: { kind: 'instance', instanceId: 'i-0abc1234def567890' },
    });
  });

  it('--instance overrides the lookup', async () => {
    expect(
      resolvePlan(await config(), { env: 'stg', dbs: ['mydb'], instance: 'i-0123456789abcdef0' }, 'c').bastion,
    ).toEqual({ kind: 'instance', instanceId: 'i-0123456789abcdef0', from: '--instance' });
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
    expect(() => resolvePlan(GOOD_CONFIG!, { env: 'stg', dbs: ['mydbb'] }, 'c')).toThrowError(
      /There is no database "mydbb"/,
    );
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

describe("files found by searching are used only when they are the user's own", () => {
  const me = 1000;
  it.each([
    [{ uid: me, mode: 0o100644 }, undefined],
    [{ uid: 0, mode: 0o100644 }, undefined],
    [{ uid: me, mode: 0o100600 }, undefined],
    [{ uid: 1001, mode: 0o100644 }, 'it belongs to another user (uid 1001)'],
    [{ uid: me, mode: 0o100664 }, 'other users can write to it (mode 0664)'],
    [{ uid: me, mode: 0o100646 }, 'other users can write to it (mode 0646)'],
    [{ uid: 0, mode: 0o100666 }, 'other users can write to it (mode 0666)'],
  ])('%o → %s', (st, why) => {
    expect(untrustedBecause(st, me)).toBe(why);
  });

  it('has no rule where there are no user ids (Windows)', () => {
    expect(untrustedBecause({ uid: 1001, mode: 0o100666 }, undefined)).toBeUndefined();
  });

  it('skips a config others can write to, and goes on to the next; says so when none is left', async () => {
    const sub = path.join(dir, 'project', 'sub');
    await mkdir(sub, { recursive: true });
    const planted = path.join(dir, 'project', 'dbtunnel.yaml');
    await writeFile(planted, GOOD);
    await chmod(planted, 0o666);
    const mine = path.join(dir, 'dbtunnel.yaml');
    await writeFile(mine, GOOD);
    const found = await findConfig({
      flag: undefined,
      env: { XDG_CONFIG_HOME: path.join(dir, 'x') },
      cwd: sub,
      home: dir,
    });
    expect(found.file).toBe(mine);
    expect(found.skipped).toEqual([{ file: planted, why: 'other users can write to it (mode 0666)' }]);
    expect(skippedWarning(found.skipped![0]!)).toContain(`To use it anyway: dbtunnel --config ${planted} …`);
    // Named deliberately, it is used.
    expect((await loadConfig({ file: planted, via: '--config' })).config.environments.stg).toBeDefined();
    await rm(mine);
    const e = await findConfig({
      flag: undefined,
      env: { XDG_CONFIG_HOME: path.join(dir, 'x') },
      cwd: sub,
      home: dir,
    }).catch((x: unknown) => x);
    expect((e as TunnelError).details.join('\n')).toContain(
      `Skipped ${planted}: other users can write to it (mode 0666).`,
    );
  });

  it("merges a dbtunnel.local.yaml only when it is the user's own", async () => {
    const file = path.join(dir, 'dbtunnel.yaml');
    await writeFile(file, GOOD);
    const local = path.join(dir, 'dbtunnel.local.yaml');
    await writeFile(local, 'environments:\n  stg:\n    profile: planted\n');
    await chmod(local, 0o666);
    const loaded = await loadConfig({ file, via: '--config' });
    expect(loaded.config.environments.stg!.profile).toBe('stg');
    expect(loaded.localFile).toBeUndefined();
    expect(loaded.skipped).toEqual([{ file: local, why: 'other users can write to it (mode 0666)' }]);
    await chmod(local, 0o644);
    expect((await loadConfig({ file, via: '--config' })).config.environments.stg!.profile).toBe('planted');
  });

  it("a symbolic link found by searching must be the user's too", async () => {
    const target = path.join(dir, 'real.yaml');
    await writeFile(target, GOOD);
    const link = path.join(dir, 'dbtunnel.yaml');
    await symlink(target, link);
    const me = process.getuid!();
    expect(await foundFileProblem(link, me)).toBeUndefined();
    // The link another user's (root may make it so; anyone else is another user to a made-up uid).
    if (me === 0) await lchown(link, 4242, 4242);
    expect(await foundFileProblem(link, me === 0 ? 0 : me + 1)).toMatch(
      /^the link belongs to another user \(uid \d+\)$/,
    );
  });
});

describe('text that is not a config', () => {
  it('a binary file: no junk echoed, the line of the first NUL', async () => {
    const e = await problem(`environments:\n  x: y\n${'\u0000\u0001\u0002junk'.repeat(20000)}`);
    expect(e.message).toMatch(/is not a text file: it has binary data \(a NUL byte on line 3\)/);
    expect(e.message.length + e.details.join('').length).toBeLessThan(300);
  });

  it('text in another encoding', async () => {
    const file = path.join(dir, 'latin1.yaml');
    await writeFile(file, Buffer.concat([Buffer.from('environments:\n  st'), Buffer.from([0xe9]), Buffer.from(':\n')]));
    await expect(loadConfig({ file, via: '--config' })).rejects.toThrow(/is not UTF-8 text \(line 2\)/);
  });

  it('a long junk value is shown as a short excerpt', async () => {
    const e = await problem(GOOD.replace('port: 3306', `port: "${'x'.repeat(70000)}"`));
    expect(e.details[0]).toMatch(/port must be a port number from 1 to 65535 \(got "x{60}…" \(70000 characters\)\)/);
    expect(e.details[0]!.length).toBeLessThan(300);
  });

  it('an unclosed quote is reported on the line where it opens', async () => {
    const text = GOOD.replace('host: report.internal', 'host: "report.internal');
    const e = await problem(text);
    expect(e.message).toMatch(/dbtunnel\.yaml:12: this is not valid YAML: a value opened with " here is never closed/);
  });

  it('aliases that expand without end (a billion laughs)', async () => {
    let bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n';
    for (let i = 0; i < 9; i++) {
      const [p, n] = [String.fromCharCode(97 + i), String.fromCharCode(98 + i)];
      bomb += `${n}: &${n} [${Array(9).fill(`*${p}`).join(',')}]\n`;
    }
    const e = await problem(bomb);
    expect(e.message).toMatch(/dbtunnel\.yaml:2: its YAML aliases \(\*name\) expand to more than 100 copies/);
  });

  it.each([
    [
      '200,000 [',
      '['.repeat(200_000),
      /:1: this is nested far too deep for a dbtunnel config \(it opens more than 64 nested \[ or \{\)/,
    ],
    [
      '- - - … a hundred thousand deep',
      `${'- '.repeat(100_000)}x\n`,
      /:1: this is nested far too deep for a dbtunnel config \(its content starts at column 200001\)/,
    ],
  ])('nesting without end: %s', async (_name, text, says) => {
    const started = Date.now();
    expect((await problem(text)).message).toMatch(says);
    expect(Date.now() - started).toBeLessThan(5000); // refused before the parser recurses (it took 7 s, or aborted)
  });
});

describe('the shape of YAML text, before it is parsed', () => {
  it.each([
    ['a: [1, [2, {b: 3}]]', {}],
    ["a: 'it''s'\nb: \"q\\\"\"", {}],
    ['note: it\'s fine\nx: "[[[["', {}],
    ['a: "open\nb: 1\n', { unclosedQuote: { line: 1, quote: '"' } }],
    ["a: 1\nb: [x, 'open\n", { unclosedQuote: { line: 2, quote: "'" } }],
    ['a: |\n  "not a quote\nb: 1', {}],
    ['a: x # a "comment\n', {}],
    [`${'['.repeat(65)}`, { tooDeep: { line: 1, why: 'it opens more than 64 nested [ or {' } }],
    [`${'['.repeat(64)}${']'.repeat(64)}`, {}],
    [`a:\n${' '.repeat(201)}b: 1`, { tooDeep: { line: 2, why: 'its content starts at column 202' } }],
  ])('%j', (text, shape) => {
    expect(yamlShape(text)).toEqual(shape);
  });
});

describe('a -- command finds each database by name', () => {
  it('names that become the same variables are a config error naming both', async () => {
    const e = await problem(
      GOOD.replace('      reportdb:', '      my-db:\n        host: a.internal\n        port: 1\n      my.db:'),
    );
    expect(e.details.join('\n')).toMatch(
      /environments\.stg\.databases\.my\.db and databases\.my-db both become DBTUNNEL_MY_DB_HOST and DBTUNNEL_MY_DB_PORT/,
    );
  });
});
