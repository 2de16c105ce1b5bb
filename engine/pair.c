/* engine/pair.c -- client and server connected in memory. See tlsdrill/pair.h. */
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "tlsdrill/array.h"
#include "tlsdrill/pair.h"
#include "tlsdrill/record.h"

typedef struct stream {
    uint8_t *data;
    size_t len, cap;
} stream;

typedef struct rec_ref {
    td_dir dir;
    unsigned round;
    size_t offset, len;        /* into the direction's stream */
} rec_ref;

struct td_pair {
    td_conn *client, *server;
    td_pair_intercept intercept;
    void *intercept_arg;
    stream streams[2];
    size_t parsed[2];          /* stream bytes already split into records */
    rec_ref *recs;
    size_t num_recs, cap_recs;
    td_pair_record *views;     /* rebuilt by td_pair_records */
    size_t cap_views;
    uint8_t *hook_buf;         /* what the interceptor writes, kept from one move to the next */
    size_t hook_cap;
    unsigned rounds;
    bool started;
};

/* A freed pair's block is kept by the td_crypto with its buffers (the
 * streams, the record list and its views, the interceptor's buffer),
 * emptied, for the next td_pair_new (td_crypto_block_keep_owner): a pair
 * per fuzz input then allocates nothing of its own once warm. They hold
 * what crossed the wire, no key. */
static void pair_block_drop(void *block)
{
    td_pair *p = block;
    for (int i = 0; i < 2; i++) {
        TD_POOL_UNPOISON(p->streams[i].data, p->streams[i].cap);
        free(p->streams[i].data);
    }
    TD_POOL_UNPOISON(p->recs, p->cap_recs * sizeof(*p->recs));
    TD_POOL_UNPOISON(p->views, p->cap_views * sizeof(*p->views));
    TD_POOL_UNPOISON(p->hook_buf, p->hook_cap);
    free(p->recs);
    free(p->views);
    free(p->hook_buf);
    free(p);
}

static td_err stream_append(stream *s, const uint8_t *data, size_t len)
{
    if (len > SIZE_MAX - s->len)
        return TD_ERR_NOMEM;
    if (s->len + len > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + len)
            cap *= 2;
        uint8_t *p = realloc(s->data, cap);
        if (p == NULL)
            return TD_ERR_NOMEM;
        s->data = p;
        s->cap = cap;
    }
    if (len)
        memcpy(s->data + s->len, data, len);
    s->len += len;
    return TD_OK;
}

td_err td_pair_new(const td_config *client_cfg, const td_config *server_cfg, td_pair **out)
{
    *out = NULL;
    if (client_cfg == NULL || server_cfg == NULL || client_cfg->role != TD_ROLE_CLIENT ||
        server_cfg->role != TD_ROLE_SERVER)
        return TD_ERR_ARG;
    td_pair *p = td_crypto_block_take_kept(client_cfg->crypto, sizeof(*p), pair_block_drop);
    if (p != NULL) {
        for (int i = 0; i < 2; i++)
            TD_POOL_UNPOISON(p->streams[i].data, p->streams[i].cap);
        TD_POOL_UNPOISON(p->recs, p->cap_recs * sizeof(*p->recs));
        TD_POOL_UNPOISON(p->views, p->cap_views * sizeof(*p->views));
        TD_POOL_UNPOISON(p->hook_buf, p->hook_cap);
    } else if ((p = calloc(1, sizeof(*p))) == NULL) {
        return TD_ERR_NOMEM;
    }
    td_err err = td_conn_new(client_cfg, &p->client);
    if (err == TD_OK)
        err = td_conn_new(server_cfg, &p->server);
    if (err != TD_OK) {
        td_pair_free(p);
        return err;
    }
    *out = p;
    return TD_OK;
}

void td_pair_free(td_pair *p)
{
    if (p == NULL)
        return;
    td_crypto *crypto = p->client != NULL ? td_conn_config(p->client)->crypto : NULL;
    td_conn_free(p->client);
    td_conn_free(p->server);
    /* Emptied but for the buffers, which are kept with the block. */
    td_pair kept = {.streams = {{p->streams[0].data, 0, p->streams[0].cap},
                                {p->streams[1].data, 0, p->streams[1].cap}},
                    .recs = p->recs,
                    .cap_recs = p->cap_recs,
                    .views = p->views,
                    .cap_views = p->cap_views,
                    .hook_buf = p->hook_buf,
                    .hook_cap = p->hook_cap};
    *p = kept;
    for (int i = 0; i < 2; i++)
        TD_POOL_POISON(p->streams[i].data, p->streams[i].cap);
    TD_POOL_POISON(p->recs, p->cap_recs * sizeof(*p->recs));
    TD_POOL_POISON(p->views, p->cap_views * sizeof(*p->views));
    TD_POOL_POISON(p->hook_buf, p->hook_cap);
    if (td_crypto_block_keep_owner(crypto, p, sizeof(*p), pair_block_drop)) {
        /* The pointers to the kept buffers stay readable (LeakSanitizer). */
        for (int i = 0; i < 2; i++)
            TD_POOL_UNPOISON(&p->streams[i].data, sizeof(p->streams[i].data));
        TD_POOL_UNPOISON(&p->recs, sizeof(p->recs));
        TD_POOL_UNPOISON(&p->views, sizeof(p->views));
        TD_POOL_UNPOISON(&p->hook_buf, sizeof(p->hook_buf));
    } else {
        pair_block_drop(p);
    }
}

