// Corporate networks: HTTPS_PROXY / HTTP_PROXY / NO_PROXY and AWS_CA_BUNDLE for dbtunnel's own AWS
// calls. The AWS SDK for JavaScript reads neither, so each client gets the agent its endpoint
// needs. (The plugin inherits the same variables from dbtunnel's environment.)
import type http from 'node:http';
import https from 'node:https';
import { getProxyForUrl } from 'proxy-from-env';
import { TunnelError } from '../errors.js';
import { describeReadProblem, FileReadError, MiB, readBoundedFile } from '../files.js';

export type Service = 'ec2' | 'ssm' | 'sts' | 'iam' | 'rds';

/** The endpoint a client will call, for the proxy decision only (the SDK resolves its own). Pure. */
export function endpointFor(service: Service, region: string, env: NodeJS.ProcessEnv): string {
  const specific = env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] ?? env.AWS_ENDPOINT_URL;
  if (specific) return specific;
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return service === 'iam' ? `https://iam.${suffix}` : `https://${service}.${region}.${suffix}`;
}

/** A CA bundle is a few hundred KiB even with every public authority in it. */
export const MAX_CA_BUNDLE_BYTES = 10 * MiB;

async function readBundle(env: NodeJS.ProcessEnv): Promise<Buffer | undefined> {
  const bundle = env.AWS_CA_BUNDLE;
  if (!bundle) return undefined;
  try {
    return await readBoundedFile(bundle, MAX_CA_BUNDLE_BYTES);
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    throw new TunnelError('config', `AWS_CA_BUNDLE names ${bundle}, which ${describeReadProblem(e.problem)}.`, {
      hint: "Point AWS_CA_BUNDLE at a PEM file with your organization's certificate authorities, or unset it.",
    });
  }
}

export type RequestHandlerOptions = { httpAgent?: http.Agent; httpsAgent?: https.Agent };

/**
 * The request handler options for one service's client, or undefined when nothing asks for any
 * (the SDK's own handler is then kept). The proxy agents (and the `debug` package under them) load
 * only when a proxy is in use.
 */
export async function networkFor(
  env: NodeJS.ProcessEnv,
): Promise<(service: Service, region: string) => Promise<RequestHandlerOptions | undefined>> {
  const ca = await readBundle(env);
  const tls = ca ? { ca } : {};
  return async (service, region) => {
    const endpoint = endpointFor(service, region, env);
    const proxy = getProxyForUrl(endpoint);
    const secure = endpoint.startsWith('https:');
    if (proxy && secure) {
      const { HttpsProxyAgent } = await import('https-proxy-agent');
      return { httpsAgent: new HttpsProxyAgent(proxy, { keepAlive: true, ...tls }) as unknown as https.Agent };
    }
    if (proxy) {
      const { HttpProxyAgent } = await import('http-proxy-agent');
      return { httpAgent: new HttpProxyAgent(proxy, { keepAlive: true }) as unknown as http.Agent };
    }
    return ca ? { httpsAgent: new https.Agent({ keepAlive: true, ca }) } : undefined;
  };
}

/**
 * The agent for a WebSocket to `url` (the native session client's data channel): the same proxy
 * (CONNECT, for wss:// and ws:// alike) and CA bundle as dbtunnel's AWS clients; undefined when
 * neither applies. TLS is verified either way.
 */
export async function agentForWebSocket(url: string, env: NodeJS.ProcessEnv): Promise<http.Agent | undefined> {
  const ca = await readBundle(env);
  const asHttp = url.replace(/^ws(s?):/, 'http$1:');
  const proxy = getProxyForUrl(asHttp);
  if (proxy) {
    const { HttpsProxyAgent } = await import('https-proxy-agent');
    return new HttpsProxyAgent(proxy, ca ? { ca } : {}) as unknown as http.Agent;
  }
  // The bundle is for TLS: a ws:// URL (a local endpoint) keeps Node's plain agent.
  return ca && url.startsWith('wss:') ? new https.Agent({ ca }) : undefined;
}
