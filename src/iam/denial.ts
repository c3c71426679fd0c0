// Reading AWS's "not authorized" sentences (docs/aws-facts.md §denials) into a value. Pure. A shape nobody
// foresaw still yields a value with AWS's own text, so the explanation can fall back to it.

export type PolicyLayer =
  | 'identity-based policy'
  | 'permissions boundary'
  | 'session policy'
  | 'service control policy'
  | 'resource control policy'
  | 'resource-based policy'
  | 'VPC endpoint policy'
  | 'VPC endpoint policy through a service control policy';

export type ResourceKind = 'instance' | 'managed-instance' | 'document' | 'session' | 'other';

export interface Denial {
  /** The whole of AWS's text, always kept. */
  text: string;
  principal?: string;
  action?: string;
  resource?: string;
  resourceKind?: ResourceKind;
  /** For documents: AWS-owned (empty account field) or the customer's. */
  documentOwner?: 'aws' | 'customer';
  decision: 'implicit' | 'explicit' | 'unknown';
  layer?: PolicyLayer;
  /** The denying policy, in the 2025 form of the message. */
  policyArn?: string;
  /** EC2's encoded authorization failure message, for sts:DecodeAuthorizationMessage. */
  encodedMessage?: string;
}

const LAYERS: [RegExp, PolicyLayer][] = [
  [
    /^VPC endpoint policy transitively through a service control policy/i,
    'VPC endpoint policy through a service control policy',
  ],
  [/^identity-based polic(y|ies)/i, 'identity-based policy'],
  [/^permissions boundar(y|ies)/i, 'permissions boundary'],
  [/^sessions? polic(y|ies)/i, 'session policy'], // AWS writes "a sessions policy"
  [/^service control polic(y|ies)/i, 'service control policy'],
  [/^resource control polic(y|ies)/i, 'resource control policy'],
  [/^resource-based polic(y|ies)/i, 'resource-based policy'],
  [/^VPC endpoint polic(y|ies)/i, 'VPC endpoint policy'],
];

function layerOf(text: string): PolicyLayer | undefined {
  return LAYERS.find(([re]) => re.test(text.trim()))?.[1];
}

export function resourceKind(arn: string): { kind: ResourceKind; documentOwner?: 'aws' | 'customer' } {
  const parts = arn.split(':');
  const [, , service, , account = '', ...rest] = parts;
  const resource = rest.join(':');
  if (service === 'ec2' && resource.startsWith('instance/')) return { kind: 'instance' };
  if (service === 'ssm' && resource.startsWith('managed-instance/')) return { kind: 'managed-instance' };
  if (service === 'ssm' && resource.startsWith('document/')) {
    return { kind: 'document', documentOwner: account === '' ? 'aws' : 'customer' };
  }
  if (service === 'ssm' && resource.startsWith('session/')) return { kind: 'session' };
  return { kind: 'other' };
}

const SENTENCE = new RegExp(
  [
    'User: (\\S+) is not authorized to perform: (\\S+?)',
    '(?: on resource: ("[^"]*"|\\S+?))?',
    // the sentence ends, or says why ("because …", "with …"), or an encoded message follows
    '(?:\\.?$| (because .*|with .*)$|\\.? (?=Encoded authorization failure message))',
  ].join(''),
  's',
);

export function parseDenial(raw: string): Denial {
  const text = raw.trim();
  const encodedMessage = /Encoded authorization failure message: (\S+)/.exec(text)?.[1];
  // The sentence alone, without a CLI/SDK prefix or EC2's encoded message after it.
  const start = text.indexOf('User: ');
  const sentence =
    start === -1
      ? ''
      : text
          .slice(start)
          .replace(/\s*Encoded authorization failure message: \S+\s*$/, '')
          .trim();
  const m = SENTENCE.exec(sentence);
  const out: Denial = { text, decision: 'unknown' };
  if (encodedMessage) out.encodedMessage = encodedMessage;
  if (!m) return out;
  out.principal = m[1]!;
  out.action = m[2]!.replace(/\.$/, '');
  if (m[3]) {
    out.resource = m[3].replace(/^"|"$/g, '').replace(/\.$/, '');
    const { kind, documentOwner } = resourceKind(out.resource);
    out.resourceKind = kind;
    if (documentOwner) out.documentOwner = documentOwner;
  }
  const context = (m[4] ?? '').replace(/\.$/, '');
  const implicit = /^because no (.+?) allows the \S+ action/i.exec(context);
  const explicit = /^with an explicit deny in an? (.+?)(?:: (arn:\S+))?$/i.exec(context);
  if (implicit) {
    out.decision = 'implicit';
    const layer = layerOf(implicit[1]!);
    if (layer) out.layer = layer;
  } else if (explicit) {
    const layer = layerOf(explicit[1]!);
    if (layer) out.layer = layer;
    // SCP denials always read "explicit deny", even when no SCP allowed the action (implicit).
    out.decision = 'explicit';
    if (explicit[2]) out.policyArn = explicit[2];
  }
  return out;
}
