const { chromium } = require('playwright-core');
(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  const page = await browser.newPage({ viewport: { width: 1600, height: 1300 } });
  await page.goto(process.argv[2], { waitUntil: 'networkidle', timeout: 60000 }).catch(() => {});
  await page.click('text=Compact').catch(() => console.log('no compact'));
  await page.waitForSelector('text=rotation 2', { timeout: 30000 }).catch(() => console.log('no rotation text'));
  await page.waitForTimeout(1500);
  await page.screenshot({ path: process.argv[3], fullPage: false });
  await browser.close();
})();
