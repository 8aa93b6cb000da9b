/* Canvas: SVG written by hand, PNG and PDF through cairo. */
#include "canvas.h"

#include "../core/dl.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* cairo is loaded when the first canvas is opened (src/core/dl.h). */
#define CAIRO_SYMBOLS(X) \
    X(cairo_arc) \
    X(cairo_close_path) \
    X(cairo_create) \
    X(cairo_destroy) \
    X(cairo_fill) \
    X(cairo_image_surface_create) \
    X(cairo_line_to) \
    X(cairo_move_to) \
    X(cairo_new_sub_path) \
    X(cairo_paint) \
    X(cairo_pdf_surface_create_for_stream) \
    X(cairo_rectangle) \
    X(cairo_scale) \
    X(cairo_select_font_face) \
    X(cairo_set_dash) \
    X(cairo_set_font_size) \
    X(cairo_set_line_width) \
    X(cairo_set_source_rgb) \
    X(cairo_show_text) \
    X(cairo_status) \
    X(cairo_status_to_string) \
    X(cairo_stroke) \
    X(cairo_surface_destroy) \
    X(cairo_surface_finish) \
    X(cairo_surface_flush) \
    X(cairo_surface_status) \
    X(cairo_surface_write_to_png_stream) \
    X(cairo_text_extents)
static struct {
    CAIRO_SYMBOLS(GBX_DL_MEMBER)
} cairo_api;
static const char *const cairo_names[] = {CAIRO_SYMBOLS(GBX_DL_NAME)};
static gbx_library cairo = GBX_LIBRARY(GBX_CAIRO_SONAME, cairo_names, cairo_api);
#define cairo_arc (*cairo_api.cairo_arc)
#define cairo_close_path (*cairo_api.cairo_close_path)
#define cairo_create (*cairo_api.cairo_create)
#define cairo_destroy (*cairo_api.cairo_destroy)
#define cairo_fill (*cairo_api.cairo_fill)
#define cairo_image_surface_create (*cairo_api.cairo_image_surface_create)
#define cairo_line_to (*cairo_api.cairo_line_to)
#define cairo_move_to (*cairo_api.cairo_move_to)
#define cairo_new_sub_path (*cairo_api.cairo_new_sub_path)
#define cairo_paint (*cairo_api.cairo_paint)
#define cairo_pdf_surface_create_for_stream (*cairo_api.cairo_pdf_surface_create_for_stream)
#define cairo_rectangle (*cairo_api.cairo_rectangle)
#define cairo_scale (*cairo_api.cairo_scale)
#define cairo_select_font_face (*cairo_api.cairo_select_font_face)
#define cairo_set_dash (*cairo_api.cairo_set_dash)
#define cairo_set_font_size (*cairo_api.cairo_set_font_size)
#define cairo_set_line_width (*cairo_api.cairo_set_line_width)
#define cairo_set_source_rgb (*cairo_api.cairo_set_source_rgb)
#define cairo_show_text (*cairo_api.cairo_show_text)
#define cairo_status (*cairo_api.cairo_status)
#define cairo_status_to_string (*cairo_api.cairo_status_to_string)
#define cairo_stroke (*cairo_api.cairo_stroke)
#define cairo_surface_destroy (*cairo_api.cairo_surface_destroy)
#define cairo_surface_finish (*cairo_api.cairo_surface_finish)
#define cairo_surface_flush (*cairo_api.cairo_surface_flush)
#define cairo_surface_status (*cairo_api.cairo_surface_status)
#define cairo_surface_write_to_png_stream (*cairo_api.cairo_surface_write_to_png_stream)
#define cairo_text_extents (*cairo_api.cairo_text_extents)

#define FONT "DejaVu Sans"
#define PNG_SCALE 2.0

const canvas_colour CANVAS_RAISES = {1.0, 0.0, 81.0 / 255};            /* #ff0051 */
const canvas_colour CANVAS_LOWERS = {0.0, 139.0 / 255, 251.0 / 255};   /* #008bfb */
const canvas_colour CANVAS_TEXT = {0.2, 0.2, 0.2};
const canvas_colour CANVAS_MUTED = {0.45, 0.45, 0.45};
const canvas_colour CANVAS_RULE = {0.8, 0.8, 0.8};

