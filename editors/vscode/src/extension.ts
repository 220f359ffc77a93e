import * as vscode from "vscode";
import {
  CodeAction,
  Command,
  Executable,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  TransportKind,
} from "vscode-languageclient/node";
import { findServer } from "./serverPath";

const SECTION = "asyncsense";
const FIX_ALL_KIND = vscode.CodeActionKind.SourceFixAll.append("asyncsense");
/** settings whose change needs a new server process */
const RESTART_SETTINGS = [
  "enable",
  "server.path",
  "logLevel",
  "select",
  "extendSelect",
  "ignore",
].map((s) => `${SECTION}.${s}`);

let client: LanguageClient | undefined;
let output: vscode.LogOutputChannel;
let traceOutput: vscode.OutputChannel | undefined;
let starting: Promise<void> = Promise.resolve();

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION);
}

function initializationOptions(): Record<string, string[]> {
  const cfg = config();
  const opts: Record<string, string[]> = {};
  for (const key of ["select", "extendSelect", "ignore"]) {
    const v = cfg.get<string[] | null>(key);
    if (Array.isArray(v)) opts[key] = v;
  }
  return opts;
}

function isDisableComment(a: vscode.Command | vscode.CodeAction): boolean {
  return /^Disable APM\w* for this line/.test(a.title);
}

async function start(context: vscode.ExtensionContext): Promise<void> {
  const cfg = config();
  if (!cfg.get<boolean>("enable", true)) {
    output.info("asyncsense.enable is false: server not started");
    return;
  }
  const found = findServer({
    settingPath: cfg.get<string>("server.path"),
    env: process.env,
    extensionPath: context.extensionPath,
  });
  if (!found.ok) {
    output.error(found.message);
    void vscode.window.showErrorMessage(found.message, "Open Settings").then((choice) => {
      if (choice) void vscode.commands.executeCommand("workbench.action.openSettings", "asyncsense.server.path");
    });
    return;
  }
  output.info(`server: ${found.path} (from ${found.source})`);

  const run: Executable = {
    command: found.path,
    args: ["server"],
    transport: TransportKind.stdio, // appends --stdio, which the server accepts
    options: { env: { ...process.env, ASYNCSENSE_LOG: cfg.get<string>("logLevel", "warn") } },
  };
  const serverOptions: ServerOptions = { run, debug: run };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "python" },
      { scheme: "untitled", language: "python" },
      { scheme: "file", language: "rust" },
    ],
    initializationOptions: initializationOptions(),
    outputChannel: output,
    traceOutputChannel: traceOutput,
    middleware: {
      provideCodeActions: async (document, range, ctx, token, next) => {
        const actions = await next(document, range, ctx, token);
        if (!actions || config().get<boolean>("codeAction.disableRuleComment", true)) return actions;
        return actions.filter((a: Command | CodeAction | vscode.Command | vscode.CodeAction) => !isDisableComment(a as vscode.CodeAction));
      },
    },
  };
  const c = new LanguageClient("asyncsense", "asyncsense", serverOptions, clientOptions);
  client = c;
  try {
    await c.start();
    output.info("server started");
  } catch (e) {
    const msg = `asyncsense: the server (${found.path}) failed to start: ${e instanceof Error ? e.message : String(e)}`;
    output.error(msg);
    void vscode.window.showErrorMessage(msg, "Show Logs").then((choice) => {
      if (choice) output.show();
    });
  }
}

async function stop(): Promise<void> {
  const c = client;
  client = undefined;
  if (c && c.state !== State.Stopped) {
    try {
      await c.stop(2000);
    } catch (e) {
      output.warn(`stopping the server: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

function restart(context: vscode.ExtensionContext): Promise<void> {
  // serialise start/stop so that quick successive restarts do not race
  starting = starting.then(async () => {
    await stop();
    await start(context);
  });
  return starting;
}

/** asyncsense.fixAll: apply source.fixAll.asyncsense before a Python file is saved. */
async function fixAllEdits(document: vscode.TextDocument): Promise<vscode.TextEdit[]> {
  if (!client || client.state !== State.Running) return [];
  const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
    "vscode.executeCodeActionProvider",
    document.uri,
    new vscode.Range(0, 0, document.lineCount, 0),
    FIX_ALL_KIND.value,
    10, // resolve lazily computed edits
  );
  const edits: vscode.TextEdit[] = [];
  for (const a of actions ?? []) {
    if (!a.kind || !FIX_ALL_KIND.contains(a.kind) || !a.edit) continue;
    for (const [uri, es] of a.edit.entries()) {
      if (uri.toString() === document.uri.toString()) edits.push(...es);
    }
    break; // one fix-all action is the whole set
  }
  return edits;
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("asyncsense", { log: true });
  context.subscriptions.push(output);
  if (config().get<string>("trace.server", "off") !== "off") {
    traceOutput = vscode.window.createOutputChannel("asyncsense (trace)");
    context.subscriptions.push(traceOutput);
  }

  context.subscriptions.push(
    vscode.commands.registerCommand("asyncsense.restart", () => restart(context)),
    vscode.commands.registerCommand("asyncsense.showLogs", () => output.show(true)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (RESTART_SETTINGS.some((s) => e.affectsConfiguration(s))) {
        output.info("settings changed: restarting the server");
        void restart(context);
      }
    }),
    vscode.workspace.onWillSaveTextDocument((e) => {
      if (e.document.languageId !== "python") return;
      if (!config().get<boolean>("fixAll", false)) return;
      if (e.reason !== vscode.TextDocumentSaveReason.Manual) return;
      e.waitUntil(fixAllEdits(e.document).catch((err) => {
        output.warn(`fix all on save: ${err instanceof Error ? err.message : String(err)}`);
        return [];
      }));
    }),
    { dispose: () => void stop() },
  );
  await restart(context);
}

export async function deactivate(): Promise<void> {
  await stop();
}
