/* libFuzzer target: explanation files as plots read them (corpus: tests/fuzz/corpus/explanation).
 * The reader takes a path, so each input goes through a file of this process's own. Whatever
 * reads is drawn by every plot kind (as SVG text in memory) and, when grouped, spread back
 * over its columns. */
#include "io/explanation.h"
#include "render/plot.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/glassbox-fuzz-%d.json", (int)getpid());
    FILE *file = fopen(path, "wb");
    if (!file) return 0;
    fwrite(data, 1, size, file);
    fclose(file);
    gbx_explanation *document;
    gbx_error error;
    if (gbx_explanation_read(path, &document, &error) == GBX_OK) {
        /* Every announced value must be readable. */
        volatile double sum = 0;
        size_t cells = document->rows * document->outputs;
        for (size_t j = 0; j < cells * document->features; j++) sum += document->values[j];
        for (size_t j = 0; j < cells; j++) sum += document->base_values[j] + document->predictions[j];
        for (size_t j = 0; document->data && j < document->rows * document->columns; j++)
            sum += document->data[j];
        (void)sum;
        static gbx_status (*const draw[])(const plot_request *, gbx_error *) = {
            plot_waterfall, plot_force, plot_decision, plot_bar, plot_beeswarm, plot_dependence,
            plot_heatmap, plot_histogram, plot_image};
        for (size_t kind = 0; kind < sizeof draw / sizeof draw[0]; kind++)
            for (int variant = 0; variant < 2; variant++) {
                gbx_plot_options options;
                gbx_plot_options_init(&options);
                options.row = document->rows - 1;
                options.rows_last = variant ? document->rows : 0;
                options.row = variant ? 0 : options.row;
                options.feature = document->feature_names[0];
                options.cohort = variant && document->data ? document->column_names[0] : NULL;
                char *svg = NULL;
                size_t length = 0;
                plot_request request = {document, 0, 0, &options, NULL, NULL, "svg", 1, &svg,
                                        &length};
                if (draw[kind](&request, &error) == GBX_OK) free(svg);
            }
        /* The sinks that read it as the summary does: every audience's view, and the reasons
         * of every row (the summary, the reasons and the report start from these). */
        for (int audience = GBX_AUDIENCE_APPLICANT; audience <= GBX_AUDIENCE_AUDITOR; audience++) {
            gbx_explanation *view;
            if (gbx_explanation_for_audience(document, NULL, (gbx_audience)audience, &view,
                                             &error) == GBX_OK)
                gbx_explanation_free(view);
        }
        gbx_reasons_options reasons_options;
        gbx_reasons_options_init(&reasons_options);
        gbx_reasons *reasons;
        if (gbx_reasons_compute(document, &reasons_options, &reasons, &error) == GBX_OK)
            gbx_reasons_free(reasons);
        /* What was read writes back (the writer walks every array the reader filled). */
        char written[80];
        snprintf(written, sizeof written, "/tmp/glassbox-fuzz-%d.out.json", (int)getpid());
        gbx_writer_options writing = {1, "json", 1};
        gbx_explanation_write(document, written, &writing, &error);
        remove(written);
        gbx_explanation *columns;
        if (document->group_of_column && document->data &&
            gbx_explanation_spread_groups(document, &columns, &error) == GBX_OK)
            gbx_explanation_free(columns);
        gbx_explanation_free(document);
    }
    remove(path);
    return 0;
}
