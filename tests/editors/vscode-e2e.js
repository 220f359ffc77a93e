// Drives a running code-server (real VS Code 1.100.3) with headless Chromium through playwright-core:
// open app/services/users.py of the fastapi_app fixture copy, wait for the APM101 squiggle, check
// the Problems panel, apply the preferred quick fix with Ctrl+. / Enter, save, check the file on disk.
// Env: CS_URL, WS_DIR (workspace copy), SHOT_DIR, CHROMIUM (default /usr/bin/chromium).
const { chromium } = require("playwright-core");
const fs = require("fs");
const os = require("os");
const path = require("path");

const CS_URL = process.env.CS_URL;
const WS_DIR = process.env.WS_DIR;
const SHOT_DIR = process.env.SHOT_DIR;
const REL = "app/services/users.py";
const FILE = path.join(WS_DIR, REL);
const LINE = 16;
const COL = 30; // inside `self.db_session_factory()`
const BEFORE = "async with self.db_session_factory() as session:";
const AFTER = "        async with contextlib.asynccontextmanager(self.db_session_factory)() as session:";
const REL2 = "app/services/users_copy.py";
const FILE2 = path.join(WS_DIR, REL2);
// The preferred fix wraps the generator at the use and adds `import contextlib` with the other
// imports: the fixed line moves one down.
const FIX_TITLE = "Wrap with `asynccontextmanager`";
const FIXED_LINE = LINE + 1;
const t0 = Date.now();
const log = (m) => console.log(`[driver ${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
const shot = (page, name) => page.screenshot({ path: path.join(SHOT_DIR, name) });

(async () => {
  fs.mkdirSync(SHOT_DIR, { recursive: true });
  if (!fs.readFileSync(FILE, "utf8").split("\n")[LINE - 1].includes(BEFORE)) throw new Error(`fixture line ${LINE} is not the expected one`);
  // second copy for the settings scenario, created before VS Code starts (Quick Open indexes it)
  fs.copyFileSync(FILE, FILE2);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "asyncsense-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = ctx.pages()[0] || (await ctx.newPage());
  page.on("pageerror", (e) => log("pageerror: " + e.message));
  let step = "start";
  let ok = false;
  try {
    step = "workbench";
    await page.goto(`${CS_URL}/?folder=${encodeURIComponent(WS_DIR)}`);
    await page.waitForSelector(".monaco-workbench", { timeout: 60000 });
    log("workbench loaded");

    step = "open file";
    await page.locator(".monaco-workbench").click({ position: { x: 700, y: 450 } }).catch(() => {});
    await page.keyboard.press("Control+P");
    await page.waitForSelector(".quick-input-widget input", { state: "visible", timeout: 15000 });
    await page.keyboard.type(REL);
    await page.locator(".quick-input-list .monaco-list-row.focused", { hasText: "users.py" }).first().waitFor({ timeout: 20000 });
    await page.keyboard.press("Enter");
    await page.waitForSelector(".editor-instance .view-lines .view-line", { timeout: 30000 });
    log("editor open");

    step = "squiggle";
    await page.waitForSelector(".editor-instance .squiggly-error", { timeout: 60000 });
    log("squiggle visible");

    step = "problems panel";
    await page.keyboard.press("Control+Shift+M");
    const problem = page.locator(".markers-panel .monaco-list-row", { hasText: "APM101" });
    await problem.first().waitFor({ timeout: 30000 });
    const ptext = (await problem.first().innerText()).replace(/\s+/g, " ");
    log("problems panel: " + ptext);
    if (!/asyncsense/.test(ptext)) throw new Error("problem entry does not name asyncsense: " + ptext);
    if (!/\[Ln 16, Col \d+\]/.test(ptext)) throw new Error("problem entry is not on line 16: " + ptext);
    await shot(page, "1-diagnostic.png");

    step = "quick fix menu";
    await page.locator(".editor-instance .view-lines").click();
    await page.keyboard.press("Control+G");
    await page.waitForSelector(".quick-input-widget input", { state: "visible", timeout: 15000 });
    await page.keyboard.type(`${LINE}:${COL}`);
    await page.keyboard.press("Enter");
    await page.waitForSelector(".quick-input-widget", { state: "hidden", timeout: 15000 }).catch(() => {});
    await page.keyboard.press("Control+.");
    const action = page.locator(".action-widget .monaco-list-row", { hasText: FIX_TITLE });
    await action.first().waitFor({ timeout: 30000 });
    const rows = (await page.locator(".action-widget .monaco-list-row").allInnerTexts()).map((s) => s.replace(/\s+/g, " ").trim());
    log("quick fix menu: " + JSON.stringify(rows));
    const focused = (await page.locator(".action-widget .monaco-list-row.focused").allInnerTexts()).join(" ");
    if (!focused.includes(FIX_TITLE)) throw new Error(`the focused (preferred) action is not the fix: ${JSON.stringify(focused)}`);
    await page.waitForTimeout(300); // let the menu finish rendering for the screenshot
    await shot(page, "2-quickfix-menu.png");
    // the preferred fix is focused; a mouse click is swallowed by .context-view-pointerBlock
    await page.keyboard.press("Enter");

    step = "edit applied";
    await page.waitForFunction(() => {
      const t = Array.from(document.querySelectorAll(".editor-instance .view-lines .view-line")).map((e) => e.textContent).join("\n");
      return t.replace(/\u00a0/g, " ").includes("contextlib.asynccontextmanager(self.db_session_factory)() as session:");
    }, null, { timeout: 30000 });
    log("editor shows the fix");
    await page.waitForSelector(".editor-instance .squiggly-error", { state: "detached", timeout: 30000 });
    log("squiggle gone");

    step = "save";
    await page.keyboard.press("Control+S");
    const deadline = Date.now() + 15000;
    const lineOnDisk = () => fs.readFileSync(FILE, "utf8").split("\n")[FIXED_LINE - 1];
    while (lineOnDisk() !== AFTER && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const disk = fs.readFileSync(FILE, "utf8");
    if (lineOnDisk() !== AFTER || !disk.includes("\nimport contextlib\n")) throw new Error("file on disk not fixed:\n" + disk);
    log(`file on disk, line ${FIXED_LINE}: ${JSON.stringify(lineOnDisk())}`);
    await shot(page, "3-fixed.png");

    // Settings, live (no restart): asyncsense.codeAction.disableRuleComment=false hides
    // "Disable APM101 for this line"; asyncsense.fixAll=true fixes the file on Ctrl+S.
    step = "settings scenario";
    fs.mkdirSync(path.join(WS_DIR, ".vscode"), { recursive: true });
    fs.writeFileSync(path.join(WS_DIR, ".vscode", "settings.json"),
      JSON.stringify({ "asyncsense.fixAll": true, "asyncsense.codeAction.disableRuleComment": false }, null, 2));
    await page.keyboard.press("Control+P");
    await page.waitForSelector(".quick-input-widget input", { state: "visible", timeout: 15000 });
    await page.keyboard.type(REL2);
    await page.locator(".quick-input-list .monaco-list-row.focused", { hasText: "users_copy.py" }).first().waitFor({ timeout: 20000 });
    await page.keyboard.press("Enter");
    await page.locator(".tab.active", { hasText: "users_copy.py" }).waitFor({ timeout: 20000 });
    await page.waitForSelector(".editor-instance .view-lines .view-line", { timeout: 30000 });
    await page.waitForSelector(".editor-instance .squiggly-error", { timeout: 60000 });
    log("second file: squiggle visible");
    await page.keyboard.press("Control+G");
    await page.waitForSelector(".quick-input-widget input", { state: "visible", timeout: 15000 });
    await page.keyboard.type(`${LINE}:${COL}`);
    await page.keyboard.press("Enter");
    await page.waitForSelector(".quick-input-widget", { state: "hidden", timeout: 15000 }).catch(() => {});
    // the workspace settings file is picked up asynchronously: reopen the menu until it applies
    let rows2 = [];
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press("Control+.");
      await page.locator(".action-widget .monaco-list-row", { hasText: FIX_TITLE }).first().waitFor({ timeout: 30000 });
      rows2 = (await page.locator(".action-widget .monaco-list-row").allInnerTexts()).map((s) => s.replace(/\s+/g, " ").trim());
      if (!rows2.some((r) => r.startsWith("Disable APM"))) break;
      await page.keyboard.press("Escape");
      await page.waitForSelector(".action-widget .monaco-list-row", { state: "detached", timeout: 10000 }).catch(() => {});
      await page.waitForTimeout(500);
    }
    log("quick fix menu with disableRuleComment=false: " + JSON.stringify(rows2));
    if (rows2.some((r) => r.startsWith("Disable APM"))) throw new Error("asyncsense.codeAction.disableRuleComment=false did not hide the disable action");
    await page.keyboard.press("Escape");
    await page.waitForSelector(".action-widget .monaco-list-row", { state: "detached", timeout: 10000 }).catch(() => {});
    // make the document dirty without touching line 16, then save: fix-all runs before the write
    await page.keyboard.press("Control+End");
    await page.keyboard.type("# edited");
    await page.keyboard.press("Control+S");
    const line2 = () => fs.readFileSync(FILE2, "utf8").split("\n")[FIXED_LINE - 1];
    const deadline2 = Date.now() + 15000;
    while (line2() !== AFTER && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 100));
    if (line2() !== AFTER) throw new Error("asyncsense.fixAll=true: file not fixed on save:\n" + fs.readFileSync(FILE2, "utf8"));
    log(`fix all on save: ${REL2} line ${FIXED_LINE}: ${JSON.stringify(line2())}`);
    await shot(page, "4-fixall-on-save.png");
    ok = true;
  } catch (e) {
    log(`ERROR at step "${step}": ` + (e && e.stack ? e.stack : e));
    await shot(page, "fail.png").catch(() => {});
  } finally {
    await ctx.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  }
  log(ok ? "PASS" : "FAIL");
  process.exit(ok ? 0 : 1);
})().catch((e) => { console.error(e); process.exit(1); });
