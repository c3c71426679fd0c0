// Reading policy documents from files for `dbtunnel policy check`: JSON, with every problem named.
import * as z from '../zod.js';
import { TunnelError } from '../errors.js';
import { describeReadProblem, FileReadError, MiB, readBoundedFile } from '../files.js';
import { isKnownOperator, type NamedPolicy, type PolicyDocument } from './evaluate.js';

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

export async function readPolicyFile(file: string): Promise<{ policy: NamedPolicy; warnings: string[] }> {
  let text: string;
  try {
    // IAM's largest managed policy is 6,144 characters; a file of more than a MiB is not one.
    text = (await readBoundedFile(file, MiB)).toString('utf8');
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    throw new TunnelError('config', `Policy file ${file} ${describeReadProblem(e.problem)}.`, {
      hint: 'Pass the path of a JSON policy document saved in a file (as shown by `aws iam get-policy-version`, the Document part).',
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
  const warnings: string[] = [];
  for (const st of [doc.Statement].flat()) {
    for (const op of Object.keys(st.Condition ?? {})) {
      if (!isKnownOperator(op))
        warnings.push(`${file}: condition operator "${op}" is not one IAM knows; that condition never matches.`);
    }
  }
  return { policy: { name: file, document: doc }, warnings };
}
