// A VPC in moto_server for the network check: a bastion in one subnet and a database (a network
// interface at a fixed address, or an RDS instance) in another, the database's group letting the
// bastion's in on 3306, each subnet with its own network ACL that allows everything. A second VPC,
// peered, when asked. Built through the AWS SDK, as anyone would with the console or Terraform.
import {
  AcceptVpcPeeringConnectionCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateNetworkAclCommand,
  CreateNetworkAclEntryCommand,
  CreateNetworkInterfaceCommand,
  CreateRouteCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  CreateVpcPeeringConnectionCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  EC2Client,
  ReplaceNetworkAclAssociationCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CreateDBInstanceCommand, CreateDBSubnetGroupCommand, RDSClient } from '@aws-sdk/client-rds';
import { DEV_USER } from './emulator.js';

export interface MotoClients {
  ec2: EC2Client;
  rds: RDSClient;
}

export function motoClients(url: string): MotoClients {
  const config = {
    region: 'ap-northeast-1',
    endpoint: url,
    credentials: { accessKeyId: DEV_USER.accessKeyId, secretAccessKey: DEV_USER.secretAccessKey },
  };
  return { ec2: new EC2Client(config), rds: new RDSClient(config) };
}

export interface TestVpc {
  /** The bastion's Name tag (unique per VPC). */
  name: string;
  bastionId: string;
  bastionSubnet: string;
  sgBastion: string;
  sgDb: string;
  dbSubnet: string;
  dbVpc: string;
  /** The database's host for the config: an address, or an RDS endpoint. */
  host: string;
  aclDb: string;
  /** The main route tables of the bastion's and (peered) the database's VPC. */
  rtbBastion: string;
  rtbDb: string;
  peering?: string;
  rdsId?: string;
}

const AZ = 'ap-northeast-1a';

async function subnet(ec2: EC2Client, vpc: string, cidr: string): Promise<string> {
  return (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: cidr, AvailabilityZone: AZ }))).Subnet!
    .SubnetId!;
}

async function group(ec2: EC2Client, vpc: string, name: string): Promise<string> {
  return (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpc, GroupName: name, Description: name }))).GroupId!;
}

async function mainRouteTable(ec2: EC2Client, vpc: string): Promise<string> {
  const out = await ec2.send(
    new DescribeRouteTablesCommand({
      Filters: [
        { Name: 'vpc-id', Values: [vpc] },
        { Name: 'association.main', Values: ['true'] },
      ],
    }),
  );
  return out.RouteTables![0]!.RouteTableId!;
}

/** A network ACL of its own for `subnetId`, allowing everything (rule 100 each way). */
async function ownAcl(ec2: EC2Client, vpc: string, subnetId: string): Promise<string> {
  const acl = (await ec2.send(new CreateNetworkAclCommand({ VpcId: vpc }))).NetworkAcl!.NetworkAclId!;
  for (const Egress of [false, true]) {
    await ec2.send(
      new CreateNetworkAclEntryCommand({
        NetworkAclId: acl,
        RuleNumber: 100,
        Protocol: '-1',
        RuleAction: 'allow',
        Egress,
        CidrBlock: '0.0.0.0/0',
      }),
    );
  }
  const current = await ec2.send(
    new DescribeNetworkAclsCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] }),
  );
  const association = current.NetworkAcls![0]!.Associations!.find((a) => a.SubnetId === subnetId)!;
  await ec2.send(
    new ReplaceNetworkAclAssociationCommand({ AssociationId: association.NetworkAclAssociationId!, NetworkAclId: acl }),
  );
  return acl;
}

/**
 * VPC number `n` (10.n.0.0/16; peered: the database in 10.(n+100).0.0/16). The database is an
 * interface at 10.n.2.20 (or 10.(n+100).2.20), or an RDS instance `netdb-n` when `rds` is set.
 */
