// What a run reports, as it happens: one typed union, read by the terminal renderer (src/cli), written
// as `--json` lines, and carried by the background supervisor to whoever asks. `toRecord` is the one
// JSON shape of each event (README "For scripts"), for `--json` and for the supervisor alike. Pure.
import type { Bastion } from '../aws/bastion.js';
import type { TunnelError } from '../errors.js';
import type { Engine, TunnelSpec } from '../model.js';
import type { PathReport } from './network-check.js';
import type { Loopback } from './port.js';

export interface OpenTunnel {
  env: string;
  db: string;
  host: string;
  port: number;
  localPort: number;
  /** The loopback address the plugin bound, found without connecting. */
  address: Loopback | undefined;
  sessionId: string;
  target: string;
  engine?: Engine | undefined;
  /** Which session client carries it. */
  client?: 'plugin' | 'native' | undefined;
}

export type TunnelEvent =
  | { type: 'warning'; message: string }
  | { type: 'debug'; message: string }
  | { type: 'progress'; message: string }
  | { type: 'bastion'; bastion: Bastion; region: string; profile: string | undefined }
  | { type: 'ready'; tunnel: OpenTunnel; url: string | undefined }
  /** `diagnosing`: a look at the path has started (the first failure for this database in this run). */
  | { type: 'destination-failed'; tunnel: OpenTunnel; diagnosing: boolean }
  /** Why the bastion could not reach the database (or why that could not be found out). */
  | { type: 'path'; tunnel: OpenTunnel; report: PathReport }
  | { type: 'path-unknown'; tunnel: OpenTunnel; error: TunnelError }
  | { type: 'failed'; spec: TunnelSpec; error: TunnelError }
  | { type: 'ended'; tunnel: OpenTunnel; text: string; cause: 'aws' | 'failure' }
  | { type: 'reconnecting'; tunnel: OpenTunnel; attempt: number; delayMs: number }
  | { type: 'all-ready'; tunnels: OpenTunnel[] }
  | { type: 'closing'; reason: string };

/** What is said when the bastion cannot reach a database (the terminal and the supervisor's log). Pure. */
export function destinationFailedText(t: OpenTunnel, diagnosing: boolean): string {
  return (
    `The bastion could not connect to ${t.host}:${t.port} for ${t.db}.` +
    (diagnosing
      ? ' Looking at the security groups, network ACLs and routes between them…'
      : ` Its path was looked at after the first failure; dbtunnel doctor ${t.env} looks again.`)
  );
}

/** An event as a JSON line (`--json`, the supervisor), or undefined for what is not one. Pure. */
export type EventRecord = { event: string } & Record<string, unknown>;

export function toRecord(e: TunnelEvent): EventRecord | undefined {
  switch (e.type) {
    case 'warning':
      return { event: 'warning', message: e.message };
    case 'bastion':
      return {
        event: 'bastion',
        instanceId: e.bastion.instanceId,
        tags: e.bastion.tags,
        why: e.bastion.why,
        region: e.region,
        profile: e.profile ?? null,
      };
    case 'ready': {
      const t = e.tunnel;
      return {
        event: 'ready',
        env: t.env,
        db: t.db,
        host: t.address ?? '127.0.0.1',
        port: t.localPort,
        sessionId: t.sessionId,
        client: t.client ?? 'plugin',
        url: e.url ?? null,
      };
    }
    case 'failed':
      return {
        event: 'error',
        env: e.spec.env,
        db: e.spec.db,
        kind: e.error.kind,
        message: e.error.message,
        hint: e.error.hint ?? null,
        exitCode: e.error.exitCode,
      };
    case 'ended':
      return {
        event: 'ended',
        env: e.tunnel.env,
        db: e.tunnel.db,
        sessionId: e.tunnel.sessionId,
        cause: e.text,
        by: e.cause,
      };
    case 'reconnecting':
      return { event: 'reconnecting', env: e.tunnel.env, db: e.tunnel.db, attempt: e.attempt, delayMs: e.delayMs };
    case 'path':
      return { event: 'path', env: e.tunnel.env, db: e.tunnel.db, ...pathRecord(e.report) };
    case 'path-unknown':
      return {
        event: 'path',
        env: e.tunnel.env,
        db: e.tunnel.db,
        verdict: 'unknown',
        error: e.error.message,
        hint: e.error.hint ?? null,
      };
    default:
      return undefined;
  }
}

/** A path finding as JSON (`--json`, the supervisor's log). Pure. */
export function pathRecord(r: PathReport): Record<string, unknown> {
  const b = r.blocking;
  return {
    verdict: b ? b.verdict : 'open',
    blocking: b
      ? { step: b.step, resources: b.resources, why: b.why, fix: b.fix ?? null, advice: b.advice ?? null }
      : null,
    hops: r.hops.map((h) => ({ step: h.step, verdict: h.verdict, resources: h.resources, why: h.why })),
    limits: r.limits,
  };
}
