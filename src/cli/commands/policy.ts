// `policy <env> [db…]`: the least-privilege identity policy for an environment's tunnels; `policy
// check`: IAM policy files evaluated offline against the requests a tunnel makes.
import { defineCommand } from './spec.js';

const positionalOptions = {
  env: { type: 'string', demandOption: true, describe: 'Environment from the config' },
  dbs: { type: 'string', array: true, describe: 'Database(s) of that environment (default: all)' },
} as const;

export const policyCheck = defineCommand({
  path: ['policy', 'check'],
  positionals: '<env> [dbs..]',
  describe: 'Evaluate IAM policy files against the requests a tunnel makes; a verdict and a fix for each',
  positionalOptions,
  options: {
    policy: { type: 'string', array: true, describe: 'Identity policy JSON file(s) of the user or role' },
    scp: {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'Service control policy JSON file(s), taken as one level of the organization',
    },
    boundary: { type: 'string', describe: 'Permissions boundary JSON file' },
    principal: {
      type: 'string',
      describe: 'Who makes the requests (an IAM user or assumed-role ARN), for ${aws:username} and friends',
    },
    context: {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'key=value for a key AWS knows only at request time (aws:SourceIp, aws:PrincipalOrgID…)',
    },
    region: { type: 'string', describe: 'Region (overrides the config)' },
    json: { type: 'boolean', default: false, describe: 'Print the verdicts as JSON' },
  },
  examples: [['$0 policy check stg mydb --policy dev-policy.json --scp org-guardrails.json', '']],
  check: (a) => ((a.policy ?? []).length === 0 ? 'Pass at least one identity policy: --policy FILE.' : undefined),
  async run(a, { term }) {
    const { policyCheckCommand } = await import('../policy-command.js');
    return policyCheckCommand(
      {
        env: a.env,
        dbs: (a.dbs ?? []).map(String),
        config: a.config,
        region: a.region,
        json: a.json,
        policy: (a.policy ?? []).map(String),
        scp: a.scp.map(String),
        boundary: a.boundary,
        principal: a.principal,
        context: a.context.map(String),
      },
      term,
    );
  },
});

export const policy = defineCommand({
  path: ['policy'],
  positionals: '<env> [dbs..]',
  describe: 'Print the least-privilege IAM policy for an environment (policy check: test policy files offline)',
  positionalOptions,
  options: {
    region: { type: 'string', describe: 'Region (overrides the config)' },
    json: { type: 'boolean', default: false, describe: 'Print only the policy document' },
  },
  async run(a, { term }) {
    const { policyCommand } = await import('../policy-command.js');
    return policyCommand(
      { env: a.env, dbs: (a.dbs ?? []).map(String), config: a.config, region: a.region, json: a.json },
      term,
    );
  },
});
