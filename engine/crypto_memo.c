/* engine/crypto_memo.c -- the bounded memo table of td_crypto (crypto_memo.h). */
#include "crypto_memo.h"

#include <stdlib.h>
#include <string.h>

#include "tlsdrill/crypto.h"

td_err td_memo_init(td_memo *m, size_t num_sets)
{
    memset(m, 0, sizeof(*m));
    if (num_sets == 0)
        return TD_ERR_ARG;
    m->slots = calloc(num_sets * 2, sizeof(*m->slots));
    if (m->slots == NULL)
        return TD_ERR_NOMEM;
    m->num_sets = num_sets;
    return TD_OK;
}

void td_memo_cleanup(td_memo *m)
{
    if (m->slots != NULL) {
        for (size_t i = 0; i < m->num_sets * 2; i++) {
            td_cleanse(m->slots[i].blob, m->slots[i].cap);
            free(m->slots[i].blob);
        }
        free(m->slots);
    }
    memset(m, 0, sizeof(*m));
}

static void put_len(uint8_t *p, size_t len)
{
    p[0] = (uint8_t)(len >> 24);
    p[1] = (uint8_t)(len >> 16);
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
}

/* FNV-1a over the parts, each preceded by its length (so that parts
 * cannot run into each other). */
static uint64_t key_hash(const td_memo_key *k, size_t *total)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t n = 0;
    for (size_t i = 0; i < k->num; i++) {
        uint8_t l[4];
        put_len(l, k->len[i]);
        for (size_t j = 0; j < 4; j++)
            h = (h ^ l[j]) * 0x100000001b3ull;
        for (size_t j = 0; j < k->len[i]; j++)
            h = (h ^ k->part[i][j]) * 0x100000001b3ull;
        n += 4 + k->len[i];
    }
    *total = n;
    return h;
}

static bool key_equal(const td_memo_entry *e, uint64_t h, const td_memo_key *k, size_t total)
{
    if (e->blob == NULL || e->hash != h || e->key_len != total)
        return false;
    const uint8_t *p = e->blob;
    for (size_t i = 0; i < k->num; i++) {
        uint8_t l[4];
        put_len(l, k->len[i]);
        if (memcmp(p, l, 4) != 0 || (k->len[i] != 0 && memcmp(p + 4, k->part[i], k->len[i]) != 0))
            return false;
        p += 4 + k->len[i];
    }
    return true;
}

bool td_memo_get(td_memo *m, const td_memo_key *key, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t total;
    uint64_t h = key_hash(key, &total);
    td_memo_entry *set = &m->slots[(h % m->num_sets) * 2];
    for (size_t i = 0; i < 2; i++) {
        td_memo_entry *e = &set[i];
        if (key_equal(e, h, key, total) && e->val_len <= cap) {
            if (e->val_len != 0)
                memcpy(out, e->blob + e->key_len, e->val_len);
            *out_len = e->val_len;
            m->hits++;
            return true;
        }
    }
    m->misses++;
    return false;
}

void td_memo_put(td_memo *m, const td_memo_key *key, const uint8_t *val, size_t val_len)
{
    size_t total;
    uint64_t h = key_hash(key, &total);
    td_memo_entry *set = &m->slots[(h % m->num_sets) * 2];
    td_memo_entry *e = NULL;
    for (size_t i = 0; i < 2 && e == NULL; i++)
        if (set[i].blob == NULL || key_equal(&set[i], h, key, total))
            e = &set[i];
    if (e == NULL) {
        e = set[0].stamp <= set[1].stamp ? &set[0] : &set[1];
        m->evictions++;
    }
    size_t need = total + val_len;
    if (e->cap < need) {
        uint8_t *b = malloc(need);
        if (b == NULL)
            return;
        td_cleanse(e->blob, e->cap);
        free(e->blob);
        e->blob = b;
        e->cap = need;
    } else {
        td_cleanse(e->blob, e->cap);
    }
    uint8_t *p = e->blob;
    for (size_t i = 0; i < key->num; i++) {
        put_len(p, key->len[i]);
        if (key->len[i] != 0)
            memcpy(p + 4, key->part[i], key->len[i]);
        p += 4 + key->len[i];
    }
    if (val_len != 0)
        memcpy(p, val, val_len);
    e->hash = h;
    e->key_len = total;
    e->val_len = val_len;
    e->stamp = ++m->clock;
    m->inserts++;
}
