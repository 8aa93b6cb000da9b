/* PNG (libpng's simplified API) and JPEG (libjpeg, errors and warnings turned into errors so
 * that a damaged file is refused instead of decoded into grey blocks). */
#include "image.h"

#include <dirent.h>
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Larger images are refused before their pixels are allocated. */
#define MAX_PIXELS ((size_t)1 << 26)

static int has_suffix(const char *path, const char *suffix)
{
    size_t n = strlen(path), m = strlen(suffix);
    return n > m && strcasecmp(path + n - m, suffix) == 0;
}

static int is_png(const char *path) { return has_suffix(path, ".png"); }

int gbx_image_path(const char *path)
{
    return is_png(path) || has_suffix(path, ".jpg") || has_suffix(path, ".jpeg");
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void gbx_image_list_free(char **paths, size_t count)
{
    for (size_t i = 0; paths && i < count; i++) free(paths[i]);
    free(paths);
}

gbx_status gbx_image_list(const char *path, char ***paths, size_t *count, gbx_error *error)
{
    *paths = NULL;
    *count = 0;
    struct stat info;
    if (stat(path, &info) != 0)
        return gbx_fail(error, GBX_ERR_IO, "%s: no such file or folder", path);
    if (!S_ISDIR(info.st_mode)) {
        if (!(*paths = malloc(sizeof(char *))) || !((*paths)[0] = gbx_strdup(path))) {
            free(*paths);
            *paths = NULL;
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        }
        *count = 1;
        return GBX_OK;
    }
    DIR *folder = opendir(path);
    if (!folder) return gbx_fail(error, GBX_ERR_IO, "%s: cannot open the folder", path);
    size_t capacity = 0;
    gbx_status status = GBX_OK;
    for (struct dirent *entry; status == GBX_OK && (entry = readdir(folder));) {
        if (entry->d_name[0] == '.' || !gbx_image_path(entry->d_name)) continue;
        if (*count == capacity) {
            capacity = capacity ? 2 * capacity : 64;
            char **grown = realloc(*paths, capacity * sizeof(char *));
            if (!grown) {
                status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
                break;
            }
            *paths = grown;
        }
        size_t length = strlen(path) + strlen(entry->d_name) + 2;
        char *full = malloc(length);
        if (!full) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        else snprintf(full, length, "%s/%s", path, entry->d_name), (*paths)[(*count)++] = full;
    }
    closedir(folder);
    if (status == GBX_OK && *count == 0)
        status = gbx_fail(error, GBX_ERR_PARSE, "%s: the folder holds no .png, .jpg or .jpeg "
                          "files", path);
    if (status != GBX_OK) {
        gbx_image_list_free(*paths, *count);
        *paths = NULL;
        *count = 0;
        return status;
    }
    qsort(*paths, *count, sizeof(char *), by_name);
    return GBX_OK;
}

static gbx_status decode_png(const char *path, uint8_t **pixels, size_t *width, size_t *height,
                             int *channels, gbx_error *error)
{
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&image, path))
        return gbx_fail(error, GBX_ERR_PARSE, "%s: not a readable PNG image (%s)", path,
                        image.message);
    if ((size_t)image.width * image.height > MAX_PIXELS) {
        png_image_free(&image);
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: %u x %u pixels is too large", path,
                        image.width, image.height);
    }
    int colour = (image.format & PNG_FORMAT_FLAG_COLOR) != 0;
    image.format = colour ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    uint8_t *buffer = malloc(PNG_IMAGE_SIZE(image) + 1);
    if (!buffer) {
        png_image_free(&image);
        return gbx_fail(error, GBX_ERR_NOMEM, "%s: out of memory", path);
    }
    if (!png_image_finish_read(&image, NULL, buffer, 0, NULL)) {
        free(buffer);
        png_image_free(&image);
        return gbx_fail(error, GBX_ERR_PARSE, "%s: damaged PNG image (%s)", path, image.message);
    }
    *pixels = buffer;
    *width = image.width;
    *height = image.height;
    *channels = colour ? 3 : 1;
    png_image_free(&image);
    return GBX_OK;
}

