#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The library names its option fields (options.data); the command line knows them as flags. */
static const struct {
    const char *field, *flag;
} flag_of_field[] = {
    {"options.data", "--data"},     {"options.model", "--model"},
    {"options.groups", "--groups"}, {"options.output_name", "--output-name"},
    {"options.output", "--class"},  {"options.row", "--row"},
    {"options.layer", "--layer"},   {"options.background", "--background"},
    {"stratify:", "--background-stratify:"},
    {"options.max_evals", "--max-evals"}, {"options.feature", "--feature"},
    {"options.color", "--color"},         {"options.order", "--order"},
    {"options.timeout_seconds", "--model-timeout"},
    {"options.samples", "--nsamples"},     {"options.steps", "--steps"},
    {"options.softmax_rule", "--softmax-rule"},
};

/* Writes message with each option field worded as its flag. */
static void write_worded(FILE *out, const char *message)
{
    while (*message) {
        size_t best = 0, length = 0;
        for (size_t i = 0; i < sizeof flag_of_field / sizeof flag_of_field[0]; i++) {
            size_t n = strlen(flag_of_field[i].field);
            /* The longest field that starts here and is not part of a longer name. */
            if (n > length && strncmp(message, flag_of_field[i].field, n) == 0 &&
                !(isalnum((unsigned char)message[n]) || message[n] == '_'))
                best = i, length = n;
        }
        if (length) {
            fputs(flag_of_field[best].flag, out);
            message += length;
        } else {
            fputc(*message++, out);
        }
    }
}

/* The library's notes, on standard error. */
static void print_note(gbx_log_level level, const char *message, void *user)
{
    (void)user;
    fprintf(stderr, "%s: %s\n", level == GBX_LOG_WARNING ? "warning" : "note", message);
}

void cli_log(int quiet)
{
    gbx_set_log(quiet ? NULL : print_note, NULL);
}

int cli_report(const gbx_error *error)
{
    fputs("glassbox: ", stderr);
    return cli_report_bare(error);
}

int cli_report_bare(const gbx_error *error)
{
    write_worded(stderr, error->message);
    fputc('\n', stderr);
    switch (error->status) {
    case GBX_ERR_NOMEM:
    case GBX_ERR_INTERNAL: return EXIT_INTERNAL;
    default: return EXIT_BAD_INPUT;
    }
}

int cli_parse_audience(const char *command, const char *value, gbx_audience *out)
{
    if (gbx_audience_parse(value, out) == GBX_OK) return 0;
    return cli_usage_error(command, "--audience is applicant, analyst or auditor, not \"%s\"",
                           value);
}

int cli_load_inputs(const char *command, const cli_input_paths *paths, cli_inputs *in)
{
    gbx_error error;
    memset(in, 0, sizeof *in);
    if (gbx_explanation_read(paths->explanation, &in->explanation, &error) ||
        (paths->features && gbx_feature_metadata_read(paths->features, &in->features, &error)) ||
        (paths->model && gbx_model_load(paths->model, &in->model, &error)) ||
        (paths->data && gbx_data_read_csv(paths->data, in->model, &in->data, &error)))
        return cli_report(&error);
    if (paths->groups && gbx_explanation_is_grouped(in->explanation))
        return cli_usage_error(command, "%s is already explained by groups; --groups is for an "
                               "explanation per column", paths->explanation);
    if (paths->groups && gbx_groups_read_for(paths->groups, in->explanation, &in->groups, &error))
        return cli_report(&error);
    return 0;
}

void cli_free_inputs(cli_inputs *in)
{
    gbx_data_free(in->data);
    gbx_model_free(in->model);
    gbx_groups_free(in->groups);
    gbx_feature_metadata_free(in->features);
    gbx_explanation_free(in->explanation);
}

