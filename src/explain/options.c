/* Explainer options set by name from text, as a binding, a config file or a command line gives
 * them: one table of names, kinds and the field each sets, so every consumer spells and checks
 * them alike. */
#include "explainer.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { COUNT, THREADS, SEED, REAL, POSITIVE, CHOICE, FLAG, L1, BACKGROUND_ROWS, METHOD } option_kind;

typedef struct {
    const char *name;
    option_kind kind;
    size_t offset;               /* in gbx_explainer_options */
    size_t limit;                /* COUNT: the largest */
    const char *const *choices;  /* CHOICE: the names, in the enum's order (NULL-terminated) */
} option_row;

static const char *const spaces[] = {"raw", "probability", NULL};
static const char *const links[] = {"identity", "logit", NULL};
static const char *const discretizers[] = {"quartile", "decile", "none", NULL};
static const char *const distances[] = {"euclidean", "cosine", NULL};
static const char *const selections[] = {"auto", "forward", "highest-weights", "none", NULL};
static const char *const integrations[] = {"gausslegendre", "riemann_left", "riemann_right",
                                           "riemann_middle", "riemann_trapezoid", NULL};
static const char *const softmax_rules[] = {"auto", "tensorflow", "pytorch", NULL};

/* CHOICE rows store the choice's index as an int: each enum here is an int. */
static_assert(sizeof(gbx_output_space) == sizeof(int) && sizeof(gbx_lime_discretizer) == sizeof(int) &&
              sizeof(gbx_lime_selection) == sizeof(int) && sizeof(gbx_integration) == sizeof(int) &&
              sizeof(gbx_softmax_rule) == sizeof(int), "option enums are ints");

#define AT(field) offsetof(gbx_explainer_options, field)
static const option_row option_rows[] = {
    {"method", METHOD, AT(method), 0, NULL},
    {"threads", THREADS, AT(threads), GBX_MAX_THREADS, NULL},
    {"interactions", FLAG, AT(interactions), 0, NULL},
    {"output-space", CHOICE, AT(output_space), 0, spaces},
    {"max-evals", COUNT, AT(max_evals), GBX_MAX_EVALS, NULL},
    {"seed", SEED, AT(seed), 0, NULL},
    {"link", CHOICE, AT(logit_link), 0, links},
    {"l1-reg", L1, AT(kernel_l1), 0, NULL},
    {"tolerance", REAL, AT(tolerance), 0, NULL},
    {"sample-background", BACKGROUND_ROWS, AT(sample_background), 0, NULL},
    {"discretizer", CHOICE, AT(lime_discretizer), 0, discretizers},
    {"distance", CHOICE, AT(lime_cosine), 0, distances},
    {"feature-selection", CHOICE, AT(lime_selection), 0, selections},
    {"num-features", COUNT, AT(lime_features), 1000000, NULL},
    {"kernel-width", POSITIVE, AT(lime_kernel_width), 0, NULL},
    {"steps", COUNT, AT(steps), 1024, NULL},
    {"integration", CHOICE, AT(integration), 0, integrations},
    {"softmax-rule", CHOICE, AT(softmax_rule), 0, softmax_rules},
    {"samples", COUNT, AT(samples), GBX_MAX_EVALS, NULL},
    {"stdevs", REAL, AT(stdevs), 0, NULL},
};
#undef AT

/* Names match with '-' and '_' alike ("max_evals" is "max-evals"). */
static int same_name(const char *name, const char *given)
{
    for (; *name && *given; name++, given++)
        if (*name != *given && !(*name == '-' && *given == '_')) return 0;
    return *name == *given;
}

static int parse_count(const char *text, size_t limit, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end || errno || value < 1 || value > limit) return 0;
    *out = (size_t)value;
    return 1;
}

static int parse_real(const char *text, double *out)
{
    char *end;
    double value = strtod(text, &end);
    if (end == text || *end || !isfinite(value)) return 0;
    *out = value;
    return 1;
}

static int choice_index(const char *const *choices, const char *text)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], text) == 0) return i;
    return -1;
}

