/**
 * The demo page in real headless Chromium (Debian's `chromium`, driven by playwright-core): two
 * tabs with different names in one room see each other's chat messages and card plays live.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startTestCluster, type TestCluster } from '../support/cluster';
import { describeWhen } from '../support/prerequisite';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// .ci/run installs chromium; elsewhere: apt-get install chromium, or set CHROMIUM_PATH.
const describeIfChromium = describeWhen(existsSync(CHROMIUM), `Chromium at ${CHROMIUM}`);

describeIfChromium('demo page in headless Chromium', () => {
  let t: TestCluster;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestCluster();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows one tab\'s chat message and card play in the other tab live, and keeps hands private', async () => {
    const base = t.cluster.url;
    const ann = await (await browser.newContext()).newPage();
    const ben = await (await browser.newContext()).newPage();
    await ann.goto(`${base}?name=ann&room=r1`);
    await ann.locator('#status.live').waitFor();
    await ben.goto(`${base}?name=ben&room=r1`);
    await ben.locator('#status.live').waitFor();

    await ann.fill('#text', 'hello from ann');
    await ann.press('#text', 'Enter');
    await ben.locator('[data-testid=messages]', { hasText: 'hello from ann' }).waitFor();

    await ben.click('#deal');
    await ann.locator('[data-testid=hand] button').nth(4).waitFor();
    await ben.locator('[data-testid=hand] button').nth(4).waitFor();
    const annHand = await ann.locator('[data-testid=hand] button').allTextContents();
    const benHand = await ben.locator('[data-testid=hand] button').allTextContents();
    expect(annHand.filter((c) => benHand.includes(c))).toEqual([]);

    const played = annHand[0]!;
    await ann.locator('[data-testid=hand] button', { hasText: new RegExp(`^${played}$`) }).first().click();
    await ben.locator('[data-testid=table] .card', { hasText: new RegExp(`^${played}$`) }).waitFor();
    const benPage = await ben.content();
    for (const card of annHand.slice(1)) expect(benPage).not.toContain(`>${card}<`);
  }, 60_000);
});
