#!/usr/bin/env bash
# bench/run.sh: what Tollgate itself costs, measured on this machine, everything on 127.0.0.1.
#
#   bash bench/run.sh                      # ~2 minutes with the defaults
#   bash bench/run.sh both                 # SQLite, then PostgreSQL + Redis, side by side
#   DURATION=5 bash bench/run.sh           # shorter load runs
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 bash bench/run.sh
#
# It builds the release binaries, starts three `mock-upstream` instances (instant answers; one
# event every PACE_MS ms; one event every SLOW_PACE_MS ms) and `tollgate serve` with a generated
# TOML (three channels, one per mock, one user with a large balance, one key, prices) on a fresh
# SQLite file in a temp folder, then measures every number twice where it makes sense: straight
# to the mock ("direct") and through Tollgate, and prints one table:
#   - non-streaming p50/p99 at c=1 and the latency Tollgate adds (gateway minus direct);
#   - non-streaming RPS at c=$CONC, Tollgate's CPU per request (utime+stime of its pid from
#     /proc/<pid>/stat over the run, divided by requests completed), RSS idle and peak
#     (VmRSS sampled every 0.2 s, and VmHWM), non-2xx answers and socket errors from wrk;
#   - streaming (SSE) streams/s at c=$CONC and CPU per stream;
#   - a paced stream (one event every PACE_MS ms) timed event by event by a python3 client:
#     time to first event added by Tollgate, and the worst extra gap between two events;
#   - SLOW_STREAMS concurrent slow streams (python3 asyncio client): all must end 200 with
#     [DONE]; Tollgate's RSS while they are all open.
# Load comes from wrk (Debian package `wrk`); the stream clients are python3 standard library.
#
# Knobs (environment):
#   DURATION (10) seconds of each measured wrk run, after WARMUP (2) seconds of warm-up
#   CONC (64) concurrency of the loaded runs      WRK_THREADS (1) wrk threads
#   PACE_MS (20) PROBE_N (30)                     paced-stream probe: pace and streams
#   SLOW_STREAMS (1000) SLOW_PACE_MS (1000)       the many-slow-streams test (0 streams = skip)
#   DATABASE_URL  postgres://… to measure on PostgreSQL (a fresh schema is created with psql when
#                 available and dropped at the end), or another sqlite://… URL
#   REDIS_URL     redis://… to share counters through Redis (passed as --redis-url)
#   SKIP_BUILD=1  use the binaries already in target/release
#   KEEP=1        keep the run folder (configs, logs, wrk outputs, raw results) and the PG schema
#   BENCH_DIR     run folder (default: a new mktemp -d under /tmp)
#
# Safety: every server binds 127.0.0.1, every load run is bounded in time, and only the
# processes this script started are stopped (by pid) when it exits.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE="$ROOT/bench"
cd "$ROOT"

# `bash bench/run.sh both`: one instance on SQLite, then one on PostgreSQL + Redis (DATABASE_URL and REDIS_URL,
# by default the local servers), each measured as above, then both tables merged side by side.
if [ "${1:-}" = both ]; then
  one=$(mktemp /tmp/tollgate-bench-sqlite.XXXXXX)
  two=$(mktemp /tmp/tollgate-bench-pg.XXXXXX)
  trap 'rm -f "$one" "$two"' EXIT
  env -u DATABASE_URL -u REDIS_URL bash "$0" > "$one"
  SKIP_BUILD=1 DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} \
    REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379} bash "$0" > "$two"
  python3 "$HERE/side_by_side.py" "$one" "$two"
  exit 0
