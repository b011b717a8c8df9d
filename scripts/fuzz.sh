#!/usr/bin/env bash
# Runs every fuzz target for a short while (default 30 s each): request validation, the SSE decoder, the Anthropic
# stream converter, data: URL decoding. Needs a nightly toolchain and cargo-fuzz:
#   cargo install cargo-fuzz
#   FUZZ_SECONDS=60 bash scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"
seconds="${FUZZ_SECONDS:-30}"
for target in chat_request sse_decoder anthropic_stream data_url; do
    printf '\n==== fuzz %s (%ss) ====\n' "$target" "$seconds"
    cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -rss_limit_mb=2048
done
