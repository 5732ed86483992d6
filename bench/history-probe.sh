#!/usr/bin/env bash
# Cost-vs-history probe (issue 14): copies a seeded store (bench/seed-history.ts, project "demo"),
# starts the compiled daemon on it and times status / task list --all / task show and the daemon's
# CPU over its first 5 s.   bash bench/history-probe.sh <seeded.db> [dist dir]
set -euo pipefail
SEED=$1; DIST=${2:-$(dirname "$0")/../dist}; DIST=$(cd "$DIST" && pwd)
W=$(mktemp -d /tmp/khp.XXXX); export HOME=$W/h XDG_RUNTIME_DIR=$W/r KASMOS_TMUX_SOCKET=khp-$$ NO_COLOR=1
mkdir -p "$HOME/.config/kasmos" "$XDG_RUNTIME_DIR"; chmod 700 "$XDG_RUNTIME_DIR"
cp "$SEED" "$HOME/.config/kasmos/kasmos.db"
git init -q "$W/demo"; git -C "$W/demo" -c user.email=p@x -c user.name=p commit -q --allow-empty -m init
printf 'repos = ["%s"]\npoll_interval_sec = 2\n' "$W/demo" > "$HOME/.config/kasmos/daemon.toml"
cpu() { awk '{print ($14+$15)*10}' /proc/$1/stat; } # ms (CLK_TCK 100)
"$DIST/kasmos" daemon start --foreground > "$W/daemon.out" 2>&1 & PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$W"' EXIT
sleep 5; echo "daemon CPU first 5 s: $(cpu $PID) ms"
S=$XDG_RUNTIME_DIR/kasmos/kas.sock
t() { local s=$(date +%s%N); "$@" > /dev/null; echo $(( ($(date +%s%N) - s) / 1000000 )); }
for i in 1 2 3; do
  echo "status $(t curl -s --unix-socket "$S" http://k/v1/status) ms; task list --all $(t "$DIST/kas" task list --all) ms; task show $(t "$DIST/kas" task show old-100 --repo "$W/demo") ms"
done
c0=$(cpu $PID); sleep 20; echo "idle CPU over 20 s: $(( $(cpu $PID) - c0 )) ms"
echo "slow timer passes (> 250 ms) logged so far: $(grep -c 'slow timer pass' "$W/daemon.out" || true) $(grep -o 'slow timer pass: [0-9]* ms' "$W/daemon.out" | head -3 | tr '\n' ' ')"
for i in 1 2 3 4 5; do curl -s --unix-socket "$S" http://k/v1/status | grep -o '"last_tick_ms":[0-9.]*'; sleep 2.1; done | tr '\n' ' '; echo
N=$(sqlite3 "$HOME/.config/kasmos/kasmos.db" "SELECT COUNT(*) FROM audit_events WHERE id <= (SELECT MAX(id) FROM audit_events) - 0" 2>/dev/null || echo 0)
if [ "$N" -gt 0 ]; then
  c0=$(cpu $PID); s=$(date +%s%N)
  "$DIST/kas" daemon events --since 0 --json --count "$N" | wc -l | tr -d '\n'; echo " events replayed from 0 (exit ${PIPESTATUS[0]}) in $(( ($(date +%s%N) - s) / 1000000 )) ms, daemon CPU $(( $(cpu $PID) - c0 )) ms"
fi
