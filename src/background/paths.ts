// Where the background supervisor lives: its socket, its record of what it holds, its own log — in
// `$XDG_RUNTIME_DIR/dbtunnel` (a per-user directory the system empties at logout and reboot), else
// dbtunnel's state directory; made 0700 and checked to be the user's before anything is opened there.
//
// The AWS SDK reads its settings from the process's environment (AWS_PROFILE, AWS_CONFIG_FILE, the
// endpoints, proxies…), so a supervisor serves the environment it was started with: tunnels asked
// for from a shell with other AWS settings go to a supervisor of their own. The key of a supervisor
// is a digest of those settings and of the dbtunnel that runs it. Pure, but for the environment read.
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pkg from '../../package.json' with { type: 'json' };
import { xdgBase } from '../xdg.js';

/**
 * The dbtunnel that runs this: where its bundle is, and its version. A supervisor serves the install
 * that started it; after an upgrade in place, the next `up -d` starts a new one (the old one keeps
 * the tunnels it holds, and `ps` and `down` still reach it).
 */
export function installId(): string {
  return `${fileURLToPath(new URL('.', import.meta.url))}@${pkg.version}`;
}

/** The directory of the background supervisors of this user. */
export function backgroundDir(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  const runtime = env.XDG_RUNTIME_DIR;
  return runtime && path.isAbsolute(runtime)
    ? path.join(runtime, 'dbtunnel')
    : path.join(xdgBase('state', env, home), 'dbtunnel');
}

/** The variables that change what a tunnel does, as the SDK and the plugin read them. */
const SETTINGS = new Set([
  ...['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'],
  ...['PATH', 'HOME', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR'],
]);
const isSetting = (name: string) => name.startsWith('AWS_') || SETTINGS.has(name);

/** The supervisor for this environment and this dbtunnel. */
export function supervisorKey(env: NodeJS.ProcessEnv, install: string): string {
  const settings = Object.entries(env)
    .filter(([k, v]) => isSetting(k) && v !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256')
    .update(JSON.stringify([install, settings]))
    .digest('hex')
    .slice(0, 12);
}

export interface SupervisorFiles {
  dir: string;
  key: string;
  /** Where it listens. */
  socket: string;
  /** The tunnels it holds, rewritten at each change: what was lost, should it die. */
  held: string;
  /** What a supervisor that died held: written by the next one (or `ps`) from `held`, reported once. */
  lost: string;
  /** Taken while a starting supervisor looks for a live one and takes the socket's path (lock.ts). */
  lock: string;
  /** Its own output (what it could not tell a client). */
  log: string;
}

export function supervisorFiles(dir: string, key: string): SupervisorFiles {
  return {
    dir,
    key,
    socket: path.join(dir, `supervisor-${key}.sock`),
    held: path.join(dir, `supervisor-${key}.held.json`),
    lost: path.join(dir, `supervisor-${key}.lost.json`),
    lock: path.join(dir, `supervisor-${key}.lock`),
    log: path.join(dir, `supervisor-${key}.log`),
  };
}

/** The keys of the supervisors whose files are in a directory listing. Pure. */
export function keysIn(names: readonly string[]): string[] {
  return [
    ...new Set(names.flatMap((n) => /^supervisor-([0-9a-f]{12})\.(sock|held\.json|lost\.json)$/.exec(n)?.[1] ?? [])),
  ].sort();
}

/** A Unix socket's path is limited to about 104 bytes (macOS) or 108 (Linux). */
export const MAX_SOCKET_PATH = 100;
