/* The explanation cache: answers' bodies by key (SHA-256 of the model version, the method, the
 * caller's role and the rows' values), least recently used first out, bounded in bytes. A hit
 * gives the bytes a computation gave, so a cached answer is identical to a recomputed one. */
#include "service.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char key[65];
    char *value;
    size_t size;
    struct entry *newer, *older;  /* the recency list */
    struct entry *next_in_bucket;
} entry;

struct service_cache {
    pthread_mutex_t lock;
    entry **buckets;
    size_t bucket_count;          /* a power of two */
    entry *newest, *oldest;
    size_t bytes, limit;
};

service_cache *service_cache_new(size_t limit)
{
    service_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->bucket_count = 4096;
    if (!(c->buckets = calloc(c->bucket_count, sizeof *c->buckets))) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->limit = limit;
    return c;
}

void service_cache_free(service_cache *c)
{
    if (!c) return;
    for (entry *e = c->newest, *next; e; e = next) {
        next = e->older;
        free(e->value);
        free(e);
    }
    free(c->buckets);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static entry **bucket(service_cache *c, const char *key)
{
    size_t h = 0;
    for (int i = 0; i < 16; i++) h = h * 16 + (size_t)(key[i] <= '9' ? key[i] - '0' : key[i] - 'a' + 10);
    return &c->buckets[h & (c->bucket_count - 1)];
}

static void unlink_recency(service_cache *c, entry *e)
{
    if (e->newer) e->newer->older = e->older;
    else c->newest = e->older;
    if (e->older) e->older->newer = e->newer;
    else c->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void make_newest(service_cache *c, entry *e)
{
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest) c->newest->newer = e;
    c->newest = e;
    if (!c->oldest) c->oldest = e;
}

static void evict(service_cache *c, entry *e)
{
    unlink_recency(c, e);
    for (entry **p = bucket(c, e->key); *p; p = &(*p)->next_in_bucket)
        if (*p == e) {
            *p = e->next_in_bucket;
            break;
        }
    c->bytes -= e->size;
    free(e->value);
    free(e);
}

char *service_cache_get(service_cache *c, const char *key)
{
    if (!c || !c->limit) return NULL;
    char *copy = NULL;
    pthread_mutex_lock(&c->lock);
    for (entry *e = *bucket(c, key); e; e = e->next_in_bucket)
        if (strcmp(e->key, key) == 0) {
            unlink_recency(c, e);
            make_newest(c, e);
            copy = strdup(e->value);
            break;
        }
    pthread_mutex_unlock(&c->lock);
    return copy;
}

void service_cache_put(service_cache *c, const char *key, const char *value)
{
    size_t size = strlen(value) + sizeof(entry);
    if (!c || size > c->limit) return;
    entry *e = calloc(1, sizeof *e);
    if (!e || !(e->value = strdup(value))) {
        free(e);
        return;
    }
    memcpy(e->key, key, 65);
    e->size = size;
    pthread_mutex_lock(&c->lock);
    for (entry *old = *bucket(c, key); old; old = old->next_in_bucket)
        if (strcmp(old->key, key) == 0) {
            evict(c, old);
            break;
        }
    while (c->oldest && c->bytes + size > c->limit) evict(c, c->oldest);
    entry **b = bucket(c, key);
    e->next_in_bucket = *b;
    *b = e;
    make_newest(c, e);
    c->bytes += size;
    pthread_mutex_unlock(&c->lock);
}
