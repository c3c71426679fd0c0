// `dbtunnel init`: a commented starter config. Asks on a terminal; takes flags without one. Never
// overwrites a file without --force.
import { access, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { displayPath, personalConfigPath } from '../config/load.js';
import { configSchema, ENGINES } from '../config/schema.js';
import { EXIT, TunnelError } from '../errors.js';
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

interface Answers {
  env: string;
  profile: string | undefined;
  region: string | undefined;
  bastion: string;
  db: string;
  host: string;
  port: number;
  localPort: number | undefined;
  engine: string | undefined;
}

/** The starter file's text: every key with a comment, and the schema line for editors. Pure. */
export function starterConfig(a: Answers, schemaPath: string): string {
  const q = (s: string) => (/^[A-Za-z0-9_./@:-]+$/.test(s) && !/^(true|false|null|yes|no|on|off|~)$/i.test(s) ? s : JSON.stringify(s));
  const lines = [
    `# yaml-language-server: $schema=${schemaPath}`,
    '# dbtunnel configuration: every key is described in config.example.yaml and README "Configuration".',
    '# A dbtunnel.local.yaml beside this file is merged over it (per-person profile names, local ports).',
    'environments:',
    `  ${a.env}:`,
    `    ${a.profile ? '' : '# '}profile: ${q(a.profile ?? 'my-profile')}            # the AWS profile (~/.aws/config); --profile overrides it`,
    `    ${a.region ? '' : '# '}region: ${q(a.region ?? 'ap-northeast-1')}          # --region overrides it; default: AWS_REGION, the profile's region`,
    `    bastion: ${q(a.bastion)}   # the bastion's Name tag; or {instanceId: i-…}; or {tags: {Key: value}}`,
    '    # confirm: true                    # ask y/N before opening (production)',
    '    databases:',
    `      ${a.db}:`,
    `        host: ${q(a.host)}   # as the bastion sees it`,
    `        port: ${a.port}`,
    `        ${a.localPort === undefined ? '# localPort: 0         ' : `localPort: ${a.localPort}`}   # default: ${a.port} if free here, else one the system picks`,
    `        ${a.engine ? '' : '# '}engine: ${a.engine ?? 'mysql'}          # ${ENGINES.join(', ')}: the ready line prints a client command`,
    '',
  ];
  return lines.join('\n');
}

export async function initCommand(args: InitArgs, term: Terminal): Promise<number> {
  const file = path.resolve(args.file ?? (args.personal ? personalConfigPath(process.env, os.homedir()) : 'dbtunnel.yaml'));
  if (!args.force && (await exists(file))) {
    throw new TunnelError('config', `${displayPath(file)} already exists; dbtunnel init does not overwrite it.`, {
      hint: 'Edit it, choose another --file, or pass --force to replace it.',
    });
  }
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
  const answers = interactive ? await ask(args) : fromFlags(args);
  const draft = starterConfig(answers, schemaLocation());
  // What we write must load: check it with the real schema before it exists.
  const check = configSchema.safeParse(parse(draft));
  if (!check.success) {
    const issue = check.error.issues[0]!;
    throw new TunnelError('usage', `That would not be a valid config: ${issue.path.join('.')} ${issue.message}.`, { hint: 'Run dbtunnel init again with a corrected value.' });
  }
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

/** The schema shipped in this package, for the editor line. */
function schemaLocation(): string {
  return fileURLToPath(new URL('./config.schema.json', import.meta.url));
}

function fromFlags(a: InitArgs): Answers {
  const missing = [!a.bastion && '--bastion', !a.db && '--db', !a.host && '--host', a.port === undefined && '--port'].filter(Boolean);
  if (missing.length) {
    throw new TunnelError('usage', `Without a terminal to ask on, dbtunnel init needs ${missing.join(', ')}.`, {
      hint: 'e.g. dbtunnel init --env stg --profile stg --region ap-northeast-1 --bastion bastion-db --db mydb --host mydb.internal --port 3306',
    });
  }
  return { env: a.env ?? 'stg', profile: a.profile, region: a.region, bastion: a.bastion!, db: a.db!, host: a.host!, port: a.port!, localPort: a.localPort, engine: a.engine };
}

async function ask(a: InitArgs): Promise<Answers> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // Lines are read as a queue, so that answers pasted or typed ahead are each kept for their
  // question. Ctrl-C and Ctrl-D close the prompt (readline ends the queue): nothing is written.
  const lines = rl[Symbol.asyncIterator]();
  const question = async (text: string, given: string | number | undefined, fallback?: string): Promise<string> => {
    if (given !== undefined) return String(given);
    rl.setPrompt(`${text}${fallback ? ` [${fallback}]` : ''}: `);
    rl.prompt();
    const line = await lines.next();
    if (line.done) {
      process.stderr.write('\n');
      throw new TunnelError('cancelled', 'Cancelled: nothing was written.');
    }
    return line.value.trim() || fallback || '';
  };
  try {
    const env = await question('Environment name', a.env, 'stg');
    const profile = (await question('AWS profile (blank: the default chain)', a.profile)) || undefined;
    const region = (await question('AWS region (blank: the profile\'s)', a.region)) || undefined;
    const bastion = await question('Bastion Name tag', a.bastion);
    const db = await question('First database name', a.db, 'mydb');
    const host = await question('Its host, as the bastion sees it', a.host);
    const port = Number(await question('Its port', a.port, '3306'));
    const local = await question('Local port (blank: the same if free)', a.localPort);
    const engine = (await question(`Engine (${ENGINES.join(', ')}; blank: guess)`, a.engine)) || undefined;
    return { env, profile, region, bastion, db, host, port, localPort: local ? Number(local) : undefined, engine };
  } finally {
    rl.close();
  }
}
