// Which Chromium the browser test picks (test/support/chromium.ts): CHROME_PATH, then playwright's
// own browser, then the system's, in that order; a file that is not executable does not count; and
// with none, one line naming the install commands for Debian/Ubuntu and macOS. Fake executables
// in a temp dir stand in for the browsers.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { type ChromiumSources, defaultChromiumSources, resolveChromium, SYSTEM_CHROMIUM } from '../support/chromium';

const dir = mkdtempSync(path.join(os.tmpdir(), 'chromium-resolve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fake(name: string, mode = 0o755): string {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, '#!/bin/sh\nexit 0\n');
  chmodSync(file, mode);
  return file;
}

const chrome = fake('custom/chrome');
const playwright = fake('ms-playwright/chromium-1/chrome-linux64/chrome');
const debian = fake('usr/bin/chromium');
const google = fake('usr/bin/google-chrome');
const notExecutable = fake('usr/bin/chromium-browser', 0o644);
const missing = path.join(dir, 'nowhere/chrome');

const sources = (over: Partial<ChromiumSources>): ChromiumSources => ({
  chromePath: undefined,
  playwright: () => missing,
  system: [],
  ...over,
});

describe('resolveChromium', () => {
  it('takes CHROME_PATH first, then playwright’s browser, then the first system path that is executable', () => {
    const all = { playwright: () => playwright, system: [notExecutable, debian, google] };
    expect(resolveChromium(sources({ ...all, chromePath: chrome }))).toEqual({ path: chrome, source: 'CHROME_PATH' });
    expect(resolveChromium(sources(all))).toEqual({ path: playwright, source: 'playwright' });
    expect(resolveChromium(sources({ ...all, playwright: () => missing }))).toEqual({ path: debian, source: 'system' });
    expect(resolveChromium(sources({ ...all, playwright: () => undefined, system: [missing, notExecutable, google] }))).toEqual({
      path: google,
      source: 'system',
    });
    // A directory is not a browser.
    expect(resolveChromium(sources({ playwright: () => path.dirname(playwright), system: [debian] })).source).toBe('system');
  });

  it('refuses a CHROME_PATH that is not an executable rather than quietly using another browser', () => {
    for (const bad of [missing, notExecutable]) {
      expect(() => resolveChromium(sources({ chromePath: bad, playwright: () => playwright }))).toThrow(
        `CHROME_PATH=${bad} is not an executable file`,
      );
    }
  });

  it('with none found, fails with one line that names the install commands for Debian/Ubuntu and macOS', () => {
    let message = '';
    try {
      resolveChromium(sources({ system: [missing, notExecutable] }));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).not.toContain('\n');
    expect(message).toMatch(/^no Chromium for the browser test \(CHROME_PATH unset; looked in .*nowhere\/chrome.*chromium-browser\)/);
    expect(message).toContain('Debian/Ubuntu: sudo apt-get install -y chromium');
    expect(message).toContain('macOS: npx playwright-core install chromium');
  });

  it('reads CHROME_PATH, playwright-core’s registry and the platform’s usual paths by default', () => {
    const linux = defaultChromiumSources({ CHROME_PATH: chrome }, 'linux');
    expect(linux.chromePath).toBe(chrome);
    expect(linux.playwright()).toBe(chromium.executablePath());
    expect(linux.system[0]).toBe('/usr/bin/chromium');
    expect(defaultChromiumSources({ CHROME_PATH: '' }, 'darwin')).toMatchObject({
      chromePath: undefined,
      system: SYSTEM_CHROMIUM.darwin,
    });
    expect(defaultChromiumSources({}, 'darwin').system[0]).toMatch(/^\/Applications\/.*\.app\/Contents\/MacOS\//);
  });
});
