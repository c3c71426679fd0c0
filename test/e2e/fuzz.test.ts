// No input reaches "This is a bug": generated command lines and mutated configs (the bad-input
// corpus and a good config as seeds), each run as a user runs dbtunnel, must end with a documented
// exit code and a message in the user's words — no stack trace, no hang. Seeded: FUZZ_SEED=n
// reproduces a run (each failure names its seed and input); FUZZ_RUNS=n runs more.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { EXIT, TunnelError } from '../../src/errors.js';
import { runDbtunnel } from '../support/cli.js';
import { createWorld, defaultConfig, FAKE_PLUGIN_DIR, type World } from '../support/world.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1);
const corpus = fileURLToPath(new URL('../corpus/', import.meta.url));

/** mulberry32: a small seeded generator, so that a failure can be replayed. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;
  return { next, int, pick };
}
type Random = ReturnType<typeof generator>;

/** Every exit code README documents; 1 ("a bug") is not among the acceptable ones. */
const DOCUMENTED = new Set<number>(Object.values(EXIT).filter((c) => c !== EXIT.internal));

/** Words a user (or a script gone wrong) might type. */
const HOSTILE = [
  '',
  ' ',
  '-',
  '--',
  '---',
  '-x',
  '=',
  'a=b',
  '\u001b]0;pwn\u0007',
  '\u001bc',
  'é',
  '💥',
  '\u202e',
  'x'.repeat(300),
  'y'.repeat(5000),
  '../../etc/passwd',
  '/dev/zero',
  '$(id)',
  '`id`',
  "'",
  '"',
  '\\',
  '%s%n',
  '0',
  '-1',
  '1e309',
  'NaN',
  'true',
  'null',
  '{}',
  '[]',
];
const WORDS = [
  'stg',
  'mydb',
  'other',
  'prd',
  'policy',
  'check',
  'doctor',
  'up',
  '-d',
  'down',
  'ps',
  'list',
  'alias',
  'completion',
  'sessions',
  'init',
  'logout',
  'help',
  '--help',
  '--version',
  '--get-yargs-completions',
];
const OPTIONS = [
  '--config',
  '--profile',
  '--region',
  '--instance',
  '--all',
  '--timeout',
  '--json',
  '--quiet',
  '-q',
  '--yes',
  '-y',
  '--dry-run',
  '--reconnect',
  '--max-reconnects',
  '--legacy-plugin',
  '--debug',
  '--policy',
  '--scp',
  '--boundary',
  '--principal',
  '--shell',
  '--terminate',
  '--env',
  '--db',
  '--host',
  '--port',
  '--local-port',
  '--engine',
  '--file',
  '--force',
  '--personal',
  '--tiemout',
  '--no-json',
];

function argvCase(r: Random, config: string): string[] {
  const words: string[] = [];
  if (r.next() < 0.5) words.push('--config', r.next() < 0.8 ? config : r.pick(HOSTILE));
  const n = 1 + r.int(6);
  for (let i = 0; i < n; i++) {
    const roll = r.next();
    if (roll < 0.35) words.push(r.pick(WORDS));
    else if (roll < 0.75) {
      const option = r.pick(OPTIONS);
      words.push(r.next() < 0.2 ? `${option}=${r.pick(HOSTILE)}` : option);
      if (r.next() < 0.6) words.push(r.next() < 0.5 ? r.pick(HOSTILE) : r.pick(WORDS));
    } else words.push(r.pick(HOSTILE));
  }
  // The `--` command never runs (no plugin here): its words are dbtunnel's to carry, not to read.
  if (r.next() < 0.1) words.push('--', 'sh', '-c', 'exit 3');
  return words;
}

/** Pieces of YAML (and not) that a mutation inserts. */
const FRAGMENTS = [
  '[',
  ']',
  '{',
  '}',
  '"',
  "'",
  ':',
  ': ',
  '- ',
  '? ',
  '#',
  '&a ',
  '*a',
  '<<: *a',
  '!!binary ',
  '!!js/function ',
  '---\n',
  '...\n',
  '%YAML 1.1\n',
  '\t',
  '\u0000',
  '\r\n',
  '\ufeff',
  '\u001b[2J',
  '  ',
  '\n',
  'port: 99999',
  'localPort: -1',
  'environments:',
  'databases: []',
  'bastion: {tags: {}}',
  '~',
  'null',
  '1e500',
  '0x10',
  '"\\u0000"',
  'é',
  '['.repeat(80),
  '- '.repeat(120),
];

