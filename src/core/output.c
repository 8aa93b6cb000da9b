/* Output files written safely: to a temporary file of a name no other call gets, created with
 * O_EXCL beside the path (so a planted link is never followed), every write checked, then
 * renamed into place; on failure the previous file is left as it was. "-" is standard output
 * (flushed and checked); a device or pipe is written in place. */
#include "core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct gbx_output {
    FILE *file;
    char *path, *temporary; /* temporary: NULL for standard output, a device or a pipe */
};

gbx_status gbx_output_open(const char *path, gbx_output **out, gbx_error *error)
{
    if (!path || !out) return gbx_fail(error, GBX_ERR_USAGE, "gbx_output_open: NULL argument");
    *out = NULL;
    gbx_output *o = calloc(1, sizeof *o);
    if (!o || !(o->path = gbx_strdup(path))) {
        free(o);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    struct stat info;
    int in_place = strcmp(path, "-") == 0 || (stat(path, &info) == 0 && !S_ISREG(info.st_mode));
    if (strcmp(path, "-") == 0) o->file = stdout;
    else if (in_place) o->file = fopen(path, "wb");
    else o->file = gbx_temporary_beside(path, &o->temporary, error); /* fills error itself */
    if (!o->file) {
        if (in_place) gbx_fail(error, GBX_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        free(o->path);
        free(o);
        return GBX_ERR_IO;
    }
    *out = o;
    return GBX_OK;
}

FILE *gbx_output_file(gbx_output *output) { return output->file; }

void gbx_output_abort(gbx_output *output)
{
    if (!output) return;
    if (output->file && output->file != stdout) fclose(output->file);
    if (output->temporary) remove(output->temporary);
    free(output->temporary);
    free(output->path);
    free(output);
}

gbx_status gbx_output_close(gbx_output *output, gbx_error *error)
{
    if (!output) return gbx_fail(error, GBX_ERR_USAGE, "gbx_output_close: NULL argument");
    int failed = ferror(output->file) != 0;
    failed |= (output->file == stdout ? fflush(stdout) : fclose(output->file)) != 0;
    output->file = NULL;
    gbx_status status = failed ? gbx_fail(error, GBX_ERR_IO, "%s: write error (disk full?)",
                                          strcmp(output->path, "-") == 0 ? "standard output"
                                                                         : output->path)
                               : GBX_OK;
    if (status == GBX_OK && output->temporary && rename(output->temporary, output->path) != 0)
        status = gbx_fail(error, GBX_ERR_IO, "%s: cannot move into place: %s", output->path,
                          strerror(errno));
    if (status == GBX_OK) {
        free(output->temporary);
        output->temporary = NULL; /* renamed: nothing to remove */
    }
    gbx_output_abort(output);
    return status;
}
