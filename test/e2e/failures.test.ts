// Bad input and refusals: each a clear message, a documented exit code, and nothing half-started.
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { runDbtunnel, startDbtunnel } from '../support/cli.js';
import { roundTrip } from '../support/echo-server.js';
import { BASTION_ID, createWorld, defaultConfig, FAKE_PLUGIN_DIR, type World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const run = (args: string[], env: Record<string, string> = {}) =>
  runDbtunnel(['--config', world!.configFile, ...args], { ...world!.env, ...env });

function holdPort(host: string, port = 0): Promise<net.Server> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen({ host, port }, () => resolve(s));
  });
}

describe('nothing starts when the preflight fails', () => {
  it('--session-client plugin without session-manager-plugin: install steps, exit 12, no session', async () => {
    world = await createWorld();
    const pathWithout = world.env
      .PATH!.split(path.delimiter)
      .filter((d) => path.resolve(d) !== path.resolve(FAKE_PLUGIN_DIR))
      .join(path.delimiter);
    // (auto, the default, uses dbtunnel's own client instead: test/e2e/native.test.ts)
    const r = await run(['stg', 'mydb', '--session-client', 'plugin'], { PATH: pathWithout });
    expect(r.code).toBe(12);
    expect(r.stderr).toMatch(/session-manager-plugin is not installed/);
    expect(r.stderr).toMatch(/Install it: https:\/\/docs\.aws\.amazon\.com/);
    expect(world.emu.callsOf('StartSession')).toHaveLength(0);
  });

  it('a plugin too old for the token outside argv: refused with an upgrade hint, exit 13', async () => {
    world = await createWorld();
    const r = await run(['stg', 'mydb'], { FAKE_PLUGIN_VERSION: '1.2.497.0' });
    expect(r.code).toBe(13);
    expect(r.stderr).toMatch(/session-manager-plugin 1\.2\.497\.0 is too old/);
    expect(r.stderr).toMatch(/--legacy-plugin/);
    expect(world.emu.callsOf('StartSession')).toHaveLength(0);
  });

  it('--legacy-plugin opts into the old argv form, with a warning', async () => {
    world = await createWorld();
    const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb', '--legacy-plugin'], {
      ...world.env,
      FAKE_PLUGIN_VERSION: '1.2.0.0',
    });
    const m = await t.waitFor(/mydb → 127\.0\.0\.1:(\d+)/);
    expect(t.stderr()).toMatch(
      /--legacy-plugin: session-manager-plugin 1\.2\.0\.0 gets the session token on its command line/,
    );
    const [rec] = await world.pluginRecords();
    expect(JSON.parse(rec!.argv[0]!).TokenValue).toBe(world.emu.tokens[0]);
    expect(await roundTrip(Number(m[1]), 'old')).toBe('old');
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });

  it('a plugin below 1.2.835.0: one warning line, and the tunnel opens', async () => {
    world = await createWorld();
    const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb'], {
      ...world.env,
      FAKE_PLUGIN_VERSION: '1.2.707.0',
    });
    await t.waitFor(/mydb → /);
    expect(
      t
        .stderr()
        .split('\n')
        .filter((l) => l.includes('1.2.707.0')),
    ).toHaveLength(1);
    t.child.kill('SIGINT');
    await t.exited;
  });

  it.each(['127.0.0.1', '::1'])('a configured local port in use on %s: names it, exit 14, no session', async (host) => {
    const held = await holdPort(host);
    const port = (held.address() as net.AddressInfo).port;
    const config = defaultConfig() as { environments: { stg: { databases: { mydb: Record<string, unknown> } } } };
    config.environments.stg.databases.mydb.localPort = port;
    world = await createWorld({ config });
    const r = await run(['stg', 'mydb']);
    held.close();
    expect(r.code).toBe(14);
    expect(r.stderr).toContain(
      `Local port ${port} for mydb is already in use (${host.includes(':') ? `[${host}]` : host}:${port})`,
    );
    expect(r.stderr).toMatch(
      /See what holds it: dbtunnel ps \(tunnels up in the background\), or lsof -nP -iTCP:\d+ -sTCP:LISTEN/,
    );
    expect(world.emu.callsOf('StartSession')).toHaveLength(0);
  });

  it('the database port busy locally and no localPort set: the system picks one', async () => {
    const held = await holdPort('127.0.0.1');
    const busy = (held.address() as net.AddressInfo).port;
    const config = defaultConfig({ databasePort: true }) as {
      environments: { stg: { databases: { mydb: Record<string, unknown> } } };
    };
    world = await createWorld({ config });
    config.environments.stg.databases.mydb.port = busy;
    world.emu.scenario.network = {
      [`${String(config.environments.stg.databases.mydb.host)}:${busy}`]: `127.0.0.1:${world.db.port}`,
    };
    await world.writeConfig(config);
    const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb'], world.env);
    const m = await t.waitFor(/mydb → 127\.0\.0\.1:(\d+)/);
    held.close();
    expect(Number(m[1])).not.toBe(busy);
    expect(await roundTrip(Number(m[1]), 'picked')).toBe('picked');
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });
});