typedef struct {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jpeg_failure;

static void jpeg_error_exit(j_common_ptr info)
{
    jpeg_failure *failure = (jpeg_failure *)info->err;
    info->err->format_message(info, failure->message);
    longjmp(failure->jump, 1);
}

/* Level -1 is a warning about corrupt data (libjpeg would carry on with made-up pixels). */
static void jpeg_message(j_common_ptr info, int level)
{
    if (level < 0) jpeg_error_exit(info);
}

static gbx_status decode_jpeg(const char *path, uint8_t **pixels, size_t *width, size_t *height,
                              int *channels, gbx_error *error)
{
    char *bytes;
    size_t length;
    gbx_status status = gbx_read_file(path, &bytes, &length, error);
    if (status != GBX_OK) return status;
    struct jpeg_decompress_struct info;
    jpeg_failure failure;
    uint8_t *volatile buffer = NULL;
    info.err = jpeg_std_error(&failure.manager);
    failure.manager.error_exit = jpeg_error_exit;
    failure.manager.emit_message = jpeg_message;
    if (setjmp(failure.jump)) {
        jpeg_destroy_decompress(&info);
        free(buffer);
        free(bytes);
        return gbx_fail(error, GBX_ERR_PARSE, "%s: not a readable JPEG image (%s)", path,
                        failure.message);
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, (const unsigned char *)bytes, (unsigned long)length);
    jpeg_read_header(&info, TRUE);
    int grey = info.jpeg_color_space == JCS_GRAYSCALE;
    info.out_color_space = grey ? JCS_GRAYSCALE : JCS_RGB;
    if ((size_t)info.image_width * info.image_height > MAX_PIXELS) {
        jpeg_destroy_decompress(&info);
        free(bytes);
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: %u x %u pixels is too large", path,
                        info.image_width, info.image_height);
    }
    jpeg_start_decompress(&info);
    size_t stride = (size_t)info.output_width * (size_t)info.output_components;
    buffer = malloc(stride * info.output_height + 1);
    if (!buffer) {
        jpeg_destroy_decompress(&info);
        free(bytes);
        return gbx_fail(error, GBX_ERR_NOMEM, "%s: out of memory", path);
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = buffer + info.output_scanline * stride;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    *pixels = buffer;
    *width = info.output_width;
    *height = info.output_height;
    *channels = info.output_components;
    jpeg_destroy_decompress(&info);
    free(bytes);
    return GBX_OK;
}

gbx_status gbx_image_decode(const char *path, uint8_t **pixels, size_t *width, size_t *height,
                            int *channels, gbx_error *error)
{
    return is_png(path) ? decode_png(path, pixels, width, height, channels, error)
                        : decode_jpeg(path, pixels, width, height, channels, error);
}

gbx_status gbx_image_layout_of(int rank, const int64_t *dims, gbx_image_layout *layout,
                               gbx_error *error)
{
    memset(layout, 0, sizeof *layout);
    if (rank == 3) { /* [N, H, W]: grey */
        layout->height = (size_t)dims[1];
        layout->width = (size_t)dims[2];
        layout->channels = 1;
        return GBX_OK;
    }
    int first = rank == 4 && (dims[1] == 1 || dims[1] == 3);
    int last = rank == 4 && (dims[3] == 1 || dims[3] == 3);
    if (!first && !last)
        return gbx_fail(error, GBX_ERR_USAGE, "images need a network whose input is [batch, "
                        "channels, height, width], [batch, height, width, channels] (1 or 3 "
                        "channels) or [batch, height, width]; this one's has %d dimensions "
                        "(give its rows as .npy or CSV instead)", rank);
    layout->channels_first = first;
    layout->channels = (int)(first ? dims[1] : dims[3]);
    layout->height = (size_t)(first ? dims[2] : dims[1]);
    layout->width = (size_t)(first ? dims[3] : dims[2]);
    return GBX_OK;
}

gbx_status gbx_image_row(const char *path, const gbx_image_layout *layout, double *row,
                         gbx_error *error)
{
    uint8_t *pixels;
    size_t width, height;
    int channels;
    gbx_status status = gbx_image_decode(path, &pixels, &width, &height, &channels, error);
    if (status != GBX_OK) return status;
    if (width != layout->width || height != layout->height) {
        free(pixels);
        return gbx_fail(error, GBX_ERR_MISMATCH, "%s: the image is %zu x %zu pixels; the network "
                        "takes %zu x %zu (resize it first)", path, width, height, layout->width,
                        layout->height);
    }
    size_t positions = width * height, C = (size_t)layout->channels;
    for (size_t p = 0; p < positions; p++) {
        const uint8_t *pixel = pixels + p * (size_t)channels;
        for (size_t c = 0; c < C; c++) {
            double value;
            if (channels == (int)C) value = pixel[c];
            else if (C == 3) value = pixel[0]; /* grey spread over red, green and blue */
            else /* PIL's convert("L"): L = R 299/1000 + G 587/1000 + B 114/1000, rounded */
                value = (double)((pixel[0] * 19595u + pixel[1] * 38470u + pixel[2] * 7471u +
                                  0x8000u) >> 16);
            row[layout->channels_first ? c * positions + p : p * C + c] = value;
        }
    }
    free(pixels);
    return GBX_OK;
}