fi
# shellcheck source=bench/toml.sh
. "$HERE/toml.sh"

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONC=${CONC:-64}
WRK_THREADS=${WRK_THREADS:-1}
PACE_MS=${PACE_MS:-20}
PROBE_N=${PROBE_N:-30}
SLOW_STREAMS=${SLOW_STREAMS:-1000}
SLOW_PACE_MS=${SLOW_PACE_MS:-1000}
SKIP_BUILD=${SKIP_BUILD:-0}
KEEP=${KEEP:-0}
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
KEY="sk-bench0000000000000000000000000000000000000000001"
ADMIN_TOKEN="bench-admin-token"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ------------------------------------------------------------------ prerequisites
if ! command -v wrk > /dev/null 2>&1; then
  cat >&2 <<'EOF'
bench/run.sh needs wrk, the HTTP load generator, which is not installed. On Debian/Ubuntu:

  sudo apt-get install -y wrk

then run `bash bench/run.sh` again.
EOF
  exit 1
fi
command -v python3 > /dev/null 2>&1 || die "python3 is required (standard library only)"
command -v curl > /dev/null 2>&1 || die "curl is required"
[ -r /proc/self/stat ] || die "/proc is required (Linux) to read the server's CPU time and RSS"

# 1000 streams hold ~2 sockets each in Tollgate and one in the client: raise the soft fd limit.
want_fds=$(( SLOW_STREAMS * 3 + 1024 ))
cur_fds=$(ulimit -n)
if [ "$cur_fds" != unlimited ] && [ "$cur_fds" -lt "$want_fds" ]; then
  ulimit -n "$want_fds" 2> /dev/null || ulimit -n "$(ulimit -Hn)" 2> /dev/null || true
  cur_fds=$(ulimit -n)
  if [ "$cur_fds" != unlimited ] && [ "$cur_fds" -lt "$want_fds" ]; then
    log "warning: open-file limit is $cur_fds (hard $(ulimit -Hn)); $SLOW_STREAMS streams may fail"
  fi
fi

RUN=${BENCH_DIR:-$(mktemp -d /tmp/tollgate-bench.XXXXXX)}
mkdir -p "$RUN"
RESULTS="$RUN/results.jsonl"
: > "$RESULTS"

