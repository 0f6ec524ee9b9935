/* test-buffer - the ring against a model (a plain FIFO) under random read and write sizes, and
 * the pool's recycling. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"

static int failures;

#define FAIL(...) do { printf("FAIL: " __VA_ARGS__); printf("\n"); failures++; return; } while (0)

static void ring_vs_model(unsigned seed, size_t cap) {
        struct buffer_pool pool;
        struct buffer b = { 0 };
        uint8_t *model = malloc(cap), next_in = 0;
        size_t model_len = 0;

        srand(seed);
        if (buffer_pool_init(&pool, cap, 2) < 0 || !model)
                FAIL("setup");
        for (int step = 0; step < 20000; step++) {
                struct iovec iov[2];
                int n;

                if (buffer_pool_attach(&pool, &b) < 0)
                        FAIL("attach");
                if (rand() % 2) {
                        /* "read": fill part of the free space with the next bytes of a counter */
                        size_t want = (size_t) rand() % (cap + 1), done = 0, space = 0;
                        n = buffer_space_iov(&b, iov);
                        for (int i = 0; i < n; i++)
                                space += iov[i].iov_len;
                        if (space != cap - model_len)
                                FAIL("seed %u step %d: space %zu, model says %zu", seed, step, space, cap - model_len);
                        for (int i = 0; i < n && done < want; i++)
                                for (size_t j = 0; j < iov[i].iov_len && done < want; j++, done++) {
                                        ((uint8_t *) iov[i].iov_base)[j] = next_in;
                                        model[model_len++] = next_in++;
                                }
                        buffer_produce(&b, done);
                } else {
                        /* "write": send part of the data, check it is the oldest bytes in order */
                        size_t want = (size_t) rand() % (cap + 1), done = 0, held = 0;
                        n = buffer_data_iov(&b, iov);
                        for (int i = 0; i < n; i++)
                                held += iov[i].iov_len;
                        if (held != model_len)
                                FAIL("seed %u step %d: holds %zu, model %zu", seed, step, held, model_len);
                        for (int i = 0; i < n && done < want; i++)
                                for (size_t j = 0; j < iov[i].iov_len && done < want; j++, done++)
                                        if (((uint8_t *) iov[i].iov_base)[j] != model[done])
                                                FAIL("seed %u step %d: byte %zu differs", seed, step, done);
                        buffer_consume(&b, done);
                        memmove(model, model + done, model_len - done);
                        model_len -= done;
                }
                if (buffer_is_empty(&b) != (model_len == 0) || buffer_is_full(&b) != (model_len == cap))
                        FAIL("seed %u step %d: empty/full flags wrong", seed, step);
                if (buffer_is_empty(&b) && b.head != 0)
                        FAIL("seed %u step %d: empty ring not reset", seed, step);
                if (buffer_is_empty(&b) && rand() % 4 == 0)
                        buffer_pool_detach(&pool, &b);
        }
        buffer_pool_detach(&pool, &b);
        buffer_pool_finish(&pool);
        free(model);
}

static void pool_recycles(void) {
        struct buffer_pool pool;
        struct buffer a = { 0 }, b = { 0 };
        uint8_t *first;

        if (buffer_pool_init(&pool, 64, 1) < 0)
                FAIL("pool init");
        if (buffer_is_full(&a) || !buffer_is_empty(&a))
                FAIL("a ring without storage must be empty and not full");
        if (buffer_pool_attach(&pool, &a) < 0 || !a.data || a.cap != 64)
                FAIL("attach gives storage");
        first = a.data;
        buffer_pool_detach(&pool, &a);
        if (a.data || pool.n_spare != 1)
                FAIL("detach keeps one spare");
        if (buffer_pool_attach(&pool, &b) < 0 || b.data != first)
                FAIL("the spare is handed out again");
        buffer_pool_detach(&pool, &b);
        buffer_pool_finish(&pool);
}

int main(void) {
        static const size_t caps[] = { 1, 2, 7, 16, 1024 };

        for (unsigned seed = 1; seed <= 20; seed++)
                ring_vs_model(seed, caps[seed % 5]);
        pool_recycles();
        printf("%s\n", failures ? "buffer tests FAILED" : "buffer tests passed");
        return failures ? 1 : 0;
}
