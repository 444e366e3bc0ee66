#!/usr/bin/env python3
"""A small real HTTP/1.1 file server for the tests, with fault injection.

Usage:
    http_server.py --root DIR [--no-range] [--port-file FILE]
                   [--max-seconds 600] [--stall-seconds 30] [--verbose]
                   [--tls-cert CERT.pem --tls-key KEY.pem]

Binds 127.0.0.1 on an ephemeral port; prints the port as the first line of
stdout (and flushes), and writes it to --port-file when given (atomically).
Exits on SIGTERM / SIGINT, and by itself after --max-seconds (default 600),
so it never outlives a test run. With --tls-cert/--tls-key it speaks HTTPS
(TLS handshake in the request's thread).

Serving: GET and HEAD of files under --root (no directory listings, no "..").
Files are read at each request, so a test may replace one between two
requests. Bodies have a Content-Length; "Range: bytes=a-b", "bytes=a-" and
"bytes=-n" (a single range) get 206 with "Content-Range: bytes a-b/TOTAL", an
unsatisfiable range gets 416 with "Content-Range: bytes */TOTAL". With
--no-range the Range header is ignored (always 200, whole body, no
Accept-Ranges header). Validators: every file answer carries a strong
ETag (from the content's SHA-256 and its length, so any change of content
changes it) and Last-Modified (the file's mtime), and Date; "If-Range"
honours the range only when it equals the current ETag or Last-Modified
exactly, otherwise the whole file comes with 200 (RFC 9110 13.1.5).

Fault injection: per request, by QUERY STRING parameters on the file's URL
(several may be combined, e.g. /big.bin?close_at=1000&rate=50000):
    status=N      answer status N (e.g. 404, 500) with a short text body,
                  whatever the file; the file need not exist.
    redirect=P    answer 302 with "Location: P" (P URL-encoded if it has a
                  query of its own).
    close_at=N    send the headers with the full Content-Length, then only N
                  body bytes, then close the connection (FIN) without the rest.
    stall_at=N    send the headers and N body bytes, then sleep stall_s
                  seconds (default --stall-seconds, 30) and close the
                  connection without sending the rest.
    stall_s=S     seconds to sleep for stall_at (float).
    chunked=1     Transfer-Encoding: chunked, no Content-Length (combines with
                  close_at / stall_at, which then count body bytes).
    norange=1     ignore the Range header for this request (like --no-range).
    delay_ms=N    wait N ms before sending the response headers.
    rate=BPS      pace the body at about BPS bytes per second.
    etag=0        no ETag header;  lm=0  no Last-Modified header.
    ignore_if_range=1   honour Range whatever If-Range says (a broken server).
    crange_lie=N  a 206 whose Content-Range claims its body starts N bytes
                  before where it really starts (the body is right).
    crange_total=T  a 206 whose Content-Range claims the total T.
    force_gzip=1  serve F.gz with "Content-Encoding: gzip" whatever the
                  request's Accept-Encoding and Range say (a server that
                  codes what nobody asked for).
    trickle_s=S   send the body one byte every S seconds (float) ...
    trickle_after=N  ... after the first N bytes sent at full speed.
    trickle_headers_s=S  send the status line, then one extra header line
                  every S seconds (trickle_headers_n lines, default 1000),
                  then the real headers and the body.

Compression, like nginx's gzip_static: a GET without a Range header whose
Accept-Encoding names gzip, for a file F that has a sibling F.gz, gets F.gz
with "Content-Encoding: gzip" (faults then count bytes of F.gz).

Statistics: body bytes actually written to sockets (and requests) are counted
per URL path (query string excluded; counted after each send returns;
/__stats first waits up to 1 s for responses in flight to finish).
    GET /__stats  -> {"/big.bin": {"bytes": 123, "requests": 2}, ...}
    GET /__fault?path=P&close_at=N (any fault parameters) -> the next request
                  for P gets those faults, once (queued in order).
    GET /__reset  -> zeroes every counter; answers {}. Responses still being
                     sent from requests made before the reset no longer count.
Python 3 standard library only.
"""

import argparse
import email.utils
import hashlib
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SEND_CHUNK = 16 * 1024

STATS_LOCK = threading.Lock()
STATS = {}
GENERATION = [0]   # bumped by /__reset: requests from before stop counting
ONE_SHOT = {}      # path -> list of fault dicts for its next requests (/__fault)
ACTIVE = [0]       # file responses being sent
IDLE = threading.Condition(STATS_LOCK)


