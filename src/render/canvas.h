/* The one drawing interface every plot uses. A canvas writes SVG itself (text stays text, so
 * the file can be searched, read aloud, checked by tests and inlined in an HTML report) and
 * PNG and PDF through cairo, from the same calls, all of them into memory.
 * Sizes are in points (1/72 inch); PNG is drawn at 2 pixels per point. Text is measured with
 * cairo in DejaVu Sans whatever the format, so layouts agree. */
#ifndef GBX_CANVAS_H
#define GBX_CANVAS_H

#include "../core/core.h"

#include <stdio.h>

typedef struct canvas canvas;

typedef struct {
    double r, g, b;
} canvas_colour;

/* shap's red (raises the output) and blue (lowers it), and the greys around them. */
extern const canvas_colour CANVAS_RAISES, CANVAS_LOWERS, CANVAS_TEXT, CANVAS_MUTED, CANVAS_RULE;

typedef enum { CANVAS_LEFT, CANVAS_CENTRE, CANVAS_RIGHT } canvas_align;

/* Text into XML or HTML, with <, >, & and " escaped. */
void canvas_escape(FILE *file, const char *text);
typedef enum { CANVAS_SVG, CANVAS_PNG, CANVAS_PDF } canvas_format;
/* "svg", "png" or "pdf" (any case); GBX_ERR_USAGE for anything else. */
gbx_status canvas_format_parse(const char *name, canvas_format *out);
/* A canvas drawn in memory; inline_svg leaves out the XML declaration (SVG for HTML). */
gbx_status canvas_open(canvas_format format, int inline_svg, double width, double height,
                       canvas **out, gbx_error *error);
/* role: what the shape is ("bar positive", "label"...), kept as the SVG element's class. */
void canvas_rect(canvas *c, double x, double y, double width, double height, canvas_colour fill,
                 const char *role);
void canvas_circle(canvas *c, double x, double y, double radius, canvas_colour fill,
                   const char *role);
/* A colour between low (t = 0) and high (t = 1), blue to red through purple, as shap colours
 * feature values. */
canvas_colour canvas_blend(double t);
/* A colour for a signed value t in [-1, 1]: blue below zero, white at zero, red above. */
canvas_colour canvas_diverging(double t);
/* A closed polygon of n points (xy pairs). */
void canvas_polygon(canvas *c, const double *xy, int n, canvas_colour fill, const char *role);
void canvas_line(canvas *c, double x1, double y1, double x2, double y2, canvas_colour stroke,
                 double width, int dashed, const char *role);
/* An open line through n points (xy pairs). */
void canvas_polyline(canvas *c, const double *xy, int n, canvas_colour stroke, double width,
                     const char *role);
/* Text with its baseline at y. */
void canvas_text(canvas *c, double x, double y, const char *text, double size, int bold,
                 canvas_align align, canvas_colour colour, const char *role);
/* The same with a tooltip (SVG's <title>) holding the whole text, for text shortened to fit;
 * title NULL: none. PNG and PDF draw the text alone. */
void canvas_text_titled(canvas *c, double x, double y, const char *text, const char *title,
                        double size, int bold, canvas_align align, canvas_colour colour,
                        const char *role);
double canvas_text_width(canvas *c, const char *text, double size, int bold);
/* Finishes the drawing, hands over its bytes (NUL-terminated, for SVG text; the caller frees
 * them) and frees the canvas. */
gbx_status canvas_close(canvas *c, char **bytes, size_t *length, gbx_error *error);
/* Frees the canvas without writing anything. */
void canvas_discard(canvas *c);

#endif
