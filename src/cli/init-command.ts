// `dbtunnel init`: a commented starter config. Asks on a terminal; takes flags without one. Never
// overwrites a file without --force. Every answer is checked by the config's own rules as it is
// given (a wrong one is asked again, with the reason), and the file is written by the YAML library:
// no answer can add keys of its own, and what is written loads.
import { access, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Document, isScalar, type Pair, type YAMLMap } from 'yaml';
import { displayPath, personalConfigPath } from '../config/load.js';
import { ANSWER_RULES, ENGINES } from '../config/schema.js';
import { validateConfig } from '../config/validate.js';
import { EXIT, TunnelError } from '../errors.js';
import { excerpt } from '../text.js';
import { engineForPort } from '../tunnel/client-hint.js';
import type { Terminal } from './terminal.js';

export interface InitArgs {
  env: string | undefined;
  profile: string | undefined;
  region: string | undefined;
  bastion: string | undefined;
  db: string | undefined;
  host: string | undefined;
  port: number | undefined;
  localPort: number | undefined;
  engine: string | undefined;
  file: string | undefined;
  personal: boolean;
  force: boolean;
}

export interface Answers {
  env: string;
  profile: string | undefined;
  region: string | undefined;
  bastion: string;
  db: string;
  host: string;
  port: number;
  localPort: number | undefined;
  engine: (typeof ENGINES)[number] | undefined;
}

export type Field = keyof typeof ANSWER_RULES;

/** How each answer is named in messages: the flag that gives it. */
const FLAG: Record<Field, string> = {
  env: '--env',
  profile: '--profile',
  region: '--region',
  bastion: '--bastion',
  db: '--db',
  host: '--host',
  port: '--port',
  localPort: '--local-port',
  engine: '--engine',
};

/** One answer, checked by the config's rules: its value, or what is wrong with it. Pure. */
export function checkAnswer(field: Field, typed: string): { value: string | number } | { problem: string } {
  const numeric = field === 'port' || field === 'localPort';
  if (numeric && !/^\d+$/.test(typed.trim())) {
    return {
      problem:
        `${FLAG[field]} must be a whole ` +
        `number${field === 'port' ? ' from 1 to 65535' : ' from 0 to 65535'} (got ${excerpt(typed)})`,
    };
  }
  const value = numeric ? Number(typed.trim()) : typed;
  const result = ANSWER_RULES[field].safeParse(value);
  if (result.success) return { value };
  return { problem: `${FLAG[field]} ${result.error.issues[0]!.message} (got ${numeric ? value : excerpt(typed)})` };
}

const key = (map: YAMLMap, name: string) =>
  map.items.find((p) => isScalar(p.key) && p.key.value === name) as
    | Pair<{ commentBefore?: string }, { comment?: string }>
    | undefined;

/**
 * The starter file's text: every key with a comment, the optional ones commented out. Written by
 * the YAML library (it quotes what needs quoting). Pure.
 */
