// An offline evaluator of IAM identity policies, permissions boundaries, session policies and SCPs
// for the requests a tunnel makes (IAM User Guide: policy evaluation logic, condition operators,
// single- and multivalued context keys, policy variables). Pure.
import { BlockList, isIP } from 'node:net';

export type Effect = 'Allow' | 'Deny';

export interface Statement {
  Sid?: string;
  Effect: Effect;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, string | string[] | boolean | number | (string | boolean | number)[]>>;
  Principal?: unknown;
}

export interface PolicyDocument {
  Version?: string;
  Id?: string;
  Statement: Statement | Statement[];
}

/** A policy with the name it is shown by (a file name, a policy ARN). */
export interface NamedPolicy {
  name: string;
  document: PolicyDocument;
}

export type ContextValue = string | string[];

export interface Principal {
  arn: string;
  /** aws:userid: AIDA… for users, AROA…:session-name for roles. */
  userId: string;
  /** aws:username: IAM users only. */
  username?: string | undefined;
  account: string;
  tags?: Record<string, string>;
}

export interface EvalRequest {
  action: string;
  resource: string;
  /** Condition keys present in the request (case-insensitive names), besides the principal's. */
  context: Record<string, ContextValue>;
  principal: Principal;
  /** The region the request is sent to (aws:RequestedRegion); default: the resource ARN's. */
  region?: string | undefined;
  /** The time of the request (aws:CurrentTime, aws:EpochTime); default: now. */
  now?: Date | undefined;
}

export interface PolicySet {
  identity: NamedPolicy[];
  /** One list per level of the organization (root, OU…, account): each level must allow. */
  scps?: NamedPolicy[][];
  boundary?: NamedPolicy | undefined;
  session?: NamedPolicy[];
}

export type Layer = 'identity-based policy' | 'service control policy' | 'permissions boundary' | 'session policy';

export interface StatementRef {
  policy: string;
  /** The Sid, or the statement's position (1-based) when it has none. */
  statement: string;
  layer: Layer;
}

/** A decision that does not hang on a key known only when the request is made. */
export type Decided =
  | { decision: 'allow'; by: StatementRef }
  | { decision: 'explicit-deny'; by: StatementRef }
  | { decision: 'implicit-deny'; layer: Layer };

/** One condition on a key dbtunnel cannot know offline, and whether it held in an outcome. */
export interface Assumption {
  operator: string;
  key: string;
  values: string[];
  holds: boolean;
}

export type Decision =
  | Decided
  /**
   * The decision hangs on keys AWS knows only at request time (aws:SourceIp, aws:PrincipalOrgID…),
   * which were not given: each distinct outcome, with the conditions under which it comes.
   */
  | { decision: 'depends'; on: string[]; outcomes: { when: Assumption[]; result: Decided }[] };

/**
 * Keys AWS sets at request time from what it knows then — the network, the organization, the
 * session, the principal's tags — and dbtunnel cannot know offline. A condition on one of them,
 * with no value given (`policy check --context`), leaves the decision open. Lower case.
 */
const KNOWN_ONLY_AT_REQUEST_TIME = new Set([
  'aws:sourceip',
  'aws:sourcevpc',
  'aws:sourcevpce',
  'aws:vpcsourceip',
  'aws:principalorgid',
  'aws:principalorgpaths',
  'aws:multifactorauthpresent',
  'aws:multifactorauthage',
  'aws:tokenissuetime',
  'aws:sourceidentity',
  'aws:federatedprovider',
  'aws:useragent',
  'aws:referer',
  'aws:resourceorgid',
  'aws:resourceorgpaths',
  'aws:ec2instancesourcevpc',
  'aws:ec2instancesourceprivateipv4',
]);

