// What every layer talks about, and so belongs to none of them: the plan of a run (its tunnels and
// its bastion), the Session Manager request and answer, and the few facts of AWS that more than one
// layer needs. Types and constants only; docs/aws-facts.md has the sources.

/** Engines whose client command and URL the ready line can print (README "Configuration"). */
export const ENGINES = ['mysql', 'postgres', 'redis', 'mongodb', 'mssql', 'oracle'] as const;
export type Engine = (typeof ENGINES)[number];

export type ReconnectMode = 'always' | 'on-failure' | 'never';

/**
 * Which session client carries a tunnel: AWS's session-manager-plugin, dbtunnel's own (src/native/),
 * or auto: the plugin when it is installed, else dbtunnel's own.
 */
export const SESSION_CLIENTS = ['auto', 'plugin', 'native'] as const;
export type SessionClientChoice = (typeof SESSION_CLIENTS)[number];

/** How the bastion is found: by its Name tag, by tags, or named by id (no lookup). */
export type BastionQuery =
  | { kind: 'name'; name: string }
  | { kind: 'tags'; tags: Record<string, string> }
  | { kind: 'instance'; instanceId: string; from: 'config' | '--instance' };

/** One database to open a tunnel to. */
export interface TunnelSpec {
  env: string;
  db: string;
  /** The database as the bastion reaches it. */
  host: string;
  port: number;
  /** What the config asks for; undefined means "the database's port if free, else one the OS picks". */
  localPort: number | undefined;
  engine?: Engine | undefined;
}

/** The plan of one run: an environment's AWS scope, its bastion, the databases asked for. */
export interface EnvironmentPlan {
  env: string;
  /** undefined: the SDK's default chain (env credentials, AWS_PROFILE, SSO, instance role). */
  profile: string | undefined;
  /** undefined: the SDK's chain (AWS_REGION, the profile's region). */
  region: string | undefined;
  bastion: BastionQuery;
  tunnels: TunnelSpec[];
  /** Ask before opening (production guard). */
  confirm: boolean;
  /** The config's reconnect mode, if it sets one. */
  reconnect: ReconnectMode | undefined;
  /** The config's session client, if it names one. */
  sessionClient?: SessionClientChoice | undefined;
}

/** The Session Manager document that forwards a local port to a host the target reaches. */
export const PORT_FORWARDING_DOCUMENT = 'AWS-StartPortForwardingSessionToRemoteHost';

/** An EC2 instance id (i-…) or a managed instance's (mi-…): what StartSession takes as a target. */
export const INSTANCE_ID_PATTERN = /^(i|mi)-[0-9a-f]{8,17}$/;

/** ssm:StartSession as the AWS CLI sends it (every parameter value a list of strings). */
export interface StartSessionRequest {
  Target: string;
  DocumentName: string;
  Parameters: Record<string, string[]>;
}

/** What StartSession answers: the session, its token, and the data channel's URL. */
export interface StartSessionResponse {
  SessionId: string;
  TokenValue: string;
  StreamUrl: string;
}

/** Resolved AWS credentials. */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}
