#!/usr/bin/env bash
# A moto server (AWS's APIs, in server mode) for trying the peer tier's AWS paths by hand:
#   scripts/peers/moto.sh start   starts one on a free 127.0.0.1 port, waits until it answers, prints its URL
#   scripts/peers/moto.sh url     prints the URL of the one running
#   scripts/peers/moto.sh stop    stops it
# Point ODC at it with AWS_ENDPOINT_URL=<url> (EC2, EKS, Secrets Manager: the SDK reads it) and
# ODC_AWS_STS_ENDPOINT=<url> (the IAM login). The peer specs (test/peers) start one of their own each.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
state="$root/.odc/peers"
pid_file="$state/moto.pid"
url_file="$state/moto.url"
log_file="$state/moto.log"

running() {
  [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

case "${1:-}" in
  start)
    if running; then
      cat "$url_file"
      exit 0
    fi
    bin="$(bash "$root/scripts/tools/python.sh")"
    [ -x "$bin/moto_server" ] || { echo "moto_server not found in $bin" >&2; exit 1; }
    mkdir -p "$state"
    : > "$log_file"
    # Port 0: the kernel picks a free one, and moto prints it.
    PYTHONUNBUFFERED=1 MOTO_EC2_LOAD_DEFAULT_AMIS="${MOTO_EC2_LOAD_DEFAULT_AMIS:-false}" \
      nohup "$bin/moto_server" -H 127.0.0.1 -p 0 >>"$log_file" 2>&1 &
    echo $! > "$pid_file"
    url=""
    for _ in $(seq 1 150); do
      url="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log_file" | head -n 1 || true)"
      [ -n "$url" ] && break
      running || { echo "moto_server exited; see $log_file" >&2; exit 1; }
      sleep 0.1
    done
    [ -n "$url" ] || { echo "moto_server did not start within 15 s; see $log_file" >&2; exit 1; }
    # It answers once its own API does.
    "$bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/moto-api/data.json", timeout=10)' "$url"
    echo "$url" > "$url_file"
    echo "$url"
    ;;
  url)
    running || { echo "no moto server running (scripts/peers/moto.sh start)" >&2; exit 1; }
    cat "$url_file"
    ;;
  stop)
    if running; then
      kill "$(cat "$pid_file")"
    fi
    rm -f "$pid_file" "$url_file"
    ;;
  *)
    echo "usage: $0 start|url|stop" >&2
    exit 2
    ;;
esac
