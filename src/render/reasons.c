/* Reasons: ranking, masking and wording into gbx_reasons, then text, JSON (json-c) or CSV. */
#include "reasons.h"

#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t player;       /* feature, or one-hot group */
    size_t member;       /* the feature that speaks for it (a group's active column) */
    double contribution; /* the signed value summed over the player */
    char name[160], display[160], value[224], sentence[400], what_if[800];
    double what_if_change; /* the prediction's change, 0 without a what-if */
} reason;

typedef struct {
    size_t players;
    const char *const *player_names;
    double *sums;      /* [players] */
    int *sensitive;    /* [players] */
    size_t *first;     /* [players]: order of first appearance, for ties */
    int *indicator;    /* [features]: the column is 0/1 in every row (worked out once) */
} players_view;

static size_t player_of(const reasons_options *o, size_t f)
{
    return o->group_of_feature ? o->group_of_feature[f] : f;
}

/* The model column a feature is, by name (or by position when the model has no names). */
static long model_column(const gbx_model *model, const char *name, size_t feature)
{
    for (size_t j = 0; j < model->features; j++) {
        const char *own = gbx_model_feature_name(model, j);
        if (own && strcmp(own, name) == 0) return (long)j;
    }
    return gbx_model_feature_name(model, 0) == NULL && feature < model->features ? (long)feature
                                                                                  : -1;
}

/* The mean of a column over the explained rows (finite values only), or NaN. */
static double column_mean(const reasons_options *o, size_t column)
{
    double sum = 0;
    size_t count = 0;
    for (size_t r = 0; r < o->row_count; r++) {
        double value = o->rows[r * o->row_width + column];
        if (isfinite(value)) sum += value, count++;
    }
    return count ? sum / (double)count : NAN;
}

/* With a decision threshold, how far the feature must move (in whole steps, up to
 * DECISION_STEPS) for an adverse decision to become favourable, appended to the what-if; said
 * only where the model allows it. now is the row's (transformed) prediction. */
#define DECISION_STEPS 20
static void decision_distance(const reasons_options *o, size_t r, size_t column, int direction,
                              const gbx_feature_info *info, double now, reason *out)
{
    if (!o->threshold) return;
    double threshold = *o->threshold;
    int adverse_now = o->adverse_lower ? now < threshold : now >= threshold;
    const gbx_model *model = o->model;
    size_t M = model->features, K = model->outputs, k = o->output >= 0 ? (size_t)o->output : 0;
    if (!adverse_now) return;
    double *rows = gbx_malloc_array(DECISION_STEPS * M, sizeof(double));
    double *outputs = gbx_malloc_array(DECISION_STEPS * K, sizeof(double));
    gbx_data *batch = NULL;
    gbx_error ignored;
    if (rows && outputs) {
        for (size_t s = 0; s < DECISION_STEPS; s++) {
            memcpy(rows + s * M, o->rows + r * M, M * sizeof(double));
            rows[s * M + column] += direction * (double)(s + 1) * fabs(info->step);
        }
        if (gbx_data_create(DECISION_STEPS, M, rows, NULL, &batch, &ignored) == GBX_OK &&
            gbx_model_predict(model, batch, 0, outputs, &ignored) == GBX_OK) {
            for (size_t s = 0; s < DECISION_STEPS; s++) {
                double v = outputs[s * K + k];
                if (o->adverse_lower ? v < threshold : v >= threshold) continue;
                char by[64], to[64];
                gbx_feature_format(info, (double)(s + 1) * fabs(info->step), by, sizeof by);
                gbx_feature_format(info, rows[s * M + column], to, sizeof to);
                size_t used = strlen(out->what_if);
                snprintf(out->what_if + used, sizeof out->what_if - used, "; %s %s (%s) would "
                         "make the decision favourable", by, direction > 0 ? "more" : "less", to);
                break;
            }
        }
    }
    gbx_data_free(batch);
    free(rows);
    free(outputs);
}

/* A what-if for one feature: the model at the row with the feature moved by its step in the
 * direction its reason names. A value that pushed the output toward the adverse outcome did
 * so by standing apart from the typical (a feature's Shapley value is its effect against the
 * average), so the reason names the way back toward the explained rows' mean ("the loan is
 * long": shorter). The what-if is offered only when the model answers that move by lowering
 * the adverse outcome; otherwise the reason stands alone rather than contradict itself. */
