// Playwright steps on the real VS Code workbench (code-server's web UI), for
// screenshots: open a file, pick a notebook kernel, Run All, wait for outputs,
// open a view container. Selectors belong to VS Code's DOM (checked on 1.139).

/** Opens a workspace file with Quick Open, so .ipynb gets the notebook editor. */
export async function openFile(page, relPath) {
  const name = relPath.split('/').pop();
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(relPath);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.tab.active', { hasText: name }).waitFor({ timeout: 30_000 });
}

/**
 * Selects the notebook kernel whose label contains `label` through the kernel
 * picker at the right of the notebook toolbar. With several kernel sources the
 * picker first lists them: `source` (e.g. the extension id) or the first is taken.
 */
export async function selectKernel(page, label, source) {
  const toolbar = page.locator('.notebook-toolbar-container >> visible=true');
  if (await toolbar.filter({ hasText: label }).waitFor({ timeout: 5000 }).then(() => true, () => false)) return;
  await toolbar.locator('.kernel-action-view-item').first().click();
  const rows = page.locator('.quick-input-list .monaco-list-row');
  for (let level = 0; ; level++) {
    await rows.first().waitFor({ timeout: 15_000 });
    const mine = rows.filter({ hasText: label }).first();
    if (await mine.isVisible()) { await mine.click(); break; }
    if (level === 2) throw new Error(`kernel "${label}" not offered by the kernel picker`);
    await (source ? rows.filter({ hasText: source }).first() : rows.first()).click();
    await page.waitForTimeout(500);
  }
  await toolbar.filter({ hasText: label }).waitFor({ timeout: 15_000 });
}

/** Clicks Run All in the notebook toolbar ("Run All" is not in the palette here). */
export async function runAll(page) {
  // The visible toolbar: other open notebooks keep theirs, hidden, in the page.
  await page.locator('.notebook-toolbar-container >> visible=true').locator('.action-label[aria-label="Run All"]').first().click();
}

/** Waits until every text appears in some output (outputs render inside webview iframes). */
export async function waitForOutputs(page, texts, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const shown = (await Promise.all(page.frames().map(f => f.locator('body').innerText().catch(() => '')))).join('\n');
    const missing = texts.filter(t => !shown.includes(t));
    if (!missing.length) return;
    if (Date.now() > deadline) throw new Error(`outputs did not show ${missing.map(t => JSON.stringify(t)).join(', ')}`);
    await page.waitForTimeout(250);
  }
}

/** Waits until no cell of the notebook editor is queued or running. */
export async function waitForIdle(page, timeoutMs = 60_000) {
  const busy = page.locator('.notebook-editor .codicon-notebook-state-executing, .notebook-editor .codicon-notebook-state-pending, .notebook-editor .codicon-loading');
  const deadline = Date.now() + timeoutMs;
  while (await busy.count()) {
    if (Date.now() > deadline) throw new Error('cells still running');
    await page.waitForTimeout(250);
  }
}

/** Opens an activity-bar view container by its title, e.g. "pyctx". */
export async function showViewContainer(page, title) {
  const item = page.locator(`.activitybar .action-item [aria-label^="${title}"]`).first();
  await item.waitFor({ timeout: 30_000 });
  await item.click();
}

/** Expands a side-bar tree row, given by its label or its level (1 = roots); no-op when expanded. */
export async function expandTreeItem(page, { label, level }) {
  let rows = page.locator('.sidebar .monaco-list-row[aria-expanded]');
  if (level) rows = rows.and(page.locator(`[aria-level="${level}"]`));
  const row = (label ? rows.filter({ hasText: label }) : rows).first();
  await row.waitFor({ timeout: 30_000 });
  if (await row.getAttribute('aria-expanded') !== 'true') await row.locator('.monaco-tl-twistie').click();
  await page.waitForFunction(el => el.getAttribute('aria-expanded') === 'true', await row.elementHandle(), { timeout: 15_000 });
}

/** Drags the side bar's sash so the bar is `width` px wide (descriptions stop being cut). */
export async function widenSideBar(page, width) {
  const bar = await page.locator('.part.sidebar').boundingBox();
  if (!bar || bar.width >= width) return;
  const edge = bar.x + bar.width;
  const sashes = await page.locator('.monaco-sash.vertical').evaluateAll(els => els.map(e => {
    const r = e.getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2, h: r.height };
  }));
  const sash = sashes.filter(s => s.h > 100).sort((p, q) => Math.abs(p.x - edge) - Math.abs(q.x - edge))[0];
  if (!sash || Math.abs(sash.x - edge) > 6) return;
  await page.mouse.move(sash.x, sash.y);
  await page.mouse.down();
  await page.mouse.move(sash.x + (width - bar.width), sash.y, { steps: 10 });
  await page.mouse.up();
}