export async function buildVpc(
  { ec2, rds }: MotoClients,
  n: number,
  opts: { rds?: boolean; peered?: boolean } = {},
): Promise<TestVpc> {
  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: `10.${n}.0.0/16` }))).Vpc!.VpcId!;
  const bastionSubnet = await subnet(ec2, vpc, `10.${n}.1.0/24`);
  const sgBastion = await group(ec2, vpc, `bastion-${n}`);
  const m = opts.peered ? n + 100 : n;
  const dbVpc = opts.peered ? (await ec2.send(new CreateVpcCommand({ CidrBlock: `10.${m}.0.0/16` }))).Vpc!.VpcId! : vpc;
  const dbSubnet = await subnet(ec2, dbVpc, `10.${m}.2.0/24`);
  const sgDb = await group(ec2, dbVpc, `db-${n}`);
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: sgDb,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, UserIdGroupPairs: [{ GroupId: sgBastion }] }],
    }),
  );
  await ownAcl(ec2, vpc, bastionSubnet);
  const aclDb = await ownAcl(ec2, dbVpc, dbSubnet);

  const name = `net-bastion-${n}`;
  const bastionId = (
    await ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-12c6146b',
        MinCount: 1,
        MaxCount: 1,
        InstanceType: 't3.micro',
        SubnetId: bastionSubnet,
        SecurityGroupIds: [sgBastion],
      }),
    )
  ).Instances![0]!.InstanceId!;
  await ec2.send(new CreateTagsCommand({ Resources: [bastionId], Tags: [{ Key: 'Name', Value: name }] }));

  const rtbBastion = await mainRouteTable(ec2, vpc);
  const rtbDb = await mainRouteTable(ec2, dbVpc);
  let peering: string | undefined;
  if (opts.peered) {
    peering = (await ec2.send(new CreateVpcPeeringConnectionCommand({ VpcId: vpc, PeerVpcId: dbVpc })))
      .VpcPeeringConnection!.VpcPeeringConnectionId!;
    await ec2.send(new AcceptVpcPeeringConnectionCommand({ VpcPeeringConnectionId: peering }));
    await ec2.send(
      new CreateRouteCommand({
        RouteTableId: rtbBastion,
        DestinationCidrBlock: `10.${m}.0.0/16`,
        VpcPeeringConnectionId: peering,
      }),
    );
    await ec2.send(
      new CreateRouteCommand({
        RouteTableId: rtbDb,
        DestinationCidrBlock: `10.${n}.0.0/16`,
        VpcPeeringConnectionId: peering,
      }),
    );
  }

  let host = `10.${m}.2.20`;
  let rdsId: string | undefined;
  if (opts.rds) {
    rdsId = `netdb-${n}`;
    await rds.send(
      new CreateDBSubnetGroupCommand({
        DBSubnetGroupName: `db-${n}`,
        DBSubnetGroupDescription: 'the database subnet',
        SubnetIds: [dbSubnet],
      }),
    );
    const created = await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: rdsId,
        DBInstanceClass: 'db.t3.micro',
        Engine: 'mysql',
        MasterUsername: 'admin',
        MasterUserPassword: 'not-a-secret-1',
        AllocatedStorage: 20,
        DBSubnetGroupName: `db-${n}`,
        VpcSecurityGroupIds: [sgDb],
      }),
    );
    host = created.DBInstance!.Endpoint!.Address!;
  } else {
    await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: dbSubnet, PrivateIpAddress: host, Groups: [sgDb] }));
  }
  return {
    name,
    bastionId,
    bastionSubnet,
    sgBastion,
    sgDb,
    dbSubnet,
    dbVpc,
    host,
    aclDb,
    rtbBastion,
    rtbDb,
    ...(peering ? { peering } : {}),
    ...(rdsId ? { rdsId } : {}),
  };
}

/** A dbtunnel config whose environment stg reaches mydb through this VPC's bastion (by its Name tag). */
export function vpcConfig(vpc: TestVpc, db: { host?: string; port?: number; localPort?: number } = {}) {
  const mydb = {
    host: db.host ?? vpc.host,
    port: db.port ?? 3306,
    ...(db.localPort === undefined ? {} : { localPort: db.localPort }),
  };
  return {
    environments: {
      stg: { profile: 'stg', region: 'ap-northeast-1', bastion: vpc.name, databases: { mydb } },
    },
  };
}