/** Whether a key is one AWS knows only at request time (and so may be left open). Pure. */
export function knownOnlyAtRequestTime(key: string): boolean {
  const k = key.toLowerCase();
  return KNOWN_ONLY_AT_REQUEST_TIME.has(k) || k.startsWith('aws:principaltag/');
}

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export function statementsOf(doc: PolicyDocument): Statement[] {
  return asList(doc.Statement);
}

function ref(p: NamedPolicy, s: Statement, i: number, layer: Layer): StatementRef {
  return { policy: p.name, statement: s.Sid ?? `#${i + 1}`, layer };
}

/**
 * The full request context: the request's keys, the principal's global keys, and the keys AWS sets
 * on every request dbtunnel makes (IAM User Guide: AWS global condition context keys): the region it
 * goes to, over TLS, at this time, made by the caller directly (not by a service on its behalf).
 */
export function requestContext(req: EvalRequest): Map<string, ContextValue> {
  const ctx = new Map<string, ContextValue>();
  const set = (k: string, v: ContextValue | undefined) => {
    if (v !== undefined) ctx.set(k.toLowerCase(), v);
  };
  const now = req.now ?? new Date();
  set('aws:RequestedRegion', req.region || req.resource.split(':')[3] || undefined);
  set('aws:SecureTransport', 'true');
  set('aws:CurrentTime', now.toISOString().replace(/\.\d{3}Z$/, 'Z'));
  set('aws:EpochTime', String(Math.floor(now.getTime() / 1000)));
  set('aws:ViaAWSService', 'false');
  set('aws:PrincipalIsAWSService', 'false');
  set('aws:PrincipalArn', req.principal.arn);
  set('aws:userid', req.principal.userId);
  set('aws:username', req.principal.username);
  set('aws:PrincipalAccount', req.principal.account);
  set(
    'aws:PrincipalType',
    req.principal.username ? 'User' : req.principal.arn.includes(':assumed-role/') ? 'AssumedRole' : 'Unknown',
  );
  for (const [k, v] of Object.entries(req.principal.tags ?? {})) set(`aws:PrincipalTag/${k}`, v);
  for (const [k, v] of Object.entries(req.context)) set(k, v);
  return ctx;
}

/** `${aws:username}` and friends; undefined when a variable has no value in this request. */
export function substitute(text: string, ctx: Map<string, ContextValue>): string | undefined {
  let missing = false;
  const out = text.replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
    if (name === '*' || name === '?' || name === '$') return `\u0000${name}`; // literal, not a wildcard
    const v = ctx.get(name.toLowerCase());
    if (typeof v !== 'string') {
      missing = true;
      return '';
    }
    return v;
  });
  return missing ? undefined : out;
}

/** IAM wildcard match: * any run, ? one character; `\0x` is a literal x from ${*} / ${?}. */
export function wildcardMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\u0000') {
      re += escapeRe(pattern[++i] ?? '');
    } else if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, caseInsensitive ? 'i' : '').test(value);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function actionMatches(pattern: string, action: string): boolean {
  return pattern === '*' || wildcardMatch(pattern, action, true);
}

/**
 * How a policy of each kind reads a Resource ARN of fewer than six parts (`arn:aws:ec2:*`):
 * identity policies, boundaries and session policies take the missing parts as `*`; an SCP does so
 * only when its last part ends in `*`, and otherwise matches nothing (AWS rejects such an SCP).
 */
export type ArnReader = 'expand' | 'expand-if-wildcard';

/**
 * ARNs match part by part (partition, service, region, account, resource): a `*` or `?` never
 * crosses a colon into the next part, and the resource part, which may hold colons, is matched as
 * a whole. A pattern of fewer than six parts is read as the policy's kind says (ArnReader); one
 * that is neither `*` nor an ARN matches nothing. A request resource of `*` (an action without
 * resource-level permissions) is matched only by `*`. Pure.
 */
export function arnMatches(pattern: string, arn: string, reader: ArnReader = 'expand'): boolean {
  if (pattern === '*') return true;
  const a = splitArn(arn);
  const p = splitPattern(pattern, reader);
  if (!p || !a) return false;
  return p.every((seg, i) => wildcardMatch(seg, a[i]!));
}