void td_pair_set_intercept(td_pair *p, td_pair_intercept fn, void *arg)
{
    p->intercept = fn;
    p->intercept_arg = arg;
}

td_conn *td_pair_client(td_pair *p) { return p->client; }
td_conn *td_pair_server(td_pair *p) { return p->server; }
unsigned td_pair_rounds(const td_pair *p) { return p->rounds; }

/* Splits newly delivered bytes of |dir| into records for the transcript;
 * a trailing partial record waits for more bytes. */
static td_err split_records(td_pair *p, td_dir dir, bool final)
{
    stream *s = &p->streams[dir];
    while (p->parsed[dir] < s->len) {
        size_t avail = s->len - p->parsed[dir];
        size_t len = avail;
        td_rec_frame f;
        if (td_rec_frame_read(s->data + p->parsed[dir], avail, &f) && f.avail_len == f.body_len)
            len = TD_REC_HEADER_LEN + f.body_len;
        else if (!final)
            return TD_OK;
        rec_ref *r = td_array_grow(p->recs, p->num_recs, &p->cap_recs, sizeof(*r), 32);
        if (r == NULL)
            return TD_ERR_NOMEM;
        p->recs = r;
        p->recs[p->num_recs++] = (rec_ref){dir, p->rounds, p->parsed[dir], len};
        p->parsed[dir] += len;
    }
    return TD_OK;
}

/* Moves one side's queued bytes to the other, through the interceptor. */
static td_err move(td_pair *p, td_dir dir, bool *moved)
{
    td_conn *from = dir == TD_DIR_C2S ? p->client : p->server;
    td_conn *to = dir == TD_DIR_C2S ? p->server : p->client;
    const uint8_t *bytes;
    size_t len;
    td_conn_drain(from, &bytes, &len);
    if (len == 0)
        return TD_OK;
    if (p->intercept != NULL) {
        /* Written in p->hook_buf, taken back (maybe grown) when done. */
        td_cbb out;
        uint8_t *hooked = NULL;
        size_t cap = p->hook_cap;
        td_cbb_init_reuse(&out, p->hook_buf, p->hook_cap);
        p->hook_buf = NULL;
        p->hook_cap = 0;
        td_err err = p->intercept(p->intercept_arg, dir, bytes, len, &out);
        if (err == TD_OK && !td_cbb_finish_buf(&out, &hooked, &len, &cap))
            err = TD_ERR_NOMEM;
        td_cbb_cleanup(&out);
        if (err != TD_OK)
            return err;
        p->hook_buf = hooked;
        p->hook_cap = hooked != NULL ? cap : 0;
        bytes = hooked;
    }
    *moved = true;
    td_err err = stream_append(&p->streams[dir], bytes, len);
    if (err == TD_OK)
        err = split_records(p, dir, false);
    if (err == TD_OK && len > 0)
        err = td_conn_feed(to, bytes, len);
    return err;
}

td_err td_pair_step(td_pair *p, bool *out_moved)
{
    bool moved = false;
    p->rounds++;
    TD_CHECK(move(p, TD_DIR_C2S, &moved));
    TD_CHECK(move(p, TD_DIR_S2C, &moved));
    if (out_moved != NULL)
        *out_moved = moved;
    return TD_OK;
}

static bool ended(const td_conn *c)
{
    td_phase ph = td_conn_status(c)->phase;
    return ph == TD_PHASE_FAILED || ph == TD_PHASE_CLOSED;
}

td_err td_pair_run(td_pair *p, unsigned max_rounds)
{
    if (max_rounds == 0)
        max_rounds = 32;
    if (!p->started) {
        p->started = true;
        TD_CHECK(td_conn_start(p->client));
    }
    for (unsigned i = 0; i < max_rounds; i++) {
        bool moved = false;
        TD_CHECK(td_pair_step(p, &moved));
        if (!moved)
            break;
        if (ended(p->client) || ended(p->server)) {
            /* Deliver the last words (an alert) before stopping. */
            TD_CHECK(td_pair_step(p, NULL));
            break;
        }
    }
    TD_CHECK(split_records(p, TD_DIR_C2S, true));
    return split_records(p, TD_DIR_S2C, true);
}

const td_pair_record *td_pair_records(const td_pair *p, size_t *out_num)
{
    td_pair *mp = (td_pair *)p; /* the view array is a cache */
    while (mp->views == NULL || mp->cap_views < p->num_recs) {
        td_pair_record *nv =
            td_array_grow(mp->views, mp->cap_views, &mp->cap_views, sizeof(*nv), 32);
        if (nv == NULL) {
            *out_num = 0;
            return NULL;
        }
        mp->views = nv;
    }
    td_pair_record *v = mp->views;
    for (size_t i = 0; i < p->num_recs; i++) {
        const rec_ref *r = &p->recs[i];
        v[i] = (td_pair_record){r->dir, r->round, p->streams[r->dir].data + r->offset, r->len};
    }
    *out_num = p->num_recs;
    return v;
}

const uint8_t *td_pair_stream(const td_pair *p, td_dir dir, size_t *out_len)
{
    *out_len = p->streams[dir].len;
    return p->streams[dir].data;
}
