/* ab_report.c — report.html of `pressctl ab`: one self-contained page (the CSS inline,
 * the images inlined as data: URIs, the plots SVG drawn here), so it opens from a
 * file, a mail or an artifact store with nothing fetched. Every string from a job, a
 * config or a model's answer is HTML-escaped (html_text). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab.h"
#include "base/alloc.h"
#include "base/base64.h"
#include "base/fileio.h"
#include "base/stats.h"

static const char *const COLOURS[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
                                      "#e377c2"};
#define COLOUR(m) COLOURS[(m) % (int)(sizeof COLOURS / sizeof COLOURS[0])]

/* s with & < > " ' escaped: safe in text and in quoted attributes. */
static void html_text(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void usd(FILE *f, int64_t micros, int n) {
    if (n) fprintf(f, "$%.4f", (double)micros / 1e6 / n);
    else fputs("&ndash;", f);
}

static const char CSS[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}"
    "table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}"
    ".plots{display:flex;flex-wrap:wrap;gap:16px}.plots figure{margin:0}"
    ".job{border-top:1px solid #ddd;padding:8px 0}.pair{display:flex;flex-wrap:wrap;gap:12px}"
    ".pair figure{margin:0;width:360px}.frame{position:relative}.frame img{display:block;width:100%}"
    ".frame svg{position:absolute;left:0;top:0;width:100%;height:100%}"
    ".pass{color:#1a7f37;font-weight:600}.fail{color:#c62828;font-weight:600}.note{color:#666}"
    "code{background:#f6f6f6;padding:0 3px}";

/* ==== Tables ==== */

static void summary_tables(FILE *f, const ab_run_t *run) {
    fputs("<h2>Models</h2>\n<table id=\"summary\"><tr><th>model</th><th>provider</th><th>seed</th><th>requests</th>"
          "<th>rendered</th><th>accepted</th><th>pass rate</th><th>$/image</th><th>$/accepted image</th></tr>\n",
          f);
    for (int m = 0; m < run->n_models; m++) {
        const ab_model_summary_t *s = &run->summary[m];
        fputs("<tr><td>", f);
        html_text(f, run->models[m].name);
        fputs("</td><td>", f);
        html_text(f, run->models[m].cfg->provider);
        fputs("</td><td>", f);
        if (s->seed_not_sent) {
            fputs("<span class=\"note\">not sent: ", f);
            html_text(f, s->seed_note[0] ? s->seed_note : "the provider takes no seed");
            fputs("</span>", f);
        } else fputs("sent", f);
        fprintf(f, "</td><td>%d</td><td>%d</td><td>%d</td><td>%.1f%%</td><td>", s->requests, s->rendered, s->accepted,
                s->requests ? 100.0 * s->accepted / s->requests : 0);
        usd(f, s->cost_micros, s->rendered);
        fputs("</td><td>", f);
        usd(f, s->cost_micros, s->accepted);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n<h2>Pass rate by check</h2>\n<table id=\"checks\"><tr><th>model</th>", f);
    for (int c = 0; c < AB_N_CHECKS; c++) fprintf(f, "<th>%s</th>", AB_CHECK_NAMES[c]);
    fputs("</tr>\n", f);
    for (int m = 0; m < run->n_models; m++) {
        const ab_model_summary_t *s = &run->summary[m];
        fputs("<tr><td>", f);
        html_text(f, run->models[m].name);
        fputs("</td>", f);
        for (int c = 0; c < AB_N_CHECKS; c++)
            fprintf(f, "<td>%.1f%%</td>", s->verified ? 100.0 * s->check_pass[c] / s->verified : 0);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<h2>Time per step (ms)</h2>\n<table id=\"steps\"><tr><th>model</th><th>step</th><th>p50</th>"
          "<th>p95</th><th>p99</th></tr>\n",
          f);
    for (int m = 0; m < run->n_models; m++)
        for (int st = 0; st < AB_N_STEPS; st++) {
            const ab_model_summary_t *s = &run->summary[m];
            fputs("<tr><td>", f);
            html_text(f, run->models[m].name);
            fprintf(f, "</td><td>%s</td><td>%.2f</td><td>%.2f</td><td>%.2f</td></tr>\n", AB_STEP_NAMES[st],
                    s->pct_ms[st][0], s->pct_ms[st][1], s->pct_ms[st][2]);
        }
    fputs("</table>\n", f);
}

/* Per template and model (only when a job names a template): requests, accepted, pass
 * rate, $/accepted image. Jobs without a template are the row "(none)". */
static void template_table(FILE *f, const ab_run_t *run) {
    bool any = false;
    for (int j = 0; j < run->n_jobs; j++) any |= run->jobs[j].template_name[0] != 0;
    if (!any) return;
    fputs("<h2>By template</h2>\n<table id=\"templates\"><tr><th>template</th><th>model</th><th>requests</th>"
          "<th>accepted</th><th>pass rate</th><th>$/accepted image</th></tr>\n",
          f);
    for (int j = 0; j < run->n_jobs; j++) {
        const char *t = run->jobs[j].template_name;
        bool seen = false; /* one row group per template, at its first job */
        for (int k = 0; k < j && !seen; k++) seen = !strcmp(run->jobs[k].template_name, t);
        if (seen) continue;
        for (int m = 0; m < run->n_models; m++) {
            int requests = 0, accepted = 0;
            int64_t cost = 0;
            for (int i = 0; i < run->n_results; i++) {
                const ab_result_t *r = &run->results[i];
                if (r->model != m || strcmp(run->jobs[r->job].template_name, t)) continue;
                requests++;
                accepted += r->verified && r->pass;
                cost += r->cost_micros;
            }
            fputs("<tr><td>", f);
            html_text(f, t[0] ? t : "(none)");
            fputs("</td><td>", f);
            html_text(f, run->models[m].name);
            fprintf(f, "</td><td>%d</td><td>%d</td><td>%.1f%%</td><td>", requests, accepted,
                    requests ? 100.0 * accepted / requests : 0);
            usd(f, cost, accepted);
            fputs("</td></tr>\n", f);
        }
    }
    fputs("</table>\n", f);
}

/* ==== Plots ==== */

#define PW 460
#define PH 300
#define PL 56 /* left margin: the y axis labels */
#define PB 40 /* bottom margin: the x axis labels */
#define PT 16
#define PR 16

static double px(double v, double max) { return PL + (max > 0 ? v / max : 0) * (PW - PL - PR); }
static double py(double v, double max) { return PH - PB - (max > 0 ? v / max : 0) * (PH - PB - PT); }

/* Axes with 5 ticks each; the labels' values are formatted with fmt. */
static void axes(FILE *f, double xmax, const char *xfmt, const char *xlabel, double ymax, const char *yfmt,
                 const char *ylabel) {
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>", PL, PH - PB, PW - PR, PH - PB);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>", PL, PT, PL, PH - PB);
    for (int i = 0; i <= 4; i++) {
        double xv = xmax * i / 4, yv = ymax * i / 4;
        char label[32];
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">", px(xv, xmax), PH - PB + 14);
        snprintf(label, sizeof label, xfmt, xv);
        fprintf(f, "%s</text>", label);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">", PL - 4, py(yv, ymax) + 4);
        snprintf(label, sizeof label, yfmt, yv);
        fprintf(f, "%s</text>", label);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>", PL + 1, py(yv, ymax),
                PW - PR, py(yv, ymax));
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">%s</text>", (PL + PW - PR) / 2,
            PH - 6, xlabel);
    fprintf(f, "<text x=\"12\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 12 %d)\">%s</text>",
            (PT + PH - PB) / 2, (PT + PH - PB) / 2, ylabel);
}

