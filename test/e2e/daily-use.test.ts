// Daily use, end to end: several tunnels, a `--` command, --json and --quiet, engines, the
// production guard, list, alias, completion and --dry-run.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alive, BIN, eventually, runDbtunnel, startDbtunnel } from '../support/cli.js';
import { roundTrip } from '../support/echo-server.js';
import { freePort } from '../support/ports.js';
import { track } from '../support/processes.js';
import { createWorld, DB_HOST, type World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const twoDatabases = (extra: Record<string, unknown> = {}) => ({
  environments: {
    stg: {
      profile: 'stg',
      region: 'ap-northeast-1',
      bastion: 'bastion-db-maintenance',
      ...extra,
      databases: {
        mydb: { host: DB_HOST, port: 3306, localPort: 0 },
        'report-db': { host: DB_HOST, port: 3306, localPort: 0, engine: 'postgres' },
      },
    },
  },
});

describe('several tunnels', () => {
  it('--all: one lookup, a session each, one summary; Ctrl-C closes all', async () => {
    world = await createWorld({ config: twoDatabases() });
    const t = startDbtunnel(['--config', world.configFile, 'stg', '--all'], world.env);
    await t.waitFor(/2 tunnels open: mydb → 127\.0\.0\.1:\d+, report-db → 127\.0\.0\.1:\d+\. Ctrl-C closes all\./);
    expect(world.emu.callsOf('DescribeInstances')).toHaveLength(1);
    expect(world.emu.activeSessions()).toHaveLength(2);
    // report-db's engine decides its client hint, whatever its port.
    expect(t.stdout()).toMatch(
      /report-db → 127\.0\.0\.1:(\d+) {3}\(psql -h 127\.0\.0\.1 -p \1, postgresql:\/\/127\.0\.0\.1:\1\)/,
    );
    const records = await world.pluginRecords();
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
    expect(world.emu.callsOf('TerminateSession')).toHaveLength(2);
    expect(records.every((r) => !alive(r.pid))).toBe(true);
    expect(world.emu.activeSessions()).toHaveLength(0);
  });
});

describe('-- command', () => {
  it('runs the command with the tunnels in its environment, closes them after, exits with its code', async () => {
    world = await createWorld({ config: twoDatabases() });
    const script =
      'printf "%s %s %s %s" "$DBTUNNEL_HOST" "$DBTUNNEL_PORT" "$DBTUNNEL_REPORT_DB_PORT" "$AWS_SSM_START_SESSION_RESPONSE" > out.txt; exit 7';
    const r = await runDbtunnel(
      ['--config', world.configFile, 'stg', 'mydb', 'report-db', '--', 'sh', '-c', script],
      world.env,
      { cwd: world.dir },
    );
    expect(r.code).toBe(7);
    const out = (await import('node:fs/promises')).readFile(path.join(world.dir, 'out.txt'), 'utf8');
    const [host, port, reportPort, token] = (await out).split(' ');
    expect(host).toBe('127.0.0.1');
    expect(Number(port)).toBeGreaterThan(0);
    expect(Number(reportPort)).toBeGreaterThan(0);
    expect(token ?? '').toBe(''); // the session token never reaches the command
    // dbtunnel's own lines went to stderr: stdout belongs to the command.
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/mydb → 127\.0\.0\.1:\d+/);
    expect(world.emu.activeSessions()).toHaveLength(0);
    expect(world.emu.callsOf('TerminateSession')).toHaveLength(2);
  });

  it('bytes flow through the tunnel to the command', async () => {
    world = await createWorld();
    const r = await runDbtunnel(
      [
        '--config',
        world.configFile,
        'stg',
        'mydb',
        '--',
        process.execPath,
        '-e',
        `const s=require('net').connect(+process.env.DBTUNNEL_PORT,process.env.DBTUNNEL_HOST,()=>s.write('via command'));s.on('data',d=>{process.stdout.write(d);s.end()})`,
      ],
      world.env,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('via command');
  });

  it('Ctrl-C belongs to the command: dbtunnel ignores SIGINT while it runs', async () => {
    world = await createWorld();
    const marker = path.join(world.dir, 'got-int');
    const trapped = path.join(world.dir, 'trapped');
    const t = startDbtunnel(
      [
        '--config',
        world.configFile,
        'stg',
        'mydb',
        '--debug',
        '--',
        'sh',
        '-c',
        `trap "touch ${marker}; exit 3" INT; touch ${trapped}; while :; do sleep 0.05; done`,
      ],
      world.env,
    );
    await eventually(() => existsSync(trapped), 10_000); // the command has set its trap
    t.child.kill('SIGINT'); // dbtunnel itself: must leave it to the command
    await t.waitFor(/SIGINT: the command has it/);
    expect(alive(t.child.pid!)).toBe(true);
    expect(existsSync(marker)).toBe(false);
    // As the terminal would: SIGINT to the command too.
    const { execSync } = await import('node:child_process');
    execSync(`pkill -INT -P ${t.child.pid} sh`);
    const { code } = await t.exited;
    expect(code).toBe(3);
    expect(existsSync(marker)).toBe(true);
    expect(world.emu.activeSessions()).toHaveLength(0);
  });

  it('a command that does not exist: a clear error, tunnels closed', async () => {
    world = await createWorld();
    const r = await runDbtunnel(['--config', world.configFile, 'stg', 'mydb', '--', 'no-such-command-here'], world.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Could not run no-such-command-here: command not found.');
    expect(world.emu.activeSessions()).toHaveLength(0);
  });

  it("a failure before the command starts uses dbtunnel's own exit code", async () => {
    world = await createWorld({ scenario: { instances: [] } });
    const r = await runDbtunnel(['--config', world.configFile, 'stg', 'mydb', '--', 'true'], world.env);
    expect(r.code).toBe(21);
  });
});

describe('for scripts', () => {
  it('--json: one JSON event per line and nothing else on stdout', async () => {
    world = await createWorld();
    const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb', '--json'], world.env);
    await t.waitFor(/"event":"ready"/);
    world.emu.endSession(
      [...world.emu.sessions.values()][0]!.id,
      'Your session timed out due to inactivity and has been terminated.',
    );
    const { code } = await t.exited;
    expect(code).toBe(26);
    const events = t
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.event)).toEqual(['bastion', 'ready', 'ended']);
    expect(events[1]).toMatchObject({
      env: 'stg',
      db: 'mydb',
      host: '127.0.0.1',
      sessionId: expect.stringMatching(/^dev-/),
    });
    expect(events[2]).toMatchObject({
      db: 'mydb',
      cause: 'Your session timed out due to inactivity and has been terminated.',
    });
    expect(t.stderr()).toBe('');
  });

  it('--json errors: kind, message, hint, exit code', async () => {
    world = await createWorld();
    const r = await runDbtunnel(['--config', world.configFile, 'nope', 'mydb', '--json'], world.env);
    expect(r.code).toBe(11);
    expect(JSON.parse(r.stdout)).toMatchObject({
      event: 'error',
      kind: 'unknownTarget',
      exitCode: 11,
      hint: expect.any(String),
    });
  });

  it('--json with a command: events go to stderr', async () => {
    world = await createWorld();
    const r = await runDbtunnel(
      ['--config', world.configFile, 'stg', 'mydb', '--json', '--', 'sh', '-c', 'echo command-output'],
      world.env,
    );
    expect(r.stdout).toBe('command-output\n');
    expect(
      r.stderr
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).event),
    ).toEqual(['bastion', 'ready']);
  });

  it('--quiet: nothing but errors', async () => {
    world = await createWorld();
    // A port of its own, so that the test knows when the tunnel is ready without dbtunnel saying so.
    const port = await freePort();
    await world.writeConfig({
      environments: {
        stg: {
          profile: 'stg',
          region: 'ap-northeast-1',
          bastion: 'bastion-db-maintenance',
          databases: { mydb: { host: DB_HOST, port: 3306, localPort: port } },
        },
      },
    });
    const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb', '--quiet'], world.env);
    await eventually(
      () =>
        roundTrip(port, 'quiet').then(
          (echo) => echo === 'quiet',
          () => false,
        ),
      10_000,
    );
    t.child.kill('SIGINT'); // all it would print, it prints before it exits
    expect((await t.exited).code).toBe(0);
    expect(t.stdout() + t.stderr()).toBe('');
    const bad = await runDbtunnel(['--config', world.configFile, 'nope', '--quiet'], world.env);
    expect(bad.stderr).toContain('There is no environment "nope"');
  });
});

