/* The C side of bench/python.py's call-overhead figure: one row at a time through the library
 * alone (one thread), the same work the Python binding's explain(row) does.
 * usage: single_row MODEL ROWS.csv REPEATS   (prints the median microseconds per row) */
#include "glassbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 4) return 2;
    gbx_error error;
    gbx_model *model;
    gbx_data *data;
    gbx_explainer *explainer;
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    options.threads = 1;
    if (gbx_model_load(argv[1], &model, &error) || gbx_data_read_csv(argv[2], model, &data, &error) ||
        gbx_explainer_create(model, &options, &explainer, &error)) {
        fprintf(stderr, "%s\n", error.message);
        return 1;
    }
    int repeats = atoi(argv[3]);
    size_t columns = gbx_data_columns(data), rows = gbx_data_rows(data);
    double *times = malloc((size_t)repeats * sizeof(double));
    for (int i = 0; i < repeats; i++) {
        struct timespec start, end;
        clock_gettime(CLOCK_MONOTONIC, &start);
        gbx_data *one;
        gbx_explanation *explanation;
        gbx_data_wrap(1, columns, gbx_data_values(data) + (size_t)i % rows * columns, NULL, &one, &error);
        if (gbx_explainer_explain(explainer, one, &explanation, &error)) return 1;
        gbx_explanation_free(explanation);
        gbx_data_free(one);
        clock_gettime(CLOCK_MONOTONIC, &end);
        times[i] = (double)(end.tv_sec - start.tv_sec) * 1e6 + (double)(end.tv_nsec - start.tv_nsec) / 1e3;
    }
    qsort(times, (size_t)repeats, sizeof(double), compare);
    printf("%.3f\n", times[repeats / 2]);
    free(times);
    gbx_explainer_free(explainer);
    gbx_data_free(data);
    gbx_model_free(model);
    return 0;
}
