// The emulator's world as a test describes it: instances, principals, roles, sessions, injected
// failures; and the constants every service module shares.
import type { PolicyDocument } from '../../../src/iam/evaluate.js';
import type { EmuAgentBehaviour } from './agent.js';
import type { EmuReachability } from './reachability.js';

export type InstanceState = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

export interface EmuInstance {
  id: string;
  tags?: Record<string, string>;
  state?: InstanceState;
  launchTime?: string;
  /** Session Manager's view: Online unless said otherwise. */
  ping?: 'Online' | 'ConnectionLost' | 'Inactive';
  /** > 3.0.196.0 makes the plugin use multiplexed mode. */
  agentVersion?: string;
}

export interface EmuPrincipal {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  arn: string;
  userId: string;
  expired?: boolean;
  /** Identity policies. When absent, this principal may do anything (IAM is not enforced). */
  policies?: PolicyDocument[];
  boundary?: PolicyDocument;
}

export interface EmuRole {
  arn: string;
  /** When set, AssumeRole needs SerialNumber and this TokenCode. */
  mfaSerial?: string;
  mfaCode?: string;
  /** The role's policies, given to every session of it. */
  policies?: PolicyDocument[];
  boundary?: PolicyDocument;
}

export interface EmuFailure {
  code: string;
  message: string;
  status?: number;
  /** How many calls fail; undefined: all. */
  times?: number;
}

export interface Scenario {
  account?: string;
  region?: string;
  principals?: EmuPrincipal[];
  roles?: EmuRole[];
  instances?: EmuInstance[];
  /** What the bastion reaches for a document's host:port → where that really is on this machine. */
  network?: Record<string, string>;
  /** Errors to answer with, by operation name (StartSession, DescribeInstances, …). */
  failures?: Record<string, EmuFailure>;
  /** Added to every AWS API answer (not to the data channel). */
  latencyMs?: number;
  /** AWS ends each session after this long (an idle or maximum-duration timeout). */
  sessionEndsAfterMs?: number;
  /** Service control policies, one list per level of the organization. */
  scps?: PolicyDocument[][];
  /**
   * moto_server's URL: EC2 and RDS calls are authorized here (the principal's policies, injected
   * failures) and, when allowed, answered there, so moto's VPCs meet this emulator's IAM.
   */
  upstream?: string;
  /** What Reachability Analyzer answers (default: a path is found). */
  reachability?: EmuReachability;
  /** How the agent treats the native client's data channel (ignoring, reordering, refusing). */
  agent?: EmuAgentBehaviour;
  /** false: the agent accepts an upgrade that is not signed (default: it must be). */
  requireSignedDataChannel?: boolean;
}

export interface EmuCall {
  service: 'ec2' | 'ssm' | 'sts' | 'iam' | 'rds';
  action: string;
  input: Record<string, unknown>;
  principal: string | undefined;
  at: number;
}

export interface EmuSession {
  id: string;
  target: string;
  owner: string;
  documentName: string;
  parameters: Record<string, string[]>;
  token: string;
  startedAt: Date;
  status: 'Connected' | 'Terminated';
  /** Who ended it: the TerminateSession API, the plugin over its data channel, or AWS. */
  endedBy?: 'api' | 'plugin' | 'aws';
  /** The open data channels: the fake plugin's HTTP stream, or the native client's WebSocket. */
  channels: Set<{ end(chunk?: string): unknown; destroy(): unknown }>;
}

export const DEFAULT_ACCOUNT = '123456789012';
export const DEFAULT_REGION = 'ap-northeast-1';
export const DEV_USER: EmuPrincipal = {
  accessKeyId: 'AKIAEMULATORDEV00001',
  secretAccessKey: 'emulator-dev-secret',
  arn: `arn:aws:iam::${DEFAULT_ACCOUNT}:user/dev`,
  userId: 'AIDAEMULATORDEV00001',
};

export const STATE_CODES: Record<InstanceState, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export const PORT_FORWARDING_DOCUMENT = 'AWS-StartPortForwardingSessionToRemoteHost';
export const HOST_PATTERN = /^[^,$^&()!;'"<>`{}[\]|#=]{3,}$/;