export function starterConfig(a: Answers): string {
  const environment: Record<string, unknown> = {};
  if (a.profile) environment.profile = a.profile;
  if (a.region) environment.region = a.region;
  environment.bastion = a.bastion;
  const database: Record<string, unknown> = { host: a.host, port: a.port };
  if (a.localPort !== undefined) database.localPort = a.localPort;
  if (a.engine) database.engine = a.engine;
  environment.databases = { [a.db]: database };
  const doc = new Document({ environments: { [a.env]: environment } });
  doc.commentBefore = [
    ' dbtunnel configuration: every key is described in config.example.yaml and README "Configuration".',
    ' A dbtunnel.local.yaml beside this file is merged over it (per-person profile names, local ports).',
    ' Editors complete and check it with dbtunnel\'s JSON Schema: README "Editor support".',
  ].join('\n');
  const env = doc.getIn(['environments', a.env], true) as YAMLMap;
  const db = doc.getIn(['environments', a.env, 'databases', a.db], true) as YAMLMap;
  // Each key with what it is for, above it; an optional key not given, commented out in its place.
  const explain = (map: YAMLMap, keys: [name: string, placeholder: string | undefined, what: string | undefined][]) => {
    let pending: string[] = [];
    for (const [name, placeholder, what] of keys) {
      const pair = key(map, name);
      if (!pair?.key) {
        if (placeholder) pending.push(` ${placeholder}${what ? `   # ${what}` : ''}`);
        continue;
      }
      const lines = [...pending, ...(what ? [` ${what}`] : [])];
      if (lines.length) pair.key.commentBefore = lines.join('\n');
      pending = [];
    }
    if (pending.length) map.comment = pending.join('\n');
  };
  explain(env, [
    [
      'profile',
      'profile: my-profile',
      "the AWS profile (~/.aws/config); --profile overrides it; without it, the AWS SDK's default chain",
    ],
    ['region', 'region: ap-northeast-1', "--region overrides it; without it, AWS_REGION, then the profile's region"],
    ['bastion', undefined, "the bastion's Name tag; or {instanceId: i-…}; or {tags: {Key: value}}"],
    ['confirm', 'confirm: true', 'ask y/N before opening (production)'],
    ['databases', undefined, undefined],
  ]);
  explain(db, [
    ['host', undefined, 'as the bastion sees it'],
    ['port', undefined, undefined],
    ['localPort', 'localPort: 0', `default: ${a.port} if free here, else one the system picks`],
    [
      'engine',
      `engine: ${a.engine ?? engineForPort(a.port) ?? 'mysql'}`,
      `${ENGINES.join(', ')}: the ready line prints a client command`,
    ],
  ]);
  return doc.toString();
}

export async function initCommand(args: InitArgs, term: Terminal): Promise<number> {
  const file = path.resolve(
    args.file ?? (args.personal ? personalConfigPath(process.env, os.homedir()) : 'dbtunnel.yaml'),
  );
  if (!args.force && (await exists(file))) {
    throw new TunnelError('config', `${displayPath(file)} already exists; dbtunnel init does not overwrite it.`, {
      hint: 'Edit it, choose another --file, or pass --force to replace it.',
    });
  }
  const given = checkFlags(args);
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
  const answers = interactive ? await ask(given, term) : fromFlags(given);
  const draft = starterConfig(answers);
  // What we write must load, as dbtunnel will read it: checked before it exists.
  validateConfig({ file, text: draft }, undefined);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, draft, { flag: args.force ? 'w' : 'wx' });
  term.success(`wrote ${displayPath(file)}`, 'stdout');
  term.info(`Next: dbtunnel doctor ${answers.env} ${answers.db}   then   dbtunnel ${answers.env} ${answers.db}`);
  return EXIT.ok;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** The answers given as flags, each checked; every problem at once. */
function checkFlags(a: InitArgs): Partial<Record<Field, string | number>> {
  const typed: Partial<Record<Field, string>> = {
    env: a.env,
    profile: a.profile,
    region: a.region,
    bastion: a.bastion,
    db: a.db,
    host: a.host,
    port: a.port === undefined ? undefined : String(a.port),
    localPort: a.localPort === undefined ? undefined : String(a.localPort),
    engine: a.engine,
  };
  const given: Partial<Record<Field, string | number>> = {};
  const problems: string[] = [];
  for (const [field, text] of Object.entries(typed) as [Field, string | undefined][]) {
    if (text === undefined) continue;
    const checked = checkAnswer(field, text);
    if ('problem' in checked) problems.push(checked.problem);
    else given[field] = checked.value;
  }
  if (problems.length > 0) {
    throw new TunnelError(
      'usage',
      problems.length === 1 ? `${problems[0]}.` : 'These answers would not make a config:',
      {
        details: problems.length === 1 ? [] : problems.map((p) => `${p}.`),
        hint: 'Run dbtunnel init again with corrected values (README "Configuration" says what each key takes).',
      },
    );
  }
  return given;
}

function answers(given: Partial<Record<Field, string | number>>): Answers {
  return {
    env: String(given.env ?? 'stg'),
    profile: given.profile === undefined ? undefined : String(given.profile),
    region: given.region === undefined ? undefined : String(given.region),
    bastion: String(given.bastion),
    db: String(given.db),
    host: String(given.host),
    port: Number(given.port),
    localPort: given.localPort === undefined ? undefined : Number(given.localPort),
    engine: given.engine as Answers['engine'],
  };
}

function fromFlags(given: Partial<Record<Field, string | number>>): Answers {
  const missing = (['bastion', 'db', 'host', 'port'] as const)
    .filter((f) => given[f] === undefined)
    .map((f) => FLAG[f]);
  if (missing.length) {
    throw new TunnelError('usage', `Without a terminal to ask on, dbtunnel init needs ${missing.join(', ')}.`, {
      hint:
        'e.g. dbtunnel init --env stg --profile stg --region ap-northeast-1 ' +
        '--bastion bastion-db --db mydb --host mydb.internal --port 3306',
    });
  }
  return answers(given);
}

async function ask(given: Partial<Record<Field, string | number>>, term: Terminal): Promise<Answers> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // Lines are read as a queue, so that answers pasted or typed ahead are each kept for their
  // question. Ctrl-C and Ctrl-D close the prompt (readline ends the queue): nothing is written.
  const lines = rl[Symbol.asyncIterator]();
  const out = { ...given };
  /** Ask until the answer passes the config's rules; blank takes the default (or leaves it out). */
  const question = async (field: Field, text: string, fallback?: string): Promise<void> => {
    if (out[field] !== undefined) return;
    for (;;) {
      rl.setPrompt(`${text}${fallback ? ` [${fallback}]` : ''}: `);
      rl.prompt();
      const line = await lines.next();
      if (line.done) {
        process.stderr.write('\n');
        throw new TunnelError('cancelled', 'Cancelled: nothing was written.');
      }
      const typed = line.value.trim() || fallback;
      if (typed === undefined) return; // optional, left out
      const checked = checkAnswer(field, typed);
      if ('value' in checked) {
        out[field] = checked.value;
        return;
      }
      term.notice(`  ${term.paint('red', '✖')} ${checked.problem.replace(/^--[a-z-]+ /, '')}: try again.`);
    }
  };
  try {
    await question('env', 'Environment name', 'stg');
    await question('profile', 'AWS profile (blank: the default chain)');
    await question('region', "AWS region (blank: the profile's)");
    await question('bastion', 'Bastion Name tag', '');
    await question('db', 'First database name', 'mydb');
    await question('host', 'Its host, as the bastion sees it', '');
    await question('port', 'Its port', '3306');
    await question('localPort', 'Local port (blank: the same if free)');
    await question('engine', `Engine (${ENGINES.join(', ')}; blank: guess from the port)`);
    return answers(out);
  } finally {
    rl.close();
  }
}
