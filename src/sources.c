/* sources.c - see sources.h. */
#include "sources.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint64_t rotl(uint64_t x, int b) {
        return (x << b) | (x >> (64 - b));
}

#define SIPROUND do { \
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32); \
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2; \
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0; \
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32); \
} while (0)

static uint64_t load64(const uint8_t *p) {
        uint64_t v = 0;

        for (int i = 7; i >= 0; i--)
                v = (v << 8) | p[i];
        return v;
}

/* SipHash-2-4 of the 16 key bytes: sources from the network choose the input, so the sets they
 * land in must not be predictable. */
static uint64_t key_hash(const uint64_t k[2], const struct source_key *key) {
        uint64_t v0 = k[0] ^ 0x736f6d6570736575ull, v1 = k[1] ^ 0x646f72616e646f6dull;
        uint64_t v2 = k[0] ^ 0x6c7967656e657261ull, v3 = k[1] ^ 0x7465646279746573ull;
        uint64_t m[3] = { load64(key->b), load64(key->b + 8), (uint64_t) 16 << 56 };

        for (int i = 0; i < 3; i++) {
                v3 ^= m[i];
                SIPROUND;
                SIPROUND;
                v0 ^= m[i];
        }
        v2 ^= 0xff;
        SIPROUND;
        SIPROUND;
        SIPROUND;
        SIPROUND;
        return v0 ^ v1 ^ v2 ^ v3;
}

static void hash_key_init(uint64_t k[2]) {
        struct timespec ts;

        if (getrandom(k, 2 * sizeof *k, GRND_NONBLOCK) == (ssize_t) (2 * sizeof *k))
                return;
        /* No entropy yet (early boot): the hash then only spreads, it no longer hides. */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        k[0] = (uint64_t) ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t) getpid();
        k[1] = (uint64_t) ts.tv_sec * 0xc2b2ae3d27d4eb4full ^ (uint64_t) (uintptr_t) k;
}

int sources_init(struct sources *t, size_t capacity, const struct rate *rate, bool locked) {
        size_t sets = 2;

        *t = (struct sources) { 0 };
        while (sets * SOURCES_WAYS < capacity && sets < ((size_t) 1 << 40))
                sets *= 2;
        t->slots = calloc(sets * SOURCES_WAYS, sizeof *t->slots);
        if (!t->slots)
                return -ENOMEM;
        t->n_sets = sets;
        if (rate)
                t->rate = *rate;
        hash_key_init(t->hash_key);
        if (locked) {
                if (pthread_mutex_init(&t->mutex, NULL) != 0)
                        return -ENOMEM;
                t->locked = true;
        }
        return 0;
}

void sources_finish(struct sources *t) {
        if (t->locked)
                pthread_mutex_destroy(&t->mutex);
        free(t->slots);
        *t = (struct sources) { 0 };
}

size_t sources_capacity(const struct sources *t) {
        return t->n_sets * SOURCES_WAYS;
}

int source_key_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct source_key *ret) {
        static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };

        *ret = (struct source_key) { 0 };
        if (!sa || len < sizeof(sa_family_t))
                return -EINVAL;
        if (sa->sa_family == AF_INET) {
                const struct sockaddr_in *in = (const struct sockaddr_in *) sa;

                if (len < sizeof *in)
                        return -EINVAL;
                memcpy(ret->b, v4mapped, sizeof v4mapped);
                memcpy(ret->b + 12, &in->sin_addr, 4);
                return 0;
        }
        if (sa->sa_family == AF_INET6) {
                const struct in6_addr *a = &((const struct sockaddr_in6 *) sa)->sin6_addr;

                if (len < sizeof(struct sockaddr_in6))
                        return -EINVAL;
                /* One host is one source, whether it comes as IPv4 or inside an IPv6 address. */
                if (IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a)) {
                        memcpy(ret->b, v4mapped, sizeof v4mapped);
                        memcpy(ret->b + 12, a->s6_addr + 12, 4);
                        return 0;
                }
                memcpy(ret->b, a->s6_addr, 8);
                return 0;
        }
        return -EAFNOSUPPORT;
}

static void table_lock(struct sources *t) {
        if (t->locked)
                pthread_mutex_lock(&t->mutex);
}

static void table_unlock(struct sources *t) {
        if (t->locked)
                pthread_mutex_unlock(&t->mutex);
}

/* The two sets a key may live in. */
static void key_sets(struct sources *t, const struct source_key *k, struct source *sets[2]) {
        uint64_t h = key_hash(t->hash_key, k);
        size_t mask = t->n_sets - 1;

        sets[0] = &t->slots[(h & mask) * SOURCES_WAYS];
        sets[1] = &t->slots[((h >> 32) & mask) * SOURCES_WAYS];
}

