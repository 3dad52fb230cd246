#!/usr/bin/env bash
# Benchmarks Lockstream on this machine, on loopback only:
#
#  1. the Go micro-benchmarks of the packager and the origin (go test
#     -bench, short -benchtime), and the single-core AES-128-CBC reference;
#  2. a side-by-side load test: `lockstream serve` with the sample asset
#     against nginx serving the very same segment bytes as static files,
#     each hit by `wrk -t1 -c32 -d10s --latency` on one segment URL, the
#     two alternating, twice each, for every format;
#  3. lockstream-bench with 200 virtual players on the encrypted HLS
#     stream, for p99 latency under load and the server's peak RSS;
#  4. with BENCH_ASSETS set, the server's peak RSS while it serves that
#     many published assets.
#
# `make bench` runs this script. Everything it starts is stopped on exit,
# and its files go to a temporary folder that is removed unless
# BENCH_KEEP=1. docs/benchmarks.md explains the method and the results.
#
# Environment:
#   BENCH_GO_BENCHTIME  -benchtime of the Go benchmarks (default 200ms)
#   BENCH_SKIP_GO=1     skip the Go benchmarks
#   BENCH_DURATION      duration of each wrk run (default 10s)
#   BENCH_CONNECTIONS   wrk connections (default 32)
#   BENCH_ROUNDS        alternating wrk rounds per server and format (default 2)
#   BENCH_CLIENTS       lockstream-bench virtual clients (default 200)
#   BENCH_PACE          playback speed of the paced load test, a multiple
#                       of real time (default 4)
#   BENCH_BUFFER        segments each paced client fetches before pacing
#                       starts (default 3)
#   BENCH_ASSETS        publish this many assets (links to the sample's
#                       files) and measure RSS under load over ten of them
#                       (default 0: skipped)
#   BENCH_LOCKSTREAM_BIN use this lockstream binary instead of building
#                       one, to compare builds in one session
#   BENCH_STATIC_ONLY=1 skip Lockstream and run only nginx and wrk on a
#                       stand-in file, to check those parts of the script
#   BENCH_KEEP=1        keep the temporary folder (logs, segments, wrk output)
set -euo pipefail

cd "$(dirname "$0")/.."

go_benchtime=${BENCH_GO_BENCHTIME:-200ms}
duration=${BENCH_DURATION:-10s}
connections=${BENCH_CONNECTIONS:-32}
rounds=${BENCH_ROUNDS:-2}
clients=${BENCH_CLIENTS:-200}
pace=${BENCH_PACE:-4}
buffer=${BENCH_BUFFER:-3}
assets=${BENCH_ASSETS:-0}
policy_file=testdata/policies/sample-token-policy.json
policy_name=sample-token-policy

say() { printf '\n== %s\n' "$*"; }
note() { printf 'bench: %s\n' "$*" >&2; }
fail() {
	printf 'bench: %s\n' "$*" >&2
	exit 1
}

# status collects the outcome of each part for the exit code: any part
# that failed makes the script exit 1 after the others have run.
status=0
part_failed() {
	note "$*"
	status=1
}

# ---------------------------------------------------------------- tools

# install_packages installs Debian packages when running as root, and
# otherwise exits with the apt-get command to run.
install_packages() {
	if [ "$(id -u)" != 0 ]; then
		fail "missing $*: run 'sudo apt-get install $*' (Debian) and retry"
	fi
	note "installing $* with apt-get"
	# The packages' maintainer scripts must not start a system nginx on
	# port 80: policy-rc.d exit code 101 forbids service starts.
	local policy_rc=/usr/sbin/policy-rc.d created_policy=no
	if [ ! -e "$policy_rc" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy_rc"
		chmod 755 "$policy_rc"
		created_policy=yes
	fi
	local rc=0
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } || rc=$?
	[ "$created_policy" = yes ] && rm -f "$policy_rc"
	[ "$rc" = 0 ] || fail "apt-get install $* failed"
}

require_tools() {
	command -v go >/dev/null || fail "go is required: see the README for the Go version"
	command -v curl >/dev/null || install_packages curl
	if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
		if ! apt-cache show nginx-light >/dev/null 2>&1; then
			install_packages nginx
		else
			install_packages nginx-light
		fi
	fi
	command -v wrk >/dev/null || install_packages wrk
	nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
}

# ---------------------------------------------------------------- cleanup

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lockstream-bench.XXXXXX")
server_pid=
nginx_pid=

