/* Reasons: ranking, masking and wording, then text, JSON (json-c) or CSV. */
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

/* A what-if for one feature: the model at the row with the feature moved by its step either
 * way, keeping the move that lowers the adverse outcome most. */
static void what_if(const gbx_explanation *d, const reasons_options *o, size_t r,
                    reason *out, const gbx_feature_info *info, int adverse_sign)
{
    const gbx_model *model = o->model;
    long column = model_column(model, d->feature_names[out->member], out->member);
    size_t M = model->features, K = model->outputs;
    size_t k = o->output >= 0 ? (size_t)o->output : 0;
    if (column < 0 || !info || info->step == 0 || r >= gbx_data_rows(o->data) || k >= K) return;
    double *rows = gbx_malloc_array(3 * M, sizeof(double)), *outputs = gbx_malloc_array(3 * K, sizeof(double));
    gbx_data *batch = NULL;
    gbx_error ignored;
    if (rows && outputs) {
        for (int i = 0; i < 3; i++) memcpy(rows + i * M, gbx_data_values(o->data) + r * M, M * sizeof(double));
        rows[M + (size_t)column] += info->step;
        rows[2 * M + (size_t)column] -= info->step;
        if (gbx_data_create(3, M, rows, NULL, &batch, &ignored) == GBX_OK &&
            gbx_model_predict(model, batch, 0, outputs, &ignored) == GBX_OK) {
            double now = outputs[k], up = outputs[K + k] - now, down = outputs[2 * K + k] - now;
            int use_up = adverse_sign * up <= adverse_sign * down;
            double change = use_up ? up : down, moved = rows[(use_up ? 1 : 2) * M + (size_t)column];
            char from[64], to[64], step[64];
            gbx_feature_format(info, rows[(size_t)column], from, sizeof from);
            gbx_feature_format(info, moved, to, sizeof to);
            gbx_feature_format(info, fabs(info->step), step, sizeof step);
            int probability = model->link == GBX_LINK_LOGIT || model->link == GBX_LINK_SOFTMAX;
            char amount[64];
            if (probability) snprintf(amount, sizeof amount, "%.1f points", fabs(change) * 100);
            else snprintf(amount, sizeof amount, "%.4g", fabs(change));
            int moves = probability ? fabs(change) >= 0.0005 : change != 0;
            char effect[96];
            if (moves) snprintf(effect, sizeof effect, "be %s %s", amount, change < 0 ? "lower" : "higher");
            else snprintf(effect, sizeof effect, "stay the same");
            snprintf(out->what_if, sizeof out->what_if, "with %s %s %s (%s instead of %s), the "
                     "%s would %s (%.4g)", gbx_feature_display(info, out->name), step,
                     use_up ? "more" : "less", to, from,
                     probability ? "probability" : "prediction", effect, now + change);
            out->what_if_change = change;
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
        else if (unset_indicator && !o->group_of_feature)
            snprintf(x->sentence, sizeof x->sentence, "%s: no", x->display);
        else if (*x->value) snprintf(x->sentence, sizeof x->sentence, "%s: %s", x->display, x->value);
        else snprintf(x->sentence, sizeof x->sentence, "%s", x->display);
        int alone = 1; /* a what-if moves one column: a player that is a single column */
        for (size_t f = 0; f < M; f++)
            if (f != (size_t)member && player_of(o, f) == (size_t)best) alone = 0;
        if (o->model && o->data && alone) what_if(d, o, r, x, info, sign);
    }
    free(taken);
    return count;
}

static void csv_field(FILE *out, const char *text)
{
    if (!strpbrk(text, ",\"\n\r")) {
        fputs(text, out);
        return;
    }
    fputc('"', out);
    for (const char *p = text; *p; p++) {
        if (*p == '"') fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

gbx_status reasons_write(const gbx_explanation *d, const reasons_options *o, FILE *out,
                         gbx_error *error)
{
    size_t M = d->features, K = d->outputs;
    if (o->output >= 0 && (size_t)o->output >= K)
        return gbx_fail(error, GBX_ERR_USAGE, "the explanation has %zu outputs; there is no "
                        "output %ld", K, o->output);
    /* The what-if re-evaluates the explained rows: the data must be those rows. */
    if (o->data && gbx_data_rows(o->data) != d->rows)
        return gbx_fail(error, GBX_ERR_MISMATCH, "the data holds %zu rows, the explanation %zu; "
                        "a what-if needs the rows that were explained", gbx_data_rows(o->data),
                        d->rows);
    for (size_t r = 0; o->data && d->data && d->columns == gbx_data_columns(o->data) && r < d->rows; r++)
        for (size_t j = 0; j < d->columns; j++) {
            double a = d->data[r * d->columns + j], b = gbx_data_values(o->data)[r * d->columns + j];
            if (!(a == b || (isnan(a) && isnan(b)) || fabs(a - b) <= 1e-9 * fmax(1, fabs(b))))
                return gbx_fail(error, GBX_ERR_MISMATCH, "row %zu of the data differs from the "
                                "row the explanation holds (column %s); a what-if needs the rows "
                                "that were explained", r, d->column_names[j]);
        }
    if (o->row >= 0 && (size_t)o->row >= d->rows)
        return gbx_fail(error, GBX_ERR_USAGE, "the explanation holds %zu rows; there is no row "
                        "%ld", d->rows, o->row);
    size_t players = o->group_of_feature ? o->group_count : M, top = o->top ? o->top : 4;
    players_view view = {players, o->group_of_feature ? o->group_names
                                                      : (const char *const *)d->feature_names,
                         gbx_calloc(players, sizeof(double)), gbx_calloc(players, sizeof(int)),
                         gbx_malloc_array(players, sizeof(size_t)), gbx_malloc_array(M ? M : 1, sizeof(int))};
    reason *reasons = gbx_calloc(top, sizeof(reason));
    json_object *document = o->format == REASONS_JSON ? json_object_new_object() : NULL;
    json_object *rows = o->format == REASONS_JSON ? json_object_new_array() : NULL;
    gbx_status status = view.sums && view.sensitive && view.first && view.indicator && reasons &&
                        (o->format != REASONS_JSON || (document && rows))
                            ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
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
    const char *adverse = o->adverse_lower ? "lower" : "higher";
    if (status == GBX_OK && o->format == REASONS_CSV)
        fputs("row,rank,feature,display,contribution,value,reason,what_if\n", out);
    size_t first = o->row >= 0 ? (size_t)o->row : 0, last = o->row >= 0 ? (size_t)o->row + 1 : d->rows;
    size_t k = o->output >= 0 ? (size_t)o->output : 0;
    for (size_t r = first; status == GBX_OK && r < last; r++) {
        double masked;
        size_t count = row_reasons(d, o, &view, r, reasons, &masked);
        double prediction = d->predictions[r * K + k], base = d->base_values[r * K + k];
        /* The sensitive players, named in the masked note (never as reasons). */
        char masked_names[512] = "";
        for (size_t p = 0; p < players; p++)
            if (view.sensitive[p] && strlen(masked_names) + strlen(view.player_names[p]) + 3 < sizeof masked_names) {
                if (*masked_names) strcat(masked_names, ", ");
                strcat(masked_names, gbx_feature_display(
                    gbx_feature_metadata_find(o->features, view.player_names[p]), view.player_names[p]));
            }
        if (o->format == REASONS_TEXT) {
            fprintf(out, "Row %zu: %s %.4g", r, d->output_names[k], prediction);
            /* A logistic margin is easier read as the probability it stands for. */
            if (strcmp(d->output_space, "margin") == 0 && K == 1 &&
                (strstr(d->objective, "logistic") || strstr(d->objective, "binary")))
                fprintf(out, " (probability %.3f)", 1 / (1 + exp(-prediction)));
            fprintf(out, ", base %.4g. ", base);
            if (count == 0) fprintf(out, "No factor pushed it %s.\n", adverse);
            else fprintf(out, "Principal reasons toward a %s value:\n", adverse);
            for (size_t i = 0; i < count; i++) {
                const reason *x = &reasons[i];
                fprintf(out, "  %zu. %s (%s%s%s, %+.4g)\n", i + 1, x->sentence, x->display,
                        *x->value ? " = " : "", x->value, x->contribution);
                if (*x->what_if) fprintf(out, "     %s\n", x->what_if);
            }
            if (*masked_names)
                fprintf(out, "  Not used as reasons (sensitive): %s, together %+.4g toward the "
                        "%s outcome.\n", masked_names, masked, adverse);
        } else if (o->format == REASONS_CSV) {
            for (size_t i = 0; i < count; i++) {
                const reason *x = &reasons[i];
                fprintf(out, "%zu,%zu,", r, i + 1);
                csv_field(out, x->name);
                fputc(',', out);
                csv_field(out, x->display);
                fprintf(out, ",%.17g,", x->contribution);
                csv_field(out, x->value);
                fputc(',', out);
                csv_field(out, x->sentence);
                fputc(',', out);
                csv_field(out, x->what_if);
                fputc('\n', out);
            }
        } else {
            json_object *row = json_object_new_object(), *list = json_object_new_array();
            json_object_object_add(row, "row", json_object_new_int64((int64_t)r));
            json_object_object_add(row, "prediction", json_object_new_double(prediction));
            json_object_object_add(row, "base_value", json_object_new_double(base));
            for (size_t i = 0; i < count; i++) {
                const reason *x = &reasons[i];
                json_object *item = json_object_new_object();
                json_object_object_add(item, "feature", json_object_new_string(x->name));
                json_object_object_add(item, "display", json_object_new_string(x->display));
                json_object_object_add(item, "contribution", json_object_new_double(x->contribution));
                json_object_object_add(item, "value", json_object_new_string(x->value));
                json_object_object_add(item, "reason", json_object_new_string(x->sentence));
                if (*x->what_if) {
                    json_object_object_add(item, "what_if", json_object_new_string(x->what_if));
                    json_object_object_add(item, "what_if_change",
                                           json_object_new_double(x->what_if_change));
                }
                json_object_array_add(list, item);
            }
            json_object_object_add(row, "reasons", list);
            json_object *masking = json_object_new_object();
            json_object_object_add(masking, "features", json_object_new_string(masked_names));
            json_object_object_add(masking, "contribution", json_object_new_double(masked));
            json_object_object_add(row, "sensitive", masking);
            json_object_array_add(rows, row);
        }
    }
    if (status == GBX_OK && document) {
        json_object_object_add(document, "adverse", json_object_new_string(adverse));
        json_object_object_add(document, "output", json_object_new_string(d->output_names[k]));
        json_object_object_add(document, "rows", json_object_get(rows));
        fputs(json_object_to_json_string_ext(document, JSON_C_TO_STRING_PRETTY), out);
        fputc('\n', out);
    }
    json_object_put(rows);
    json_object_put(document);
    free(view.sums);
    free(view.sensitive);
    free(view.first);
    free(view.indicator);
    free(reasons);
    return status;
}