# ------------------------------------------------------------------ process handling
PIDS=()
PG_SCHEMA=""
cleanup() {
  local pid i
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for i in $(seq 1 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
  done
  PIDS=()
  if [ -n "$PG_SCHEMA" ] && [ "$KEEP" != 1 ]; then
    psql "$DATABASE_URL" -q -c "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" > /dev/null 2>&1 || true
  fi
  if [ "$KEEP" = 1 ]; then log "run folder kept: $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

MOCK_URL=""
start_mock() { # name chunk_delay_ms -> MOCK_URL (http://127.0.0.1:PORT)
  local name=$1 delay=$2 logf pid i
  logf="$RUN/mock-$name.log"
  "$BIN/mock-upstream" --listen 127.0.0.1:0 --chunk-delay-ms "$delay" > "$logf" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  MOCK_URL=""
  for i in $(seq 1 200); do
    MOCK_URL=$(sed -n 's/^listening on //p' "$logf" | head -1)
    [ -n "$MOCK_URL" ] && break
    kill -0 "$pid" 2> /dev/null || die "mock-upstream ($name) exited: $(head -c 500 "$logf")"
    sleep 0.05
  done
  [ -n "$MOCK_URL" ] || die "mock-upstream ($name) did not announce its address"
  case "$MOCK_URL" in http://127.0.0.1:*) ;; *) die "mock-upstream ($name) is not on loopback: $MOCK_URL" ;; esac
}

stat_ticks() { # pid -> utime + stime in clock ticks
  local line rest
  read -r line < "/proc/$1/stat"
  rest=${line##*) }
  # shellcheck disable=SC2086
  set -- $rest
  echo $(( ${12} + ${13} ))
}

status_kb() { # pid field (VmRSS | VmHWM) -> kB
  awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2> /dev/null
}

write_body() { # file model stream(0|1)
  if [ "$3" = 1 ]; then
    printf '{"model":"%s","messages":[{"role":"system","content":"You are a benchmark."},{"role":"user","content":"Say hello"}],"max_tokens":32,"stream":true,"stream_options":{"include_usage":true}}' "$2" > "$1"
  else
    printf '{"model":"%s","messages":[{"role":"system","content":"You are a benchmark."},{"role":"user","content":"Say hello"}],"max_tokens":32}' "$2" > "$1"
  fi
}

# One bounded wrk run after a warm-up. With a pid, also samples its CPU ticks and RSS.
measure() { # name url body headers conc [pid]
  local name=$1 url=$2 body=$3 hdrs=$4 c=$5 pid=${6:-} thr=$WRK_THREADS out res
  local before=0 after=0 rssf="$RUN/rss-$1" stopf="$RUN/rss-$1.stop" sampler="" peak=0 hwm=0 non2xx
  if [ "$c" -lt "$thr" ]; then thr=$c; fi
  WRK_BODY_FILE=$body WRK_HEADERS=$hdrs timeout $(( WARMUP + 60 )) \
    wrk -t"$thr" -c"$c" -d"${WARMUP}s" --timeout 30s -s "$HERE/wrk-post.lua" "$url" > /dev/null 2>&1 || true
  if [ -n "$pid" ]; then
    : > "$rssf"
    rm -f "$stopf"
    before=$(stat_ticks "$pid")
    ( while [ ! -e "$stopf" ] && kill -0 "$pid" 2> /dev/null; do
        status_kb "$pid" VmRSS >> "$rssf"; sleep 0.2
      done ) &
    sampler=$!
  fi
  out=$(WRK_BODY_FILE=$body WRK_HEADERS=$hdrs timeout $(( DURATION + 60 )) \
    wrk -t"$thr" -c"$c" -d"${DURATION}s" --timeout 30s -s "$HERE/wrk-post.lua" "$url" 2>&1) || true
  if [ -n "$pid" ]; then
    after=$(stat_ticks "$pid")
    touch "$stopf"
    wait "$sampler" 2> /dev/null || true
    peak=$(sort -n "$rssf" | tail -1)
    hwm=$(status_kb "$pid" VmHWM)
  fi
  printf '%s\n' "$out" > "$RUN/wrk-$name.txt"
  res=$(sed -n 's/^RESULT //p' <<< "$out" | tail -1)
  [ -n "$res" ] || { log "wrk gave no result for $name: $(tail -3 <<< "$out")"; res=null; }
  non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' <<< "$out" | tail -1)
  printf '{"name":"%s","conc":%d,"cpu_ticks":%d,"rss_peak_kb":%d,"hwm_kb":%d,"non2xx":%d,"wrk":%s}\n' \
    "$name" "$c" "$(( after - before ))" "${peak:-0}" "${hwm:-0}" "${non2xx:-0}" "$res" >> "$RESULTS"
  log "  $name c=$c: $(sed -n 's/.*"requests":\([0-9]*\).*"p50_us":\([0-9]*\).*"p99_us":\([0-9]*\).*/\1 requests, p50 \2 us, p99 \3 us/p' <<< "$res") non-2xx ${non2xx:-0}"
}

probe() { # name url body headers
  local out
  out=$(PROBE_HEADERS=$4 timeout $(( PROBE_N * (PACE_MS * 20 + 2000) / 1000 + 60 )) \
    python3 "$HERE/sse_probe.py" "$2" "$3" "$PROBE_N" "$PACE_MS" 2> "$RUN/probe-$1.err") || true
  [ -n "$out" ] || { log "stream probe $1 failed: $(head -c 300 "$RUN/probe-$1.err")"; out=null; }
  printf '{"name":"%s","probe":%s}\n' "$1" "$out" >> "$RESULTS"
  log "  $1: $out"
}

# ------------------------------------------------------------------ header
COMMIT=$(git rev-parse --short HEAD 2> /dev/null || echo unknown)
git diff --quiet HEAD 2> /dev/null || COMMIT="$COMMIT (+ uncommitted changes)"
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
MEM_GB=$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
{
  echo "Tollgate benchmark"
  echo "commit:  $COMMIT"
  echo "machine: $(nproc) CPUs, ${CPU_MODEL:-unknown CPU}, ${MEM_GB} GiB, Linux $(uname -r)"
} > "$RUN/header.txt"
cat "$RUN/header.txt" >&2

# ------------------------------------------------------------------ build
if [ "$SKIP_BUILD" != 1 ]; then
  log "building release binaries (cargo build --release -p tollgate -p mock-upstream)"
  cargo build --release -p tollgate -p mock-upstream >&2 || die "build failed"
fi
[ -x "$BIN/tollgate" ] && [ -x "$BIN/mock-upstream" ] || die "no release binaries in $BIN"

# ------------------------------------------------------------------ database
DB_DESC="SQLite (fresh file in a temp folder)"
DB_URL="sqlite://$RUN/db/tollgate.db"
if [ -n "${DATABASE_URL:-}" ]; then
  case "$DATABASE_URL" in
    postgres://* | postgresql://*)
      if command -v psql > /dev/null 2>&1; then
        PG_SCHEMA="tollgate_bench_$(date +%s)_$$"
        psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -q -c "CREATE SCHEMA $PG_SCHEMA" > /dev/null ||
          { PG_SCHEMA=""; die "could not create a schema with psql on $DATABASE_URL"; }
        case "$DATABASE_URL" in *\?*) sep='&' ;; *) sep='?' ;; esac
        DB_URL="$DATABASE_URL${sep}options=-c%20search_path%3D$PG_SCHEMA"
        DB_DESC="PostgreSQL (fresh schema $PG_SCHEMA)"
      else
        log "warning: psql not found: using DATABASE_URL as it is (the bench rows go into its current schema)"
        DB_URL=$DATABASE_URL
        DB_DESC="PostgreSQL (existing schema)"
      fi
      ;;
    *) DB_URL=$DATABASE_URL; DB_DESC="$DATABASE_URL" ;;
  esac
