// The adf extension: highlighting comes from the TextMate grammar; everything else
// (diagnostics, hover, go to definition, rename, completion, formatting...) from
// `adfc lsp`, started over stdio with the command in the `adf.server.command` setting.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const settings = vscode.workspace.getConfiguration("adf");
  const [command, ...args] = settings.get("server.command", ["adfc", "lsp"]);
  const server = { command, args };
  client = new LanguageClient(
    "adf",
    "adf language server",
    { run: server, debug: server },
    {
      documentSelector: [{ scheme: "file", language: "adf" }, { scheme: "untitled", language: "adf" }],
      initializationOptions: { debounceMs: settings.get("server.debounceMs", 20) },
    }
  );
  context.subscriptions.push(
    vscode.commands.registerCommand("adf.restartServer", () => client.restart())
  );
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
