// Opens each kendall report page in headless Chromium and fails on any console error, page
// error or failed request (the pages are self-contained: nothing should be fetched), or when
// a page has fewer inline SVG charts than expected. Screenshots go next to the pages.
// Usage: node check-report.mjs PAGE.html… (PLAYWRIGHT_CORE: path of playwright-core)
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE || 'playwright-core');

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
for (const file of process.argv.slice(2)) {
  const page = await browser.newPage({ viewport: { width: 1000, height: 1400 } });
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  page.on('request', (r) => { if (!r.url().startsWith('file://')) problems.push(`fetched: ${r.url()}`); });
  await page.goto('file://' + file, { waitUntil: 'load' });
  const svgs = await page.locator('svg').count();
  const charts = await page.locator('.chart.latency svg').count();
  if (svgs < 2 || charts < 1) problems.push(`expected the utilisation chart and a latency chart, found ${svgs} svg`);
  await page.screenshot({ path: file.replace(/\.html$/, '.png'), fullPage: true });
  console.log(`${problems.length ? 'FAIL' : 'ok  '} ${file}: ${svgs} svg`);
  for (const p of problems) console.log(`     ${p}`);
  failed ||= problems.length > 0;
  await page.close();
}
await browser.close();
process.exit(failed ? 1 : 0);
