/* Faults injected in the source layer (see rf_fault_source.h). */
#include "rf_fault_source.h"
#include <stdlib.h>
#include <string.h>

typedef struct fsrc {
    rf_source_t inner;
    rf_fault_t *fault;
    bool active;      /* this source's name matches */
    uint64_t pos;     /* object offset of the next byte */
} fsrc_t;

static esp_err_t f_open(void *ctx, uint32_t offset, int64_t *total_len)
{
    fsrc_t *s = ctx;
    if (s->active && s->fault->kind == RF_FAULT_STATUS) {
        s->fault->fired++;
        return ESP_ERR_INVALID_RESPONSE;
    }
    s->pos = offset;
    return s->inner.open(s->inner.ctx, offset, total_len);
}

/* Validators pass through: a wrapped source resumes as its inner one proves. */
static esp_err_t f_open_at(void *ctx, rf_source_open_t *io)
{
    fsrc_t *s = ctx;
    if (s->active && s->fault->kind == RF_FAULT_STATUS) {
        s->fault->fired++;
        return ESP_ERR_INVALID_RESPONSE;
    }
    esp_err_t e = s->inner.open_at(s->inner.ctx, io);
    s->pos = io->start;
    return e;
}

static const char *f_content_encoding(void *ctx)
{
    fsrc_t *s = ctx;
    return s->inner.content_encoding(s->inner.ctx);
}

static esp_err_t f_read(void *ctx, void *buf, uint32_t cap, uint32_t *got)
{
    fsrc_t *s = ctx;
    *got = 0;
    bool cut = s->active && (s->fault->kind == RF_FAULT_RESET || s->fault->kind == RF_FAULT_STALL);
    if (cut) {
        if (s->pos >= s->fault->at) {
            s->fault->fired++;
            return s->fault->kind == RF_FAULT_RESET ? ESP_ERR_HTTP_INCOMPLETE_DATA : ESP_ERR_TIMEOUT;
        }
        if (cap > s->fault->at - s->pos) {
            cap = (uint32_t)(s->fault->at - s->pos);
        }
    }
    esp_err_t e = s->inner.read(s->inner.ctx, buf, cap, got);
    s->pos += *got;
    if (s->active) {
        s->fault->delivered += *got;
    }
    return e;
}

static void f_close(void *ctx)
{
    fsrc_t *s = ctx;
    s->inner.close(s->inner.ctx);
}

esp_err_t rf_fault_source_wrap(rf_source_t *inner, const char *name, rf_fault_t *fault, rf_source_t *out)
{
    if (name == NULL) {
        name = inner->name;
    }
    fsrc_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return ESP_ERR_NO_MEM;
    }
    s->inner = *inner;
    s->fault = fault;
    s->active = fault != NULL && (fault->match == NULL || (name != NULL && strcmp(name, fault->match) == 0));
    memset(out, 0, sizeof *out);
    out->ctx = s;
    out->open = f_open;
    out->read = f_read;
    out->close = f_close;
    out->name = inner->name;
    out->open_at = inner->open_at != NULL ? f_open_at : NULL;
    out->content_encoding = inner->content_encoding != NULL ? f_content_encoding : NULL;
    return ESP_OK;
}

void rf_fault_source_free(rf_source_t *wrapped, void (*free_inner)(void *ctx, rf_source_t *src), void *free_ctx)
{
    fsrc_t *s = wrapped->ctx;
    if (s != NULL) {
        free_inner(free_ctx, &s->inner);
        free(s);
    }
    memset(wrapped, 0, sizeof *wrapped);
}

/* Platform forwarding: ctx is the rf_fault_platform_t. */
static esp_err_t p_running(void *ctx, rf_part_t *out)
{
    rf_fault_platform_t *w = ctx;
    return w->inner.running_partition(w->inner.ctx, out);
}

static esp_err_t p_list(void *ctx, rf_part_t *out, uint32_t max, uint32_t *count)
{
    rf_fault_platform_t *w = ctx;
    return w->inner.list_partitions(w->inner.ctx, out, max, count);
}

static esp_err_t p_make(void *ctx, const esp_http_client_config_t *http, rf_source_t *out)
{
    rf_fault_platform_t *w = ctx;
    rf_source_t inner;
    esp_err_t e = w->inner.make_source(w->inner.ctx, http, &inner);
    if (e != ESP_OK) {
        return e;
    }
    e = rf_fault_source_wrap(&inner, http->url, w->fault, out);
    if (e != ESP_OK) {
        w->inner.free_source(w->inner.ctx, &inner);
    }
    return e;
}

static void p_free(void *ctx, rf_source_t *src)
{
    rf_fault_platform_t *w = ctx;
    rf_fault_source_free(src, w->inner.free_source, w->inner.ctx);
}

void rf_fault_platform_install(esp_self_reflasher_platform_t *p, rf_fault_platform_t *w, rf_fault_t *fault)
{
    w->inner = *p;
    w->fault = fault;
    p->ctx = w;
    p->running_partition = p_running;
    p->list_partitions = p_list;
    p->make_source = p_make;
    p->free_source = p_free;
}

void rf_fault_platform_uninstall(esp_self_reflasher_platform_t *p, rf_fault_platform_t *w)
{
    *p = w->inner;
}

const char *rf_fault_kind_name(rf_fault_kind_t k)
{
    switch (k) {
    case RF_FAULT_RESET:
        return "reset";
    case RF_FAULT_STATUS:
        return "status500";
    case RF_FAULT_STALL:
        return "stall";
    default:
        return "none";
    }
}