describe('connection hints and the production guard', () => {
  it('an unknown engine is a config error listing the known ones', async () => {
    world = await createWorld({
      config: {
        environments: { stg: { bastion: 'b', databases: { mydb: { host: DB_HOST, port: 3306, engine: 'mariadb' } } } },
      },
    });
    const r = await runDbtunnel(['--config', world.configFile, 'stg', 'mydb'], world.env);
    expect(r.code).toBe(10);
    expect(r.stderr).toContain(
      'environments.stg.databases.mydb.engine must be one of mysql, postgres, redis, mongodb, mssql, oracle (got "mariadb")',
    );
  });

  it('confirm: true without a terminal refuses unless --yes', async () => {
    world = await createWorld({ config: twoDatabases({ confirm: true }) });
    const r = await runDbtunnel(['--config', world.configFile, 'stg', 'mydb'], world.env);
    expect(r.code).toBe(15);
    expect(r.stderr).toContain('asks for confirmation, and there is no terminal to ask on');
    expect(r.stderr).toContain('--yes');
    expect(world.emu.calls).toHaveLength(0);
    const t = startDbtunnel(['--config', world.configFile, 'stg', 'mydb', '--yes'], world.env);
    await t.waitFor(/mydb → /);
    t.child.kill('SIGINT');
    expect((await t.exited).code).toBe(0);
  });

  it('confirm: true on a terminal shows a banner and asks y/N', async () => {
    world = await createWorld({ config: twoDatabases({ confirm: true }) });
    const command = `stty cols 100 rows 30; exec '${process.execPath}' '${BIN}' --config '${world.configFile}' stg mydb`;
    const child = track(
      spawn('script', ['-qfec', command, '/dev/null'], { env: world.env, stdio: ['pipe', 'pipe', 'pipe'] }),
    );
    let screen = '';
    child.stdout.on('data', (d) => (screen += d));
    await eventually(() => screen.includes('Open it? [y/N]'), 10_000);
    expect(screen).toContain('stg is marked confirm: true');
    child.stdin.write('n\r');
    const code = await new Promise((r) => child.on('close', r));
    expect(code).toBe(15);
    expect(world.emu.calls).toHaveLength(0);
  });

  it('confirm: true and up -d on a terminal: asked there (the background has no terminal), then opened', async () => {
    world = await createWorld({ config: twoDatabases({ confirm: true }) });
    const command = `stty cols 100 rows 30; exec '${process.execPath}' '${BIN}' --config '${world.configFile}' up -d stg mydb`;
    const child = track(
      spawn('script', ['-qfec', command, '/dev/null'], { env: world.env, stdio: ['pipe', 'pipe', 'pipe'] }),
    );
    let screen = '';
    child.stdout.on('data', (d) => (screen += d));
    try {
      await eventually(() => screen.includes('Open it? [y/N]'), 10_000);
      expect(world.emu.calls).toHaveLength(0);
      child.stdin.write('y\r');
      expect(await new Promise((r) => child.on('close', r))).toBe(0);
      expect(screen).toMatch(/mydb → 127\.0\.0\.1:\d+ +in the background/);
      expect(world.emu.activeSessions()).toHaveLength(1);
    } finally {
      await runDbtunnel(['down'], world.env);
    }
  });
});

