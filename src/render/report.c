/* The HTML report: one self-contained file (inline SVG, CSS and a little plain JavaScript, a
 * Content-Security-Policy that forbids every fetch) that a colleague can open from an e-mail.
 *
 *   provenance   what made the explanation: model SHA-256, method, parameters, seed, the
 *                additivity error recomputed from the file
 *   importance   the bar plot over every row, the beeswarm over at most `sample` rows
 *   rows         every row in a table (prediction, principal reason) that the script
 *                searches, sorts and pages; the rows travel as JSON, not as table markup, so
 *                10,000 rows stay light
 *   details      a section per chosen row: waterfall, force (and the image plot for an image
 *                input), reasons in words, and where the row's top features stand among all
 *                rows (histograms), paged by the script
 *
 * The plots are the same drawings `glassbox plot` writes, kept as SVG text. */
#include "glassbox.h"
#include "plot.h"
#include "reasons.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HISTOGRAMS_PER_ROW 3

void gbx_report_options_init(gbx_report_options *options)
{
    memset(options, 0, sizeof *options);
    options->output = -1;
    options->sample = 1000;
    options->audience = GBX_AUDIENCE_ANALYST; /* a report is for colleagues */
    options->top = 4;
}

/* A JSON string inside a <script> element: every "<" is written \u003c, so no text can end
 * the element or open a comment in it ("</script>", "<!--"). */
static void script_string(FILE *f, const char *text)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '<') fputs("\\u003c", f);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

/* A number for the JSON rows: finite, or null. */
static void script_number(FILE *f, double value)
{
    if (isfinite(value)) fprintf(f, "%.6g", value == 0 ? 0.0 : value);
    else fputs("null", f);
}

typedef struct {
    const gbx_explanation *document;
    const gbx_explanation *drawn; /* what the plots show: its groups, as the audience may see */
    const gbx_feature_metadata *features;
    size_t output;
    int chosen;
    FILE *out;
    const gbx_reasons *reasons; /* every explained row's, in order */
    char *const *labels;  /* the drawn features' labels, as the audience may see them */
    int grouped_by_report; /* groups given to the report, over an explanation per column */
    int log_odds;         /* predictions are log-odds: probabilities are shown too */
} report;

/* One plot drawn into the report as inline SVG. */
static gbx_status figure(const report *r, gbx_status (*draw)(const plot_request *, gbx_error *),
                         const gbx_plot_options *options, const char *role, gbx_error *error)
{
    char *svg = NULL;
    size_t length = 0;
    plot_request request = {r->drawn, r->output, r->chosen, options, r->features, r->labels, "svg",
                            1, &svg, &length};
    gbx_status status = draw(&request, error);
    if (status == GBX_OK) {
        fprintf(r->out, "<figure class=\"plot %s\">%s</figure>\n", role, svg);
        free(svg);
    }
    return status;
}

static double probability(double log_odds)
{
    return 1 / (1 + exp(-log_odds));
}

static void fact(FILE *f, const char *name, const char *value, int code)
{
    fputs("<tr><th>", f);
    canvas_escape(f, name);
    fputs(code ? "</th><td><code>" : "</th><td>", f);
    canvas_escape(f, value);
    fputs(code ? "</code></td></tr>\n" : "</td></tr>\n", f);
}

