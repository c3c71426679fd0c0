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

let tarball: string;
let installLog: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbtunnel-pack-'));
  // The package as README says to make it (dist/ is built by npm test already).
  const { stdout } = await run(process.execPath, [path.join(root, 'scripts', 'package.mjs'), dir], { cwd: root });
  tarball = stdout.trim();
  const prefix = path.join(dir, 'prefix');
  const installed_ = await run(
    'npm',
    ['install', '--global', '--prefix', prefix, tarball, '--prefer-offline', '--no-audit', '--no-fund'],
    { cwd: dir },
  );
  installLog = installed_.stdout + installed_.stderr;
  bin = path.join(prefix, 'bin', 'dbtunnel');
  installed = path.join(prefix, 'lib', 'node_modules', 'dbtunnel');
}, 180_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('ships what it needs and nothing else; its package.json has no scripts to run and no development dependencies', async () => {
  const { stdout } = await run('tar', ['-tzf', tarball]);
  const files = stdout
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''));
  expect(files).toEqual(
    expect.arrayContaining([
      'README.md',
      'LICENSE',
      'config.example.yaml',
      'bin/dbtunnel',
      'dist/main.js',
      'dist/config.schema.json',
      'package.json',
    ]),
  );
  expect(files.filter((f) => /^(src|test|scripts|bench|\.ci)\//.test(f))).toEqual([]);
  const pkg = JSON.parse((await run('tar', ['-xOzf', tarball, 'package/package.json'])).stdout) as Record<
    string,
    unknown
  >;
  expect(pkg.scripts).toBeUndefined();
  expect(pkg.devDependencies).toBeUndefined();
  expect(pkg.dependencies).toBeUndefined();
  expect(installLog).not.toMatch(/install-scripts|prepare/);
});

it('npm pack in the repository is refused: a package is made only by npm run package', async () => {
  const r = await run('npm', ['pack', '--dry-run'], { cwd: root }).catch((e: { code: number; stderr: string }) => e);
  expect((r as { code: number }).code).not.toBe(0);
  expect((r as { stderr: string }).stderr).toContain('Make the package with: npm run package');
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
