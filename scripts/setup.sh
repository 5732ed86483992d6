#!/bin/sh
# One-time setup on a fresh clone where only Node/npm exist: bun from the npm registry,
# tmux and git from Debian when missing, then the project's dependencies from the lockfile.
#   sh scripts/setup.sh            everything, for the tests too (the pinned agent CLIs: ~1.1 GB)
#   sh scripts/setup.sh --no-clis  the daemon only: no agent CLIs (KASMOS_SETUP_NO_CLIS=1 does the same)
#   KASMOS_TEST_CLIS=latest sh scripts/setup.sh   also the newest agent CLIs from npm (test/real-agents/clis-latest)
set -eu
cd "$(dirname "$0")/.."

no_clis=${KASMOS_SETUP_NO_CLIS:-0}
for arg in "$@"; do
  case "$arg" in
    --no-clis) no_clis=1 ;;
    -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

if ! command -v bun >/dev/null 2>&1 || ! bun --version >/dev/null 2>&1; then
  echo "setup: installing bun from the npm registry" >&2
  npm install -g bun >/dev/null 2>&1 || npm install -g --allow-scripts=bun bun >/dev/null
fi

# tool → Debian package (systemd-analyze verifies the service unit, zsh and fish check completions, bwrap sandboxes agents, chromium renders the dashboard, in the tests)
missing=""
for pair in git:git tmux:tmux systemd-analyze:systemd zsh:zsh fish:fish bwrap:bubblewrap chromium:chromium; do
  tool=${pair%%:*}
  pkg=${pair#*:}
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing$missing with apt-get" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "setup: please install:$missing (needed by the tests)" >&2
  fi
fi

bun install --frozen-lockfile >/dev/null

# The real agent CLIs the real-agent tests run (pinned in test/real-agents/clis/package-lock.json),
# installed into the project, never globally. Skipped when the installed set matches the lockfile.
clis=test/real-agents/clis
if [ "$no_clis" = 1 ]; then
  echo "setup: bun $(bun --version), $(git --version), $(tmux -V 2>/dev/null || echo 'tmux missing'); agent CLIs not installed (--no-clis: the real-agent tests will fail)" >&2
  exit 0
fi
# KASMOS_TEST_CLIS=latest: the newest CLIs from npm besides the pinned ones, in test/real-agents/clis-latest
# (never saved to a lockfile); `KASMOS_TEST_CLIS=latest bun run test:real` runs the real-agent tests against them.
if [ "${KASMOS_TEST_CLIS:-}" = latest ]; then
  latest=test/real-agents/clis-latest
  mkdir -p "$latest"
  [ -f "$latest/package.json" ] || printf '{ "name": "kasmos-agent-clis-latest", "private": true }\n' > "$latest/package.json"
  echo "setup: installing the latest agent CLIs (claude, codex, opencode) into $latest" >&2
  npm install --prefix "$latest" --no-audit --no-fund --no-save --loglevel=error @anthropic-ai/claude-code@latest @openai/codex@latest opencode-ai@latest >/dev/null
  clis=$latest
  echo "setup: latest: claude $("$clis/node_modules/.bin/claude" --version 2>/dev/null | cut -d' ' -f1), codex $("$clis/node_modules/.bin/codex" --version 2>/dev/null | cut -d' ' -f2), opencode $("$clis/node_modules/.bin/opencode" --version 2>/dev/null)" >&2
  exit 0
fi
if ! cmp -s "$clis/package-lock.json" "$clis/node_modules/.package-lock.kasmos" 2>/dev/null; then
  echo "setup: installing the pinned agent CLIs (claude, codex, opencode) into $clis" >&2
  # npm ci refuses this lockfile (opencode lists platform packages the registry lacks); the versions are exact pins anyway.
  npm install --prefix "$clis" --no-audit --no-fund --loglevel=error >/dev/null
  cp "$clis/package-lock.json" "$clis/node_modules/.package-lock.kasmos"
fi
echo "setup: bun $(bun --version), $(git --version), $(tmux -V 2>/dev/null || echo 'tmux missing'), claude $("$clis/node_modules/.bin/claude" --version 2>/dev/null | cut -d' ' -f1), codex $("$clis/node_modules/.bin/codex" --version 2>/dev/null | cut -d' ' -f2), opencode $("$clis/node_modules/.bin/opencode" --version 2>/dev/null)" >&2
