// Reading policy documents from files for `dbtunnel policy check`: JSON, with every problem named.
import * as z from '../zod.js';
import { TunnelError } from '../errors.js';
import { describeReadProblem, FileReadError, MiB, readBoundedFile } from '../files.js';
import { excerpt } from '../text.js';
import { isKnownOperator, type NamedPolicy, type PolicyDocument, type Statement } from './evaluate.js';

const stringOrList = z.union([z.string(), z.array(z.string())]);
const statement = z
  .object({
    Sid: z.optional(z.string()),
    Effect: z.enum(['Allow', 'Deny'], { error: 'Effect must be "Allow" or "Deny"' }),
    Action: z.optional(stringOrList),
    NotAction: z.optional(stringOrList),
    Resource: z.optional(stringOrList),
    NotResource: z.optional(stringOrList),
    Condition: z.optional(z.record(z.string(), z.record(z.string(), z.unknown()))),
    Principal: z.optional(z.unknown()),
    NotPrincipal: z.optional(z.unknown()),
  })
  .check(
    z.refine(
      (s) => (s.Action === undefined) !== (s.NotAction === undefined),
      'a statement needs Action or NotAction (one of them)',
    ),
    z.refine(
      (s) => (s.Resource === undefined) !== (s.NotResource === undefined),
      'an identity policy statement needs Resource or NotResource (one of them)',
    ),
  );
const document = z.object({
  Version: z.optional(z.string()),
  Id: z.optional(z.string()),
  // One statement or a list: read as a list, so that a problem is reported at its own path.
  Statement: z.pipe(
    z.transform((v: unknown) => (Array.isArray(v) || v === undefined ? v : [v])),
    z.array(statement),
  ),
});

/**
 * What AWS's policy validator rejects in a statement's Action and Resource: an action is `*` or
 * `service:action`, the service made of letters, digits and hyphens (no wildcard: `*:StartSession`
 * is refused); a resource is `*` or an ARN. Pure.
 */
export function grammarProblems(st: Statement, index: number): string[] {
  const where = `Statement ${st.Sid ?? `#${index + 1}`}`;
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : [v].flat());
  const out: string[] = [];
  for (const [field, actions] of [
    ['Action', st.Action],
    ['NotAction', st.NotAction],
  ] as const) {
    for (const a of list(actions)) {
      if (a === '*') continue;
      const [service, name, ...more] = a.split(':');
      if (more.length > 0 || name === undefined || name === '')
        out.push(`${where}: ${field} ${excerpt(a)} is not "service:action".`);
      else if (!/^[A-Za-z0-9-]+$/.test(service!))
        out.push(
          `${where}: ${field} ${excerpt(a)}: a service prefix has letters, digits and hyphens only (no wildcard).`,
        );
    }
  }
  for (const [field, resources] of [
    ['Resource', st.Resource],
    ['NotResource', st.NotResource],
  ] as const) {
    for (const r of list(resources)) {
      if (r !== '*' && !r.startsWith('arn:'))
        out.push(`${where}: ${field} ${excerpt(r)} is neither "*" nor an ARN (arn:…).`);
    }
  }
  return out;
}

export async function readPolicyFile(file: string): Promise<{ policy: NamedPolicy; warnings: string[] }> {
  let text: string;
  try {
    // IAM's largest managed policy is 6,144 characters; a file of more than a MiB is not one.
    text = (await readBoundedFile(file, MiB)).toString('utf8');
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    throw new TunnelError('config', `Policy file ${file} ${describeReadProblem(e.problem)}.`, {
      hint:
        'Pass the path of a JSON policy document saved in a file (as ' +
        'shown by `aws iam get-policy-version`, the Document part).',
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TunnelError('config', `Policy file ${file} is not valid JSON: ${(e as Error).message.slice(0, 200)}`, {
      hint: 'A policy document is a JSON object with "Version" and "Statement".',
    });
  }
  // Accept what `aws iam get-policy-version` prints, too.
  const inner = (json as { PolicyVersion?: { Document?: unknown } })?.PolicyVersion?.Document ?? json;
  const parsed = document.safeParse(inner);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${i.path.length ? i.path.join('.') : 'the document'}: ${i.message}`,
    );
    throw new TunnelError('config', `Policy file ${file} is not a policy document:`, {
      details: problems.slice(0, 10),
      hint: 'Each statement needs Effect, Action (or NotAction) and Resource (or NotResource).',
    });
  }
  const doc = parsed.data as PolicyDocument;
  const rejected = [doc.Statement].flat().flatMap((st, i) => grammarProblems(st, i));
  if (rejected.length > 0) {
    throw new TunnelError('config', `Policy file ${file} is not a policy AWS would accept:`, {
      details: rejected.slice(0, 10),
      hint: 'Correct it as each line says: AWS rejects the whole policy, so what it would allow cannot be checked.',
    });
  }
  const warnings: string[] = [];
  for (const st of [doc.Statement].flat()) {
    for (const op of Object.keys(st.Condition ?? {})) {
      if (!isKnownOperator(op))
        warnings.push(`${file}: condition operator "${op}" is not one IAM knows; that condition never matches.`);
    }
  }
  return { policy: { name: file, document: doc }, warnings };
}
