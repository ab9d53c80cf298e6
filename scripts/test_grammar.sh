#!/usr/bin/env bash
# Snapshot tests of the TextMate grammar (editors/vscode/syntaxes/adf.tmLanguage.json) over every
# example program (examples/*/*.adf) and the cases in editors/vscode/test/cases/.
#
#   scripts/test_grammar.sh        compare each file's tokens with its committed snapshot
#   scripts/test_grammar.sh -u     rewrite the snapshots after a grammar change (review the diff)
#
# Needs node and npm: vscode-tmgrammar-test is installed once into editors/vscode/test/node_modules
# from its lock file. Exits 0 when every file matches, 1 on a difference or a missing snapshot,
# 3 when node or npm is not installed.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
EXT="$ROOT/editors/vscode"
TESTS="$EXT/test"
UPDATE=0
for arg in "$@"; do
  case "$arg" in
    -u|--update) UPDATE=1 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "grammar: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "grammar: node and npm are not installed; the grammar snapshot tests need them" >&2
  exit 3
fi
SNAP="$TESTS/node_modules/.bin/vscode-tmgrammar-snap"
if [ ! -x "$SNAP" ]; then
  echo "grammar: installing vscode-tmgrammar-test (once)"
  npm ci --prefix "$TESTS" --no-audit --no-fund --loglevel=error >/dev/null
fi

WORK=$(mktemp -d -t adf-grammar.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
missing=0
for source in "$ROOT"/examples/*/*.adf "$TESTS"/cases/*.adf; do
  name=$(basename "$source")
  cp "$source" "$WORK/$name"
  if [ -f "$TESTS/snapshots/$name.snap" ]; then
    cp "$TESTS/snapshots/$name.snap" "$WORK/$name.snap"
  elif [ "$UPDATE" = 0 ]; then
    echo "grammar: no snapshot for $name (run scripts/test_grammar.sh -u and review it)" >&2
    missing=1
  fi
done
[ "$missing" = 0 ] || exit 1

cd "$EXT"
if [ "$UPDATE" = 1 ]; then
  "$SNAP" --updateSnapshot -s source.adf -g syntaxes/adf.tmLanguage.json "$WORK/*.adf"
  for snap in "$WORK"/*.snap; do
    cp "$snap" "$TESTS/snapshots/"
  done
  echo "grammar: snapshots written to editors/vscode/test/snapshots/"
else
  "$SNAP" -s source.adf -g syntaxes/adf.tmLanguage.json "$WORK/*.adf"
fi
