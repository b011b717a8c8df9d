#!/usr/bin/env bash
# bench/peer.sh: Tollgate side by side with the mock alone and with a plain nginx proxy hop, through the
# shared peer harness (peer-bench.sh: a Debian-nginx mock OpenAI upstream, wrk, per-event stream timing).
#
#   bash bench/peer.sh                     # TARGETS="direct nginx gateway", ~2 minutes
#   DURATION=3 TTFB_N=20 PACED_N=10 bash bench/peer.sh
#   TARGETS="direct nginx litellm portkey gateway" bash bench/peer.sh   # the other gateways too (installs them)
#
# This wrapper builds `tollgate`, writes a TOML whose channels point at the harness's mock routes through
# `${MOCK_BASE_URL}`, `${MOCK_STREAM_BASE_URL}` and `${MOCK_PACED_BASE_URL}` (Tollgate expands `${ENV}` in its
# TOML; the harness exports them to GATEWAY_CMD): one model per route (mock-gpt, mock-gpt-stream,
# mock-gpt-paced), prices for them, a user with a large balance and a key. Tollgate runs on a fresh SQLite
# file in a temp folder (or on DATABASE_URL / REDIS_URL when set), bound to 127.0.0.1:$GW_PORT.
#
# Knobs: PEER_BENCH (path of peer-bench.sh; default ../shared/bench/peer-bench.sh from the repo root),
#   TARGETS ("direct nginx gateway"), GW_PORT (18090), SKIP_BUILD=1, and every knob of peer-bench.sh
#   (DURATION, WARMUP, CONC, STREAM, TTFB_N, PACED, PACE_MS, PACED_N, BENCH_RUN, …: see its header).
# Results: a Markdown table on stdout and in the harness's run folder (/tmp/peerbench/run-<time>/).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/toml.sh
. "$ROOT/bench/toml.sh"
PEER_BENCH=${PEER_BENCH:-$ROOT/../shared/bench/peer-bench.sh}
GW_PORT=${GW_PORT:-18090}
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
KEY="sk-peerbench00000000000000000000000000000000000001"

log() { printf '[peer %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

[ -f "$PEER_BENCH" ] || { log "peer harness not found at $PEER_BENCH (set PEER_BENCH)"; exit 1; }
if [ -n "$(ss -ltnH "sport = :$GW_PORT" 2> /dev/null)" ]; then
  log "port $GW_PORT is busy (set GW_PORT)"
  exit 1
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building tollgate (cargo build --release -p tollgate)"
  cargo build --release -p tollgate >&2
fi
[ -x "$BIN/tollgate" ] || { log "no $BIN/tollgate"; exit 1; }

WORK=$(mktemp -d /tmp/tollgate-peer.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# `${MOCK_…}` and the key stay literal here (single quotes): Tollgate expands them when the harness starts it.
bench_toml bench/peer.sh peer-bench '${TOLLGATE_BENCH_KEY}' \
  'mock|${MOCK_BASE_URL}|mock-gpt' \
  'mock-stream|${MOCK_STREAM_BASE_URL}|mock-gpt-stream' \
  'mock-paced|${MOCK_PACED_BASE_URL}|mock-gpt-paced' > "$WORK/tollgate.toml"

cmd=(exec "$BIN/tollgate" serve --config "$WORK/tollgate.toml" --listen "127.0.0.1:$GW_PORT"
  --admin-token peer-bench-admin --shutdown-grace 2)
if [ -z "${DATABASE_URL:-}" ]; then cmd+=(--database-url "sqlite://$WORK/db/tollgate.db"); fi
GATEWAY_CMD=$(printf '%q ' "${cmd[@]}")

export TOLLGATE_BENCH_KEY=$KEY
export TARGETS=${TARGETS:-direct nginx gateway}
export GATEWAY_NAME=${GATEWAY_NAME:-tollgate}
export GATEWAY_URL="http://127.0.0.1:$GW_PORT"
export GATEWAY_KEY=$KEY
export GATEWAY_MODEL=mock-gpt
export GATEWAY_STREAM_MODEL=mock-gpt-stream
export GATEWAY_PACED_MODEL=mock-gpt-paced
export GATEWAY_CMD
log "commit $(git rev-parse --short HEAD 2> /dev/null || echo unknown); harness $PEER_BENCH; targets: $TARGETS"
bash "$PEER_BENCH"
