/* Text: token attributions as highlighted HTML, one paragraph per row. Each token is a span
 * whose background goes from white toward red (raises the output) or blue (lowers it) as its
 * |value| reaches the 99th percentile of |value| over the rows drawn; hovering shows the
 * value. Tokens are the words of --vocabulary (one per line, line i for id i, as Keras's
 * TextVectorization and BERT's vocab.txt list them; padding is left out: an empty entry, as
 * Keras's, or "[PAD]" and "<pad>", as BERT's and sentencepiece's), or the ids themselves
 * without one. The page is self-contained. */
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_padding(const char *word)
{
    return !*word || strcmp(word, "[PAD]") == 0 || strcmp(word, "<pad>") == 0;
}

typedef struct {
    char *text;   /* the file, its newlines made ends of strings */
    char **words; /* [count], into text */
    size_t count;
} vocabulary;

static gbx_status read_vocabulary(const char *path, vocabulary *v, gbx_error *error)
{
    size_t length;
    gbx_status status = gbx_read_file(path, &v->text, &length, error);
    if (status != GBX_OK) return status;
    size_t lines = 1;
    for (size_t i = 0; i < length; i++) lines += v->text[i] == '\n';
    if (!(v->words = gbx_malloc_array(lines, sizeof(char *))))
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    char *line = v->text;
    for (char *end; line && *line; line = end ? end + 1 : NULL) {
        end = strchr(line, '\n');
        if (end) *end = 0;
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r') line[n - 1] = 0;
        v->words[v->count++] = line;
    }
    return GBX_OK;
}

gbx_status plot_text(const plot_request *request, gbx_error *error)
{
    const gbx_explanation *d = request->document;
    size_t M = d->features, K = d->outputs, k = request->output, first, last;
    plot_rows(request, &first, &last);
    if (strcmp(request->format, "html") != 0)
        return gbx_fail(error, GBX_ERR_USAGE, "text plots are written as .html (format html), not %s",
                        request->format);
    vocabulary words = {0};
    gbx_status status = request->options->vocabulary
                            ? read_vocabulary(request->options->vocabulary, &words, error) : GBX_OK;
    size_t cells = (last - first) * M;
    double *magnitudes = status == GBX_OK ? gbx_malloc_array(cells, sizeof(double)) : NULL;
    FILE *f = NULL;
    if (status == GBX_OK && (!magnitudes || !(f = open_memstream(request->bytes, request->length))))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (status == GBX_OK) {
        for (size_t r = first; r < last; r++)
            for (size_t j = 0; j < M; j++)
                magnitudes[(r - first) * M + j] = fabs(d->values[(r * K + k) * M + j]);
        double clip = plot_clip(magnitudes, cells);
        char number[32], title[256];
        plot_number(clip, number, sizeof number);
        snprintf(title, sizeof title, "Token attributions: %s (%s)%s", d->output_names[k],
                 plot_unit(d), K > 1 && !request->chosen ? ", the first output" : "");
        fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta "
              "http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src "
              "'unsafe-inline'\">\n<title>", f);
        canvas_escape(f, title);
        fputs("</title>\n<style>body{font-family:'DejaVu Sans',Verdana,sans-serif;color:#333;"
              "max-width:900px;margin:24px auto;padding:0 16px;line-height:2}p.row{margin:6px 0 18px}"
              "span.token{padding:2px 3px;border-radius:3px;margin:0 1px}.note{color:#666;"
              "font-size:90%;line-height:1.4}</style>\n</head>\n<body>\n<h1>", f);
        canvas_escape(f, title);
        fprintf(f, "</h1>\n<p class=\"note\">Red raises the output, blue lowers it; colours reach "
                "full strength at |value| %s (the 99th percentile of the tokens shown). Hover a "
                "token for its value.</p>\n", number);
        for (size_t r = first; r < last; r++) {
            char prediction[32], base[32];
            plot_number(d->predictions[r * K + k], prediction, sizeof prediction);
            plot_number(d->base_values[r * K + k], base, sizeof base);
            fprintf(f, "<h2>Row %zu</h2>\n<p class=\"note\">prediction %s, base value %s</p>\n"
                    "<p class=\"row\" data-row=\"%zu\">", r, prediction, base, r);
            for (size_t j = 0; j < M; j++) {
                long column = plot_column(d, j);
                double id = column >= 0 ? d->data[r * d->columns + (size_t)column] : NAN;
                char token[64];
                const char *shown = token;
                if (isnan(id)) snprintf(token, sizeof token, "%s", d->feature_names[j]);
                else if (words.count) {
                    if (id < 0 || id >= (double)words.count || id != floor(id)) {
                        status = gbx_fail(error, GBX_ERR_USAGE, "row %zu, %s: token %.17g is not in "
                                          "the vocabulary %s (%zu entries)", r, d->feature_names[j],
                                          id, request->options->vocabulary, words.count);
                        break;
                    }
                    shown = words.words[(size_t)id];
                    if (is_padding(shown)) continue;
                } else {
                    snprintf(token, sizeof token, "%.17g", id);
                }
                double value = d->values[(r * K + k) * M + j];
                canvas_colour c = canvas_diverging(value / clip);
                plot_number(value, number, sizeof number);
                /* Dark backgrounds take white text. */
                fprintf(f, "<span class=\"token\" style=\"background:#%02x%02x%02x%s\" title=\"%s%s\" "
                        "data-value=\"%.17g\">", (int)(c.r * 255 + 0.5), (int)(c.g * 255 + 0.5),
                        (int)(c.b * 255 + 0.5), fabs(value) > 0.6 * clip ? ";color:#fff" : "",
                        value > 0 ? "+" : "", number, value);
                canvas_escape(f, shown);
                fputs("</span> ", f);
            }
            fputs("</p>\n", f);
            if (status != GBX_OK) break;
        }
        fputs("</body>\n</html>\n", f);
        int failed = ferror(f);
        failed |= fclose(f) != 0;
        if (status == GBX_OK && failed) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        if (status != GBX_OK) {
            free(*request->bytes);
            *request->bytes = NULL;
        }
    }
    free(magnitudes);
    free(words.words);
    free(words.text);
    return status;
}
