/**
 * Headless Chromium for the browser tests and the screenshot script: Debian's `chromium` package
 * (/usr/bin/chromium, or CHROMIUM_PATH), driven by puppeteer-core (which downloads no browser). Each
 * launch gets a fresh profile folder, removed on close, and the flags that keep a test browser from
 * reaching the network on its own (updates, sync, background fetches).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
}

export function hasChromium(): boolean {
  return existsSync(chromiumPath());
}

export interface Chromium {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), 'tapegrad-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    // headless: true adds --headless=new.
    headless: true,
    // A wait for an epoch is one protocol call that lasts until the epoch ends; on a busy shared machine
    // that can pass puppeteer's default of 180 s. The callers' own timeouts are the real limit.
    protocolTimeout: 900_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--user-data-dir=${profile}`,
    ],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
