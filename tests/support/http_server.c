/* Test helper: run tests/support/http_server.py as a child process. */
#include "http_server.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define THS_MAX_ARGS   32
#define THS_START_MS   10000

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)(t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int ths_start(const char *root, const char *extra_args, ths_t *out)
{
    memset(out, 0, sizeof *out);
    const char *src = getenv("RF_SRC");
    char script[4096];
    snprintf(script, sizeof script, "%s/tests/support/http_server.py", src ? src : ".");
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "ths_start: cannot read %s (is RF_SRC set?)\n", script);
        return -1;
    }

    /* argv: python3 script --root ROOT [extra...] */
    char *extra = strdup(extra_args ? extra_args : "");
    if (extra == NULL) {
        return -1;
    }
    char *argv[THS_MAX_ARGS + 1];
    int argc = 0;
    argv[argc++] = "python3";
    argv[argc++] = script;
    argv[argc++] = "--root";
    argv[argc++] = (char *)root;
    char *save = NULL;
    for (char *tok = strtok_r(extra, " \t", &save); tok != NULL && argc < THS_MAX_ARGS;
         tok = strtok_r(NULL, " \t", &save)) {
        argv[argc++] = tok;
    }
    argv[argc] = NULL;

    int fds[2];
    if (pipe(fds) != 0) {
        free(extra);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        free(extra);
        return -1;
    }
    if (pid == 0) {
        /* Die with the test: no orphan server if the test crashes. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) {
            _exit(127);
        }
        close(fds[0]);
        if (dup2(fds[1], STDOUT_FILENO) < 0) {
            _exit(127);
        }
        close(fds[1]);
        execvp("python3", argv);
        fprintf(stderr, "ths_start: cannot exec python3: %s\n", strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    free(extra);
    out->pid = pid;

    /* The first line of its stdout is the port. */
    char line[64];
    size_t len = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (len < sizeof line - 1 && memchr(line, '\n', len) == NULL) {
        long left = THS_START_MS - elapsed_ms(&t0);
        if (left <= 0) {
            break;
        }
        struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        ssize_t n = read(fds[0], line + len, sizeof line - 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
    }
    close(fds[0]);   /* the script writes nothing else on stdout */
    line[len] = 0;
    int port = atoi(line);
    if (memchr(line, '\n', len) == NULL || port <= 0 || port > 65535) {
        fprintf(stderr, "ths_start: the server did not report a port ('%s')\n", line);
        ths_stop(out);
        return -1;
    }
    out->port = port;
    out->tls = extra_args != NULL && strstr(extra_args, "--tls-cert") != NULL;
    return 0;
}

void ths_url(const ths_t *s, const char *path, char *out, size_t n)
{
    snprintf(out, n, "%s://127.0.0.1:%d%s%s", s->tls ? "https" : "http", s->port,
             (path && path[0] == '/') ? "" : "/", path ? path : "");
}

typedef struct {
    char *data;
    size_t len, cap;
} membuf_t;

static size_t membuf_write(char *p, size_t size, size_t nmemb, void *arg)
{
    membuf_t *m = arg;
    size_t n = size * nmemb;
    if (m->len + n + 1 > m->cap) {
        size_t cap = (m->len + n + 1) * 2;
        char *d = realloc(m->data, cap);
        if (d == NULL) {
            return 0;
        }
        m->data = d;
        m->cap = cap;
    }
    memcpy(m->data + m->len, p, n);
    m->len += n;
    m->data[m->len] = 0;
    return n;
}

/* GET a control path; the body in a malloc'd string, NULL on error. */
static char *ths_get(const ths_t *s, const char *path)
{
    if (s->pid <= 0) {
        return NULL;
    }
    char url[256];
    ths_url(s, path, url, sizeof url);
    membuf_t m = { 0 };
    long status = 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return NULL;
    }
    CURL *e = curl_easy_init();
    CURLcode r = CURLE_FAILED_INIT;
    if (e != NULL) {
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);   /* our own test server */
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, membuf_write);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &m);
        r = curl_easy_perform(e);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(e);
    }
    curl_global_cleanup();
    if (r != CURLE_OK || status != 200 || m.data == NULL) {
        free(m.data);
        return NULL;
    }
    return m.data;
}

/* In {"/p":{"bytes":N,"requests":M},...} the value of `key` under "/p". */
static long stats_value(const ths_t *s, const char *path, const char *key)
{
    char *json = ths_get(s, "/__stats");
    if (json == NULL) {
        return -1;
    }
    char needle[1100];
    snprintf(needle, sizeof needle, "\"%s\":{", path);
    long v = 0;
    char *p = strstr(json, needle);
    if (p != NULL) {
        char *end = strchr(p, '}');
        char k[64];
        snprintf(k, sizeof k, "\"%s\":", key);
        char *q = strstr(p, k);
        v = (q != NULL && end != NULL && q < end) ? strtol(q + strlen(k), NULL, 10) : -1;
    }
    free(json);
    return v;
}

long ths_bytes_sent(const ths_t *s, const char *path)
{
    return stats_value(s, path, "bytes");
}

long ths_requests(const ths_t *s, const char *path)
{
    return stats_value(s, path, "requests");
}

int ths_fault_once(const ths_t *s, const char *path, const char *faults)
{
    char q[1024];
    snprintf(q, sizeof q, "/__fault?path=%s&%s", path, faults);
    char *body = ths_get(s, q);
    int rc = body != NULL ? 0 : -1;
    free(body);
    return rc;
}

int ths_reset(const ths_t *s)
{
    char *body = ths_get(s, "/__reset");
    int rc = body != NULL ? 0 : -1;
    free(body);
    return rc;
}

/* Wait up to ms for the child to exit (a pidfd becomes readable when it
 * does: no sleep-polling); true when it was reaped. */
static bool reap_within(pid_t pid, int ms)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int r;
        do {
            r = poll(&pfd, 1, ms);
        } while (r < 0 && errno == EINTR);
        close(fd);
        if (r == 0) {
            return false;
        }
    }
    /* exited (or no pidfd on this kernel: a blocking wait; the script exits on SIGTERM) */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    return true;
}

void ths_stop(ths_t *s)
{
    if (s->pid <= 0) {
        return;
    }
    kill(s->pid, SIGTERM);
    if (!reap_within(s->pid, 2000)) {
        kill(s->pid, SIGKILL);
        reap_within(s->pid, -1);
    }
    s->pid = 0;
    s->port = 0;
}
