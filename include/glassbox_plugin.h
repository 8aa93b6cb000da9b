/* glassbox plugin ABI: any model behind a shared library.
 *
 * A plugin is a shared library that exports one function,
 *
 *     const gbx_plugin *gbx_plugin_entry(void);
 *
 * returning a static table of the functions below. glassbox loads it with
 * `--model plugin:PATH.so` or `--model plugin:PATH.so:ARGUMENT`; ARGUMENT (everything after the
 * second colon, possibly empty) goes to create(), e.g. the path of the plugin's own weights.
 * Every explainer that works through predictions (exact, and the sampling methods) then works
 * on the plugin's model. See examples/plugins/linear.c for a complete plugin.
 *
 * Rules: functions report failure by returning NULL or nonzero and writing a NUL-terminated
 * message of at most error_size bytes into error. predict() may be called from several threads
 * at once only when thread_safe is nonzero; otherwise glassbox serialises the calls. Batches
 * can hold thousands of rows: vectorise inside predict(). Missing values arrive as NaN. */
#ifndef GLASSBOX_PLUGIN_H
#define GLASSBOX_PLUGIN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GBX_PLUGIN_ABI_VERSION 1

typedef struct {
    int abi_version; /* GBX_PLUGIN_ABI_VERSION */
    int thread_safe; /* predict() may run concurrently on one model */
    /* Creates a model from ARGUMENT ("" when none was given). */
    void *(*create)(const char *argument, char *error, size_t error_size);
    size_t (*features)(void *model);
    size_t (*outputs)(void *model);
    /* Names, or NULL (glassbox then uses f0, f1, ... and output_0, ...). May be NULL itself. */
    const char *(*feature_name)(void *model, size_t feature);
    const char *(*output_name)(void *model, size_t output);
    /* Raw outputs of `count` rows (row-major, features() wide) into out ([count][outputs()]). */
    int (*predict)(void *model, const double *rows, size_t count, double *out, char *error,
                   size_t error_size);
    void (*destroy)(void *model);
} gbx_plugin;

typedef const gbx_plugin *gbx_plugin_entry_function(void);

#ifdef __cplusplus
}
#endif

#endif