static void what_if(const gbx_explanation *d, const reasons_options *o, size_t r,
                    reason *out, const gbx_feature_info *info, int adverse_sign)
{
    const gbx_model *model = o->model;
    long column = model_column(model, d->feature_names[out->member], out->member);
    size_t M = model->features, K = model->outputs;
    size_t k = o->output >= 0 ? (size_t)o->output : 0;
    if (column < 0 || !info || info->step == 0 || r >= o->row_count || k >= K) return;
    double value = o->rows[r * M + (size_t)column], mean = column_mean(o, (size_t)column);
    if (!isfinite(value) || !(mean != value)) return; /* no typical value to move toward */
    int up = mean > value;
    double *rows = gbx_malloc_array(2 * M, sizeof(double)), *outputs = gbx_malloc_array(2 * K, sizeof(double));
    gbx_data *batch = NULL;
    gbx_error ignored;
    if (rows && outputs) {
        for (int i = 0; i < 2; i++) memcpy(rows + i * M, o->rows + r * M, M * sizeof(double));
        rows[M + (size_t)column] += up ? fabs(info->step) : -fabs(info->step);
        if (gbx_data_create(2, M, rows, NULL, &batch, &ignored) == GBX_OK &&
            gbx_model_predict(model, batch, 0, outputs, &ignored) == GBX_OK) {
            double now = outputs[k], change = outputs[K + k] - now;
            int probability = model->link == GBX_LINK_LOGIT || model->link == GBX_LINK_SOFTMAX;
            /* Offered only when it helps, by a change worth saying (a tenth of a point). */
            int helps = adverse_sign * change < 0 && (!probability || fabs(change) >= 0.0005);
            if (helps) {
                char from[64], to[64], step[64], amount[64];
                gbx_feature_format(info, value, from, sizeof from);
                gbx_feature_format(info, rows[M + (size_t)column], to, sizeof to);
                gbx_feature_format(info, fabs(info->step), step, sizeof step);
                if (probability) snprintf(amount, sizeof amount, "%.1f points", fabs(change) * 100);
                else snprintf(amount, sizeof amount, "%.4g", fabs(change));
                snprintf(out->what_if, sizeof out->what_if, "with %s %s %s (%s instead of %s), "
                         "the %s would be %s %s (%.4g)", gbx_feature_display(info, out->name),
                         step, up ? "more" : "less", to, from,
                         probability ? "probability" : "prediction", amount,
                         change < 0 ? "lower" : "higher", now + change);
                out->what_if_change = change;
                decision_distance(o, r, (size_t)column, up ? 1 : -1, info, now, out);
            }
        }
    }
    gbx_data_free(batch);
    free(rows);
    free(outputs);
}

/* Whether every row's value of column f is 0 or 1 (a dummy of a one-hot encoding). */
static int indicator(const gbx_explanation *d, size_t f)
{
    for (size_t r = 0; d->data && d->columns == d->features && r < d->rows; r++) {
        double v = d->data[r * d->columns + f];
        if (v != 0 && v != 1) return 0;
    }
    return d->data && d->columns == d->features;
}

/* The reasons of row r, best first, into reasons (count returned); masked: the sensitive
 * players' total toward the adverse outcome. */