static void legend(FILE *f, const ab_run_t *run) {
    for (int m = 0; m < run->n_models; m++) {
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>", PL + 8, PT + 4 + 14 * m, COLOUR(m));
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\">", PL + 22, PT + 13 + 14 * m);
        html_text(f, run->models[m].name);
        fputs("</text>", f);
    }
}

static void plot_latency_cdf(FILE *f, const ab_run_t *run) {
    int64_t *v = xcalloc((size_t)run->n_results + 1, sizeof *v);
    double xmax = 0;
    for (int i = 0; i < run->n_results; i++)
        if (run->results[i].rendered && run->results[i].step_us[AB_STEP_REQUEST] / 1000.0 > xmax)
            xmax = run->results[i].step_us[AB_STEP_REQUEST] / 1000.0;
    xmax = xmax > 0 ? xmax * 1.05 : 1;
    fprintf(f, "<figure><svg id=\"plot-latency-cdf\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" role=\"img\"><title>Request latency CDF per model</title>",
            PW, PH, PW, PH);
    axes(f, xmax, "%.0f", "request latency (ms)", 1, "%.2f", "fraction of requests");
    for (int m = 0; m < run->n_models; m++) {
        size_t n = 0;
        for (int i = 0; i < run->n_results; i++)
            if (run->results[i].model == m && run->results[i].rendered) v[n++] = run->results[i].step_us[AB_STEP_REQUEST];
        stats_sort_i64(v, n);
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%.1f,%.1f", COLOUR(m),
                px(0, xmax), py(0, 1));
        for (size_t i = 0; i < n; i++)
            fprintf(f, " %.1f,%.1f %.1f,%.1f", px(v[i] / 1000.0, xmax), py((double)i / n, 1), px(v[i] / 1000.0, xmax),
                    py((double)(i + 1) / n, 1));
        fputs("\"/>", f);
    }
    legend(f, run);
    fputs("</svg><figcaption>Latency CDF (submit to answer)</figcaption></figure>\n", f);
    free(v);
}

