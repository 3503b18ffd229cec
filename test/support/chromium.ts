// Which Chromium the browser test drives (test/integration/dashboard-e2e.test.ts), on any
// developer's machine, in this order:
//   1. CHROME_PATH, when set (it must then be an executable: a typo should not fall through);
//   2. playwright's own browser, where `npx playwright-core install chromium` puts it;
//   3. the usual system installs: Debian/Ubuntu's /usr/bin/chromium (what .ci/run installs),
//      chromium-browser, google-chrome, the Ubuntu snap; macOS's /Applications bundles.
// None found: one line saying how to install one on Debian/Ubuntu and on macOS.
import { accessSync, constants, statSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const SYSTEM_CHROMIUM: Partial<Record<NodeJS.Platform, string[]>> = {
  linux: [
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
    '/usr/bin/google-chrome-stable',
    '/snap/bin/chromium',
  ],
  darwin: ['/Applications/Google Chrome.app/Contents/MacOS/Google Chrome', '/Applications/Chromium.app/Contents/MacOS/Chromium'],
};

export const INSTALL_HINT =
  'Debian/Ubuntu: sudo apt-get install -y chromium (Ubuntu: sudo snap install chromium) · ' +
  'macOS: npx playwright-core install chromium (or brew install --cask google-chrome) · ' +
  'or point CHROME_PATH at a Chromium/Chrome binary';

export interface ChromiumSources {
  chromePath?: string;
  /** Where playwright-core's registry expects its Chromium (it may not be installed). */
  playwright: () => string | undefined;
  system: readonly string[];
}

export interface ResolvedChromium {
  path: string;
  source: 'CHROME_PATH' | 'playwright' | 'system';
}

function executable(file: string | undefined): file is string {
  if (!file) return false;
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function defaultChromiumSources(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): ChromiumSources {
  return {
    chromePath: env.CHROME_PATH || undefined,
    playwright: () => {
      try {
        return chromium.executablePath();
      } catch {
        return undefined; // no playwright build for this platform
      }
    },
    system: SYSTEM_CHROMIUM[platform] ?? [],
  };
}

/** The first Chromium of the sources, or an Error whose message is one line with the install commands. */
export function resolveChromium(sources: ChromiumSources = defaultChromiumSources()): ResolvedChromium {
  if (sources.chromePath !== undefined) {
    if (executable(sources.chromePath)) return { path: sources.chromePath, source: 'CHROME_PATH' };
    throw new Error(`CHROME_PATH=${sources.chromePath} is not an executable file; unset it or fix it. ${INSTALL_HINT}`);
  }
  const fromPlaywright = sources.playwright();
  if (executable(fromPlaywright)) return { path: fromPlaywright, source: 'playwright' };
  const system = sources.system.find(executable);
  if (system) return { path: system, source: 'system' };
  const looked = [fromPlaywright, ...sources.system].filter(Boolean).join(', ');
  throw new Error(`no Chromium for the browser test (CHROME_PATH unset; looked in ${looked}). Install one: ${INSTALL_HINT}`);
}
