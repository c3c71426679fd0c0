// What every service module speaks: request ids, XML escaping, request bodies, EC2 filters.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { DEFAULT_ACCOUNT } from './model.js';

export function ec2Filters(form: URLSearchParams): { name: string; values: string[] }[] {
  const out: { name: string; values: string[] }[] = [];
  for (const [k, v] of form.entries()) {
    const m = /^Filter\.(\d+)\.Name$/.exec(k);
    if (!m) continue;
    const values = [...form.entries()]
      .filter(([vk]) => new RegExp(`^Filter\\.${m[1]}\\.Value\\.\\d+$`).test(vk))
      .map(([, vv]) => vv);
    out.push({ name: v, values });
  }
  return out;
}

/** EC2 filter values accept * and ? wildcards. */
export function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(value);
}

/** The name a session id starts with: the IAM user name, or the role session name. */
export function callerName(arn: string): string {
  return arn.split('/').at(-1)!;
}

export function accountOf(arn: string): string {
  return arn.split(':')[4] ?? DEFAULT_ACCOUNT;
}

export function requestId(): string {
  return randomBytes(16)
    .toString('hex')
    .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
}

export function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Answers in the query protocol of IAM and STS: an ErrorResponse (403 unless said), or `<Action>Result`. */
export function queryAnswers(res: http.ServerResponse, ns: string, action: string) {
  return {
    fail(code: string, message: string, status = 403) {
      res.writeHead(status, { 'content-type': 'text/xml' });
      res.end(
        `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>${code}</Code>` +
          `<Message>${xml(message)}</Message></Error><RequestId>${requestId()}</RequestId></ErrorResponse>`,
      );
    },
    ok(result: string) {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<${action}Response xmlns="${ns}"><${action}Result>${result}</${action}Result>` +
          `<ResponseMetadata><RequestId>${requestId()}</RequestId></ResponseMetadata></${action}Response>`,
      );
    },
  };
}

/** A query-protocol request passed on to another emulator (moto_server), its answer passed back. */
export function forward(upstream: string, req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
  const headers = { ...req.headers };
  delete headers.host;
  delete headers['content-length'];
  const out = http.request(new URL(req.url ?? '/', upstream), { method: req.method, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  out.on('error', (e) => {
    res.writeHead(502);
    res.end(String(e));
  });
  out.end(body);
}
