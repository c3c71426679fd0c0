// Commands around the shell: `list`, `alias`, and the names that `completion` offers. None of them
// loads the AWS SDK. What `alias` prints is code the user's shell evaluates: every word in it is
// quoted by that shell's rules (src/shell-quote.ts).
import os from 'node:os';
import path from 'node:path';
import {
  displayPath,
  findConfig,
  loadConfig,
  personalConfigPath,
  skippedWarning,
  type LoadedConfig,
} from '../config/load.js';
import type { Config } from '../config/schema.js';
import { EXIT } from '../errors.js';
import { commandLine, posixQuote, type Shell } from '../shell-quote.js';
import type { Terminal } from './terminal.js';

export type { Shell } from '../shell-quote.js';

async function load(configFlag: string | undefined, term: Terminal | undefined): Promise<LoadedConfig> {
  const loaded = await loadConfig(
    await findConfig({ flag: configFlag, env: process.env, cwd: process.cwd(), home: os.homedir() }),
  );
  for (const s of loaded.skipped) term?.warn(skippedWarning(s));
  return loaded;
}

/** The config's environment names; the config's own error (none found: `dbtunnel init`) if it has none. */
export async function environmentNames(configFlag: string | undefined): Promise<string[]> {
  return Object.keys((await load(configFlag, undefined)).config.environments);
}

function bastionText(b: Config['environments'][string]['bastion']): string {
  if (typeof b === 'string') return `Name=${b}`;
  if ('instanceId' in b) return b.instanceId;
  return Object.entries(b.tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

export async function listCommand(
  args: { config: string | undefined; json: boolean },
  term: Terminal,
): Promise<number> {
  const { config, file } = await load(args.config, term);
  if (args.json) {
    const environments = Object.entries(config.environments).map(([name, e]) => ({
      name,
      profile: e.profile ?? null,
      region: e.region ?? null,
      bastion: e.bastion,
      confirm: e.confirm ?? false,
      databases: Object.entries(e.databases).map(([db, d]) => ({
        name: db,
        host: d.host,
        port: d.port,
        localPort: d.localPort ?? null,
        engine: d.engine ?? null,
      })),
    }));
    term.json({ config: file, environments });
    return EXIT.ok;
  }
  term.info(term.paint('dim', displayPath(file)));
  for (const [name, e] of Object.entries(config.environments)) {
    const about = [
      e.profile && `profile ${e.profile}`,
      e.region,
      `bastion ${bastionText(e.bastion)}`,
      e.confirm && 'asks to confirm',
    ]
      .filter(Boolean)
      .join(', ');
    term.result(`${term.paint('bold', name)}  ${term.paint('dim', `(${about})`)}`);
    const dbs = Object.entries(e.databases);
    const width = Math.max(...dbs.map(([db]) => db.length));
    for (const [db, d] of dbs) {
      const local =
        d.localPort === undefined ? `${d.port} if free, else any` : d.localPort === 0 ? 'any' : String(d.localPort);
      term.result(`  ${db.padEnd(width)}  ${d.host}:${d.port}  → local ${local}${d.engine ? `  (${d.engine})` : ''}`);
    }
  }
  return EXIT.ok;
}

/** An alias's name: environment and database, which the config's schema keeps to these characters. */
const ALIAS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*-[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * The alias lines for a shell. bash and zsh: `alias name='…'`, whose body the shell parses again
 * when the alias is used, so the command inside is quoted once for that and once for the alias.
 * fish: a function (fish's own `alias` parses its body in ways of its own), whose body is quoted
 * once, by fish's rules. Pure.
 */
export function aliasLines(config: Config, shell: Shell, configFile: string | undefined): string[] {
  const lines: string[] = [];
  for (const [env, e] of Object.entries(config.environments)) {
    for (const db of Object.keys(e.databases)) {
      const name = `${env}-${db}`;
      if (!ALIAS_NAME.test(name)) continue; // never from a validated config
      const words = ['dbtunnel', ...(configFile ? ['--config', configFile] : []), env, db];
      if (shell === 'fish') {
        lines.push(
          `function ${name} --wraps dbtunnel --description ${commandLine('fish', [`dbtunnel ${env} ${db}`])}`,
          `    ${commandLine('fish', words)} $argv`,
          'end',
        );
      } else {
        lines.push(`alias ${name}=${posixQuote(commandLine(shell, words))}`);
      }
    }
  }
  return lines;
}

export function detectShell(env: NodeJS.ProcessEnv): Shell {
  const name = path.basename(env.SHELL ?? '');
  return name === 'zsh' || name === 'fish' ? name : 'bash';
}

export async function aliasCommand(
  args: { config: string | undefined; shell: Shell | undefined },
  term: Terminal,
): Promise<number> {
  const loaded = await load(args.config, term);
  // A config found in a project directory (or named on the command line) only applies there:
  // the aliases carry its absolute path so they work from anywhere. The personal one needs none.
  const configFile = loaded.file === personalConfigPath(process.env, os.homedir()) ? undefined : loaded.file;
  term.print(`${aliasLines(loaded.config, args.shell ?? detectShell(process.env), configFile).join('\n')}\n`);
  return EXIT.ok;
}

/** Environment and database names for shell completion; nothing (never an error) without a config. */
/**
 * What may come next on a command line being completed (`words`: what follows `dbtunnel`, the word
 * being completed last): environment names first, then that environment's databases. `tunnel`: the
 * line is a tunnel's (`dbtunnel <env> …`, the default command), whose options yargs does not list.
 */
/** The config completion reads (`--config` as typed, else found as usual), or undefined when none can be. */
export async function configForCompletion(words: readonly string[]): Promise<Config | undefined> {
  try {
    const flagAt = words.indexOf('--config');
    return (await load(flagAt >= 0 ? words[flagAt + 1] : undefined, undefined)).config;
  } catch {
    return undefined;
  }
}

export const FISH_COMPLETION = `# dbtunnel completions for fish.
# Install: dbtunnel completion --shell fish > ~/.config/fish/completions/dbtunnel.fish
function __dbtunnel_complete
    set -l tokens (commandline -opc) (commandline -ct)
    dbtunnel --get-yargs-completions $tokens 2>/dev/null
end
complete -c dbtunnel -f -a '(__dbtunnel_complete)'
`;