function splitArn(arn: string): string[] | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}

function splitPattern(pattern: string, reader: ArnReader): string[] | undefined {
  const parts = pattern.split(':');
  if (parts[0] !== 'arn') return undefined;
  if (parts.length >= 6) return [...parts.slice(0, 5), parts.slice(5).join(':')];
  if (reader === 'expand-if-wildcard' && !parts.at(-1)!.endsWith('*')) return undefined;
  return [...parts, ...Array<string>(6 - parts.length).fill('*')];
}

function matchesList(
  patterns: string[],
  value: string,
  ctx: Map<string, ContextValue>,
  match: (p: string, v: string) => boolean,
): boolean {
  return patterns.some((p) => {
    const resolved = substitute(p, ctx);
    return resolved !== undefined && match(resolved, value);
  });
}

/** Whether a statement's Action and Resource (or their Not forms) cover the request. */
function statementCovers(s: Statement, req: EvalRequest, ctx: Map<string, ContextValue>, reader: ArnReader): boolean {
  const action =
    s.Action !== undefined
      ? asList(s.Action).some((a) => actionMatches(a, req.action))
      : s.NotAction !== undefined && !asList(s.NotAction).some((a) => actionMatches(a, req.action));
  if (!action) return false;
  const matches = (p: string, v: string) => arnMatches(p, v, reader);
  if (s.Resource !== undefined) return matchesList(asList(s.Resource), req.resource, ctx, matches);
  // NotResource covers the request only when every pattern surely misses it. A pattern that cannot
  // say so — an ARN of fewer than six parts that misses once read with `*`s, a policy variable
  // without a value, neither `*` nor an ARN — leaves the statement out: the reading of the
  // independent simulator the evaluator is held to (docs/iam-evaluator.md).
  if (s.NotResource === undefined) return false;
  return asList(s.NotResource).every((p) => notResourceMisses(p, req.resource, ctx, reader));
}

/** Whether a NotResource pattern surely misses the request's resource. */
function notResourceMisses(
  pattern: string,
  resource: string,
  ctx: Map<string, ContextValue>,
  reader: ArnReader,
): boolean {
  if (pattern === '*') return false;
  const parts = pattern.split(':');
  // Fewer than six parts: it either covers the resource once read with `*`s, or cannot say.
  if (parts[0] === 'arn' && parts.length < 6) return false;
  // An action without resource-level permissions is requested on `*`: only `*` names it.
  if (resource === '*') return true;
  if (parts[0] !== 'arn') return false;
  const resolved = substitute(pattern, ctx);
  if (resolved !== undefined) return !arnMatches(resolved, resource, reader);
  // A variable without a value: a miss is sure only when the pattern misses whatever the variable
  // would hold (each variable read as `*`), as `session/${aws:username}-*` misses `document/…`.
  const r = splitArn(resource);
  const widest = pattern.replace(/\$\{[^}]*\}/g, '*');
  return r !== undefined && !arnMatches(widest, resource, reader);
}

/** A condition whose outcome is assumed (a key known only at request time), by its site. */
type Assumed = Map<string, boolean>;
const siteOf = (operator: string, key: string, values: string[]) =>
  JSON.stringify([operator, key.toLowerCase(), values]);

// ---- conditions ------------------------------------------------------------------------------

type Compare = (policyValue: string, contextValue: string) => boolean;

const toNumber = (s: string) => (s.trim() === '' ? NaN : Number(s));
const toDate = (s: string) => (/^\d+$/.test(s) ? Number(s) * 1000 : Date.parse(s));

