/* budget.c - see budget.h. */
#include "budget.h"

void budget_init(struct budget *b, struct budget_total *total, size_t max, size_t chunk) {
        *b = (struct budget) { .total = total, .max = max, .chunk = chunk };
}

/* Adds n to the total if it stays within max. */
static bool total_grow(struct budget *b, size_t n) {
        size_t cur = atomic_load_explicit(&b->total->reserved, memory_order_relaxed);

        do {
                if (n > b->max || cur > b->max - n)
                        return false;
        } while (!atomic_compare_exchange_weak(&b->total->reserved, &cur, cur + n));
        return true;
}

bool budget_take(struct budget *b, size_t n) {
        if (b->reserve >= n) {
                b->reserve -= n;
                return true;
        }
        /* A chunk more, or failing that (the limit is near) exactly what is missing. */
        if (total_grow(b, n - b->reserve + b->chunk)) {
                b->reserve = b->chunk;
                return true;
        }
        if (!total_grow(b, n - b->reserve))
                return false;
        b->reserve = 0;
        return true;
}

void budget_give(struct budget *b, size_t n) {
        b->reserve += n;
        if (b->reserve > 2 * b->chunk) {
                atomic_fetch_sub_explicit(&b->total->reserved, b->reserve - b->chunk, memory_order_relaxed);
                b->reserve = b->chunk;
        }
}

void budget_finish(struct budget *b) {
        if (b->total && b->reserve > 0)
                atomic_fetch_sub_explicit(&b->total->reserved, b->reserve, memory_order_relaxed);
        b->reserve = 0;
}