static void plot_pass_by_check(FILE *f, const ab_run_t *run) {
    fprintf(f, "<figure><svg id=\"plot-pass-by-check\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" role=\"img\"><title>Pass rate by check per model</title>",
            PW, PH, PW, PH);
    axes(f, 0, "", "check", 1, "%.2f", "pass rate");
    double group = (double)(PW - PL - PR) / AB_N_CHECKS, bar = group * 0.8 / run->n_models;
    for (int c = 0; c < AB_N_CHECKS; c++) {
        double x0 = PL + group * c + group * 0.1;
        for (int m = 0; m < run->n_models; m++) {
            const ab_model_summary_t *s = &run->summary[m];
            double rate = s->verified ? (double)s->check_pass[c] / s->verified : 0;
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>", x0 + bar * m,
                    py(rate, 1), bar, py(0, 1) - py(rate, 1), COLOUR(m));
            html_text(f, run->models[m].name);
            fprintf(f, " %s: %.1f%%</title></rect>", AB_CHECK_NAMES[c], rate * 100);
        }
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>", x0 + group * 0.4,
                PH - PB + 14, AB_CHECK_NAMES[c]);
    }
    fputs("</svg><figcaption>Pass rate by check</figcaption></figure>\n", f);
}

static void plot_cost_vs_pass(FILE *f, const ab_run_t *run) {
    double xmax = 0;
    for (int m = 0; m < run->n_models; m++) {
        const ab_model_summary_t *s = &run->summary[m];
        double c = s->rendered ? (double)s->cost_micros / 1e6 / s->rendered : 0;
        if (c > xmax) xmax = c;
    }
    xmax = xmax > 0 ? xmax * 1.25 : 0.01;
    fprintf(f, "<figure><svg id=\"plot-cost-vs-pass\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" role=\"img\"><title>Cost per image against pass rate</title>",
            PW, PH, PW, PH);
    axes(f, xmax, "$%.4f", "$ per image", 1, "%.2f", "pass rate");
    for (int m = 0; m < run->n_models; m++) {
        const ab_model_summary_t *s = &run->summary[m];
        double c = s->rendered ? (double)s->cost_micros / 1e6 / s->rendered : 0;
        double rate = s->requests ? (double)s->accepted / s->requests : 0;
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"%s\"/>", px(c, xmax), py(rate, 1), COLOUR(m));
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">", px(c, xmax) + 9, py(rate, 1) + 4);
        html_text(f, run->models[m].name);
        fputs("</text>", f);
    }
    fputs("</svg><figcaption>Cost per image vs pass rate</figcaption></figure>\n", f);
}

