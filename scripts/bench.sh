#!/usr/bin/env bash
# Benchmarks Lockstream on this machine, on loopback only:
#
#  1. the Go micro-benchmarks of the packager and the origin (go test
#     -bench, short -benchtime), and the single-core AES-128-CBC reference;
#  2. a side-by-side load test: `lockstream serve` with the sample asset
#     against nginx serving the very same segment bytes as static files,
#     each hit by `wrk -t1 -c32 -d10s --latency` on one segment URL, the
#     two alternating, twice each, for every format; with BENCH_CACHE_MIB
#     above 0, a second server with --segment-cache-mib takes a third turn
#     in each round;
#  3. lockstream-bench with 200 virtual players on the encrypted HLS
#     stream: unpaced for throughput and the server's peak RSS, then paced
#     like players that join over a ramp, for the steady-state segment
#     latency after a warmup;
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
#   BENCH_DURATION      duration of each wrk run and of the unpaced
#                       lockstream-bench run (default 10s)
#   BENCH_CONNECTIONS   wrk connections (default 32)
#   BENCH_ROUNDS        alternating wrk rounds per server and format (default 2)
#   BENCH_CACHE_MIB     --segment-cache-mib of the second server for the
#                       cached wrk rows (default 256; 0 skips them)
#   BENCH_CLIENTS       lockstream-bench virtual clients (default 200)
#   BENCH_PACE          playback speed of the paced load test, a multiple
#                       of real time (default 1)
#   BENCH_BUFFER        segments each paced client fetches before pacing
#                       starts (default 3)
#   BENCH_RAMP          time over which the paced clients start (default 10s)
#   BENCH_WARMUP        first part of the paced run whose requests stay out
#                       of its latency figures (default 15s)
#   BENCH_PACED_DURATION duration of the paced run (default 45s)
#   BENCH_ASSETS        publish this many assets (links to the sample's
#                       files) and measure RSS under load over ten of them
#                       (default 0: skipped)
#   BENCH_MEMORY_LIMIT_MIB with BENCH_ASSETS, run the many-assets part a
#                       second time with --memory-limit-mib set to this
#                       (default 128; 0 skips the second run)
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
cache_mib=${BENCH_CACHE_MIB:-256}
clients=${BENCH_CLIENTS:-200}
pace=${BENCH_PACE:-1}
buffer=${BENCH_BUFFER:-3}
ramp=${BENCH_RAMP:-10s}
warmup=${BENCH_WARMUP:-15s}
paced_duration=${BENCH_PACED_DURATION:-45s}
assets=${BENCH_ASSETS:-0}
memory_limit_mib=${BENCH_MEMORY_LIMIT_MIB:-128}
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
# Base URLs and process IDs of the servers this script starts. cleanup
# stops each process that is set.
server=
server_pid=
cached_server=
cached_pid=
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
	stop_pid "$cached_pid"
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

