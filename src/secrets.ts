// The secrets dbtunnel holds — session tokens, AWS secret keys and session tokens, a proxy URL's
// password — and the one redaction that keeps them in: every line, event and document dbtunnel
// writes passes through redact() in the terminal's writer (src/cli/terminal.ts), whatever produced
// it (the plugin's output, AWS's error text, a stack trace, --debug). Each secret is registered
// where dbtunnel learns it; patterns catch the same kinds of secret that were never registered.

const known = new Map<string, string>();

/** Shorter than this is not a secret worth searching all output for (and would match too much). */
const MIN_LENGTH = 8;

/** Remember a secret: from now on it is shown as `(label)` wherever it would appear. */
export function registerSecret(value: string | undefined, label: string): void {
  if (value && value.length >= MIN_LENGTH && !known.has(value)) known.set(value, label);
}

/** Variables whose values are secrets, and the proxy variables whose URLs may hold a password. */
const SECRET_VARIABLES: Record<string, string> = {
  AWS_SECRET_ACCESS_KEY: 'AWS secret key',
  AWS_SESSION_TOKEN: 'AWS session token',
  AWS_SECURITY_TOKEN: 'AWS session token',
  AWS_CONTAINER_AUTHORIZATION_TOKEN: 'AWS container token',
  AWS_SSM_START_SESSION_RESPONSE: 'session token',
};
const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy'];

/** The password of a URL such as http://user:pass@proxy:3128, if it has one. Pure. */
export function urlPassword(url: string): string | undefined {
  try {
    const password = new URL(url).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return /^[a-z][a-z0-9+.-]*:\/\/[^/@:\s]*:([^/@\s]+)@/i.exec(url)?.[1];
  }
}

/** Register the secrets an environment holds (dbtunnel's own, at start). */
export function registerSecretsOf(env: NodeJS.ProcessEnv): void {
  for (const [name, label] of Object.entries(SECRET_VARIABLES)) registerSecret(env[name], label);
  for (const name of PROXY_VARIABLES) {
    const value = env[name];
    if (!value) continue;
    const password = urlPassword(value);
    registerSecret(password, 'proxy password');
    // As written in the URL, too (percent-encoded characters stay encoded there).
    const raw = /^[a-z][a-z0-9+.-]*:\/\/[^/@:\s]*:([^/@\s]+)@/i.exec(value)?.[1];
    registerSecret(raw, 'proxy password');
  }
}

/** Names under which credentials are written, as variables or in an AWS credentials file. */
const SECRET_NAMES = [
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_SECURITY_TOKEN',
  'aws_secret_access_key',
  'aws_session_token',
];

/** Kinds of secret recognised by their shape, registered or not. */
const PATTERNS: [RegExp, (...m: string[]) => string][] = [
  // A URL's password: scheme://user:password@host
  // (A value already redacted, "(label)", is left as it is.)
  [/\b([a-z][a-z0-9+.-]*:\/\/[^/@:\s]*:)(?!\()[^/@\s]+@/gi, (_, head) => `${head}(password)@`],
  // The StartSession response as JSON (the plugin's argument or variable), itself in JSON or not
  [/(\\*"TokenValue\\*"\s*:\s*\\*")(?!\()[^"\\]*/g, (_, head) => `${head}(session token)`],
  // Credentials as variables or in an AWS credentials file
  [
    new RegExp(`\\b(${SECRET_NAMES.join('|')})(\\s*[=:]\\s*)("?)(?!\\()[^\\s"]+\\3`, 'g'),
    (_, name, sep, q) => `${name}${sep}${q}(secret)${q}`,
  ],
];

/** Text with every secret replaced by its label. */
export function redact(text: string): string {
  let out = text;
  if (known.size > 0) {
    // Longest first: a secret that contains another is replaced whole.
    for (const [secret, label] of [...known].sort((a, b) => b[0].length - a[0].length)) {
      if (out.includes(secret)) out = out.split(secret).join(`(${label})`);
    }
  }
  for (const [re, replace] of PATTERNS) out = out.replace(re, replace as never);
  return out;
}

/** Every string in a value (an event, a JSON document) redacted; the rest as it is. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map(redactDeep) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)])) as T;
  }
  return value;
}

/** For tests: forget every registered secret. */
export function forgetSecrets(): void {
  known.clear();
}
