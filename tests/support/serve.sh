# Sourced by the shell tests: start tests/support/http_server.py and wait for
# it by pipe, not by polling. The server writes its port as the first line of
# its stdout once it listens; the read blocks until then (bounded by -t).
#   rf_serve ROOT [server args...]   -> SRV_PID, SRV_PORT; returns 1 if it never listened
rf_serve() {
    local root=$1 fifo
    shift
    fifo=$(mktemp -u)
    mkfifo "$fifo"
    python3 "$RF_SRC/tests/support/http_server.py" --root "$root" "$@" > "$fifo" &
    SRV_PID=$!
    SRV_PORT=""
    read -r -t 60 SRV_PORT < "$fifo" || true
    rm -f "$fifo"
    [ -n "$SRV_PORT" ]
}
