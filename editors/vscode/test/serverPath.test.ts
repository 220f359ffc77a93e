import { after, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expandHome, findServer } from "../src/serverPath";

// Every folder a test makes is removed when the file's tests end.
const made: string[] = [];
after(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "asyncsense-lookup-"));
  made.push(dir);
  return dir;
}
function exe(dir: string, name = "asyncsense"): string {
  fs.mkdirSync(dir, { recursive: true });
  const p = path.join(dir, name);
  fs.writeFileSync(p, "#!/bin/sh\n");
  fs.chmodSync(p, 0o755);
  return p;
}

const linux = { platform: "linux" as const };

test("expandHome", () => {
  assert.equal(expandHome("~", "/h"), "/h");
  assert.equal(expandHome("~/bin/a", "/h"), path.join("/h", "bin/a"));
  assert.equal(expandHome("/abs/~/x", "/h"), "/abs/~/x");
});

test("setting wins over everything, with ~ expanded", () => {
  const home = tmp();
  const fromSetting = exe(path.join(home, "bin"));
  const ext = tmp();
  exe(path.join(ext, "bundled"));
  const env = { ASYNCSENSE_SERVER_PATH: exe(tmp()), PATH: path.dirname(exe(tmp())) };
  const r = findServer({ ...linux, settingPath: "~/bin/asyncsense", env, extensionPath: ext, homedir: home });
  assert.deepEqual(r, { ok: true, path: fromSetting, source: "setting" });
});

test("a setting that points nowhere is an error naming the setting", () => {
  const r = findServer({ ...linux, settingPath: "/nope/asyncsense", env: { PATH: path.dirname(exe(tmp())) }, extensionPath: tmp() });
  assert.equal(r.ok, false);
  assert.match((r as { message: string }).message, /asyncsense\.server\.path/);
});

test("env var next", () => {
  const ext = tmp();
  exe(path.join(ext, "bundled"));
  const e = exe(tmp());
  const r = findServer({ ...linux, settingPath: "", env: { ASYNCSENSE_SERVER_PATH: e }, extensionPath: ext });
  assert.deepEqual(r, { ok: true, path: e, source: "env" });
});

test("an env var that points nowhere is an error naming the variable", () => {
  const r = findServer({ ...linux, env: { ASYNCSENSE_SERVER_PATH: "/nope/x" }, extensionPath: tmp() });
  assert.equal(r.ok, false);
  assert.match((r as { message: string }).message, /ASYNCSENSE_SERVER_PATH/);
});

test("bundled binary before PATH", () => {
  const ext = tmp();
  const b = exe(path.join(ext, "bundled"));
  const r = findServer({ ...linux, env: { PATH: path.dirname(exe(tmp())) }, extensionPath: ext });
  assert.deepEqual(r, { ok: true, path: b, source: "bundled" });
});

test("PATH last; non-executable files are skipped", () => {
  const d1 = tmp();
  fs.writeFileSync(path.join(d1, "asyncsense"), "not executable");
  fs.chmodSync(path.join(d1, "asyncsense"), 0o644);
  const p = exe(tmp());
  const r = findServer({ ...linux, env: { PATH: `${d1}:${path.dirname(p)}` }, extensionPath: tmp() });
  assert.deepEqual(r, { ok: true, path: p, source: "path" });
});

test("nothing found: the message says what to set", () => {
  const r = findServer({ ...linux, settingPath: undefined, env: { PATH: tmp() }, extensionPath: tmp() });
  assert.equal(r.ok, false);
  const m = (r as { message: string }).message;
  assert.match(m, /asyncsense\.server\.path/);
  assert.match(m, /ASYNCSENSE_SERVER_PATH/);
  assert.match(m, /PATH/);
});