static void write_provenance(const report *r)
{
    const gbx_explanation *d = r->document;
    FILE *f = r->out;
    size_t M = d->features, K = d->outputs;
    /* Additivity: base value plus the values against the prediction, every row and output. */
    double worst = 0, total = 0;
    size_t worst_row = 0;
    for (size_t row = 0; row < d->rows; row++)
        for (size_t k = 0; k < K; k++) {
            double sum = d->base_values[row * K + k];
            for (size_t j = 0; j < M; j++) sum += d->values[(row * K + k) * M + j];
            double gap = fabs(sum - d->predictions[row * K + k]);
            total += gap;
            if (gap > worst) worst = gap, worst_row = row;
        }
    char text[256];
    fputs("<section id=\"provenance\">\n<h2>Provenance</h2>\n<table class=\"facts\">\n", f);
    fact(f, "Model", d->model_type, 0);
    if (*d->objective) fact(f, "Objective", d->objective, 0);
    fact(f, "Model SHA-256", *d->model_sha256 ? d->model_sha256 : "not recorded", 1);
    if (*d->model_source) fact(f, "Served at", d->model_source, 1);
    if (*d->model_version) fact(f, "Served version", d->model_version, 0);
    fact(f, "Method", d->method, 0);
    fact(f, "Parameters", d->parameters, 1);
    snprintf(text, sizeof text, "%llu", (unsigned long long)d->seed);
    fact(f, "Seed", *d->method ? text : "not recorded", 0);
    snprintf(text, sizeof text, "%s (%s)", d->output_names[r->output], plot_unit(d));
    fact(f, "Output explained", text, 0);
    snprintf(text, sizeof text, "%zu rows, %zu features, %zu output%s", d->rows, M, K,
             K == 1 ? "" : "s");
    fact(f, "Explained", text, 0);
    snprintf(text, sizeof text, "largest %.3g (row %zu), mean %.3g: |base value + sum of values "
             "- prediction|", worst, worst_row, total / (double)(d->rows * K));
    fact(f, "Additivity error", text, 0);
    fact(f, "Written by", *d->version ? d->version : "not recorded", 0);
    /* One number per feature throughout: say which a group's number is. */
    if (d->group_of_column)
        fact(f, "Groups", "explained as groups: each group's value is its Shapley value as one "
             "player, in the plots and the reasons alike", 0);
    else if (r->grouped_by_report)
        fact(f, "Groups", "each group's value is the sum of its columns' values, in the plots "
             "and the reasons alike", 0);
    fputs("</table>\n</section>\n", f);
}

static gbx_status write_importance(const report *r, size_t sample, gbx_error *error)
{
    const gbx_explanation *d = r->drawn;
    FILE *f = r->out;
    fputs("<section id=\"importance\">\n<h2>Global importance</h2>\n", f);
    gbx_plot_options options;
    gbx_plot_options_init(&options);
    options.kind = "bar";
    gbx_status status = figure(r, plot_bar, &options, "bar", error);
    if (status != GBX_OK) return status;
    /* The beeswarm draws a dot per row and feature: above `sample` rows, every n/sample-th. */
    gbx_explanation *sampled = NULL;
    if (d->rows > sample) {
        size_t *rows = gbx_malloc_array(sample, sizeof(size_t));
        if (!rows) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < sample; i++) rows[i] = i * d->rows / sample;
        status = gbx_explanation_subset(d, rows, sample, &sampled, error);
        free(rows);
        if (status != GBX_OK) return status;
    }
    report view = *r;
    if (sampled) view.drawn = sampled;
    options.kind = "beeswarm";
    status = figure(&view, plot_beeswarm, &options, "beeswarm", error);
    if (status == GBX_OK && sampled)
        fprintf(f, "<p class=\"note\">The beeswarm shows %zu of the %zu rows, evenly spaced "
                "through the file; the bar plot averages all of them.</p>\n", sample, d->rows);
    gbx_explanation_free(sampled);
    fputs("</section>\n", f);
    return status;
}

/* The top reason of one row, or NULL. */
static const gbx_reason *top_reason(const report *r, size_t row)
{
    const gbx_reasons_row *entry = gbx_reasons_row_at(r->reasons, row);
    return entry && entry->count ? &entry->reasons[0] : NULL;
}

static void write_rows(const report *r, size_t first, size_t last)
{
    const gbx_explanation *d = r->document;
    FILE *f = r->out;
    size_t K = d->outputs, k = r->output;
    fprintf(f, "<section id=\"rows\">\n<h2>Rows</h2>\n<div class=\"controls\"><input id=\"search\" "
            "type=\"search\" placeholder=\"Search the rows (number, reason...)\" "
            "aria-label=\"Search the rows\"> <span id=\"row-count\"></span></div>\n"
            "<table id=\"row-table\" class=\"rows\"><thead><tr><th data-column=\"0\">Row</th>"
            "<th data-column=\"1\">Prediction (%s)</th>%s<th data-column=\"3\">Principal reason"
            "</th><th>Details</th></tr></thead><tbody></tbody></table>\n<div class=\"pager\" "
            "id=\"row-pager\"></div>\n<noscript><p>The table needs JavaScript; every row's "
            "details below do not.</p></noscript>\n<script type=\"application/json\" "
            "id=\"row-data\">[", plot_unit(d), r->log_odds ? "<th data-column=\"2\">Probability</th>" : "");
    for (size_t row = 0; row < d->rows; row++) {
        double prediction = d->predictions[row * K + k];
        fprintf(f, "%s\n[%zu,", row ? "," : "", row);
        script_number(f, prediction);
        fputc(',', f);
        if (r->log_odds) script_number(f, probability(prediction));
        else fputs("null", f);
        fputc(',', f);
        const gbx_reason *top = top_reason(r, row);
        const gbx_reasons_row *entry = gbx_reasons_row_at(r->reasons, row);
        char text[600];
        if (entry && entry->decision == GBX_DECISION_FAVOURABLE)
            snprintf(text, sizeof text, "favourable decision: no reasons are given");
        else if (top) snprintf(text, sizeof text, "%s (%s)", top->sentence, top->display);
        else snprintf(text, sizeof text, "nothing pushed it toward the adverse outcome");
        script_string(f, text);
        fprintf(f, ",%d]", row >= first && row < last);
    }
    fputs("\n]</script>\n</section>\n", f);
}