describe('around the shell', () => {
  it('list, and list --json', async () => {
    world = await createWorld({ config: twoDatabases() });
    const r = await runDbtunnel(['--config', world.configFile, 'list'], world.env);
    expect(r.stdout).toContain('stg  (profile stg, ap-northeast-1, bastion Name=bastion-db-maintenance)');
    expect(r.stdout).toMatch(/report-db +mydb\.cluster.*:3306 {2}→ local any {2}\(postgres\)/);
    const j = JSON.parse((await runDbtunnel(['--config', world.configFile, 'list', '--json'], world.env)).stdout);
    expect(j.environments[0].databases.map((d: { name: string }) => d.name)).toEqual(['mydb', 'report-db']);
    expect(world.emu.calls).toHaveLength(0);
  });

  it("alias: a line per database; from a project directory they carry the config's absolute path", async () => {
    world = await createWorld({ config: twoDatabases() });
    const project = path.join(world.dir, 'project');
    await mkdir(path.join(project, 'sub'), { recursive: true });
    await writeFile(path.join(project, 'dbtunnel.yaml'), (await import('yaml')).stringify(twoDatabases()));
    const bash = await runDbtunnel(['alias', '--shell', 'bash'], world.env, { cwd: path.join(project, 'sub') });
    expect(bash.stdout).toBe(
      `alias stg-mydb='dbtunnel --config ${path.join(project, 'dbtunnel.yaml')} stg mydb'\nalias stg-report-db='dbtunnel --config ${path.join(project, 'dbtunnel.yaml')} stg report-db'\n`,
    );
    const fish = await runDbtunnel(['alias', '--shell', 'fish'], world.env, { cwd: path.join(project, 'sub') });
    expect(fish.stdout.split('\n').slice(0, 3)).toEqual([
      "function stg-mydb --wraps dbtunnel --description 'dbtunnel stg mydb'",
      `    dbtunnel --config ${path.join(project, 'dbtunnel.yaml')} stg mydb $argv`,
      'end',
    ]);
    // The personal config needs no --config.
    const personal = path.join(world.env.XDG_CONFIG_HOME!, 'dbtunnel');
    await mkdir(personal, { recursive: true });
    await writeFile(path.join(personal, 'config.yaml'), (await import('yaml')).stringify(twoDatabases()));
    const mine = await runDbtunnel(['alias', '--shell', 'zsh'], world.env, { cwd: '/' });
    expect(mine.stdout.split('\n')[0]).toBe(`alias stg-mydb='dbtunnel stg mydb'`);
    // And they work: bash evaluates them.
    const check = await runDbtunnel(['alias', '--shell', 'bash'], world.env, { cwd: path.join(project, 'sub') });
    expect(check.code).toBe(0);
  });

  it('completion: scripts for bash, zsh and fish; names from the config', async () => {
    world = await createWorld({ config: twoDatabases() });
    const bash = await runDbtunnel(['completion', '--shell', 'bash'], world.env);
    expect(bash.stdout).toContain('--get-yargs-completions');
    expect(bash.stdout).toContain('complete -o bashdefault -o default -F');
    const zsh = await runDbtunnel(['completion', '--shell', 'zsh'], world.env);
    expect(zsh.stdout).toContain('compdef');
    const fish = await runDbtunnel(['completion', '--shell', 'fish'], world.env);
    expect(fish.stdout).toContain('complete -c dbtunnel');
    // As the scripts ask: the command line as typed, `dbtunnel` first, the word being completed last.
    const complete = async (...words: string[]) => {
      const r = await runDbtunnel(
        ['--get-yargs-completions', 'dbtunnel', '--config', world!.configFile, ...words],
        world!.env,
      );
      expect(r.stderr).toBe('');
      return r.stdout.trim().split('\n').filter(Boolean);
    };
    expect(await complete('')).toEqual(expect.arrayContaining(['policy', 'doctor', 'list', 'stg']));
    expect(await complete('')).not.toContain('--help');
    expect(await complete('stg', '')).toEqual(['mydb', 'report-db']);
    expect(await complete('stg', 'mydb', '')).toEqual(['report-db']);
    expect(await complete('doctor', '')).toEqual(['stg']);
    expect(await complete('stg', '--re')).toEqual(['--region', '--reconnect']);
    expect(await complete('doctor', '--p')).toEqual(['--profile']);
    expect(await complete('policy', 'check', 'stg', '')).toEqual(['mydb', 'report-db']); // no usage error mid-line
  });

  it('completion in bash: the script it prints completes environments, databases and options', async () => {
    world = await createWorld({ config: twoDatabases() });
    // bash runs the function the script defines with COMP_WORDS set, as it does on Tab.
    const bin = path.join(world.dir, 'bin');
    await mkdir(bin);
    await writeFile(path.join(bin, 'dbtunnel'), `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`, {
      mode: 0o755,
    });
    const script = [
      'eval "$(dbtunnel completion --shell bash)"',
      'tab() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _dbtunnel_yargs_completions; echo "${COMPREPLY[*]}"; }',
      'tab dbtunnel s',
      'tab dbtunnel stg ""',
      'tab dbtunnel stg mydb --ti',
    ].join('\n');
    const r = spawnSync('bash', ['-c', script], {
      env: { ...world.env, PATH: `${bin}:${world.env.PATH}`, DBTUNNEL_CONFIG: world.configFile },
      encoding: 'utf8',
    });
    expect(r.stdout.split('\n')).toEqual(['sessions stg', 'mydb report-db', '--timeout', '']);
  });

  it('--dry-run prints the aws CLI commands and starts nothing', async () => {
    world = await createWorld();
    const r = await runDbtunnel(['--config', world.configFile, 'stg', 'mydb', '--dry-run'], world.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      "aws ec2 describe-instances --filters Name=tag:Name,Values=bastion-db-maintenance Name=instance-state-name,Values=running --query 'Reservations[].Instances[0].InstanceId' --output text --region ap-northeast-1 --profile stg",
    );
    expect(r.stdout).toContain(
      `aws ssm start-session --target "$BASTION" --document-name AWS-StartPortForwardingSessionToRemoteHost --parameters '{"host":["${DB_HOST}"],"portNumber":["3306"],"localPortNumber":["0"]}' --region ap-northeast-1 --profile stg`,
    );
    expect(world.emu.calls).toHaveLength(0);
    expect(await world.pluginRecords()).toHaveLength(0);
    // --quiet leaves out everything but the commands; --json gives them as an event.
    expect(
      (await runDbtunnel(['--config', world.configFile, 'stg', 'mydb', '--dry-run', '--quiet'], world.env)).stdout,
    ).toBe(r.stdout);
    const json = await runDbtunnel(['--config', world.configFile, 'stg', 'mydb', '--dry-run', '--json'], world.env);
    expect(json.code).toBe(0);
    const event = JSON.parse(json.stdout);
    expect(event).toMatchObject({ event: 'dry-run', commands: [{ what: 'find the bastion' }, { what: 'stg mydb' }] });
    expect(
      `${event.commands.map((c: { what: string; command: string }) => `# ${c.what}\n${c.command}`).join('\n\n')}\n`,
    ).toBe(r.stdout);
    expect(world.emu.calls).toHaveLength(0);
  });
});
