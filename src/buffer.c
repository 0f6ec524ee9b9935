/* buffer.c - see buffer.h. */
#include "buffer.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

int buffer_space_iov(const struct buffer *b, struct iovec iov[2]) {
        size_t tail = b->head + b->len;

        if (b->len == b->cap)
                return 0;
        if (tail < b->cap) {
                iov[0] = (struct iovec) { b->data + tail, b->cap - tail };
                if (b->head == 0)
                        return 1;
                iov[1] = (struct iovec) { b->data, b->head };
                return 2;
        }
        iov[0] = (struct iovec) { b->data + (tail - b->cap), b->cap - b->len };
        return 1;
}

int buffer_data_iov(const struct buffer *b, struct iovec iov[2]) {
        size_t first;

        if (b->len == 0)
                return 0;
        first = b->cap - b->head;
        if (b->len <= first) {
                iov[0] = (struct iovec) { b->data + b->head, b->len };
                return 1;
        }
        iov[0] = (struct iovec) { b->data + b->head, first };
        iov[1] = (struct iovec) { b->data, b->len - first };
        return 2;
}

void buffer_produce(struct buffer *b, size_t n) {
        assert(n <= b->cap - b->len);
        b->len += n;
}

void buffer_consume(struct buffer *b, size_t n) {
        assert(n <= b->len);
        b->len -= n;
        b->head = b->len == 0 ? 0 : (b->head + n) % b->cap;
}

int buffer_pool_init(struct buffer_pool *p, size_t size, size_t keep) {
        *p = (struct buffer_pool) { .keep = keep, .size = size };
        if (keep == 0)
                return 0;
        p->spare = calloc(keep, sizeof *p->spare);
        return p->spare ? 0 : -ENOMEM;
}

void buffer_pool_finish(struct buffer_pool *p) {
        for (size_t i = 0; i < p->n_spare; i++)
                free(p->spare[i]);
        free(p->spare);
        *p = (struct buffer_pool) { 0 };
}

int buffer_pool_attach(struct buffer_pool *p, struct buffer *b) {
        if (b->data)
                return 0;
        b->data = p->n_spare > 0 ? p->spare[--p->n_spare] : malloc(p->size);
        if (!b->data)
                return -ENOMEM;
        b->cap = p->size;
        b->head = b->len = 0;
        return 0;
}

void buffer_pool_detach(struct buffer_pool *p, struct buffer *b) {
        if (!b->data)
                return;
        if (p->n_spare < p->keep)
                p->spare[p->n_spare++] = b->data;
        else
                free(b->data);
        *b = (struct buffer) { 0 };
}
