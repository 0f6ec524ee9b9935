/* budget.h - --max-memory's count: the storage (rings, splice pipes) that the connections of
 * every worker hold together, which never exceeds the limit.
 *
 * Each worker reserves from the shared total in chunks and hands out from its own reserve, so
 * that a connection taking a ring for a message and giving it back costs no locked instruction;
 * a reserve above two chunks goes back to the total. What the workers hold in reserve counts as
 * spent: with --workers N a take may fail up to N * 2 chunks early, never late. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* Shared by every worker; zero-initialised it is valid. */
struct budget_total {
        atomic_size_t reserved;         /* by every worker, for storage in use or in reserve */
};

/* One worker's part; used from that worker's thread alone. */
struct budget {
        struct budget_total *total;
        size_t max;                     /* the limit of the total */
        size_t chunk;                   /* reserved at a time */
        size_t reserve;                 /* reserved and not handed out */
};

/* Prepares b to take from total up to max bytes in all, `chunk` bytes at a time. */
void budget_init(struct budget *b, struct budget_total *total, size_t max, size_t chunk);

/* Hands out n bytes. Returns false, taking nothing, when the total cannot grow by them. */
bool budget_take(struct budget *b, size_t n);

/* Gives back n bytes that budget_take() handed out. */
void budget_give(struct budget *b, size_t n);

/* Gives the reserve back to the total; b is empty afterwards. Accepts a zeroed budget. */
void budget_finish(struct budget *b);
