// What dbtunnel prints for a shell to evaluate — aliases, completion, --dry-run's commands — run in
// the real shells, from a config whose path (and a profile, and tags) hold everything a shell could
// take for code: quotes of both kinds, backslashes, `$( )`, backticks, `;`, a newline, spaces and
// non-ASCII. Each must do exactly what it says: define the intended aliases and nothing else, call
// dbtunnel (or aws) with exactly the intended words, create no file.
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../support/cli.js';
import { createWorld, defaultConfig, type World } from '../support/world.js';

/** Every character a shell might take for code, in directory names (one per level). */
const HOSTILE_DIRS = [
  `o'brien`,
  `say "hi"`,
  'back\\slash\\',
  '$(touch PWNED-dollar)',
  '`touch PWNED-tick`',
  'semi;touch PWNED-semi',
  'new\nline',
  'ünïcødé sp ace',
  `fish \\' \\\\ '`,
  '$HOME',
];
const HOSTILE_WORD = `it's "$(touch PWNED-word)" \`touch PWNED-word2\`; \\ ${'\n'}ünï`;

let world: World;
let project: string;
let configFile: string;
/** `dbtunnel` (the real one) and `aws`, on PATH for the shells. */
let realBin: string;
/** A `dbtunnel` and an `aws` that record the words they were called with, one JSON line each. */
let fakeBin: string;
let record: string;

beforeAll(async () => {
  world = await createWorld();
  project = path.join(world.dir, ...HOSTILE_DIRS);
  await mkdir(project, { recursive: true });
  configFile = path.join(project, 'dbtunnel.yaml');
  const config = defaultConfig({ also: ['report.db', 'cache-1'] }) as {
    environments: Record<string, { bastion: unknown }>;
  };
  config.environments.stg!.bastion = { tags: { Role: HOSTILE_WORD, 'team,x=y': 'a,b' } };
  await writeFile(configFile, stringify(config));
  realBin = path.join(world.dir, 'real-bin');
  fakeBin = path.join(world.dir, 'fake-bin');
  record = path.join(world.dir, 'calls.jsonl');
  await mkdir(realBin);
  await mkdir(fakeBin);
  await writeFile(path.join(realBin, 'dbtunnel'), `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`, {
    mode: 0o755,
  });
  const recorder = (name: string) =>
    `#!${process.execPath}\nrequire('fs').appendFileSync(${JSON.stringify(record)}, JSON.stringify([${JSON.stringify(name)}, ...process.argv.slice(2)]) + '\\n');\n` +
    (name === 'aws' ? "if (process.argv[2] === 'ec2') process.stdout.write('i-0abc1234def567890\\n');\n" : '');
  await writeFile(path.join(fakeBin, 'dbtunnel'), recorder('dbtunnel'), { mode: 0o755 });
  await writeFile(path.join(fakeBin, 'aws'), recorder('aws'), { mode: 0o755 });
});

afterAll(async () => {
  await world.close();
});