static void write_reason_list(const report *r, size_t row)
{
    FILE *f = r->out;
    const gbx_reasons_row *entry = gbx_reasons_row_at(r->reasons, row);
    if (entry && entry->decision == GBX_DECISION_FAVOURABLE) {
        fputs("<p class=\"reasons none\">A favourable decision: no reasons are given.</p>\n", f);
    } else if (!entry || !entry->count) {
        fputs("<p class=\"reasons none\">Nothing pushed this row toward the adverse outcome.</p>\n", f);
    } else {
        fputs("<ol class=\"reasons\">\n", f);
        for (size_t i = 0; i < entry->count; i++) {
            const gbx_reason *reason = &entry->reasons[i];
            char number[32];
            plot_number(reason->contribution, number, sizeof number);
            fputs("<li><span class=\"reason\">", f);
            canvas_escape(f, reason->sentence);
            fputs("</span> <span class=\"evidence\">(", f);
            canvas_escape(f, reason->display);
            fputs(" = ", f);
            canvas_escape(f, reason->value);
            fprintf(f, ", %s%s)</span>", reason->contribution >= 0 ? "+" : "", number);
            if (*reason->what_if) {
                fputs("<br><span class=\"what-if\">", f);
                canvas_escape(f, reason->what_if);
                fputs("</span>", f);
            }
            fputs("</li>\n", f);
        }
        fputs("</ol>\n", f);
    }
    if (entry && entry->sensitive_count) {
        char number[32];
        plot_number(entry->sensitive_total, number, sizeof number);
        fputs("<p class=\"sensitive\">Not used as reasons (sensitive): ", f);
        for (size_t s = 0; s < entry->sensitive_count; s++) {
            if (s) fputs(", ", f);
            canvas_escape(f, entry->sensitive[s]);
        }
        fprintf(f, "; together %s%s.</p>\n", entry->sensitive_total >= 0 ? "+" : "", number);
    }
}

static gbx_status write_details(const report *r, size_t first, size_t last, gbx_error *error)
{
    const gbx_explanation *d = r->drawn;
    FILE *f = r->out;
    size_t M = d->features, K = d->outputs, k = r->output;
    double *magnitude = gbx_malloc_array(M, sizeof(double));
    size_t *order = gbx_malloc_array(M, sizeof(size_t));
    gbx_status status = magnitude && order ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    fprintf(f, "<section id=\"details\">\n<h2>Row details</h2>\n<p class=\"note\">Rows %zu to %zu "
            "of %zu; pick a row in the table above to jump to it.</p>\n<div class=\"pager\" "
            "id=\"detail-pager\"></div>\n", first, last - 1, d->rows);
    for (size_t row = first; status == GBX_OK && row < last; row++) {
        double prediction = d->predictions[row * K + k], base = d->base_values[row * K + k];
        char number[32], base_text[32];
        plot_number(prediction, number, sizeof number);
        plot_number(base, base_text, sizeof base_text);
        fprintf(f, "<article class=\"row-section\" id=\"row-%zu\" data-row=\"%zu\">\n<h3>Row %zu</h3>\n"
                "<p class=\"prediction\">Prediction %s (%s)", row, row, row, number, plot_unit(d));
        if (r->log_odds)
            fprintf(f, ", probability %.1f%%; base value %s (probability %.1f%%)",
                    100 * probability(prediction), base_text, 100 * probability(base));
        else
            fprintf(f, "; base value %s", base_text);
        const gbx_reasons_row *entry = gbx_reasons_row_at(r->reasons, row);
        if (entry && entry->decision != GBX_DECISION_NONE)
            fprintf(f, ". Decision: <b>%s</b>", entry->decision == GBX_DECISION_ADVERSE
                                                    ? "adverse" : "favourable");
        fputs(".</p>\n<h4>Principal reasons</h4>\n", f);
        write_reason_list(r, row);
        gbx_plot_options options;
        gbx_plot_options_init(&options);
        options.row = row;
        fputs("<div class=\"plots\">\n", f);
        /* A network's image input is best read as the image itself. */
        if (d->input_rank >= 2 && d->data && d->columns == M) {
            options.kind = "image";
            status = figure(r, plot_image, &options, "image", error);
        }
        options.kind = "waterfall";
        if (status == GBX_OK) status = figure(r, plot_waterfall, &options, "waterfall", error);
        options.kind = "force";
        if (status == GBX_OK) status = figure(r, plot_force, &options, "force", error);
        fputs("</div>\n", f);
        /* The row's largest features that are data columns, each among all rows. */
        for (size_t j = 0; j < M; j++) magnitude[j] = fabs(d->values[(row * K + k) * M + j]);
        plot_order(magnitude, M, order);
        size_t drawn = 0;
        for (size_t i = 0; status == GBX_OK && i < M && drawn < HISTOGRAMS_PER_ROW; i++) {
            if (plot_column(d, order[i]) < 0) continue;
            if (!drawn++) fputs("<h4>Where this row stands</h4>\n<div class=\"plots\">\n", f);
            options.kind = "histogram";
            options.feature = d->feature_names[order[i]];
            status = figure(r, plot_histogram, &options, "histogram", error);
        }
        if (drawn) fputs("</div>\n", f);
        fputs("</article>\n", f);
    }
    fputs("</section>\n", f);
    free(magnitude);
    free(order);
    return status;
}