function mutate(r: Random, text: string): string {
  let out = text;
  const steps = 1 + r.int(4);
  for (let i = 0; i < steps; i++) {
    const at = r.int(out.length + 1);
    const roll = r.next();
    if (roll < 0.4) out = out.slice(0, at) + r.pick(FRAGMENTS) + out.slice(at);
    else if (roll < 0.6) out = out.slice(0, at) + out.slice(at + 1 + r.int(20));
    else if (roll < 0.75) out = out.slice(0, at) + String.fromCharCode(r.int(256)) + out.slice(at + 1);
    else if (roll < 0.85) {
      const lines = out.split('\n');
      const a = r.int(lines.length);
      lines.splice(r.int(lines.length), 0, lines[a]!);
      out = lines.join('\n');
    } else if (roll < 0.95) out = out.slice(0, at);
    else out = out.slice(0, at) + out.slice(at).repeat(2 + r.int(3));
  }
  return out;
}

let world: World;
let seeds: string[];
beforeAll(async () => {
  world = await createWorld({ config: defaultConfig({ also: ['other'] }) });
  seeds = [await readFile(world.configFile, 'utf8')];
  for (const f of (await readdir(corpus)).sort()) seeds.push(await readFile(path.join(corpus, f), 'latin1'));
});
afterAll(async () => {
  await world.close();
});

/** What a run must show: a documented code, and for a failure a message — not a bug, not a stack. */
function judge(label: string, r: { code: number | null; signal: string | null; stdout: string; stderr: string }): void {
  const said = r.stdout + r.stderr;
  expect({ label, code: r.code, signal: r.signal }).toEqual({ label, code: r.code, signal: null });
  expect(DOCUMENTED.has(r.code!), `${label}: exit ${r.code} is not documented\n${said.slice(0, 2000)}`).toBe(true);
  expect(said, label).not.toMatch(/This is a bug|Unexpected error|"kind":"internal"/);
  expect(said, label).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/); // a stack trace
  if (r.code !== 0) expect(said.trim().length, `${label}: failed without a word`).toBeGreaterThan(0);
}

describe(`fuzz (seed ${SEED}; FUZZ_SEED=${SEED} replays it)`, () => {
  it('mutated configs, read in-process: a config or a config error, each at once', async () => {
    const r = generator(SEED);
    const dir = path.join(world.dir, 'mutated');
    await mkdir(dir);
    const file = path.join(dir, 'dbtunnel.yaml');
    for (let i = 0; i < 600 * RUNS; i++) {
      const text = mutate(r, r.pick(seeds));
      await writeFile(file, text, 'latin1');
      const started = Date.now();
      try {
        await loadConfig({ file, via: '--config' });
      } catch (e) {
        const label = `case ${i}: ${JSON.stringify(text.slice(0, 300))}`;
        expect(e instanceof TunnelError && e.kind === 'config', `${label}: ${String(e)}`).toBe(true);
        expect((e as TunnelError).message.length + (e as TunnelError).details.join('').length, label).toBeLessThan(
          4000,
        );
      }
      expect(Date.now() - started, `case ${i} took too long`).toBeLessThan(2000);
    }
  }, 120_000);

  it('mutated configs, run as a user runs dbtunnel', async () => {
    const r = generator(SEED + 1);
    for (let i = 0; i < 12 * RUNS; i++) {
      const text = mutate(r, r.pick(seeds));
      const file = path.join(world.dir, `mutated-${i}.yaml`);
      await writeFile(file, text, 'latin1');
      const res = await runDbtunnel(['--config', file, 'stg', 'mydb', '--dry-run'], world.env);
      judge(`config case ${i}: ${JSON.stringify(text.slice(0, 300))}`, res);
    }
  }, 120_000);

  it('generated command lines', async () => {
    const r = generator(SEED + 2);
    // No plugin and an AWS that refuses at once: whatever the line asks, nothing can start or hold.
    const pathWithout = world.env
      .PATH!.split(path.delimiter)
      .filter((d) => path.resolve(d) !== path.resolve(FAKE_PLUGIN_DIR))
      .join(path.delimiter);
    const closed = 'http://127.0.0.1:9';
    const env = {
      ...world.env,
      PATH: pathWithout,
      AWS_ENDPOINT_URL_EC2: closed,
      AWS_ENDPOINT_URL_SSM: closed,
      AWS_ENDPOINT_URL_STS: closed,
      AWS_ENDPOINT_URL_IAM: closed,
    };
    const cwd = path.join(world.dir, 'cwd');
    await mkdir(cwd);
    for (let i = 0; i < 40 * RUNS; i++) {
      const argv = argvCase(r, world.configFile);
      const res = await runDbtunnel(argv, env, { cwd });
      judge(`argv case ${i}: ${JSON.stringify(argv).slice(0, 400)}`, res);
    }
  }, 180_000);
});
