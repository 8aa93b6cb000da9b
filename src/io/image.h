/* PNG and JPEG images as rows of a network's input: decoded with Debian's libpng and
 * libjpeg, laid out as the network's input tensor wants them (channels first or last, grey
 * or colour), and scaled per channel. */
#ifndef GBX_IMAGE_H
#define GBX_IMAGE_H

#include "../core/core.h"

#include <stdint.h>

/* Whether path names a PNG or JPEG file (by its extension). */
int gbx_image_path(const char *path);

/* The images `path` names: the file itself, or a folder's PNG and JPEG files in name order
 * (paths[count], freed with gbx_image_list_free). */
gbx_status gbx_image_list(const char *path, char ***paths, size_t *count, gbx_error *error);
void gbx_image_list_free(char **paths, size_t count);

/* Decodes a PNG or JPEG file into 8-bit pixels, [height][width][channels] with channels 1
 * (grey) or 3 (RGB); an alpha channel is dropped. */
gbx_status gbx_image_decode(const char *path, uint8_t **pixels, size_t *width, size_t *height,
                            int *channels, gbx_error *error);

/* Where a network's input puts an image's values. */
typedef struct {
    size_t height, width;
    int channels;       /* 1 or 3 */
    int channels_first; /* [C][H][W] (PyTorch); otherwise [H][W][C] (Keras) */
} gbx_image_layout;

/* The layout of a network input of `rank` dimensions (the batch first): [N, C, H, W],
 * [N, H, W, C] or [N, H, W] (grey). Fails when the input is not an image. */
gbx_status gbx_image_layout_of(int rank, const int64_t *dims, gbx_image_layout *layout,
                               gbx_error *error);

/* One image as a row in `layout`: its size must match; grey becomes colour by repetition and
 * colour becomes grey by ITU-R 601 luma (as PIL's convert("L")). The values are the pixels,
 * 0 to 255 (gbx_data_reader scales them). */
gbx_status gbx_image_row(const char *path, const gbx_image_layout *layout, double *row,
                         gbx_error *error);

#endif
