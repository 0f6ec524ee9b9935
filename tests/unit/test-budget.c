/* test-budget - --max-memory's count: never above the limit, a worker's reserve spent before
 * the total is asked, reserves given back above two chunks, and two workers sharing one total. */
#include <stdio.h>

#include "budget.h"

static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { printf("FAIL: " __VA_ARGS__); printf("\n"); failures++; } } while (0)

/* One worker alone gets exactly max, in any order of takes and gives. */
static void test_exact_limit(void) {
        struct budget_total total = { 0 };
        struct budget b;

        budget_init(&b, &total, 10 * 64, 4 * 64);
        for (int i = 0; i < 10; i++)
                CHECK(budget_take(&b, 64), "take %d of 10 refused", i + 1);
        CHECK(!budget_take(&b, 64), "an 11th ring beyond the limit was handed out");
        CHECK(atomic_load(&total.reserved) == 10 * 64, "total %zu, want %u", atomic_load(&total.reserved), 10 * 64);
        budget_give(&b, 64);
        CHECK(budget_take(&b, 64), "a ring given back could not be taken again");
        CHECK(!budget_take(&b, 64), "the limit moved after a give and a take");
        CHECK(!budget_take(&b, 11 * 64), "more than the limit in one take was handed out");
        for (int i = 0; i < 10; i++)
                budget_give(&b, 64);
        CHECK(atomic_load(&total.reserved) <= 2 * 4 * 64, "reserve %zu above two chunks kept",
              atomic_load(&total.reserved));
        budget_finish(&b);
        CHECK(atomic_load(&total.reserved) == 0, "total %zu after finish, want 0", atomic_load(&total.reserved));
}

/* Taking and giving one ring at a time touches the total once, not per message. */
static void test_reserve_absorbs_churn(void) {
        struct budget_total total = { 0 };
        struct budget b;
        size_t before;

        budget_init(&b, &total, 1u << 20, 4 * 64);
        CHECK(budget_take(&b, 64), "first take refused");
        before = atomic_load(&total.reserved);
        CHECK(before == 5 * 64, "first take reserved %zu, want a ring and a chunk (%u)", before, 5 * 64);
        for (int i = 0; i < 100000; i++) {
                budget_give(&b, 64);
                if (atomic_load(&total.reserved) != before) {
                        CHECK(0, "give %d went to the total", i);
                        break;
                }
                if (!budget_take(&b, 64)) {
                        CHECK(0, "take %d refused", i);
                        break;
                }
        }
        CHECK(atomic_load(&total.reserved) == before, "the total moved (%zu, was %zu) under churn",
              atomic_load(&total.reserved), before);
        budget_give(&b, 64);
        budget_finish(&b);
        CHECK(atomic_load(&total.reserved) == 0, "total %zu after finish", atomic_load(&total.reserved));
}

/* Two workers on one total: together never above max; the reserve one holds counts as spent,
 * and goes back when it finishes. */
static void test_two_workers(void) {
        struct budget_total total = { 0 };
        struct budget a, b;
        int got_a = 0, got_b = 0;
        size_t kept;

        budget_init(&a, &total, 8 * 64, 2 * 64);
        budget_init(&b, &total, 8 * 64, 2 * 64);
        while (budget_take(&a, 64))
                got_a++;
        CHECK(got_a == 8, "worker a got %d rings of 8", got_a);
        CHECK(!budget_take(&b, 64), "worker b got a ring with the total spent");
        for (int i = 0; i < got_a; i++)
                budget_give(&a, 64);
        kept = atomic_load(&total.reserved);
        CHECK(kept > 0 && kept <= 2 * 2 * 64, "a keeps %zu, want at most two chunks", kept);
        while (budget_take(&b, 64))
                got_b++;
        CHECK((size_t) got_b == 8 - kept / 64, "worker b got %d rings beside a's reserve of %zu", got_b, kept / 64);
        CHECK(atomic_load(&total.reserved) == 8 * 64, "total %zu, want max", atomic_load(&total.reserved));
        budget_finish(&a);
        CHECK(budget_take(&b, 64), "a's reserve was not given back by budget_finish()");
        got_b++;
        for (int i = 0; i < got_b; i++)
                budget_give(&b, 64);
        budget_finish(&b);
        CHECK(atomic_load(&total.reserved) == 0, "total %zu after both finished", atomic_load(&total.reserved));
}

int main(void) {
        test_exact_limit();
        test_reserve_absorbs_churn();
        test_two_workers();
        if (failures)
                return 1;
        printf("ok\n");
        return 0;
}