describe('a local port taken between the check and the plugin binding it', () => {
  it('a default port: the session is ended and the tunnel opens on a port the system picks', async () => {
    // A database port that is free here, so that dbtunnel's default is to use it.
    const freeNow = await holdPort('127.0.0.1');
    const dbPort = (freeNow.address() as net.AddressInfo).port;
    await new Promise((r) => freeNow.close(r));
    const config = defaultConfig({ databasePort: true }) as {
      environments: { stg: { databases: { mydb: Record<string, unknown> } } };
    };
    config.environments.stg.databases.mydb.port = dbPort;
    world = await createWorld({ config });
    world.emu.scenario.network = {
      [`${String(config.environments.stg.databases.mydb.host)}:${dbPort}`]: `127.0.0.1:${world.db.port}`,
    };
    const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb'], {
      ...world.env,
      FAKE_PLUGIN_BUSY_PORTS: String(dbPort),
    });
    const m = await t.waitFor(/mydb → 127\.0\.0\.1:(\d+)/);
    expect(Number(m[1])).not.toBe(dbPort);
    expect(await roundTrip(Number(m[1]), 'second try')).toBe('second try');
    const starts = world.emu.callsOf('StartSession');
    expect(starts.map((c) => (c.input.Parameters as Record<string, string[]>).localPortNumber![0])).toEqual([
      String(dbPort),
      m[1],
    ]);
    // The first session was ended before the second began.
    expect(world.emu.callsOf('TerminateSession')).toHaveLength(1);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
    expect(world.emu.activeSessions()).toHaveLength(0);
  });

  it('a configured port: an error naming it, exit 14, the session ended', async () => {
    const config = defaultConfig() as { environments: { stg: { databases: { mydb: Record<string, unknown> } } } };
    config.environments.stg.databases.mydb.localPort = 23306;
    world = await createWorld({ config });
    const r = await run(['stg', 'mydb'], { FAKE_PLUGIN_BUSY_PORTS: '23306' });
    expect(r.code).toBe(14);
    expect(r.stderr).toContain('Local port 23306 for mydb is already in use (127.0.0.1:23306)');
    expect(world.emu.callsOf('StartSession')).toHaveLength(1);
    expect(world.emu.activeSessions()).toHaveLength(0);
  });
});

