/* fuzz-buffer - the ring buffer and its pool under the calls connection.c makes, in any order
 * and with any sizes, against a model (a plain array used as a FIFO). Input: two bytes of
 * capacity, then operations of three bytes (what, and a 16-bit size). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t iov_total(const struct iovec *iov, int n, const struct buffer *b) {
        size_t total = 0;

        assert(n >= 0 && n <= 2);
        for (int i = 0; i < n; i++) {
                const uint8_t *p = iov[i].iov_base;
                assert(iov[i].iov_len > 0);
                assert(p >= b->data && p + iov[i].iov_len <= b->data + b->cap);
                total += iov[i].iov_len;
        }
        if (n == 2) {
                /* Two regions: the end of the block, then its start. */
                assert((uint8_t *) iov[1].iov_base == b->data);
                assert((uint8_t *) iov[0].iov_base + iov[0].iov_len == b->data + b->cap);
        }
        return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct buffer_pool pool;
        struct buffer b = { 0 };
        struct iovec iov[2];
        uint8_t *model, next = 0;
        size_t cap, len = 0;

        if (size < 2)
                return 0;
        cap = 1 + ((size_t) data[0] << 8 | data[1]) % 4096;
        model = malloc(cap);
        assert(buffer_pool_init(&pool, cap, 2) == 0);
        for (size_t i = 2; i + 3 <= size; i += 3) {
                size_t want = (size_t) data[i + 1] << 8 | data[i + 2], done = 0;
                int n;

                switch (data[i] % 3) {
                case 0:         /* readv() returned `want` bytes, at most the space offered */
                        assert(buffer_pool_attach(&pool, &b) == 0);
                        n = buffer_space_iov(&b, iov);
                        assert(iov_total(iov, n, &b) == cap - len);
                        want %= cap - len + 1;
                        for (int k = 0; k < n; k++)
                                for (size_t j = 0; j < iov[k].iov_len && done < want; j++, done++) {
                                        ((uint8_t *) iov[k].iov_base)[j] = next;
                                        model[len++] = next++;
                                }
                        buffer_produce(&b, want);
                        break;
                case 1:         /* sendmsg() took `want` bytes, at most those held */
                        n = buffer_data_iov(&b, iov);
                        assert(iov_total(iov, n, &b) == len);
                        for (int k = 0; k < n; k++) {
                                assert(memcmp(iov[k].iov_base, model + done, iov[k].iov_len) == 0);
                                done += iov[k].iov_len;
                        }
                        want %= len + 1;
                        if (want > 0) {
                                buffer_consume(&b, want);
                                memmove(model, model + want, len - want);
                                len -= want;
                        }
                        break;
                default:        /* the connection gives its storage back once drained */
                        if (buffer_is_empty(&b))
                                buffer_pool_detach(&pool, &b);
                        break;
                }
                assert(b.len == len);
                assert(buffer_is_empty(&b) == (len == 0));
                assert(buffer_is_full(&b) == (b.data && len == cap));
                assert(b.head < cap || (b.head == 0 && !b.data));
                if (len == 0)
                        assert(b.head == 0);
        }
        buffer_pool_detach(&pool, &b);
        buffer_pool_finish(&pool);
        free(model);
        return 0;
}