struct canvas {
    canvas_format kind;
    double width, height;
    cairo_surface_t *surface; /* PNG, PDF */
    cairo_t *cr;
    cairo_surface_t *measure_surface; /* text metrics, whatever the format */
    cairo_t *measure;
    FILE *svg;      /* SVG is written here; PNG and PDF bytes are streamed into bytes */
    FILE *bytes;
    char *text;     /* what svg or bytes hold */
    size_t length;
};

static void hex(canvas_colour c, char *out)
{
    snprintf(out, 8, "#%02x%02x%02x", (int)(c.r * 255 + 0.5), (int)(c.g * 255 + 0.5),
             (int)(c.b * 255 + 0.5));
}

void canvas_escape(FILE *f, const char *text)
{
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*p, f);
        }
    }
}

static void font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

void canvas_discard(canvas *c)
{
    if (!c) return;
    if (c->cr) cairo_destroy(c->cr);
    if (c->surface) cairo_surface_destroy(c->surface);
    if (c->measure) cairo_destroy(c->measure);
    if (c->measure_surface) cairo_surface_destroy(c->measure_surface);
    if (c->svg) fclose(c->svg);
    if (c->bytes) fclose(c->bytes);
    free(c->text);
    free(c);
}

gbx_status canvas_format_parse(const char *name, canvas_format *out)
{
    static const char *const names[] = {[CANVAS_SVG] = "svg", [CANVAS_PNG] = "png",
                                        [CANVAS_PDF] = "pdf"};
    for (size_t f = 0; name && f < sizeof names / sizeof names[0]; f++)
        if (strcasecmp(name, names[f]) == 0) {
            *out = (canvas_format)f;
            return GBX_OK;
        }
    return GBX_ERR_USAGE;
}

/* cairo's writer callback: PNG and PDF bytes into the canvas's memory stream. */
static cairo_status_t stream_bytes(void *closure, const unsigned char *data, unsigned int length)
{
    return fwrite(data, 1, length, closure) == length ? CAIRO_STATUS_SUCCESS
                                                      : CAIRO_STATUS_WRITE_ERROR;
}

gbx_status canvas_open(canvas_format kind, int inline_svg, double width, double height,
                       canvas **out, gbx_error *error)
{
    *out = NULL;
    gbx_status loaded = gbx_dl_load(&cairo, error);
    if (loaded != GBX_OK) return loaded;
    canvas *c = calloc(1, sizeof *c);
    if (!c) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    c->kind = kind;
    c->width = width;
    c->height = height;
    c->measure_surface = cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1);
    c->measure = cairo_create(c->measure_surface);
    FILE *memory = open_memstream(&c->text, &c->length);
    if (!memory) {
        canvas_discard(c);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    if (kind == CANVAS_SVG) {
        c->svg = memory;
        /* SVG inlined in HTML takes no XML declaration. */
        if (!inline_svg) fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", c->svg);
        fprintf(c->svg, "<svg xmlns=\"http://www.w3.org/"
                "2000/svg\" width=\"%.2fpt\" height=\"%.2fpt\" viewBox=\"0 0 %.2f %.2f\" "
                "font-family=\"%s, Verdana, sans-serif\">\n<rect class=\"background\" x=\"0\" "
                "y=\"0\" width=\"%.2f\" height=\"%.2f\" fill=\"#ffffff\"/>\n", width, height,
                width, height, FONT, width, height);
    } else {
        c->bytes = memory;
        c->surface = kind == CANVAS_PNG
                         ? cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)(width * PNG_SCALE),
                                                      (int)(height * PNG_SCALE))
                         : cairo_pdf_surface_create_for_stream(stream_bytes, c->bytes, width, height);
        c->cr = cairo_create(c->surface);
        if (cairo_status(c->cr) != CAIRO_STATUS_SUCCESS) {
            gbx_status status = gbx_fail(error, GBX_ERR_INTERNAL, "cannot draw: %s",
                                         cairo_status_to_string(cairo_status(c->cr)));
            canvas_discard(c);
            return status;
        }
        if (kind == CANVAS_PNG) cairo_scale(c->cr, PNG_SCALE, PNG_SCALE);
        cairo_set_source_rgb(c->cr, 1, 1, 1);
        cairo_paint(c->cr);
    }
    *out = c;
    return GBX_OK;
}

