// From AWS's "not authorized" sentence to what the user needs: which authorization failed, why,
// and the statement to paste (or, when no Allow can help, who must change what). Pure.
import { partitionOf } from '../arn.js';
import { PORT_FORWARDING_DOCUMENT } from '../model.js';
import { TunnelError } from '../errors.js';
import type { Statement } from './evaluate.js';
import { parseDenial, type Denial, type PolicyLayer } from './denial.js';
import { bastionStatement, documentStatement, grantFor, type TunnelScope } from './requests.js';

/** Where a statement goes: the caller's user, or the role behind an assumed-role session. */
export function policyHolder(principalArn: string): string {
  const m = /^arn:([^:]+):sts::(\d*):assumed-role\/([^/]+)\/.+$/.exec(principalArn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : principalArn;
}

export function formatStatements(statements: Statement[]): string[] {
  const text = statements.length === 1 ? JSON.stringify(statements[0], null, 2) : JSON.stringify(statements, null, 2);
  return text.split('\n');
}

const ADMIN_OF: Record<PolicyLayer, string> = {
  'identity-based policy': 'whoever manages your IAM policies',
  'permissions boundary': 'an administrator of the account (the permissions boundary set on your user or role)',
  'session policy': 'whoever issues your session credentials (the session policy passed to AssumeRole or federation)',
  'service control policy': 'an administrator of the AWS Organization (service control policies)',
  'resource control policy': 'an administrator of the AWS Organization (resource control policies)',
  'resource-based policy': 'the owner of the resource',
  'VPC endpoint policy': 'whoever manages the VPC endpoint you reach AWS through',
  'VPC endpoint policy through a service control policy':
    "an administrator of the AWS Organization, together with the VPC endpoint's owner",
};

function tagsText(tags: Record<string, string> | undefined): string {
  const entries = Object.entries(tags ?? {});
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(', ') : 'none known';
}

function instanceArnFor(scope: TunnelScope, account: string | undefined): string | undefined {
  const id = scope.instanceId ?? (scope.bastion.kind === 'instance' ? scope.bastion.instanceId : undefined);
  if (!id || !scope.region) return undefined;
  return `arn:${partitionOf(scope.region)}:ec2:${scope.region}:${account ?? scope.account ?? '*'}:instance/${id}`;
}

/**
 * Explain a denial of one of the tunnel's requests. `scope` holds what the run knows (region,
 * bastion and its real tags).
 */
export function explainDenial(denial: Denial, scope: TunnelScope): TunnelError {
  const partition = partitionOf(scope.region ?? 'us-east-1');
  const holder = denial.principal ? policyHolder(denial.principal) : undefined;
  const account = denial.principal?.split(':')[4] || scope.account;
  const withAccount: TunnelScope = { ...scope, account: account ?? scope.account };
  const said = `AWS said: ${denial.text}`;
  const addTo = holder ? `Add this to the policy of ${holder}:` : 'Add this to your IAM policy:';
  const action = denial.action ?? 'the request';
  const instanceArn = instanceArnFor(scope, account);
  const bastionLine = instanceArn
    ? `${instanceArn}  (${tagsText(scope.instanceTags)})`
    : `the bastion (${tagsText(scope.instanceTags)})`;

  // An explicit deny, or a layer that only caps: no Allow the user adds can help.
  if (denial.decision === 'explicit' || (denial.layer && denial.layer !== 'identity-based policy')) {
    const layer = denial.layer ?? 'identity-based policy';
    const explicit = denial.decision === 'explicit' && layer !== 'service control policy';
    const what =
      denial.resourceKind === 'document'
        ? 'the session document'
        : denial.resourceKind === 'instance'
          ? 'the bastion'
          : (denial.resource ?? 'this request');
    const details = [
      `Denied: ${action} on ${denial.resource ?? '(AWS did not say which resource)'}`,
      `By: ${refusedBy(layer, explicit)}${denial.policyArn ? `: ${denial.policyArn}` : ''}`,
      `Adding an Allow to your own policy cannot help: ${
        layer === 'identity-based policy'
          ? 'an explicit Deny wins over every Allow'
          : `the ${layer} caps what your policies allow`
      }.`,
    ];
    if (denial.resourceKind === 'document' && layer === 'identity-based policy') {
      details.push(
        'A Deny on ssm:StartSession with StringNotEquals (or another ' +
          'negated operator) on ssm:resourceTag/… also denies the',
        'session document, which has no tags: a key missing from the request makes a negated condition true.',
        `Scope that Deny to instances: "Resource": "arn:${partition}:ec2:*:*:instance/*".`,
      );
    }
    return new TunnelError('accessDenied', `AWS refused ${action} on ${what}, and no Allow can fix it.`, {
      details: [...details, said],
      hint: `Ask ${ADMIN_OF[layer]} to change it.`,
    });
  }

  if (denial.action === 'ssm:StartSession' && denial.resourceKind === 'document') {
    const statement = documentStatement(partition);
    const details = [
      `Bastion:  ${bastionLine} — needs ssm:StartSession too`,
      `Denied:   ${denial.resource}`,
      'Why: StartSession is authorized against the target instance AND the session document. A condition on',
      'ssm:resourceTag/… can never match the document, which carries no tags.',
    ];
    if (denial.documentOwner === 'aws') {
      const named = `arn:${partition}:ssm:${scope.region ?? 'REGION'}:${account ?? 'ACCOUNT'}`;
      details.push(
        'AWS-owned documents are also evaluated with an empty account field: a Resource that names an account id',
        `(${named}:document/${PORT_FORWARDING_DOCUMENT}) never matches it.`,
      );
    }
    details.push(addTo, ...formatStatements([statement]).map((l) => `  ${l}`), said);
    return new TunnelError(
      'accessDenied',
      'AWS refused ssm:StartSession on the session document, not on the bastion.',
      {
        details,
        hint: 'AWS names one refused resource per error: if the bastion is refused next, dbtunnel will say so.',
      },
    );
  }

  if (
    denial.action === 'ssm:StartSession' &&
    (denial.resourceKind === 'instance' || denial.resourceKind === 'managed-instance')
  ) {
    const tags = scope.instanceTags && Object.keys(scope.instanceTags).length ? scope.instanceTags : undefined;
    const statement = bastionStatement(
      withAccount,
      partition,
      tags && scope.bastion.kind !== 'instance' ? pickQueryTags(scope, tags) : undefined,
    );
    const details = [
      `Denied:   ${denial.resource}`,
      `Its tags: ${tagsText(scope.instanceTags)}`,
      'Why: no statement allows ssm:StartSession on this instance. ' +
        'A statement with a condition on ssm:resourceTag/<key>',
      'must name the tag values the bastion really has (values are case-sensitive).',
      `The session document (arn:${partition}:ssm:*:*:document/${PORT_FORWARDING_DOCUMENT}) ` +
        `needs ssm:StartSession too.`,
      addTo,
      ...formatStatements([statement, documentStatement(partition)]).map((l) => `  ${l}`),
      said,
    ];
    return new TunnelError(
      'accessDenied',
      `AWS refused ssm:StartSession on the bastion ${denial.resource?.split('/').at(-1) ?? ''}.`.replace(' .', '.'),
      {
        details,
        hint: 'Add both statements (the document one is harmless if you already have it).',
      },
    );
  }

  const byAction: Record<string, Parameters<typeof grantFor>[0]> = {
    'ec2:DescribeInstances': 'find-bastion',
    'ssm:DescribeInstanceInformation': 'bastion-online',
    'ssm:TerminateSession': 'terminate-session',
    'ssm:ResumeSession': 'resume-session',
    'ssmmessages:OpenDataChannel': 'open-data-channel',
    'ssm:DescribeSessions': 'list-sessions',
  };
  const id = denial.action ? byAction[denial.action] : undefined;
  if (id) {
    const statements = grantFor(id, withAccount, denial.principal);
    const sessionNote =
      denial.resourceKind === 'session' && statements.length > 1
        ? ['Your own sessions: the first statement fits IAM users, the second roles (SSO, assume-role).']
        : [];
    return new TunnelError(
      'accessDenied',
      `AWS refused ${denial.action}${denial.resource ? ` on ${denial.resource}` : ''}.`,
      {
        details: [...sessionNote, addTo, ...formatStatements(statements).map((l) => `  ${l}`), said],
        hint: '`dbtunnel policy <env>` prints the whole policy a tunnel needs.',
      },
    );
  }

  // A shape or an action nobody foresaw: AWS's own words, never nothing.
  return new TunnelError('accessDenied', `AWS refused ${action}.`, {
    details: [said],
    hint: '`dbtunnel policy <env>` prints the whole policy a tunnel needs.',
  });
}

/** The tags of the bastion that the config's query names (a Name tag, or the query's tags). */
function pickQueryTags(scope: TunnelScope, real: Record<string, string>): Record<string, string> {
  const keys =
    scope.bastion.kind === 'name' ? ['Name'] : scope.bastion.kind === 'tags' ? Object.keys(scope.bastion.tags) : [];
  const out: Record<string, string> = {};
  for (const k of keys) if (real[k] !== undefined) out[k] = real[k]!;
  return Object.keys(out).length ? out : real;
}

/** An AccessDenied TunnelError from the AWS edge, explained against the tunnel; anything else as is. */
export function explainIfDenied(e: unknown, scope: TunnelScope): unknown {
  if (!(e instanceof TunnelError) || e.kind !== 'accessDenied' || !(e.cause instanceof Error)) return e;
  return explainDenial(parseDenial(e.cause.message), scope);
}

/** Which layer refused, in words. Pure. */
function refusedBy(layer: string, explicit: boolean): string {
  if (layer === 'service control policy')
    return 'a service control policy (AWS says "explicit deny" for every SCP refusal)';
  return `${explicit ? 'an explicit Deny in' : 'no Allow in'} the ${layer}`;
}
