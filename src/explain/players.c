#include "players.h"

#include <stdlib.h>

gbx_status gbx_players_copy(const gbx_players *players, size_t M, int32_t **of_column,
                            size_t *count, gbx_error *error)
{
    *of_column = gbx_malloc_array(M ? M : 1, sizeof(int32_t));
    if (!*of_column) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t f = 0; f < M; f++) (*of_column)[f] = players ? players->of_column[f] : (int32_t)f;
    *count = players ? players->count : M;
    return GBX_OK;
}