stop_pid() {
	local pid=$1
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		# Bounded wait: a server that ignores TERM gets KILL after 10 s.
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
}

cleanup() {
	stop_pid "$server_pid"
	stop_pid "$nginx_pid"
	if [ "${BENCH_KEEP:-}" = 1 ]; then
		note "kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers

# free_port prints a loopback TCP port that nothing listens on.
free_port() {
	local port
	for _ in $(seq 1 50); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	fail "found no free loopback port"
}

# wait_http waits up to 10 s for a 2xx response from URL while process
# PID is alive.
wait_http() {
	local url=$1 pid=$2 what=$3
	for _ in $(seq 1 100); do
		if curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	note "$what did not answer $url within 10 s"
	return 1
}

# run_wrk runs wrk on URL and prints "MB/s p99_ms requests_per_s non2xx",
# with MB/s computed from the segment size (1 MB = 10^6 bytes of body).
run_wrk() {
	local url=$1 size=$2 out=$3
	# timeout bounds a wrk that hangs on a server that stopped responding.
	if ! timeout --kill-after=5s 120s wrk -t1 -c"$connections" -d"$duration" --latency "$url" >"$out" 2>&1; then
		note "wrk failed on $url:"
		cat "$out" >&2
		return 1
	fi
	parse_wrk "$out" "$size"
}

# cpu_ticks prints the user plus system CPU time of process PID in clock
# ticks: fields 14 and 15 of /proc/PID/stat. The command name in field 2
# of lockstream has no spaces, so awk's fields line up.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# parse_wrk reads wrk --latency output and prints "MB/s p99_ms req/s
# failures", where failures counts non-2xx responses and socket errors.
parse_wrk() {
	awk -v size="$2" '
		function ms(v) {
			if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
			if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
			if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
			return -1
		}
		$1 == "99%" { p99 = ms($2) }
		$1 == "Requests/sec:" { rps = $2 }
		/Non-2xx or 3xx responses:/ { bad = $NF }
		/Socket errors:/ { for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) bad += $i + 0 }
		END {
			if (rps == "") exit 1
			printf "%.1f %.2f %.1f %d\n", rps * size / 1e6, p99, rps, bad
		}' "$1"
}

# ---------------------------------------------------------------- parts

run_go_benchmarks() {
	say "Go micro-benchmarks of the packager and the origin's request path (-benchtime $go_benchtime)"
	if ! timeout 300s go test -run '^$' -bench . -benchmem -benchtime "$go_benchtime" -count 1 ./packager/... ./origin \
		2>&1 | tee "$tmp/go-bench.txt"; then
		part_failed "the Go benchmarks failed or did not build (output above)"
	fi
}

build_binaries() {
	say "building lockstream and lockstream-bench"
	mkdir -p "$tmp/bin"
	if ! CGO_ENABLED=0 go build -o "$tmp/bin/lockstream-bench" ./cmd/lockstream-bench; then
		fail "cmd/lockstream-bench does not build"
	fi
	if [ -n "${BENCH_LOCKSTREAM_BIN:-}" ]; then
		cp "$BENCH_LOCKSTREAM_BIN" "$tmp/bin/lockstream" || fail "cannot copy $BENCH_LOCKSTREAM_BIN"
		note "using $BENCH_LOCKSTREAM_BIN instead of building cmd/lockstream"
	elif ! CGO_ENABLED=0 go build -o "$tmp/bin/lockstream" ./cmd/lockstream; then
		part_failed "cmd/lockstream does not build: skipping every Lockstream measurement"
		return 1
	fi
}

# start_lockstream starts the server with the media root MEDIA (default
# testdata/media) and a fresh data folder, and sets server, server_pid and
# LOCKSTREAM_ADMIN_TOKEN.
start_lockstream() {
	local media=${1:-testdata/media} port
	port=$(free_port)
	server="http://127.0.0.1:$port"
	LOCKSTREAM_ADMIN_TOKEN=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
	export LOCKSTREAM_ADMIN_TOKEN LOCKSTREAM_SERVER="$server"
	unset LOCKSTREAM_MASTER_KEY

	say "starting lockstream serve on 127.0.0.1:$port"
	# Warn level: the origin logs every request at info, which nginx's
	# side of the comparison does not do either (access_log off).
	"$tmp/bin/lockstream" serve --listen "127.0.0.1:$port" --media "$media" --data "$tmp/data-$port" \
		--log-level warn --log-format text >"$tmp/lockstream.log" 2>&1 &
	server_pid=$!
	if ! wait_http "$server/readyz" "$server_pid" "lockstream"; then
		tail -n 20 "$tmp/lockstream.log" >&2 || true
		part_failed "lockstream serve did not start (its log is above): skipping every Lockstream measurement"
		return 1
	fi
}

