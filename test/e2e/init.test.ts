// `dbtunnel init`: a starter config that loads, from flags or from answers on a terminal.
import { spawn } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { BIN, eventually, runDbtunnel } from '../support/cli.js';
import { track } from '../support/processes.js';

let dir: string;
let env: Record<string, string>;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbtunnel-init-'));
  env = { PATH: process.env.PATH!, HOME: dir, NO_COLOR: '1' };
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const flags = [
  '--env',
  'stg',
  '--profile',
  'stg',
  '--region',
  'ap-northeast-1',
  '--bastion',
  'bastion-db',
  '--db',
  'mydb',
  '--host',
  'mydb.internal',
  '--port',
  '3306',
  '--engine',
  'mysql',
];

it('from flags: a commented config that loads, naming no path of this machine', async () => {
  const r = await runDbtunnel(['init', ...flags], env, { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  const text = await readFile(path.join(dir, 'dbtunnel.yaml'), 'utf8');
  // A file to commit: nothing in it says where this machine keeps dbtunnel.
  expect(text).not.toMatch(/\$schema|node_modules|\/(tmp|home|usr|opt)\//);
  expect(text).toContain('README "Editor support"');
  expect(text).toContain('    bastion: bastion-db');
  expect(text).toContain('# confirm: true');
  const list = await runDbtunnel(['list', '--json'], env, { cwd: dir });
  expect(JSON.parse(list.stdout).environments[0]).toMatchObject({
    name: 'stg',
    profile: 'stg',
    region: 'ap-northeast-1',
    databases: [{ name: 'mydb', host: 'mydb.internal', port: 3306, engine: 'mysql' }],
  });
});

it('the engine left out is commented as the port suggests', async () => {
  const r = await runDbtunnel(['init', ...flags.slice(0, -4), '--port', '5432'], env, { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  expect(await readFile(path.join(dir, 'dbtunnel.yaml'), 'utf8')).toMatch(/^ {8}# engine: postgres {3}#/m);
});

it('an answer that would add keys of its own, or break a rule, is refused with what was given; nothing is written', async () => {
  const r = await runDbtunnel(['init', ...flags, '--env', 'stg:\n    bastion: evil'], env, { cwd: dir });
  expect(r.code).toBe(2);
  const many = await runDbtunnel(
    [
      'init',
      '--env',
      'stg:\n  x: y',
      '--bastion',
      'b',
      '--db',
      'my db',
      '--host',
      'a;b',
      '--port',
      '70000',
      '--region',
      'tokyo',
    ],
    env,
    { cwd: dir },
  );
  expect(many.code).toBe(2);
  expect(many.stderr).toContain('These answers would not make a config:');
  expect(many.stderr).toContain(
    '--env must use only letters, digits, ".", "_" and "-" (it is typed as a command argument) (got "stg:\\n  x: y").',
  );
  expect(many.stderr).toContain('--db must use only letters, digits');
  expect(many.stderr).toContain('--host must be at least 3 characters with none of');
  expect(many.stderr).toContain('--port must be a port number from 1 to 65535 (got 70000).');
  expect(many.stderr).toContain('--region must be an AWS region code such as ap-northeast-1 (got "tokyo").');
  await expect(access(path.join(dir, 'dbtunnel.yaml'))).rejects.toThrow();
});

it('never overwrites without --force', async () => {
  await writeFile(path.join(dir, 'dbtunnel.yaml'), 'mine\n');
  const r = await runDbtunnel(['init', ...flags], env, { cwd: dir });
  expect(r.code).toBe(10);
  expect(r.stderr).toContain('dbtunnel.yaml already exists');
  expect(await readFile(path.join(dir, 'dbtunnel.yaml'), 'utf8')).toBe('mine\n');
  expect((await runDbtunnel(['init', ...flags, '--force'], env, { cwd: dir })).code).toBe(0);
  expect(await readFile(path.join(dir, 'dbtunnel.yaml'), 'utf8')).toContain('environments:');
});

it('without a terminal, says which flags are missing', async () => {
  const r = await runDbtunnel(['init', '--db', 'mydb'], env, { cwd: dir });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('needs --bastion, --host, --port');
});

it('a value the schema rejects is caught before anything is written', async () => {
  const r = await runDbtunnel(['init', ...flags.slice(0, -2), '--engine', 'mariadb'], env, { cwd: dir });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('--engine must be one of mysql, postgres, redis, mongodb, mssql, oracle (got "mariadb").');
  await expect(access(path.join(dir, 'dbtunnel.yaml'))).rejects.toThrow();
});

it('--personal writes the XDG config', async () => {
  const r = await runDbtunnel(
    ['init', ...flags, '--personal'],
    { ...env, XDG_CONFIG_HOME: path.join(dir, 'xdg') },
    { cwd: dir },
  );
  expect(r.code).toBe(0);
  await access(path.join(dir, 'xdg', 'dbtunnel', 'config.yaml'));
});

/** `dbtunnel init` on a pseudo-terminal (util-linux `script`): what it shows, and its keyboard. */
function initOnTerminal() {
  const command = `stty cols 100 rows 30; cd '${dir}'; exec '${process.execPath}' '${BIN}' init`;
  const child = track(spawn('script', ['-qfec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] }));
  const out = { screen: '' };
  child.stdout.on('data', (d) => (out.screen += d));
  return { child, out, closed: new Promise((r) => child.on('close', r)) };
}

it('on a terminal: Ctrl-C or Ctrl-D at a question cancels, exit 130, nothing written', async () => {
  for (const key of ['\x03', '\x04']) {
    const { child, out, closed } = initOnTerminal();
    await eventually(() => out.screen.includes('Environment name'), 10_000);
    child.stdin.write('prd\r');
    await eventually(() => out.screen.includes('AWS profile'), 10_000);
    child.stdin.write(key);
    expect(await closed).toBe(130);
    expect(out.screen).toContain('Cancelled: nothing was written.');
    expect(out.screen).not.toContain('Unexpected error');
    await expect(access(path.join(dir, 'dbtunnel.yaml'))).rejects.toThrow();
  }
});

it('on a terminal: answers typed ahead (or pasted) are each kept for their question', async () => {
  const { child, out, closed } = initOnTerminal();
  await eventually(() => out.screen.includes('Environment name'), 10_000);
  child.stdin.write(['prd', '', '', 'prd-bastion', 'main', 'main.internal', '5432', '', 'postgres', ''].join('\r'));
  expect(await closed).toBe(0);
  const list = JSON.parse((await runDbtunnel(['list', '--json'], env, { cwd: dir })).stdout);
  expect(list.environments[0]).toMatchObject({
    name: 'prd',
    bastion: 'prd-bastion',
    databases: [{ name: 'main', port: 5432, engine: 'postgres' }],
  });
});

it('on a terminal: an answer that breaks a rule is asked again, with the reason', async () => {
  const { child, out, closed } = initOnTerminal();
  await eventually(() => out.screen.includes('Environment name'), 10_000);
  child.stdin.write(
    ['prd', '', '', 'prd-bastion', 'main', 'main.internal', 'abc', '70000', '5432', '', 'mariadb', 'postgres', ''].join(
      '\r',
    ),
  );
  expect(await closed).toBe(0);
  expect(out.screen).toContain('✖ must be a whole number from 1 to 65535 (got "abc"): try again.');
  expect(out.screen).toContain('✖ must be a port number from 1 to 65535 (got 70000): try again.');
  expect(out.screen).toContain(
    '✖ must be one of mysql, postgres, redis, mongodb, mssql, oracle (got "mariadb"): try again.',
  );
  const list = JSON.parse((await runDbtunnel(['list', '--json'], env, { cwd: dir })).stdout);
  expect(list.environments[0]).toMatchObject({
    name: 'prd',
    databases: [{ name: 'main', port: 5432, engine: 'postgres' }],
  });
});

it('on a terminal: asks, and writes what was answered', async () => {
  const { child, out, closed } = initOnTerminal();
  const answer = async (prompt: string, text: string) => {
    await eventually(() => out.screen.includes(prompt), 10_000);
    out.screen = out.screen.slice(out.screen.indexOf(prompt) + prompt.length);
    child.stdin.write(`${text}\r`);
  };
  await answer('Environment name', 'prd');
  await answer('AWS profile', 'prd-admin');
  await answer('AWS region', 'eu-west-1');
  await answer('Bastion Name tag', 'prd-bastion');
  await answer('First database name', 'main');
  await answer('Its host', 'main.internal');
  await answer('Its port', '5432');
  await answer('Local port', '');
  await answer('Engine', 'postgres');
  expect(await closed).toBe(0);
  const list = JSON.parse((await runDbtunnel(['list', '--json'], env, { cwd: dir })).stdout);
  expect(list.environments[0]).toMatchObject({
    name: 'prd',
    profile: 'prd-admin',
    region: 'eu-west-1',
    bastion: 'prd-bastion',
    databases: [{ name: 'main', port: 5432, localPort: null, engine: 'postgres' }],
  });
});
