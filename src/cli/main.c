/* glassbox <command> [options]: the command table and dispatch. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const cli_command commands[] = {
    {"predict", "model predictions for the rows of a CSV file", cli_predict},
    {"explain", "SHAP values for the rows of a CSV file", cli_explain},
    {"summary", "a readable table of an explanation file's first rows", cli_summary},
    {"plot", "draws an explanation file: waterfall, force, bar, beeswarm... (SVG, PNG, PDF)", cli_plot},
    {"reasons", "the principal reasons for each row's adverse outcome, in words", cli_reasons},
    {"report", "one self-contained HTML report of an explanation file", cli_report_html},
};

static void usage(FILE *out)
{
    fprintf(out, "glassbox %s: explain model decisions\n\nusage: glassbox <command> [options]\n\n"
                 "commands:\n", GBX_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nglassbox <command> --help describes a command's options.\n");
}

/* OpenBLAS starts a pool of threads as it loads, sized from OPENBLAS_NUM_THREADS, and they
 * spin for a while waiting for work that glassbox never gives them (its own threads each make
 * single-threaded BLAS calls), taking the cores from the threads that do the work. So glassbox
 * starts again once with the variable set to 1, unless the user set it, and then removes it,
 * so that a cmd: model's process does not inherit it. */
static void restart_with_serial_blas(char **argv)
{
    if (getenv("GLASSBOX_SERIAL_BLAS")) {
        unsetenv("GLASSBOX_SERIAL_BLAS");
        unsetenv("OPENBLAS_NUM_THREADS");
        return;
    }
    if (getenv("OPENBLAS_NUM_THREADS")) return;
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    setenv("GLASSBOX_SERIAL_BLAS", "1", 1);
    execv("/proc/self/exe", argv);
    /* No /proc: carry on with the pool. */
    unsetenv("GLASSBOX_SERIAL_BLAS");
    unsetenv("OPENBLAS_NUM_THREADS");
}

int main(int argc, char **argv)
{
    restart_with_serial_blas(argv);
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