fi
REDIS_ARGS=()
CACHE_DESC="in memory"
if [ -n "${REDIS_URL:-}" ]; then
  REDIS_ARGS=(--redis-url "$REDIS_URL")
  CACHE_DESC="Redis"
fi

# ------------------------------------------------------------------ servers
start_mock fast 0;               FAST_URL=$MOCK_URL
start_mock paced "$PACE_MS";     PACED_URL=$MOCK_URL
start_mock slow "$SLOW_PACE_MS"; SLOW_URL=$MOCK_URL

GW_PORT=$(free_port)
GW="http://127.0.0.1:$GW_PORT"
bench_toml bench/run.sh bench "$KEY" \
  "mock-fast|$FAST_URL|mock-gpt" \
  "mock-paced|$PACED_URL|mock-gpt-paced" \
  "mock-slow|$SLOW_URL|mock-gpt-slow" > "$RUN/tollgate.toml"

"$BIN/tollgate" serve --config "$RUN/tollgate.toml" --listen "127.0.0.1:$GW_PORT" \
  --database-url "$DB_URL" "${REDIS_ARGS[@]}" --admin-token "$ADMIN_TOKEN" --shutdown-grace 2 \
  > "$RUN/tollgate.log" 2>&1 &
GW_PID=$!
PIDS+=("$GW_PID")

AUTH="Authorization: Bearer $KEY"
UP_AUTH="Authorization: Bearer sk-mock-upstream"
write_body "$RUN/direct.json" mock-gpt 0
write_body "$RUN/direct-stream.json" mock-gpt 1
write_body "$RUN/gw.json" mock-gpt 0
write_body "$RUN/gw-stream.json" mock-gpt 1
write_body "$RUN/gw-paced.json" mock-gpt-paced 1
write_body "$RUN/gw-slow.json" mock-gpt-slow 1

