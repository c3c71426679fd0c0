// --dry-run: the AWS CLI command lines that do what dbtunnel would do, as a POSIX shell script
// (bash, zsh, sh): every word from the config or the command line is quoted for those shells.
// Pure; starts nothing.
import type { EnvironmentPlan } from '../config/resolve.js';
import { PORT_FORWARDING_DOCUMENT, type SessionClientChoice } from '../model.js';
import { posixQuote } from '../shell-quote.js';

/** One command of a dry run, and what it does (`find the bastion`, `stg mydb`). */
export interface DryRunStep {
  what: string;
  command: string;
}

/** The steps as a shell script reads them: a comment, the command, a blank line between. */
export function dryRunScript(steps: readonly DryRunStep[]): string {
  // A comment ends at a newline: one in a name would turn the rest into a command.
  return steps.map((s) => `# ${s.what.replace(/[\r\n]+/g, ' ')}\n${s.command}`).join('\n\n');
}

/** A tag's words the AWS CLI's shorthand syntax reads as they are (no `,` `=` brackets or quotes). */
const SHORTHAND_SAFE = /^[A-Za-z0-9_.:/+@-]+$/;

/**
 * EC2 filters for the AWS CLI: its shorthand (`Name=tag:Name,Values=x`) when every word is plain,
 * else JSON, which says the same of any tag (the shorthand splits values at commas). Pure.
 */
export function filtersArgument(tags: Record<string, string>): string {
  const filters = [
    ...Object.entries(tags).map(([k, v]) => ({ Name: `tag:${k}`, Values: [v] })),
    { Name: 'instance-state-name', Values: ['running'] },
  ];
  if (Object.entries(tags).every(([k, v]) => SHORTHAND_SAFE.test(k) && SHORTHAND_SAFE.test(v))) {
    return filters.map((f) => posixQuote(`Name=${f.Name},Values=${f.Values.join(',')}`)).join(' ');
  }
  return posixQuote(JSON.stringify(filters));
}

/**
 * The commands, and for dbtunnel's own session client (`native`), a word that the AWS CLI's
 * start-session needs session-manager-plugin, which dbtunnel would not use.
 */
export function dryRunCommands(plan: EnvironmentPlan, client?: SessionClientChoice): DryRunStep[] {
  const scope = [
    plan.region && `--region ${posixQuote(plan.region)}`,
    plan.profile && `--profile ${posixQuote(plan.profile)}`,
  ]
    .filter(Boolean)
    .join(' ');
  const tail = scope ? ` ${scope}` : '';
  const out: DryRunStep[] = [];
  let target: string;
  if (plan.bastion.kind === 'instance') {
    target = posixQuote(plan.bastion.instanceId);
  } else {
    const tags = plan.bastion.kind === 'name' ? { Name: plan.bastion.name } : plan.bastion.tags;
    const lookup =
      `aws ec2 describe-instances --filters ${filtersArgument(tags)} ` +
      `--query 'Reservations[].Instances[0].InstanceId' --output text${tail}`;
    out.push({ what: 'find the bastion', command: `BASTION=$(${lookup})` });
    target = '"$BASTION"';
  }
  for (const t of plan.tunnels) {
    const local = t.localPort ?? t.port;
    const params = JSON.stringify({ host: [t.host], portNumber: [String(t.port)], localPortNumber: [String(local)] });
    out.push({
      what:
        `${t.env} ${t.db}${t.localPort === undefined ? localPortNote(t.port) : ''}` +
        (client === 'native'
          ? '; dbtunnel would carry this session with its own client, the AWS CLI needs session-manager-plugin'
          : ''),
      command:
        `aws ssm start-session --target ${target} --document-name ` +
        `${PORT_FORWARDING_DOCUMENT} --parameters ${posixQuote(params)}${tail}`,
    });
  }
  return out;
}

function localPortNote(port: number): string {
  return ` (dbtunnel uses ${port} locally if it is free, else a port the system picks)`;
}