static const char style[] =
    "body{font-family:'DejaVu Sans',Verdana,sans-serif;color:#333;margin:0 auto;max-width:1100px;"
    "padding:0 24px 48px;line-height:1.45}h1{margin-top:28px}h2{border-bottom:1px solid #ccc;"
    "padding-bottom:4px;margin-top:40px}code{font-size:90%;word-break:break-all}"
    "table.facts th{text-align:left;padding:3px 16px 3px 0;vertical-align:top;white-space:nowrap}"
    "table.rows{border-collapse:collapse;width:100%}table.rows th,table.rows td{border-bottom:1px "
    "solid #e4e4e4;padding:4px 8px;text-align:left}table.rows th[data-column]{cursor:pointer;"
    "user-select:none}table.rows th[aria-sort=ascending]::after{content:' \\25B2'}"
    "table.rows th[aria-sort=descending]::after{content:' \\25BC'}table.rows td.number{text-align:right;"
    "font-variant-numeric:tabular-nums}.controls{margin:8px 0}#search{width:320px;padding:4px}"
    ".pager{margin:10px 0}.pager button{margin-right:6px}figure.plot{margin:8px 0}"
    "figure.plot svg{max-width:100%;height:auto}.plots{display:flex;flex-wrap:wrap;gap:8px}"
    "article.row-section{border-top:1px solid #e4e4e4;margin-top:24px}.what-if{color:#555;"
    "font-size:92%}.evidence{color:#666}.sensitive,.note{color:#666;font-size:92%}"
    "nav ol{padding-left:20px}";

/* Search, sort and pages for the row table; pages for the row sections. Plain DOM calls, no
 * library, nothing fetched. */
