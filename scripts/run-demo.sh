#!/usr/bin/env bash
# Serves testdata/media on 127.0.0.1:8080, publishes the sample asset clear
# and encrypted, prints every streaming URL, the player pages, a test token
# and an ffmpeg command, then keeps the server in the foreground until
# Ctrl-C. `make run` builds bin/lockstream and runs this script.
#
# Environment:
#   LOCKSTREAM_ADMIN_TOKEN  admin token; default: generated once into
#                           data/admin-token (mode 0600) and reused
#   LOCKSTREAM_BIN          binary to run (default bin/lockstream)
#   DEMO_LISTEN             listen address (default 127.0.0.1:8080)
#   DEMO_DATA               data folder (default ./data)
set -euo pipefail

cd "$(dirname "$0")/.."

bin=${LOCKSTREAM_BIN:-bin/lockstream}
listen=${DEMO_LISTEN:-127.0.0.1:8080}
data=${DEMO_DATA:-./data}
server="http://$listen"
policy_file=testdata/policies/sample-token-policy.json
policy_name=sample-token-policy

say() { printf '\n== %s\n' "$*"; }
fail() { printf 'run-demo: %s\n' "$*" >&2; exit 1; }

command -v curl >/dev/null || fail "curl is required: apt-get install curl"
[ -x "$bin" ] || fail "$bin is missing: run 'make build' first"

# The admin token: from the environment, else generated once and kept in
# the data folder so restarts and other shells can reuse it.
mkdir -p "$data"
chmod 700 "$data"
if [ -z "${LOCKSTREAM_ADMIN_TOKEN:-}" ]; then
	token_file="$data/admin-token"
	if [ ! -s "$token_file" ]; then
		(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$token_file")
	fi
	chmod 600 "$token_file"
	LOCKSTREAM_ADMIN_TOKEN=$(cat "$token_file")
	echo "admin token: $token_file"
fi
export LOCKSTREAM_ADMIN_TOKEN
export LOCKSTREAM_SERVER="$server"

if curl -fsS -o /dev/null --max-time 2 "$server/healthz" 2>/dev/null; then
	fail "a server already answers on $listen: stop it, or set DEMO_LISTEN"
fi

say "starting lockstream serve on $listen"
"$bin" serve --listen "$listen" --media testdata/media --data "$data" --log-format text &
server_pid=$!
response=$(mktemp)
stop_server() {
	rm -f "$response"
	if kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid"
		wait "$server_pid" || true
	fi
}
trap stop_server EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 100); do
	if curl -fsS -o /dev/null --max-time 1 "$server/readyz" 2>/dev/null; then
		break
	fi
	kill -0 "$server_pid" 2>/dev/null || fail "the server exited during start-up; its log is above"
	sleep 0.1
done
curl -fsS -o /dev/null --max-time 1 "$server/readyz" || fail "the server did not report ready within 10 s"

say "clear locator sample-clear (Predefined_ClearStreamingOnly)"
"$bin" publish --asset sample --name sample-clear --streaming-policy Predefined_ClearStreamingOnly --player

# The encrypted locator needs the content key policy. On a later run the
# same file replaces the stored policy with identical content, so only its
# lastModified time changes.
say "content key policy $policy_name (HMAC token, public test secret)"
"$bin" policy create --name "$policy_name" "$policy_file" >/dev/null
echo "policy $policy_name is in place"

say "encrypted locator sample-aes (Predefined_ClearKey, policy $policy_name)"
"$bin" publish --asset sample --name sample-aes --streaming-policy Predefined_ClearKey \
	--content-key-policy "$policy_name" --player

say "test token for sample-aes, valid 1 h, and player pages that use it"
token_out=$("$bin" token --locator sample-aes --ttl 1h)
echo "$token_out"
token=$(printf '%s\n' "$token_out" | head -n 1)
hls_url=$(printf '%s\n' "$token_out" | awk '$1 == "HLS" && $2 == "TS" { print $3; exit }')

say "play the encrypted HLS with ffmpeg (the token goes to the key request)"
printf "ffplay -headers \$'Authorization: Bearer %s\\\\r\\\\n' '%s'\n" "$token" "$hls_url"
printf "ffmpeg -headers \$'Authorization: Bearer %s\\\\r\\\\n' -i '%s' -f null -\n" "$token" "$hls_url"

say "serving on $server; press Ctrl-C to stop"
wait "$server_pid"