/* ==== Images side by side ==== */

/* The verifier's text boxes of r over its image: expected lines (green when matched,
 * red when not) and unexpected text (orange). */
static void text_boxes(FILE *f, const ab_result_t *r) {
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(r->report, "size");
    int w = cJSON_IsNumber(cJSON_GetArrayItem(size, 0)) ? cJSON_GetArrayItem(size, 0)->valueint : 0;
    int h = cJSON_IsNumber(cJSON_GetArrayItem(size, 1)) ? cJSON_GetArrayItem(size, 1)->valueint : 0;
    if (w <= 0 || h <= 0) return;
    fprintf(f, "<svg class=\"boxes\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
               "preserveAspectRatio=\"none\">",
            w, h);
    const cJSON *checks = cJSON_GetObjectItemCaseSensitive(r->report, "checks"), *it;
    const char *lists[] = {"text", "extra_text"};
    for (int l = 0; l < 2; l++)
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(checks, lists[l])) {
            const cJSON *box = cJSON_GetObjectItemCaseSensitive(it, "box");
            if (cJSON_GetArraySize(box) != 4) continue;
            double b[4];
            for (int k = 0; k < 4; k++) b[k] = cJSON_GetArrayItem(box, k)->valuedouble;
            const char *colour = l ? "#ff8f00" : cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "match")) ? "#00c853"
                                                                                                           : "#d50000";
            const cJSON *read = cJSON_GetObjectItemCaseSensitive(it, "read");
            fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"%s\" "
                       "stroke-width=\"%d\"><title>",
                    b[0], b[1], b[2], b[3], colour, w / 200 + 2);
            html_text(f, cJSON_IsString(read) ? read->valuestring : "");
            fputs("</title></rect>", f);
        }
    fputs("</svg>", f);
}

static void reading_list(FILE *f, const ab_result_t *r) {
    cJSON *reading = ab_reading(r);
    const cJSON *it;
    fputs("<ul class=\"reading\">", f);
    cJSON_ArrayForEach(it, reading) {
        const cJSON *exp = cJSON_GetObjectItemCaseSensitive(it, "expected");
        fputs("<li>", f);
        if (cJSON_IsString(exp)) {
            fputs("expected <code>", f);
            html_text(f, exp->valuestring);
            fputs("</code>, read ", f);
        } else fputs("unexpected text ", f);
        fputs("<code>", f);
        html_text(f, cJSON_GetObjectItemCaseSensitive(it, "read")->valuestring);
        fputs("</code></li>", f);
    }
    fputs("</ul>", f);
    cJSON_Delete(reading);
}