static size_t row_reasons(const gbx_explanation *d, const reasons_options *o,
                          const players_view *view, size_t r, reason *reasons, double *masked)
{
    size_t M = d->features, K = d->outputs, k = o->output >= 0 ? (size_t)o->output : 0;
    const double *values = d->values + (r * K + k) * M;
    int sign = o->adverse_lower ? -1 : 1;
    for (size_t p = 0; p < view->players; p++) view->sums[p] = 0;
    for (size_t f = 0; f < M; f++) view->sums[player_of(o, f)] += values[f];
    *masked = 0;
    size_t top = o->top ? o->top : 4, count = 0;
    for (size_t p = 0; p < view->players; p++)
        if (view->sensitive[p]) *masked += sign * view->sums[p];
    /* Selection by repeated maximum: at most `top` passes over the players. */
    int *taken = gbx_calloc(view->players, sizeof(int));
    while (taken && count < top) {
        long best = -1;
        for (size_t p = 0; p < view->players; p++) {
            double toward = sign * view->sums[p];
            if (taken[p] || view->sensitive[p] || !(toward > 0)) continue;
            if (best < 0 || toward > sign * view->sums[best] ||
                (toward == sign * view->sums[best] && view->first[p] < view->first[best]))
                best = (long)p;
        }
        if (best < 0) break;
        taken[best] = 1;
        reason *x = &reasons[count++];
        memset(x, 0, sizeof *x);
        x->player = (size_t)best;
        x->contribution = view->sums[best];
        /* The member that speaks for a group: its column that is set (one-hot), else the one
         * that contributed most in the adverse direction. */
        long member = -1;
        double strongest = -INFINITY;
        for (size_t f = 0; f < M; f++) {
            if (player_of(o, f) != (size_t)best) continue;
            double set = d->data && d->columns == M && d->data[r * M + f] == 1.0 ? 1e300 : 0;
            if (set + sign * values[f] > strongest) {
                strongest = set + sign * values[f];
                member = (long)f;
            }
        }
        x->member = (size_t)member;
        const char *member_name = d->feature_names[member];
        snprintf(x->name, sizeof x->name, "%s", view->player_names[best]);
        const gbx_feature_info *info = gbx_feature_metadata_find(o->features, member_name);
        const gbx_feature_info *own = gbx_feature_metadata_find(o->features, x->name);
        snprintf(x->display, sizeof x->display, "%s",
                 gbx_feature_display(own ? own : info, x->name));
        /* A group of 0/1 columns none of which is set (the reference level of a one-hot
         * encoding that drops one) is said to be none of them, never one it is not. A
         * spread group with no set column has no member that speaks for it. */
        int grouped = o->group_of_feature && strcmp(member_name, x->name) != 0;
        size_t set = 0, members = 0, indicators = 0;
        for (size_t f = 0; grouped && d->data && d->columns == M && f < M; f++)
            if (player_of(o, f) == (size_t)best) {
                members++;
                indicators += view->indicator[f];
                set += d->data[r * M + f] == 1.0;
            }
        int none_set = grouped && members && indicators == members && set == 0;
        int unspoken = grouped && !none_set && o->spread_groups && set != 1;
        if (none_set) {
            size_t used = (size_t)snprintf(x->value, sizeof x->value, "none of ");
            for (size_t f = 0, listed = 0; f < M && used < sizeof x->value; f++)
                if (player_of(o, f) == (size_t)best)
                    used += (size_t)snprintf(x->value + used, sizeof x->value - used, "%s%s",
                                             listed++ ? ", " : "",
                                             gbx_feature_display(gbx_feature_metadata_find(
                                                 o->features, d->feature_names[f]),
                                                 d->feature_names[f]));
        } else if (unspoken) {
            x->value[0] = 0;
        } else if (grouped) {
            snprintf(x->value, sizeof x->value, "%s", gbx_feature_display(info, member_name));
        } else if (d->data && d->columns == M && view->indicator[member]) {
            /* A 0/1 column is yes or no, whether or not groups were given. */
            snprintf(x->value, sizeof x->value, "%s", d->data[r * M + member] == 1 ? "yes" : "no");
        } else if (d->data && d->columns == M) {
            gbx_feature_format(info, d->data[r * M + member], x->value, sizeof x->value);
        }
        if (none_set || unspoken) info = NULL; /* no member's sentence speaks for the group */
        /* A 0/1 column that is 0 is not what its sentence describes ("there is no checking
         * account" is the sentence of the column being set); it is named instead. */
        int unset_indicator = d->data && d->columns == M && d->data[r * M + member] == 0 &&
                              view->indicator[member];
        const char *fragment = info && !unset_indicator
                                   ? (values[member] > 0 ? info->raises : info->lowers) : NULL;
        if (!fragment && own && own != info)
            fragment = x->contribution > 0 ? own->raises : own->lowers; /* the group's own */
        if (fragment) snprintf(x->sentence, sizeof x->sentence, "%s", fragment);
        else if (unset_indicator && !grouped)
            snprintf(x->sentence, sizeof x->sentence, "%s: no", x->display);
        else if (d->data && d->columns == M && view->indicator[member] && !grouped)
            snprintf(x->sentence, sizeof x->sentence, "%s", x->display); /* a set 0/1 column */
        else if (*x->value) snprintf(x->sentence, sizeof x->sentence, "%s: %s", x->display, x->value);
        else snprintf(x->sentence, sizeof x->sentence, "%s", x->display);
        int alone = 1; /* a what-if moves one column: a player that is a single column */
        for (size_t f = 0; f < M; f++)
            if (f != (size_t)member && player_of(o, f) == (size_t)best) alone = 0;
        if (o->model && o->rows && alone) what_if(d, o, r, x, info, sign);
    }
    free(taken);
    return count;
}