# publish NAME POLICY [CONTENT_KEY_POLICY] prints the manifest URLs of a
# new locator for the asset named by $asset (default sample), one per
# line.
publish() {
	local args=(publish --asset "${asset:-sample}" --name "$1" --streaming-policy "$2" --json)
	[ -n "${3:-}" ] && args+=(--content-key-policy "$3")
	"$tmp/bin/lockstream" "${args[@]}" >"$tmp/publish-$1.json" || return 1
	grep -o '"http://[^"]*manifest[^"]*"' "$tmp/publish-$1.json" | tr -d '"'
}

# manifest_url FORMAT < URLS prints the URL with format=FORMAT.
manifest_url() {
	grep -F "format=$1" | grep -vF "format=$1-" | head -n 1 || true
}

# create_policy creates the content key policy the encrypted locator
# needs; it returns 1 when the server has no API for it yet.
create_policy() {
	if [ ! -f "$policy_file" ]; then
		note "$policy_file is missing: skipping the encrypted formats"
		return 1
	fi
	local code
	code=$(curl -sS -o "$tmp/policy-response.json" -w '%{http_code}' --max-time 10 \
		-X PUT -H "Authorization: Bearer $LOCKSTREAM_ADMIN_TOKEN" -H 'Content-Type: application/json' \
		--data-binary "@$policy_file" "$server/api/v1/contentKeyPolicies/$policy_name") || code=000
	case $code in
	2??) return 0 ;;
	404 | 405) note "this server has no content key policy API yet (HTTP $code): skipping the encrypted formats" ;;
	*) note "creating content key policy $policy_name failed with HTTP $code: skipping the encrypted formats" ;;
	esac
	return 1
}

# pick_segment MANIFEST_URL prints the URL of the middle media segment of
# the highest rendition.
pick_segment() {
	local list
	list=$("$tmp/bin/lockstream-bench" -list -url "$1" -rendition highest -d 30s 2>"$tmp/list.err") || {
		cat "$tmp/list.err" >&2
		return 1
	}
	printf '%s\n' "$list" | awk '$1 == "segment" { urls[n++] = $2 } END { if (n == 0) exit 1; print urls[int((n - 1) / 2)] }'
}

# add_row LABEL MANIFEST_URL EXT fetches the middle segment of the
# highest rendition into the static folder and records the row.
add_row() {
	local label=$1 manifest=$2 ext=$3 segment file
	if [ -z "$manifest" ]; then
		part_failed "$label: the locator has no such manifest URL"
		return 0
	fi
	if ! segment=$(pick_segment "$manifest"); then
		part_failed "$label: could not read a segment URL from $manifest"
		return 0
	fi
	file="row${#row_labels[@]}.$ext"
	if ! curl -fsS --max-time 30 -o "$static/$file" "$segment"; then
		part_failed "$label: fetching $segment failed"
		return 0
	fi
	# Encryption must be deterministic: a second request gives the same bytes.
	if ! curl -fsS --max-time 30 "$segment" | cmp -s - "$static/$file"; then
		note "$label: two requests for $segment gave different bytes"
	fi
	row_labels+=("$label")
	row_lockstream+=("$segment")
	row_files+=("$file")
}