static int one_image(FILE *f, const ab_run_t *run, const ab_result_t *r, char *err, size_t errlen) {
    const ab_model_t *m = &run->models[r->model];
    fputs("<figure class=\"result\"><figcaption><b>", f);
    html_text(f, m->name);
    fputs("</b> ", f);
    if (!r->rendered) {
        fputs("<span class=\"fail\">no image</span>: ", f);
        html_text(f, r->reason);
        fputs(" &mdash; ", f);
        html_text(f, r->detail);
        fputs("</figcaption></figure>", f);
        return 0;
    }
    fprintf(f, "<span class=\"%s\">%s</span>", r->pass ? "pass" : "fail", r->pass ? "pass" : "fail");
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r->report, "reasons")) {
        fputs(" <code>", f);
        html_text(f, cJSON_IsString(it) ? it->valuestring : "");
        fputs("</code>", f);
    }
    fprintf(f, " <span class=\"note\">%.0f ms, $%.4f</span></figcaption>", r->step_us[AB_STEP_REQUEST] / 1000.0,
            (double)r->cost_micros / 1e6);
    if (r->image[0]) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", run->out_dir, r->image);
        size_t len = 0;
        char *png = file_read_all(path, 64u << 20, &len, err, errlen);
        if (!png) return -1;
        char *b64 = base64_encode(png, len, NULL);
        free(png);
        if (!b64) return snprintf(err, errlen, "out of memory encoding %s", path), -1;
        fputs("<div class=\"frame\"><img alt=\"", f);
        html_text(f, m->name);
        fprintf(f, "\" src=\"data:image/png;base64,%s\">", b64);
        free(b64);
        text_boxes(f, r);
        fputs("</div>", f);
    }
    reading_list(f, r);
    fputs("</figure>", f);
    return 0;
}

static int side_by_side(FILE *f, const ab_run_t *run, char *err, size_t errlen) {
    fputs("<h2>Jobs</h2>\n", f);
    for (int j = 0; j < run->n_jobs; j++)
        for (int s = 0; s < run->n_seeds; s++) {
            const job_t *job = &run->jobs[j];
            fputs("<section class=\"job\"><h3>", f);
            html_text(f, job->job_id);
            fprintf(f, " &middot; seed %" PRIu64 "</h3><p class=\"note\">", run->seeds[s]);
            html_text(f, job->prompt);
            fputs("</p><p class=\"diff\">", f);
            unsigned diff = ab_differing_checks(run, j, s);
            if (!diff) fputs("the models agree on every check", f);
            else {
                fputs("checks that differ:", f);
                for (int c = 0; c < AB_N_CHECKS; c++)
                    if (diff & (1u << c)) fprintf(f, " <code>%s</code>", AB_CHECK_NAMES[c]);
            }
            fputs("</p><div class=\"pair\">", f);
            for (int m = 0; m < run->n_models; m++)
                if (one_image(f, run, ab_result(run, j, s, m), err, errlen)) return -1;
            fputs("</div></section>\n", f);
        }
    return 0;
}

int ab_write_report(const ab_run_t *run, const char *path, char *err, size_t errlen) {
    char tmp[1300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return snprintf(err, errlen, "cannot write %s", tmp), -1;
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
               "style-src 'unsafe-inline'\"><title>pressroom A/B</title><style>%s</style></head><body>\n",
            CSS);
    fprintf(f, "<h1>pressroom A/B</h1><p>%d jobs &times; %d seeds &times; %d models = %d requests, concurrency %d, "
               "%.1f s. Every model got the same prompt and seed; a provider that takes no seed is marked in the "
               "table.</p>\n",
            run->n_jobs, run->n_seeds, run->n_models, run->n_results, run->concurrency, run->wall_ms / 1000.0);
    summary_tables(f, run);
    template_table(f, run);
    fputs("<h2>Plots</h2><div class=\"plots\">\n", f);
    plot_latency_cdf(f, run);
    plot_pass_by_check(f, run);
    plot_cost_vs_pass(f, run);
    fputs("</div>\n", f);
    int rc = side_by_side(f, run, err, errlen);
    fputs("</body></html>\n", f);
    if (fclose(f) != 0 && !rc) {
        snprintf(err, errlen, "cannot write %s", tmp);
        rc = -1;
    }
    if (!rc && rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s", tmp, path);
        rc = -1;
    }
    if (rc) remove(tmp);
    return rc;
}
