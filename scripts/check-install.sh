#!/usr/bin/env bash
# Standalone install check: `cargo install --path .` gives a binary that runs on its own, away from the checkout —
# the dashboard's assets and the SQL migrations are embedded, nothing is read from the repository at run time.
#
#   bash scripts/check-install.sh
#
# Installs into target/install with the debug profile, reusing target/ (fast after `cargo build`), then, from a
# temporary directory outside the repository, starts `tollgate serve` on a free port with a fresh SQLite file and
# checks: GET /healthz is 200, GET / is the dashboard's HTML, the database file was created (migrations ran), and
# SIGTERM stops it with exit status 0. Needs curl and python3 (for a free port). scripts/test.sh runs it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

cargo install --locked --debug --path . --root target/install --target-dir target
BIN="$ROOT/target/install/bin/tollgate"
"$BIN" --version

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-install-check.XXXXXX")"
case "$WORK" in
    "$ROOT"/*) echo "check-install: the temporary directory $WORK is inside the repository" >&2; exit 1 ;;
esac
PID=""
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "check-install: $*" >&2
    echo "---- tollgate serve log ----" >&2
    cat "$WORK/serve.log" >&2 || true
    exit 1
}

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
BASE="http://127.0.0.1:$PORT"
DB="$WORK/t.db"

cd "$WORK"
# A clean environment: nothing from the caller's TOLLGATE_*, DATABASE_URL or REDIS_URL, no config file.
env -i PATH="$PATH" HOME="$WORK" \
    "$BIN" serve --listen "127.0.0.1:$PORT" --database-url "sqlite://$DB" --admin-token x \
    >"$WORK/serve.log" 2>&1 &
PID=$!

healthy=0
for _ in $(seq 1 150); do
    if ! kill -0 "$PID" 2>/dev/null; then
        fail "tollgate serve exited before it was healthy"
    fi
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz" || true)" = "200" ]; then
        healthy=1
        break
    fi
    sleep 0.2
done
[ "$healthy" = 1 ] || fail "GET /healthz did not answer 200 within 30 s"
echo "GET /healthz: 200"

page="$(curl -s -w '\n%{http_code} %{content_type}' "$BASE/")" || fail "GET / failed"
status_line="$(printf '%s' "$page" | tail -n 1)"
case "$status_line" in
    "200 text/html"*) ;;
    *) fail "GET / answered '$status_line', expected 200 text/html" ;;
esac
printf '%s' "$page" | grep -q '<title>Tollgate</title>' || fail "GET / is not the dashboard page"
js_status="$(curl -s -o /dev/null -w '%{http_code}' "$BASE/assets/main.js")"
[ "$js_status" = "200" ] || fail "GET /assets/main.js answered $js_status"
echo "GET /: the embedded dashboard (and its assets)"

[ -s "$DB" ] || fail "the database file $DB was not created"

kill -TERM "$PID"
status=0
wait "$PID" || status=$?
PID=""
[ "$status" = 0 ] || fail "tollgate serve exited with status $status after SIGTERM"

# Every embedded migration applied (the binary knows them; the repository is not consulted).
expected="$(find "$ROOT/migrations/sqlite" -name '*.sql' | wc -l)"
applied="$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from _sqlx_migrations where success").fetchone()[0])' "$DB")" \
    || fail "cannot read the migrations table of $DB"
[ "$applied" = "$expected" ] || fail "$applied migrations applied, expected $expected"
echo "database created with all $applied embedded migrations: $DB"
echo "check-install: OK (installed binary serves on its own from $WORK)"
