// A local AWS stand-in speaking the real wire protocols — EC2 query (XML), SSM JSON 1.1, STS query
// (XML) — reached by the real SDK through AWS_ENDPOINT_URL_<SERVICE>. It also plays the SSM agent's
// side of the data channel for the fake session-manager-plugin (test/support/fake-plugin).
//
// Its error texts are written from docs/aws-facts.md §denials and AWS's documentation, never produced by
// dbtunnel's code, so a parser bug cannot hide behind a matching formatter.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
// Decisions come from dbtunnel's evaluator (itself table-tested on AWS's documented examples); the
// messages below are written from docs/aws-facts.md §denials, never produced by dbtunnel's code.
import { evaluateStrict, type PolicyDocument } from '../../src/iam/evaluate.js';

export type InstanceState = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

export interface EmuInstance {
  id: string;
  tags?: Record<string, string>;
  state?: InstanceState;
  launchTime?: string;
  /** Session Manager's view: Online unless said otherwise. */
  ping?: 'Online' | 'ConnectionLost' | 'Inactive';
  /** > 3.0.196.0 makes the plugin use multiplexed mode. */
  agentVersion?: string;
}

export interface EmuPrincipal {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  arn: string;
  userId: string;
  expired?: boolean;
  /** Identity policies. When absent, this principal may do anything (IAM is not enforced). */
  policies?: PolicyDocument[];
  boundary?: PolicyDocument;
}

export interface EmuRole {
  arn: string;
  /** When set, AssumeRole needs SerialNumber and this TokenCode. */
  mfaSerial?: string;
  mfaCode?: string;
  /** The role's policies, given to every session of it. */
  policies?: PolicyDocument[];
  boundary?: PolicyDocument;
}

export interface EmuFailure {
  code: string;
  message: string;
  status?: number;
  /** How many calls fail; undefined: all. */
  times?: number;
}

export interface Scenario {
  account?: string;
  region?: string;
  principals?: EmuPrincipal[];
  roles?: EmuRole[];
  instances?: EmuInstance[];
  /** What the bastion reaches for a document's host:port → where that really is on this machine. */
  network?: Record<string, string>;
  /** Errors to answer with, by operation name (StartSession, DescribeInstances, …). */
  failures?: Record<string, EmuFailure>;
  /** Added to every AWS API answer (not to the data channel). */
  latencyMs?: number;
  /** AWS ends each session after this long (an idle or maximum-duration timeout). */
  sessionEndsAfterMs?: number;
  /** Service control policies, one list per level of the organization. */
  scps?: PolicyDocument[][];
}

export interface EmuCall {
  service: 'ec2' | 'ssm' | 'sts' | 'iam';
  action: string;
  input: Record<string, unknown>;
  principal: string | undefined;
  at: number;
}

export interface EmuSession {
  id: string;
  target: string;
  owner: string;
  documentName: string;
  parameters: Record<string, string[]>;
  token: string;
  startedAt: Date;
  status: 'Connected' | 'Terminated';
  /** Who ended it: the TerminateSession API, the plugin over its data channel, or AWS. */
  endedBy?: 'api' | 'plugin' | 'aws';
  channels: Set<http.ServerResponse>;
}

export const DEFAULT_ACCOUNT = '123456789012';
export const DEFAULT_REGION = 'ap-northeast-1';
export const DEV_USER: EmuPrincipal = {
  accessKeyId: 'AKIAEMULATORDEV00001',
  secretAccessKey: 'emulator-dev-secret',
  arn: `arn:aws:iam::${DEFAULT_ACCOUNT}:user/dev`,
  userId: 'AIDAEMULATORDEV00001',
};