function ipMatch(cidr: string, ip: string): boolean {
  const family = isIP(ip);
  if (!family) return false;
  const [net, bits] = cidr.split('/');
  const netFamily = isIP(net ?? '');
  if (!netFamily || netFamily !== family) return false;
  const list = new BlockList();
  const type = family === 4 ? 'ipv4' : 'ipv6';
  list.addSubnet(net!, bits === undefined ? (family === 4 ? 32 : 128) : Number(bits), type);
  return list.check(ip, type);
}

/** Base operators: how one policy value matches one context value, and whether it is negated. */
const OPERATORS: Record<string, { compare: Compare; negated: boolean }> = {
  stringequals: { compare: (p, c) => p === c, negated: false },
  stringnotequals: { compare: (p, c) => p === c, negated: true },
  stringequalsignorecase: { compare: (p, c) => p.toLowerCase() === c.toLowerCase(), negated: false },
  stringnotequalsignorecase: { compare: (p, c) => p.toLowerCase() === c.toLowerCase(), negated: true },
  stringlike: { compare: (p, c) => wildcardMatch(p, c), negated: false },
  stringnotlike: { compare: (p, c) => wildcardMatch(p, c), negated: true },
  numericequals: { compare: (p, c) => toNumber(c) === toNumber(p), negated: false },
  numericnotequals: { compare: (p, c) => toNumber(c) === toNumber(p), negated: true },
  numericlessthan: { compare: (p, c) => toNumber(c) < toNumber(p), negated: false },
  numericlessthanequals: { compare: (p, c) => toNumber(c) <= toNumber(p), negated: false },
  numericgreaterthan: { compare: (p, c) => toNumber(c) > toNumber(p), negated: false },
  numericgreaterthanequals: { compare: (p, c) => toNumber(c) >= toNumber(p), negated: false },
  dateequals: { compare: (p, c) => toDate(c) === toDate(p), negated: false },
  datenotequals: { compare: (p, c) => toDate(c) === toDate(p), negated: true },
  datelessthan: { compare: (p, c) => toDate(c) < toDate(p), negated: false },
  datelessthanequals: { compare: (p, c) => toDate(c) <= toDate(p), negated: false },
  dategreaterthan: { compare: (p, c) => toDate(c) > toDate(p), negated: false },
  dategreaterthanequals: { compare: (p, c) => toDate(c) >= toDate(p), negated: false },
  bool: { compare: (p, c) => p.toLowerCase() === c.toLowerCase(), negated: false },
  binaryequals: { compare: (p, c) => p === c, negated: false },
  ipaddress: { compare: (p, c) => ipMatch(p, c), negated: false },
  notipaddress: { compare: (p, c) => ipMatch(p, c), negated: true },
  arnequals: { compare: (p, c) => arnMatches(p, c), negated: false },
  arnlike: { compare: (p, c) => arnMatches(p, c), negated: false },
  arnnotequals: { compare: (p, c) => arnMatches(p, c), negated: true },
  arnnotlike: { compare: (p, c) => arnMatches(p, c), negated: true },
};

export function isKnownOperator(op: string): boolean {
  const parsed = parseOperator(op);
  return parsed !== undefined;
}

function parseOperator(op: string): { base: string; set?: 'any' | 'all'; ifExists: boolean } | undefined {
  let rest = op;
  let set: 'any' | 'all' | undefined;
  const m = /^(ForAnyValue|ForAllValues):(.+)$/i.exec(rest);
  if (m) {
    set = m[1]!.toLowerCase() === 'foranyvalue' ? 'any' : 'all';
    rest = m[2]!;
  }
  let ifExists = false;
  if (/IfExists$/i.test(rest)) {
    ifExists = true;
    rest = rest.slice(0, -'IfExists'.length);
  }
  const base = rest.toLowerCase();
  if (base !== 'null' && !OPERATORS[base]) return undefined;
  return set ? { base, set, ifExists } : { base, ifExists };
}

