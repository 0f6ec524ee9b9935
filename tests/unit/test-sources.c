/* test-sources - the source table: keys (/32, /64, mapped forms), token buckets, a flood of
 * random sources that evicts and never grows, counts that pin their slot, and a locked table
 * shared by threads. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "sources.h"

static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { printf("FAIL %s:%d: ", __FILE__, __LINE__); \
        printf(__VA_ARGS__); printf("\n"); failures++; } } while (0)

static struct source_key key_of(const char *text) {
        struct sockaddr_storage ss = { 0 };
        struct source_key k;
        socklen_t len;

        if (strchr(text, ':')) {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
                in6->sin6_family = AF_INET6;
                inet_pton(AF_INET6, text, &in6->sin6_addr);
                len = sizeof *in6;
        } else {
                struct sockaddr_in *in = (struct sockaddr_in *) &ss;
                in->sin_family = AF_INET;
                inet_pton(AF_INET, text, &in->sin_addr);
                len = sizeof *in;
        }
        if (source_key_from_sockaddr((struct sockaddr *) &ss, len, &k) < 0)
                printf("FAIL: no key for %s\n", text), failures++;
        return k;
}

static bool same(const char *a, const char *b) {
        struct source_key ka = key_of(a), kb = key_of(b);
        return memcmp(&ka, &kb, sizeof ka) == 0;
}

static struct source_key key_n(uint32_t n) {
        struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(n) };
        struct source_key k;

        source_key_from_sockaddr((struct sockaddr *) &in, sizeof in, &k);
        return k;
}

static void test_keys(void) {
        struct sockaddr_un un = { .sun_family = AF_UNIX };
        struct sockaddr_in in = { .sin_family = AF_INET };
        struct source_key k;

        CHECK(!same("192.0.2.1", "192.0.2.2"), "IPv4 is /32");
        CHECK(same("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"), "IPv6 is /64");
        CHECK(!same("2001:db8:1:2::1", "2001:db8:1:3::1"), "another /64 is another source");
        CHECK(same("::ffff:192.0.2.1", "192.0.2.1"), "v4-mapped is its IPv4 address");
        CHECK(same("::192.0.2.1", "192.0.2.1"), "v4-compatible is its IPv4 address");
        CHECK(!same("::1", "0.0.0.1"), "::1 is not v4-compatible");
        CHECK(same("::1", "::1:0:0:0"), "::1 is in ::/64");
        CHECK(source_key_from_sockaddr((struct sockaddr *) &un, sizeof un, &k) == -EAFNOSUPPORT, "AF_UNIX");
        CHECK(source_key_from_sockaddr((struct sockaddr *) &in, sizeof in - 1, &k) == -EINVAL, "truncated");
        CHECK(source_key_from_sockaddr(NULL, 0, &k) == -EINVAL, "NULL");
}

static void test_bucket(void) {
        struct rate r = { .per_s = 10, .burst = 5 };
        struct token_bucket b;
        int n = 0;

        token_bucket_init(&b, &r, 1000);
        while (token_bucket_take(&b, &r, 1000))
                n++;
        CHECK(n == 5, "burst: %d of 5", n);
        /* 10 a second: one token each 100 ms. */
        CHECK(!token_bucket_take(&b, &r, 1099), "no token after 99 ms");
        CHECK(token_bucket_take(&b, &r, 1100), "one token after 100 ms");
        CHECK(!token_bucket_take(&b, &r, 1100), "only one");
        n = 0;
        for (uint64_t t = 2000; t < 12000; t++)
                n += token_bucket_take(&b, &r, t);
        CHECK(n >= 100 && n <= 106, "10 s at 1000 tries a second: %d, want 10 a second plus the burst", n);
        /* A long quiet spell fills the bucket, no more, whatever the time (no overflow). */
        n = 0;
        while (token_bucket_take(&b, &r, UINT64_MAX / 2))
                n++;
        CHECK(n == 5, "after a long spell: %d of 5", n);
        /* The clock never going back is the caller's promise; a step back must not give tokens. */
        CHECK(!token_bucket_take(&b, &r, 5), "clock going back");
        r = (struct rate) { 0 };
        for (int i = 0; i < 1000; i++)
                CHECK(token_bucket_take(&b, &r, 0), "no rate: always");
        r = (struct rate) { .per_s = 1000000, .burst = 1000000 };
        token_bucket_init(&b, &r, 0);
        CHECK(token_bucket_take(&b, &r, UINT64_MAX - 1), "largest rate, far future");
}

static void test_rates(void) {
        struct rate r = { .per_s = 2, .burst = 3 };
        struct sources t;
        struct source_key a = key_of("192.0.2.1"), b = key_of("192.0.2.2");
        int na = 0, nb = 0;

        CHECK(sources_init(&t, 64, &r, false) == 0, "init");
        for (int i = 0; i < 100; i++) {
                na += sources_take(&t, &a, 0);
                nb += sources_take(&t, &b, 0);
        }
        CHECK(na == 3 && nb == 3, "each source its own burst: %d, %d", na, nb);
        CHECK(sources_take(&t, &a, 500), "refilled after 500 ms at 2/s");
        CHECK(t.n_used == 2, "two sources, %zu slots", t.n_used);
        sources_finish(&t);

        CHECK(sources_init(&t, 0, NULL, false) == 0, "init without rate");
        for (int i = 0; i < 1000; i++)
                CHECK(sources_take(&t, &a, 0), "no rate: always");
        CHECK(t.n_used == 0, "no rate: the table is not even touched");
        sources_finish(&t);
}

/* A million random sources through a 1024-slot table: it stays at 1024 slots, evicting; a
 * source that floods all along stays in it and stays limited. */