describe('finding the bastion', () => {
  it('none running: says which are stopped, exit 21', async () => {
    world = await createWorld({
      scenario: { instances: [{ id: BASTION_ID, tags: { Name: 'bastion-db-maintenance' }, state: 'stopped' }] },
    });
    const r = await run(['stg', 'mydb']);
    expect(r.code).toBe(21);
    expect(r.stderr).toContain(
      'No running instance is tagged Name=bastion-db-maintenance in ap-northeast-1 (profile stg).',
    );
    expect(r.stderr).toContain(`${BASTION_ID} (stopped)`);
    expect(r.stderr).toContain(`aws ec2 start-instances --instance-ids ${BASTION_ID}`);
    expect(world.emu.callsOf('StartSession')).toHaveLength(0);
  });

  it('several: the Online one wins over a newer one, and dbtunnel says why', async () => {
    world = await createWorld({
      scenario: {
        instances: [
          {
            id: 'i-0aaaaaaaaaaaaaaa1',
            tags: { Name: 'bastion-db-maintenance' },
            launchTime: '2026-05-01T00:00:00.000Z',
            ping: 'ConnectionLost',
          },
          { id: BASTION_ID, tags: { Name: 'bastion-db-maintenance' }, launchTime: '2026-01-01T00:00:00.000Z' },
        ],
      },
    });
    const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb'], world.env);
    await t.waitFor(/mydb → /);
    expect(t.stderr()).toContain(`✔ bastion ${BASTION_ID}`);
    expect(t.stderr()).toContain(
      '2 running instances are tagged Name=bastion-db-maintenance; the only one Session Manager reports Online',
    );
    expect(world.emu.callsOf('DescribeInstanceInformation')).toHaveLength(1);
    t.child.kill('SIGINT');
    await t.exited;
  });

  it('several, DescribeInstanceInformation denied: says so once and picks the newest', async () => {
    world = await createWorld({
      scenario: {
        instances: [
          {
            id: 'i-0aaaaaaaaaaaaaaa1',
            tags: { Name: 'bastion-db-maintenance' },
            launchTime: '2025-05-01T00:00:00.000Z',
          },
          { id: BASTION_ID, tags: { Name: 'bastion-db-maintenance' }, launchTime: '2026-01-01T00:00:00.000Z' },
        ],
        failures: {
          DescribeInstanceInformation: {
            code: 'AccessDeniedException',
            message:
              'User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ssm:DescribeInstanceInformation on resource: arn:aws:ssm:ap-northeast-1:123456789012:* because no identity-based policy allows the ssm:DescribeInstanceInformation action',
          },
        },
      },
    });
    const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb'], world.env);
    await t.waitFor(/mydb → /);
    expect(t.stderr()).toContain(`✔ bastion ${BASTION_ID}`);
    expect(t.stderr().match(/Not allowed to call ssm:DescribeInstanceInformation/g)).toHaveLength(1);
    t.child.kill('SIGINT');
    await t.exited;
  });

  it('by other tags', async () => {
    const config = defaultConfig() as { environments: { stg: Record<string, unknown> } };
    config.environments.stg.bastion = { tags: { Role: 'bastion', Team: 'db' } };
    world = await createWorld({
      config,
      scenario: {
        instances: [
          { id: BASTION_ID, tags: { Role: 'bastion', Team: 'db' } },
          { id: 'i-0aaaaaaaaaaaaaaa1', tags: { Role: 'bastion', Team: 'web' } },
        ],
      },
    });
    const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb'], world.env);
    await t.waitFor(/mydb → /);
    expect(world.emu.callsOf('StartSession')[0]!.input.Target).toBe(BASTION_ID);
    t.child.kill('SIGINT');
    await t.exited;
  });

  it('{instanceId} in the config and --instance skip the lookup', async () => {
    const config = defaultConfig() as { environments: { stg: Record<string, unknown> } };
    config.environments.stg.bastion = { instanceId: BASTION_ID };
    world = await createWorld({ config, scenario: { instances: [{ id: BASTION_ID }, { id: 'i-0aaaaaaaaaaaaaaa1' }] } });
    for (const extra of [[], ['--instance', 'i-0aaaaaaaaaaaaaaa1']]) {
      const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb', ...extra], world.env);
      await t.waitFor(/mydb → /);
      t.child.kill('SIGINT');
      await t.exited;
    }
    expect(world.emu.callsOf('DescribeInstances')).toHaveLength(0);
    expect(world.emu.callsOf('StartSession').map((c) => c.input.Target)).toEqual([BASTION_ID, 'i-0aaaaaaaaaaaaaaa1']);
  });
});

