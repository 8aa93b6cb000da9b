/* glassbox <command> [options]: the command table and dispatch. */
#include "cli.h"


#include <malloc.h>
#include <stdlib.h>
#include <string.h>

static const cli_command commands[] = {
    {"predict", "model predictions for the rows of a CSV file", cli_predict},
    {"explain", "SHAP values for the rows of a CSV file", cli_explain},
    {"summary", "a readable table of an explanation file's first rows", cli_summary},
    {"plot", "draws an explanation file: waterfall, force, bar, beeswarm... (SVG, PNG, PDF)", cli_plot},
    {"reasons", "the principal reasons for each row's adverse outcome, in words", cli_reasons},
    {"report", "one self-contained HTML report of an explanation file", cli_report_html},
    {"serve", "the explanation service: predictions and explanations over HTTP, audited", cli_serve},
    {"audit", "the service's audit store: verify its hash chain, show a request's record", cli_audit},
};

static void usage(FILE *out)
{
    fprintf(out, "glassbox %s: explain model decisions\n\nusage: glassbox <command> [options]\n\n"
                 "commands:\n", GBX_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nglassbox <command> --help describes a command's options.\n");
}

int main(int argc, char **argv)
{
    /* Buffers of a few hundred kilobytes to a few megabytes are allocated and freed per batch;
     * by default glibc maps and unmaps each one, and every reuse faults its pages in again (a
     * tenth of integrated gradients' time on a small CNN). Kept in the heap, they are reused. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_TOP_PAD, 16 << 20);
    cli_log(0); /* commands with --quiet silence it */
    if (argc < 2) {
        usage(stderr);
        return EXIT_BAD_INPUT;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("glassbox %s\n", GBX_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "glassbox: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return EXIT_BAD_INPUT;
}