start_nginx() {
	local port prefix=$tmp/nginx
	port=$(free_port)
	mkdir -p "$prefix/tmp"
	sed -e "s|@PREFIX@|$prefix|g" -e "s|@ROOT@|$static|g" -e "s|@PORT@|$port|g" \
		scripts/nginx-bench.conf >"$prefix/nginx.conf"
	# nginx's workers run as an unprivileged user when started by root:
	# they need to read the segment folder.
	chmod 755 "$tmp" "$static"
	chmod 644 "$static"/*

	say "starting nginx on 127.0.0.1:$port ($("$nginx_bin" -v 2>&1))"
	"$nginx_bin" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" -g 'daemon off;' &
	nginx_pid=$!
	nginx_base="http://127.0.0.1:$port"
	if ! wait_http "$nginx_base/${row_files[0]}" "$nginx_pid" "nginx"; then
		cat "$prefix/error.log" >&2 2>/dev/null || true
		fail "nginx did not start (its error log is above)"
	fi
}

warm_up() {
	say "warming the page cache and both servers"
	cat "$static"/* >/dev/null
	local i
	for i in "${!row_files[@]}"; do
		curl -fsS --max-time 30 -o /dev/null "$nginx_base/${row_files[$i]}" || true
		curl -fsS --max-time 30 -o /dev/null "${row_lockstream[$i]}" || true
	done
}

# compare runs wrk against nginx and Lockstream in turn for every row and
# prints the table. For Lockstream it also records the CPU time the server
# used during each run: "cores" is that time over the run's wall time,
# and "MB/s per core" the throughput divided by it.
compare() {
	say "wrk -t1 -c$connections -d$duration --latency, $rounds rounds, nginx and lockstream alternating"
	local table="$tmp/results.txt" hz
	hz=$(getconf CLK_TCK)
	printf '%-22s %10s %15s %13s %11s %9s %6s %6s %14s\n' format segment "lockstream MB/s" "lockstream p99" "nginx MB/s" "nginx p99" ratio cores "MB/s per core" >"$table"

	local i r size ls_sum ng_sum ls_p99 ng_p99 ls_cores out mbs p99 rps bad t0 t1 c0 c1 cores
	for i in "${!row_labels[@]}"; do
		size=$(stat -c %s "$static/${row_files[$i]}")
		ls_sum=0 ng_sum=0 ls_p99=0 ng_p99=0 ls_cores=0
		for r in $(seq 1 "$rounds"); do
			for side in nginx lockstream; do
				local url="$nginx_base/${row_files[$i]}"
				[ "$side" = lockstream ] && url=${row_lockstream[$i]}
				out="$tmp/wrk-$i-$r-$side.txt"
				t0=$(date +%s.%N) c0=$(cpu_ticks "$server_pid")
				if ! read -r mbs p99 rps bad < <(run_wrk "$url" "$size" "$out"); then
					part_failed "${row_labels[$i]}: wrk against $side failed"
					continue 3
				fi
				t1=$(date +%s.%N) c1=$(cpu_ticks "$server_pid")
				cores=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.2f", c / hz / (t1 - t0) }')
				printf '  %-20s round %d %-10s %9.1f MB/s  p99 %7.2f ms  %8.1f req/s' \
					"${row_labels[$i]}" "$r" "$side" "$mbs" "$p99" "$rps"
				[ "$side" = lockstream ] && printf '  server %s cores' "$cores"
				printf '\n'
				if [ "$bad" -gt 0 ]; then
					part_failed "${row_labels[$i]}: $side answered $bad requests with a status outside 2xx (see $out)"
				fi
				if [ "$side" = nginx ]; then
					ng_sum=$(awk -v a="$ng_sum" -v b="$mbs" 'BEGIN { print a + b }')
					ng_p99=$(awk -v a="$ng_p99" -v b="$p99" 'BEGIN { print (b > a) ? b : a }')
				else
					ls_sum=$(awk -v a="$ls_sum" -v b="$mbs" 'BEGIN { print a + b }')
					ls_p99=$(awk -v a="$ls_p99" -v b="$p99" 'BEGIN { print (b > a) ? b : a }')
					ls_cores=$(awk -v a="$ls_cores" -v b="$cores" 'BEGIN { print a + b }')
				fi
			done
		done
		awk -v label="${row_labels[$i]}" -v size="$size" -v ls="$ls_sum" -v ng="$ng_sum" \
			-v lp="$ls_p99" -v np="$ng_p99" -v n="$rounds" -v lc="$ls_cores" 'BEGIN {
				printf "%-22s %7.2f MB %15.1f %10.2f ms %11.1f %6.2f ms %6.2f %6.2f %14.1f\n",
					label, size / 1e6, ls / n, lp, ng / n, np, (ng > 0) ? ls / ng : 0, lc / n, (lc > 0) ? ls / lc : 0
			}' >>"$table"
	done

	say "results (MB/s: mean of $rounds rounds, body bytes, 1 MB = 10^6 bytes; p99: worst round; cores: server CPU time over wall time)"
	cat "$table"
	if [ -n "${cbc_mbs:-}" ]; then
		note "AES-128-CBC on one core (BenchmarkEncryptCBC): $cbc_mbs MB/s; compare the AES-128 rows' MB/s per core with it"
	fi
}

# measure_cbc runs the single-core AES-128-CBC benchmark that bounds the
# HLS AES-128 rows and sets cbc_mbs.
measure_cbc() {
	say "single-core AES-128-CBC reference (BenchmarkEncryptCBC, 1 s)"
	cbc_mbs=$(timeout 120s go test -run '^$' -bench 'BenchmarkEncryptCBC$' -benchtime 1s -count 1 ./packager/cbc 2>&1 |
		awk '$1 ~ /^BenchmarkEncryptCBC/ { for (i = 1; i < NF; i++) if ($(i + 1) == "MB/s") print $i }') || true
	[ -n "$cbc_mbs" ] && note "AES-128-CBC: $cbc_mbs MB/s on one core" || note "the CBC reference benchmark failed"
}

# load_test runs lockstream-bench with many players against MANIFEST
# twice. The unpaced run measures throughput: each client requests the
# next segment as soon as one arrives, so every client always has a
# request queued. The paced run plays at $pace times real time after a
# $buffer-segment burst, as players with a full buffer do, and measures
# the latency those players get. It prints both segment p99s.
load_test() {
	local manifest=$1 token=$2 mode out p99 p99s=()
	for mode in unpaced paced; do
		local args=(-url "$manifest" -c "$clients" -d "$duration" -n 10000000 -rendition highest -pid "$server_pid")
		local how=unpaced
		if [ "$mode" = paced ]; then
			args+=(-pace "$pace" -buffer "$buffer")
			how="paced: -pace $pace -buffer $buffer"
		fi
		say "lockstream-bench -c $clients -d $duration ($how) on $manifest"
		out=$tmp/load-$mode.txt
		if ! LOCKSTREAM_BENCH_TOKEN=$token timeout 120s "$tmp/bin/lockstream-bench" "${args[@]}" \
			>"$out" 2>"$tmp/load-progress-$mode.txt"; then
			cat "$out" || true
			tail -n 5 "$tmp/load-progress-$mode.txt" >&2 || true
			part_failed "lockstream-bench ($mode) failed against $manifest"
			continue
		fi
		cat "$out"
		p99=$(awk '/2xx media segments/ { for (i = 1; i < NF; i++) if ($i == "p99") print $(i + 1) }' "$out")
		p99s+=("$mode ${p99:-?} ms")
	done
	if [ "${#p99s[@]}" -gt 0 ]; then
		note "media segment p99 with $clients clients: ${p99s[*]} (paced: $pace x real time after $buffer segments)"
	fi
}

# many_assets publishes $assets assets made of symbolic links to the
# sample's files and requests a manifest and a segment of each, so the
# server keeps all of them in memory. Then it runs one lockstream-bench
# process on each of ten of them at once, $clients clients in all, and
# reports the server's peak RSS. It runs its own server on its own media
# root.
many_assets() {
	local media=$tmp/media-many n
	say "publishing $assets assets (symbolic links to testdata/media/sample)"
	mkdir -p "$media/sample"
	cp testdata/media/sample/* "$media/sample/"
	for n in $(seq -w 1 "$assets"); do
		mkdir "$media/a$n"
		for f in "$media"/sample/*; do
			ln -s "../sample/${f##*/}" "$media/a$n/${f##*/}"
		done
	done

	stop_pid "$server_pid"
	start_lockstream "$media" || return 0
	local manifests=() url segment
	for n in $(seq -w 1 "$assets"); do
		if ! url=$(asset="a$n" publish "many-$n" Predefined_ClearStreamingOnly | manifest_url m3u8-aapl) || [ -z "$url" ]; then
			part_failed "publishing asset a$n failed"
			return 0
		fi
		manifests+=("$url")
	done

	say "requesting a manifest and a segment of each of the $assets assets"
	for url in "${manifests[@]}"; do
		segment=$(pick_segment "$url") && curl -fsS --max-time 30 -o /dev/null "$segment" ||
			part_failed "fetching a segment of $url failed"
	done
	note "server RSS after touching every asset: $(awk '/^VmRSS/ { print $2 / 1000 " MB" }' "/proc/$server_pid/status")"

	say "lockstream-bench on 10 of the $assets assets at once, $((clients / 10)) clients each, $duration"
	local pids=() i step=$((assets / 10))
	[ "$step" -ge 1 ] || step=1
	for i in $(seq 0 9); do
		url=${manifests[$((i * step % assets))]}
		timeout 120s "$tmp/bin/lockstream-bench" -url "$url" -c "$((clients / 10))" -d "$duration" -n 10000000 \
			-rendition highest -pid "$server_pid" -json >"$tmp/many-$i.json" 2>/dev/null &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || part_failed "lockstream-bench process $i failed (see $tmp/many-$i.json)"
	done
	# peakRssBytes is each process's sample of the one server; the
	# largest of the ten is the server's peak.
	cat "$tmp"/many-*.json | tr ',{}' '\n\n\n' | awk -F: -v n="$assets" '
		$1 ~ /"peakRssBytes"/ { if ($2 + 0 > peak) peak = $2 + 0 }
		$1 ~ /"segmentsPerSecond"/ { sps += $2 }
		END { printf "%d published assets: %.0f segments/s over 10 of them, server peak RSS %.1f MB\n", n, sps, peak / 1e6 }'
}

