// The published package: `npm pack`, installed globally into a temporary prefix, works from there —
// --help, --version, and a real tunnel that carries bytes. A broken bundle fails here.
import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { roundTrip } from '../support/echo-server.js';
import { track } from '../support/processes.js';
import { createWorld } from '../support/world.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;
let bin: string;
let installed: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbtunnel-pack-'));
  const { stdout } = await run('npm', ['pack', '--pack-destination', dir, '--json', '--ignore-scripts'], { cwd: root });
  const tarball = path.join(dir, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
  const prefix = path.join(dir, 'prefix');
  await run('npm', ['install', '--global', '--prefix', prefix, tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir });
  bin = path.join(prefix, 'bin', 'dbtunnel');
  installed = path.join(prefix, 'lib', 'node_modules', 'dbtunnel');
}, 180_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('ships what it needs and nothing else', async () => {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
  const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  expect(files).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'config.example.yaml', 'bin/dbtunnel', 'dist/main.js', 'dist/config.schema.json', 'package.json']));
  expect(files.filter((f) => /^(src|test|scripts|\.ci)\//.test(f))).toEqual([]);
});

it('installed globally: --version, --help, and the schema beside the example config', async () => {
  const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version: string };
  expect((await run(bin, ['--version'])).stdout.trim()).toBe(pkg.version);
  expect((await run(bin, ['--help'])).stdout).toContain('dbtunnel <env> [db…]');
  const example = await readFile(path.join(installed, 'config.example.yaml'), 'utf8');
  const ref = /^# yaml-language-server: \$schema=(\S+)/.exec(example)![1]!;
  await access(path.join(installed, ref));
  // Bundled: the install brought no dependencies, and the licences of what is bundled came along.
  await expect(access(path.join(installed, 'node_modules'))).rejects.toThrow();
  await access(path.join(installed, 'dist', 'THIRD-PARTY-LICENSES.md'));
});

it('installed globally: reads no translation files from outside its package', async () => {
  // yargs' y18n looks for a locales/ folder relative to yargs' code: in the bundle, beside the
  // installed package. A file there must neither reword nor break dbtunnel's messages.
  const beside = path.join(installed, '..', 'locales');
  await mkdir(beside, { recursive: true });
  await writeFile(path.join(beside, 'en.json'), '{"Show help": "not ours", ');
  await writeFile(path.join(beside, 'en_US.json'), '{"Show help": "not ours"}');
  const env = { ...process.env, LANG: 'en_US.UTF-8', LC_ALL: 'en_US.UTF-8' };
  const help = await run(bin, ['--help'], { env });
  expect(help.stdout).toMatch(/-h, --help +Show help/);
  const wrong = await run(bin, ['stg', '--no-such-flag'], { env }).catch((e: { code: number; stderr: string }) => e);
  expect(wrong.stderr).toContain('Unknown option: --no-such-flag.');
});

it('installed globally: a real tunnel carries bytes', async () => {
  const world = await createWorld();
  try {
    const { spawn } = await import('node:child_process');
    const child = track(spawn(bin, ['--config', world.configFile, 'stg', 'mydb'], { env: world.env }));
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no tunnel:\n${out}`)), 20_000);
      child.stdout.on('data', () => {
        const m = /mydb → 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
    });
    expect(await roundTrip(port, 'from the package')).toBe('from the package');
    child.kill('SIGINT');
    const code = await new Promise((r) => child.on('close', r));
    expect(code).toBe(0);
  } finally {
    await world.close();
  }
});
