/*
 * The fleet report as one self-contained HTML file: inline CSS, inline SVG
 * flash maps (before and after the migration) for each device kind, no
 * script, no external asset; every string from the input is escaped.
 *
 * A map is a bar over the whole flash with a piecewise scale: the first
 * 64 KiB (bootloader, partition table, small data partitions) take 18 % of
 * the width, the rest of the flash the other 82 %, so the sectors that
 * decide whether the device boots stay visible on a 16 MB flash. Under the
 * bar, a strip shows which 4 KiB sectors hold data; regions the migration
 * wrote are outlined in red.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fleet.h"

#define W 1000.0
#define X0 10.0
#define ZOOM_END 0x10000u
#define ZOOM_FRAC 0.18

static void esc(FILE *f, const char *s)
{
    for (; s != NULL && *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

static double xpos(uint64_t addr, uint32_t size)
{
    double w = W - 2 * X0;
    if (size <= ZOOM_END) {
        return X0 + w * (double)addr / size;
    }
    if (addr <= ZOOM_END) {
        return X0 + w * ZOOM_FRAC * (double)addr / ZOOM_END;
    }
    return X0 + w * (ZOOM_FRAC + (1 - ZOOM_FRAC) * (double)(addr - ZOOM_END) / (size - ZOOM_END));
}

static const char *fill(fleet_region_kind_t k, const char *content)
{
    if (strncmp(content, "blank", 5) == 0) {
        return "#eef1f4";
    }
    if (strstr(content, "bootloader") != NULL) {
        return "#e76f51"; /* a bootloader, also one left in a staging partition */
    }
    switch (k) {
    case FLEET_REGION_BOOTLOADER:
        return "#e76f51";
    case FLEET_REGION_PTABLE:
        return "#f4a261";
    case FLEET_REGION_APP:
        return strncmp(content, "MCUboot", 7) == 0 ? "#457b9d" : "#2a9d8f";
    case FLEET_REGION_OTADATA:
        return "#e9c46a";
    default:
        return "#8ab17d";
    }
}

static void svg_map(FILE *f, const fleet_map_t *m, const char *title)
{
    if (m->flash_size == 0) {
        return;
    }
    const double bar_y = 26, bar_h = 44, strip_y = 74, strip_h = 8;
    fprintf(f, "<svg class=\"map\" viewBox=\"0 0 %.0f 112\" width=\"%.0f\" height=\"112\" role=\"img\"><title>",
            W, W);
    esc(f, title);
    fprintf(f, "</title>\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f8f9fa\" stroke=\"#adb5bd\"/>\n",
            X0, bar_y, W - 2 * X0, bar_h);
    for (int i = 0; i < m->n; i++) {
        const fleet_region_t *r = &m->r[i];
        double x = xpos(r->addr, m->flash_size), x2 = xpos((uint64_t)r->addr + r->size, m->flash_size);
        fprintf(f, "<g><title>");
        esc(f, r->label);
        fprintf(f, " 0x%x+0x%x: ", (unsigned)r->addr, (unsigned)r->size);
        esc(f, r->content);
        fprintf(f, "</title><rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\" stroke=\"#fff\" "
                   "stroke-width=\"1\"/>",
                x, bar_y, x2 - x > 0.5 ? x2 - x : 0.5, bar_h, fill(r->kind, r->content));
        double chars = (x2 - x - 4) / 6.2;
        if (chars >= 3) {
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"lbl\">", x + 3, bar_y + 17);
            char buf[64];
            snprintf(buf, sizeof buf, "%.*s", (int)(chars < 60 ? chars : 60), r->label);
            esc(f, buf);
            fprintf(f, "</text>");
            if (chars >= 8) {
                snprintf(buf, sizeof buf, "%.*s", (int)(chars < 60 ? chars : 60), r->content);
                fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"sub\">", x + 3, bar_y + 33);
                esc(f, buf);
                fprintf(f, "</text>");
            }
        }
        fprintf(f, "</g>\n");
    }
    /* sectors holding data */
    for (uint32_t s = 0; m->used != NULL && s < m->nsect;) {
        uint32_t e = s;
        while (e + 1 < m->nsect && m->used[e + 1] == m->used[s]) {
            e++;
        }
        if (m->used[s]) {
            double x = xpos((uint64_t)s * 0x1000, m->flash_size), x2 = xpos((uint64_t)(e + 1) * 0x1000, m->flash_size);
            fprintf(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"#343a40\"/>", x, strip_y,
                    x2 - x > 0.6 ? x2 - x : 0.6, strip_h);
        }
        s = e + 1;
    }
    fprintf(f, "\n");
    /* regions the migration wrote */
    for (int i = 0; i < m->nwritten; i++) {
        uint64_t a = m->written[i][0], b = a + m->written[i][1];
        double x = xpos(a, m->flash_size), x2 = xpos(b, m->flash_size);
        fprintf(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"none\" stroke=\"#d62828\" "
                   "stroke-width=\"2.5\" stroke-dasharray=\"6 3\"><title>written by the migration: 0x%llx-0x%llx</title></rect>",
                x, bar_y - 4, x2 - x, bar_h + 8, (unsigned long long)a, (unsigned long long)b);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"wr\">written 0x%llx</text>\n", x, bar_y - 8,
                (unsigned long long)a);
    }
    /* axis */
    fprintf(f, "<g class=\"ax\">");
    for (uint64_t a = 0; a <= m->flash_size; a += a < ZOOM_END ? 0x8000 : (a < 0x100000 ? 0x100000 - ZOOM_END : 0x100000)) {
        if (a == 0x8000 && m->flash_size > ZOOM_END) {
            /* inside the zoom: only 0 and 64 KiB */
            continue;
        }
        double x = xpos(a, m->flash_size);
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", x, x, strip_y + strip_h, strip_y + strip_h + 6);
        if (a == 0 || a == ZOOM_END || a % 0x100000 == 0) {
            if (a >= 0x100000) {
                fprintf(f, "<text x=\"%.1f\" y=\"108\"%s>%lluM</text>", a == m->flash_size ? x : x - 6,
                        a == m->flash_size ? " text-anchor=\"end\"" : "", (unsigned long long)(a >> 20));
            } else {
                fprintf(f, "<text x=\"%.1f\" y=\"108\">%s</text>", x - 4, a == 0 ? "0" : "64K");
            }
        }
    }
    fprintf(f, "</g></svg>\n");
}

