// A station's page in Chromium at an exact viewport (a phone's 390 x 844: headless Chromium's
// --window-size cannot go under 500), driven by playwright-core with the machine's chromium:
// prints what the page says of its charts (data-* attributes, legend values, layout) as JSON
// and writes a full-page screenshot, both from the same page, so positions match the pixels.
// Usage: node shoot.mjs URL WIDTH HEIGHT SCREENSHOT.png
import { chromium } from "playwright-core";

const [url, width, height, out] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const page = await browser.newPage({ viewport: { width: Number(width), height: Number(height) } });
  await page.goto(url);
  // drawn: every chart has its breaks marked (uPlot's draw hook), whatever the machine's speed
  await page.waitForFunction(() => document.querySelectorAll(".chart[data-breaks]").length === 4, null,
                             { timeout: 60000 });
  const info = await page.evaluate(() => ({
    overflow: document.documentElement.scrollWidth > window.innerWidth,
    innerWidth: window.innerWidth,
    charts: Object.fromEntries(Array.from(document.querySelectorAll(".chart")).map((el) => [el.id, {
      ...el.dataset,
      card: el.getBoundingClientRect().width,
      right: el.getBoundingClientRect().right,
      canvas: el.querySelector("canvas") ? el.querySelector("canvas").getBoundingClientRect().right : null,
      legend: Array.from(el.querySelectorAll(".u-legend .u-value")).map((v) => v.textContent),
    }])),
  }));
  await page.screenshot({ path: out, fullPage: true });
  // Turned sideways: every chart redrawn to its card's new width (ResizeObserver), no reload.
  await page.setViewportSize({ width: Number(height), height: Number(width) });
  await page.waitForFunction(() => Array.from(document.querySelectorAll(".chart")).every(
    (el) => Math.abs(Number(el.dataset.width) - el.clientWidth) <= 1), null, { timeout: 60000 });
  info.rotated = await page.evaluate(() => ({
    innerWidth: window.innerWidth,
    overflow: document.documentElement.scrollWidth > window.innerWidth,
    widths: Array.from(document.querySelectorAll(".chart")).map((el) => [Number(el.dataset.width), el.clientWidth]),
  }));
  console.log(JSON.stringify(info));
} finally {
  await browser.close();
}