# free_port prints a loopback TCP port that nothing listens on. It picks
# below Linux's default ephemeral range (32768 to 60999), so outgoing
# connections of other programs do not take the port before the server
# binds it.
free_port() {
	local port
	for _ in $(seq 1 50); do
		port=$((20000 + RANDOM % 12000))
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

# seconds_of DURATION prints a Go duration such as 45s, 1m30s or 500ms in
# whole seconds, rounded up. It returns 1 when DURATION is not one.
seconds_of() {
	awk -v d="$1" 'BEGIN {
		if (d == "0") { print 0; exit 0 }
		if (d == "") exit 1
		split("h m s ms us ns", units, " ")
		split("3600 60 1 0.001 0.000001 0.000000001", factors, " ")
		for (i = 1; i <= 6; i++) factor[units[i]] = factors[i]
		rest = d
		while (rest != "") {
			# POSIX awk regexes match the longest alternative: "ms", not "m".
			if (!match(rest, /^[0-9]+(\.[0-9]+)?(h|ms|us|ns|m|s)/)) exit 1
			part = substr(rest, 1, RLENGTH)
			rest = substr(rest, RLENGTH + 1)
			match(part, /[a-z]+$/)
			total += substr(part, 1, RSTART - 1) * factor[substr(part, RSTART)]
		}
		printf "%d\n", (total == int(total)) ? total : int(total) + 1
	}'
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

# launch_lockstream URL_VAR PID_VAR LOG MEDIA [FLAG...] starts `lockstream
# serve` on a free loopback port with the media root MEDIA, a fresh data
# folder and the extra flags, writing its output to LOG. It stores the
# base URL and the process ID in the variables named URL_VAR and PID_VAR
# before it waits for the server, so that cleanup can stop it when PID_VAR
# is server_pid or cached_pid. It returns 1 when the server does not
# become ready.
launch_lockstream() {
	local url_var=$1 pid_var=$2 log=$3 media=$4 port
	shift 4
	port=$(free_port)
	printf -v "$url_var" '%s' "http://127.0.0.1:$port"

	say "starting lockstream serve on 127.0.0.1:$port${*:+ with $*}"
	# Warn level: the origin logs every request at info, which nginx's
	# side of the comparison does not do either (access_log off).
	"$tmp/bin/lockstream" serve --listen "127.0.0.1:$port" --media "$media" --data "$tmp/data-$port" \
		--log-level warn --log-format text "$@" >"$log" 2>&1 &
	local pid=$!
	printf -v "$pid_var" '%s' "$pid"
	wait_http "http://127.0.0.1:$port/readyz" "$pid" "lockstream"
}

# start_lockstream [MEDIA [FLAGS...]] starts the server measured against
# nginx, with the media root MEDIA (default testdata/media) and extra
# serve flags, and sets server, server_pid and LOCKSTREAM_SERVER for the
# lockstream commands.
start_lockstream() {
	if ! launch_lockstream server server_pid "$tmp/lockstream.log" "${1:-testdata/media}" "${@:2}"; then
		tail -n 20 "$tmp/lockstream.log" >&2 || true
		part_failed "lockstream serve did not start (its log is above): skipping every Lockstream measurement"
		return 1
	fi
	export LOCKSTREAM_SERVER="$server"
}

# start_cached_server starts a second server with --segment-cache-mib
# $cache_mib and sets cached_server and cached_pid, or sets cache_note
# and returns 1. A server that rejects the flag is no failure: that build
# has no segment cache.
start_cached_server() {
	cache_note=
	if [ "$cache_mib" = 0 ]; then
		cache_note="skipped: BENCH_CACHE_MIB=0"
		return 1
	fi
	local log=$tmp/lockstream-cached.log
	if launch_lockstream cached_server cached_pid "$log" testdata/media --segment-cache-mib "$cache_mib"; then
		return 0
	fi

	stop_pid "$cached_pid"
	cached_pid=
	if grep -q 'not defined: -*segment-cache-mib' "$log"; then
		cache_note="skipped: server has no --segment-cache-mib"
		note "$cache_note"
	else
		tail -n 20 "$log" >&2 || true
		cache_note="failed: the server with --segment-cache-mib $cache_mib did not start"
		part_failed "$cache_note (its log is above)"
	fi
	return 1
}

# publish SERVER NAME POLICY [CONTENT_KEY_POLICY] prints the manifest
# URLs of a new locator on SERVER for the asset named by $asset (default
# sample), one per line.
publish() {
	local base=$1 name=$2 out
	local args=(publish --asset "${asset:-sample}" --name "$name" --streaming-policy "$3" --json)
	[ -n "${4:-}" ] && args+=(--content-key-policy "$4")
	out="$tmp/publish-${base##*:}-$name.json"
	LOCKSTREAM_SERVER=$base "$tmp/bin/lockstream" "${args[@]}" >"$out" || return 1
	grep -o '"http://[^"]*manifest[^"]*"' "$out" | tr -d '"'
}

# publish_sample SERVER PREFIX publishes the sample asset on SERVER: a
# clear locator and, when the content key policy can be created, an
# encrypted one. It writes their manifest URLs, one per line, to
# $tmp/PREFIX-clear.urls and $tmp/PREFIX-encrypted.urls.
publish_sample() {
	local base=$1 prefix=$2
	: >"$tmp/$prefix-encrypted.urls"
	say "publishing the sample asset on $base"
	publish "$base" bench-clear Predefined_ClearStreamingOnly >"$tmp/$prefix-clear.urls" ||
		part_failed "publishing the clear locator on $base failed"
	if create_policy "$base"; then
		publish "$base" bench-aes Predefined_ClearKey "$policy_name" >"$tmp/$prefix-encrypted.urls" ||
			part_failed "publishing the encrypted locator on $base failed"
	fi
}

# manifest_url FORMAT < URLS prints the URL with format=FORMAT.
manifest_url() {
	grep -F "format=$1" | grep -vF "format=$1-" | head -n 1 || true
}

# create_policy SERVER creates the content key policy the encrypted
# locator needs. It returns 1 when the server has no API for it yet.
create_policy() {
	if [ ! -f "$policy_file" ]; then
		note "$policy_file is missing: skipping the encrypted formats"
		return 1
	fi
	local code
	code=$(curl -sS -o "$tmp/policy-response.json" -w '%{http_code}' --max-time 10 \
		-X PUT -H "Authorization: Bearer $LOCKSTREAM_ADMIN_TOKEN" -H 'Content-Type: application/json' \
		--data-binary "@$policy_file" "$1/api/v1/contentKeyPolicies/$policy_name") || code=000
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

# add_row clear|encrypted LABEL EXT MANIFEST_URL [CACHED_MANIFEST_URL]
# fetches the middle segment of the highest rendition into the static
# folder and records the row. With CACHED_MANIFEST_URL it also records
# the same segment of the server with the segment cache.
add_row() {
	local protection=$1 label=$2 ext=$3 manifest=$4 cached_manifest=${5:-} segment file
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
	cached_segment=
	if [ -n "$cached_pid" ]; then
		fetch_cached_segment "$protection" "$label" "$file" "$cached_manifest" || cached_segment=
	fi
	row_labels+=("$label")
	row_lockstream+=("$segment")
	row_files+=("$file")
	row_cached+=("$cached_segment")
}

# fetch_cached_segment clear|encrypted LABEL FILE MANIFEST_URL fetches
# the row's segment from the server with the segment cache into the
# folder $cached_segments and sets cached_segment to its URL. The second
# request of it comes from the cache. A clear segment must have the same
# bytes as the one from the server without the cache. An encrypted one is
# made with other content keys, so only its size must match.
fetch_cached_segment() {
	local protection=$1 label=$2 file=$3 manifest=$4 segment
	if [ -z "$manifest" ]; then
		part_failed "$label: the server with the segment cache has no such manifest URL"
		return 1
	fi
	if ! segment=$(pick_segment "$manifest") ||
		! curl -fsS --max-time 30 -o "$cached_segments/$file" "$segment"; then
		part_failed "$label: fetching a segment from the server with the segment cache failed"
		return 1
	fi
	if ! curl -fsS --max-time 30 "$segment" | cmp -s - "$cached_segments/$file"; then
		part_failed "$label: two requests for $segment to the server with the segment cache gave different bytes"
		return 1
	fi
	if [ "$protection" = clear ] && ! cmp -s "$cached_segments/$file" "$static/$file"; then
		part_failed "$label: the servers with and without the segment cache returned different bytes for $segment"
		return 1
	fi
	if [ "$(stat -c %s "$cached_segments/$file")" != "$(stat -c %s "$static/$file")" ]; then
		part_failed "$label: the servers with and without the segment cache returned segments of different sizes"
		return 1
	fi
	cached_segment=$segment
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
		if [ -n "${row_cached[$i]}" ]; then
			curl -fsS --max-time 30 -o /dev/null "${row_cached[$i]}" || true
		fi
	done
}

# compare runs wrk against nginx and Lockstream in turn for every row,
# and against the server with the segment cache when the row has its
# URL, and prints the tables. For each Lockstream server it also records
# the CPU time the server used during each run: "cores" is that time over
# the run's wall time, and "MB/s per core" the throughput divided by it.
compare() {
	local sides="nginx and lockstream"
	[ -z "$cached_pid" ] || sides="nginx, lockstream and lockstream with the segment cache"
	say "wrk -t1 -c$connections -d$duration --latency, $rounds rounds, $sides alternating"
	local table="$tmp/results.txt" cached_table="$tmp/results-cached.txt" hz
	hz=$(getconf CLK_TCK)
	printf '%-22s %10s %15s %13s %11s %9s %6s %6s %14s\n' format segment "lockstream MB/s" "lockstream p99" \
		"nginx MB/s" "nginx p99" ratio cores "MB/s per core" >"$table"
	printf '%-22s %10s %11s %10s %11s %9s %6s %6s %14s %12s\n' format segment "cached MB/s" "cached p99" \
		"nginx MB/s" "nginx p99" ratio cores "MB/s per core" "vs uncached" >"$cached_table"

	# Per side of the current row: MB/s summed over the rounds, worst
	# p99, server cores summed over the rounds, and completed rounds.
	local -A sum worst cores_sum runs
	local i r side url pid size out mbs p99 rps bad t0 t1 c0 c1 cores
	for i in "${!row_labels[@]}"; do
		sum=() worst=() cores_sum=() runs=()
		for r in $(seq 1 "$rounds"); do
			for side in nginx lockstream cached; do
				case $side in
				nginx) url=$nginx_base/${row_files[$i]} pid='' size=$(stat -c %s "$static/${row_files[$i]}") ;;
				lockstream) url=${row_lockstream[$i]} pid=$server_pid size=$(stat -c %s "$static/${row_files[$i]}") ;;
				cached)
					url=${row_cached[$i]} pid=$cached_pid
					[ -z "$url" ] || size=$(stat -c %s "$cached_segments/${row_files[$i]}")
					;;
				esac
				[ -n "$url" ] || continue

				out="$tmp/wrk-$i-$r-$side.txt"
				c0=0 c1=0 cores=
				t0=$(date +%s.%N)
				[ -z "$pid" ] || c0=$(cpu_ticks "$pid")
				if ! read -r mbs p99 rps bad < <(run_wrk "$url" "$size" "$out"); then
					part_failed "${row_labels[$i]}: wrk against $side failed"
					if [ "$side" = cached ]; then
						# The other sides of the row still count.
						row_cached[i]=
						runs[cached]=0
						continue
					fi
					continue 3
				fi
				t1=$(date +%s.%N)
				[ -z "$pid" ] || c1=$(cpu_ticks "$pid")
				printf '  %-20s round %d %-10s %9.1f MB/s  p99 %7.2f ms  %8.1f req/s' \
					"${row_labels[$i]}" "$r" "$side" "$mbs" "$p99" "$rps"
				if [ -n "$pid" ]; then
					cores=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.2f", c / hz / (t1 - t0) }')
					printf '  server %s cores' "$cores"
				fi
				printf '\n'
				if [ "$bad" -gt 0 ]; then
					part_failed "${row_labels[$i]}: $side answered $bad requests with a status outside 2xx (see $out)"
				fi
				sum[$side]=$(awk -v a="${sum[$side]:-0}" -v b="$mbs" 'BEGIN { print a + b }')
				worst[$side]=$(awk -v a="${worst[$side]:-0}" -v b="$p99" 'BEGIN { print (b > a) ? b : a }')
				cores_sum[$side]=$(awk -v a="${cores_sum[$side]:-0}" -v b="${cores:-0}" 'BEGIN { print a + b }')
				runs[$side]=$((${runs[$side]:-0} + 1))
			done
		done

		size=$(stat -c %s "$static/${row_files[$i]}")
		table_row "${row_labels[$i]}" "$size" lockstream >>"$table"
		if [ "${runs[cached]:-0}" -gt 0 ]; then
			table_row "${row_labels[$i]}" "$size" cached >>"$cached_table"
		else
			printf '%-22s %7.2f MB %11s\n' "${row_labels[$i]}" "$(awk -v s="$size" 'BEGIN { print s / 1e6 }')" "not measured" >>"$cached_table"
		fi
	done

	say "results (MB/s: mean of $rounds rounds, body bytes, 1 MB = 10^6 bytes; p99: worst round; cores: server CPU time over wall time)"
	cat "$table"
	if [ -n "$cached_pid" ]; then
		say "results with segment cache (--segment-cache-mib $cache_mib; ratio: to nginx; vs uncached: to the table above)"
		cat "$cached_table"
	else
		say "results with segment cache: $cache_note"
	fi
	if [ -n "${cbc_mbs:-}" ]; then
		note "AES-128-CBC on one core (BenchmarkEncryptCBC): $cbc_mbs MB/s; compare the AES-128 rows' MB/s per core with it"
	fi
}