static const char script[] =
    "(function(){\n"
    "'use strict';\n"
    "var rows=JSON.parse(document.getElementById('row-data').textContent);\n"
    "var perPage=50,page=0,sortColumn=0,ascending=true,shown=rows;\n"
    "var body=document.querySelector('#row-table tbody');\n"
    "var search=document.getElementById('search');\n"
    "var hasProbability=!!document.querySelector('#row-table th[data-column=\"2\"]');\n"
    "function format(v,digits){return v===null?'':v.toPrecision(digits);}\n"
    "function text(r){return String(r[0])+' '+r[3];}\n"
    "function pager(element,pages,current,go){\n"
    "  element.textContent='';\n"
    "  if(pages<2)return;\n"
    "  var previous=document.createElement('button');previous.textContent='Previous';\n"
    "  previous.disabled=current===0;previous.onclick=function(){go(current-1);};\n"
    "  var next=document.createElement('button');next.textContent='Next';\n"
    "  next.disabled=current>=pages-1;next.onclick=function(){go(current+1);};\n"
    "  element.appendChild(previous);element.appendChild(next);\n"
    "  element.appendChild(document.createTextNode('Page '+(current+1)+' of '+pages));\n"
    "}\n"
    "function draw(){\n"
    "  var pages=Math.max(1,Math.ceil(shown.length/perPage));\n"
    "  if(page>=pages)page=pages-1;\n"
    "  body.textContent='';\n"
    "  shown.slice(page*perPage,(page+1)*perPage).forEach(function(r){\n"
    "    var tr=document.createElement('tr');\n"
    "    var cells=[String(r[0]),format(r[1],4)];\n"
    "    if(hasProbability)cells.push(r[2]===null?'':(100*r[2]).toFixed(1)+'%');\n"
    "    cells.push(r[3]);\n"
    "    cells.forEach(function(c,i){var td=document.createElement('td');td.textContent=c;\n"
    "      if(i>0&&i<cells.length-1)td.className='number';tr.appendChild(td);});\n"
    "    var td=document.createElement('td');\n"
    "    if(r[4]){var a=document.createElement('a');a.href='#row-'+r[0];a.textContent='details';td.appendChild(a);}\n"
    "    tr.appendChild(td);body.appendChild(tr);\n"
    "  });\n"
    "  document.getElementById('row-count').textContent=shown.length+' of '+rows.length+' rows';\n"
    "  pager(document.getElementById('row-pager'),pages,page,function(p){page=p;draw();});\n"
    "}\n"
    "function filter(){\n"
    "  var q=search.value.toLowerCase();\n"
    "  shown=rows.filter(function(r){return !q||text(r).toLowerCase().indexOf(q)>=0;});\n"
    "  shown.sort(function(a,b){var x=a[sortColumn],y=b[sortColumn];\n"
    "    if(x===y)return a[0]-b[0];if(x===null)return 1;if(y===null)return -1;\n"
    "    var c=typeof x==='string'?x.localeCompare(y):x-y;return ascending?c:-c;});\n"
    "  page=0;draw();\n"
    "}\n"
    "search.addEventListener('input',filter);\n"
    "document.querySelectorAll('#row-table th[data-column]').forEach(function(th){\n"
    "  th.addEventListener('click',function(){var c=Number(th.getAttribute('data-column'));\n"
    "    ascending=c===sortColumn?!ascending:true;sortColumn=c;\n"
    "    document.querySelectorAll('#row-table th').forEach(function(h){h.removeAttribute('aria-sort');});\n"
    "    th.setAttribute('aria-sort',ascending?'ascending':'descending');filter();});\n"
    "});\n"
    "var sections=Array.prototype.slice.call(document.querySelectorAll('article.row-section'));\n"
    "var sectionsPerPage=10,sectionPage=0;\n"
    "function showSections(p){\n"
    "  var pages=Math.max(1,Math.ceil(sections.length/sectionsPerPage));\n"
    "  sectionPage=Math.min(Math.max(p,0),pages-1);\n"
    "  sections.forEach(function(s,i){s.hidden=Math.floor(i/sectionsPerPage)!==sectionPage;});\n"
    "  pager(document.getElementById('detail-pager'),pages,sectionPage,showSections);\n"
    "}\n"
    "function follow(){\n"
    "  var m=/^#row-(\\d+)$/.exec(location.hash);if(!m)return;\n"
    "  var i=sections.findIndex(function(s){return s.getAttribute('data-row')===m[1];});\n"
    "  if(i<0)return;showSections(Math.floor(i/sectionsPerPage));sections[i].scrollIntoView();\n"
    "}\n"
    "window.addEventListener('hashchange',follow);\n"
    "filter();showSections(0);follow();\n"
    "})();\n";

/* The page itself, onto out. */
static gbx_status write_page(const report *r, const gbx_report_options *options, size_t first,
                             size_t last, gbx_error *error)
{
    const gbx_explanation *d = r->document;
    FILE *out = r->out;
    const char *title = options->title ? options->title : "Explanation report";
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          out);
    canvas_escape(out, title);
    fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<header>\n<h1>", style);
    canvas_escape(out, title);
    fprintf(out, "</h1>\n<p>%zu rows explained by <b>", d->rows);
    canvas_escape(out, d->method);
    fputs("</b> on a <b>", out);
    canvas_escape(out, d->model_type);
    fputs("</b> model; the values are in ", out);
    canvas_escape(out, plot_unit(d));
    fprintf(out, " and add up from the base value to each prediction. Red raises the output, "
            "blue lowers it; reasons point toward the %s outcome.</p>\n</header>\n",
            options->adverse_lower ? "lower" : "higher");
    fprintf(out, "<nav id=\"contents\">\n<h2>Contents</h2>\n<ol>\n<li><a href=\"#provenance\">"
            "Provenance</a></li>\n<li><a href=\"#importance\">Global importance</a></li>\n"
            "<li><a href=\"#rows\">Rows</a> (%zu)</li>\n<li><a href=\"#details\">Row details"
            "</a> (rows %zu to %zu)</li>\n</ol>\n</nav>\n", d->rows, first, last - 1);
    write_provenance(r);
    gbx_status status = write_importance(r, options->sample ? options->sample : 1000, error);
    if (status == GBX_OK) write_rows(r, first, last);
    if (status == GBX_OK) status = write_details(r, first, last, error);
    fprintf(out, "<script>\n%s</script>\n</body>\n</html>\n", script);
    return status;
}

