// --dry-run: the AWS CLI command lines that do what dbtunnel would do. Pure; starts nothing.
import type { EnvironmentPlan } from '../config/resolve.js';
import { PORT_FORWARDING_DOCUMENT } from '../iam/requests.js';

/** POSIX shell single-quoting. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@,+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** One command of a dry run, and what it does (`find the bastion`, `stg mydb`). */
export interface DryRunStep {
  what: string;
  command: string;
}

/** The steps as a shell script reads them: a comment, the command, a blank line between. */
export function dryRunScript(steps: readonly DryRunStep[]): string {
  return steps.map((s) => `# ${s.what}\n${s.command}`).join('\n\n');
}

export function dryRunCommands(plan: EnvironmentPlan): DryRunStep[] {
  const scope = [plan.region && `--region ${shellQuote(plan.region)}`, plan.profile && `--profile ${shellQuote(plan.profile)}`].filter(Boolean).join(' ');
  const tail = scope ? ` ${scope}` : '';
  const out: DryRunStep[] = [];
  let target: string;
  if (plan.bastion.kind === 'instance') {
    target = plan.bastion.instanceId;
  } else {
    const tags = plan.bastion.kind === 'name' ? { Name: plan.bastion.name } : plan.bastion.tags;
    const filters = [...Object.entries(tags).map(([k, v]) => shellQuote(`Name=tag:${k},Values=${v}`)), 'Name=instance-state-name,Values=running'];
    const lookup = `aws ec2 describe-instances --filters ${filters.join(' ')} --query 'Reservations[].Instances[0].InstanceId' --output text${tail}`;
    out.push({ what: 'find the bastion', command: `BASTION=$(${lookup})` });
    target = '"$BASTION"';
  }
  for (const t of plan.tunnels) {
    const local = t.localPort ?? t.port;
    const params = JSON.stringify({ host: [t.host], portNumber: [String(t.port)], localPortNumber: [String(local)] });
    out.push({
      what: `${t.env} ${t.db}${t.localPort === undefined ? ` (dbtunnel uses ${t.port} locally if it is free, else a port the system picks)` : ''}`,
      command: `aws ssm start-session --target ${target} --document-name ${PORT_FORWARDING_DOCUMENT} --parameters ${shellQuote(params)}${tail}`,
    });
  }
  return out;
}