# table_row LABEL SIZE SIDE prints the table line of SIDE (lockstream or
# cached) from compare's sums: means over the completed rounds, the ratio
# to nginx and, for the cached side, the ratio to the uncached server.
table_row() {
	local side=$3
	awk -v label="$1" -v size="$2" -v side="$side" \
		-v s="${sum[$side]:-0}" -v n="${runs[$side]:-0}" -v p="${worst[$side]:-0}" -v c="${cores_sum[$side]:-0}" \
		-v ng="${sum[nginx]:-0}" -v ngn="${runs[nginx]:-0}" -v ngp="${worst[nginx]:-0}" \
		-v ls="${sum[lockstream]:-0}" -v lsn="${runs[lockstream]:-0}" 'BEGIN {
			mbs = (n > 0) ? s / n : 0
			cores = (n > 0) ? c / n : 0
			nginx = (ngn > 0) ? ng / ngn : 0
			uncached = (lsn > 0) ? ls / lsn : 0
			printf "%-22s %7.2f MB", label, size / 1e6
			if (side == "cached")
				printf " %11.1f %7.2f ms", mbs, p
			else
				printf " %15.1f %10.2f ms", mbs, p
			printf " %11.1f %6.2f ms %6.2f %6.2f %14.1f", nginx, ngp, (nginx > 0) ? mbs / nginx : 0, cores, (cores > 0) ? mbs / cores : 0
			if (side == "cached")
				printf " %12.2f", (uncached > 0) ? mbs / uncached : 0
			printf "\n"
		}'
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
# request queued. The paced run measures the steady state that players
# see: the clients join over $ramp, each fetches $buffer segments and then
# plays at $pace times real time, and the requests that start in the
# first $warmup stay out of its latency figures. It prints the media
# segment latencies of both runs.
load_test() {
	local manifest=$1 token=$2 mode out run_duration how latency latencies=()
	for mode in unpaced paced; do
		local args=(-url "$manifest" -c "$clients" -n 10000000 -rendition highest -pid "$server_pid")
		run_duration=$duration
		how=unpaced
		if [ "$mode" = paced ]; then
			run_duration=$paced_duration
			args+=(-pace "$pace" -buffer "$buffer" -ramp "$ramp" -warmup "$warmup")
			how="paced: -pace $pace -buffer $buffer -ramp $ramp -warmup $warmup"
		fi
		args+=(-d "$run_duration")
		say "lockstream-bench -c $clients -d $run_duration ($how) on $manifest"
		out=$tmp/load-$mode.txt
		# timeout bounds a run that hangs past its -d by more than a minute.
		if ! LOCKSTREAM_BENCH_TOKEN=$token timeout --kill-after=5s "$(($(seconds_of "$run_duration") + 60))s" \
			"$tmp/bin/lockstream-bench" "${args[@]}" >"$out" 2>"$tmp/load-progress-$mode.txt"; then
			cat "$out" || true
			tail -n 5 "$tmp/load-progress-$mode.txt" >&2 || true
			part_failed "lockstream-bench ($mode) failed against $manifest"
			continue
		fi
		cat "$out"
		latency=$(segment_latency "$out")
		if [ "$mode" = paced ]; then
			latencies+=("paced after the first $warmup: $latency")
		else
			latencies+=("unpaced: $latency")
		fi
	done
	local line
	for line in "${latencies[@]}"; do
		note "media segment latency with $clients clients, $line"
	done
}