/* shap's l1_reg: off, aic, bic or num_features(K). */
static int parse_l1(const char *text, gbx_explainer_options *options)
{
    size_t length = strlen(text), features;
    char count[32];
    if (strcmp(text, "off") == 0 || strcmp(text, "aic") == 0 || strcmp(text, "bic") == 0) {
        options->kernel_l1 = text[0] == 'o' ? GBX_KERNEL_L1_OFF
                             : text[0] == 'a' ? GBX_KERNEL_L1_AIC : GBX_KERNEL_L1_BIC;
        return 1;
    }
    const char *prefix = "num_features(";
    size_t prefix_length = strlen(prefix);
    if (length <= prefix_length + 1 || strncmp(text, prefix, prefix_length) != 0 ||
        text[length - 1] != ')' || length - prefix_length - 1 >= sizeof count)
        return 0;
    memcpy(count, text + prefix_length, length - prefix_length - 1);
    count[length - prefix_length - 1] = '\0';
    if (!parse_count(count, 1000000, &features)) return 0;
    options->kernel_l1 = GBX_KERNEL_L1_NUM_FEATURES;
    options->kernel_l1_features = features;
    return 1;
}

/* What the value of a row may be, for the message. */
static void describe(const option_row *row, char *text, size_t size)
{
    switch (row->kind) {
    case COUNT:
    case THREADS: snprintf(text, size, "a whole number from 1 to %zu", row->limit); return;
    case SEED: snprintf(text, size, "a whole number, 0 or more"); return;
    case REAL: snprintf(text, size, "a number, 0 or more"); return;
    case POSITIVE: snprintf(text, size, "a number above 0"); return;
    case FLAG: snprintf(text, size, "true or false"); return;
    case L1: snprintf(text, size, "off, aic, bic or num_features(K)"); return;
    case BACKGROUND_ROWS: snprintf(text, size, "all, one or a count of rows up to 1000000"); return;
    case METHOD: snprintf(text, size, "a method's name (tree, kernel, lime, deep, ...)"); return;
    case CHOICE: break;
    }
    size_t used = 0;
    for (int i = 0; row->choices[i] && used < size; i++)
        used += (size_t)snprintf(text + used, size - used, "%s%s", i ? (row->choices[i + 1] ? ", " : " or ") : "",
                                 row->choices[i]);
}

static int set_value(const option_row *row, const char *value, gbx_explainer_options *options)
{
    char *at = (char *)options + row->offset;
    size_t count;
    double real;
    int index;
    switch (row->kind) {
    case COUNT:
    case THREADS:
        if (!parse_count(value, row->limit, &count)) return 0;
        if (row->kind == THREADS) *(int *)at = (int)count;
        else *(size_t *)at = count;
        return 1;
    case SEED: {
        char *end;
        errno = 0;
        unsigned long long seed = strtoull(value, &end, 10);
        if (value[0] < '0' || value[0] > '9' || *end || errno) return 0;
        *(uint64_t *)at = seed;
        return 1;
    }
    case REAL:
    case POSITIVE:
        if (!parse_real(value, &real) || real < 0 || (row->kind == POSITIVE && real == 0)) return 0;
        *(double *)at = real;
        return 1;
    case CHOICE:
        if ((index = choice_index(row->choices, value)) < 0) return 0;
        *(int *)at = index;
        return 1;
    case FLAG:
        if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0) *(int *)at = 1;
        else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0) *(int *)at = 0;
        else return 0;
        return 1;
    case L1: return parse_l1(value, options);
    case BACKGROUND_ROWS:
        if (strcmp(value, "all") == 0) options->sample_background = 0;
        else if (strcmp(value, "one") == 0) options->sample_background = 1;
        else if (!parse_count(value, 1000000, &options->sample_background)) return 0;
        return 1;
    case METHOD: return gbx_method_parse(value, &options->method) == GBX_OK;
    }
    return 0;
}

gbx_status gbx_explainer_options_set(gbx_explainer_options *options, const char *name,
                                     const char *value, gbx_error *error)
{
    if (!options || !name || !value)
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_explainer_options_set: NULL argument");
    for (size_t i = 0; i < sizeof option_rows / sizeof option_rows[0]; i++) {
        const option_row *row = &option_rows[i];
        if (!same_name(row->name, name)) continue;
        if (set_value(row, value, options)) return GBX_OK;
        char expected[160];
        describe(row, expected, sizeof expected);
        return gbx_fail(error, GBX_ERR_USAGE, "option %s is %s, not \"%s\"", row->name, expected,
                        value);
    }
    return gbx_fail(error, GBX_ERR_USAGE, "unknown explainer option \"%s\"", name);
}

size_t gbx_explainer_option_count(void) { return sizeof option_rows / sizeof option_rows[0]; }

const char *gbx_explainer_option_name(size_t i)
{
    return i < gbx_explainer_option_count() ? option_rows[i].name : NULL;
}
