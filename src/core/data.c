#include "core.h"

#include <stdlib.h>
#include <string.h>

gbx_data *gbx_data_alloc(size_t rows, size_t columns, const char *const *names)
{
    gbx_data *data = calloc(1, sizeof *data);
    if (!data) return NULL;
    data->rows = rows;
    data->columns = columns;
    if (columns && rows > SIZE_MAX / columns) goto fail;
    data->values = gbx_malloc_array(rows * columns, sizeof(double));
    data->names = gbx_calloc(columns ? columns : 1, sizeof(char *));
    if (!data->values || !data->names) goto fail;
    for (size_t j = 0; j < columns; j++) {
        char generated[32];
        if (!names || !names[j]) snprintf(generated, sizeof generated, "f%zu", j);
        data->names[j] = gbx_strdup(names && names[j] ? names[j] : generated);
        if (!data->names[j]) goto fail;
    }
    return data;
fail:
    gbx_data_free(data);
    return NULL;
}

gbx_status gbx_data_create(size_t rows, size_t columns, const double *values,
                           const char *const *names, gbx_data **out, gbx_error *error)
{
    if (!out || (!values && rows > 0 && columns > 0))
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_data_create: NULL argument");
    gbx_data *data = gbx_data_alloc(rows, columns, names);
    if (!data) return gbx_fail(error, GBX_ERR_NOMEM, "gbx_data_create: out of memory");
    if (rows > 0 && columns > 0) memcpy(data->values, values, rows * columns * sizeof(double));
    *out = data;
    return GBX_OK;
}

gbx_status gbx_data_wrap(size_t rows, size_t columns, const double *values,
                         const char *const *names, gbx_data **out, gbx_error *error)
{
    if (!out || (!values && rows > 0 && columns > 0))
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_data_wrap: NULL argument");
    gbx_data *data = gbx_data_alloc(0, columns, names);
    if (!data) return gbx_fail(error, GBX_ERR_NOMEM, "gbx_data_wrap: out of memory");
    free(data->values);
    /* Nothing changes a data set's values once made, so the caller's may stand in for them. */
    data->values = (double *)values;
    data->rows = rows;
    data->borrowed = 1;
    *out = data;
    return GBX_OK;
}

void gbx_data_free(gbx_data *data)
{
    if (!data) return;
    if (data->names)
        for (size_t j = 0; j < data->columns; j++) free(data->names[j]);
    free(data->names);
    if (!data->borrowed) free(data->values);
    free(data->weights);
    free(data);
}

size_t gbx_data_rows(const gbx_data *data) { return data->rows; }
size_t gbx_data_columns(const gbx_data *data) { return data->columns; }
const double *gbx_data_values(const gbx_data *data) { return data->values; }
const double *gbx_data_weights(const gbx_data *data) { return data->weights; }
const char *gbx_data_column_name(const gbx_data *data, size_t column)
{
    return column < data->columns ? data->names[column] : NULL;
}

gbx_status gbx_data_sample(const gbx_data *data, size_t count, uint64_t seed, gbx_data **out,
                           gbx_error *error)
{
    return gbx_data_summarise(data, GBX_SUMMARY_SAMPLE, count, -1, seed, out, error);
}