/* ---- gbx_reasons: every asked row's reasons, kept ----------------------------------------- */

struct gbx_reasons {
    size_t count;           /* rows */
    gbx_reasons_row *rows;  /* [count] */
    gbx_reason *items;      /* every row's reasons, row after row */
    size_t items_count;
    char **sensitive;       /* the sensitive players as the audience may see them */
    size_t sensitive_count;
    char *output_name;
    int adverse_lower;
    int probability_shown;  /* a logistic margin, also said as a probability in text */
    double threshold;       /* the decision threshold, or NaN */
};

void gbx_reasons_options_init(gbx_reasons_options *options)
{
    memset(options, 0, sizeof *options);
    options->top = 4;
    options->output = -1;
    options->row = -1;
}

void gbx_reasons_free(gbx_reasons *reasons)
{
    if (!reasons) return;
    for (size_t i = 0; i < reasons->items_count; i++) {
        gbx_reason *x = &reasons->items[i];
        free((char *)x->feature), free((char *)x->display), free((char *)x->value);
        free((char *)x->sentence), free((char *)x->what_if);
    }
    free(reasons->items);
    free(reasons->rows);
    gbx_names_free(reasons->sensitive, reasons->sensitive_count);
    free(reasons->output_name);
    free(reasons);
}

size_t gbx_reasons_rows(const gbx_reasons *reasons) { return reasons->count; }

const gbx_reasons_row *gbx_reasons_row_at(const gbx_reasons *reasons, size_t i)
{
    return i < reasons->count ? &reasons->rows[i] : NULL;
}

/* Copies a worked reason into the kept ones; nonzero when memory runs out. */
static int keep(gbx_reason *to, const reason *x)
{
    to->feature = gbx_strdup(x->name);
    to->display = gbx_strdup(x->display);
    to->value = gbx_strdup(x->value);
    to->sentence = gbx_strdup(x->sentence);
    to->what_if = gbx_strdup(x->what_if);
    to->contribution = x->contribution;
    to->what_if_change = x->what_if_change;
    return !to->feature || !to->display || !to->value || !to->sentence || !to->what_if;
}

/* The decision on a prediction: the threshold compared with the probability the output stands
 * for, or with the output itself. */
static int decide(const gbx_reasons *reasons, double prediction)
{
    if (isnan(reasons->threshold)) return GBX_DECISION_NONE;
    double value = reasons->probability_shown ? 1 / (1 + exp(-prediction)) : prediction;
    int higher = value >= reasons->threshold;
    return higher != reasons->adverse_lower ? GBX_DECISION_ADVERSE : GBX_DECISION_FAVOURABLE;
}

/* The what-if's rows must be the explained ones. */
static gbx_status check_rows(const gbx_explanation *d, const reasons_options *o, gbx_error *error)
{
    if (!o->rows) return GBX_OK;
    if (o->row_count != d->rows)
        return gbx_fail(error, GBX_ERR_MISMATCH, "the data holds %zu rows, the explanation %zu; "
                        "a what-if needs the rows that were explained", o->row_count, d->rows);
    if (!d->data || d->columns != o->row_width) return GBX_OK;
    for (size_t r = 0; r < d->rows; r++)
        for (size_t j = 0; j < d->columns; j++) {
            double a = d->data[r * d->columns + j], b = o->rows[r * d->columns + j];
            if (!(a == b || (isnan(a) && isnan(b)) || fabs(a - b) <= 1e-9 * fmax(1, fabs(b))))
                return gbx_fail(error, GBX_ERR_MISMATCH, "row %zu of the data differs from the "
                                "row the explanation holds (column %s); a what-if needs the rows "
                                "that were explained", r, d->column_names[j]);
        }
    return GBX_OK;
}