int cli_usage_error(const char *command, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fprintf(stderr, "glassbox %s: ", command);
    vfprintf(stderr, format, args);
    fprintf(stderr, "\n(see glassbox %s --help)\n", command);
    va_end(args);
    return EXIT_BAD_INPUT;
}

int cli_parse_count(const char *text, long *out)
{
    char *end;
    long value = strtol(text, &end, 10);
    if (end == text || *end || value <= 0) return 0;
    *out = value;
    return 1;
}

int cli_parse_range(const char *text, size_t *first, size_t *last)
{
    char *end;
    errno = 0;
    long a = strtol(text, &end, 10);
    if (end == text || a < 0 || errno) return 0;
    if (*end == 0) {
        *first = (size_t)a;
        *last = (size_t)a + 1;
        return 1;
    }
    if (*end != ':') return 0;
    const char *second = end + 1;
    long b = strtol(second, &end, 10);
    if (end == second || *end || b <= a || errno) return 0;
    *first = (size_t)a;
    *last = (size_t)b;
    return 1;
}

/* One number, or one per channel (three), for --pixel-mean and --pixel-std. */
static int parse_channels(const char *text, double *out, int positive)
{
    double values[3];
    int count = 0;
    const char *at = text;
    for (;;) {
        char *end;
        errno = 0;
        double value = strtod(at, &end);
        if (end == at || errno || !isfinite(value) || (positive && !(value > 0)) || count == 3)
            return 0;
        values[count++] = value;
        if (*end == '\0') break;
        if (*end != ',') return 0;
        at = end + 1;
    }
    if (count == 2) return 0;
    for (int c = 0; c < 3; c++) out[c] = values[count == 1 ? 0 : c];
    return 1;
}

int cli_parse_pixels(const char *command, int option, const char *value,
                     gbx_pixel_options *pixels)
{
    if (option == 0x101) {
        char *end;
        errno = 0;
        double scale = strtod(value, &end);
        if (end == value || *end || errno || !(scale > 0) || !isfinite(scale))
            return cli_usage_error(command, "--pixel-scale needs a positive number, not \"%s\"",
                                   value);
        pixels->scale = scale;
        return 0;
    }
    int mean = option == 0x102;
    if (!parse_channels(value, mean ? pixels->mean : pixels->std, !mean))
        return cli_usage_error(command, "--pixel-%s needs one number or three (one per channel) "
                               "separated by commas%s, not \"%s\"", mean ? "mean" : "std",
                               mean ? "" : ", all positive", value);
    return 0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

void cli_progress_start(cli_progress *progress, int quiet)
{
    progress->active = !quiet && isatty(2);
    progress->started = progress->last_drawn = now();
}

void cli_progress_update(cli_progress *progress, size_t rows, double fraction_done)
{
    if (!progress->active) return;
    double t = now();
    if (t - progress->last_drawn < 0.2) return;
    progress->last_drawn = t;
    double elapsed = t - progress->started, rate = rows / (elapsed > 0 ? elapsed : 1e-9);
    int width = 30, filled = (int)(fraction_done * width + 0.5);
    if (filled > width) filled = width;
    fprintf(stderr, "\r[");
    for (int i = 0; i < width; i++) fputc(i < filled ? '#' : '.', stderr);
    fprintf(stderr, "] %zu rows, %.0f rows/s", rows, rate);
    if (fraction_done > 0.001 && fraction_done < 1)
        fprintf(stderr, ", %.0f s left  ", elapsed * (1 - fraction_done) / fraction_done);
    else
        fprintf(stderr, "            ");
}

void cli_progress_finish(cli_progress *progress, size_t rows)
{
    if (!progress->active) return;
    double elapsed = now() - progress->started;
    fprintf(stderr, "\r%zu rows in %.1f s%40s\n", rows, elapsed, "");
}

int cli_parse_seconds(const char *text, double *out)
{
    char *end;
    double value = strtod(text, &end);
    if (end == text || *end || !(value > 0 && value <= 86400)) return 0;
    *out = value;
    return 1;
}