describe('AWS says no', () => {
  it('TargetNotConnected: the agent, instance profile and region, exit 23', async () => {
    world = await createWorld({
      scenario: { instances: [{ id: BASTION_ID, tags: { Name: 'bastion-db-maintenance' }, ping: 'ConnectionLost' }] },
    });
    const r = await run(['stg', 'mydb']);
    expect(r.code).toBe(23);
    expect(r.stderr).toContain(`The bastion ${BASTION_ID} is not connected to Session Manager.`);
    expect(r.stderr).toContain(`AWS said: ${BASTION_ID} is not connected.`);
    expect(r.stderr).toMatch(/AmazonSSMManagedInstanceCore/);
  });

  it('TargetNotConnected on a bastion that just booted: tried again with backoff until it connects', async () => {
    world = await createWorld({
      scenario: {
        instances: [
          {
            id: BASTION_ID,
            tags: { Name: 'bastion-db-maintenance' },
            launchTime: new Date().toISOString(),
            ping: 'ConnectionLost',
          },
        ],
      },
    });
    const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb', '--debug'], world.env);
    await t.waitFor(/TargetNotConnected on a bastion launched .*: retry 1 in 2000 ms/);
    world.emu.scenario.instances![0]!.ping = 'Online'; // the agent has registered
    await t.waitFor(/mydb → /);
    expect(world.emu.callsOf('StartSession').length).toBeGreaterThanOrEqual(2);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });

  it("AccessDenied on StartSession: AWS's words are kept, exit 22, no plugin", async () => {
    const text =
      'User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ssm:StartSession on resource: arn:aws:ssm:ap-northeast-1::document/AWS-StartPortForwardingSessionToRemoteHost because no identity-based policy allows the ssm:StartSession action';
    world = await createWorld({
      scenario: { failures: { StartSession: { code: 'AccessDeniedException', message: text } } },
    });
    const r = await run(['stg', 'mydb']);
    expect(r.code).toBe(22);
    expect(r.stderr).toContain(text);
    expect(await world.pluginRecords()).toHaveLength(0);
  });

  it.each([
    ['ThrottlingException', 'Rate exceeded', 27, /AWS is throttling requests/],
    [
      'InvalidDocument',
      'Document with name AWS-StartPortForwardingSessionToRemoteHost does not exist.',
      28,
      /rejected the port-forwarding document/,
    ],
  ])('%s: its own explanation, exit %i', async (code, message, exit, says) => {
    world = await createWorld({ scenario: { failures: { StartSession: { code, message } } } });
    const r = await run(['stg', 'mydb']);
    expect(r.code).toBe(exit);
    expect(r.stderr).toMatch(says);
    expect(r.stderr).toContain(`AWS said: ${message}`);
  });

  it('credentials AWS does not know: exit 20', async () => {
    world = await createWorld();
    const r = await run(['stg', 'mydb'], { AWS_SHARED_CREDENTIALS_FILE: path.join(world.dir, 'none') });
    expect(r.code).toBe(20);
    expect(r.stderr).toMatch(/Could not load AWS credentials for profile stg/);
  });

  it('expired credentials: says how to log in again, exit 20', async () => {
    world = await createWorld({
      scenario: {
        principals: [
          {
            accessKeyId: 'AKIAEMULATORDEV00001',
            secretAccessKey: 'x',
            arn: 'arn:aws:iam::123456789012:user/dev',
            userId: 'AIDA',
            expired: true,
          },
        ],
      },
    });
    const r = await run(['stg', 'mydb']);
    expect(r.code).toBe(20);
    expect(r.stderr).toMatch(/credentials have expired/);
    expect(r.stderr).toContain('aws sso login --profile stg');
  });

  it('no region anywhere: says where to set one, exit 10', async () => {
    const config = defaultConfig() as { environments: { stg: Record<string, unknown> } };
    delete config.environments.stg.region;
    delete config.environments.stg.profile;
    world = await createWorld({ config });
    const r = await run(['stg', 'mydb'], { AWS_CONFIG_FILE: path.join(world.dir, 'none') });
    expect(r.code).toBe(10);
    expect(r.stderr).toMatch(/No AWS region is set/);
    expect(r.stderr).toMatch(/--region/);
  });
});