/* Every asked row's reasons from an explanation per column (d), with the players o gives. */
static gbx_status compute(const gbx_explanation *d, const reasons_options *o, gbx_reasons **out,
                          gbx_error *error)
{
    size_t M = d->features, K = d->outputs;
    gbx_status status = check_rows(d, o, error);
    if (status != GBX_OK) return status;
    size_t players = o->group_of_feature ? o->group_count : M, top = o->top ? o->top : 4;
    size_t first = o->row >= 0 ? (size_t)o->row : 0, last = o->row >= 0 ? (size_t)o->row + 1 : d->rows;
    size_t k = o->output >= 0 ? (size_t)o->output : 0;
    players_view view = {players, o->group_of_feature ? o->group_names
                                                      : (const char *const *)d->feature_names,
                         gbx_calloc(players, sizeof(double)), gbx_calloc(players, sizeof(int)),
                         gbx_malloc_array(players, sizeof(size_t)), gbx_malloc_array(M ? M : 1, sizeof(int))};
    reason *scratch = gbx_calloc(top, sizeof(reason));
    gbx_reasons *result = calloc(1, sizeof *result);
    if (result) {
        result->count = last - first;
        result->rows = gbx_calloc(result->count ? result->count : 1, sizeof(gbx_reasons_row));
        result->items = gbx_calloc(result->count && top ? result->count * top : 1, sizeof(gbx_reason));
        result->output_name = gbx_strdup(d->output_names[k]);
        result->adverse_lower = o->adverse_lower;
        /* A logistic margin is easier read as the probability it stands for. */
        result->probability_shown = strcmp(d->output_space, "margin") == 0 && K == 1 &&
                                    (strstr(d->objective, "logistic") || strstr(d->objective, "binary"));
        result->threshold = o->threshold ? *o->threshold : NAN;
    }
    if (!view.sums || !view.sensitive || !view.first || !view.indicator || !scratch || !result ||
        !result->rows || !result->items || !result->output_name)
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t f = 0; status == GBX_OK && f < M; f++) view.indicator[f] = indicator(d, f);
    /* Sensitive players: any column of theirs marked so, or the group itself. */
    for (size_t p = 0; status == GBX_OK && p < players; p++) {
        view.first[p] = SIZE_MAX;
        const gbx_feature_info *own = gbx_feature_metadata_find(o->features, view.player_names[p]);
        view.sensitive[p] = own && own->sensitive;
    }
    for (size_t f = 0; status == GBX_OK && f < M; f++) {
        size_t p = player_of(o, f);
        const gbx_feature_info *info = gbx_feature_metadata_find(o->features, d->feature_names[f]);
        if (info && info->sensitive) view.sensitive[p] = 1;
        if (view.first[p] == SIZE_MAX) view.first[p] = f;
    }
    /* The sensitive players (never reasons), as the audience may see them. */
    size_t any = 0;
    for (size_t p = 0; status == GBX_OK && p < players; p++) any += view.sensitive[p] != 0;
    size_t named = o->audience == GBX_AUDIENCE_AUDITOR ? any
                   : o->audience == GBX_AUDIENCE_ANALYST && any ? 1 : 0;
    if (status == GBX_OK && !(result->sensitive = gbx_calloc(named + 1, sizeof(char *))))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t p = 0; status == GBX_OK && result->sensitive_count < named && p < players; p++) {
        if (!view.sensitive[p]) continue;
        const char *name = o->audience == GBX_AUDIENCE_ANALYST
                               ? "Protected attributes"
                               : gbx_feature_display(gbx_feature_metadata_find(
                                     o->features, view.player_names[p]), view.player_names[p]);
        if (!(result->sensitive[result->sensitive_count++] = gbx_strdup(name)))
            status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t r = first; status == GBX_OK && r < last; r++) {
        gbx_reasons_row *row = &result->rows[r - first];
        row->decision = decide(result, d->predictions[r * K + k]);
        /* With a decision, reasons are given for adverse ones only. */
        size_t count = row->decision == GBX_DECISION_FAVOURABLE
                           ? 0 : row_reasons(d, o, &view, r, scratch, &row->sensitive_total);
        row->row = r;
        row->prediction = d->predictions[r * K + k];
        row->base_value = d->base_values[r * K + k];
        row->sensitive = (const char *const *)result->sensitive;
        /* A favourable decision gives no reasons, and so says nothing of what was left out. */
        row->sensitive_count = row->decision == GBX_DECISION_FAVOURABLE ? 0 : result->sensitive_count;
        if (!named) row->sensitive_total = 0; /* an applicant is told nothing of them */
        row->reasons = result->items + result->items_count;
        row->count = count;
        for (size_t i = 0; i < count && status == GBX_OK; i++)
            if (keep(&result->items[result->items_count++], &scratch[i]))
                status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    free(view.sums);
    free(view.sensitive);
    free(view.first);
    free(view.indicator);
    free(scratch);
    if (status != GBX_OK) {
        gbx_reasons_free(result);
        return status;
    }
    *out = result;
    return GBX_OK;
}