def count(path, nbytes=0, request=False, generation=None):
    with STATS_LOCK:
        if generation is not None and generation != GENERATION[0]:
            return
        entry = STATS.setdefault(path, {"bytes": 0, "requests": 0})
        entry["bytes"] += nbytes
        if request:
            entry["requests"] += 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "rf-test-http/1"
    # Set on the class by main().
    root = "."
    no_range = False
    stall_seconds = 30.0
    verbose = False

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()   # here, not in the accept loop
            self.request.settimeout(None)
        super().setup()

    def log_message(self, fmt, *args):  # noqa: N802 (stdlib name)
        if self.verbose:
            sys.stderr.write("http_server: " + (fmt % args) + "\n")

    # -- helpers ---------------------------------------------------------

    def _send_simple(self, status, body, ctype="text/plain", extra=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _file_path(self, url_path):
        rel = urllib.parse.unquote(url_path).lstrip("/")
        parts = [p for p in rel.split("/") if p not in ("", ".")]
        if any(p == ".." for p in parts):
            return None
        return os.path.join(self.root, *parts)

    def _parse_range(self, header, size):
        """(first, last) for a satisfiable single range, "bad" for an
        unsatisfiable one, None to ignore the header."""
        if header is None:
            return None
        header = header.strip()
        if not header.lower().startswith("bytes=") or "," in header:
            return None
        spec = header[6:].strip()
        if "-" not in spec:
            return None
        a, b = spec.split("-", 1)
        try:
            if a == "":
                n = int(b)
                if n <= 0:
                    return "bad"
                return (max(0, size - n), size - 1) if size > 0 else "bad"
            first = int(a)
            last = int(b) if b != "" else size - 1
        except ValueError:
            return None
        if first >= size or last < first:
            return "bad"
        return (first, min(last, size - 1))

    def _write_raw(self, path, data, pace):
        """Send data on the socket, counting what each send() took."""
        sock = self.connection
        view = memoryview(data)
        while len(view) > 0:
            piece = view[:SEND_CHUNK]
            n = sock.send(piece)
            count(path, n, generation=self.generation)
            view = view[n:]
            if pace is not None:
                pace(n)

    # -- requests --------------------------------------------------------

    def do_HEAD(self):  # noqa: N802
        self.do_GET()

    def do_GET(self):  # noqa: N802
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if path == "/__stats":
            with STATS_LOCK:
                # Let responses in flight finish their accounting (a client
                # may have read the last byte before send() returned here).
                IDLE.wait_for(lambda: ACTIVE[0] == 0, timeout=1.0)
                body = json.dumps(STATS, separators=(",", ":"))
            self._send_simple(200, body, "application/json")
            return
        if path == "/__fault":
            # One-shot faults: /__fault?path=/app.bin&close_at=1000 makes the
            # NEXT request for /app.bin behave as if it carried close_at=1000
            # (same URL for the client, so a retry of the same URL is clean).
            fq = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
            target = fq.pop("path", "")
            with STATS_LOCK:
                ONE_SHOT.setdefault(target, []).append(fq)
            self._send_simple(200, "{}", "application/json")
            return
        if path == "/__reset":
            with STATS_LOCK:
                STATS.clear()
                GENERATION[0] += 1
            self._send_simple(200, "{}", "application/json")
            return

        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        with STATS_LOCK:
            if ONE_SHOT.get(path):
                q.update(ONE_SHOT[path].pop(0))
            self.generation = GENERATION[0]
            ACTIVE[0] += 1
        try:
            self._serve(url, path, q)
        finally:
            with STATS_LOCK:
                ACTIVE[0] -= 1
                IDLE.notify_all()

    def _serve(self, url, path, q):
        count(path, request=True, generation=self.generation)

        if "delay_ms" in q:
            time.sleep(float(q["delay_ms"]) / 1000.0)

        if "redirect" in q:
            self._send_simple(302, "moved\n", extra={"Location": q["redirect"]})
            return

        if "status" in q:
            status = int(q["status"])
            self._send_simple(status, "fault injected: %d\n" % status)
            return

        fpath = self._file_path(path)
        if fpath is None or not os.path.isfile(fpath):
            self._send_simple(404, "not found\n")
            return
        headers = {}
        accept = self.headers.get("Accept-Encoding") or ""
        if ((q.get("force_gzip") == "1" or (self.headers.get("Range") is None and "gzip" in accept.lower()))
                and os.path.isfile(fpath + ".gz")):
            fpath += ".gz"
            headers["Content-Encoding"] = "gzip"
        with open(fpath, "rb") as f:
            content = f.read()
            mtime = os.fstat(f.fileno()).st_mtime
        size = len(content)

        status = 200
        first, last = 0, size - 1
        etag = '"%s-%x"' % (hashlib.sha256(content).hexdigest()[:20], size)
        lastmod = email.utils.formatdate(mtime, usegmt=True)
        if q.get("etag") != "0":
            headers["ETag"] = etag
        if q.get("lm") != "0":
            headers["Last-Modified"] = lastmod
        if_range = self.headers.get("If-Range")
        if_range_ok = (if_range is None or q.get("ignore_if_range") == "1" or
                       ("ETag" in headers and if_range == etag) or
                       ("Last-Modified" in headers and if_range == lastmod))
        if not (self.no_range or q.get("norange") == "1"):
            headers["Accept-Ranges"] = "bytes"
            rng = self._parse_range(self.headers.get("Range"), size) if if_range_ok else None
            if rng == "bad":
                self._send_simple(416, "range not satisfiable\n",
                                  extra={"Content-Range": "bytes */%d" % size})
                return
            if rng is not None:
                status = 206
                first, last = rng
                claimed = first - int(q.get("crange_lie", "0"))
                total = int(q.get("crange_total", str(size)))
                headers["Content-Range"] = "bytes %d-%d/%d" % (claimed, last, total)
        body = content[first:last + 1]

        chunked = q.get("chunked") == "1"
        close_at = int(q["close_at"]) if "close_at" in q else None
        stall_at = int(q["stall_at"]) if "stall_at" in q else None
        stall_s = float(q.get("stall_s", self.stall_seconds))
        pace = None
        trickle = None
        if "trickle_s" in q:
            trickle = (float(q["trickle_s"]), int(q.get("trickle_after", "0")))
        if "rate" in q and float(q["rate"]) > 0:
            rate = float(q["rate"])
            start = time.monotonic()
            sent = [0]

            def pace(n):
                sent[0] += n
                ahead = sent[0] / rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)

        self.send_response(status)
        if "trickle_headers_s" in q:
            self.flush_headers()   # the status line (and Date) go out now
            for i in range(int(q.get("trickle_headers_n", "1000"))):
                time.sleep(float(q["trickle_headers_s"]))
                try:
                    self.connection.sendall(b"X-Trickle-%d: x\r\n" % i)
                except OSError:
                    self.close_connection = True
                    return
        self.send_header("Content-Type", "application/octet-stream")
        for k, v in headers.items():
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        if close_at is not None or stall_at is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        if self.command == "HEAD":
            return

        cut = None
        for v in (close_at, stall_at):
            if v is not None:
                cut = v if cut is None else min(cut, v)
        part = body if cut is None else body[:cut]

        try:
            if chunked:
                for i in range(0, len(part), SEND_CHUNK):
                    piece = part[i:i + SEND_CHUNK]
                    self.connection.sendall(b"%x\r\n" % len(piece))
                    self._write_raw(path, piece, pace)
                    self.connection.sendall(b"\r\n")
                if cut is None:
                    self.connection.sendall(b"0\r\n\r\n")
            elif trickle is not None:
                every, fast = trickle
                self._write_raw(path, part[:fast], None)
                for i in range(fast, len(part)):
                    time.sleep(every)
                    self._write_raw(path, part[i:i + 1], None)
            else:
                self._write_raw(path, part, pace)
            if cut is not None:
                if stall_at is not None and (close_at is None or stall_at <= close_at):
                    time.sleep(stall_s)
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Clients hang up on purpose in the tests; stay quiet.
        if Handler.verbose:
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True, help="directory to serve")
    ap.add_argument("--no-range", action="store_true", help="ignore Range headers")
    ap.add_argument("--port-file", help="also write the port to this file")
    ap.add_argument("--max-seconds", type=float, default=600.0,
                    help="exit by itself after this long (default 600)")
    ap.add_argument("--stall-seconds", type=float, default=30.0,
                    help="default sleep of stall_at (default 30)")
    ap.add_argument("--verbose", action="store_true", help="log requests on stderr")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    ap.add_argument("--tls-key", help="private key of --tls-cert (PEM)")
    args = ap.parse_args()

    Handler.root = os.path.abspath(args.root)
    Handler.no_range = args.no_range
    Handler.stall_seconds = args.stall_seconds
    Handler.verbose = args.verbose

    def bye(*_):
        sys.stdout.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGINT, bye)
    killer = threading.Timer(args.max_seconds, bye)
    killer.daemon = True
    killer.start()

    httpd = Server(("127.0.0.1", 0), Handler)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True,
                                       do_handshake_on_connect=False)
    port = httpd.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()
    httpd.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
