// `npm run bench`: dbtunnel's speed and memory against the test emulator and a fake plugin, each
// measure beside its reference taken in the same run. Medians over BENCH_RUNS runs (default 7)
// after a warm-up. Not a test: it asserts nothing, it reports.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
import { startMoto } from '../test/support/moto.js';
import { buildVpc, motoClients, vpcConfig } from '../test/support/vpc.js';
import { DB_HOST, FAKE_PLUGIN_DIR, createWorld, type World } from '../test/support/world.js';
import { GO_LIKE_PLUGIN_SOURCE, buildGoLikePlugin } from './go-like-plugin.js';

const execFileAsync = promisify(execFile);
const RUNS = Math.max(7, Number(process.env.BENCH_RUNS ?? 7));
const BIN = fileURLToPath(new URL('../bin/dbtunnel', import.meta.url));
const ROLE = 'arn:aws:iam::123456789012:role/bench';
/** V8 at its leanest: interpreter only, a 1 MB young generation, size before speed (a floor, for reference). */
const LEAN_V8 = ['--jitless', '--max-semi-space-size=1', '--optimize-for-size'];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (n: number) => `${Math.round(n)} ms`;
/** Progress on stderr, so that a slow or stuck step shows where it is; the table goes to stdout. */
const step = (what: string) => process.stderr.write(`bench: ${what}…\n`);

type Measure = () => Promise<number> | number;

/**
 * Medians of several measures taken in turn (a, b, c, a, b, c, …) after a warm-up of each: a measure
 * and its reference then see the same machine. On a shared VM the speed drifts over minutes; taken
 * one after the other, a ratio would compare two different machines.
 */
async function alternately<const T extends readonly Measure[]>(fns: T): Promise<{ -readonly [K in keyof T]: number }> {
  for (const fn of fns) await fn(); // warm-up
  const out: number[][] = fns.map(() => []);
  for (let i = 0; i < RUNS; i++) for (const [j, fn] of fns.entries()) out[j]!.push(await fn());
  return out.map(median) as { -readonly [K in keyof T]: number };
}

function timeCommand(cmd: string, args: string[], env = process.env): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  return performance.now() - t0;
}

/** `n` copies of a command started at once; the time until the last has exited. */
async function timeTogether(n: number, cmd: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, () => execFileAsync(cmd, args)));
  return performance.now() - t0;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * The tunnel works: a byte sent to the local port comes back from the stand-in database (an echo
 * server) through the plugin. A port that merely accepts is not enough: dbtunnel checks a port is
 * free by binding it for a moment, and a connection made then is accepted by the kernel, and closed.
 */
function echoes(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => s.write('?'));
    s.once('data', () => done(true));
    s.once('end', () => done(false));
    s.once('close', () => done(false));
    s.once('error', () => done(false));
  });
}

/**
 * Until a byte comes back through every port. The ports are polled only once StartSession has been
 * called for each: polling sockets every 2 ms from the start would take CPU from dbtunnel, and from
 * the emulator (which answers from this very process), on a machine with two cores.
 */