describe('what the user typed', () => {
  it('a config error: file, line, key path, exit 10, no AWS call', async () => {
    world = await createWorld();
    await world.writeConfig(
      'environments:\n  stg:\n    bastion: b\n    databases:\n      mydb: {host: mydb.internal, port: 99999}\n',
    );
    const r = await run(['stg', 'mydb']);
    expect(r.code).toBe(10);
    expect(r.stderr).toMatch(
      /dbtunnel\.yaml:5: environments\.stg\.databases\.mydb\.port must be a port number from 1 to 65535 \(got 99999\)/,
    );
    expect(world.emu.calls).toHaveLength(0);
  });

  it('an unknown environment: lists those there are, exit 11', async () => {
    world = await createWorld();
    const r = await run(['stag', 'mydb']);
    expect(r.code).toBe(11);
    expect(r.stderr).toContain('There is no environment "stag"');
    expect(r.stderr).toContain('Environments: stg');
    expect(r.stderr).toContain('Did you mean "stg"?');
  });

  it('an unknown flag or a bad --timeout: usage error, exit 2', async () => {
    world = await createWorld();
    const typo = await run(['stg', 'mydb', '--tiemout', '3']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('Unknown option: --tiemout.');
    expect(typo.stderr).toContain('Did you mean --timeout?');
    const r = await run(['stg', 'mydb', '--timeout', 'soon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--timeout must be a number of seconds above 0 (got "soon").');
  });

  it('an option without its value, or with one it cannot take: usage error, exit 2, nothing started', async () => {
    world = await createWorld();
    // yargs alone would take `--profile` as an empty profile: the config's profile silently not used.
    for (const [args, said] of [
      [['stg', 'mydb', '--profile'], '--profile needs a value.'],
      [['stg', '--profile', '--all'], '--profile needs a value.'],
      [['stg', 'mydb', '--timeout'], '--timeout needs a value.'],
      [['stg', 'mydb', '--timeout', '1e9'], '--timeout must be at most 2147483 seconds, about 24 days (got 1e9).'],
      [['up', 'stg', 'mydb', '--timeout', '0'], '--timeout must be a number of seconds above 0 (got 0).'],
      [['stg', 'mydb', '--max-reconnects', 'many'], '--max-reconnects must be a whole number, 0 or more (got "many").'],
      [
        ['stg', 'mydb', '--reconnect', 'sometimes'],
        '--reconnect must be always, on-failure or never (got "sometimes").',
      ],
      [['doctor', '--profile', 'stg'], 'Which environment?\n  → Run: dbtunnel doctor <env> [db…]'],
    ] as const) {
      const r = await run([...args]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain(said);
    }
    expect(world.emu.calls).toHaveLength(0);
  });

  it('a single-value option given twice, or a value too long to mean anything: usage error, exit 2', async () => {
    world = await createWorld();
    // Each of these was "Unexpected error … This is a bug", or silently the profile "a,b".
    for (const [args, said] of [
      [['--config', 'a.yaml', 'stg', 'mydb'], '--config was given twice'],
      [['logout', '--profile', 'a', '--profile', 'b'], '--profile was given twice ("a", "b"): give it once.'],
      [['stg', 'mydb', '--profile', 'a', '--profile', 'b'], '--profile was given twice ("a", "b"): give it once.'],
      [['stg', 'mydb', '--timeout', '5', '--timeout', '6'], '--timeout was given twice ("5", "6"): give it once.'],
      [['logout', '--profile', 'p'.repeat(100_000)], '--profile is 100000 characters long: at most 256 can be meant'],
      [
        ['stg', 'mydb', '--profile', 'p'.repeat(100_000)],
        '--profile is 100000 characters long: at most 256 can be meant',
      ],
    ] as const) {
      const r = await run([...args]);
      expect({ args: args.map((a) => a.slice(0, 20)), code: r.code }).toEqual({
        args: args.map((a) => a.slice(0, 20)),
        code: 2,
      });
      expect(r.stderr).toContain(said);
      expect(r.stderr).not.toContain('bug');
    }
    expect(world.emu.calls).toHaveLength(0);
  });

  it('control characters from the command line or the config are shown, not obeyed', async () => {
    world = await createWorld();
    const title = await run(['stg', '\u001b]0;pwn\u0007']);
    expect(title.code).toBe(11);
    expect(title.stderr).toContain('There is no database "\\x1b]0;pwn\\x07"');
    const config = defaultConfig() as { environments: { stg: { databases: Record<string, { host: string }> } } };
    config.environments.stg.databases.mydb!.host = 'db\u001bc.internal';
    await world.writeConfig(config);
    const list = await run(['list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('db\\x1bc.internal:3306');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
    for (const r of [title, list]) expect(r.stdout + r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });

  it("a new user's first steps: no config leads to init, a mistyped command is named, sessions without an environment says what it needs", async () => {
    world = await createWorld();
    const bare = {
      ...world.env,
      HOME: path.join(world.dir, 'empty-home'),
      XDG_CONFIG_HOME: path.join(world.dir, 'empty-home', '.config'),
    };
    const first = await runDbtunnel([], bare, { cwd: '/' });
    expect(first.code).toBe(10);
    expect(first.stderr).toContain('No dbtunnel config found.');
    expect(first.stderr).toContain('→ Run dbtunnel init: it asks what to put in a config and writes one.');
    const noEnv = await run([]);
    expect(noEnv.code).toBe(2);
    expect(noEnv.stderr).toContain('Which environment?\n  Environments: stg');
    const typo = await run(['lst']);
    expect(typo.code).toBe(11);
    expect(typo.stderr).toContain('Did you mean the command: dbtunnel list?');
    const sessions = await runDbtunnel(['sessions'], { ...world.env, AWS_CONFIG_FILE: path.join(world.dir, 'none') });
    expect(sessions.code).toBe(10);
    expect(sessions.stderr).toContain('No AWS region is set for dbtunnel sessions.');
    expect(sessions.stderr).toContain('Name an environment to use its region (dbtunnel sessions <env>)');
    expect(sessions.stderr).not.toContain('this environment');
    const help = await run(['--help']);
    expect(help.stdout).toContain("dbtunnel stg mydb -- sh -c 'psql -h $DBTUNNEL_HOST -p $DBTUNNEL_PORT'");
  });

  it("a dbtunnel.yaml in a parent directory that others can write to (or that is another user's) is skipped, with a warning saying how to use it", async () => {
    world = await createWorld();
    const shared = path.join(world.dir, 'shared');
    const sub = path.join(shared, 'project');
    await mkdir(sub, { recursive: true });
    // Planted: it would pick another bastion and drop confirm: true.
    const planted = path.join(shared, 'dbtunnel.yaml');
    await writeFile(
      planted,
      stringify({
        environments: { stg: { bastion: 'attacker', databases: { mydb: { host: 'evil.internal', port: 3306 } } } },
      }),
    );
    await chmod(planted, 0o666);
    const personal = path.join(world.env.XDG_CONFIG_HOME!, 'dbtunnel', 'config.yaml');
    await mkdir(path.dirname(personal), { recursive: true });
    await writeFile(personal, await readFile(world.configFile, 'utf8'));
    const r = await runDbtunnel(['stg', 'mydb', '--dry-run'], world.env, { cwd: sub });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Values=bastion-db-maintenance');
    expect(r.stdout).not.toContain('attacker');
    expect(r.stderr).toContain(
      `⚠ Skipped ${planted}: other users can write to it (mode 0666), so it may not be yours. To use it anyway: dbtunnel --config ${planted} …`,
    );
    // Another user's: root can make it so (to anyone else, root's own files are trusted).
    await chmod(planted, 0o644);
    if (process.getuid?.() === 0) {
      await chown(planted, 4242, 4242);
      const other = await runDbtunnel(['stg', 'mydb', '--dry-run'], world.env, { cwd: sub });
      expect(other.stderr).toContain(`⚠ Skipped ${planted}: it belongs to another user (uid 4242)`);
      expect(other.stdout).not.toContain('attacker');
    }
    // Named, it is used: the user chose it.
    const named = await runDbtunnel(['--config', planted, 'stg', 'mydb', '--dry-run'], world.env, { cwd: sub });
    expect(named.stdout).toContain('Values=attacker');
    expect(named.stderr).not.toContain('Skipped');
  });

  it('finds the config in a parent directory with no --config', async () => {
    world = await createWorld();
    const sub = path.join(world.dir, 'src', 'app');
    await import('node:fs/promises').then((fs) => fs.mkdir(sub, { recursive: true }));
    const t = startDbtunnel(['stg', 'mydb'], world.env, { cwd: sub });
    await t.waitFor(/mydb → /);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });
});