/** One operator on one key: docs/aws-facts.md §arns and the IAM User Guide's condition rules. */
export function conditionHolds(
  operator: string,
  key: string,
  policyValues: string[],
  ctx: Map<string, ContextValue>,
): boolean {
  const op = parseOperator(operator);
  if (!op) return false; // an operator IAM does not know never matches
  const raw = ctx.get(key.toLowerCase());
  const present = raw !== undefined && !(Array.isArray(raw) && raw.length === 0 && op.set === undefined);
  if (op.base === 'null') {
    // Null: "true" means the key must be absent, "false" that it must be present.
    return policyValues.some((v) => (v.toLowerCase() === 'true' ? !present : present));
  }
  const { compare, negated } = OPERATORS[op.base]!;
  const values = policyValues.map((v) => substitute(v, ctx)).filter((v): v is string => v !== undefined);
  const matchesAny = (c: string) => values.some((p) => compare(p, c));
  const contextValues = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];

  if (op.set === 'all') {
    // True when every context value passes; vacuously true with no values (a key absent too).
    return contextValues.every((c) => (negated ? !matchesAny(c) : matchesAny(c)));
  }
  if (op.set === 'any') {
    if (contextValues.length === 0) return false;
    return contextValues.some((c) => (negated ? !matchesAny(c) : matchesAny(c)));
  }
  if (!present) return op.ifExists || negated;
  // Several policy values: OR for positive operators, NOR for negated ones.
  return negated ? !contextValues.some(matchesAny) : contextValues.some(matchesAny);
}

export function conditionsHold(
  condition: Statement['Condition'],
  ctx: Map<string, ContextValue>,
  assumed?: Assumed,
): boolean {
  if (!condition) return true;
  // Several operators, and several keys under one: all must hold (AND).
  return Object.entries(condition).every(([operator, keys]) =>
    Object.entries(keys ?? {}).every(([key, v]) => {
      const values = asList(v as unknown).map(String);
      return assumed?.get(siteOf(operator, key, values)) ?? conditionHolds(operator, key, values, ctx);
    }),
  );
}

// ---- evaluation logic ------------------------------------------------------------------------

interface LayerResult {
  allow?: StatementRef;
  deny?: StatementRef;
}

const READER: Record<Layer, ArnReader> = {
  'identity-based policy': 'expand',
  'permissions boundary': 'expand',
  'session policy': 'expand',
  'service control policy': 'expand-if-wildcard',
};

function evaluateLayer(
  policies: NamedPolicy[],
  layer: Layer,
  req: EvalRequest,
  ctx: Map<string, ContextValue>,
  assumed: Assumed | undefined,
): LayerResult {
  const out: LayerResult = {};
  for (const p of policies) {
    statementsOf(p.document).forEach((s, i) => {
      if (!statementCovers(s, req, ctx, READER[layer]) || !conditionsHold(s.Condition, ctx, assumed)) return;
      if (s.Effect === 'Deny') out.deny ??= ref(p, s, i, layer);
      else if (s.Effect === 'Allow') out.allow ??= ref(p, s, i, layer);
    });
  }
  return out;
}

/** Every policy of the set, with its layer. */
function layersOf(policies: PolicySet): [NamedPolicy[], Layer][] {
  return [
    [policies.identity, 'identity-based policy'],
    ...(policies.scps ?? []).map((level): [NamedPolicy[], Layer] => [level, 'service control policy']),
    ...(policies.boundary ? [[[policies.boundary], 'permissions boundary'] as [NamedPolicy[], Layer]] : []),
    ...(policies.session?.length ? [[policies.session, 'session policy'] as [NamedPolicy[], Layer]] : []),
  ];
}