static void svg_start(canvas *c, const char *element, const char *role)
{
    fprintf(c->svg, "<%s", element);
    if (role) {
        fputs(" class=\"", c->svg);
        canvas_escape(c->svg, role);
        fputc('"', c->svg);
    }
}

void canvas_rect(canvas *c, double x, double y, double width, double height, canvas_colour fill,
                 const char *role)
{
    if (c->svg) {
        char colour[8];
        hex(fill, colour);
        svg_start(c, "rect", role);
        fprintf(c->svg, " x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>\n", x,
                y, width, height, colour);
        return;
    }
    cairo_set_source_rgb(c->cr, fill.r, fill.g, fill.b);
    cairo_rectangle(c->cr, x, y, width, height);
    cairo_fill(c->cr);
}

void canvas_circle(canvas *c, double x, double y, double radius, canvas_colour fill,
                   const char *role)
{
    if (c->svg) {
        char colour[8];
        hex(fill, colour);
        svg_start(c, "circle", role);
        fprintf(c->svg, " cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\" fill=\"%s\"/>\n", x, y, radius,
                colour);
        return;
    }
    cairo_set_source_rgb(c->cr, fill.r, fill.g, fill.b);
    cairo_new_sub_path(c->cr);
    cairo_arc(c->cr, x, y, radius, 0, 2 * 3.14159265358979323846);
    cairo_fill(c->cr);
}

canvas_colour canvas_blend(double t)
{
    if (!(t >= 0)) t = 0;
    if (t > 1) t = 1;
    canvas_colour c = {CANVAS_LOWERS.r + t * (CANVAS_RAISES.r - CANVAS_LOWERS.r),
                       CANVAS_LOWERS.g + t * (CANVAS_RAISES.g - CANVAS_LOWERS.g),
                       CANVAS_LOWERS.b + t * (CANVAS_RAISES.b - CANVAS_LOWERS.b)};
    return c;
}

canvas_colour canvas_diverging(double t)
{
    if (!(t >= -1)) t = -1;
    if (t > 1) t = 1;
    canvas_colour end = t >= 0 ? CANVAS_RAISES : CANVAS_LOWERS;
    double a = fabs(t);
    return (canvas_colour){1 + a * (end.r - 1), 1 + a * (end.g - 1), 1 + a * (end.b - 1)};
}

void canvas_polygon(canvas *c, const double *xy, int n, canvas_colour fill, const char *role)
{
    if (n < 3) return;
    if (c->svg) {
        char colour[8];
        hex(fill, colour);
        svg_start(c, "polygon", role);
        fputs(" points=\"", c->svg);
        for (int i = 0; i < n; i++) fprintf(c->svg, "%s%.2f,%.2f", i ? " " : "", xy[2 * i], xy[2 * i + 1]);
        fprintf(c->svg, "\" fill=\"%s\"/>\n", colour);
        return;
    }
    cairo_set_source_rgb(c->cr, fill.r, fill.g, fill.b);
    cairo_move_to(c->cr, xy[0], xy[1]);
    for (int i = 1; i < n; i++) cairo_line_to(c->cr, xy[2 * i], xy[2 * i + 1]);
    cairo_close_path(c->cr);
    cairo_fill(c->cr);
}

void canvas_line(canvas *c, double x1, double y1, double x2, double y2, canvas_colour stroke,
                 double width, int dashed, const char *role)
{
    if (c->svg) {
        char colour[8];
        hex(stroke, colour);
        svg_start(c, "line", role);
        fprintf(c->svg, " x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" "
                "stroke-width=\"%.2f\"%s/>\n", x1, y1, x2, y2, colour, width,
                dashed ? " stroke-dasharray=\"3,3\"" : "");
        return;
    }
    static const double dash[] = {3.0, 3.0};
    cairo_set_source_rgb(c->cr, stroke.r, stroke.g, stroke.b);
    cairo_set_line_width(c->cr, width);
    cairo_set_dash(c->cr, dash, dashed ? 2 : 0, 0);
    cairo_move_to(c->cr, x1, y1);
    cairo_line_to(c->cr, x2, y2);
    cairo_stroke(c->cr);
}