/** Run a script in a shell, with dbtunnel on PATH, from the hostile project directory. */
function shell(name: 'bash' | 'zsh' | 'fish' | 'dash', script: string, env: Record<string, string> = {}) {
  const args =
    name === 'bash'
      ? ['--norc', '--noprofile', '-c', script]
      : name === 'zsh'
        ? ['-f', '-c', script]
        : name === 'fish'
          ? ['--no-config', '-c', script]
          : ['-c', script];
  const r = spawnSync(name, args, {
    cwd: project,
    env: { ...world.env, PATH: `${realBin}:${world.env.PATH}`, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { ...r, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

async function calls(): Promise<string[][]> {
  const text = await readFile(record, 'utf8').catch(() => '');
  await writeFile(record, '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string[]);
}

/** Files a hostile word would have created, anywhere under the world. */
async function planted(dir = world.dir): Promise<string[]> {
  const found: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('PWNED')) found.push(path.join(dir, e.name));
    if (e.isDirectory()) found.push(...(await planted(path.join(dir, e.name))));
  }
  return found;
}

const ALIASES = ['stg-cache-1', 'stg-mydb', 'stg-report.db'];

describe('alias: eval "$(dbtunnel alias)" / dbtunnel alias --shell fish | source', () => {
  it.each(['bash', 'zsh'] as const)(
    '%s: the aliases call dbtunnel with the config path exactly, and define nothing else',
    async (sh) => {
      const r = shell(
        sh,
        [
          sh === 'bash' ? 'shopt -s expand_aliases' : ':',
          // The names of the aliases, one per line, before and after.
          `names() { ${sh === 'bash' ? 'compgen -a' : 'print -rl -- ${(k)aliases}'} | sort; }`,
          'before=$(names)',
          `eval "$(dbtunnel alias --shell ${sh})"`,
          `comm -13 <(printf '%s\\n' "$before") <(names)`,
          `PATH=${fakeBin}:$PATH`,
          'eval "stg-mydb --json"',
          'eval "stg-report.db"',
        ].join('\n'),
      );
      expect(r.stderr).toBe('');
      expect(r.stdout.split('\n').filter(Boolean)).toEqual(ALIASES);
      expect(await calls()).toEqual([
        ['dbtunnel', '--config', configFile, 'stg', 'mydb', '--json'],
        ['dbtunnel', '--config', configFile, 'stg', 'report.db'],
      ]);
      expect(await planted()).toEqual([]);
    },
  );

  it('fish: functions that call dbtunnel with the config path exactly, and nothing else', async () => {
    const r = shell(
      'fish',
      [
        'set before (functions -n)',
        'dbtunnel alias --shell fish | source',
        'for f in (functions -n); contains -- $f $before; or echo $f; end',
        `set PATH ${fakeBin} $PATH`,
        'stg-mydb --json',
        'stg-report.db',
      ].join('\n'),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(ALIASES);
    expect(await calls()).toEqual([
      ['dbtunnel', '--config', configFile, 'stg', 'mydb', '--json'],
      ['dbtunnel', '--config', configFile, 'stg', 'report.db'],
    ]);
    expect(await planted()).toEqual([]);
  });
});

describe('--dry-run: a POSIX shell script', () => {
  it.each(['bash', 'zsh', 'dash'] as const)('%s runs the aws commands with exactly the intended words', async (sh) => {
    const dry = shell(sh, `dbtunnel stg mydb --dry-run --profile "$PROFILE" > script.sh`, { PROFILE: HOSTILE_WORD });
    expect(dry.status, dry.stderr).toBe(0);
    const r = shell(sh, `PATH=${fakeBin}:$PATH; . ./script.sh`);
    expect(r.stderr).toBe('');
    const [lookup, start, ...rest] = await calls();
    expect(rest).toEqual([]);
    const scope = ['--region', 'ap-northeast-1', '--profile', HOSTILE_WORD];
    expect(lookup!.slice(0, 4)).toEqual(['aws', 'ec2', 'describe-instances', '--filters']);
    // A tag the AWS CLI's shorthand would split: given as JSON, which says it exactly.
    expect(JSON.parse(lookup![4]!)).toEqual([
      { Name: 'tag:Role', Values: [HOSTILE_WORD] },
      { Name: 'tag:team,x=y', Values: ['a,b'] },
      { Name: 'instance-state-name', Values: ['running'] },
    ]);
    expect(lookup!.slice(5)).toEqual([
      '--query',
      'Reservations[].Instances[0].InstanceId',
      '--output',
      'text',
      ...scope,
    ]);
    expect(start).toEqual([
      'aws',
      'ssm',
      'start-session',
      '--target',
      'i-0abc1234def567890',
      '--document-name',
      'AWS-StartPortForwardingSessionToRemoteHost',
      '--parameters',
      JSON.stringify({
        host: ['mydb.cluster-xxxx.ap-northeast-1.rds.amazonaws.com'],
        portNumber: ['3306'],
        localPortNumber: ['0'],
      }),
      ...scope,
    ]);
    expect(await planted()).toEqual([]);
  });
});

describe('completion, with the config at that path', () => {
  const env = () => ({ DBTUNNEL_CONFIG: configFile });

  it('bash', async () => {
    const r = shell(
      'bash',
      [
        'eval "$(dbtunnel completion --shell bash)"',
        'tab() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _dbtunnel_yargs_completions; echo "${COMPREPLY[*]}"; }',
        'tab dbtunnel stg ""',
        'tab dbtunnel stg mydb --re',
        // Every option of every command, by its long name only (never `--d` for -d).
        'tab dbtunnel stg --p',
        'tab dbtunnel up --d',
        'tab dbtunnel policy --j',
        'tab dbtunnel stg --reconnect o',
      ].join('\n'),
      env(),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual([
      'mydb report.db cache-1',
      '--region --reconnect',
      '--profile',
      '--debug --detach',
      '--json',
      'on-failure',
      '',
    ]);
    expect(await planted()).toEqual([]);
  });

  it('zsh', async () => {
    // zsh's completion widgets need a terminal; the function the script defines is run with the
    // words set as zsh sets them, and _describe standing in for the real one.
    const r = shell(
      'zsh',
      [
        'compdef() { :; }',
        '_describe() { print -r -- "${(@P)2}"; }',
        'eval "$(dbtunnel completion --shell zsh)"',
        'words=(dbtunnel stg ""); CURRENT=3; _dbtunnel_yargs_completions',
        'words=(dbtunnel stg mydb --re); CURRENT=4; _dbtunnel_yargs_completions',
        'words=(dbtunnel stg --p); CURRENT=3; _dbtunnel_yargs_completions',
        'words=(dbtunnel up --d); CURRENT=3; _dbtunnel_yargs_completions',
        'words=(dbtunnel policy --j); CURRENT=3; _dbtunnel_yargs_completions',
      ].join('\n'),
      env(),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual([
      'mydb report.db cache-1',
      '--region --reconnect',
      '--profile',
      '--debug --detach',
      '--json',
      '',
    ]);
    expect(await planted()).toEqual([]);
  });

  it('fish', async () => {
    const r = shell(
      'fish',
      [
        'dbtunnel completion --shell fish | source',
        "complete -C 'dbtunnel stg '",
        "complete -C 'dbtunnel stg mydb --re'",
        "complete -C 'dbtunnel stg --p'",
        "complete -C 'dbtunnel up --d'",
        "complete -C 'dbtunnel policy --j'",
      ].join('\n'),
      env(),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([
      'cache-1',
      'mydb',
      'report.db',
      '--reconnect',
      '--region',
      '--profile',
      '--debug',
      '--detach',
      '--json',
    ]);
    expect(await planted()).toEqual([]);
  });
});
