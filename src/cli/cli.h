/* Shared pieces of the command-line tool: one function per subcommand, exit codes, progress. */
#ifndef GBX_CLI_H
#define GBX_CLI_H

#include "glassbox.h"

#include <stdio.h>

enum { EXIT_OK = 0, EXIT_INTERNAL = 1, EXIT_BAD_INPUT = 2 };

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} cli_command;

int cli_predict(int argc, char **argv);
int cli_explain(int argc, char **argv);
int cli_summary(int argc, char **argv);
int cli_plot(int argc, char **argv);
int cli_reasons(int argc, char **argv);
int cli_report_html(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_audit(int argc, char **argv);

/* What the reasons and report commands start from: an explanation and, as asked, feature
 * metadata, one-hot groups over its features, the model (what-ifs) and the explained rows. */
typedef struct {
    const char *explanation, *features, *groups, *model, *data; /* paths, or NULL */
} cli_input_paths;
typedef struct {
    gbx_explanation *explanation;
    gbx_feature_metadata *features;
    gbx_groups *groups;
    gbx_model *model;
    gbx_data *data;
} cli_inputs;
/* Loads them; returns 0, or the exit code after saying what went wrong. */
int cli_load_inputs(const char *command, const cli_input_paths *paths, cli_inputs *in);
void cli_free_inputs(cli_inputs *in);

/* --audience: applicant, analyst or auditor; returns 0, or the usage error's exit code. */
int cli_parse_audience(const char *command, const char *value, gbx_audience *out);
#define CLI_AUDIENCE_HELP(default_audience) \
    "  --audience A       who is shown it: applicant (sensitive features absent: no name, no\n" \
    "                     value, no total), analyst (folded into \"Protected attributes\",\n" \
    "                     values hidden) or auditor (everything, marked)\n" \
    "                     (default " default_audience ")\n"

/* The library's notes go to stderr, or nowhere when quiet. */
void cli_log(int quiet);
/* Prints "glassbox: message" to stderr and returns the exit code for the status. */
int cli_report(const gbx_error *error);
/* The same without the "glassbox: " prefix, after a caller's own. */
int cli_report_bare(const gbx_error *error);
/* Usage error: prints the message and a hint to --help; returns 2. */
int cli_usage_error(const char *command, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* Parses a positive integer option value; returns 0 on failure. */
int cli_parse_count(const char *text, long *out);
/* Parses rows "A:B" (A to B-1) or one row "A" (from 0); returns 0 on failure. */
int cli_parse_range(const char *text, size_t *first, size_t *last);
/* Parses a positive number of seconds; 0 when it is not one. */
int cli_parse_seconds(const char *text, double *out);

/* The image options every command reading --data takes, with their help text. */
#define CLI_PIXEL_OPTIONS \
    {"pixel-scale", required_argument, 0, 0x101}, {"pixel-mean", required_argument, 0, 0x102}, \
    {"pixel-std", required_argument, 0, 0x103}
#define CLI_PIXEL_HELP \
    "  --pixel-scale S      PNG/JPEG input: each pixel (0-255) times S (default 1/255)\n" \
    "  --pixel-mean M[,M,M] then minus the channel's mean (default 0), as torchvision's\n" \
    "  --pixel-std S[,S,S]  Normalize, and over its deviation (default 1)\n"
/* Handles a CLI_PIXEL_OPTIONS option; returns 0, or the usage error's exit code. */
int cli_parse_pixels(const char *command, int option, const char *value,
                     gbx_pixel_options *pixels);

/* A progress bar on stderr, drawn only when stderr is a terminal and not quieted. */
typedef struct {
    int active;
    double started, last_drawn;
} cli_progress;
void cli_progress_start(cli_progress *progress, int quiet);
void cli_progress_update(cli_progress *progress, size_t rows, double fraction_done);
void cli_progress_finish(cli_progress *progress, size_t rows);

#endif
