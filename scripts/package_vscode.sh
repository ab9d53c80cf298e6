#!/usr/bin/env bash
# Package the VS Code extension (editors/vscode) as a .vsix with @vscode/vsce.
#
#   scripts/package_vscode.sh [OUT]     writes OUT (default: editors/vscode/adf.vsix)
#
# Install it with `code --install-extension adf.vsix`. The extension starts `adfc lsp`
# (setting `adf.server.command`), so adf with its lsp extra must be installed too:
# pip install 'adf[lsp]'. Needs node and npm; dependencies come from the lock file.
set -euo pipefail

cd "$(dirname "$0")/.."
EXT=editors/vscode
OUT=$(realpath -m "${1:-$EXT/adf.vsix}")
command -v npm >/dev/null 2>&1 || { echo "package: npm is not installed" >&2; exit 3; }
echo "package: installing the extension's dependencies"
npm ci --prefix "$EXT" --no-audit --no-fund --loglevel=error >/dev/null
(cd "$EXT" && npx --no-install vsce package --skip-license --out "$OUT")
echo "package: wrote $OUT"
