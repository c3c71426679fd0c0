// What `up -d`, `ps`, `down` and `logs` say to the background supervisor, and what it answers: one
// definition for both sides. Messages are JSON objects, one per line, over a Unix socket in a
// directory only the user may enter. Each side reads the other's lines as untrusted input: a line is
// bounded in length, and a message is only what decodeRequest / decodeReply accept.
import { EXIT, type ErrorKind } from '../errors.js';
import { type EnvironmentPlan, type ReconnectMode, SESSION_CLIENTS } from '../model.js';
import type { EventRecord } from '../tunnel/events.js';

/** A tunnel held in the background, as the supervisor reports it. */
export interface HeldTunnel {
  env: string;
  db: string;
  /** The loopback address and port the plugin bound. */
  host: string;
  port: number;
  /** The current session (a new one after each reconnect). */
  sessionId: string;
  /** The config file it was opened from: the same names from another config are another tunnel. */
  config: string;
  startedAt: string;
  /** down: its session ended, and it waits to reconnect (or to close). */
  state: 'up' | 'down' | 'reconnecting';
  attempt?: number | undefined;
  /** The supervisor's pid. */
  pid: number;
}

export interface UpRequest {
  type: 'up';
  plan: EnvironmentPlan;
  config: string;
  timeoutMs: number;
  reconnect: { mode: ReconnectMode; maxAttempts: number };
}

export type Request =
  | UpRequest
  /** Close what this connection's `up` started, ready or not (Ctrl-C while up -d waits). */
  | { type: 'cancel' }
  | { type: 'list' }
  | { type: 'down'; env?: string | undefined; db?: string | undefined }
  | { type: 'logs'; env?: string | undefined; db?: string | undefined; follow: boolean };

export interface WireError {
  kind: ErrorKind;
  message: string;
  details: string[];
  hint: string | undefined;
}

export type Reply =
  | { type: 'tunnel'; tunnel: HeldTunnel; already: boolean }
  | { type: 'error'; db?: string | undefined; error: WireError }
  | { type: 'list'; tunnels: HeldTunnel[] }
  | { type: 'closed'; tunnel: HeldTunnel }
  | { type: 'log'; env: string; db: string; at: string; record: EventRecord }
  | { type: 'done' }
  /** This process is not (or no longer) the supervisor the socket's path names: connect again. */
  | { type: 'not-me' };

/** A message line is JSON of a few KiB; one this long is not ours. */
export const MAX_LINE = 1024 * 1024;

export function encode(message: Request | Reply): string {
  return `${JSON.stringify(message)}\n`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optionalString = (v: unknown) => v === undefined || typeof v === 'string';

/** A request from a client, or undefined for anything else. Pure. */
export function decodeRequest(line: string): Request | undefined {
  let m: unknown;
  try {
    m = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isObject(m)) return undefined;
  switch (m.type) {
    case 'up': {
      const plan = m.plan as EnvironmentPlan | undefined;
      const reconnect = m.reconnect as UpRequest['reconnect'] | undefined;
      const ok =
        isObject(plan) &&
        typeof plan.env === 'string' &&
        Array.isArray(plan.tunnels) &&
        plan.tunnels.every(
          (t) => isObject(t) && typeof t.db === 'string' && typeof t.host === 'string' && typeof t.port === 'number',
        ) &&
        isObject(plan.bastion) &&
        (plan.sessionClient === undefined || (SESSION_CLIENTS as readonly unknown[]).includes(plan.sessionClient)) &&
        typeof m.config === 'string' &&
        typeof m.timeoutMs === 'number' &&
        isObject(reconnect) &&
        ['always', 'on-failure', 'never'].includes(String(reconnect.mode)) &&
        typeof reconnect.maxAttempts === 'number';
      return ok ? (m as unknown as UpRequest) : undefined;
    }
    case 'cancel':
    case 'list':
      return { type: m.type };
    case 'down':
      return optionalString(m.env) && optionalString(m.db)
        ? { type: 'down', env: m.env as string | undefined, db: m.db as string | undefined }
        : undefined;
    case 'logs':
      return optionalString(m.env) && optionalString(m.db)
        ? { type: 'logs', env: m.env as string | undefined, db: m.db as string | undefined, follow: m.follow === true }
        : undefined;
    default:
      return undefined;
  }
}

const isErrorKind = (k: string): k is ErrorKind => Object.hasOwn(EXIT, k) && !['ok', 'sighup', 'sigterm'].includes(k);

/** A reply from the supervisor, or undefined for anything else. Pure. */
export function decodeReply(line: string): Reply | undefined {
  let m: unknown;
  try {
    m = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isObject(m) || typeof m.type !== 'string') return undefined;
  const tunnel = (t: unknown): t is HeldTunnel =>
    isObject(t) &&
    typeof t.env === 'string' &&
    typeof t.db === 'string' &&
    typeof t.port === 'number' &&
    typeof t.host === 'string';
  switch (m.type) {
    case 'tunnel':
      return tunnel(m.tunnel) ? { type: 'tunnel', tunnel: m.tunnel, already: m.already === true } : undefined;
    case 'closed':
      return tunnel(m.tunnel) ? { type: 'closed', tunnel: m.tunnel } : undefined;
    case 'list':
      return Array.isArray(m.tunnels) && m.tunnels.every(tunnel)
        ? { type: 'list', tunnels: m.tunnels as HeldTunnel[] }
        : undefined;
    case 'error': {
      const e = m.error;
      if (!isObject(e) || typeof e.message !== 'string' || typeof e.kind !== 'string') return undefined;
      return {
        type: 'error',
        db: typeof m.db === 'string' ? m.db : undefined,
        error: {
          kind: isErrorKind(e.kind) ? e.kind : 'internal',
          message: e.message,
          details: Array.isArray(e.details) ? e.details.map(String) : [],
          hint: typeof e.hint === 'string' ? e.hint : undefined,
        },
      };
    }
    case 'log':
      return typeof m.env === 'string' &&
        typeof m.db === 'string' &&
        typeof m.at === 'string' &&
        isObject(m.record) &&
        typeof m.record.event === 'string'
        ? { type: 'log', env: m.env, db: m.db, at: m.at, record: m.record as EventRecord }
        : undefined;
    case 'done':
    case 'not-me':
      return { type: m.type };
    default:
      return undefined;
  }
}

/** Lines of a stream, each bounded: a longer one is an error the reader reports. */
export function lineReader(onLine: (line: string) => void, onTooLong: () => void): (chunk: string) => void {
  let rest = '';
  return (chunk) => {
    rest += chunk;
    for (let nl = rest.indexOf('\n'); nl !== -1; nl = rest.indexOf('\n')) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (line.trim()) onLine(line);
    }
    if (rest.length > MAX_LINE) {
      rest = '';
      onTooLong();
    }
  };
}