# segment_latency FILE prints the media segment p50, p95, p99 and max from
# the text report of lockstream-bench in FILE.
segment_latency() {
	awk '$1 == "segments" && $2 == "p50" {
			for (i = 2; i < NF; i++)
				if ($i == "p50" || $i == "p95" || $i == "p99" || $i == "max") {
					printf "%s%s %s ms", sep, $i, $(i + 1)
					sep = ", "
				}
			found = 1
		}
		$1 == "segments" && $2 == "no" { printf "no media segment measured"; found = 1 }
		END { printf "%s\n", found ? "" : "not in the report" }' "$1"
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

	many_assets_run "$media"
	if [ "$memory_limit_mib" != 0 ]; then
		many_assets_run "$media" --memory-limit-mib "$memory_limit_mib"
	fi
}

# many_assets_run MEDIA [FLAGS...] starts a server on the many-assets
# media root with the extra serve flags, publishes every asset, touches
# each once and puts ten load generators on ten of them.
many_assets_run() {
	local media=$1 n
	shift
	stop_pid "$server_pid"
	start_lockstream "$media" "$@" || return 0
	local manifests=() url segment
	for n in $(seq -w 1 "$assets"); do
		if ! url=$(asset="a$n" publish "$server" "many-$n" Predefined_ClearStreamingOnly | manifest_url m3u8-aapl) || [ -z "$url" ]; then
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
	[ $# -eq 0 ] || note "the server above ran with $*"
}

# ---------------------------------------------------------------- main

# check_duration NAME VALUE exits when VALUE is not a Go duration.
check_duration() {
	seconds_of "$2" >/dev/null || fail "invalid $1 '$2': want a duration such as 45s, 1m30s or 500ms"
}
check_duration BENCH_DURATION "$duration"
check_duration BENCH_PACED_DURATION "$paced_duration"
check_duration BENCH_RAMP "$ramp"
check_duration BENCH_WARMUP "$warmup"
case $memory_limit_mib in
'' | *[!0-9]*) fail "invalid BENCH_MEMORY_LIMIT_MIB '$memory_limit_mib': want a whole number of MiB, or 0 to skip the second many-assets run" ;;
esac
case $cache_mib in
'' | *[!0-9]*) fail "invalid BENCH_CACHE_MIB '$cache_mib': want a whole number of MiB, or 0 to skip the cached rows" ;;
esac

