/* Image: one row of a network with an image input, in three panels: the input as it was fed
 * (its values stretched to black..white, colour when it has three channels), the attribution
 * map (values summed over channels, blue through white to red), and the map blended over a
 * grey copy of the input, each pixel tinted by as much as its |value| reaches toward the
 * clipping level (the 99th percentile of |value|, stated under the panels). The layout of
 * the input (channels first or last) is the explanation's input_layout, which the network
 * gave; files without one are read by which side of input_shape looks like channels. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PANEL 200.0
#define GAP 24.0
#define TOP 56.0

typedef struct {
    size_t channels, height, width;
    int channels_last;
} layout;

/* Channels first (C, H, W) when the first size is 1, 3 or 4, else last (H, W, C); a
 * two-dimensional input is one grey channel. */
static int image_layout(const gbx_explanation *d, layout *out)
{
    const size_t *s = d->input_shape;
    if (d->input_rank == 2) {
        *out = (layout){1, s[0], s[1], 0};
        return 1;
    }
    if (d->input_rank != 3) return 0;
    if (d->input_layout == GBX_LAYOUT_CHANNELS_FIRST) *out = (layout){s[0], s[1], s[2], 0};
    else if (d->input_layout == GBX_LAYOUT_CHANNELS_LAST) *out = (layout){s[2], s[0], s[1], 1};
    /* Files written before the layout was recorded: the side that looks like channels. */
    else if (s[0] == 1 || s[0] == 3 || s[0] == 4) *out = (layout){s[0], s[1], s[2], 0};
    else if (s[2] == 1 || s[2] == 3 || s[2] == 4) *out = (layout){s[2], s[0], s[1], 1};
    else return 0;
    return 1;
}

static size_t at(const layout *l, size_t channel, size_t y, size_t x)
{
    return l->channels_last ? (y * l->width + x) * l->channels + channel
                            : (channel * l->height + y) * l->width + x;
}

gbx_status plot_image(const plot_request *request, gbx_error *error)
{
    const gbx_explanation *d = request->document;
    size_t M = d->features, K = d->outputs, k = request->output, r = request->options->row;
    layout l;
    if (!image_layout(d, &l))
        return gbx_fail(error, GBX_ERR_USAGE, "an image plot needs an explanation of a network "
                        "whose input is an image (input_shape C x H x W or H x W x C); this one "
                        "has %s", d->input_rank ? "another shape" : "no input_shape");
    if (!d->data || d->columns != M)
        return gbx_fail(error, GBX_ERR_USAGE, "the explanation holds no input pixels (written "
                        "without them, or at a layer): the image cannot be drawn");
    size_t pixels = l.height * l.width;
    const double *values = d->values + (r * K + k) * M, *input = d->data + r * d->columns;
    double *map = gbx_calloc(pixels, sizeof(double)), *sorted = gbx_malloc_array(pixels, sizeof(double));
    if (!map || !sorted) {
        free(map), free(sorted);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    double low = INFINITY, high = -INFINITY;
    for (size_t c = 0; c < l.channels; c++)
        for (size_t y = 0; y < l.height; y++)
            for (size_t x = 0; x < l.width; x++) {
                size_t i = at(&l, c, y, x);
                map[y * l.width + x] += values[i];
                if (isfinite(input[i])) low = fmin(low, input[i]), high = fmax(high, input[i]);
            }
    for (size_t p = 0; p < pixels; p++) sorted[p] = fabs(map[p]);
    double clip = plot_clip(sorted, pixels);
    if (!(high > low)) high = low + 1;
    double cell = PANEL / (double)(l.height > l.width ? l.height : l.width);
    canvas *c = NULL;
    double width = 3 * PANEL + 2 * GAP + 32, height = TOP + PANEL + 70;
    gbx_status status = plot_open(request, width, height, &c, error);
    if (status == GBX_OK) {
        char title[256], text[256], number[32];
        if (d->classes)
            snprintf(title, sizeof title, "Row %zu: attributions for output %.0f (the predicted "
                     "one), %s", r, d->classes[r], d->method);
        else
            snprintf(title, sizeof title, "Row %zu: attributions for %s%s, %s", r, d->output_names[k],
                     K > 1 && !request->chosen ? " (the first output)" : "", d->method);
        canvas_text(c, 16, 24, title, 13, 1, CANVAS_LEFT, CANVAS_TEXT, "title");
        static const char *const names[] = {"input", "attribution", "attribution over the input"};
        for (int panel = 0; panel < 3; panel++) {
            double left = 16 + panel * (PANEL + GAP);
            canvas_text(c, left, TOP - 8, names[panel], 10, 0, CANVAS_LEFT, CANVAS_MUTED, "panel-title");
            for (size_t y = 0; y < l.height; y++)
                for (size_t x = 0; x < l.width; x++) {
                    double grey = 0, value = map[y * l.width + x];
                    canvas_colour colour;
                    if (panel == 0 && l.channels >= 3) {
                        double rgb[3];
                        for (size_t ch = 0; ch < 3; ch++)
                            rgb[ch] = (input[at(&l, ch, y, x)] - low) / (high - low);
                        colour = (canvas_colour){rgb[0], rgb[1], rgb[2]};
                    } else {
                        for (size_t ch = 0; ch < l.channels && ch < 3; ch++)
                            grey += (input[at(&l, ch, y, x)] - low) / (high - low);
                        grey /= (double)(l.channels < 3 ? l.channels : 3);
                        if (!isfinite(grey)) grey = 0;
                        colour = (canvas_colour){grey, grey, grey};
                    }
                    if (panel == 1) colour = canvas_diverging(value / clip);
                    if (panel == 2) {
                        /* The grey input, dimmed so the tint reads, tinted toward red or blue. */
                        double a = fmin(fabs(value) / clip, 1) * 0.85, g = 0.25 + 0.5 * grey;
                        canvas_colour end = value >= 0 ? CANVAS_RAISES : CANVAS_LOWERS;
                        colour = (canvas_colour){g + a * (end.r - g), g + a * (end.g - g), g + a * (end.b - g)};
                    }
                    canvas_rect(c, left + (double)x * cell, TOP + (double)y * cell, cell + 0.6,
                                cell + 0.6, colour, panel == 0 ? "pixel" : panel == 1 ? "attribution" : "blend");
                }
        }
        plot_number(clip, number, sizeof number);
        snprintf(text, sizeof text, "red raises the output, blue lowers it; colours reach full "
                 "strength at |value| %s (the 99th percentile of the map)", number);
        canvas_text(c, 16, TOP + PANEL + 24, text, 9, 0, CANVAS_LEFT, CANVAS_MUTED, "legend");
        double total = 0;
        for (size_t p = 0; p < pixels; p++) total += map[p];
        plot_number(total, number, sizeof number);
        char base[32], prediction[32];
        plot_number(d->base_values[r * K + k], base, sizeof base);
        plot_number(d->predictions[r * K + k], prediction, sizeof prediction);
        /* A sum is only worth comparing with the prediction where the values add up to it. */
        if (plot_additive(d))
            snprintf(text, sizeof text, "sum of the map %s; prediction %s, baseline %s", number,
                     prediction, base);
        else
            snprintf(text, sizeof text, "prediction %s (%s's map does not add up to it)",
                     prediction, d->method);
        canvas_text(c, 16, TOP + PANEL + 40, text, 9, 0, CANVAS_LEFT, CANVAS_MUTED, "legend");
        status = plot_close(request, c, error);
    }
    free(map), free(sorted);
    return status;
}
