// `dbtunnel policy <env> [db…]`: the least-privilege identity policy for those tunnels.
// `dbtunnel policy check <env> [db…] --policy FILE…`: evaluate policy files offline against the
// tunnel's requests, with the fix for each denial.
import { partitionOf } from '../arn.js';
import type { EnvironmentPlan } from '../config/resolve.js';
import { EXIT, TunnelError } from '../errors.js';
import { type Assumption, type Decided, evaluate, type NamedPolicy } from '../iam/evaluate.js';
import { formatStatements } from '../iam/explain.js';
import { readPolicyFile } from '../iam/policy-file.js';
import {
  grantFor,
  leastPrivilegePolicy,
  queryTags,
  tunnelRequests,
  type Caller,
  type TunnelScope,
} from '../iam/requests.js';
import { loadPlan } from './plan.js';
import { excerpt } from '../text.js';
import type { Terminal } from './terminal.js';

export interface PolicyArgs {
  env: string;
  /** None: every database of the environment. */
  dbs: string[];
  config: string | undefined;
  region: string | undefined;
  json: boolean;
}

function scopeOf(plan: EnvironmentPlan): TunnelScope {
  return { region: plan.region, account: undefined, bastion: plan.bastion, instanceTags: queryTags(plan.bastion) };
}

export async function policyCommand(args: PolicyArgs, term: Terminal): Promise<number> {
  const { plan } = await loadPlan(
    args.config,
    { env: args.env, dbs: args.dbs, all: args.dbs.length === 0, region: args.region },
    term,
  );
  const policy = leastPrivilegePolicy([scopeOf(plan)]);
  if (!args.json) {
    term.info(
      `Least-privilege IAM policy for dbtunnel ${plan.env} (${plan.region ?? 'any region'}; bastion ${
        plan.bastion.kind === 'instance'
          ? plan.bastion.instanceId
          : Object.entries(queryTags(plan.bastion))
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')
      }).`,
    );
    term.info(
      'Attach it to the IAM user or role that opens tunnels. OwnSessionsAsIamUser ' +
        'fits IAM users, OwnSessionsAsRole roles (SSO, assume-role).',
    );
  }
  term.json(policy);
  return EXIT.ok;
}

export interface PolicyCheckArgs extends PolicyArgs {
  policy: string[];
  scp: string[];
  boundary: string | undefined;
  principal: string | undefined;
  /** `key=value` pairs for keys AWS knows only at request time. */
  context: string[];
}

/** The caller as policy variables see it, from an ARN. */
export function callerFromArn(arn: string): Caller {
  const account = arn.split(':')[4] ?? '';
  const user = /:user\/(?:.*\/)?([^/]+)$/.exec(arn);
  if (user)
    return { arn, userId: `AIDA${user[1]!.toUpperCase().replace(/[^A-Z0-9]/g, '')}`, username: user[1]!, account };
  const role = /:assumed-role\/([^/]+)\/(.+)$/.exec(arn);
  if (role) return { arn, userId: `AROA${role[1]!.toUpperCase().replace(/[^A-Z0-9]/g, '')}:${role[2]}`, account };
  throw new TunnelError('usage', `--principal must be an IAM user ARN or an assumed-role ARN (got ${arn}).`, {
    hint: 'e.g. arn:aws:iam::123456789012:user/alice or arn:aws:sts::123456789012:assumed-role/DbDevelopers/alice',
  });
}

/**
 * `--context key=value` (repeatable: a key given twice is multivalued), for keys AWS knows only at
 * request time (aws:SourceIp, aws:PrincipalOrgID, aws:PrincipalTag/…). Pure.
 */
export function parseContext(pairs: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) {
      throw new TunnelError('usage', `--context takes key=value (got ${excerpt(pair)}).`, {
        hint: 'e.g. --context aws:SourceIp=203.0.113.7 --context aws:PrincipalTag/team=db',
      });
    }
    const [key, value] = [pair.slice(0, at), pair.slice(at + 1)];
    const had = out[key];
    out[key] = had === undefined ? value : [...[had].flat(), value];
  }
  return out;
}

/** A decided request's verdict, in words. Pure. */
function reasonOf(d: Decided): string {
  if (d.decision === 'allow') return `allowed by ${d.by.policy} statement ${d.by.statement}`;
  if (d.decision === 'explicit-deny') {
    return `explicitly denied by ${d.by.policy} statement ${d.by.statement} (${d.by.layer}); no Allow can fix it`;
  }
  return d.layer === 'identity-based policy'
    ? 'no statement allows it'
    : `no statement in the ${d.layer} allows it (it caps what identity policies allow)`;
}

