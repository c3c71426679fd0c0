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

export type Decision =
  | { decision: 'allow'; by: StatementRef }
  | { decision: 'explicit-deny'; by: StatementRef }
  | { decision: 'implicit-deny'; layer: Layer };

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export function statementsOf(doc: PolicyDocument): Statement[] {
  return asList(doc.Statement);
}

function ref(p: NamedPolicy, s: Statement, i: number, layer: Layer): StatementRef {
  return { policy: p.name, statement: s.Sid ?? `#${i + 1}`, layer };
}

/** The full request context: the request's keys plus the principal's global keys. */
export function requestContext(req: EvalRequest): Map<string, ContextValue> {
  const ctx = new Map<string, ContextValue>();
  const set = (k: string, v: ContextValue | undefined) => {
    if (v !== undefined) ctx.set(k.toLowerCase(), v);
  };
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

/** ARNs match segment by segment; the resource part (after the 5th colon) as a whole. */
export function arnMatches(pattern: string, arn: string): boolean {
  if (pattern === '*') return true;
  const p = splitArn(pattern);
  const a = splitArn(arn);
  if (!p || !a) return wildcardMatch(pattern, arn);
  return p.every((seg, i) => wildcardMatch(seg, a[i]!));
}

function splitArn(arn: string): string[] | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
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

function statementApplies(s: Statement, req: EvalRequest, ctx: Map<string, ContextValue>): boolean {
  const action =
    s.Action !== undefined
      ? asList(s.Action).some((a) => actionMatches(a, req.action))
      : s.NotAction !== undefined && !asList(s.NotAction).some((a) => actionMatches(a, req.action));
  if (!action) return false;
  const resource =
    s.Resource !== undefined
      ? matchesList(asList(s.Resource), req.resource, ctx, arnMatches)
      : s.NotResource !== undefined && !matchesList(asList(s.NotResource), req.resource, ctx, arnMatches);
  if (!resource) return false;
  return conditionsHold(s.Condition, ctx);
}

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

/** One operator on one key: AWS-FACTS.md §1 and the IAM User Guide's condition rules. */
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

export function conditionsHold(condition: Statement['Condition'], ctx: Map<string, ContextValue>): boolean {
  if (!condition) return true;
  // Several operators, and several keys under one: all must hold (AND).
  return Object.entries(condition).every(([operator, keys]) =>
    Object.entries(keys ?? {}).every(([key, v]) =>
      conditionHolds(operator, key, asList(v as unknown).map(String), ctx),
    ),
  );
}

// ---- evaluation logic ------------------------------------------------------------------------

interface LayerResult {
  allow?: StatementRef;
  deny?: StatementRef;
}

function evaluateLayer(
  policies: NamedPolicy[],
  layer: Layer,
  req: EvalRequest,
  ctx: Map<string, ContextValue>,
): LayerResult {
  const out: LayerResult = {};
  for (const p of policies) {
    statementsOf(p.document).forEach((s, i) => {
      if (!statementApplies(s, req, ctx)) return;
      if (s.Effect === 'Deny') out.deny ??= ref(p, s, i, layer);
      else if (s.Effect === 'Allow') out.allow ??= ref(p, s, i, layer);
    });
  }
  return out;
}

/**
 * IAM's decision for one request: an explicit Deny anywhere wins; otherwise every layer that is
 * present (each SCP level, the boundary, session policies) must allow, and so must an identity
 * policy.
 */
export function evaluate(req: EvalRequest, policies: PolicySet): Decision {
  const ctx = requestContext(req);
  const identity = evaluateLayer(policies.identity, 'identity-based policy', req, ctx);
  const scpLevels = (policies.scps ?? []).map((level) => evaluateLayer(level, 'service control policy', req, ctx));
  const boundary = policies.boundary ? evaluateLayer([policies.boundary], 'permissions boundary', req, ctx) : undefined;
  const session = policies.session?.length ? evaluateLayer(policies.session, 'session policy', req, ctx) : undefined;

  for (const r of [...scpLevels, boundary, session, identity])
    if (r?.deny) return { decision: 'explicit-deny', by: r.deny };
  if (scpLevels.some((l) => !l.allow)) return { decision: 'implicit-deny', layer: 'service control policy' };
  if (boundary && !boundary.allow) return { decision: 'implicit-deny', layer: 'permissions boundary' };
  if (session && !session.allow) return { decision: 'implicit-deny', layer: 'session policy' };
  if (!identity.allow) return { decision: 'implicit-deny', layer: 'identity-based policy' };
  return { decision: 'allow', by: identity.allow };
}
