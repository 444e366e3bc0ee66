/* A migration prepared for rf_rehearse() (see scenario.h). */
#include "scenario.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "migrate_run.h"
#include "planning.h"

static esp_err_t scenario_run(void *arg, rf_device_t *d)
{
    rf_cli_scenario_t *sc = arg;
    if (sc->embedded) {
        return rf_cli_run_embedded(d, &sc->imgs[0], sc->at, sc->emb_len);
    }
    int failed_at = 0;
    return rf_cli_run_download(d, sc->imgs, sc->n, &failed_at);
}

static int order_by_plan(rf_device_t *base, rf_cli_scenario_t *sc)
{
    rf_plan_t *plan = calloc(1, sizeof *plan);
    rf_image_arg_t *ordered = calloc((size_t)sc->n, sizeof *ordered);
    rf_cli_plan_extra_t x;
    memset(&x, 0, sizeof x);
    char msg[512] = "";
    int rc = 2;
    if (plan == NULL || ordered == NULL) {
        snprintf(sc->msg, sizeof sc->msg, "out of memory");
        goto out;
    }
    rc = rf_cli_build_plan(base, sc->imgs, sc->n, false, plan, &x, msg, sizeof msg);
    if (rc != 0) {
        sc->rule_name = x.rule_name;
        /* a long detail is cut at the message's end (the return value says so; kept for that) */
        const int n = snprintf(sc->msg, sizeof sc->msg, "plan refused: %s: %s%s%s", x.rule_name ? x.rule_name : "?",
                               x.rule_text[0] ? x.rule_text : msg, x.detail[0] ? ": " : "", x.detail);
        (void)n;
        goto out;
    }
    for (uint32_t k = 0; k < plan->count; k++) {
        ordered[k] = sc->imgs[plan->img[k].input_index];
    }
    memcpy(sc->imgs, ordered, (size_t)sc->n * sizeof *ordered);
out:
    rf_cli_plan_extra_free(&x);
    free(plan);
    free(ordered);
    return rc;
}

int rf_cli_scenario_prepare(rf_device_t *base, rf_cli_scenario_t *sc)
{
    sc->rule_name = NULL;
    sc->msg[0] = 0;
    if (sc->n < 1 || sc->n > RF_SCENARIO_MAX || (sc->embedded && sc->n != 1)) {
        snprintf(sc->msg, sizeof sc->msg, "1 to %d images (one with --embedded)", RF_SCENARIO_MAX);
        return 2;
    }
    if (sc->embedded) {
        /* The linker's job, once, before everything: every copy starts from it. */
        if (rf_cli_embed_place(base, &sc->imgs[0], sc->at, &sc->emb_len) != ESP_OK) {
            snprintf(sc->msg, sizeof sc->msg, "cannot place %.400s at 0x%x in the running partition", sc->imgs[0].source,
                     (unsigned)sc->at);
            return 2;
        }
    } else {
        for (int i = 0; i < sc->n; i++) {
            if (!rf_cli_default_size(base, &sc->imgs[i])) {
                snprintf(sc->msg, sizeof sc->msg, "no partition starts at 0x%x: give %.400s@0x%x:SIZE",
                         (unsigned)sc->imgs[i].dest, sc->imgs[i].source, (unsigned)sc->imgs[i].dest);
                return 2;
            }
        }
        /* Execution order once (bootloader region last), so every run is the
         * plan's without announcing the reordering each time. */
        int rc = order_by_plan(base, sc);
        if (rc != 0) {
            return rc;
        }
    }
    for (int i = 0; i < sc->n; i++) {
        sc->dest[i].addr = sc->imgs[i].dest;
        sc->dest[i].size = sc->imgs[i].size;
        sc->sources[i] = sc->imgs[i].source;
    }
    return 0;
}

void rf_cli_scenario_cfg(rf_cli_scenario_t *sc, rf_rehearse_cfg_t *cfg)
{
    cfg->run = scenario_run;
    cfg->run_arg = sc;
    cfg->dest = sc->dest;
    cfg->ndest = sc->n;
    cfg->sources = sc->sources;
    cfg->nsources = sc->embedded ? 0 : sc->n;
}