static struct source *table_find(struct source *sets[2], const struct source_key *k) {
        for (int i = 0; i < 2; i++)
                for (size_t w = 0; w < SOURCES_WAYS; w++)
                        if (sets[i][w].used && memcmp(&sets[i][w].key, k, sizeof *k) == 0)
                                return &sets[i][w];
        return NULL;
}

/* Finds k, or gives it a slot: a free one in the emptier of its two sets, else the least
 * recently seen slot of both that holds no count (evicted). NULL when every slot of both sets
 * holds a count. A new source's slot is zeroed but for its key, `used` and last_seen_ms. */
static struct source *table_get(struct sources *t, const struct source_key *k, uint64_t now_ms,
                                bool *created) {
        struct source *sets[2], *free_slot[2] = { NULL, NULL }, *victim = NULL, *s;
        size_t n_free[2] = { 0, 0 };

        *created = false;
        key_sets(t, k, sets);
        s = table_find(sets, k);
        if (s)
                return s;
        for (int i = 0; i < 2; i++)
                for (size_t w = 0; w < SOURCES_WAYS; w++) {
                        s = &sets[i][w];
                        if (!s->used) {
                                if (!free_slot[i])
                                        free_slot[i] = s;
                                n_free[i]++;
                        } else if (s->count == 0 && (!victim || s->last_seen_ms < victim->last_seen_ms)) {
                                victim = s;
                        }
                }
        if (free_slot[0] || free_slot[1]) {
                s = n_free[1] > n_free[0] ? free_slot[1] : free_slot[0];
                t->n_used++;
        } else if (victim) {
                s = victim;
                t->evictions++;
        } else {
                t->full++;
                return NULL;
        }
        *s = (struct source) { .key = *k, .used = true, .last_seen_ms = now_ms };
        *created = true;
        return s;
}

bool sources_take(struct sources *t, const struct source_key *k, uint64_t now_ms) {
        struct source *s;
        bool created, ok = false;

        if (t->rate.per_s == 0)
                return true;
        table_lock(t);
        s = table_get(t, k, now_ms, &created);
        if (s) {
                if (created)
                        token_bucket_init(&s->bucket, &t->rate, now_ms);
                s->last_seen_ms = now_ms;
                ok = token_bucket_take(&s->bucket, &t->rate, now_ms);
        }
        table_unlock(t);
        return ok;
}

int sources_acquire(struct sources *t, const struct source_key *k, uint32_t limit, uint64_t now_ms,
                    struct source **ret) {
        struct source *s;
        bool created;
        int r = 0;

        *ret = NULL;
        table_lock(t);
        s = table_get(t, k, now_ms, &created);
        if (!s) {
                r = -ENOSPC;
        } else {
                if (created)
                        token_bucket_init(&s->bucket, &t->rate, now_ms);
                s->last_seen_ms = now_ms;
                if (limit > 0 && s->count >= limit) {
                        r = -EDQUOT;
                } else {
                        s->count++;
                        *ret = s;
                }
        }
        table_unlock(t);
        return r;
}

void sources_release(struct sources *t, struct source *s) {
        if (!s)
                return;
        table_lock(t);
        if (s->count > 0)
                s->count--;
        table_unlock(t);
}

uint32_t sources_count(struct sources *t, const struct source_key *k) {
        struct source *sets[2], *s;
        uint32_t n;

        table_lock(t);
        key_sets(t, k, sets);
        s = table_find(sets, k);
        n = s ? s->count : 0;
        table_unlock(t);
        return n;
}

void token_bucket_init(struct token_bucket *b, const struct rate *r, uint64_t now_ms) {
        b->millitokens = (uint64_t) r->burst * 1000;
        b->last_ms = now_ms;
}

bool token_bucket_take(struct token_bucket *b, const struct rate *r, uint64_t now_ms) {
        uint64_t full = (uint64_t) r->burst * 1000, elapsed;

        if (r->per_s == 0)
                return true;
        elapsed = now_ms > b->last_ms ? now_ms - b->last_ms : 0;
        b->last_ms = now_ms;
        /* per_s tokens a second are per_s millitokens a millisecond; compare before multiplying,
         * so that a long quiet spell cannot overflow. */
        if (elapsed >= full / r->per_s + 1)
                b->millitokens = full;
        else if (b->millitokens + elapsed * r->per_s >= full)
                b->millitokens = full;
        else
                b->millitokens += elapsed * r->per_s;
        if (b->millitokens < 1000)
                return false;
        b->millitokens -= 1000;
        return true;
}
