// Renders media/icon.svg (the extension icon's source) to media/icon.png, 128x128:
// vsce requires a PNG icon. Uses the chromium of the offline VS Code install.
//   node scripts/vscode/render-icon.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, checkInstall, launchBrowser } from './codeserver.mjs';

checkInstall();
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyctx-icon.'));
fs.mkdirSync(path.join(runDir, 'tmp'));
const { browser, page } = await launchBrowser(runDir, { width: 128, height: 128 });
try {
  await page.goto(`file://${path.join(ROOT, 'media/icon.svg')}`);
  await page.screenshot({ path: path.join(ROOT, 'media/icon.png'), omitBackground: true });
  console.log('media/icon.png written');
} finally {
  await browser.close();
  fs.rmSync(runDir, { recursive: true, force: true });
}
