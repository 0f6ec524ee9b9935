/* sources.h - a fixed-size table of client source addresses, for limits per source: a token
 * bucket per source (UDP echo: --udp-rate) and a count per source (TCP: connections at once).
 *
 * A source is an IPv4 address (/32) or an IPv6 /64; a v4-mapped or v4-compatible IPv6 address
 * is the IPv4 address it carries, so one host is one source whichever way it arrives.
 *
 * The table is allocated once by sources_init() and never grows: a source that is not in it
 * takes a free slot or evicts the least recently seen source that holds no count. Memory is
 * sizeof(struct source) per slot whatever the number of sources seen. Each source hashes, with
 * a key drawn at random per table, to two sets of SOURCES_WAYS slots and may live in either, so
 * a flood of random sources evicts evenly and nobody can aim evictions at one victim.
 *
 * Threads: a table made with `locked` false belongs to one thread (one worker's loop); with
 * `locked` true every function below takes the table's mutex, so workers may share it. A
 * struct source * returned by sources_acquire() is only passed back to sources_release(). */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Slots per set; a source may live in one of two sets. */
#define SOURCES_WAYS 8

/* 16 bytes: an IPv4 source as ::ffff:a.b.c.d, an IPv6 one as its /64 followed by zeros. */
struct source_key {
        uint8_t b[16];
};

/* At most per_s events a second on average, and at most burst at once after a quiet spell;
 * per_s 0 means no limit. */
struct rate {
        uint32_t per_s;
        uint32_t burst;
};

/* A token bucket: holds up to rate->burst tokens, refilled at rate->per_s a second. */
struct token_bucket {
        uint64_t millitokens;           /* tokens × 1000 */
        uint64_t last_ms;               /* when millitokens was last refilled */
};

struct source {
        struct source_key key;
        struct token_bucket bucket;
        uint64_t last_seen_ms;
        uint32_t count;                 /* sources_acquire() minus sources_release(); >0 pins the slot */
        bool used;
};

struct sources {
        struct source *slots;           /* n_sets × SOURCES_WAYS */
        size_t n_sets;                  /* a power of two, at least 2 */
        uint64_t hash_key[2];
        struct rate rate;
        bool locked;
        pthread_mutex_t mutex;          /* only when locked */
        /* Figures for tests and STATUS=, under the mutex when locked. */
        size_t n_used;                  /* slots in use now */
        uint64_t evictions;             /* sources dropped to make room for another */
        uint64_t full;                  /* a new source found no slot: both sets held by counts */
};

/* Makes a table of at least `capacity` slots (rounded up to a power of two number of sets, at
 * least 2 sets), all free, whose buckets follow `rate` (NULL: no rate, only counts). Returns 0
 * or -ENOMEM; call sources_finish() either way. */
int sources_init(struct sources *t, size_t capacity, const struct rate *rate, bool locked);

/* Frees the table; accepts a zeroed or half-built one. Any struct source * is gone after it. */
void sources_finish(struct sources *t);

/* Slots in the table (the memory bound: sources_capacity() × sizeof(struct source)). */
size_t sources_capacity(const struct sources *t);

/* Fills *ret with the source of sa (AF_INET or AF_INET6). Returns 0, or -EAFNOSUPPORT for any
 * other family (AF_UNIX: no source to limit) and -EINVAL for a truncated address. */
int source_key_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct source_key *ret);

/* Spends one token of k's bucket at now_ms (CLOCK_MONOTONIC milliseconds, never going back); a
 * source new to the table starts with a full bucket. Returns true when there was a token (the
 * event may go ahead), false when k is over its rate. Always true without a rate. False also
 * when k cannot get a slot (every candidate slot pinned by a count), counted in t->full: that
 * only happens in a table that also holds counts. */
bool sources_take(struct sources *t, const struct source_key *k, uint64_t now_ms);

/* Counts one more of k (a connection) unless k already holds `limit` (0: no limit). Returns 0
 * with *ret the source to pass to sources_release() later; -EDQUOT when k is at its limit;
 * -ENOSPC when k is new and its two sets are held by counts of other sources (counted in
 * t->full: size the table at twice the most sources that can hold counts at once and this
 * practically never happens; a caller should refuse as for -EDQUOT). A slot holding a count is
 * never evicted. */
int sources_acquire(struct sources *t, const struct source_key *k, uint32_t limit, uint64_t now_ms,
                    struct source **ret);

/* Undoes one sources_acquire() of s; NULL is ignored. */
void sources_release(struct sources *t, struct source *s);

/* The count k holds now (0 when it is not in the table). */
uint32_t sources_count(struct sources *t, const struct source_key *k);

/* Fills b for rate r at now_ms: full (burst tokens). */
void token_bucket_init(struct token_bucket *b, const struct rate *r, uint64_t now_ms);

/* Refills b for the time since its last refill and spends one token. Returns true when there
 * was one; always true when r->per_s is 0. */
bool token_bucket_take(struct token_bucket *b, const struct rate *r, uint64_t now_ms);