# ---------------------------------------------------------------- main

require_tools
static=$tmp/static
mkdir -p "$static"
row_labels=()
row_lockstream=()
row_files=()

say "machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/^MemTotal/ { printf "%.1f GB", $2 / 1e6 }' /proc/meminfo); $(go version)"

if [ "${BENCH_STATIC_ONLY:-}" = 1 ]; then
	# A stand-in for a segment: the bytes of the highest sample rendition.
	cp testdata/media/sample/video_854x480_700k.mp4 "$static/standin.mp4"
	row_files=(standin.mp4)
	start_nginx
	say "nginx and wrk only, on $static/standin.mp4"
	size=$(stat -c %s "$static/standin.mp4")
	read -r mbs p99 rps bad < <(run_wrk "$nginx_base/standin.mp4" "$size" "$tmp/wrk-static.txt") ||
		fail "wrk against nginx failed"
	printf 'nginx static: %.2f MB file, %s MB/s, p99 %s ms, %s req/s, %s non-2xx\n' \
		"$(awk -v s="$size" 'BEGIN { print s / 1e6 }')" "$mbs" "$p99" "$rps" "$bad"
	[ "$bad" = 0 ] || fail "nginx answered $bad requests with a status outside 2xx"
	exit 0
fi

[ "${BENCH_SKIP_GO:-}" = 1 ] || run_go_benchmarks
measure_cbc

