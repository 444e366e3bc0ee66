/*
 * A real HTTP server for the tests: tests/support/http_server.py (python3)
 * started as a child process on 127.0.0.1 and an ephemeral port. See the
 * script's header for its options and its fault-injection query parameters
 * (status=, redirect=, close_at=, stall_at=, stall_s=, chunked=1, norange=1,
 * delay_ms=, rate=) and for /__stats and /__reset.
 */
#pragma once
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ths {
    pid_t pid;      /**< the python3 process; 0 when not running */
    int port;
    int tls;        /**< started with --tls-cert: URLs are https:// */
} ths_t;

/** Start the server on `root`. extra_args: more options for the script,
 *  separated by spaces (e.g. "--no-range"), or NULL. The script is
 *  $RF_SRC/tests/support/http_server.py. With "--tls-cert C --tls-key K"
 *  in extra_args the server speaks HTTPS and ths_url() gives https:// URLs. The child gets SIGTERM if the test
 *  process dies, and the script stops by itself after --max-seconds.
 *  0 on success (out->port set), -1 on failure (message on stderr). */
int ths_start(const char *root, const char *extra_args, ths_t *out);

/** "http://127.0.0.1:PORT" (https:// for TLS) + path (a '/' is added if path lacks one). */
void ths_url(const ths_t *s, const char *path, char *out, size_t n);

/** Body bytes the server wrote for `path` (no query string) since start or
 *  the last ths_reset(); 0 if never requested, -1 on error. */
long ths_bytes_sent(const ths_t *s, const char *path);

/** Requests for `path` since start or the last ths_reset(); -1 on error. */
long ths_requests(const ths_t *s, const char *path);

/** Queue a one-shot fault for the next request of `path` (query-string
 *  syntax, e.g. "close_at=600000"). 0 on success, -1 on error. */
int ths_fault_once(const ths_t *s, const char *path, const char *faults);

/** Zero the server's counters. 0 on success, -1 on error. */
int ths_reset(const ths_t *s);

/** SIGTERM the server and reap it (SIGKILL after 2 s). Safe twice. */
void ths_stop(ths_t *s);

#ifdef __cplusplus
}
#endif