static void test_flood(void) {
        struct rate r = { .per_s = 10, .burst = 10 };
        struct sources t;
        struct source_key flooder = key_of("2001:db8::1");
        uint64_t now = 0;
        int echoed = 0;

        CHECK(sources_init(&t, 1000, &r, false) == 0, "init");
        CHECK(sources_capacity(&t) == 1024, "1000 rounds up to 1024, got %zu", sources_capacity(&t));
        srand(1);
        for (int i = 0; i < 1000000; i++) {
                struct source_key k = key_n((uint32_t) rand() ^ ((uint32_t) rand() << 16));

                if (i % 100 == 0) {
                        now++;  /* 10 s in all */
                        echoed += sources_take(&t, &flooder, now);
                }
                sources_take(&t, &k, now);
        }
        CHECK(t.n_used <= sources_capacity(&t), "%zu used of %zu", t.n_used, sources_capacity(&t));
        CHECK(t.n_used == sources_capacity(&t), "a flood fills the table: %zu", t.n_used);
        CHECK(t.evictions > 900000, "evictions: %llu", (unsigned long long) t.evictions);
        CHECK(t.full == 0, "nothing pinned, never full: %llu", (unsigned long long) t.full);
        CHECK(echoed >= 100 && echoed <= 111, "flooder held to 10/s over 10 s plus its burst: %d", echoed);
        sources_finish(&t);
}

static void test_counts(void) {
        struct sources t;
        struct source_key a = key_of("198.51.100.7"), six = key_of("2001:db8:5::1");
        struct source *held[3], *s, *pinned[64];
        int n_pinned = 0, r;

        CHECK(sources_init(&t, 16, &(struct rate) { .per_s = 1, .burst = 1 }, false) == 0, "init");
        CHECK(sources_capacity(&t) == 16, "16 slots: %zu", sources_capacity(&t));
        for (int i = 0; i < 3; i++)
                CHECK(sources_acquire(&t, &a, 3, 0, &held[i]) == 0, "acquire %d", i);
        CHECK(sources_acquire(&t, &a, 3, 0, &s) == -EDQUOT && s == NULL, "over the limit");
        CHECK(sources_count(&t, &a) == 3, "count 3: %u", sources_count(&t, &a));
        sources_release(&t, held[0]);
        CHECK(sources_count(&t, &a) == 2, "count 2 after a release");
        CHECK(sources_acquire(&t, &a, 3, 0, &held[0]) == 0, "room again");
        CHECK(sources_acquire(&t, &six, 0, 0, &s) == 0, "limit 0: no limit");
        sources_release(&t, s);
        sources_release(&t, NULL);

        /* Sources that take tokens never evict one that holds a count. */
        for (uint32_t i = 0; i < 100000; i++)
                sources_take(&t, &(struct source_key) { .b = { 1, (uint8_t) i, (uint8_t) (i >> 8), (uint8_t) (i >> 16) } }, i);
        CHECK(sources_count(&t, &a) == 3, "still 3 after a flood: %u", sources_count(&t, &a));

        /* Fill every slot with counts: a new source then finds none. */
        for (uint32_t i = 0; i < 64; i++) {
                r = sources_acquire(&t, &(struct source_key) { .b = { 2, (uint8_t) i } }, 0, 0, &pinned[n_pinned]);
                if (r == 0)
                        n_pinned++;
                else
                        CHECK(r == -ENOSPC, "acquire into a pinned table: %d", r);
        }
        CHECK(n_pinned >= 8 && n_pinned <= 15, "at most 15 more sources pinned: %d", n_pinned);
        CHECK(t.full > 0, "full counted");
        CHECK(sources_count(&t, &a) == 3, "still 3");
        for (int i = 0; i < n_pinned; i++)
                sources_release(&t, pinned[i]);
        CHECK(sources_acquire(&t, &(struct source_key) { .b = { 3 } }, 0, 0, &s) == 0, "room after releases");
        for (int i = 0; i < 3; i++)
                sources_release(&t, held[i]);
        CHECK(sources_count(&t, &a) == 0, "all released");
        sources_finish(&t);
        sources_finish(&t);     /* a zeroed table is fine */
}

#define THREADS 4
#define ROUNDS 20000

static void *worker(void *userdata) {
        struct sources *t = userdata;
        struct source *s[4];

        for (int i = 0; i < ROUNDS; i++) {
                for (uint8_t j = 0; j < 4; j++)
                        if (sources_acquire(t, &(struct source_key) { .b = { j } }, 0, (uint64_t) i, &s[j]) < 0)
                                s[j] = NULL;
                for (int j = 0; j < 4; j++)
                        sources_release(t, s[j]);
        }
        return NULL;
}

static void test_locked(void) {
        struct sources t;
        pthread_t th[THREADS];
        uint32_t total = 0;

        CHECK(sources_init(&t, 64, NULL, true) == 0, "init");
        for (int i = 0; i < THREADS; i++)
                pthread_create(&th[i], NULL, worker, &t);
        for (int i = 0; i < THREADS; i++)
                pthread_join(th[i], NULL);
        for (uint8_t j = 0; j < 4; j++)
                total += sources_count(&t, &(struct source_key) { .b = { j } });
        CHECK(total == 0, "every acquire released across threads: %u left", total);
        CHECK(t.n_used == 4, "four sources: %zu", t.n_used);
        sources_finish(&t);
}

int main(void) {
        test_keys();
        test_bucket();
        test_rates();
        test_flood();
        test_counts();
        test_locked();
        if (failures)
                printf("%d failures\n", failures);
        else
                printf("all source table tests passed\n");
        return failures ? 1 : 0;
}