async function untilTunnelWorks(
  world: World,
  ports: number[],
  sessionsBefore: number,
  timeoutMs = 30_000,
  said: () => string = () => '',
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (world.emu.callsOf('StartSession').length - sessionsBefore < ports.length) {
    if (Date.now() > until) throw new Error(`no session was started; dbtunnel said:\n${said()}`);
    await new Promise((r) => setTimeout(r, 1));
  }
  for (const p of ports) {
    while (!(await echoes(p))) {
      if (Date.now() > until) throw new Error(`port ${p} never opened`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }
}

/** A port still held by the previous run's plugin would answer for the next one: wait it out. */
async function untilClosed(ports: number[], timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (const p of ports) {
    while (await accepting(p)) {
      if (Date.now() > until) throw new Error(`port ${p} still held by an earlier run`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** RSS now and at its peak; and the process's own (private, written) pages, which leave out the
 * pages of the node binary that every Node process shares. */
/** The processes `pid` started (Linux). */
function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/** A process and the processes it started, added up. */
function treeRss(pid: number): { now: number; peak: number; own: number } {
  const parts = [pid, ...childrenOf(pid)].map(rss);
  const sum = (k: 'now' | 'peak' | 'own') => parts.reduce((a, m) => a + m[k], 0);
  return { now: sum('now'), peak: sum('peak'), own: sum('own') };
}

/**
 * AWS's own session-manager-plugin, where DBTUNNEL_AWS_PLUGIN names a build of it (docs/conformance.md):
 * a directory whose session-manager-plugin it is, for a world's PATH.
 */
function awsPluginDir(): string | undefined {
  const built = process.env.DBTUNNEL_AWS_PLUGIN;
  if (!built) return undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbtunnel-bench-aws-plugin-'));
  symlinkSync(path.resolve(built), path.join(dir, 'session-manager-plugin'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function rss(pid: number): { now: number; peak: number; own: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (text: string, key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(text)?.[1] ?? 0);
  return { now: kb(status, 'VmRSS') / 1024, peak: kb(status, 'VmHWM') / 1024, own: kb(rollup, 'Private_Dirty') / 1024 };
}

/**
 * The bench's plugin: the test suite's fake in C (go-like-plugin.c), which starts in a few ms as the
 * real (Go) plugin does; the Node fake's start would be most of the five-tunnel measure. Built into
 * a temporary directory; without a C compiler, undefined (and the Node fake is used).
 */
function goLikePluginDir(): string | undefined {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbtunnel-bench-plugin-'));
  const built = buildGoLikePlugin(dir);
  if (built.ok) {
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    // Its numbers stand for dbtunnel with the real plugin only if dbtunnel sees it as it sees the
    // tests' Node fake: bench/go-like-plugin.test.ts holds the two to each other, first.
    step('checking the C plugin against the Node fake');
    const check = spawnSync(
      process.execPath,
      [
        path.join(path.dirname(require.resolve('vitest/package.json')), 'vitest.mjs'),
        'run',
        '--config',
        'bench/vitest.config.ts',
      ],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
        cwd: fileURLToPath(new URL('..', import.meta.url)),
      },
    );
    if (check.status !== 0) throw new Error('the C plugin does not behave as the Node fake: see the check above');
    return dir;
  }
  process.stderr.write(
    `bench: could not build ${path.basename(GO_LIKE_PLUGIN_SOURCE)} (${built.why}); using the Node fake plugin\n`,
  );
  rmSync(dir, { recursive: true, force: true });
  return undefined;
}

/** A world whose PATH finds `pluginDir`'s session-manager-plugin first (default: the Node fake, as in the tests). */
async function worldWith(
  dbCount: number,
  extra: Partial<Parameters<typeof createWorld>[0]> = {},
  pluginDir?: string,
): Promise<{ world: World; ports: number[] }> {
  const world = await createWorld(extra);
  if (pluginDir) world.env.PATH = `${pluginDir}${path.delimiter}${world.env.PATH}`;
  const ports = await Promise.all(Array.from({ length: dbCount }, () => freePort()));
  const databases = Object.fromEntries(
    ports.map((p, i) => [`db${i + 1}`, { host: DB_HOST, port: 3306, localPort: p }]),
  );
  await world.writeConfig({
    environments: { stg: { profile: 'stg', region: 'ap-northeast-1', bastion: 'bastion-db-maintenance', databases } },
  });
  return { world, ports };
}

/** Start dbtunnel, wait until a byte comes back through every port, return the time it took and the process. */
async function openWith(
  world: World,
  ports: number[],
  args: string[] = [],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
) {
  await untilClosed(ports);
  const sessionsBefore = world.emu.callsOf('StartSession').length;
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [...nodeArgs, BIN, '--config', world.configFile, 'stg', ...ports.map((_, i) => `db${i + 1}`), ...args],
    {
      env: { ...world.env, ...env },
      stdio: ['pipe', 'ignore', 'pipe'],
    },
  );
  // What it says, should it fail: read as it comes (a full pipe would stop it), the last 4 KB kept.
  let said = '';
  child.stderr!.on('data', (d: Buffer) => {
    said = (said + d.toString('utf8')).slice(-4096);
  });
  await untilTunnelWorks(world, ports, sessionsBefore, 30_000, () => said);
  const elapsed = performance.now() - t0;
  return {
    elapsed,
    child,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGINT');
      }),
  };
}

/** One run: how long until every tunnel carried a byte; then closed again. */
async function readyTime(
  world: World,
  ports: number[],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<number> {
  const t = await openWith(world, ports, [], env, nodeArgs);
  await t.close();
  return t.elapsed;
}

/** The directory of the worlds' background supervisors (XDG_RUNTIME_DIR is not set in a world). */
const backgroundDirOf = (world: World) => path.join(world.dir, '.local', 'state', 'dbtunnel');

async function run(world: World, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [BIN, '--config', world.configFile, ...args], {
    env: world.env,
  });
  return stdout;
}

/** `down`, then wait until the supervisor has left (its socket gone), so that the next `up -d` starts one. */
async function downAll(world: World): Promise<void> {
  await run(world, ['down']);
  const until = Date.now() + 15_000;
  const socket = () => readdirSync(backgroundDirOf(world)).some((f) => f.endsWith('.sock'));
  while (socket() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
}

/** `up -d` of `n` databases, held; the supervisor's pid. */
async function upDetachedHeld(world: World, n: number): Promise<number> {
  const out = await run(world, ['up', '-d', 'stg', ...Array.from({ length: n }, (_, i) => `db${i + 1}`)]);
  return Number(/\(pid (\d+)\)/.exec(out)![1]);
}

/** How long `up -d` of `n` databases takes to return (every tunnel ready), from no supervisor; then down. */
async function upDetached(world: World, n: number): Promise<number> {
  const t0 = performance.now();
  await upDetachedHeld(world, n);
  const elapsed = performance.now() - t0;
  await downAll(world);
  return elapsed;
}

/** The AWS CLI's two steps until a byte comes back; `whileOpen` runs then, with the CLI's pid, before it is stopped. */
async function awsCliFlow(world: World, port: number, whileOpen?: (pid: number) => Promise<void>): Promise<number> {
  await untilClosed([port]);
  const earlier = (await world.pluginRecords()).length;
  const sessionsBefore = world.emu.callsOf('StartSession').length;
  const t0 = performance.now();
  // Asynchronously: the emulator answers from this very process.
  const lookup = await execFileAsync(
    'aws',
    [
      'ec2',
      'describe-instances',
      '--filters',
      'Name=tag:Name,Values=bastion-db-maintenance',
      'Name=instance-state-name,Values=running',
      '--query',
      'Reservations[].Instances[0].InstanceId',
      '--output',
      'text',
      '--profile',
      'stg',
      '--region',
      'ap-northeast-1',
    ],
    { env: world.env, encoding: 'utf8' },
  );
  const target = lookup.stdout.trim();
  const params = JSON.stringify({ host: [DB_HOST], portNumber: ['3306'], localPortNumber: [String(port)] });
  const child = spawn(
    'aws',
    [
      'ssm',
      'start-session',
      '--target',
      target,
      '--document-name',
      'AWS-StartPortForwardingSessionToRemoteHost',
      '--parameters',
      params,
      '--profile',
      'stg',
      '--region',
      'ap-northeast-1',
    ],
    {
      env: world.env,
      stdio: 'ignore',
    },
  );
  await untilTunnelWorks(world, [port], sessionsBefore);
  const elapsed = performance.now() - t0;
  await whileOpen?.(child.pid!);
  // The CLI ignores SIGINT while the plugin runs; the plugin is the one to stop. The fakes record
  // their pids; AWS's plugin is found as the CLI's child.
  const records = (await world.pluginRecords()).slice(earlier);
  for (const pid of new Set([...records.map((r) => r.pid), ...childrenOf(child.pid!)])) {
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      // gone already
    }
  }
  await new Promise((r) => child.once('exit', r));
  return elapsed;
}

/** Sequential AWS round trips before the plugin starts, with the emulator adding 50 ms to each call. */
async function roundTrips(
  world: World,
  ports: number[],
  args: string[],
): Promise<{ calls: string[]; sequential: number; elapsed: number }> {
  world.emu.scenario.latencyMs = 50;
  world.emu.calls.length = 0;
  const t = await openWith(world, ports, args);
  await t.close();
  world.emu.scenario.latencyMs = 0;
  const before = world.emu.calls.filter((c) => !['TerminateSession'].includes(c.action));
  const calls = before.map((c) => c.action);
  if (!calls.includes('StartSession'))
    throw new Error(`the port answered before any session started (${calls.join(', ')})`);
  // Calls that started within 50 ms of each other overlapped; each later one waited for an answer.
  let sequential = 0;
  let last = -Infinity;
  for (const c of before) {
    if (c.at - last >= 45) sequential++;
    last = c.at;
  }
  return { calls, sequential, elapsed: t.elapsed };
}

/** AWS's answers the network check waits for, after the bastion is known. */
const NETWORK_CALLS = new Set([
  'DescribeNetworkInterfaces',
  'DescribeSecurityGroups',
  'DescribeNetworkAcls',
  'DescribeRouteTables',
  'DescribeSubnets',
  'GetManagedPrefixListEntries',
  'DescribeDBInstances',
  'DescribeDBClusters',
]);

/**
 * Sequential round trips of doctor's network check, the emulator adding 50 ms to each call before
 * moto_server answers: from the bastion's own DescribeInstances (by id) to the last call.
 */
async function networkRoundTrips(rds: boolean): Promise<{ calls: string[]; sequential: number; elapsed: number }> {
  const moto = await startMoto();
  const clients = motoClients(moto.url);
  try {
    const vpc = await buildVpc(clients, rds ? 1 : 2, { rds });
    const world = await createWorld({
      scenario: { upstream: moto.url, instances: [{ id: vpc.bastionId }] },
      config: vpcConfig(vpc),
    });
    try {
      world.emu.scenario.latencyMs = 50;
      await promisify(execFile)(process.execPath, [BIN, '--config', world.configFile, 'doctor', 'stg'], {
        env: world.env,
      }).catch(() => {});
      const all = world.emu.calls;
      const from = all.findIndex((c) => c.action === 'DescribeInstances' && 'InstanceId.1' in c.input);
      const phase = all.slice(from).filter((c, i) => i === 0 || NETWORK_CALLS.has(c.action));
      if (from < 0 || phase.length < 2) throw new Error(`no network check in ${all.map((c) => c.action).join(', ')}`);
      let sequential = 0;
      let last = -Infinity;
      for (const c of phase) {
        if (c.at - last >= 45) sequential++;
        last = c.at;
      }
      return { calls: phase.map((c) => c.action), sequential, elapsed: phase.at(-1)!.at - phase[0]!.at + 50 };
    } finally {
      await world.close();
    }
  } finally {
    clients.ec2.destroy();
    clients.rds.destroy();
    await moto.close();
  }
}

/** CPU time (user + system) a process has used, in ms (Linux /proc). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

/** `bytes` through the tunnel to the echo database and back: the time, and the CPU the tunnel's processes used. */
async function transfer(port: number, bytes: number, pids: () => number[]): Promise<{ ms: number; cpu: number }> {
  const cpu0 = pids().reduce((a, p) => a + cpuMs(p), 0);
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    let got = 0;
    const socket = net.connect(port, '127.0.0.1', () => {
      const chunk = Buffer.alloc(64 * 1024, 7);
      let sent = 0;
      const pump = () => {
        while (sent < bytes) {
          sent += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
      };
      pump();
    });
    socket.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= bytes) {
        socket.destroy();
        resolve();
      }
    });
    socket.on('error', reject);
  });
  return { ms: performance.now() - t0, cpu: pids().reduce((a, p) => a + cpuMs(p), 0) - cpu0 };
}

async function main() {
  const rows: string[][] = [];
  const row = (what: string, value: string, reference: string, ratio: string, target: string) => {
    rows.push([what, value, reference, ratio, target]);
    process.stderr.write(`bench: ${what}: ${value} ${ratio}\n`);
  };

  step('cold start');
  const [node0, version, help] = await alternately([
    () => timeCommand(process.execPath, ['-e', '0']),
    () => timeCommand(process.execPath, [BIN, '--version']),
    () => timeCommand(process.execPath, [BIN, '--help']),
  ]);
  row('dbtunnel --version', ms(version), `node -e 0: ${ms(node0)}`, `${(version / node0).toFixed(2)}×`, '≤ 1.5×');
  row('dbtunnel --help', ms(help), `node -e 0: ${ms(node0)}`, `${(help / node0).toFixed(2)}×`, '');
  // The plugin's start is part of every "ready" below, and five tunnels start five at once.
  const goLike = goLikePluginDir();
  const nodeFake = path.join(FAKE_PLUGIN_DIR, 'session-manager-plugin');
  const plugin = goLike ? path.join(goLike, 'session-manager-plugin') : nodeFake;
  const [pluginName, pluginsName] = goLike
    ? ['the C plugin', 'C plugins']
    : ['the Node fake plugin', 'Node fake plugins'];
  const [pluginStart, fivePlugins, nodeFakeStart, fiveNodeFakes] = await alternately([
    () => timeCommand(plugin, ['--version']),
    () => timeTogether(5, plugin, ['--version']),
    goLike ? () => timeCommand(nodeFake, ['--version']) : () => NaN,
    goLike ? () => timeTogether(5, nodeFake, ['--version']) : () => NaN,
  ]);
  row(`${pluginName} starting (--version)`, ms(pluginStart), `node -e 0: ${ms(node0)}`, '', 'harness, not dbtunnel');
  row(
    `five ${pluginsName} starting at once`,
    ms(fivePlugins),
    `one: ${ms(pluginStart)}`,
    `${(fivePlugins / pluginStart).toFixed(2)}×`,
    'harness, not dbtunnel',
  );
  if (goLike) {
    row(
      "the Node fake plugin (the tests') starting (--version)",
      ms(nodeFakeStart),
      `node -e 0: ${ms(node0)}`,
      '',
      'harness, not dbtunnel',
    );
    row(
      'five Node fake plugins starting at once',
      ms(fiveNodeFakes),
      `one: ${ms(nodeFakeStart)}`,
      `${(fiveNodeFakes / nodeFakeStart).toFixed(2)}×`,
      'harness, not dbtunnel',
    );
  }

  step('one tunnel, the AWS CLI, five tunnels, in turn');
  // Time to ready: one tunnel, the AWS CLI's two steps on the same world, five tunnels; and, where
  // the environment sets NODE_EXTRA_CA_CERTS, one tunnel without it. Node 20 reads and parses that
  // whole file before running any code (~80 ms with a system bundle; Node 22 reads it when TLS first
  // needs it): that row shows a machine without it; the row in this environment is the one that counts.
  // With the C plugin, the same one and five tunnels with the Node fake, for reference; and one
  // tunnel with V8 at its leanest, the price of the memory floor measured below.
  const one = await worldWith(1, {}, goLike);
  const five = await worldWith(5, {}, goLike);
  const oneNode = goLike ? await worldWith(1) : undefined;
  const fiveNode = goLike ? await worldWith(5) : undefined;
  const cliPort = await freePort();
  const withCerts = Boolean(process.env.NODE_EXTRA_CA_CERTS);
  const unset = () => readyTime(one.world, one.ports, { NODE_EXTRA_CA_CERTS: '' });
  const [oneReady, cli, fiveReady, without, oneNodeReady, fiveNodeReady, leanReady] = await alternately([
    () => readyTime(one.world, one.ports),
    () => awsCliFlow(one.world, cliPort),
    () => readyTime(five.world, five.ports),
    withCerts ? unset : () => NaN,
    oneNode ? () => readyTime(oneNode.world, oneNode.ports) : () => NaN,
    fiveNode ? () => readyTime(fiveNode.world, fiveNode.ports) : () => NaN,
    () => readyTime(one.world, one.ports, {}, LEAN_V8),
  ]);
  row(
    'ready, one tunnel',
    ms(oneReady),
    `AWS CLI v1 (describe-instances + start-session): ${ms(cli)}`,
    `${(oneReady / cli).toFixed(2)}×`,
    Number(process.versions.node.split('.')[0]) >= 22 ? '≤ 0.2×' : '≤ 0.25× (Node 20)',
  );
  if (withCerts)
    row(
      'ready, one tunnel, NODE_EXTRA_CA_CERTS unset',
      ms(without),
      `AWS CLI v1: ${ms(cli)}`,
      `${(without / cli).toFixed(2)}×`,
      'for reference',
    );
  row(
    'ready, five tunnels',
    ms(fiveReady),
    `one tunnel: ${ms(oneReady)}`,
    `${(fiveReady / oneReady).toFixed(2)}×`,
    '≤ 1.3×',
  );
  if (oneNode && fiveNode) {
    row(
      'ready, one tunnel, with the Node fake plugin',
      ms(oneNodeReady),
      `AWS CLI v1: ${ms(cli)}`,
      `${(oneNodeReady / cli).toFixed(2)}×`,
      'for reference',
    );
    row(
      'ready, five tunnels, with the Node fake plugin',
      ms(fiveNodeReady),
      `one tunnel: ${ms(oneNodeReady)}`,
      `${(fiveNodeReady / oneNodeReady).toFixed(2)}×`,
      'for reference',
    );
  }
  row(
    `ready, one tunnel, node ${LEAN_V8.join(' ')}`,
    ms(leanReady),
    `one tunnel: ${ms(oneReady)}`,
    `${(leanReady / oneReady).toFixed(2)}×`,
    'for reference',
  );

  step('round trips at +50 ms per call');
  const staticKeys = await roundTrips(one.world, one.ports, []);
  row(
    'AWS round trips, static keys',
    `${staticKeys.sequential} (${staticKeys.calls.join(', ')})`,
    `ready in ${ms(staticKeys.elapsed)} at +50 ms/call`,
    '',
    '≤ 2 after credentials',
  );
  const role = await worldWith(
    1,
    {
      scenario: { roles: [{ arn: ROLE }] },
      awsConfig: `[profile stg-role]\nrole_arn = ${ROLE}\nsource_profile = stg\nregion = ap-northeast-1\n`,
    },
    goLike,
  );
  const assumed = await roundTrips(role.world, role.ports, ['--profile', 'stg-role']);
  row(
    'AWS round trips, assume-role',
    `${assumed.sequential} (${assumed.calls.join(', ')})`,
    `ready in ${ms(assumed.elapsed)} at +50 ms/call`,
    '',
    'AssumeRole first, then ≤ 2',
  );

  for (const rds of [true, false]) {
    const n = await networkRoundTrips(rds);
    row(
      `network check round trips, ${rds ? 'an RDS endpoint' : 'an address'}`,
      `${n.sequential} (${n.calls.join(', ')})`,
      `${ms(n.elapsed)} at +50 ms/call`,
      '',
      '≤ 2 after the bastion (3 with a prefix list)',
    );
  }

  step('the native session client, beside the plugin');
  // Two references. The test fake (in C when built) pipes straight to the database without a data
  // channel: its numbers are a floor. AWS's own plugin, where DBTUNNEL_AWS_PLUGIN names a build of it,
  // speaks to the same emulated agent as the native client: the comparison the targets are about.
  const native = ['--session-client', 'native'];
  const awsDir = awsPluginDir();
  const aws = awsDir ? await worldWith(1, {}, awsDir) : undefined;
  const awsArgs = ['--session-client', 'plugin'];
  const versus = aws ? "AWS's plugin" : 'the fake plugin';
  const [pluginOpen, nativeOpen, awsOpen] = await alternately([
    async () => {
      const t = await openWith(one.world, one.ports);
      await t.close();
      return t.elapsed;
    },
    async () => {
      const t = await openWith(aws?.world ?? one.world, aws?.ports ?? one.ports, native);
      await t.close();
      return t.elapsed;
    },
    aws
      ? async () => {
          const t = await openWith(aws.world, aws.ports, awsArgs);
          await t.close();
          return t.elapsed;
        }
      : () => NaN,
  ]);
  const readyRef = aws ? awsOpen : pluginOpen;
  row(
    'ready, one tunnel, native client',
    ms(nativeOpen),
    aws ? `AWS's plugin: ${ms(awsOpen)}; the fake: ${ms(pluginOpen)}` : `the fake plugin: ${ms(pluginOpen)}`,
    `${(nativeOpen / readyRef).toFixed(2)}×`,
    `≤ ${versus}`,
  );
  const MB = 20;
  const carried: Record<string, { rate: number; cpu: number }> = {};
  for (const [label, w, args] of [
    ['the fake plugin', one, []],
    ...(aws ? [["AWS's plugin", aws, awsArgs] as const] : []),
    ['native client', aws ?? one, native],
  ] as const) {
    const t = await openWith(w.world, w.ports, [...args]);
    // dbtunnel, and the plugin it started (none for the native client).
    const pids = [t.child.pid!, ...childrenOf(t.child.pid!)];
    const alive = () =>
      pids.filter((p) => {
        try {
          process.kill(p, 0);
          return true;
        } catch {
          return false;
        }
      });
    const r = await transfer(w.ports[0]!, MB * 1024 * 1024, alive);
    const mem = rss(t.child.pid!);
    await t.close();
    const rate = ((2 * MB) / r.ms) * 1000;
    const cpu = r.cpu / (2 * MB);
    carried[label] = { rate, cpu };
    const ref = carried[versus];
    const isNative = label === 'native client';
    row(
      `${MB} MB there and back, ${label}`,
      `${rate.toFixed(1)} MB/s`,
      `CPU ${cpu.toFixed(1)} ms/MB; dbtunnel's own memory ${mem.own.toFixed(1)} MB`,
      isNative && ref ? `${(rate / ref.rate).toFixed(2)}×, CPU ${(cpu / ref.cpu).toFixed(2)}×` : '',
      isNative
        ? `within 10% of ${versus}, CPU ≤ it`
        : label === versus
          ? 'reference'
          : 'reference (the fake: no data channel)',
    );
  }

  step('memory');
  // Memory: holding one and five tunnels; and over a reconnect soak (AWS ends the session 5 times).
  // The reference: Node itself, idle, holding nothing.
  const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  const nodeIdle = rss(idle.pid!);
  idle.kill();
  const mb = (m: { now: number; peak: number; own: number }) =>
    `${m.now.toFixed(1)} MB (peak ${m.peak.toFixed(1)}, own ${m.own.toFixed(1)})`;
  for (const [label, w] of [
    ['one tunnel', one],
    ['five tunnels', five],
  ] as const) {
    const t = await openWith(w.world, w.ports);
    await new Promise((r) => setTimeout(r, 500));
    const m = rss(t.child.pid!);
    row(`RSS holding ${label}`, mb(m), `idle node: ${mb(nodeIdle)}`, '', label === 'one tunnel' ? 'own ≤ 25 MB' : '');
    if (label === 'one tunnel') {
      // What a tunnel held for an hour costs: V8 gives back the heap that starting grew once the
      // process has been quiet for a few seconds (its memory reducer; ~8 s on Node 20 and 22).
      await new Promise((r) => setTimeout(r, 12_000));
      row('RSS holding one tunnel, 12 s later', mb(rss(t.child.pid!)), '', '', 'for reference');
    }
    await t.close();
  }
  // dbtunnel's own session client: no plugin process, so dbtunnel's RSS is the whole tree.
  const nativeHeld: number[] = [];
  for (const [label, w] of [
    ['one native tunnel', one],
    ['five native tunnels', five],
  ] as const) {
    const t = await openWith(w.world, w.ports, ['--session-client', 'native']);
    await new Promise((r) => setTimeout(r, 500));
    const m = rss(t.child.pid!);
    nativeHeld.push(m.now);
    row(
      `RSS holding ${label} (the whole tree)`,
      mb(m),
      label === 'one native tunnel' ? 'the AWS CLI v1 below (plus its plugin)' : `one: ${nativeHeld[0]!.toFixed(1)} MB`,
      label === 'one native tunnel' ? '' : `${(m.now / nativeHeld[0]!).toFixed(2)}×`,
      label === 'one native tunnel' ? "below the AWS CLI v1's tree" : '≤ 1.2×',
    );
    await t.close();
  }
  // The floor: V8 told to spend the least memory it can (no compilers beyond the interpreter, the
  // smallest young generation). What dbtunnel could reach by trading speed for memory.
  const lean = await openWith(one.world, one.ports, [], {}, LEAN_V8);
  await new Promise((r) => setTimeout(r, 500));
  row(`RSS holding one tunnel, node ${LEAN_V8.join(' ')}`, mb(rss(lean.child.pid!)), '', '', 'for reference');
  await lean.close();
  // The AWS CLI v1 holding its session (a Python process; the plugin is apart in both cases).
  await awsCliFlow(one.world, cliPort, async (pid) => {
    await new Promise((r) => setTimeout(r, 500));
    row('RSS of the AWS CLI v1 holding one session', mb(rss(pid)), '', '', 'for reference');
  });
  if (aws) {
    // The comparison for the native tunnel's whole tree: the AWS CLI and AWS's plugin, both processes.
    await awsCliFlow(aws.world, cliPort, async (pid) => {
      await new Promise((r) => setTimeout(r, 500));
      const tree = treeRss(pid);
      row(
        "RSS of the AWS CLI v1 and AWS's plugin holding one session (the tree)",
        mb(tree),
        `one native tunnel: ${nativeHeld[0]!.toFixed(1)} MB`,
        `${(nativeHeld[0]! / tree.now).toFixed(2)}×`,
        'the native tree below it',
      );
    });
  }
  const soak = await openWith(one.world, one.ports, ['--reconnect', 'always', '--max-reconnects', '100']);
  await new Promise((r) => setTimeout(r, 500));
  const start = rss(soak.child.pid!);
  for (let i = 0; i < 5; i++) {
    const s = one.world.emu.activeSessions()[0];
    const sessionsBefore = one.world.emu.callsOf('StartSession').length;
    if (s) one.world.emu.endSession(s.id);
    await untilTunnelWorks(one.world, one.ports, sessionsBefore, 60_000);
  }
  const end = rss(soak.child.pid!);
  await soak.close();
  row(
    'RSS over a reconnect soak (5 AWS-side ends)',
    `${start.now.toFixed(1)} → ${end.now.toFixed(1)} MB (own ${start.own.toFixed(1)} → ${end.own.toFixed(1)})`,
    '',
    '',
    '',
  );

  step('in the background');
  // `up -d`: the time until it returns (every tunnel ready), from no supervisor running (the usual
  // case: it leaves once it holds nothing); then the supervisor's memory holding one and five
  // tunnels. The plugins are apart, the same in the foreground and the background.
  const upOne = () => upDetached(one.world, 1);
  const upFive = () => upDetached(five.world, 5);
  const [upOneTime, upFiveTime] = await alternately([upOne, upFive]);
  row('up -d, five tunnels', ms(upFiveTime), `one: ${ms(upOneTime)}`, `${(upFiveTime / upOneTime).toFixed(2)}×`, '');
  const held: Record<number, ReturnType<typeof rss>> = {};
  for (const [n, w] of [
    [1, one],
    [5, five],
  ] as const) {
    const pid = await upDetachedHeld(w.world, n);
    await new Promise((r) => setTimeout(r, 500));
    held[n] = rss(pid);
    await downAll(w.world);
  }
  row(
    'RSS of the supervisor holding five tunnels',
    mb(held[5]!),
    `one: ${mb(held[1]!)}`,
    `${(held[5]!.now / held[1]!.now).toFixed(2)}×`,
    '≤ 1.3×',
  );

  for (const w of [one, five, role, oneNode, fiveNode, aws]) await w?.world.close();

  const head = ['measure', 'dbtunnel', 'reference (same run)', 'ratio', 'target'];
  const table = [head, head.map(() => '---'), ...rows];
  const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown CPU';
  console.log(
    `dbtunnel bench — ${new Date().toISOString().slice(0, 10)}, Node ${process.versions.node}, ${cpu}, medians of ${RUNS} runs after a warm-up`,
  );
  console.log(
    'The reference CLI available here is the AWS CLI v1 (Python). The plugin, for dbtunnel and the AWS CLI alike, is',
  );
  console.log(
    goLike
      ? "bench/go-like-plugin.c: the test suite's fake in C, which starts in a few ms as the real (Go) plugin does."
      : "the test suite's fake (a Node script, started without NODE_EXTRA_CA_CERTS, which the Go plugin never reads): no C compiler.",
  );
  console.log(
    '"own": private written memory (Private_Dirty), without the node binary\'s pages that every Node process maps and shares.\n',
  );
  for (const r of table) console.log(`| ${r.join(' | ')} |`);
}

await main();