require_tools
static=$tmp/static
cached_segments=$tmp/cached-segments
mkdir -p "$static" "$cached_segments"
row_labels=()
row_lockstream=()
row_files=()
row_cached=()

# Every server this script starts shares one random admin token. With
# LOCKSTREAM_MASTER_KEY unset, each server generates a master key in its
# own data folder.
LOCKSTREAM_ADMIN_TOKEN=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
export LOCKSTREAM_ADMIN_TOKEN
unset LOCKSTREAM_MASTER_KEY

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
	publish_sample "$server" main
	clear_urls=$(<"$tmp/main-clear.urls")
	encrypted_urls=$(<"$tmp/main-encrypted.urls")
	cached_clear_urls=
	cached_encrypted_urls=
	if start_cached_server; then
		publish_sample "$cached_server" cached
		cached_clear_urls=$(<"$tmp/cached-clear.urls")
		cached_encrypted_urls=$(<"$tmp/cached-encrypted.urls")
	fi

	say "fetching one segment per format (middle segment of the highest rendition)"
	if [ -n "$clear_urls" ]; then
		for format in "HLS TS clear|m3u8-aapl|ts" "DASH CMAF clear|mpd-time-cmaf|m4s"; do
			IFS='|' read -r label format_key ext <<<"$format"
			add_row clear "$label" "$ext" "$(manifest_url "$format_key" <<<"$clear_urls")" \
				"$(manifest_url "$format_key" <<<"$cached_clear_urls")"
		done
	fi
	if [ -n "$encrypted_urls" ]; then
		for format in "HLS TS AES-128|m3u8-aapl|ts" "HLS fMP4 AES-128|m3u8-cmaf|m4s" "DASH CENC|mpd-time-cmaf|m4s"; do
			IFS='|' read -r label format_key ext <<<"$format"
			add_row encrypted "$label" "$ext" "$(manifest_url "$format_key" <<<"$encrypted_urls")" \
				"$(manifest_url "$format_key" <<<"$cached_encrypted_urls")"
		done
	fi

	if [ "${#row_files[@]}" -gt 0 ]; then
		start_nginx
		warm_up
		compare
	else
		part_failed "no segment could be fetched from lockstream: nothing to compare"
	fi
	# The load tests measure the first server alone.
	stop_pid "$cached_pid"
	cached_pid=

	token=
	load_manifest=$(manifest_url m3u8-aapl <<<"$encrypted_urls")
	if [ -n "$load_manifest" ]; then
		token=$(LOCKSTREAM_SERVER=$server "$tmp/bin/lockstream" token --locator bench-aes --ttl 1h 2>"$tmp/token.err" | head -n 1) || true
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