/** "IpAddress aws:SourceIp 10.0.0.0/8 holds, Bool aws:MultiFactorAuthPresent true does not". Pure. */
function assumptionText(when: Assumption[]): string {
  return when.map((c) => `${c.operator} ${c.key} ${c.values.join(', ')} ${c.holds ? 'holds' : 'does not'}`).join('; ');
}

export async function policyCheckCommand(args: PolicyCheckArgs, term: Terminal): Promise<number> {
  const { plan } = await loadPlan(
    args.config,
    { env: args.env, dbs: args.dbs, all: args.dbs.length === 0, region: args.region },
    term,
  );
  const region = plan.region ?? 'us-east-1';
  const caller = callerFromArn(args.principal ?? `arn:${partitionOf(region)}:iam::123456789012:user/you`);
  const given = parseContext(args.context);
  // Warnings about the files go inside the JSON document with --json (one document on stdout).
  const warnings: string[] = [];
  const read = async (files: string[]) => {
    const out: NamedPolicy[] = [];
    for (const f of files) {
      const { policy, warnings: found } = await readPolicyFile(f);
      warnings.push(...found);
      out.push(policy);
    }
    return out;
  };
  const identity = await read(args.policy);
  const scps = args.scp.length ? [await read(args.scp)] : [];
  const boundary = args.boundary ? (await read([args.boundary]))[0] : undefined;
  const scope: TunnelScope = { ...scopeOf(plan), region, account: caller.account };

  const results = tunnelRequests(scope, caller).map((r) => {
    const decision = evaluate(
      { action: r.action, resource: r.resource, context: { ...r.context, ...given }, principal: caller, region },
      { identity, scps, boundary },
    );
    return {
      ...r,
      decision,
      fix:
        decision.decision === 'implicit-deny' && decision.layer === 'identity-based policy'
          ? grantFor(r.id, scope)
          : [],
    };
  });
  const failed = results.filter(
    (r) => r.required && r.decision.decision !== 'allow' && r.decision.decision !== 'depends',
  );
  const open = results.filter((r) => r.decision.decision === 'depends');
  if (args.json) {
    term.json({ principal: caller.arn, ok: failed.length === 0, warnings, results });
    return failed.length ? EXIT.accessDenied : EXIT.ok;
  }
  for (const w of warnings) term.warn(w);
  term.info(
    `Checking ${[...identity, ...scps.flat(), ...(boundary ? [boundary] : [])].map((p) => p.name).join(', ')} ` +
      `for dbtunnel ${plan.env}, as ${caller.arn}:`,
  );
  for (const r of results) {
    const d = r.decision;
    const what = `${r.action} on ${r.resource}`;
    if (d.decision === 'allow') {
      term.success(`${what}  ${term.paint('dim', reasonOf(d))}`, 'stdout');
      continue;
    }
    if (d.decision === 'depends') {
      term.result(
        `${term.paint('yellow', '?')} ${what}  depends on ${d.on.join(', ')}, known only when the request is made:`,
      );
      for (const o of d.outcomes)
        term.result(`    ${reasonOf(o.result)}  ${term.paint('dim', `when ${assumptionText(o.when)}`)}`);
      continue;
    }
    const line = `${what}  ${reasonOf(d)}`;
    if (!r.required) {
      term.result(`– ${line}  ${term.paint('dim', `(optional: ${r.why})`)}`);
      continue;
    }
    term.result(`${term.paint('red', '✖')} ${line}\n    ${term.paint('dim', `needed to ${r.why}`)}`);
    if (r.fix.length) term.result(['    add:', ...formatStatements(r.fix).map((l) => `      ${l}`)].join('\n'));
  }
  const required = results.filter((r) => r.required).length;
  if (open.length) {
    const keys = [...new Set(open.flatMap((r) => (r.decision.decision === 'depends' ? r.decision.on : [])))];
    term.info(
      `${open.length} ${open.length === 1 ? 'request depends' : 'requests depend'} on ${keys.join(', ')}: ` +
        `give ${keys.length === 1 ? 'it' : 'them'} with --context key=value to decide (e.g. --context ${keys[0]}=…).`,
    );
  }
  if (failed.length) {
    term.info(`${failed.length} of ${required} required requests denied.`);
    return EXIT.accessDenied;
  }
  term.info(`All ${required} required requests are allowed${open.length ? ', or depend on the keys above' : ''}.`);
  return EXIT.ok;
}