/** The conditions, in statements that cover the request, on keys known only at request time and not given. */
function openConditions(
  req: EvalRequest,
  policies: PolicySet,
  ctx: Map<string, ContextValue>,
): Omit<Assumption, 'holds'>[] {
  const found = new Map<string, Omit<Assumption, 'holds'>>();
  for (const [list, layer] of layersOf(policies)) {
    for (const p of list) {
      for (const s of statementsOf(p.document)) {
        if (!statementCovers(s, req, ctx, READER[layer])) continue;
        for (const [operator, keys] of Object.entries(s.Condition ?? {})) {
          for (const [key, v] of Object.entries(keys ?? {})) {
            if (!knownOnlyAtRequestTime(key) || ctx.has(key.toLowerCase())) continue;
            const values = asList(v as unknown).map(String);
            found.set(siteOf(operator, key, values), { operator, key, values });
          }
        }
      }
    }
  }
  return [...found.values()];
}

/** At most this many open conditions are weighed (2^n outcomes); more are taken as not holding. */
const MAX_OPEN_CONDITIONS = 8;

/**
 * IAM's decision for one request: an explicit Deny anywhere wins; otherwise every layer that is
 * present (each SCP level, the boundary, session policies) must allow, and so must an identity
 * policy. A condition on a key AWS knows only at request time (knownOnlyAtRequestTime) that the
 * request does not give leaves the decision open: every outcome is weighed, and when they differ
 * the decision is `depends`, with each outcome and when it comes. `strict`: such a key is simply
 * absent (what AWS does when the request really lacks it, as for the test emulator).
 */
export function evaluate(req: EvalRequest, policies: PolicySet, opts: { strict?: boolean } = {}): Decision {
  const ctx = requestContext(req);
  const open = opts.strict ? [] : openConditions(req, policies, ctx).slice(0, MAX_OPEN_CONDITIONS);
  if (open.length === 0) return decide(req, policies, ctx, undefined);
  const outcomes = new Map<string, { when: Assumption[]; result: Decided }>();
  for (let bits = 0; bits < 2 ** open.length; bits++) {
    const when = open.map((c, i) => ({ ...c, holds: (bits & (1 << i)) !== 0 }));
    const assumed: Assumed = new Map(when.map((c) => [siteOf(c.operator, c.key, c.values), c.holds]));
    const result = decide(req, policies, ctx, assumed);
    const key = JSON.stringify(result);
    if (!outcomes.has(key)) outcomes.set(key, { when, result });
  }
  if (outcomes.size === 1) return [...outcomes.values()][0]!.result;
  return { decision: 'depends', on: [...new Set(open.map((c) => c.key))], outcomes: [...outcomes.values()] };
}

/** The decision with every key as the request gives it (one AWS knows only at request time and not given: absent). */
export function evaluateStrict(req: EvalRequest, policies: PolicySet): Decided {
  return decide(req, policies, requestContext(req), undefined);
}

function decide(
  req: EvalRequest,
  policies: PolicySet,
  ctx: Map<string, ContextValue>,
  assumed: Assumed | undefined,
): Decided {
  const identity = evaluateLayer(policies.identity, 'identity-based policy', req, ctx, assumed);
  const scpLevels = (policies.scps ?? []).map((level) =>
    evaluateLayer(level, 'service control policy', req, ctx, assumed),
  );
  const boundary = policies.boundary
    ? evaluateLayer([policies.boundary], 'permissions boundary', req, ctx, assumed)
    : undefined;
  const session = policies.session?.length
    ? evaluateLayer(policies.session, 'session policy', req, ctx, assumed)
    : undefined;

  for (const r of [...scpLevels, boundary, session, identity])
    if (r?.deny) return { decision: 'explicit-deny', by: r.deny };
  if (scpLevels.some((l) => !l.allow)) return { decision: 'implicit-deny', layer: 'service control policy' };
  if (boundary && !boundary.allow) return { decision: 'implicit-deny', layer: 'permissions boundary' };
  if (session && !session.allow) return { decision: 'implicit-deny', layer: 'session policy' };
  if (!identity.allow) return { decision: 'implicit-deny', layer: 'identity-based policy' };
  return { decision: 'allow', by: identity.allow };
}