ready=0
for i in $(seq 1 300); do
  kill -0 "$GW_PID" 2> /dev/null || die "tollgate exited: $(tail -c 1500 "$RUN/tollgate.log")"
  code=$(curl -s -o "$RUN/ready.out" -w '%{http_code}' --max-time 5 -X POST "$GW/v1/chat/completions" \
    -H "$AUTH" -H 'Content-Type: application/json' --data-binary "@$RUN/gw.json" 2> /dev/null || true)
  if [ "$code" = 200 ] && grep -q '"chat.completion"' "$RUN/ready.out"; then ready=1; break; fi
  sleep 0.1
done
[ "$ready" = 1 ] || die "tollgate did not answer a chat request (last HTTP ${code:-none}: $(head -c 300 "$RUN/ready.out"))"
if command -v ss > /dev/null 2>&1; then
  bad=$(ss -ltnpH 2> /dev/null | grep -E "pid=$GW_PID," | awk '{print $4}' | grep -vE '^(127\.|\[::1\])' || true)
  if [ -n "$bad" ]; then die "tollgate listens on a non-loopback address: $bad"; fi
fi
sleep 0.5
RSS_IDLE=$(status_kb "$GW_PID" VmRSS)
log "tollgate pid $GW_PID on $GW ($DB_DESC, counters $CACHE_DESC), idle RSS ${RSS_IDLE} kB; run folder $RUN"
{
  echo "store:   $DB_DESC; counters $CACHE_DESC"
  echo "load:    wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), ${DURATION} s per run after ${WARMUP} s warm-up, c=1 and c=$CONC, $WRK_THREADS wrk thread(s); everything on the same $(nproc) CPUs"
} >> "$RUN/header.txt"
printf '{"name":"idle","rss_kb":%d}\n' "${RSS_IDLE:-0}" >> "$RESULTS"

# ------------------------------------------------------------------ measurements
log "non-streaming, c=1"
measure direct-json-1 "$FAST_URL/v1/chat/completions" "$RUN/direct.json" "$UP_AUTH" 1
measure gw-json-1 "$GW/v1/chat/completions" "$RUN/gw.json" "$AUTH" 1 "$GW_PID"
log "non-streaming, c=$CONC"
measure direct-json-c "$FAST_URL/v1/chat/completions" "$RUN/direct.json" "$UP_AUTH" "$CONC"
measure gw-json-c "$GW/v1/chat/completions" "$RUN/gw.json" "$AUTH" "$CONC" "$GW_PID"
printf '{"name":"after-load","rss_kb":%d}\n' "$(status_kb "$GW_PID" VmRSS)" >> "$RESULTS"
log "streaming, c=$CONC"
measure direct-stream-c "$FAST_URL/v1/chat/completions" "$RUN/direct-stream.json" "$UP_AUTH" "$CONC"
measure gw-stream-c "$GW/v1/chat/completions" "$RUN/gw-stream.json" "$AUTH" "$CONC" "$GW_PID"

log "paced stream ($PACE_MS ms between events, $PROBE_N streams, one at a time)"
probe direct-paced "$PACED_URL/v1/chat/completions" "$RUN/direct-stream.json" "$UP_AUTH"
probe gw-paced "$GW/v1/chat/completions" "$RUN/gw-paced.json" "$AUTH"

if [ "$SLOW_STREAMS" -gt 0 ]; then
  log "$SLOW_STREAMS concurrent slow streams ($SLOW_PACE_MS ms between events)"
  sleep 1
  rss_before=$(status_kb "$GW_PID" VmRSS)
  out=$(PROBE_HEADERS=$AUTH timeout $(( SLOW_PACE_MS * 12 / 1000 + 240 )) \
    python3 "$HERE/many_streams.py" "$GW/v1/chat/completions" "$RUN/gw-slow.json" "$SLOW_STREAMS" \
    "$GW_PID" $(( SLOW_PACE_MS * 12 / 1000 + 180 )) 2> "$RUN/many.err") || true
  [ -n "$out" ] || { log "many-streams client failed: $(head -c 300 "$RUN/many.err")"; out=null; }
  sleep 1
  printf '{"name":"many","rss_before_kb":%d,"rss_after_kb":%d,"result":%s}\n' \
    "${rss_before:-0}" "$(status_kb "$GW_PID" VmRSS)" "$out" >> "$RESULTS"
  log "  $out"
