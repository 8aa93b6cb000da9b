/* The players of a Shapley game: the model's columns, or groups of columns explained as one
 * feature (--groups). Every method takes them; NULL means each column plays alone. */
#ifndef GBX_PLAYERS_H
#define GBX_PLAYERS_H

#include "../core/core.h"

#include <stdint.h>

typedef struct {
    size_t count;             /* P: the features explained */
    const int32_t *of_column; /* [M]: the player each model column belongs to, < count */
} gbx_players;

/* A method's own copy of the map (the identity for NULL): *of_column has M entries. */
gbx_status gbx_players_copy(const gbx_players *players, size_t M, int32_t **of_column,
                            size_t *count, gbx_error *error);

#endif
