// Finding session-manager-plugin before any session exists, so a missing plugin never leaves a
// session behind (the AWS CLI starts the session first: aws/aws-cli #9837).
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { TunnelError } from '../errors.js';

export const PLUGIN_NAME = 'session-manager-plugin';

/** Where AWS's installers put the plugin (docs/aws-facts.md §plugin), after PATH. Pure. */
export function pluginCandidates(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string[] {
  const windows = platform === 'win32';
  const exe = windows ? `${PLUGIN_NAME}.exe` : PLUGIN_NAME;
  const dirs = (env.PATH ?? env.Path ?? '').split(windows ? ';' : ':').filter(Boolean);
  const fromPath = dirs.map((d) => (windows ? path.win32 : path.posix).join(d, exe));
  const standard = windows
    ? [path.win32.join(env.ProgramFiles ?? 'C:\\Program Files', 'Amazon', 'SessionManagerPlugin', 'bin', exe)]
    : ['/usr/local/sessionmanagerplugin/bin/session-manager-plugin', '/usr/local/bin/session-manager-plugin'];
  if (platform === 'darwin') standard.push('/opt/homebrew/bin/session-manager-plugin');
  return [...new Set([...fromPath, ...standard])];
}

const DOWNLOADS = 'https://s3.amazonaws.com/session-manager-downloads/plugin/latest';

export const INSTALL_HINTS: Record<string, string> = {
  linux:
    'Install it: https://docs.aws.amazon.com/systems-manager/latest/userguide/install-plugin-linux.html\n' +
    `  Debian/Ubuntu: curl -o smp.deb "${DOWNLOADS}/ubuntu_64bit/session-manager-plugin.deb"` +
    ' && sudo dpkg -i smp.deb\n' +
    `  Amazon Linux/RHEL: sudo yum install -y ${DOWNLOADS}/linux_64bit/session-manager-plugin.rpm`,
  darwin:
    'Install it: brew install --cask session-manager-plugin\n' +
    '  or see https://docs.aws.amazon.com/systems-manager/latest/userguide/install-plugin-macos-overview.html',
  win32:
    'Install it: ' +
    'https://s3.amazonaws.com/session-manager-downloads/plugin/latest/windows/SessionManagerPluginSetup.exe\n' +
    '  see https://docs.aws.amazon.com/systems-manager/latest/userguide/install-plugin-windows.html',
};

export async function findPlugin(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): Promise<string> {
  const candidates = pluginCandidates(env, platform);
  for (const file of candidates) {
    try {
      await access(file, platform === 'win32' ? constants.F_OK : constants.X_OK);
      return file;
    } catch {
      // not here; next
    }
  }
  throw new TunnelError('pluginMissing', 'session-manager-plugin is not installed (or not on PATH).', {
    details: [
      "Nothing was started: dbtunnel hands the tunnel to AWS's " +
        'session-manager-plugin, as `aws ssm start-session` does.',
    ],
    hint: INSTALL_HINTS[platform] ?? INSTALL_HINTS.linux,
  });
}

export const VERSION_TIMEOUT_MS = 10_000;

/** How a `--version` run ended, as execa reports it (its result, `reject: false`). */
export interface VersionRun {
  failed: boolean;
  /** Why it could not be started (ENOENT, EACCES…), when it could not. */
  code?: string | undefined;
  timedOut: boolean;
  signal?: string | undefined;
  exitCode?: number | undefined;
  stdout?: unknown;
}

/** What `<plugin> --version` prints; a plugin that cannot say is not a working plugin. */
export async function pluginVersion(file: string): Promise<string> {
  const { execa } = await import('execa');
  const run = await execa(file, ['--version'], {
    timeout: VERSION_TIMEOUT_MS,
    windowsHide: true,
    stdin: 'ignore',
    reject: false,
  });
  if (!run.failed) return String(run.stdout).trim();
  throw new TunnelError('pluginMissing', `${file} --version failed: ${whyItFailed(run)}`, {
    hint: 'Reinstall session-manager-plugin; the file found is not a working plugin.',
  });
}

/** A failed run, in words: it could not start, it timed out, a signal, or an exit code. Pure. */
export function whyItFailed(run: VersionRun): string {
  if (run.timedOut) return `no answer within ${VERSION_TIMEOUT_MS / 1000} s`;
  if (run.exitCode === undefined && run.signal === undefined)
    return `it could not be started (${run.code ?? 'unknown'})`;
  if (run.signal) return `killed by ${run.signal}`;
  return `exit code ${run.exitCode}`;
}