fi
kill -0 "$GW_PID" 2> /dev/null || die "tollgate died during the run: $(tail -c 1500 "$RUN/tollgate.log")"

# ------------------------------------------------------------------ report
python3 - "$RESULTS" "$RUN/header.txt" "$CONC" "$PACE_MS" "$SLOW_STREAMS" "$SLOW_PACE_MS" \
  "$(getconf CLK_TCK)" <<'PY'
import json, sys

path, header, conc, pace, slow_n, slow_pace, clk = sys.argv[1:8]
conc, clk = int(conc), int(clk)
r = {}
for line in open(path):
    d = json.loads(line)
    r[d["name"]] = d

def wrk(name):
    return (r.get(name) or {}).get("wrk") or None

def ms(us, digits=3):
    return "-" if us is None else f"{us / 1000:.{digits}f}"

def added(a, b, digits=3):
    return "-" if a is None or b is None else f"{(a - b) / 1000:+.{digits}f}"

def p(name, key):
    w = wrk(name)
    return None if not w else w.get(key)

def rps(name):
    w = wrk(name)
    return None if not w or not w["duration_us"] else w["requests"] / (w["duration_us"] / 1e6)

def fmt_rps(x):
    return "-" if x is None else f"{x:,.0f}"

def errors(name):
    d, w = r.get(name) or {}, wrk(name)
    if not w:
        return "no result"
    sock = w["err_connect"] + w["err_read"] + w["err_write"] + w["err_timeout"]
    return f"{d.get('non2xx', 0)} non-2xx, {sock} socket errors"

def cpu(name):
    d, w = r.get(name) or {}, wrk(name)
    if not w or not w["requests"]:
        return "-"
    return f"{d['cpu_ticks'] / clk * 1e6 / w['requests']:.0f}"

def mb(kb):
    return "-" if not kb else f"{kb / 1024:.1f}"

rows = []
def row(metric, direct, gw, delta=""):
    rows.append((metric, direct, gw, delta))

row("non-stream c=1 p50 latency (ms)", ms(p("direct-json-1", "p50_us")), ms(p("gw-json-1", "p50_us")),
    added(p("gw-json-1", "p50_us"), p("direct-json-1", "p50_us")))
row("non-stream c=1 p99 latency (ms)", ms(p("direct-json-1", "p99_us")), ms(p("gw-json-1", "p99_us")),
    added(p("gw-json-1", "p99_us"), p("direct-json-1", "p99_us")))
row(f"non-stream c={conc} throughput (req/s)", fmt_rps(rps("direct-json-c")), fmt_rps(rps("gw-json-c")))
row(f"non-stream c={conc} p50 / p99 latency (ms)",
    f"{ms(p('direct-json-c', 'p50_us'), 2)} / {ms(p('direct-json-c', 'p99_us'), 2)}",
    f"{ms(p('gw-json-c', 'p50_us'), 2)} / {ms(p('gw-json-c', 'p99_us'), 2)}")
row(f"non-stream c={conc} errors", errors("direct-json-c"), errors("gw-json-c"))
row(f"Tollgate CPU per request, non-stream c={conc} (us)", "", cpu("gw-json-c"))
row("Tollgate RSS idle after start (MB)", "", mb(r.get("idle", {}).get("rss_kb")))
g = r.get("gw-json-c") or {}
row(f"Tollgate RSS peak during c={conc} (MB, sampled / VmHWM)", "",
    f"{mb(g.get('rss_peak_kb'))} / {mb(g.get('hwm_kb'))}")
