// ARNs: every one in the region's partition (docs/aws-facts.md §arns).

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('eu-isoe-')) return 'aws-iso-e';
  if (region.startsWith('us-isof-')) return 'aws-iso-f';
  return 'aws';
}

export function instanceArn(region: string, account: string, instanceId: string): string {
  return `arn:${partitionOf(region)}:ec2:${region}:${account}:instance/${instanceId}`;
}

/** AWS-owned documents are evaluated with an empty account field. */
export function documentArn(region: string, name: string, account = ''): string {
  return `arn:${partitionOf(region)}:ssm:${region}:${account}:document/${name}`;
}

export function sessionArn(region: string, account: string, sessionId: string): string {
  return `arn:${partitionOf(region)}:ssm:${region}:${account}:session/${sessionId}`;
}
