/* buffer.h - a fixed-capacity byte ring for the bytes read from a client and not yet written
 * back, plus a pool of ring storage so that an idle connection holds no memory.
 *
 * The ring does no I/O and no allocation: it hands out iovecs for readv/writev and is told
 * afterwards how many bytes moved. Invariant: 0 <= len <= cap, 0 <= head < cap (head is 0 while
 * the ring is empty, so an emptied ring hands out one contiguous region again). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct buffer {
        uint8_t *data;  /* NULL while the connection holds no storage */
        size_t cap;
        size_t head;    /* offset of the oldest unsent byte */
        size_t len;     /* bytes held */
};

/* Fills iov with the free space (0, 1 or 2 regions, in order); returns how many. */
int buffer_space_iov(const struct buffer *b, struct iovec iov[2]);

/* Fills iov with the held bytes (0, 1 or 2 regions, oldest first); returns how many. */
int buffer_data_iov(const struct buffer *b, struct iovec iov[2]);

/* Records that n bytes were written into the space buffer_space_iov() gave; n <= free space. */
void buffer_produce(struct buffer *b, size_t n);

/* Records that the oldest n bytes were sent; n <= len. */
void buffer_consume(struct buffer *b, size_t n);

static inline bool buffer_is_empty(const struct buffer *b) { return b->len == 0; }
/* A ring without storage is empty, not full: storage comes when the first byte does. */
static inline bool buffer_is_full(const struct buffer *b) { return b->data && b->len == b->cap; }

/* Storage for rings, all of one size, recycled: keeps at most `keep` spare blocks. */
struct buffer_pool {
        void **spare;
        size_t n_spare;
        size_t keep;
        size_t size;
};

/* Prepares a pool handing out blocks of `size` bytes. Returns 0 or -ENOMEM. */
int buffer_pool_init(struct buffer_pool *p, size_t size, size_t keep);

/* Frees every spare block; the pool may be half-built or zeroed. */
void buffer_pool_finish(struct buffer_pool *p);

/* Gives b storage from the pool if it has none. Returns 0 or -ENOMEM (b unchanged). */
int buffer_pool_attach(struct buffer_pool *p, struct buffer *b);

/* Returns b's storage to the pool; b must be empty or being discarded. */
void buffer_pool_detach(struct buffer_pool *p, struct buffer *b);