void canvas_polyline(canvas *c, const double *xy, int n, canvas_colour stroke, double width,
                     const char *role)
{
    if (n < 2) return;
    if (c->svg) {
        char colour[8];
        hex(stroke, colour);
        svg_start(c, "polyline", role);
        fputs(" points=\"", c->svg);
        for (int i = 0; i < n; i++) fprintf(c->svg, "%s%.2f,%.2f", i ? " " : "", xy[2 * i], xy[2 * i + 1]);
        fprintf(c->svg, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.2f\"/>\n", colour, width);
        return;
    }
    cairo_set_source_rgb(c->cr, stroke.r, stroke.g, stroke.b);
    cairo_set_line_width(c->cr, width);
    cairo_set_dash(c->cr, NULL, 0, 0);
    cairo_move_to(c->cr, xy[0], xy[1]);
    for (int i = 1; i < n; i++) cairo_line_to(c->cr, xy[2 * i], xy[2 * i + 1]);
    cairo_stroke(c->cr);
}

double canvas_text_width(canvas *c, const char *text, double size, int bold)
{
    cairo_text_extents_t extents;
    font(c->measure, size, bold);
    cairo_text_extents(c->measure, text, &extents);
    return extents.x_advance;
}

void canvas_text(canvas *c, double x, double y, const char *text, double size, int bold,
                 canvas_align align, canvas_colour colour, const char *role)
{
    canvas_text_titled(c, x, y, text, NULL, size, bold, align, colour, role);
}

void canvas_text_titled(canvas *c, double x, double y, const char *text, const char *title,
                        double size, int bold, canvas_align align, canvas_colour colour,
                        const char *role)
{
    if (c->svg) {
        static const char *const anchors[] = {"start", "middle", "end"};
        char fill[8];
        hex(colour, fill);
        svg_start(c, "text", role);
        fprintf(c->svg, " x=\"%.2f\" y=\"%.2f\" font-size=\"%.2f\"%s text-anchor=\"%s\" "
                "fill=\"%s\">", x, y, size, bold ? " font-weight=\"bold\"" : "", anchors[align],
                fill);
        if (title) { /* the whole text, shown on hovering what was shortened */
            fputs("<title>", c->svg);
            canvas_escape(c->svg, title);
            fputs("</title>", c->svg);
        }
        canvas_escape(c->svg, text);
        fputs("</text>\n", c->svg);
        return;
    }
    double width = canvas_text_width(c, text, size, bold);
    font(c->cr, size, bold);
    cairo_set_source_rgb(c->cr, colour.r, colour.g, colour.b);
    cairo_move_to(c->cr, align == CANVAS_LEFT ? x : align == CANVAS_CENTRE ? x - width / 2
                                                                          : x - width, y);
    cairo_show_text(c->cr, text);
}

gbx_status canvas_close(canvas *c, char **bytes, size_t *length, gbx_error *error)
{
    *bytes = NULL;
    *length = 0;
    gbx_status status = GBX_OK;
    if (c->svg) {
        fputs("</svg>\n", c->svg);
    } else {
        cairo_destroy(c->cr);
        c->cr = NULL;
        cairo_surface_flush(c->surface);
        if (c->kind == CANVAS_PNG &&
            cairo_surface_write_to_png_stream(c->surface, stream_bytes, c->bytes) !=
                CAIRO_STATUS_SUCCESS)
            status = gbx_fail(error, GBX_ERR_NOMEM, "cannot encode the PNG (out of memory)");
        cairo_surface_finish(c->surface); /* a PDF is written out here */
        if (status == GBX_OK && cairo_surface_status(c->surface) != CAIRO_STATUS_SUCCESS)
            status = gbx_fail(error, GBX_ERR_INTERNAL, "cannot draw: %s",
                              cairo_status_to_string(cairo_surface_status(c->surface)));
    }
    FILE **stream = c->svg ? &c->svg : &c->bytes;
    int failed = ferror(*stream) | fclose(*stream);
    *stream = NULL;
    if (status == GBX_OK && failed) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (status == GBX_OK) {
        *bytes = c->text;
        *length = c->length;
        c->text = NULL;
    }
    canvas_discard(c);
    return status;
}
