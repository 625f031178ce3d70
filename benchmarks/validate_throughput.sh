#!/usr/bin/env bash
# Loopback throughput of POST /v1/validate on both sample stacks.
#
#   benchmarks/validate_throughput.sh
#
# Builds the stacks (make -C targets ...) and benchmarks/loadgen, starts
# each stack on a free 127.0.0.1 port with fixtures/roster.jsonl, waits
# for /health, then drives /v1/validate with a valid fill (200) and an
# invalid one (422) and writes benchmarks/results/validate_throughput.md.
#
# Environment: DURATION (default 10s), CONCURRENCY (default 32),
# MAX_REQUESTS (default 5000000), SKIP_RUST=1 to benchmark Go only.
# A stack that does not build is reported as skipped, not fatal.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-32}
MAX_REQUESTS=${MAX_REQUESTS:-5000000}
OUT="$ROOT/benchmarks/results/validate_throughput.md"
ROSTER="$ROOT/fixtures/roster.jsonl"
GO_BIN="$ROOT/targets/go-validatord/bin/validatord"
RUST_BIN="$ROOT/targets/rust-gateway/target/release/gateway"

WORK=$(mktemp -d)
PIDS=()

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
		fi
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { printf 'validate_throughput: %s\n' "$*" >&2; }

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# --- build ------------------------------------------------------------------
STACKS=()
SKIPPED=()

log "building go-validatord"
if make -s -C "$ROOT/targets" go >"$WORK/build-go.log" 2>&1 && [[ -x "$GO_BIN" ]]; then
	STACKS+=("go-validatord:$GO_BIN")
else
	cat "$WORK/build-go.log" >&2
	SKIPPED+=("go-validatord (build failed)")
fi

if [[ "${SKIP_RUST:-}" == 1 ]]; then
	SKIPPED+=("rust-gateway (SKIP_RUST=1)")
else
	log "building rust-gateway"
	if make -s -C "$ROOT/targets" rust >"$WORK/build-rust.log" 2>&1 && [[ -x "$RUST_BIN" ]]; then
		STACKS+=("rust-gateway:$RUST_BIN")
	else
		tail -n 20 "$WORK/build-rust.log" >&2 || true
		SKIPPED+=("rust-gateway (not built)")
	fi
fi

log "building loadgen"
(cd "$ROOT/benchmarks/loadgen" && go build -trimpath -o "$WORK/loadgen" .)

# --- request bodies -----------------------------------------------------------
cat >"$WORK/valid.json" <<'EOF'
{"kind": "fill", "artifact": {"fills": [{"candidate_id": "W-2"}, {"candidate_id": "W-3"}]}, "context": {"target_count": 2, "city": "Toledo", "state": "OH", "role": "Welder"}}
EOF
# W-1 lives in Louisville: the seed's consistency error, a 422.
cat >"$WORK/invalid.json" <<'EOF'
{"kind": "fill", "artifact": {"fills": [{"candidate_id": "W-1"}, {"candidate_id": "W-3"}]}, "context": {"target_count": 2, "city": "Toledo", "state": "OH", "role": "Welder"}}
EOF

# --- run ----------------------------------------------------------------------
wait_healthy() {
	local port=$1 pid=$2 i
	for i in $(seq 1 100); do
		if ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		if curl -fsS --max-time 1 "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

RESULTS=()
for entry in "${STACKS[@]}"; do
	name=${entry%%:*}
	bin=${entry#*:}
	port=$(free_port)
	log "starting $name on 127.0.0.1:$port"
	"$bin" --roster "$ROSTER" --port "$port" >"$WORK/$name.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	if ! wait_healthy "$port" "$pid"; then
		cat "$WORK/$name.log" >&2
		SKIPPED+=("$name (did not become healthy)")
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		continue
	fi
	for case in valid invalid; do
		log "$name: $case fill, c=$CONCURRENCY, d=$DURATION"
		# In the background so that a signal reaches the trap at once.
		"$WORK/loadgen" -url "http://127.0.0.1:$port/v1/validate" -body "$WORK/$case.json" \
			-c "$CONCURRENCY" -d "$DURATION" -n "$MAX_REQUESTS" >"$WORK/$name-$case.json" &
		PIDS+=("$!")
		wait "$!"
		RESULTS+=("$name $case $WORK/$name-$case.json")
	done
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
done

# --- report -------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
{
	echo "# /v1/validate loopback throughput"
	echo
	echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//' || echo unknown)), $(uname -sr)"
	echo "- toolchains: $(go version | cut -d' ' -f3-), $(rustc --version 2>/dev/null || echo 'rustc n/a')"
	echo "- load: benchmarks/loadgen, $CONCURRENCY connections, $DURATION per case, keep-alive, on the same machine as the server"
	echo "- bodies: valid = 2 Toledo welders (200); invalid = W-1 from Louisville (422 consistency)"
	echo
	echo "| stack | case | requests | errors | status counts | req/s | p50 ms | p99 ms | max ms |"
	echo "|---|---|---:|---:|---|---:|---:|---:|---:|"
	for r in "${RESULTS[@]}"; do
		read -r name case file <<<"$r"
		jq -r --arg name "$name" --arg case "$case" \
			'"| \($name) | \($case) | \(.requests) | \(.errors) | \(.status | to_entries | map("\(.key): \(.value)") | join(", ")) | \(.rps) | \(.p50_ms) | \(.p99_ms) | \(.max_ms) |"' \
			"$file"
	done
	if ((${#SKIPPED[@]})); then
		echo
		for s in "${SKIPPED[@]}"; do
			echo "- skipped: $s"
		done
	fi
	echo
	echo "Client and server share the CPUs, so these numbers compare the stacks on one box; they are not capacity figures."
} >"$OUT"

log "wrote $OUT"
cat "$OUT"