/* The explanation with the given rows as its data (for one written without them). */
static gbx_status with_data(const gbx_explanation *e, const gbx_data *data, gbx_explanation **out,
                            gbx_error *error)
{
    if (gbx_data_rows(data) != e->rows || gbx_data_columns(data) != e->columns)
        return gbx_fail(error, GBX_ERR_MISMATCH, "the data holds %zu rows of %zu columns, the "
                        "explanation %zu of %zu; the data must be the rows that were explained",
                        gbx_data_rows(data), gbx_data_columns(data), e->rows, e->columns);
    gbx_status status = gbx_explanation_subset_all(e, out, error);
    if (status != GBX_OK) return status;
    size_t cells = e->rows * e->columns;
    if (!((*out)->data = gbx_malloc_array(cells ? cells : 1, sizeof(double)))) {
        gbx_explanation_free(*out);
        *out = NULL;
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    if (cells) memcpy((*out)->data, gbx_data_values(data), cells * sizeof(double));
    return GBX_OK;
}

gbx_status gbx_reasons_compute(const gbx_explanation *explanation,
                               const gbx_reasons_options *options, gbx_reasons **out,
                               gbx_error *error)
{
    if (!explanation || !options || !out)
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_reasons_compute: NULL argument");
    *out = NULL;
    const gbx_explanation *d = explanation;
    reasons_options o = {options->top, options->adverse_lower, options->output, options->row,
                         options->features, NULL, NULL, 0, 0, options->audience,
                         options->threshold, options->model, NULL, 0, 0};
    if (o.threshold && !isfinite(*o.threshold))
        return gbx_fail(error, GBX_ERR_USAGE, "options.threshold must be a finite number");
    if (options->output_name && (o.output = gbx_explanation_output_index(d, options->output_name)) < 0)
        return gbx_fail(error, GBX_ERR_USAGE, "the explanation has no output named \"%s\"",
                        options->output_name);
    if (o.output >= 0 && (size_t)o.output >= d->outputs)
        return gbx_fail(error, GBX_ERR_USAGE, "the explanation has %zu outputs; there is no "
                        "output %ld", d->outputs, o.output);
    if (o.row >= 0 && (size_t)o.row >= d->rows)
        return gbx_fail(error, GBX_ERR_USAGE, "the explanation holds %zu rows; there is no row "
                        "%ld", d->rows, o.row);
    if (d->group_of_column && options->groups)
        return gbx_fail(error, GBX_ERR_USAGE, "the explanation is already by groups; "
                        "options.groups is for an explanation per column");
    gbx_explanation *supplied = NULL, *columns = NULL;
    gbx_status status = GBX_OK;
    /* Rows given for an explanation written without them become its data. */
    if (options->data && !d->data && (status = with_data(d, options->data, &supplied, error)) == GBX_OK)
        d = supplied;
    /* An explanation by groups is read per column, its groups as the players. */
    if (status == GBX_OK && d->group_of_column) {
        if (!d->data)
            status = gbx_fail(error, GBX_ERR_USAGE, "an explanation by groups needs its rows "
                              "(written without data: give options.data) to be said per column");
        else if ((status = gbx_explanation_spread_groups(d, &columns, error)) == GBX_OK) {
            o.group_of_feature = d->group_of_column;
            o.group_names = (const char *const *)d->feature_names;
            o.group_count = d->features;
            o.spread_groups = 1;
        }
    } else if (status == GBX_OK && options->groups) {
        if (gbx_groups_columns(options->groups) != d->features)
            status = gbx_fail(error, GBX_ERR_MISMATCH, "the groups are over %zu features, the "
                              "explanation has %zu", gbx_groups_columns(options->groups), d->features);
        o.group_of_feature = gbx_groups_of_feature(options->groups);
        o.group_names = gbx_groups_names(options->groups);
        o.group_count = gbx_groups_count(options->groups);
    }
    /* The what-if evaluates the model again at the explained rows. */
    if (status == GBX_OK && o.model) {
        const gbx_data *given = options->data;
        o.rows = given ? gbx_data_values(given) : d->data;
        o.row_count = given ? gbx_data_rows(given) : d->rows;
        o.row_width = given ? gbx_data_columns(given) : d->columns;
        if (!o.rows)
            status = gbx_fail(error, GBX_ERR_USAGE, "a what-if needs the explained rows: the "
                              "explanation holds none (written without data); give options.data");
        else if (o.row_width != gbx_model_features(o.model))
            status = gbx_fail(error, GBX_ERR_MISMATCH, "the rows have %zu columns, the model "
                              "takes %zu", o.row_width, gbx_model_features(o.model));
    }
    if (status == GBX_OK) status = compute(columns ? columns : d, &o, out, error);
    gbx_explanation_free(columns);
    gbx_explanation_free(supplied);
    return status;
}

/* ---- writing them: text, JSON, CSV ------------------------------------------------------- */

static void write_text(const gbx_reasons *reasons, FILE *out)
{
    const char *adverse = reasons->adverse_lower ? "lower" : "higher";
    for (size_t i = 0; i < reasons->count; i++) {
        const gbx_reasons_row *row = &reasons->rows[i];
        fprintf(out, "Row %zu: %s %.4g", row->row, reasons->output_name, row->prediction);
        if (reasons->probability_shown)
            fprintf(out, " (probability %.3f)", 1 / (1 + exp(-row->prediction)));
        fprintf(out, ", base %.4g. ", row->base_value);
        if (row->decision == GBX_DECISION_FAVOURABLE)
            fputs("Decision: favourable; no reasons are given.\n", out);
        else if (row->decision == GBX_DECISION_ADVERSE && row->count == 0)
            fprintf(out, "Decision: adverse; no factor pushed it %s.\n", adverse);
        else if (row->decision == GBX_DECISION_ADVERSE)
            fprintf(out, "Decision: adverse. Principal reasons toward a %s value:\n", adverse);
        else if (row->count == 0) fprintf(out, "No factor pushed it %s.\n", adverse);
        else fprintf(out, "Principal reasons toward a %s value:\n", adverse);
        for (size_t r = 0; r < row->count; r++) {
            const gbx_reason *x = &row->reasons[r];
            fprintf(out, "  %zu. %s (%s%s%s, %+.4g)\n", r + 1, x->sentence, x->display,
                    *x->value ? " = " : "", x->value, x->contribution);
            if (*x->what_if) fprintf(out, "     %s\n", x->what_if);
        }
        if (row->sensitive_count) {
            fputs("  Not used as reasons (sensitive): ", out);
            for (size_t s = 0; s < row->sensitive_count; s++)
                fprintf(out, "%s%s", s ? ", " : "", row->sensitive[s]);
            fprintf(out, ", together %+.4g toward the %s outcome.\n", row->sensitive_total,
                    adverse);
        }
    }
}

static void write_csv(const gbx_reasons *reasons, FILE *out)
{
    fputs("row,rank,feature,display,contribution,value,reason,what_if\n", out);
    for (size_t i = 0; i < reasons->count; i++) {
        const gbx_reasons_row *row = &reasons->rows[i];
        for (size_t r = 0; r < row->count; r++) {
            const gbx_reason *x = &row->reasons[r];
            fprintf(out, "%zu,%zu,", row->row, r + 1);
            gbx_csv_write_field(out, x->feature);
            fputc(',', out);
            gbx_csv_write_field(out, x->display);
            fprintf(out, ",%.17g,", x->contribution);
            gbx_csv_write_field(out, x->value);
            fputc(',', out);
            gbx_csv_write_field(out, x->sentence);
            fputc(',', out);
            gbx_csv_write_field(out, x->what_if);
            fputc('\n', out);
        }
    }
}

static json_object *json_reason(const gbx_reason *x)
{
    json_object *item = json_object_new_object();
    json_object_object_add(item, "feature", json_object_new_string(x->feature));
    json_object_object_add(item, "display", json_object_new_string(x->display));
    json_object_object_add(item, "contribution", json_object_new_double(x->contribution));
    json_object_object_add(item, "value", json_object_new_string(x->value));
    json_object_object_add(item, "reason", json_object_new_string(x->sentence));
    if (*x->what_if) {
        json_object_object_add(item, "what_if", json_object_new_string(x->what_if));
        json_object_object_add(item, "what_if_change", json_object_new_double(x->what_if_change));
    }
    return item;
}

static gbx_status write_json(const gbx_reasons *reasons, FILE *out, gbx_error *error)
{
    json_object *document = json_object_new_object(), *rows = json_object_new_array();
    if (!document || !rows) {
        json_object_put(document);
        json_object_put(rows);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < reasons->count; i++) {
        const gbx_reasons_row *r = &reasons->rows[i];
        json_object *row = json_object_new_object(), *list = json_object_new_array();
        json_object_object_add(row, "row", json_object_new_int64((int64_t)r->row));
        json_object_object_add(row, "prediction", json_object_new_double(r->prediction));
        json_object_object_add(row, "base_value", json_object_new_double(r->base_value));
        if (r->decision != GBX_DECISION_NONE)
            json_object_object_add(row, "decision", json_object_new_string(
                r->decision == GBX_DECISION_ADVERSE ? "adverse" : "favourable"));
        for (size_t x = 0; x < r->count; x++) json_object_array_add(list, json_reason(&r->reasons[x]));
        json_object_object_add(row, "reasons", list);
        if (r->sensitive_count) { /* an applicant's rows say nothing of them */
            json_object *masking = json_object_new_object(), *names = json_object_new_array();
            for (size_t s = 0; s < r->sensitive_count; s++)
                json_object_array_add(names, json_object_new_string(r->sensitive[s]));
            json_object_object_add(masking, "features", names);
            json_object_object_add(masking, "contribution",
                                   json_object_new_double(r->sensitive_total));
            json_object_object_add(row, "sensitive", masking);
        }
        json_object_array_add(rows, row);
    }
    json_object_object_add(document, "adverse",
                           json_object_new_string(reasons->adverse_lower ? "lower" : "higher"));
    json_object_object_add(document, "output", json_object_new_string(reasons->output_name));
    json_object_object_add(document, "rows", rows);
    const char *text = json_object_to_json_string_ext(document, JSON_C_TO_STRING_PRETTY);
    gbx_status status = text ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (text) fprintf(out, "%s\n", text);
    json_object_put(document);
    return status;
}

gbx_status gbx_reasons_write(const gbx_reasons *reasons, const char *format, FILE *out,
                             gbx_error *error)
{
    if (!reasons || !format || !out)
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_reasons_write: NULL argument");
    gbx_status status = GBX_OK;
    if (strcmp(format, "text") == 0) write_text(reasons, out);
    else if (strcmp(format, "csv") == 0) write_csv(reasons, out);
    else if (strcmp(format, "json") == 0) status = write_json(reasons, out, error);
    else return gbx_fail(error, GBX_ERR_USAGE, "reasons are written as text, json or csv, not "
                         "\"%s\"", format);
    if (status == GBX_OK && ferror(out))
        status = gbx_fail(error, GBX_ERR_IO, "write error (disk full?)");
    return status;
}

gbx_status gbx_reasons_write_file(const gbx_reasons *reasons, const char *path,
                                  const char *format, gbx_error *error)
{
    if (!reasons || !path || !format)
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_reasons_write_file: NULL argument");
    if (strcmp(path, "-") == 0) {
        gbx_status status = gbx_reasons_write(reasons, format, stdout, error);
        if (status == GBX_OK && fflush(stdout) != 0)
            status = gbx_fail(error, GBX_ERR_IO, "standard output: write error");
        return status;
    }
    char *text = NULL;
    size_t length = 0;
    FILE *memory = open_memstream(&text, &length);
    if (!memory) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    gbx_status status = gbx_reasons_write(reasons, format, memory, error);
    if (fclose(memory) != 0 && status == GBX_OK) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (status == GBX_OK) status = gbx_write_file(path, text, length, error);
    free(text);
    return status;
}
