// A local AWS stand-in speaking the real wire protocols — EC2 query (XML), SSM JSON 1.1, STS and IAM
// query (XML) — reached by the real SDK through AWS_ENDPOINT_URL_<SERVICE>. It also plays the SSM
// agent's side of the data channel for the fake session-manager-plugin (test/support/fake-plugin).
// This file holds the world's state, the routing and what the services share (who calls, injected
// failures, IAM decisions); each service is a module of its own under emulator/.
//
// Its error texts are written from docs/aws-facts.md §denials and AWS's documentation, never produced by
// dbtunnel's code, so a parser bug cannot hide behind a matching formatter.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
// Decisions come from dbtunnel's evaluator (itself table-tested on AWS's documented examples); the
// messages below are written from docs/aws-facts.md §denials, never produced by dbtunnel's code.
import { evaluateStrict } from '../../src/iam/evaluate.js';
import { type AgentRecord, attachAgent } from './emulator/agent.js';
import { dataChannel } from './emulator/data-channel.js';
import { ec2 } from './emulator/ec2.js';
import { iam } from './emulator/iam.js';
import { rds } from './emulator/rds.js';
import type { EmuInsights } from './emulator/reachability.js';
import {
  DEFAULT_ACCOUNT,
  DEFAULT_REGION,
  DEV_USER,
  type EmuCall,
  type EmuFailure,
  type EmuPrincipal,
  type EmuSession,
  type Scenario,
} from './emulator/model.js';
import { ssm } from './emulator/ssm.js';
import { sts } from './emulator/sts.js';
import { accountOf, readBody } from './emulator/wire.js';

export * from './emulator/model.js';

export class Emulator {
  readonly calls: EmuCall[] = [];
  readonly sessions = new Map<string, EmuSession>();
  /** EC2's encoded authorization failure messages, for sts:DecodeAuthorizationMessage. */
  readonly encodedMessages = new Map<string, { action: string; principal: string }>();
  /** What the agent saw of each native data channel: its signature, its frames, its handshake. */
  readonly agentRecords: AgentRecord[] = [];
  /** Reachability Analyzer's paths and analyses not deleted (yet). */
  readonly insights: EmuInsights = { paths: new Map(), analyses: new Map() };
  /** Every token this emulator has handed out, for leak searches. */
  readonly tokens: string[] = [];
  scenario: Scenario;
  /** The data channel accepts and never answers: the plugin hangs after "Starting session…". */
  hangDataChannel = false;
  url = '';
  server: http.Server;
  principals = new Map<string, EmuPrincipal>();
  timers = new Set<NodeJS.Timeout>();

  constructor(scenario: Scenario) {
    this.scenario = scenario;
    this.server = http.createServer((req, res) => void this.handle(req, res));
    attachAgent(this, this.server);
    for (const p of scenario.principals ?? [DEV_USER]) this.principals.set(p.accessKeyId, p);
  }

  get account(): string {
    return this.scenario.account ?? DEFAULT_ACCOUNT;
  }

