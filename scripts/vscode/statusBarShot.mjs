// Screenshot steps for the pool status bar item (src/views/statusBar.ts), used by
// screenshot.mjs: hover it and save its tooltip (a crop of the lower right corner),
// then click it and save the window with its quick pick (sessions + pool actions).
import path from 'node:path';

/** The status bar item: text `$(server-process) bound/total [state]`. */
function poolItem(page) {
  return page.locator('.statusbar-item', { hasText: /^\s*\d+\/\d+/ }).first();
}

export async function showStatusBarItem(page, outFile) {
  const item = poolItem(page);
  await item.waitFor({ timeout: 30_000 });
  await item.hover();
  const hover = page.locator('.workbench-hover, .monaco-hover').filter({ hasText: 'numWorkers' }).first();
  await hover.waitFor({ timeout: 15_000 });
  await page.waitForTimeout(300);
  const vp = page.viewportSize();
  const box = await hover.boundingBox();
  const x = Math.max(0, Math.min(box.x - 40, vp.width - 560));
  const y = Math.max(0, box.y - 20);
  const tooltipFile = outFile.replace(/\.png$/, '-tooltip.png');
  await page.screenshot({ path: tooltipFile, clip: { x, y, width: vp.width - x, height: vp.height - y } });
  console.log(`screenshot: ${path.basename(tooltipFile)}`);

  await page.mouse.move(vp.width / 2, vp.height / 2);
  await item.click();
  await page.locator('.quick-input-widget .quick-input-list .monaco-list-row').first().waitFor({ timeout: 15_000 });
  await page.waitForTimeout(300);
  await page.screenshot({ path: outFile });
  await page.keyboard.press('Escape');
}