const STATE_CODES: Record<InstanceState, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export const PORT_FORWARDING_DOCUMENT = 'AWS-StartPortForwardingSessionToRemoteHost';
const HOST_PATTERN = /^[^,$^&()!;'"<>`{}[\]|#=]{3,}$/;

export class Emulator {
  readonly calls: EmuCall[] = [];
  readonly sessions = new Map<string, EmuSession>();
  /** EC2's encoded authorization failure messages, for sts:DecodeAuthorizationMessage. */
  readonly encodedMessages = new Map<string, { action: string; principal: string }>();
  /** Every token this emulator has handed out, for leak searches. */
  readonly tokens: string[] = [];
  scenario: Scenario;
  /** The data channel accepts and never answers: the plugin hangs after "Starting session…". */
  hangDataChannel = false;
  url = '';
  private server: http.Server;
  private principals = new Map<string, EmuPrincipal>();
  private timers = new Set<NodeJS.Timeout>();

  constructor(scenario: Scenario) {
    this.scenario = scenario;
    this.server = http.createServer((req, res) => void this.handle(req, res));
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

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', this.url);
    const channel = /^\/v1\/data-channel\/([^/]+)\/(open|terminate)$/.exec(url.pathname);
    if (channel) return this.dataChannel(channel[1]!, channel[2] as 'open' | 'terminate', body, res);

    if (this.scenario.latencyMs) await new Promise((r) => setTimeout(r, this.scenario.latencyMs));
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string' && target.startsWith('AmazonSSM.')) {
      return this.ssm(target.slice('AmazonSSM.'.length), req, body, res);
    }
    const form = new URLSearchParams(body);
    const action = form.get('Action') ?? '';
    if (form.get('Version') === '2011-06-15') return this.sts(action, req, form, res);
    if (form.get('Version') === '2010-05-08') return this.iam(action, req, form, res);
    return this.ec2(action, req, form, res);
  }

  private caller(req: http.IncomingMessage): { principal?: EmuPrincipal; error?: 'unknown' | 'expired' } {
    const auth = req.headers.authorization ?? '';
    const key = /Credential=([^/]+)\//.exec(auth)?.[1];
    const p = key ? this.principals.get(key) : undefined;
    if (!p) return { error: 'unknown' };
    if (p.sessionToken && req.headers['x-amz-security-token'] !== p.sessionToken) return { error: 'unknown' };
    if (p.expired) return { principal: p, error: 'expired' };
    return { principal: p };
  }

  private injected(action: string): EmuFailure | undefined {
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

  private instanceArn(id: string): string {
    return `arn:aws:ec2:${this.region}:${this.account}:instance/${id}`;
  }

  private sessionArn(id: string): string {
    return `arn:aws:ssm:${this.region}:${this.account}:session/${id}`;
  }

  private record(
    service: EmuCall['service'],
    action: string,
    input: Record<string, unknown>,
    principal?: EmuPrincipal,
  ): void {
    this.calls.push({ service, action, input, principal: principal?.arn, at: Date.now() });
  }

  // ---- SSM (JSON 1.1) -------------------------------------------------------------------------

  private ssm(action: string, req: http.IncomingMessage, body: string, res: http.ServerResponse) {
    const input = (body ? JSON.parse(body) : {}) as Record<string, unknown>;
    const { principal, error } = this.caller(req);
    this.record('ssm', action, input, principal);
    const fail = (code: string, message: string, status = 400) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId() });
      res.end(JSON.stringify({ __type: code, message }));
    };
    const ok = (out: unknown) => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId() });
      res.end(JSON.stringify(out));
    };
    if (error === 'unknown')
      return fail('UnrecognizedClientException', 'The security token included in the request is invalid.');
    if (error === 'expired')
      return fail('ExpiredTokenException', 'The security token included in the request is expired');
    const injected = this.injected(action);
    if (injected) return fail(injected.code, injected.message, injected.status);
    const denied = this.ssmDenied(action, input, principal!);
    if (denied) return fail('AccessDeniedException', denied);

    switch (action) {
      case 'StartSession': {
        const targetId = String(input.Target ?? '');
        const doc = String(input.DocumentName ?? '');
        const params = (input.Parameters ?? {}) as Record<string, string[]>;
        const inst = (this.scenario.instances ?? []).find((i) => i.id === targetId);
        if (doc !== PORT_FORWARDING_DOCUMENT)
          return fail('InvalidDocument', `Document with name ${doc} does not exist.`);
        for (const [k, v] of Object.entries(params)) {
          if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
            return fail('InvalidParameters', `Parameter "${k}" must be a list of strings.`);
          }
        }
        const host = params.host?.[0] ?? '';
        if (!HOST_PATTERN.test(host)) {
          return fail(
            'InvalidParameters',
            `Parameter "host" "${host}" failed to satisfy constraint: Member must satisfy regular expression pattern: ^[^,$^&\\(\\)!;'"<>\\\`{}\\[\\]\\|#=]{3,}$`,
          );
        }
        for (const k of ['portNumber', 'localPortNumber']) {
          if (params[k] && !/^\d+$/.test(params[k]![0] ?? ''))
            return fail('InvalidParameters', `Parameter "${k}" must be digits.`);
        }
        if (!inst || (inst.state ?? 'running') !== 'running' || (inst.ping ?? 'Online') !== 'Online') {
          return fail('TargetNotConnected', `${targetId} is not connected.`);
        }
        const id = `${callerName(principal!.arn)}-${randomBytes(9).toString('hex').slice(0, 17)}`;
        const token = `EMUTOKEN${randomBytes(24).toString('base64url')}`;
        const session: EmuSession = {
          id,
          target: targetId,
          owner: principal!.arn,
          documentName: doc,
          parameters: params,
          token,
          startedAt: new Date(),
          status: 'Connected',
          channels: new Set(),
        };
        this.sessions.set(id, session);
        this.tokens.push(token);
        if (this.scenario.sessionEndsAfterMs) {
          const t = setTimeout(
            () => this.endSession(id, 'Your session timed out due to inactivity and has been terminated.'),
            this.scenario.sessionEndsAfterMs,
          );
          this.timers.add(t);
        }
        return ok({ SessionId: id, TokenValue: token, StreamUrl: this.streamUrl(id) });
      }
      case 'ResumeSession': {
        const s = this.sessions.get(String(input.SessionId));
        if (s?.status !== 'Connected')
          return fail('DoesNotExistException', `Session ${String(input.SessionId)} does not exist.`);
        s.token = `EMUTOKEN${randomBytes(24).toString('base64url')}`;
        this.tokens.push(s.token);
        return ok({ SessionId: s.id, TokenValue: s.token, StreamUrl: this.streamUrl(s.id) });
      }
      case 'TerminateSession': {
        const s = this.sessions.get(String(input.SessionId));
        if (s && s.status === 'Connected') {
          s.status = 'Terminated';
          s.endedBy = 'api';
          for (const c of s.channels) c.end(`${JSON.stringify({ type: 'end', text: 'Session terminated.' })}\n`);
          s.channels.clear();
        }
        return ok({ SessionId: String(input.SessionId) });
      }
      case 'DescribeSessions': {
        const state = String(input.State ?? 'Active');
        const filters = (input.Filters ?? []) as { key: string; value: string }[];
        const sessions = [...this.sessions.values()]
          .filter((s) => (state === 'Active' ? s.status === 'Connected' : s.status !== 'Connected'))
          .filter((s) =>
            filters.every((f) =>
              f.key === 'Owner'
                ? s.owner === f.value
                : f.key === 'Target'
                  ? s.target === f.value
                  : f.key === 'SessionId'
                    ? s.id === f.value
                    : true,
            ),
          );
        return ok({
          Sessions: sessions.map((s) => ({
            SessionId: s.id,
            Target: s.target,
            Status: s.status,
            StartDate: s.startedAt.getTime() / 1000,
            Owner: s.owner,
            DocumentName: s.documentName,
          })),
        });
      }
      case 'DescribeInstanceInformation': {
        const filters = [
          ...((input.Filters ?? []) as { Key: string; Values: string[] }[]),
          ...((input.InstanceInformationFilterList ?? []) as { key: string; valueSet: string[] }[]).map((f) => ({
            Key: f.key,
            Values: f.valueSet,
          })),
        ];
        const ids = filters.find((f) => f.Key === 'InstanceIds')?.Values;
        const list = (this.scenario.instances ?? [])
          .filter((i) => (i.state ?? 'running') !== 'terminated')
          .filter((i) => !ids || ids.includes(i.id))
          .map((i) => ({
            InstanceId: i.id,
            PingStatus: i.ping ?? 'Online',
            AgentVersion: i.agentVersion ?? '3.3.1142.0',
            PlatformType: 'Linux',
            ResourceType: 'EC2Instance',
            LastPingDateTime: Date.now() / 1000,
          }));
        return ok({ InstanceInformationList: list });
      }
      default:
        return fail('UnknownOperationException', `Unknown operation ${action}`);
    }
  }

  /** StartSession is authorized twice: the target instance, then the session document. */
  private ssmDenied(action: string, input: Record<string, unknown>, p: EmuPrincipal): string | undefined {
    const iamAction = `ssm:${action}`;
    if (action === 'StartSession') {
      const target = String(input.Target ?? '');
      const inst = (this.scenario.instances ?? []).find((i) => i.id === target);
      const tags: Record<string, string> = {};
      for (const [k, v] of Object.entries(inst?.tags ?? {})) {
        tags[`ssm:resourceTag/${k}`] = v;
        tags[`aws:ResourceTag/${k}`] = v;
      }
      const doc = String(input.DocumentName ?? '');
      const docArn = `arn:aws:ssm:${this.region}:${doc.startsWith('AWS-') ? '' : this.account}:document/${doc}`;
      return this.authorize(p, iamAction, this.instanceArn(target), tags) ?? this.authorize(p, iamAction, docArn);
    }
    if (action === 'TerminateSession' || action === 'ResumeSession') {
      const s = this.sessions.get(String(input.SessionId));
      const context: Record<string, string> = s
        ? {
            'ssm:resourceTag/aws:ssmmessages:session-id': this.ownerUserId(s),
            'ssm:resourceTag/aws:ssmmessages:target-id': s.target,
          }
        : {};
      return this.authorize(p, iamAction, this.sessionArn(String(input.SessionId)), context);
    }
    return this.authorize(p, iamAction, undefined);
  }

  private ownerUserId(s: EmuSession): string {
    return [...this.principals.values()].find((p) => p.arn === s.owner)?.userId ?? '';
  }

  private streamUrl(id: string): string {
    return `${this.url.replace(/^http/, 'ws')}/v1/data-channel/${id}?role=publish_subscribe&cell-number=emulator`;
  }

  // ---- the agent's side of the data channel (for the fake plugin) ----------------------------

  private dataChannel(id: string, op: 'open' | 'terminate', body: string, res: http.ServerResponse) {
    const s = this.sessions.get(id);
    let token: string | undefined;
    try {
      token = (JSON.parse(body) as { TokenValue?: string }).TokenValue;
    } catch {
      token = undefined;
    }
    if (!s || token !== s.token) {
      res.writeHead(403).end(JSON.stringify({ message: 'invalid token' }));
      return;
    }
    if (op === 'terminate') {
      if (s.status === 'Connected') {
        s.status = 'Terminated';
        s.endedBy = 'plugin';
      }
      for (const c of s.channels) c.end();
      s.channels.clear();
      res.writeHead(200).end('{}');
      return;
    }
    const owner = [...this.principals.values()].find((p) => p.arn === s.owner);
    const channelDenied =
      owner &&
      this.authorize(owner, 'ssmmessages:OpenDataChannel', this.sessionArn(id), {
        'ssm:resourceTag/aws:ssmmessages:session-id': owner.userId,
      });
    if (channelDenied) {
      res.writeHead(403).end(JSON.stringify({ message: channelDenied }));
      return;
    }
    if (this.hangDataChannel) {
      s.channels.add(res);
      return;
    }
    if (s.status !== 'Connected') {
      res.writeHead(410).end(JSON.stringify({ message: 'session terminated' }));
      return;
    }
    const inst = (this.scenario.instances ?? []).find((i) => i.id === s.target);
    const dest = `${s.parameters.host?.[0]}:${s.parameters.portNumber?.[0]}`;
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(
      `${JSON.stringify({ type: 'open', destination: this.scenario.network?.[dest] ?? dest, agentVersion: inst?.agentVersion ?? '3.3.1142.0' })}\n`,
    );
    s.channels.add(res);
    res.on('close', () => s.channels.delete(res));
  }

  // ---- EC2 (query → XML) ----------------------------------------------------------------------

  private ec2(action: string, req: http.IncomingMessage, form: URLSearchParams, res: http.ServerResponse) {
    const { principal, error } = this.caller(req);
    this.record('ec2', action, Object.fromEntries(form), principal);
    const fail = (code: string, message: string, status = 400) => {
      res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8' });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${xml(message)}</Message></Error></Errors><RequestID>${requestId()}</RequestID></Response>`,
      );
    };
    if (error === 'unknown')
      return fail('AuthFailure', 'AWS was not able to validate the provided access credentials', 401);
    if (error === 'expired') return fail('RequestExpired', 'Request has expired.');
    const injected = this.injected(action);
    if (injected) return fail(injected.code, injected.message, injected.status ?? 403);
    if (action !== 'DescribeInstances')
      return fail('InvalidAction', `The action ${action} is not valid for this web service.`);
    const denied = this.authorize(principal!, 'ec2:DescribeInstances', undefined);
    if (denied) {
      const encoded = Buffer.from(
        JSON.stringify({ allowed: false, action: 'ec2:DescribeInstances', principal: principal!.arn }),
      ).toString('base64url');
      this.encodedMessages.set(encoded, { action: 'ec2:DescribeInstances', principal: principal!.arn });
      return fail(
        'UnauthorizedOperation',
        `You are not authorized to perform this operation. ${denied}. Encoded authorization failure message: ${encoded}`,
        403,
      );
    }

    const filters = ec2Filters(form);
    const ids = [...form.entries()].filter(([k]) => /^InstanceId\.\d+$/.test(k)).map(([, v]) => v);
    const matches = (this.scenario.instances ?? []).filter((i) => {
      if (ids.length && !ids.includes(i.id)) return false;
      return filters.every(({ name, values }) => {
        if (name === 'instance-state-name') return values.includes(i.state ?? 'running');
        if (name === 'instance-id') return values.includes(i.id);
        if (name.startsWith('tag:')) {
          const v = i.tags?.[name.slice(4)];
          return v !== undefined && values.some((want) => globMatch(want, v));
        }
        return true;
      });
    });
    const items = matches
      .map(
        (
          i,
        ) => `<item><reservationId>r-${i.id.slice(2)}</reservationId><ownerId>${this.account}</ownerId><groupSet/><instancesSet><item>
<instanceId>${i.id}</instanceId><imageId>ami-0123456789abcdef0</imageId>
<instanceState><code>${STATE_CODES[i.state ?? 'running']}</code><name>${i.state ?? 'running'}</name></instanceState>
<privateDnsName>ip-10-0-0-10.${this.region}.compute.internal</privateDnsName><instanceType>t3.micro</instanceType>
<launchTime>${i.launchTime ?? '2026-01-01T00:00:00.000Z'}</launchTime>
<placement><availabilityZone>${this.region}a</availabilityZone><tenancy>default</tenancy></placement>
<tagSet>${Object.entries(i.tags ?? {})
          .map(([k, v]) => `<item><key>${xml(k)}</key><value>${xml(v)}</value></item>`)
          .join('')}</tagSet></item></instancesSet></item>`,
      )
      .join('');
    res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${requestId()}</requestId><reservationSet>${items}</reservationSet></DescribeInstancesResponse>`,
    );
  }

  // ---- IAM (query → XML): the policy simulator ------------------------------------------------

  private iam(action: string, req: http.IncomingMessage, form: URLSearchParams, res: http.ServerResponse) {
    const { principal, error } = this.caller(req);
    this.record('iam', action, Object.fromEntries(form), principal);
    const ns = 'https://iam.amazonaws.com/doc/2010-05-08/';
    const fail = (code: string, message: string, status = 403) => {
      res.writeHead(status, { 'content-type': 'text/xml' });
      res.end(
        `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>${requestId()}</RequestId></ErrorResponse>`,
      );
    };
    if (error) return fail('InvalidClientTokenId', 'The security token included in the request is invalid.');
    if (action !== 'SimulatePrincipalPolicy')
      return fail('InvalidAction', `Could not find operation ${action} for version 2010-05-08`, 400);
    const source = form.get('PolicySourceArn') ?? '';
    const denied = this.authorize(principal!, 'iam:SimulatePrincipalPolicy', source);
    if (denied) return fail('AccessDenied', denied);
    const list = (prefix: string) =>
      [...form.entries()].filter(([k]) => new RegExp(`^${prefix}\\.member\\.\\d+$`).test(k)).map(([, v]) => v);
    const context: Record<string, string> = {};
    for (const [k, v] of form.entries()) {
      const m = /^ContextEntries\.member\.(\d+)\.ContextKeyName$/.exec(k);
      if (m) context[v] = form.get(`ContextEntries.member.${m[1]}.ContextKeyValues.member.1`) ?? '';
    }
    // The simulated identity: a user of this world, or a role's policies.
    const role = (this.scenario.roles ?? []).find((r) => r.arn === source);
    const user = [...this.principals.values()].find((p) => p.arn === source);
    if (!role && !user) return fail('NoSuchEntity', `The user or role with ARN ${source} cannot be found.`, 404);
    const subject: EmuPrincipal = {
      accessKeyId: 'simulated',
      secretAccessKey: 'simulated',
      arn: source,
      userId: context['aws:userid'] ?? '',
      policies: (role ?? user)!.policies ?? [{ Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }],
      ...((role ?? user)!.boundary ? { boundary: (role ?? user)!.boundary! } : {}),
    };
    const members: string[] = [];
    for (const actionName of list('ActionNames')) {
      for (const resource of list('ResourceArns').length ? list('ResourceArns') : ['*']) {
        const why = this.authorize(subject, actionName, resource, context);
        const decision = !why
          ? 'allowed'
          : /explicit deny/.test(why) && !/service control/.test(why)
            ? 'explicitDeny'
            : 'implicitDeny';
        members.push(
          `<member><EvalActionName>${actionName}</EvalActionName><EvalResourceName>${xml(resource)}</EvalResourceName><EvalDecision>${decision}</EvalDecision><MatchedStatements/><MissingContextValues/></member>`,
        );
      }
    }
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(
      `<SimulatePrincipalPolicyResponse xmlns="${ns}"><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>${members.join('')}</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>${requestId()}</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>`,
    );
  }

  // ---- STS (query → XML) ----------------------------------------------------------------------

  private sts(action: string, req: http.IncomingMessage, form: URLSearchParams, res: http.ServerResponse) {
    const { principal, error } = this.caller(req);
    this.record('sts', action, Object.fromEntries(form), principal);
    const ns = 'https://sts.amazonaws.com/doc/2011-06-15/';
    const fail = (code: string, message: string, status = 403) => {
      res.writeHead(status, { 'content-type': 'text/xml' });
      res.end(
        `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error><RequestId>${requestId()}</RequestId></ErrorResponse>`,
      );
    };
    const ok = (result: string) => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<${action}Response xmlns="${ns}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>${requestId()}</RequestId></ResponseMetadata></${action}Response>`,
      );
    };
    if (error === 'unknown')
      return fail('InvalidClientTokenId', 'The security token included in the request is invalid.');
    if (error === 'expired') return fail('ExpiredToken', 'The security token included in the request is expired', 400);
    const injected = this.injected(action);
    if (injected) return fail(injected.code, injected.message, injected.status);
    const p = principal!;
    if (action === 'GetCallerIdentity') {
      return ok(`<Arn>${p.arn}</Arn><UserId>${p.userId}</UserId><Account>${accountOf(p.arn)}</Account>`);
    }
    if (action === 'AssumeRole') {
      const roleArn = form.get('RoleArn') ?? '';
      const sessionName = form.get('RoleSessionName') ?? '';
      const role = (this.scenario.roles ?? []).find((r) => r.arn === roleArn);
      if (!role)
        return fail(
          'AccessDenied',
          `User: ${p.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
        );
      if (role.mfaSerial && (form.get('SerialNumber') !== role.mfaSerial || form.get('TokenCode') !== role.mfaCode)) {
        return fail('AccessDenied', 'MultiFactorAuthentication failed with invalid MFA one time pass code. ');
      }
      const roleName = roleArn.split('/').at(-1)!;
      const account = accountOf(roleArn);
      const assumed: EmuPrincipal = {
        accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
        secretAccessKey: randomBytes(20).toString('base64url'),
        sessionToken: `EMUSTS${randomBytes(24).toString('base64url')}`,
        arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`,
        userId: `AROAEMULATOR${roleName.toUpperCase().slice(0, 8)}:${sessionName}`,
        ...(role.policies ? { policies: role.policies } : {}),
        ...(role.boundary ? { boundary: role.boundary } : {}),
      };
      this.principals.set(assumed.accessKeyId, assumed);
      const expires = new Date(Date.now() + Number(form.get('DurationSeconds') ?? 3600) * 1000).toISOString();
      return ok(
        `<Credentials><AccessKeyId>${assumed.accessKeyId}</AccessKeyId><SecretAccessKey>${assumed.secretAccessKey}</SecretAccessKey><SessionToken>${assumed.sessionToken}</SessionToken><Expiration>${expires}</Expiration></Credentials><AssumedRoleUser><Arn>${assumed.arn}</Arn><AssumedRoleId>${assumed.userId}</AssumedRoleId></AssumedRoleUser>`,
      );
    }
    if (action === 'DecodeAuthorizationMessage') {
      const denied = this.authorize(p, 'sts:DecodeAuthorizationMessage', undefined);
      if (denied) return fail('AccessDenied', denied);
      const known = this.encodedMessages.get(form.get('EncodedMessage') ?? '');
      if (!known) return fail('InvalidAuthorizationMessageException', 'The encoded message is not valid.', 400);
      const decoded = JSON.stringify({
        allowed: false,
        explicitDeny: false,
        matchedStatements: { items: [] },
        failures: { items: [] },
        context: {
          principal: { arn: known.principal },
          action: known.action,
          resource: '*',
          conditions: { items: [] },
        },
      });
      return ok(`<DecodedMessage>${xml(decoded)}</DecodedMessage>`);
    }
    return fail('InvalidAction', `Could not find operation ${action} for version 2011-06-15`, 400);
  }
}

export async function startEmulator(scenario: Scenario): Promise<Emulator> {
  return new Emulator(scenario).start();
}

function ec2Filters(form: URLSearchParams): { name: string; values: string[] }[] {
  const out: { name: string; values: string[] }[] = [];
  for (const [k, v] of form.entries()) {
    const m = /^Filter\.(\d+)\.Name$/.exec(k);
    if (!m) continue;
    const values = [...form.entries()]
      .filter(([vk]) => new RegExp(`^Filter\\.${m[1]}\\.Value\\.\\d+$`).test(vk))
      .map(([, vv]) => vv);
    out.push({ name: v, values });
  }
  return out;
}

/** EC2 filter values accept * and ? wildcards. */
function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(value);
}

/** The name a session id starts with: the IAM user name, or the role session name. */
function callerName(arn: string): string {
  return arn.split('/').at(-1)!;
}

function accountOf(arn: string): string {
  return arn.split(':')[4] ?? DEFAULT_ACCOUNT;
}

function requestId(): string {
  return randomBytes(16)
    .toString('hex')
    .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
