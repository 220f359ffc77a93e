// Finds the asyncsense binary. No `vscode` import: unit-tested with node:test.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export type ServerSource = "setting" | "env" | "bundled" | "path";

export interface ServerLookupInput {
  /** value of the asyncsense.server.path setting ("" or undefined when unset) */
  settingPath?: string | null;
  /** process environment (ASYNCSENSE_SERVER_PATH, PATH, PATHEXT) */
  env: NodeJS.ProcessEnv;
  /** the extension's install directory (holds bundled/asyncsense when packaged with one) */
  extensionPath: string;
  platform?: NodeJS.Platform;
  homedir?: string;
}

export type ServerLookupResult =
  | { ok: true; path: string; source: ServerSource }
  | { ok: false; message: string };

export const ENV_VAR = "ASYNCSENSE_SERVER_PATH";
export const SETTING = "asyncsense.server.path";

export function expandHome(p: string, home: string = os.homedir()): string {
  if (p === "~") return home;
  if (p.startsWith("~/") || p.startsWith("~\\")) return path.join(home, p.slice(2));
  return p;
}

function isExecutableFile(p: string, platform: NodeJS.Platform): boolean {
  try {
    if (!fs.statSync(p).isFile()) return false;
    if (platform !== "win32") fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function binaryName(platform: NodeJS.Platform = process.platform): string {
  return platform === "win32" ? "asyncsense.exe" : "asyncsense";
}

export function findOnPath(name: string, env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string | undefined {
  const pathVar = env.PATH ?? env.Path ?? "";
  const sep = platform === "win32" ? ";" : ":";
  const exts = platform === "win32" ? (env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";").concat([""]) : [""];
  const base = platform === "win32" ? name.replace(/\.exe$/i, "") : name;
  for (const dir of pathVar.split(sep)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, base + ext.toLowerCase());
      if (isExecutableFile(candidate, platform)) return candidate;
    }
  }
  return undefined;
}

/**
 * Lookup order: the asyncsense.server.path setting (must exist), $ASYNCSENSE_SERVER_PATH (must
 * exist), bundled/asyncsense inside the extension, `asyncsense` on PATH.
 * A setting or variable that points at nothing is an error (not skipped): the user asked for it.
 */
export function findServer(input: ServerLookupInput): ServerLookupResult {
  const platform = input.platform ?? process.platform;
  const home = input.homedir ?? os.homedir();

  const setting = (input.settingPath ?? "").trim();
  if (setting) {
    const p = path.resolve(expandHome(setting, home));
    if (isExecutableFile(p, platform)) return { ok: true, path: p, source: "setting" };
    return {
      ok: false,
      message: `asyncsense: the setting "${SETTING}" is "${setting}", but ${p} is not an executable file. Fix the setting or clear it.`,
    };
  }

  const fromEnv = (input.env[ENV_VAR] ?? "").trim();
  if (fromEnv) {
    const p = path.resolve(expandHome(fromEnv, home));
    if (isExecutableFile(p, platform)) return { ok: true, path: p, source: "env" };
    return {
      ok: false,
      message: `asyncsense: the environment variable ${ENV_VAR} is "${fromEnv}", but ${p} is not an executable file. Fix it or unset it.`,
    };
  }

  const bundled = path.join(input.extensionPath, "bundled", binaryName(platform));
  if (isExecutableFile(bundled, platform)) return { ok: true, path: bundled, source: "bundled" };

  const onPath = findOnPath(binaryName(platform), input.env, platform);
  if (onPath) return { ok: true, path: onPath, source: "path" };

  return {
    ok: false,
    message:
      `asyncsense: could not find the asyncsense server. Set "${SETTING}" to the binary ` +
      `(for example ~/.cargo/bin/asyncsense), or set the environment variable ${ENV_VAR}, ` +
      `or put asyncsense on PATH (cargo install --path . in the asyncsense repository).`,
  };
}