row(f"Tollgate RSS after the c={conc} run (MB)", "", mb(r.get("after-load", {}).get("rss_kb")))
row(f"stream c={conc} throughput (streams/s)", fmt_rps(rps("direct-stream-c")), fmt_rps(rps("gw-stream-c")))
row(f"stream c={conc} p50 whole stream (ms)", ms(p("direct-stream-c", "p50_us"), 2), ms(p("gw-stream-c", "p50_us"), 2),
    added(p("gw-stream-c", "p50_us"), p("direct-stream-c", "p50_us"), 2))
row(f"stream c={conc} errors", errors("direct-stream-c"), errors("gw-stream-c"))
row(f"Tollgate CPU per stream, c={conc} (us)", "", cpu("gw-stream-c"))
dp = (r.get("direct-paced") or {}).get("probe") or {}
gp = (r.get("gw-paced") or {}).get("probe") or {}
row(f"paced stream ({pace} ms/event): time to first event p50 (ms)", ms(dp.get("ttfe_p50_us")),
    ms(gp.get("ttfe_p50_us")), added(gp.get("ttfe_p50_us"), dp.get("ttfe_p50_us")))
row("paced stream: time to first event p99 (ms)", ms(dp.get("ttfe_p99_us")), ms(gp.get("ttfe_p99_us")),
    added(gp.get("ttfe_p99_us"), dp.get("ttfe_p99_us")))
row(f"paced stream: worst gap minus {pace} ms per stream, p50 / max (ms)",
    f"{ms(dp.get('gap_over_pace_p50_us'))} / {ms(dp.get('gap_over_pace_max_us'))}",
    f"{ms(gp.get('gap_over_pace_p50_us'))} / {ms(gp.get('gap_over_pace_max_us'))}",
    added(gp.get("gap_over_pace_p50_us"), dp.get("gap_over_pace_p50_us")) + " (p50)")
row("paced stream: streams ok / errors, events per stream",
    f"{dp.get('n', '-')} / {dp.get('errors', '-')}, {dp.get('events_p50', '-')}",
    f"{gp.get('n', '-')} / {gp.get('errors', '-')}, {gp.get('events_p50', '-')}")
m = r.get("many")
if m:
    res = m.get("result") or {}
    n = int(slow_n)
    row(f"{n} slow streams ({slow_pace} ms/event): ended 200 + [DONE]", "",
        f"{res.get('ok', '-')} of {n} (statuses {res.get('statuses', {})}, max {res.get('max_open', '-')} open, "
        f"{res.get('open_when_all_started', '-')} open when the last one started)")
    per = "-"
    if res.get("rss_all_open_kb") and m.get("rss_before_kb"):
        per = f"{(res['rss_all_open_kb'] - m['rss_before_kb']) / n:.1f} kB per stream"
    row(f"Tollgate RSS with {n} streams open (MB)", "",
        f"{mb(res.get('rss_all_open_kb'))} (before {mb(m.get('rss_before_kb'))}, peak {mb(res.get('rss_peak_kb'))}, "
        f"after {mb(m.get('rss_after_kb'))})", per)

print(open(header).read().rstrip())
print()
heads = ("metric", "mock direct", "through Tollgate", "Tollgate adds")
widths = [max(len(str(x[i])) for x in rows + [heads]) for i in range(4)]
def line(cells):
    return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
print(line(heads))
print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for x in rows:
    print(line(x))
print()
print("direct = wrk/python straight to mock-upstream; through Tollgate = same requests to the gateway, which relays to that mock")
print("(auth, validation, reservation, settlement and a request-log row per request, on the store above).")
print("CPU = utime+stime of the tollgate process during the measured run / requests completed. c=1 differences under")
print("~0.1 ms are noise on a small VM; load generator, mock and gateway share the same CPUs.")
PY