gbx_status gbx_report_explanation(const gbx_explanation *explanation,
                                  const gbx_report_options *options, const char *output_path,
                                  gbx_error *error)
{
    if (!explanation || !options || !output_path)
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_report_explanation: NULL argument");
    const gbx_explanation *d = explanation;
    gbx_reasons *reasons = NULL;
    /* Plots draw groups as one feature; reasons say a group by its set column. */
    gbx_explanation *grouped = NULL;
    char *text = NULL;
    size_t length = 0;
    FILE *out = NULL;
    gbx_status status = GBX_OK;
    long output = options->output;
    if (options->output_name &&
        (output = gbx_explanation_output_index(d, options->output_name)) < 0)
        status = gbx_fail(error, GBX_ERR_USAGE, "the explanation has no output named \"%s\"",
                          options->output_name);
    if (status == GBX_OK && output >= 0 && (size_t)output >= d->outputs)
        status = gbx_fail(error, GBX_ERR_USAGE, "the explanation explains %zu output%s; there is "
                          "no output %ld", d->outputs, d->outputs == 1 ? "" : "s", output);
    size_t first = options->rows_first, last = options->rows_last ? options->rows_last
                                                                  : first + 100;
    if (status == GBX_OK && (first >= d->rows || last <= first))
        status = gbx_fail(error, GBX_ERR_USAGE, "the explanation holds %zu rows (0 to %zu); no "
                          "details for rows %zu to %zu", d->rows, d->rows - 1, first, last - 1);
    if (status == GBX_OK && last > d->rows) last = d->rows;
    /* Every row's reasons, worded once by the reasons module. */
    if (status == GBX_OK) {
        gbx_reasons_options o;
        gbx_reasons_options_init(&o);
        o.top = options->top;
        o.adverse_lower = options->adverse_lower;
        o.output = output;
        o.features = options->features;
        o.groups = options->groups;
        o.model = options->model;
        o.data = options->data;
        o.audience = options->audience;
        o.threshold = options->threshold;
        status = gbx_reasons_compute(d, &o, &reasons, error);
    }
    if (status == GBX_OK && options->groups)
        status = gbx_explanation_grouped(d, gbx_groups_of_feature(options->groups),
                                         gbx_groups_names(options->groups),
                                         gbx_groups_count(options->groups), &grouped, error);
    /* What the plots draw: the groups as one feature each, as the audience may see them. */
    plot_view view = {0};
    if (status == GBX_OK)
        status = plot_view_open(grouped ? grouped : d, options->features, options->audience,
                                &view, error);
    if (status == GBX_OK && !(out = open_memstream(&text, &length)))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (status == GBX_OK) {
        size_t k = output >= 0 ? (size_t)output : 0;
        report r = {d, view.explanation, options->features, k, output >= 0, out, reasons,
                    view.labels, options->groups != NULL,
                    strcmp(plot_unit(d), "log-odds") == 0 && d->outputs == 1};
        status = write_page(&r, options, first, last, error);
    }
    if (out) {
        int failed = ferror(out);
        failed |= fclose(out) != 0;
        if (status == GBX_OK && failed) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    if (status == GBX_OK) status = gbx_write_file(output_path, text, length, error);
    free(text);
    gbx_reasons_free(reasons);
    plot_view_close(&view);
    gbx_explanation_free(grouped);
    return status;
}

gbx_status gbx_report(const char *explanation_path, const gbx_report_options *options,
                      const char *output_path, gbx_error *error)
{
    if (!explanation_path || !options || !output_path)
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_report: NULL argument");
    gbx_explanation *explanation;
    gbx_status status = gbx_explanation_read(explanation_path, &explanation, error);
    if (status != GBX_OK) return status;
    status = gbx_report_explanation(explanation, options, output_path, error);
    gbx_explanation_free(explanation);
    return status;
}
