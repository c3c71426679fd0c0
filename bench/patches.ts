// `npm run bench:patches`: what each of the build's own measures buys (scripts/build.mjs), by an A/B:
// the package built with every measure, and built without each one, taken in turn (a, b, a, b, …)
// after a warm-up — time to ready (one tunnel, a byte back through it) and `dbtunnel --version`.
// A measure that patches a dependency's output stays only if it buys at least 25 ms on Node 22
// (README "Performance"). Not a test: it reports. BENCH_RUNS=n for more runs (default 11).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWorld, DB_HOST } from '../test/support/world.js';
import { buildGoLikePlugin } from './go-like-plugin.js';

const RUNS = Math.max(5, Number(process.env.BENCH_RUNS ?? 11));
const root = fileURLToPath(new URL('..', import.meta.url));
const MEASURES = (process.env.BENCH_MEASURES ?? 'lazy-string-width,shakeable-sdk-schemas').split(',').filter(Boolean);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The package built into its own directory, without the named measure. */
function build(without: string | undefined): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `dbtunnel-ab-${without ?? 'all'}-`));
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], {
    env: { ...process.env, DBTUNNEL_BUILD_OUT: path.join(dir, 'dist'), DBTUNNEL_BUILD_WITHOUT: without ?? '' },
    stdio: 'ignore',
  });
  cpSync(path.join(root, 'bin'), path.join(dir, 'bin'), { recursive: true });
  cpSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'bin', 'dbtunnel');
}

function echoes(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => s.write('?'));
    s.once('data', () => done(true));
    s.once('close', () => done(false));
    s.once('error', () => done(false));
  });
}

const pluginDir = mkdtempSync(path.join(os.tmpdir(), 'dbtunnel-ab-plugin-'));
const plugin = buildGoLikePlugin(pluginDir);
process.on('exit', () => rmSync(pluginDir, { recursive: true, force: true }));
const world = await createWorld();
if (plugin.ok) world.env.PATH = `${pluginDir}${path.delimiter}${world.env.PATH}`;
const port = await new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as net.AddressInfo).port;
    s.close(() => resolve(p));
  });
});
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

async function ready(bin: string, env: Record<string, string> = {}): Promise<number> {
  while (await echoes(port)) await new Promise((r) => setTimeout(r, 10)); // the last run's port is gone
  const t0 = performance.now();
  const child = spawn(process.execPath, [bin, '--config', world.configFile, 'stg', 'mydb'], {
    env: { ...world.env, ...env },
    stdio: 'ignore',
  });
  while (!(await echoes(port))) await new Promise((r) => setTimeout(r, 2));
  const elapsed = performance.now() - t0;
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
  return elapsed;
}

function version(bin: string): number {
  const t0 = performance.now();
  spawnSync(process.execPath, [bin, '--version'], { stdio: 'ignore' });
  return performance.now() - t0;
}

const full = build(undefined);
process.stderr.write(
  `bench: Node ${process.versions.node}, ${RUNS} runs, ${plugin.ok ? 'the C plugin' : 'the Node fake plugin'}\n`,
);
const rows: string[] = [
  '| without | ready (full / without) | gain | --version (full / without) | gain |',
  '| --- | --- | --- | --- | --- |',
];
for (const measure of MEASURES) {
  process.stderr.write(`bench: without ${measure}…\n`);
  const other = build(measure);
  const a: number[] = [];
  const b: number[] = [];
  const va: number[] = [];
  const vb: number[] = [];
  await ready(full);
  await ready(other);
  for (let i = 0; i < RUNS; i++) {
    a.push(await ready(full));
    b.push(await ready(other));
    va.push(version(full));
    vb.push(version(other));
  }
  const [ra, rb, xa, xb] = [a, b, va, vb].map(median) as [number, number, number, number];
  rows.push(
    `| ${measure} | ${Math.round(ra)} / ${Math.round(rb)} ms | ${Math.round(rb - ra)} ms | ${Math.round(xa)} / ${Math.round(xb)} ms | ${Math.round(xb - xa)} ms |`,
  );
}
// The plugin-version cache: the same build, its cache directory unusable (so the plugin is asked).
{
  process.stderr.write('bench: without the plugin-version cache…\n');
  const noCache = { XDG_CACHE_HOME: '/nonexistent/dbtunnel-bench' };
  const a: number[] = [];
  const b: number[] = [];
  await ready(full);
  await ready(full, noCache);
  for (let i = 0; i < RUNS; i++) {
    a.push(await ready(full));
    b.push(await ready(full, noCache));
  }
  rows.push(
    `| plugin-version cache | ${Math.round(median(a))} / ${Math.round(median(b))} ms | ${Math.round(median(b) - median(a))} ms | — | — |`,
  );
}
await world.close();
process.stdout.write(`${rows.join('\n')}\n`);
process.exit(0);
