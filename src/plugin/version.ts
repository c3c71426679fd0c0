// What session-manager-plugin's version means for us (docs/aws-facts.md §plugin).
import { TunnelError } from '../errors.js';

/** The last plugin that needs the StartSession response (with its token) on its command line. */
export const LAST_VERSION_WITHOUT_ENV_RESPONSE = '1.2.497.0';
/** Older plugins can hang after a failed reconnect; AWS's own minimum is 1.2.764.0. */
export const RECOMMENDED_MIN_VERSION = '1.2.835.0';

export type PluginArgvForm = 'env' | 'legacy';

export interface PluginVerdict {
  form: PluginArgvForm;
  /** One line to print before starting, if any. */
  warning: string | undefined;
}

/** `1.2.707.0` → [1, 2, 707, 0]; undefined for anything that is not dotted numbers. */
export function parseVersion(text: string): number[] | undefined {
  const v = text.replace(/\s+/g, '');
  if (!/^\d+(\.\d+){0,3}$/.test(v)) return undefined;
  return v.split('.').map(Number);
}

export function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

const UPGRADE =
  'Upgrade session-manager-plugin: ' +
  'https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html';

export function judgePluginVersion(versionText: string, allowLegacy: boolean): PluginVerdict {
  const version = parseVersion(versionText);
  const needsArgvToken = !version || compareVersions(version, parseVersion(LAST_VERSION_WITHOUT_ENV_RESPONSE)!) <= 0;
  const shown = versionText.trim() || '(no version)';
  if (needsArgvToken) {
    if (!allowLegacy) {
      throw new TunnelError(
        'pluginTooOld',
        `session-manager-plugin ${shown} is too old: it only accepts the session ` +
          `token on its command line, where any user of this machine can read it.`,
        {
          details:
            version && compareVersions(version, [1, 2, 0, 0]) === 0
              ? ['1.2.0.0 is what a plugin built from source without a release version reports.']
              : [],
          hint: `${UPGRADE}\nOr, knowing the token will be visible in the process list, pass --legacy-plugin.`,
        },
      );
    }
    return {
      form: 'legacy',
      warning:
        `--legacy-plugin: session-manager-plugin ${shown} gets the ` +
        `session token on its command line, visible in the process list.`,
    };
  }
  if (compareVersions(version, parseVersion(RECOMMENDED_MIN_VERSION)!) < 0) {
    return {
      form: 'env',
      warning:
        `session-manager-plugin ${shown} is older than ${RECOMMENDED_MIN_VERSION}: below ` +
        `AWS's supported minimum, and it can hang after a network drop. Upgrade it.`,
    };
  }
  return { form: 'env', warning: undefined };
}