static void region_table(FILE *f, const fleet_map_t *m)
{
    fprintf(f, "<table class=\"regions\"><tr><th>region</th><th>offset</th><th>size</th><th>content</th></tr>\n");
    for (int i = 0; i < m->n; i++) {
        const fleet_region_t *r = &m->r[i];
        fprintf(f, "<tr><td>");
        esc(f, r->label);
        fprintf(f, "</td><td>0x%06x</td><td>0x%x</td><td>", (unsigned)r->addr, (unsigned)r->size);
        esc(f, r->content);
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n");
}

static const char *badge(fleet_verdict_t v)
{
    static const char *const c[] = { "safe", "refused", "unsafe", "error" };
    return v <= FLEET_ERROR ? c[v] : "error";
}

static void kind_row(FILE *f, const fleet_kind_t *k, int i)
{
    fprintf(f, "<tr><td><a href=\"#kind%d\">", i + 1);
    esc(f, k->name);
    fprintf(f, "</a></td><td>");
    esc(f, k->chip);
    fprintf(f, "</td><td>%u MB</td><td><span class=\"badge %s\">%s</span></td><td>", (unsigned)(k->flash_size >> 20),
            badge(k->verdict), fleet_verdict_name(k->verdict));
    if (k->error[0]) {
        fprintf(f, "&ndash;");
    } else if (k->plan_valid) {
        fprintf(f, "valid");
    } else {
        fprintf(f, "refused: <code>");
        esc(f, k->rule);
        fprintf(f, "</code>");
    }
    fprintf(f, "</td>");
    if (k->ran) {
        fprintf(f, "<td>%s%s (", k->mig_error[0] ? "failed, " : "", rf_boot_result_name(k->end));
        esc(f, k->end_loader);
        fprintf(f, ")</td>");
        if (!k->ref_ok) {
            fprintf(f, "<td class=\"num\">n/a</td>");
        } else if (k->win_first) {
            fprintf(f, "<td class=\"num\">%.1f ms</td>", k->win_ms);
        } else {
            fprintf(f, "<td class=\"num\">none</td>");
        }
        fprintf(f, "<td class=\"num\">%.2f s</td><td class=\"num\">%.1f KiB</td>", k->device_ms / 1e3,
                (double)k->bytes_erased / 1024);
        if (k->swept) {
            fprintf(f, "<td>%s: %u cuts, BRICK %u (%u outside)</td>", k->sweep_ok ? "PASS" : "FAIL",
                    (unsigned)k->cut_points, (unsigned)k->outcomes[RF_BOOT_BRICK], (unsigned)k->brick_outside);
        } else {
            fprintf(f, "<td>not run</td>");
        }
    } else {
        fprintf(f, "<td>&ndash;</td><td>&ndash;</td><td>&ndash;</td><td>&ndash;</td><td>&ndash;</td>");
    }
    fprintf(f, "</tr>\n");
}

static void kind_section(FILE *f, const fleet_kind_t *k, int i)
{
    fprintf(f, "<section class=\"kind\" id=\"kind%d\"><h2>", i + 1);
    esc(f, k->name);
    fprintf(f, " <span class=\"badge %s\">%s</span></h2>\n<dl>", badge(k->verdict), fleet_verdict_name(k->verdict));
    fprintf(f, "<dt>device</dt><dd>");
    esc(f, k->chip);
    fprintf(f, ", %u MB flash, running <code>", (unsigned)(k->flash_size >> 20));
    esc(f, k->running);
    fprintf(f, "</code>%s", k->partitions[0] ? ", partitions <code>" : "");
    esc(f, k->partitions);
    fprintf(f, "%s</dd><dt>old system</dt><dd>", k->partitions[0] ? "</code>" : "");
    esc(f, k->old_system);
    fprintf(f, "</dd>");
    if (k->error[0]) {
        fprintf(f, "<dt>error</dt><dd>");
        esc(f, k->error);
        fprintf(f, "</dd></dl></section>\n");
        return;
    }
    fprintf(f, "<dt>boots before</dt><dd>%s: ", rf_boot_result_name(k->before));
    esc(f, k->before_reason);
    fprintf(f, "</dd><dt>plan</dt><dd>");
    if (k->plan_valid) {
        fprintf(f, "valid; estimated %.1f ms of device time, bootloader window %.1f ms%s", k->est_ms, k->est_window_ms,
                k->no_backup_window ? " (no room for a backup: the whole copy is the window)" : "");
    } else {
        fprintf(f, "refused before any write by <code>");
        esc(f, k->rule);
        fprintf(f, "</code>: ");
        esc(f, k->rule_text);
        if (k->detail[0]) {
            fprintf(f, ": ");
            esc(f, k->detail);
        }
        fprintf(f, " &mdash; the device keeps its old system");
    }
    fprintf(f, "</dd>");
    if (k->ran) {
        if (k->mig_error[0]) {
            fprintf(f, "<dt>migration</dt><dd>failed: ");
            esc(f, k->mig_error);
            fprintf(f, "</dd>");
        }
        fprintf(f, "<dt>end state</dt><dd>%s: ", rf_boot_result_name(k->end));
        esc(f, k->end_reason);
        fprintf(f, "</dd><dt>measured</dt><dd>%.1f ms of device time, %u write operations, %llu bytes erased, "
                   "%llu programmed, %llu from the network</dd>",
                k->device_ms, (unsigned)k->write_ops, (unsigned long long)k->bytes_erased,
                (unsigned long long)k->bytes_programmed, (unsigned long long)k->net_bytes);
        if (!k->ref_ok) {
            fprintf(f, "<dt>brick window</dt><dd>not bounded: the migration does not end in the new system "
                       "(its writes to the bootloader's sectors were ops %u&ndash;%u)</dd>",
                    (unsigned)k->win_first, (unsigned)k->win_last);
        } else if (k->win_first) {
            fprintf(f, "<dt>brick window</dt><dd>write ops %u&ndash;%u, %.1f ms (reference component: 690 ms)</dd>",
                    (unsigned)k->win_first, (unsigned)k->win_last, k->win_ms);
        } else {
            fprintf(f, "<dt>brick window</dt><dd>none</dd>");
        }
        if (k->swept) {
            fprintf(f, "<dt>power-cut sweep</dt><dd>%s: %u cut points (every %u%s write), OLD %u, NEW %u, BRICK %u "
                       "(%u outside the window), %u rerun failure(s)</dd>",
                    k->sweep_ok ? "PASS" : "FAIL", (unsigned)k->cut_points, (unsigned)k->stride,
                    k->stride == 1 ? "" : "th", (unsigned)k->outcomes[RF_BOOT_OLD], (unsigned)k->outcomes[RF_BOOT_NEW],
                    (unsigned)k->outcomes[RF_BOOT_BRICK], (unsigned)k->brick_outside, (unsigned)k->rerun_failures);
        }
    }
    if (k->warning[0]) {
        fprintf(f, "<dt>warning</dt><dd class=\"warn\">");
        esc(f, k->warning);
        fprintf(f, "</dd>");
    }
    fprintf(f, "</dl>\n<h3>Flash before</h3>\n");
    svg_map(f, &k->before_map, "flash before the migration");
    region_table(f, &k->before_map);
    if (k->ran && k->after_map.n > 0) {
        fprintf(f, "<h3>Flash after the migration%s</h3>\n",
                k->after_map.table_valid ? "" : " (no partition table left: partitions as before)");
        svg_map(f, &k->after_map, "flash after the migration");
        region_table(f, &k->after_map);
    }
    fprintf(f, "</section>\n");
}

static const char k_css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;color:#212529;background:#fff}"
    "h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:0 0 8px}h3{font-size:14px;margin:14px 0 4px;color:#495057}"
    ".meta{color:#6c757d;margin:0 0 14px}table{border-collapse:collapse;font-size:13px}"
    "th,td{border-bottom:1px solid #dee2e6;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#f1f3f5}td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}"
    ".safe{background:#2b8a3e}.refused{background:#e67700}.unsafe{background:#c92a2a}.error{background:#495057}"
    ".kind{border:1px solid #dee2e6;border-radius:8px;padding:14px 16px;margin:18px 0}"
    "dl{display:grid;grid-template-columns:150px 1fr;gap:3px 12px;font-size:13px;margin:0}dt{color:#6c757d}dd{margin:0}"
    "code{background:#f1f3f5;padding:0 3px;border-radius:3px}"
    "svg.map{display:block;max-width:100%;height:auto}svg .lbl{font-size:11px;font-weight:600;fill:#fff}"
    "svg .sub{font-size:10px;fill:#fff}svg .wr{font-size:10px;fill:#d62828}svg .ax line{stroke:#868e96}"
    "svg .ax text{font-size:10px;fill:#868e96}table.regions{margin:4px 0 0;font-size:12px}"
    ".warn{color:#c92a2a;font-weight:600}.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}";

bool fleet_write_html(const char *path, const fleet_report_t *r)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return false;
    }
    int cnt[4] = { 0, 0, 0, 0 };
    for (int i = 0; i < r->n; i++) {
        cnt[r->k[i].verdict]++;
    }
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Fleet rehearsal: ");
    esc(f, r->fleet_file);
    fprintf(f, "</title><style>%s</style></head><body>\n<h1>Fleet rehearsal</h1>\n<p class=\"meta\">", k_css);
    esc(f, r->fleet_file);
    fprintf(f, " &middot; %s migration:", r->mode);
    for (int i = 0; i < r->nimages; i++) {
        fprintf(f, " <code>");
        esc(f, r->images[i]);
        fprintf(f, "</code>");
    }
    fprintf(f, "<br>%d device kinds: <span class=\"badge safe\">%d SAFE</span> <span class=\"badge refused\">%d "
               "REFUSED</span> <span class=\"badge unsafe\">%d UNSAFE</span> <span class=\"badge error\">%d ERROR</span></p>\n",
            r->n, cnt[FLEET_SAFE], cnt[FLEET_REFUSED], cnt[FLEET_UNSAFE], cnt[FLEET_ERROR]);
    fprintf(f, "<table class=\"kinds\"><tr><th>kind</th><th>chip</th><th>flash</th><th>verdict</th><th>plan</th>"
               "<th>end state</th><th>brick window</th><th>device time</th><th>erased</th><th>power-cut sweep</th></tr>\n");
    for (int i = 0; i < r->n; i++) {
        kind_row(f, &r->k[i], i);
    }
    fprintf(f, "</table>\n<p class=\"legend meta\">maps: <span style=\"background:#e76f51\"></span>bootloader"
               "<span style=\"background:#f4a261\"></span>partition table<span style=\"background:#2a9d8f\"></span>ESP app"
               "<span style=\"background:#457b9d\"></span>MCUboot image<span style=\"background:#e9c46a\"></span>otadata"
               "<span style=\"background:#8ab17d\"></span>data<span style=\"background:#eef1f4;border:1px solid #ccc\"></span>blank"
               "<span style=\"background:#343a40\"></span>sectors holding data"
               "<span style=\"border:2px dashed #d62828\"></span>written by the migration; the first 64 KiB are "
               "drawn wider</p>\n");
    for (int i = 0; i < r->n; i++) {
        kind_section(f, &r->k[i], i);
    }
    fprintf(f, "<p class=\"meta\">Generated by <code>reflasher fleet</code> on simulated devices (NOR-flash timing "
               "model); nothing was written to a real device.</p>\n</body></html>\n");
    return fclose(f) == 0;
}