  get region(): string {
    return this.scenario.region ?? DEFAULT_REGION;
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sessions.values()) for (const c of s.channels) c.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** The variables that point the SDK (and the AWS CLI) here. */
  endpointEnv(): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_EC2: this.url,
      AWS_ENDPOINT_URL_SSM: this.url,
      AWS_ENDPOINT_URL_STS: this.url,
      AWS_ENDPOINT_URL_IAM: this.url,
      // RDS is not emulated (moto_server has it: see Scenario.upstream); never sent to AWS.
      AWS_ENDPOINT_URL_RDS: this.url,
    };
  }

  callsOf(action: string): EmuCall[] {
    return this.calls.filter((c) => c.action === action);
  }

  activeSessions(): EmuSession[] {
    return [...this.sessions.values()].filter((s) => s.status === 'Connected');
  }

  /** AWS ends a session (idle timeout, maximum duration, terminated elsewhere). */
  endSession(id: string, text = `Your session timed out due to inactivity and has been terminated.`): void {
    const s = this.sessions.get(id);
    if (s?.status !== 'Connected') return;
    s.status = 'Terminated';
    s.endedBy = 'aws';
    for (const c of s.channels) c.end(`${JSON.stringify({ type: 'end', text })}\n`);
    s.channels.clear();
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', this.url);
    const channel = /^\/v1\/data-channel\/([^/]+)\/(open|terminate)$/.exec(url.pathname);
    if (channel) return dataChannel(this, channel[1]!, channel[2] as 'open' | 'terminate', body, res);

    if (this.scenario.latencyMs) await new Promise((r) => setTimeout(r, this.scenario.latencyMs));
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string' && target.startsWith('AmazonSSM.')) {
      return ssm(this, target.slice('AmazonSSM.'.length), req, body, res);
    }
    const form = new URLSearchParams(body);
    const action = form.get('Action') ?? '';
    if (form.get('Version') === '2011-06-15') return sts(this, action, req, form, res);
    if (form.get('Version') === '2010-05-08') return iam(this, action, req, form, res);
    if (form.get('Version') === '2014-10-31') return rds(this, action, req, form, res);
    return ec2(this, action, req, form, res);
  }

  /**
   * The common start of a query-protocol call: recorded; refused as the service refuses unknown or
   * expired keys, or as the test injected; else its caller (undefined: the refusal was sent).
   */
  admit(
    service: EmuCall['service'],
    action: string,
    req: http.IncomingMessage,
    form: URLSearchParams,
    fail: (code: string, message: string, status?: number) => void,
    refusals: Record<'unknown' | 'expired', [code: string, message: string, status?: number]>,
  ): EmuPrincipal | undefined {
    const { principal, error } = this.caller(req);
    this.record(service, action, Object.fromEntries(form), principal);
    if (error) {
      fail(...refusals[error]);
      return undefined;
    }
    const injected = this.injected(action);
    if (injected) {
      fail(injected.code, injected.message, injected.status ?? 403);
      return undefined;
    }
    return principal;
  }

  caller(req: http.IncomingMessage): { principal?: EmuPrincipal; error?: 'unknown' | 'expired' } {
    const auth = req.headers.authorization ?? '';
    const key = /Credential=([^/]+)\//.exec(auth)?.[1];
    const p = key ? this.principals.get(key) : undefined;
    if (!p) return { error: 'unknown' };
    if (p.sessionToken && req.headers['x-amz-security-token'] !== p.sessionToken) return { error: 'unknown' };
    if (p.expired) return { principal: p, error: 'expired' };
    return { principal: p };
  }

  injected(action: string): EmuFailure | undefined {
    const f = this.scenario.failures?.[action];
    if (!f) return undefined;
    if (f.times !== undefined) {
      if (f.times <= 0) return undefined;
      f.times -= 1;
    }
    return f;
  }

  /**
   * IAM for one request: undefined when allowed, else AWS's sentence for it. `resource` undefined
   * means an action without resource-level permissions (AWS then names no resource).
   */
  authorize(
    p: EmuPrincipal,
    action: string,
    resource: string | undefined,
    context: Record<string, string> = {},
  ): string | undefined {
    if (!p.policies) return undefined;
    const username = /:user\/(?:.*\/)?([^/]+)$/.exec(p.arn)?.[1];
    const decision = evaluateStrict(
      {
        action,
        resource: resource ?? '*',
        context,
        principal: { arn: p.arn, userId: p.userId, username, account: accountOf(p.arn) },
      },
      {
        identity: p.policies.map((document, i) => ({ name: `policy-${i + 1}`, document })),
        scps: (this.scenario.scps ?? []).map((level, l) =>
          level.map((document, i) => ({ name: `scp-${l}-${i}`, document })),
        ),
        boundary: p.boundary ? { name: 'boundary', document: p.boundary } : undefined,
      },
    );
    if (decision.decision === 'allow') return undefined;
    const head = `User: ${p.arn} is not authorized to perform: ${action}${resource ? ` on resource: ${resource}` : ''}`;
    if (decision.decision === 'implicit-deny') {
      if (decision.layer === 'service control policy')
        return `${head} with an explicit deny in a service control policy`;
      return `${head} because no ${decision.layer} allows the ${action} action`;
    }
    const layer = decision.by.layer;
    if (layer === 'identity-based policy') return `${head} with an explicit deny in an identity-based policy`;
    if (layer === 'session policy') return `${head} with an explicit deny in a sessions policy`;
    return `${head} with an explicit deny in a ${layer}`;
  }

  instanceArn(id: string): string {
    return `arn:aws:ec2:${this.region}:${this.account}:instance/${id}`;
  }

  sessionArn(id: string): string {
    return `arn:aws:ssm:${this.region}:${this.account}:session/${id}`;
  }

  record(service: EmuCall['service'], action: string, input: Record<string, unknown>, principal?: EmuPrincipal): void {
    this.calls.push({ service, action, input, principal: principal?.arn, at: Date.now() });
  }
}

export async function startEmulator(scenario: Scenario): Promise<Emulator> {
  return new Emulator(scenario).start();
}