if build_binaries && start_lockstream; then
	say "publishing the sample asset"
	clear_urls=$(publish bench-clear Predefined_ClearStreamingOnly) ||
		part_failed "publishing the clear locator failed"
	encrypted_urls=
	if create_policy; then
		encrypted_urls=$(publish bench-aes Predefined_ClearKey "$policy_name") ||
			part_failed "publishing the encrypted locator failed"
	fi

	say "fetching one segment per format (middle segment of the highest rendition)"
	if [ -n "$clear_urls" ]; then
		add_row "HLS TS clear" "$(manifest_url m3u8-aapl <<<"$clear_urls")" ts
		add_row "DASH CMAF clear" "$(manifest_url mpd-time-cmaf <<<"$clear_urls")" m4s
	fi
	if [ -n "$encrypted_urls" ]; then
		add_row "HLS TS AES-128" "$(manifest_url m3u8-aapl <<<"$encrypted_urls")" ts
		add_row "HLS fMP4 AES-128" "$(manifest_url m3u8-cmaf <<<"$encrypted_urls")" m4s
		add_row "DASH CENC" "$(manifest_url mpd-time-cmaf <<<"$encrypted_urls")" m4s
	fi

	if [ "${#row_files[@]}" -gt 0 ]; then
		start_nginx
		warm_up
		compare
	else
		part_failed "no segment could be fetched from lockstream: nothing to compare"
	fi

	token=
	load_manifest=$(manifest_url m3u8-aapl <<<"$encrypted_urls")
	if [ -n "$load_manifest" ]; then
		token=$("$tmp/bin/lockstream" token --locator bench-aes --ttl 1h 2>"$tmp/token.err" | head -n 1) || true
		[ -n "$token" ] || note "no test token ($(head -c 200 "$tmp/token.err")): key requests will count as 401 errors"
	else
		load_manifest=$(manifest_url m3u8-aapl <<<"$clear_urls")
		[ -z "$load_manifest" ] || note "no encrypted locator: the load test plays the clear HLS stream"
	fi
	if [ -n "$load_manifest" ]; then
		load_test "$load_manifest" "$token"
	fi
	if [ "$assets" -gt 0 ]; then
		many_assets
	fi
fi

exit "$status"
