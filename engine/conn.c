/* engine/conn.c -- the connection driver: bytes in, records, reassembly,
 * decryption, dispatch to the state machines, bytes out, and the one place
 * where a failed check becomes an alert (conn_fail).
 *
 * The state machines (client.c, server.c) never see records; this file never
 * decides handshake policy. See engine/conn_internal.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"
#include "msg_internal.h"
#include "pool.h"
#include "tlsdrill/array.h"

static const uint16_t default_suites[] = {TD_TLS_AES_128_GCM_SHA256, TD_TLS_AES_256_GCM_SHA384,
                                          TD_TLS_CHACHA20_POLY1305_SHA256};

/* ---- the handshake states as data (TD_HS_STATE_LIST) ---- */

static const td_hs_state_info k_states[TD_HS_NUM_STATES] = {
#define TD_HS_STATE_ROW_(name, takes, client, server, rule, text) \
    [TD_HS_##name] = {#name, takes, client, server, rule, text},
    TD_HS_STATE_LIST(TD_HS_STATE_ROW_)
#undef TD_HS_STATE_ROW_
};

const td_hs_state_info *td_hs_state_get(td_hs_state state)
{
    return (unsigned)state < TD_HS_NUM_STATES ? &k_states[state] : NULL;
}

const char *td_hs_state_name(td_hs_state state)
{
    const td_hs_state_info *s = td_hs_state_get(state);
    return s != NULL ? s->name : "?";
}

bool td_hs_state_takes(td_hs_state state, unsigned type)
{
    const td_hs_state_info *s = td_hs_state_get(state);
    if (s == NULL)
        return false;
    return s->takes == TD_TAKES_ANY || (type < 32 && (s->takes >> type) & 1);
}

const char *td_phase_name(td_phase phase)
{
    switch (phase) {
    case TD_PHASE_HANDSHAKE: return "handshake";
    case TD_PHASE_CONNECTED: return "connected";
    case TD_PHASE_CLOSED: return "closed";
    case TD_PHASE_FAILED: return "failed";
    }
    return "?";
}

/* ---- growable byte buffers ---- */

/* Makes room for |n| more bytes after the first |len| of |buf|. */
static td_err buf_reserve(uint8_t **buf, size_t len, size_t *cap, size_t n)
{
    if (n > SIZE_MAX - len)
        return TD_ERR_NOMEM;
    if (len + n <= *cap)
        return TD_OK;
    size_t new_cap = *cap ? *cap : 1024;
    while (new_cap < len + n)
        new_cap *= 2;
    uint8_t *p = realloc(*buf, new_cap);
    if (p == NULL)
        return TD_ERR_NOMEM;
    *buf = p;
    *cap = new_cap;
    return TD_OK;
}

static td_err buf_append(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *data, size_t n)
{
    TD_CHECK(buf_reserve(buf, *len, cap, n));
    if (n)
        memcpy(*buf + *len, data, n);
    *len += n;
    return TD_OK;
}

/* Appends a handshake message to the log when cfg->log_messages is set. */
static td_err log_message(td_conn *c, bool sent, const uint8_t *msg, size_t len)
{
    if (!c->cfg->log_messages)
        return TD_OK;
    struct td_log_entry *e =
        td_array_grow(c->log_entries, c->num_log, &c->cap_log, sizeof(*e), 16);
    if (e == NULL)
        return TD_ERR_NOMEM;
    c->log_entries = e;
    size_t at = c->log_len;
    TD_CHECK(buf_append(&c->log, &c->log_len, &c->log_cap, msg, len));
    c->log_entries[c->num_log++] = (struct td_log_entry){sent, at, len};
    return TD_OK;
}

const td_msg_record *td_conn_messages(td_conn *c, size_t *out_num)
{
    *out_num = 0;
    if (c->num_log == 0)
        return NULL;
    while (c->cap_views < c->num_log) {
        td_msg_record *v = td_array_grow(c->log_views, c->cap_views, &c->cap_views, sizeof(*v), 16);
        if (v == NULL)
            return NULL;
        c->log_views = v;
    }
    td_msg_record *v = c->log_views;
    for (size_t i = 0; i < c->num_log; i++) {
        const struct td_log_entry *e = &c->log_entries[i];
        v[i] = (td_msg_record){e->sent, c->log[e->offset], c->log + e->offset, e->len};
    }
    *out_num = c->num_log;
    return v;
}

/* ---- lifecycle ---- */

/* The storage a connection keeps when it is freed (td_conn_free) or
 * restored into (td_conn_restore): its buffers and arrays, emptied. A freed
 * connection's block goes back to its td_crypto with them
 * (td_crypto_block_keep_owner), so the next connection made there (or a
 * copy) starts with buffers already grown and its messages allocate nothing.
 * They hold wire bytes and handshake messages, no key: only app_in, which
 * may hold application data, is wiped before it is kept (the protected
 * records' plaintext is wiped record by record, handle_protected).
 *   X(spare member, member of td_conn, its capacity in elements) */
#define TD_CONN_KEPT(X)                                \
    X(in, in, in_cap)                                  \
    X(out, out, out_cap)                               \
    X(hs_out, hs_out, hs_out_cap)                      \
    X(msg_buf, msg_buf, msg_buf_cap)                   \
    X(app_in, app_in, app_in_cap)                      \
    X(open_buf, open_buf, open_cap)                    \
    X(log, log, log_cap)                               \
    X(log_entries, log_entries, cap_log)               \
    X(log_views, log_views, cap_views)                 \
    X(chain_scratch, chain_scratch, chain_scratch_cap) \
    X(reasm, reasm.buf, reasm.cap)                     \
    X(transcript, transcript.buf, transcript.buf_cap)

typedef struct conn_spare {
#define TD_SPARE_MEMBER_(name, field, cap) \
    void *name;                            \
    size_t name##_cap;
    TD_CONN_KEPT(TD_SPARE_MEMBER_)
#undef TD_SPARE_MEMBER_
    /* td_conn_restore: a ClientHello the restored connection held, parsed
     * from the same bytes as the source's (kept_hello); NULL: none. */
    struct kept_hello *ch, *ch1;
} conn_spare;

/* A ClientHello (c->ch or c->ch1) and the bytes it was parsed from, taken
 * out of a connection being restored: when the source holds the same
 * bytes, parsed as well, a parse of them would make the same message, so
 * the connection gets these back in place (the message's lists point into
 * its own storage at the same place) instead of parsing again. */
typedef struct kept_hello {
    uint8_t *bytes; /* NULL: nothing kept */
    size_t len;
    td_msg msg;
} kept_hello;

static void hello_take(kept_hello *k, uint8_t **bytes, size_t len, td_msg *msg,
                       const uint8_t *src_bytes, size_t src_len, const td_msg *src_msg)
{
    k->bytes = NULL;
    if (*bytes == NULL || src_bytes == NULL || len != src_len ||
        msg->type != TD_MSG_CLIENT_HELLO || src_msg->type != TD_MSG_CLIENT_HELLO ||
        memcmp(*bytes, src_bytes, len) != 0)
        return;
    k->bytes = *bytes;
    k->len = len;
    memcpy(&k->msg, msg, sizeof(*msg));
    *bytes = NULL;
    memset(msg, 0, sizeof(*msg));
}

/* Puts a kept hello back into |c| (the connection it was taken from). */
static bool hello_put(kept_hello *k, uint8_t **bytes, size_t *len, td_msg *msg)
{
    if (k == NULL || k->bytes == NULL)
        return false;
    *bytes = k->bytes;
    *len = k->len;
    memcpy(msg, &k->msg, sizeof(*msg));
    k->bytes = NULL;
    return true;
}

/* Moves |c|'s kept storage to |sp| (|c| no longer owns it). */
static void spare_take(td_conn *c, conn_spare *sp)
{
#define TD_SPARE_TAKE_(name, field, cap) \
    sp->name = c->field;                 \
    sp->name##_cap = c->cap;             \
    c->field = NULL;                     \
    c->cap = 0;
    TD_CONN_KEPT(TD_SPARE_TAKE_)
#undef TD_SPARE_TAKE_
}

/* Hands |sp| (all of it) to |c|, whose kept members are NULL. */
static void spare_give(td_conn *c, conn_spare *sp)
{
#define TD_SPARE_GIVE_(name, field, cap) \
    c->field = sp->name;                 \
    c->cap = sp->name##_cap;             \
    sp->name = NULL;
    TD_CONN_KEPT(TD_SPARE_GIVE_)
#undef TD_SPARE_GIVE_
}

static void spare_free(conn_spare *sp)
{
#define TD_SPARE_FREE_(name, field, cap) \
    free(sp->name);                      \
    sp->name = NULL;
    TD_CONN_KEPT(TD_SPARE_FREE_)
#undef TD_SPARE_FREE_
}

/* Poisons (or unpoisons) the storage a pooled connection keeps, as its
 * block is (engine/pool.h): a use after td_conn_free is still reported. */
static void kept_poison(td_conn *c, bool poison)
{
#define TD_KEPT_POISON_(name, field, cap)                            \
    if (c->field != NULL) {                                          \
        if (poison)                                                  \
            TD_POOL_POISON(c->field, c->cap * sizeof(*c->field));    \
        else                                                         \
            TD_POOL_UNPOISON(c->field, c->cap * sizeof(*c->field));  \
    }
    TD_CONN_KEPT(TD_KEPT_POISON_)
#undef TD_KEPT_POISON_
}

/* Once the block is kept (poisoned): its pointers to the kept storage are
 * readable again, so that LeakSanitizer sees that storage as reachable. */
static void kept_expose(td_conn *c)
{
#define TD_KEPT_EXPOSE_(name, field, cap) TD_POOL_UNPOISON(&c->field, sizeof(c->field));
    TD_CONN_KEPT(TD_KEPT_EXPOSE_)
#undef TD_KEPT_EXPOSE_
}

/* td_block_drop_fn of a pooled connection: its kept storage and the block. */
static void conn_block_drop(void *block)
{
    td_conn *c = block;
    conn_spare sp;
    kept_poison(c, false);
    spare_take(c, &sp);
    spare_free(&sp);
    free(c);
}

/* A freed connection's block when |crypto| kept one: zero but for the kept
 * storage (conn_release), unpoisoned. NULL if none. */
static td_conn *conn_block_take(td_crypto *crypto)
{
    td_conn *c = td_crypto_block_take_kept(crypto, sizeof(*c), conn_block_drop);
    if (c != NULL)
        kept_poison(c, false);
    return c;
}

td_err td_conn_new(const td_config *cfg, td_conn **out)
{
    *out = NULL;
    if (cfg == NULL || cfg->crypto == NULL || (cfg->role != TD_ROLE_CLIENT && cfg->role != TD_ROLE_SERVER))
        return TD_ERR_ARG;
    td_conn *c = conn_block_take(cfg->crypto);
    if (c == NULL && (c = calloc(1, sizeof(*c))) == NULL)
        return TD_ERR_NOMEM;
    conn_spare sp;
    spare_take(c, &sp); /* back below: the inits start from zero */
    c->cfg = cfg;
    c->crypto = cfg->crypto;
    c->role = cfg->role;
    /* The stream label "client/<stream>" or "server/<stream>", at most 127 characters. */
    char label[128];
    size_t stream_len = cfg->stream != NULL ? strlen(cfg->stream) : 0;
    if (stream_len > sizeof(label) - 8)
        stream_len = sizeof(label) - 8;
    memcpy(label, cfg->role == TD_ROLE_CLIENT ? "client/" : "server/", 7);
    if (stream_len > 0)
        memcpy(label + 7, cfg->stream, stream_len);
    label[7 + stream_len] = 0;
    td_drbg_init_cached(td_crypto_drbg_cache(c->crypto), &c->drbg, cfg->seed, cfg->seed_len,
                        label);
    td_clock_init(&c->clock, cfg->clock_start_ms);
    td_transcript_init(&c->transcript, c->crypto, 0);
    td_hs_reasm_init(&c->reasm, cfg->max_handshake_msg);
    spare_give(c, &sp);
    /* The ticket key depends on the seed only, not on the connection stream:
     * a server made from the same config accepts the tickets it issued. */
    if (cfg->ticket_key != NULL) {
        memcpy(c->ticket_key, cfg->ticket_key, sizeof(c->ticket_key));
    } else {
        td_drbg tk;
        td_drbg_init_cached(td_crypto_drbg_cache(c->crypto), &tk, cfg->seed, cfg->seed_len,
                            "ticket-key");
        td_drbg_bytes(&tk, c->ticket_key, sizeof(c->ticket_key));
        td_drbg_cleanup(&tk);
    }
    c->state = cfg->role == TD_ROLE_CLIENT ? TD_HS_START : TD_HS_S_WAIT_CH;
    c->status.phase = TD_PHASE_HANDSHAKE;
    c->status.state = td_hs_state_name(c->state);
    c->status.record_index = -1;
    *out = c;
    return TD_OK;
}

/* Copies |n| bytes of |src| (a buffer of |src_cap| bytes) into |*spare|
 * when that holds them (|*cap| becomes the spare's capacity), else into a
 * new buffer (td_bytes_copy_into). |src| NULL: the copy gets the spare,
 * empty (NULL if none). The spare is used or freed. */
static td_err buf_dup(uint8_t **dst, size_t *cap, void **spare, size_t spare_cap,
                      const uint8_t *src, size_t n, size_t src_cap)
{
    *dst = *spare, *cap = *spare != NULL ? spare_cap : 0;
    *spare = NULL;
    if (src == NULL)
        return TD_OK;
    return td_bytes_copy_into(dst, cap, src, n, src_cap) ? TD_OK : TD_ERR_NOMEM;
}

/* Everything |src| owns is copied; what it borrows (cfg, crypto, our_cert,
 * suite, the static state names) stays borrowed. Views are rebuilt: the
 * ClientHellos kept in ch / ch1 are parsed again from the copied bytes, as
 * they were parsed from the original ones. Some members are scratch of one
 * call and start empty (in the spare's storage): msg_in (the message being
 * processed; no message is between two calls), chain_scratch (the peer
 * chain's views, valid during its handler only), open_buf (a record's
 * plaintext) and the message log's views (td_conn_messages makes them). */
static td_err clone_fill(td_conn *c, const td_conn *src, conn_spare *sp)
{
    void *none = NULL;
    /* First: nothing below may fail while a kept hello is out of |c|. */
    bool kept_ch = hello_put(sp->ch, &c->ch_bytes, &c->ch_len, &c->ch);
    bool kept_ch1 = hello_put(sp->ch1, &c->ch1_bytes, &c->ch1_len, &c->ch1);
    TD_CHECK(buf_dup(&c->in, &c->in_cap, &sp->in, sp->in_cap, src->in, src->in_len, src->in_cap));
    TD_CHECK(buf_dup(&c->out, &c->out_cap, &sp->out, sp->out_cap, src->out, src->out_len,
                     src->out_cap));
    TD_CHECK(buf_dup(&c->hs_out, &c->hs_out_cap, &sp->hs_out, sp->hs_out_cap, src->hs_out,
                     src->hs_out_len, src->hs_out_cap));
    TD_CHECK(buf_dup(&c->msg_buf, &c->msg_buf_cap, &sp->msg_buf, sp->msg_buf_cap, src->msg_buf,
                     src->msg_buf_cap, src->msg_buf_cap));
    TD_CHECK(buf_dup(&c->app_in, &c->app_in_cap, &sp->app_in, sp->app_in_cap, src->app_in,
                     src->app_in_len, src->app_in_cap));
    TD_CHECK(buf_dup(&c->log, &c->log_cap, &sp->log, sp->log_cap, src->log, src->log_len,
                     src->log_cap));
    size_t pha_cap = 0, ch_cap = 0, ch1_cap = 0;
    TD_CHECK(buf_dup(&c->pha_contexts, &pha_cap, &none, 0, src->pha_contexts,
                     src->pha_contexts_len, src->pha_contexts_len));
    if (!kept_ch)
        TD_CHECK(
            buf_dup(&c->ch_bytes, &ch_cap, &none, 0, src->ch_bytes, src->ch_len, src->ch_len));
    if (!kept_ch1)
        TD_CHECK(buf_dup(&c->ch1_bytes, &ch1_cap, &none, 0, src->ch1_bytes, src->ch1_len,
                         src->ch1_len));
    c->open_buf = sp->open_buf, c->open_cap = sp->open_buf_cap;
    c->log_views = sp->log_views, c->cap_views = sp->log_views_cap;
    c->chain_scratch = sp->chain_scratch, c->chain_scratch_cap = sp->chain_scratch_cap;
    sp->open_buf = sp->log_views = sp->chain_scratch = NULL;
    c->log_entries = sp->log_entries, c->cap_log = sp->log_entries_cap;
    sp->log_entries = NULL;
    if (src->num_log > c->cap_log) {
        free(c->log_entries);
        c->cap_log = 0;
        if ((c->log_entries = malloc(src->cap_log * sizeof(*c->log_entries))) == NULL)
            return TD_ERR_NOMEM;
        c->cap_log = src->cap_log;
    }
    if (src->num_log > 0)
        memcpy(c->log_entries, src->log_entries, src->num_log * sizeof(*c->log_entries));
    c->reasm.buf = sp->reasm, c->reasm.cap = sp->reasm_cap;
    sp->reasm = NULL;
    TD_CHECK(td_hs_reasm_copy(&c->reasm, &src->reasm));
    c->transcript.buf = sp->transcript, c->transcript.buf_cap = sp->transcript_cap;
    sp->transcript = NULL;
    TD_CHECK(td_transcript_copy(&c->transcript, &src->transcript));
    TD_CHECK(td_rec_cipher_copy(&c->read, &src->read));
    TD_CHECK(td_rec_cipher_copy(&c->write, &src->write));
    for (size_t i = 0; i < src->num_shares; i++)
        if (src->shares[i] != NULL)
            TD_CHECK(td_kex_dup(src->shares[i], &c->shares[i]));
    if (src->peer_key != NULL)
        TD_CHECK(td_pkey_dup(src->peer_key, &c->peer_key));
    if (src->pha_base != NULL)
        TD_CHECK(td_hash_ctx_dup(src->pha_base, &c->pha_base));
    for (size_t i = 0; i < src->num_pha_pending; i++)
        if (src->pha_pending[i].hash != NULL)
            TD_CHECK(td_hash_ctx_dup(src->pha_pending[i].hash, &c->pha_pending[i].hash));
    /* The same parses as client_hello.c's remember_hello (client: c->ch)
     * and server.c's hello_retry (server: c->ch1). A parse that failed in
     * the original ended the connection; the copy then keeps no view. */
    td_diag local;
    if (!kept_ch && c->ch_bytes != NULL && src->ch.type == TD_MSG_CLIENT_HELLO) {
        td_diag_clear(&local);
        if (td_msg_parse_handshake(c->ch_bytes, c->ch_len, NULL, &c->ch, &local) != TD_OK)
            td_msg_cleanup(&c->ch), memset(&c->ch, 0, sizeof(c->ch));
    }
    if (!kept_ch1 && c->ch1_bytes != NULL && src->ch1.type == TD_MSG_CLIENT_HELLO &&
        c->suite != NULL) {
        td_msg_ctx ctx = {.hash_len = td_hash_len(c->suite->hash), .sh_mode = TD_SH_AUTO};
        td_diag_clear(&local);
        if (td_msg_parse_handshake(c->ch1_bytes, c->ch1_len, &ctx, &c->ch1, &local) != TD_OK)
            td_msg_cleanup(&c->ch1), memset(&c->ch1, 0, sizeof(c->ch1));
    }
    return TD_OK;
}

/* Makes |c| (storage holding nothing) a copy of |src|, in the storage of
 * |sp| where it is large enough. On failure |c| holds only what
 * td_conn_free releases. Every spare is used or freed. */
static td_err clone_into(td_conn *c, const td_conn *src, conn_spare *sp)
{
    *c = *src;
    /* Nothing of |src| is owned by the copy until clone_fill made it its own. */
    conn_spare borrowed;
    spare_take(c, &borrowed); /* |src|'s: only forgotten */
    c->pha_contexts = c->ch_bytes = c->ch1_bytes = NULL;
    memset(&c->reasm, 0, sizeof(c->reasm));
    memset(&c->transcript, 0, sizeof(c->transcript));
    memset(&c->read, 0, sizeof(c->read));
    memset(&c->write, 0, sizeof(c->write));
    memset(c->shares, 0, sizeof(c->shares));
    c->peer_key = NULL;
    c->pha_base = NULL;
    for (size_t i = 0; i < TD_MAX_PHA_PENDING; i++)
        c->pha_pending[i].hash = NULL;
    memset(&c->ch, 0, sizeof(c->ch));
    memset(&c->ch1, 0, sizeof(c->ch1));
    memset(&c->msg_in, 0, sizeof(c->msg_in));
    td_err err = clone_fill(c, src, sp);
    spare_free(sp);
    return err;
}

static void conn_release(td_conn *c);

td_err td_conn_clone(const td_conn *src, td_conn **out)
{
    if (out == NULL)
        return TD_ERR_ARG;
    *out = NULL;
    /* Inside one of its callbacks a connection is mid-operation (a message
     * half sent, a record half handled): no consistent state to copy. */
    if (src == NULL || src->in_callback > 0)
        return TD_ERR_ARG;
    conn_spare sp;
    memset(&sp, 0, sizeof(sp));
    td_conn *c = conn_block_take(src->crypto); /* a freed connection's, with its storage */
    if (c != NULL)
        spare_take(c, &sp);
    else if ((c = malloc(sizeof(*c))) == NULL)
        return TD_ERR_NOMEM;
    td_err err = clone_into(c, src, &sp);
    if (err != TD_OK) {
        td_conn_free(c);
        return err;
    }
    *out = c;
    return TD_OK;
}

td_err td_conn_restore(td_conn *dst, const td_conn *src)
{
    if (dst == NULL || src == NULL || dst == src || dst->in_callback > 0 || src->in_callback > 0)
        return TD_ERR_ARG;
    /* Its storage is kept for the copy (once a copy of the same snapshot,
     * it is large enough), and its ClientHellos when they are the source's:
     * everything else is released. */
    kept_hello kch, kch1;
    hello_take(&kch, &dst->ch_bytes, dst->ch_len, &dst->ch, src->ch_bytes, src->ch_len, &src->ch);
    /* ch1 is parsed with the suite's hash length (server.c hello_retry). */
    kch1.bytes = NULL;
    if (dst->suite == src->suite)
        hello_take(&kch1, &dst->ch1_bytes, dst->ch1_len, &dst->ch1, src->ch1_bytes, src->ch1_len,
                   &src->ch1);
    conn_release(dst);
    conn_spare sp;
    spare_take(dst, &sp);
    sp.ch = &kch;
    sp.ch1 = &kch1;
    td_err err = clone_into(dst, src, &sp);
    if (err != TD_OK) {
        conn_release(dst);
        spare_take(dst, &sp);
        spare_free(&sp);
    }
    return err;
}

td_der *td_conn_chain_scratch(td_conn *c, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > c->chain_scratch_cap) {
        td_der *nc = realloc(c->chain_scratch, n * sizeof(*nc));
        if (nc == NULL)
            return NULL;
        c->chain_scratch = nc;
        c->chain_scratch_cap = n;
    }
    return c->chain_scratch;
}

/* ---- our own ClientHellos, parsed, kept across connections ----
 *
 * A client parses each ClientHello it sends (client_hello.c remember_hello:
 * the memory of what it offered), and the next client of the same config
 * builds the same bytes. So a client's parsed hello is not thrown away when
 * it is freed or sends its second hello: its td_crypto keeps it, with its
 * bytes, in a pooled block of two slots (a ClientHello1 and a
 * ClientHello2), and a client that builds the same bytes gets it instead of
 * parsing them again. td_msg_parse_handshake without a context reads
 * nothing but the bytes, so a parse of the same bytes makes the same
 * message: only a whole parse is kept (remember_hello zeroes c->ch when its
 * parse fails). While kept, the bytes are poisoned like the block. */
typedef struct own_hello {
    uint8_t *bytes; /* NULL: the slot is empty */
    size_t len;
    td_msg msg; /* parsed from |bytes|, its lists at their inline storage */
} own_hello;

typedef struct own_hellos {
    own_hello slot[2];
    size_t next; /* the slot a full block gives up next */
} own_hellos;

static void own_hello_clear(own_hello *h)
{
    if (h->bytes == NULL)
        return;
    TD_POOL_UNPOISON(h->bytes, h->len);
    td_msg_cleanup(&h->msg);
    free(h->bytes);
    h->bytes = NULL;
}

/* td_block_drop_fn of the block. */
static void own_hellos_drop(void *block)
{
    own_hellos *k = block;
    for (size_t i = 0; i < sizeof(k->slot) / sizeof(k->slot[0]); i++)
        own_hello_clear(&k->slot[i]);
    free(k);
}

/* The block |crypto| keeps, its bytes readable, or NULL. */
static own_hellos *own_hellos_take(td_crypto *crypto)
{
    own_hellos *k = td_crypto_block_take_kept(crypto, sizeof(*k), own_hellos_drop);
    if (k != NULL)
        for (size_t i = 0; i < sizeof(k->slot) / sizeof(k->slot[0]); i++)
            if (k->slot[i].bytes != NULL)
                TD_POOL_UNPOISON(k->slot[i].bytes, k->slot[i].len);
    return k;
}

static void own_hellos_keep(td_crypto *crypto, own_hellos *k)
{
    for (size_t i = 0; i < sizeof(k->slot) / sizeof(k->slot[0]); i++)
        if (k->slot[i].bytes != NULL)
            TD_POOL_POISON(k->slot[i].bytes, k->slot[i].len);
    if (!td_crypto_block_keep_owner(crypto, k, sizeof(*k), own_hellos_drop)) {
        own_hellos_drop(k);
        return;
    }
    /* As kept_expose: LeakSanitizer follows these pointers to the bytes. */
    for (size_t i = 0; i < sizeof(k->slot) / sizeof(k->slot[0]); i++)
        TD_POOL_UNPOISON(&k->slot[i].bytes, sizeof(k->slot[i].bytes));
}

static bool hello_lists_inline(const td_msg *m)
{
    const td_client_hello *ch = &m->u.ch;
    return ch->exts.list == ch->exts.list_inline &&
           ch->cipher_suites == ch->cipher_suites_inline && td_ext_data_lists_inline(&ch->ext);
}

void td_conn_hello_stash(td_conn *c)
{
    own_hellos *k = NULL;
    if (c->role == TD_ROLE_CLIENT && c->ch_bytes != NULL && c->ch.type == TD_MSG_CLIENT_HELLO &&
        hello_lists_inline(&c->ch)) {
        k = own_hellos_take(c->crypto);
        if (k == NULL)
            k = calloc(1, sizeof(*k));
    }
    if (k == NULL) {
        td_msg_cleanup(&c->ch);
        free(c->ch_bytes);
        c->ch_bytes = NULL;
        c->ch_len = 0;
        return;
    }
    size_t i = k->slot[0].bytes == NULL ? 0 : k->slot[1].bytes == NULL ? 1 : k->next;
    k->next = 1 - i;
    own_hello *h = &k->slot[i];
    own_hello_clear(h);
    h->bytes = c->ch_bytes;
    h->len = c->ch_len;
    memcpy(&h->msg, &c->ch, sizeof(h->msg));
    td_msg_point_lists(&h->msg);
    c->ch_bytes = NULL;
    c->ch_len = 0;
    memset(&c->ch, 0, sizeof(c->ch));
    own_hellos_keep(c->crypto, k);
}

bool td_conn_hello_reuse(td_conn *c, const uint8_t *bytes, size_t len)
{
    own_hellos *k = own_hellos_take(c->crypto);
    if (k == NULL)
        return false;
    bool found = false;
    for (size_t i = 0; i < sizeof(k->slot) / sizeof(k->slot[0]) && !found; i++) {
        own_hello *h = &k->slot[i];
        if (h->bytes == NULL || h->len != len || memcmp(h->bytes, bytes, len) != 0)
            continue;
        c->ch_bytes = h->bytes;
        c->ch_len = len;
        memcpy(&c->ch, &h->msg, sizeof(c->ch));
        td_msg_point_lists(&c->ch);
        h->bytes = NULL;
        found = true;
    }
    own_hellos_keep(c->crypto, k);
    return found;
}

void td_conn_free(td_conn *c)
{
    if (c == NULL)
        return;
    td_crypto *crypto = c->crypto;
    td_conn_hello_stash(c);
    conn_release(c);
    /* Kept by the td_crypto, with its storage, for the next connection
     * when it has room. */
    kept_poison(c, true);
    if (td_crypto_block_keep_owner(crypto, c, sizeof(*c), conn_block_drop))
        kept_expose(c);
    else
        conn_block_drop(c);
}

/* Releases everything |c| owns but the kept storage (TD_CONN_KEPT, emptied)
 * and wipes the rest of it: the block is zero but for that storage. */
static void conn_release(td_conn *c)
{
    for (size_t i = 0; i < c->num_shares; i++)
        td_kex_free(c->shares[i]);
    td_pkey_free(c->peer_key);
    td_rec_cipher_cleanup(&c->read);
    td_rec_cipher_cleanup(&c->write);
    if (c->ks_ready)
        td_keysched_cleanup(&c->ks);
    if (c->app_in != NULL)
        td_cleanse(c->app_in, c->app_in_cap);
    conn_spare sp;
    spare_take(c, &sp);
    td_transcript_cleanup(&c->transcript);
    td_hs_reasm_cleanup(&c->reasm);
    free(c->ch_bytes);
    free(c->ch1_bytes);
    td_msg_cleanup(&c->ch);
    td_msg_cleanup(&c->ch1);
    td_hash_ctx_free(c->pha_base);
    for (size_t i = 0; i < c->num_pha_pending; i++)
        td_hash_ctx_free(c->pha_pending[i].hash);
    free(c->pha_contexts);
    td_msg_cleanup(&c->msg_in);
    td_drbg_cleanup(&c->drbg);
    /* The secrets held in the struct itself are wiped (the DRBG, the key
     * schedule and the record keys by their cleanups above); the rest, some
     * 28 KB of messages and status, is only zeroed for the next connection
     * made in this block. */
    td_cleanse(c->c_early, sizeof(c->c_early));
    td_cleanse(c->c_hs, sizeof(c->c_hs));
    td_cleanse(c->s_hs, sizeof(c->s_hs));
    td_cleanse(c->c_ap, sizeof(c->c_ap));
    td_cleanse(c->s_ap, sizeof(c->s_ap));
    td_cleanse(c->exporter, sizeof(c->exporter));
    td_cleanse(c->res_master, sizeof(c->res_master));
    td_cleanse(c->psk, sizeof(c->psk));
    td_cleanse(c->ticket_key, sizeof(c->ticket_key));
    td_cleanse(c->binder_key, sizeof(c->binder_key));
    td_cleanse(&c->session, sizeof(c->session)); /* its PSK */
    memset(c, 0, sizeof(*c));
    spare_give(c, &sp);
}

const td_status *td_conn_status(const td_conn *c) { return &c->status; }

const uint8_t *td_conn_traffic_secret(const td_conn *c, td_traffic_secret which)
{
    switch (which) {
    case TD_SECRET_CLIENT_HS: return c->c_hs;
    case TD_SECRET_SERVER_HS: return c->s_hs;
    case TD_SECRET_CLIENT_AP: return c->c_ap;
    case TD_SECRET_SERVER_AP: return c->s_ap;
    }
    return NULL;
}

const td_suite *td_conn_suite(const td_conn *c) { return c->suite; }
td_clock *td_conn_clock(td_conn *c) { return &c->clock; }
const td_config *td_conn_config(const td_conn *c) { return c->cfg; }

void td_conn_random(td_conn *c, uint8_t *out, size_t len) { td_drbg_bytes(&c->drbg, out, len); }

void td_conn_drain(td_conn *c, const uint8_t **out, size_t *out_len)
{
    /* Everything queued so far is handed out; the next call starts afresh.
     * Nothing ever queued: c->out is still NULL, and NULL + 0 is undefined
     * behaviour (and a NULL view would be a trap for memcpy callers). */
    static const uint8_t nothing[1] = {0};
    *out = c->out != NULL ? c->out + c->out_drained : nothing;
    *out_len = c->out_len - c->out_drained;
    c->status.bytes_out += *out_len;
    if (c->cfg->wire != NULL && *out_len > 0) {
        c->in_callback++;
        c->cfg->wire(c->cfg->wire_arg, true, *out, *out_len);
        c->in_callback--;
    }
    c->out_drained = c->out_len;
}

/* Forgets bytes drained by an earlier td_conn_drain (their view is no longer promised). */
static void out_compact(td_conn *c)
{
    if (c->out_drained == 0)
        return;
    memmove(c->out, c->out + c->out_drained, c->out_len - c->out_drained);
    c->out_len -= c->out_drained;
    c->out_drained = 0;
}

/* ---- writing records ---- */

/* Frames one record of |inner_type| holding |content| under the current
 * write keys, runs the record hook, and queues the result. */
static td_err emit_record(td_conn *c, uint8_t inner_type, const uint8_t *content, size_t len,
                          uint16_t plain_version)
{
    td_cbb rec;
    uint8_t *bytes = NULL;
    size_t bytes_len = 0;
    td_err ret = TD_OK;
    uint64_t seq = c->write.seq;
    /* The record is written straight after the queued output, in room made
     * there (header, content, inner type and tag fit in len + 256): no
     * buffer of its own per record. It counts as queued only once done. */
    out_compact(c);
    TD_CHECK(buf_reserve(&c->out, c->out_len, &c->out_cap, len + TD_REC_HEADER_LEN + 256));
    td_cbb_init_fixed(&rec, c->out + c->out_len, c->out_cap - c->out_len);
    if (c->write_protected && inner_type != TD_CT_CHANGE_CIPHER_SPEC) {
        TD_GUARD(td_rec_seal(&c->write, &rec, inner_type, content, len, 0, 0, &c->status.diag));
    } else {
        TD_GUARD(td_rec_write_raw(&rec, inner_type, plain_version, content, len));
    }
    if (!td_cbb_finish(&rec, &bytes, &bytes_len)) {
        ret = TD_ERR_NOMEM;
        goto out;
    }
    if (c->cfg->record_hook != NULL) {
        td_cbb hooked;
        uint8_t *hb = NULL;
        size_t hb_len = 0;
        if (!td_cbb_init(&hooked, bytes_len)) {
            ret = TD_ERR_NOMEM;
            goto out;
        }
        c->in_callback++;
        ret = c->cfg->record_hook(c->cfg->record_hook_arg, c, inner_type, bytes, bytes_len, &hooked);
        c->in_callback--;
        if (ret == TD_OK && !td_cbb_finish(&hooked, &hb, &hb_len))
            ret = TD_ERR_NOMEM;
        td_cbb_cleanup(&hooked);
        /* The hook's bytes replace the record (not yet queued). */
        if (ret == TD_OK)
            ret = buf_append(&c->out, &c->out_len, &c->out_cap, hb, hb_len);
        else
            c->write.seq = seq; /* never sent: the alert that follows takes its sequence number */
        free(hb);
    } else {
        c->out_len += bytes_len;
    }
out:
    td_cbb_cleanup(&rec);
    return ret;
}

static size_t max_fragment(const td_conn *c)
{
    size_t m = c->cfg->max_fragment;
    if (m == 0 || m > TD_REC_MAX_PLAINTEXT)
        m = TD_REC_MAX_PLAINTEXT;
    /* RFC 8449 §4: under protection the peer's record_size_limit counts the
     * inner content type too, so content gets one byte less. */
    if (c->write_protected && c->peer_record_limit > 0 && (size_t)c->peer_record_limit - 1 < m)
        m = (size_t)c->peer_record_limit - 1;
    return m;
}

/* §5.1: legacy_record_version is 0x0301 for an initial ClientHello (one not
 * sent after a HelloRetryRequest), 0x0303 for everything else. */
static uint16_t plain_version(const td_conn *c)
{
    return (c->role == TD_ROLE_CLIENT && c->state == TD_HS_START && !c->hrr_done) ? TD_REC_VERSION_TLS10
                                                                                 : TD_REC_VERSION_TLS12;
}

static td_err emit_fragmented(td_conn *c, uint8_t type, const uint8_t *data, size_t len)
{
    size_t frag = max_fragment(c);
    uint16_t version = plain_version(c);
    do {
        size_t n = len < frag ? len : frag;
        TD_CHECK(emit_record(c, type, data, n, version));
        data += n;
        len -= n;
    } while (len > 0);
    return TD_OK;
}

td_err td_conn_flush(td_conn *c)
{
    if (c->hs_out_len == 0)
        return TD_OK;
    td_err err = emit_fragmented(c, TD_CT_HANDSHAKE, c->hs_out, c->hs_out_len);
    c->hs_out_len = 0;
    return err;
}

td_err td_conn_send_ccs(td_conn *c)
{
    static const uint8_t one = 1;
    TD_CHECK(td_conn_flush(c));
    c->ccs_sent = true;
    /* §5: change_cipher_spec is always sent unprotected, version 0x0303. */
    return emit_record(c, TD_CT_CHANGE_CIPHER_SPEC, &one, 1, TD_REC_VERSION_TLS12);
}

td_err td_conn_transcript_add(td_conn *c, const uint8_t *msg, size_t len)
{
    td_err err = td_transcript_add(&c->transcript, msg, len);
    if (err != TD_OK)
        TD_ABORT(c, err, TD_RULE_NONE, 0, "transcript: %s", td_err_name(err));
    return TD_OK;
}

/* §4.2.11.2: fills every binder of the serialised ClientHello |ch| (prefix
 * length |prefix|) according to |mode|. The binders list is the tail of the
 * message: u16 length, then u8-prefixed binder values. */
static td_err fill_binders(td_conn *c, uint8_t *ch, size_t ch_len, size_t prefix, td_binder_mode mode)
{
    uint8_t hash[TD_MAX_HASH_LEN], binder[TD_MAX_HASH_LEN];
    size_t hash_len = td_hash_len(c->suite->hash);
    if (mode == TD_BINDER_STALE)
        return TD_OK;
    if (c->cfg->fuzzer_mode) {
        /* Fuzzer mode (conn.h): binders are not computed; zeros. */
        memset(binder, 0, sizeof(binder));
    } else if (mode == TD_BINDER_WRONG_TRANSCRIPT && c->hrr_done) {
        /* Over the truncated ClientHello alone, leaving out message_hash and HRR. */
        TD_CHECK(td_hash(c->crypto, c->suite->hash, ch, prefix, hash));
    } else if (mode == TD_BINDER_WRONG_TRANSCRIPT) {
        uint8_t *copy = malloc(prefix);
        if (copy == NULL)
            return TD_ERR_NOMEM;
        memcpy(copy, ch, prefix);
        copy[prefix - 1] ^= 0x01;
        td_err err = td_transcript_peek_with(&c->transcript, copy, prefix, hash, NULL);
        free(copy);
        TD_CHECK(err);
    } else {
        TD_CHECK(td_transcript_peek_with(&c->transcript, ch, prefix, hash, NULL));
    }
    if (!c->cfg->fuzzer_mode)
        TD_CHECK(td_keysched_binder(c->crypto, c->suite->hash, c->binder_key, hash, binder));
    td_cbs rest, list;
    td_cbs_init(&rest, ch + prefix, ch_len - prefix);
    if (!td_cbs_get_u16_prefixed(&rest, &list))
        return TD_OK; /* the hook broke the list: nothing to fill */
    while (td_cbs_len(&list) > 0) {
        td_cbs one;
        if (!td_cbs_get_u8_prefixed(&list, &one))
            break;
        uint8_t *p = (uint8_t *)td_cbs_data(&one);
        size_t n = td_cbs_len(&one) < hash_len ? td_cbs_len(&one) : hash_len;
        memcpy(p, binder, n);
        if (mode == TD_BINDER_CORRUPT && n > 0)
            p[0] ^= 0x01;
    }
    td_cleanse(binder, sizeof(binder));
    return TD_OK;
}

td_err td_conn_send_msg(td_conn *c, td_msg *msg, td_cbs *out_bytes)
{
    td_binder_mode mode = TD_BINDER_RECOMPUTE;
    if (c->cfg->msg_hook != NULL) {
        c->skip_msg = false;
        c->in_callback++;
        td_err err = c->cfg->msg_hook(c->cfg->msg_hook_arg, c, msg, &mode);
        c->in_callback--;
        if (err != TD_OK)
            TD_ABORT(c, err, TD_RULE_NONE, 0, "outgoing-message hook failed: %s", td_err_name(err));
        if (c->skip_msg) {
            /* Misbehaviour: the hook dropped the message (never sent, not in the transcript). */
            c->skip_msg = false;
            if (out_bytes != NULL)
                td_cbs_init(out_bytes, NULL, 0);
            return TD_OK;
        }
    }
    td_cbb cbb;
    uint8_t *bytes = NULL;
    size_t len = 0, prefix = 0, cap = 0;
    td_err ret = TD_OK;
    /* Built in the connection's message buffer (the builder takes it; it
     * comes back below); the first one is large enough for most messages. */
    if (c->msg_buf == NULL) {
        if (!td_cbb_init(&cbb, 2048))
            return TD_ERR_NOMEM;
    } else {
        td_cbb_init_reuse(&cbb, c->msg_buf, c->msg_buf_cap);
    }
    c->msg_buf = NULL;
    c->msg_buf_cap = 0;
    bool has_psk = msg->type == TD_MSG_CLIENT_HELLO &&
                   td_exts_find_const(&msg->u.ch.exts, TD_EXT_PRE_SHARED_KEY) != NULL && c->psk_offered;
    if (has_psk && td_msg_build_ch_truncated(msg, &cbb, &prefix) == TD_OK) {
        if (!td_cbb_finish_buf(&cbb, &bytes, &len, &cap)) {
            ret = TD_ERR_NOMEM;
            goto out;
        }
        TD_GUARD(fill_binders(c, bytes, len, prefix, mode));
    } else {
        if (has_psk) {
            /* The truncated build failed: its sticky error stays with that builder. */
            td_cbb_cleanup(&cbb);
            td_cbb_init_reuse(&cbb, NULL, 0);
        }
        ret = td_msg_build(msg, &cbb);
        if (ret != TD_OK) {
            td_cbb_cleanup(&cbb);
            TD_ABORT(c, ret, TD_RULE_NONE, 0, "cannot serialise our %s", td_msg_type_name(msg->type));
        }
        if (!td_cbb_finish_buf(&cbb, &bytes, &len, &cap)) {
            ret = TD_ERR_NOMEM;
            goto out;
        }
    }
    TD_GUARD(td_conn_transcript_add(c, bytes, len));
    TD_GUARD(log_message(c, true, bytes, len));
    size_t at = c->hs_out_len;
    TD_GUARD(buf_append(&c->hs_out, &c->hs_out_len, &c->hs_out_cap, bytes, len));
    if (out_bytes != NULL)
        td_cbs_init(out_bytes, c->hs_out + at, len);
out:
    td_cbb_cleanup(&cbb);
    if (bytes != NULL) {
        c->msg_buf = bytes; /* the next message is built here */
        c->msg_buf_cap = cap;
    }
    return ret;
}

td_err td_conn_send_raw_hs(td_conn *c, const uint8_t *msg, size_t len)
{
    TD_CHECK(td_conn_transcript_add(c, msg, len));
    TD_CHECK(log_message(c, true, msg, len));
    return buf_append(&c->hs_out, &c->hs_out_len, &c->hs_out_cap, msg, len);
}

void td_conn_skip_message(td_conn *c) { c->skip_msg = true; }

td_err td_conn_inject_handshake(td_conn *c, const uint8_t *msg, size_t len)
{
    return td_conn_send_raw_hs(c, msg, len);
}

td_err td_conn_inject_record(td_conn *c, uint8_t inner_type, const uint8_t *content, size_t len,
                             size_t pad_len)
{
    TD_CHECK(td_conn_flush(c));
    if (!c->write_protected)
        return emit_record(c, inner_type, content, len, TD_REC_VERSION_TLS12);
    /* Sealed as given: no sender limits, so oversized content and padding
     * (REC-INNER-OVERFLOW, REC-INNER-PADDING-OVERFLOW) can be produced. */
    td_cbb rec;
    uint8_t *bytes = NULL;
    size_t n = 0;
    if (!td_cbb_init(&rec, len + pad_len + TD_REC_HEADER_LEN + 256))
        return TD_ERR_NOMEM;
    td_err err = td_rec_seal(&c->write, &rec, inner_type, content, len, pad_len,
                             TD_REC_SEAL_NO_LIMITS, &c->status.diag);
    if (err == TD_OK && !td_cbb_finish(&rec, &bytes, &n))
        err = TD_ERR_NOMEM;
    td_cbb_cleanup(&rec);
    if (err == TD_OK) {
        out_compact(c);
        err = buf_append(&c->out, &c->out_len, &c->out_cap, bytes, n);
    }
    free(bytes);
    return err;
}

/* ---- keys ---- */

td_err td_conn_set_suite(td_conn *c, const td_suite *suite)
{
    if (c->ks_ready) {
        if (c->suite != suite)
            return TD_ERR_ARG;
        return TD_OK;
    }
    c->suite = suite;
    TD_CHECK(td_transcript_set_hash(&c->transcript, suite->hash));
    td_keysched_init(&c->ks, c->crypto, suite->hash);
    c->ks_ready = true;
    c->status.suite = suite->id;
    return TD_OK;
}

void td_conn_clear_write_keys(td_conn *c)
{
    td_rec_cipher_cleanup(&c->write);
    memset(&c->write, 0, sizeof(c->write));
    c->write_protected = false;
}

/* Keys |secret| for one direction; in fuzzer mode (conn.h) records are
 * plaintext with a zero tag (td_rec_cipher_init_null), marked when |secret|
 * is the 0-RTT one. */
static td_err init_cipher(td_conn *c, td_rec_cipher *cipher, const uint8_t *secret)
{
    if (c->cfg->fuzzer_mode)
        return td_rec_cipher_init_null(cipher, c->suite, secret == c->c_early);
    return td_rec_cipher_init(cipher, c->crypto, c->suite, secret);
}

td_err td_conn_set_write_keys(td_conn *c, const uint8_t *secret)
{
    TD_CHECK(td_conn_flush(c));
    td_rec_cipher_cleanup(&c->write);
    td_err err = init_cipher(c, &c->write, secret);
    if (err != TD_OK)
        TD_ABORT(c, err, TD_RULE_NONE, 0, "cannot install write keys");
    c->write_protected = true;
    return TD_OK;
}

td_err td_conn_set_read_keys(td_conn *c, const uint8_t *secret)
{
    /* §5.1: messages that change keys must end on a record boundary. */
    TD_CHECK(td_hs_reasm_check_key_change(&c->reasm, &c->status.diag));
    td_rec_cipher_cleanup(&c->read);
    td_err err = init_cipher(c, &c->read, secret);
    if (err != TD_OK)
        TD_ABORT(c, err, TD_RULE_NONE, 0, "cannot install read keys");
    c->read_protected = true;
    return TD_OK;
}

void td_conn_keylog(td_conn *c, td_keylog_label label, const uint8_t *secret)
{
    char line[TD_KEYLOG_LINE_MAX];
    if (c->cfg->keylog == NULL || c->suite == NULL)
        return;
    if (td_keylog_line(label, c->client_random, secret, td_hash_len(c->suite->hash), line,
                       sizeof(line), NULL) == TD_OK) {
        c->in_callback++;
        c->cfg->keylog(c->cfg->keylog_arg, line);
        c->in_callback--;
    }
}

td_err td_conn_finished(td_conn *c, const uint8_t *base_secret, uint8_t *out)
{
    uint8_t hash[TD_MAX_HASH_LEN];
    /* Fuzzer mode (conn.h): Finished MACs are neither computed nor checked;
     * ours is zeros of the right length. */
    if (c->cfg->fuzzer_mode) {
        memset(out, 0, td_hash_len(c->suite->hash));
        return TD_OK;
    }
    TD_CHECK(td_transcript_peek(&c->transcript, hash, NULL));
    return td_keysched_finished(c->crypto, c->suite->hash, base_secret, hash, out);
}

td_err td_conn_cv_content(td_conn *c, bool server, uint8_t *out, size_t cap, size_t *out_len)
{
    /* §4.4.3: 64 octets of 0x20, the context string, a 0 byte, then
     * Transcript-Hash(Handshake Context, Certificate). */
    static const char server_ctx[] = "TLS 1.3, server CertificateVerify";
    static const char client_ctx[] = "TLS 1.3, client CertificateVerify";
    const char *ctx = server ? server_ctx : client_ctx;
    size_t ctx_len = strlen(ctx), hash_len = td_hash_len(c->suite->hash);
    if (cap < 64 + ctx_len + 1 + hash_len)
        return TD_ERR_ARG;
    memset(out, 0x20, 64);
    memcpy(out + 64, ctx, ctx_len);
    out[64 + ctx_len] = 0;
    TD_CHECK(td_transcript_peek(&c->transcript, out + 64 + ctx_len + 1, NULL));
    *out_len = 64 + ctx_len + 1 + hash_len;
    return TD_OK;
}

td_err td_conn_app_data_in(td_conn *c, const uint8_t *data, size_t len)
{
    return buf_append(&c->app_in, &c->app_in_len, &c->app_in_cap, data, len);
}

/* ---- failure: the one place a rule becomes an alert ---- */

/* Test-only (td_config.plant_wrong_alert, CMake TD_PLANT_WRONG_ALERT): an
 * alert |rule| does not allow, so that the fuzz oracle and the runner can
 * be shown to catch it. */
static bool planted_alert(td_rule rule, td_alert *out)
{
    static const td_alert wrong[] = {TD_ALERT_internal_error, TD_ALERT_decode_error,
                                     TD_ALERT_handshake_failure};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        if (!td_rule_allows(rule, wrong[i])) {
            *out = wrong[i];
            return true;
        }
    }
    return false;
}

/* The alert for a failed check: the rule's alert (when the rule allows
 * several, the one the error class names, else the first), or for checks
 * that name no rule the alert of the error class (RFC 8446 §6.2). */
static td_alert choose_alert(const td_config *cfg, const td_diag *d)
{
    td_alert by_class = td_err_alert(d->err);
    td_alert wrong;
    if (cfg->plant_wrong_alert && d->rule == cfg->plant_rule && d->rule != TD_RULE_NONE &&
        planted_alert(d->rule, &wrong))
        return wrong;
    if (d->rule == TD_RULE_NONE)
        return by_class;
#ifdef TD_PLANT_WRONG_ALERT
    /* TEST-ONLY build (CMake TD_PLANT_WRONG_ALERT=<RULE-ID>[,<RULE-ID>...]):
     * a planted bug, an alert the named rules do not allow, so that the fuzz
     * oracle can be shown to catch it (tests/test_fuzz.py). Never in a
     * normal build. */
    const char *id = td_rule_get(d->rule)->id, *list = TD_PLANT_WRONG_ALERT;
    size_t id_len = strlen(id);
    bool planted = false;
    for (const char *at = list; !planted && (at = strstr(at, id)) != NULL; at += id_len)
        planted = (at == list || at[-1] == ',') && (at[id_len] == ',' || at[id_len] == 0);
    if (planted && planted_alert(d->rule, &wrong))
        return wrong;
#endif
    if (td_rule_allows(d->rule, by_class))
        return by_class;
    return td_rule_alert(d->rule, by_class);
}

static void conn_fail(td_conn *c, td_err err)
{
    td_status *s = &c->status;
    if (s->phase == TD_PHASE_FAILED)
        return;
    if (s->diag.err == TD_OK)
        td_diag_set(&s->diag, err, TD_RULE_NONE, 0, __FILE__, __LINE__, "%s", td_err_name(err));
    /* Every abort names a rule: a check that names none is one of our own
     * failures (limits, configuration, libcrypto), internal_error by §6.2,
     * unless its error class names a protocol alert. */
    if (s->diag.rule == TD_RULE_NONE && td_err_alert(s->diag.err) == TD_ALERT_internal_error &&
        !TD_SITE_OFF(TD_RULE_LOCAL_INTERNAL))
        s->diag.rule = TD_RULE_LOCAL_INTERNAL;
    /* picotls' habit: the half-built flight is dropped, only the alert goes out. */
    c->hs_out_len = 0;
    td_alert alert = choose_alert(c->cfg, &s->diag);
    uint8_t body[2] = {2 /* fatal, §6 */, (uint8_t)alert};
    c->state = TD_HS_FAILED;
    s->state = td_hs_state_name(c->state);
    s->phase = TD_PHASE_FAILED;
    if (emit_record(c, TD_CT_ALERT, body, sizeof(body), TD_REC_VERSION_TLS12) == TD_OK) {
        s->alert_sent = true;
        s->alert_sent_level = body[0];
        s->alert_sent_desc = body[1];
    }
}

/* ---- reading ---- */

static td_err handle_alert(td_conn *c, const uint8_t *data, size_t len)
{
    td_status *s = &c->status;
    /* §5.1, §6: an alert record carries exactly one two-byte alert. */
    if (len != 2) {
        s->alert_unreadable = true;
        TD_ABORT(c, TD_ERR_DECODE, TD_RULE_AL_ONE_PER_RECORD, 0,
                 "alert record of %zu bytes (one alert is 2)", len);
    }
    s->alert_received = true;
    s->alert_received_level = data[0];
    s->alert_received_desc = data[1];
    if (data[1] == TD_ALERT_close_notify) {
        /* §6.1: close_notify ends the peer's writing; we stop reading. */
        s->phase = TD_PHASE_CLOSED;
        c->state = TD_HS_CLOSED;
    } else if (data[1] == TD_ALERT_user_canceled) {
        /* §6.1: user_canceled is followed by close_notify; keep reading. */
    } else {
        /* §6: every other alert is an error alert, whatever its level byte
         * says (AL-LEVEL-FATAL, AL-UNKNOWN-TYPE); close immediately. */
        s->phase = TD_PHASE_FAILED;
        c->state = TD_HS_FAILED;
    }
    s->state = td_hs_state_name(c->state);
    return TD_OK;
}

/* Messages out of order with a rule of their own, checked before the
 * state's own rule (TD_HS_STATE_LIST); |when| NULL: always. */
static bool psk_accepted(const td_conn *c) { return c->psk_accepted; }
static bool cert_not_requested(const td_conn *c) { return !c->cert_requested; }
static bool peer_cert_empty(const td_conn *c) { return c->peer_cert_empty; }
static bool no_early_data(const td_conn *c) { return !c->status.early_data_accepted; }

typedef struct misplaced {
    td_role role;
    bool any_state;    /* every state of the role that does not take the type */
    td_hs_state state; /* else this one */
    uint8_t type;
    bool (*when)(const td_conn *c);
    td_rule rule;
    const char *text; /* the diagnostic; NULL: "<type> in state <state>" */
} misplaced;

static const misplaced k_misplaced[] = {
    /* §4.5: EndOfEarlyData is never sent to a client. */
    {TD_ROLE_CLIENT, true, TD_HS_START, TD_MSG_END_OF_EARLY_DATA, NULL, TD_RULE_ED_EOED_TO_CLIENT, NULL},
    /* §4.6.1: tickets come after the server's Finished. */
    {TD_ROLE_CLIENT, true, TD_HS_START, TD_MSG_NEW_SESSION_TICKET, NULL, TD_RULE_NST_BEFORE_FINISHED,
     NULL},
    /* §4.6.3: KeyUpdate only after Finished. */
    {TD_ROLE_CLIENT, true, TD_HS_START, TD_MSG_KEY_UPDATE, NULL, TD_RULE_KU_BEFORE_FINISHED, NULL},
    /* §4.4.2: certificate authentication without a Certificate (C33). */
    {TD_ROLE_CLIENT, false, TD_HS_C_WAIT_CERT_CR, TD_MSG_CERTIFICATE_VERIFY, NULL,
     TD_RULE_CT_SERVER_MISSING, NULL},
    {TD_ROLE_CLIENT, false, TD_HS_C_WAIT_CERT_CR, TD_MSG_FINISHED, NULL, TD_RULE_CT_SERVER_MISSING, NULL},
    {TD_ROLE_CLIENT, false, TD_HS_C_WAIT_CERT, TD_MSG_CERTIFICATE_VERIFY, NULL, TD_RULE_CT_SERVER_MISSING,
     NULL},
    {TD_ROLE_CLIENT, false, TD_HS_C_WAIT_CERT, TD_MSG_FINISHED, NULL, TD_RULE_CT_SERVER_MISSING, NULL},
    /* §4.3.2, A.1: no CertificateRequest in a PSK handshake. */
    {TD_ROLE_CLIENT, false, TD_HS_C_WAIT_FINISHED, TD_MSG_CERTIFICATE_REQUEST, psk_accepted,
     TD_RULE_CR_IN_PSK_HANDSHAKE, NULL},
    /* §4.4.2: a Certificate we did not request. */
    {TD_ROLE_SERVER, false, TD_HS_S_WAIT_FINISHED, TD_MSG_CERTIFICATE, cert_not_requested,
     TD_RULE_CT_CLIENT_UNSOLICITED, "unsolicited client Certificate"},
    /* §4.4.3: no CertificateVerify after an empty Certificate. */
    {TD_ROLE_SERVER, false, TD_HS_S_WAIT_FINISHED, TD_MSG_CERTIFICATE_VERIFY, peer_cert_empty,
     TD_RULE_CV_AFTER_EMPTY_CERT, "CertificateVerify after an empty Certificate"},
    /* §4.4.3: a non-empty post-handshake Certificate is followed by CertificateVerify. */
    {TD_ROLE_SERVER, false, TD_HS_S_WAIT_PHA_CV, TD_MSG_FINISHED, NULL, TD_RULE_CV_MISSING,
     "Finished instead of the client's post-handshake CertificateVerify"},
    /* §4.4.3, §4.6.2: no CertificateVerify after an empty post-handshake Certificate. */
    {TD_ROLE_SERVER, false, TD_HS_S_WAIT_PHA_FINISHED, TD_MSG_CERTIFICATE_VERIFY, peer_cert_empty,
     TD_RULE_CV_AFTER_EMPTY_CERT, "CertificateVerify after an empty post-handshake Certificate"},
    /* §4.5: EndOfEarlyData without accepted 0-RTT. */
    {TD_ROLE_SERVER, false, TD_HS_S_WAIT_FINISHED, TD_MSG_END_OF_EARLY_DATA, no_early_data,
     TD_RULE_ED_EOED_UNEXPECTED, "EndOfEarlyData without accepted early data"},
    /* §4.6.3: KeyUpdate before the peer's Finished. */
    {TD_ROLE_SERVER, false, TD_HS_S_WAIT_FINISHED, TD_MSG_KEY_UPDATE, NULL, TD_RULE_KU_BEFORE_FINISHED,
     "KeyUpdate before the client Finished"},
    /* §4.6.1: only servers send NewSessionTicket. */
    {TD_ROLE_SERVER, false, TD_HS_S_WAIT_FINISHED, TD_MSG_NEW_SESSION_TICKET, NULL, TD_RULE_NST_FROM_CLIENT,
     "NewSessionTicket from the client"},
};

/* A message of a type the state does not take: unexpected_message (§4,
 * Appendix A), naming the most specific rule. */
static td_err misplaced_message(td_conn *c, const td_hs_state_info *s, uint8_t type)
{
    const char *type_name = td_msg_type_name(type);
    for (size_t i = 0; i < sizeof(k_misplaced) / sizeof(k_misplaced[0]); i++) {
        const misplaced *m = &k_misplaced[i];
        if (m->role != c->role || m->type != type || (!m->any_state && m->state != c->state) ||
            (m->when != NULL && !m->when(c)))
            continue;
        /* Test-only (TD_SITE_SWITCH): this row switched off, as if not in the table. */
        char row[24];
        snprintf(row, sizeof(row), "k_misplaced[%zu]", i);
        if (TD_SITE_ROW_OFF("engine/conn.c", row, m->rule))
            continue;
        if (m->text != NULL)
            TD_ABORT(c, TD_ERR_UNEXPECTED, m->rule, 0, "%s", m->text);
        TD_ABORT(c, TD_ERR_UNEXPECTED, m->rule, 0, "%s in state %s", type_name, s->name);
    }
    /* Test-only: the state's rule switched off (its row of TD_HS_STATE_LIST):
     * the misplaced message is dropped, as if the state took it. */
    if (TD_SITE_ROW_OFF("engine/conn_internal.h", s->name, s->rule))
        return TD_OK;
    if (s->text != NULL)
        TD_ABORT(c, TD_ERR_UNEXPECTED, s->rule, 0, "%s%s", type_name, s->text);
    TD_ABORT(c, TD_ERR_UNEXPECTED, s->rule, 0, "%s in state %s", type_name, s->name);
    TD_SITE_PASSED();
}

/* The dispatch: the state's function for its role when the state takes
 * the type; otherwise the message is out of order. */
static td_err dispatch(td_conn *c, const td_msg *msg, const uint8_t *raw, size_t raw_len)
{
    const td_hs_state_info *s = &k_states[c->state];
    td_hs_handler handler = c->role == TD_ROLE_CLIENT ? s->client : s->server;
    if (handler == NULL && c->role == TD_ROLE_SERVER)
        TD_ABORT(c, TD_ERR_ARG, TD_RULE_NONE, 0, "server in non-server state %s", s->name);
    if (handler != NULL && td_hs_state_takes(c->state, msg->type))
        return handler(c, msg, raw, raw_len);
    return misplaced_message(c, s, (uint8_t)msg->type);
}

static td_err handle_handshake_msg(td_conn *c, td_cbs whole)
{
    const uint8_t *raw = td_cbs_data(&whole);
    size_t raw_len = td_cbs_len(&whole);
    td_msg_ctx ctx = {.hash_len = c->suite ? td_hash_len(c->suite->hash) : 0, .sh_mode = TD_SH_AUTO};
    uint8_t type = raw[0];
    c->status.msg_type = type;
    TD_CHECK(log_message(c, false, raw, raw_len));
    /* §4: Finished needs the negotiated hash; before a ServerHello it is simply out of order. */
    if ((type == TD_MSG_FINISHED || type == TD_MSG_MESSAGE_HASH) && c->suite == NULL)
        TD_ABORT(c, TD_ERR_UNEXPECTED, TD_RULE_GEN_UNEXPECTED_ORDER, 0,
                 "%s before the cipher suite is known", td_msg_type_name(type));
    td_msg_cleanup(&c->msg_in); /* the previous message's lists */
    td_err err = td_msg_parse_handshake(raw, raw_len, &ctx, &c->msg_in, &c->status.diag);
    if (err != TD_OK && !td_hs_state_takes(c->state, type)) {
        /* Out of order and malformed: out of order first -- a server does
         * not answer a ServerHello with a complaint about its compression
         * byte; only the type is looked at. */
        td_diag_clear(&c->status.diag);
        memset(&c->msg_in, 0, sizeof(c->msg_in));
        c->msg_in.type = (td_msg_type)type;
        err = TD_OK;
    }
    TD_CHECK(err);
    if (c->state == TD_HS_CLOSED || c->state == TD_HS_FAILED)
        return TD_OK;
    return dispatch(c, &c->msg_in, raw, raw_len);
}

static td_err handle_handshake_data(td_conn *c, const uint8_t *data, size_t len)
{
    TD_CHECK(td_hs_reasm_add(&c->reasm, data, len, &c->status.diag));
    for (;;) {
        td_cbs whole;
        td_err err = td_hs_reasm_next(&c->reasm, &whole, &c->status.diag);
        if (err == TD_ERR_WANT_MORE)
            return TD_OK;
        TD_CHECK(err);
        TD_CHECK(handle_handshake_msg(c, whole));
        /* Handled: a later failure (of a record, say) is not this message's. */
        c->status.msg_type = 0;
        TD_CHECK(td_conn_flush(c));
        if (c->status.phase == TD_PHASE_FAILED || c->status.phase == TD_PHASE_CLOSED)
            return TD_OK;
    }
}

/* §5, D.4: a plaintext change_cipher_spec of the single byte 0x01 is dropped
 * between the first ClientHello and the peer's Finished. */
static td_err handle_ccs(td_conn *c, const td_record *rec)
{
    bool window = !c->peer_finished &&
                  (c->role == TD_ROLE_CLIENT ? c->state != TD_HS_START : c->state != TD_HS_S_WAIT_CH);
    if (!window)
        TD_ABORT(c, TD_ERR_UNEXPECTED, TD_RULE_REC_CCS_OUT_OF_WINDOW, 0,
                 "change_cipher_spec outside the window between ClientHello and Finished");
    /* §5: "An implementation which receives any other change_cipher_spec
     * value ... MUST abort the handshake with an "unexpected_message" alert." */
    if (rec->fragment_len != 1 || rec->fragment[0] != 0x01)
        TD_ABORT(c, TD_ERR_UNEXPECTED, TD_RULE_REC_CCS_BAD_VALUE, TD_REC_HEADER_LEN,
                 "change_cipher_spec body is not the single byte 0x01");
    c->ccs_seen = true;
    return TD_OK;
}

/* §4.2.10: a server that rejected 0-RTT skips records it cannot
 * deprotect (or, after an HRR, application_data records), up to
 * max_early_data_size bytes (TOL-EARLY-DATA-REJECT). */
static bool skip_rejected_early_data(td_conn *c, size_t len)
{
    if (c->role != TD_ROLE_SERVER || c->early_data_skip_left == 0)
        return false;
    /* §4.2.10: max_early_data_size counts "only Application Data payload
     * (i.e., plaintext but not padding or the inner content type byte)":
     * the record's AEAD tag (at most 16 bytes) and content type byte are
     * not counted, so a client that sends exactly the allowance is skipped
     * in full (an empty record still counts one byte). */
    len = len > 17 ? len - 17 : 1;
    if (len > c->early_data_skip_left) {
        c->early_data_skip_left = 0;
        return false;
    }
    c->early_data_skip_left -= len;
    return true;
}

/* Room for a protected record's plaintext (|len| bytes) in c->open_buf. */
static uint8_t *open_room(td_conn *c, size_t len)
{
    if (len > c->open_cap) {
        size_t cap = c->open_cap ? c->open_cap : 1024;
        while (cap < len)
            cap *= 2;
        uint8_t *p = malloc(cap);
        if (p == NULL)
            return NULL;
        free(c->open_buf); /* wiped after each record (handle_protected) */
        c->open_buf = p;
        c->open_cap = cap;
    }
    return c->open_buf;
}

static td_err handle_protected(td_conn *c, const td_record *rec)
{
    uint8_t *buf = open_room(c, rec->fragment_len ? rec->fragment_len : 1);
    uint8_t inner = 0;
    td_cbs content;
    td_err ret = TD_OK;
    if (buf == NULL)
        return TD_ERR_NOMEM;
    uint64_t seq = c->read.seq;
    td_diag trial;
    td_diag_clear(&trial);
    ret = td_rec_open(&c->read, rec, buf, rec->fragment_len, &inner, &content, &trial);
    if (ret == TD_ERR_BAD_RECORD_MAC && skip_rejected_early_data(c, rec->fragment_len)) {
        c->read.seq = seq; /* a skipped record does not count */
        ret = TD_OK;
        goto out;
    }
    if (ret != TD_OK) {
        c->status.diag = trial;
        /* A handshake-time record that does not authenticate and is exactly
         * one alert long (two bytes, the inner type, the tag): the peer's
         * keys differ from ours (it took something of ours differently) and
         * it is refusing with an alert we cannot read (§6: alerts are
         * encrypted under the current keys); its handshake messages are
         * longer (a 4-byte header at least). After the handshake a short
         * record may be data: not read as an alert. */
        if (ret == TD_ERR_BAD_RECORD_MAC && !c->read_early && c->state != TD_HS_CONNECTED &&
            rec->fragment_len == 2 + 1 + TD_AEAD_TAG_LEN)
            c->status.alert_unreadable = true;
        /* §4.2.10: accepted 0-RTT that fails to decrypt: bad_record_mac (ED-BAD-MAC). */
        if (ret == TD_ERR_BAD_RECORD_MAC && c->read_early && !TD_SITE_OFF(TD_RULE_ED_BAD_MAC))
            c->status.diag.rule = TD_RULE_ED_BAD_MAC;
        goto out;
    }
    c->early_data_skip_left = 0; /* the first record that decrypts ends the skipping */
    /* §2.3, §6: 0-RTT records go out before the client has read our
     * ServerHello; a client that then refuses it has no handshake keys and
     * can only alert in plaintext, so only records under handshake or
     * application keys end the plaintext alerts. */
    if (!c->read_early)
        c->peer_sent_protected = true;
    TD_GUARD(td_hs_reasm_check_interleave(&c->reasm, inner, &c->status.diag));
    switch (inner) {
    case TD_CT_HANDSHAKE:
        ret = handle_handshake_data(c, td_cbs_data(&content), td_cbs_len(&content));
        break;
    case TD_CT_ALERT:
        ret = handle_alert(c, td_cbs_data(&content), td_cbs_len(&content));
        break;
    case TD_CT_APPLICATION_DATA:
        /* §4.6.2: application data may also come while a post-handshake
         * authentication is under way (the client "MUST send Certificate,
         * CertificateVerify, and Finished consecutively": messages, not records). */
        if (c->state == TD_HS_CONNECTED || c->state == TD_HS_S_WAIT_PHA_CV ||
            c->state == TD_HS_S_WAIT_PHA_FINISHED ||
            (c->read_early && c->state == TD_HS_S_WAIT_EOED)) {
            if (c->read_early) {
                c->early_data_received += td_cbs_len(&content);
                /* §4.6.1: more 0-RTT data than max_early_data_size: the
                 * server SHOULD abort with unexpected_message. */
                if (c->early_data_received > c->early_data_max &&
                    !TD_SITE_OFF(TD_RULE_ED_TOO_MUCH)) {
                    ret = td_diag_set(&c->status.diag, TD_ERR_UNEXPECTED, TD_RULE_ED_TOO_MUCH, 0, __FILE__,
                                      __LINE__, "%llu bytes of early data, max_early_data_size %u",
                                      (unsigned long long)c->early_data_received, c->early_data_max);
                    break;
                }
            }
            if (!c->read_early)
                c->status.app_data_records_in++;
            ret = td_conn_app_data_in(c, td_cbs_data(&content), td_cbs_len(&content));
        } else if (!TD_SITE_OFF(TD_RULE_REC_UNPROTECTED_APPDATA)) {
            /* §5.1, §6.2: application data before application (or early) keys. */
            ret = td_diag_set(&c->status.diag, TD_ERR_UNEXPECTED, TD_RULE_REC_UNPROTECTED_APPDATA, 0,
                              __FILE__, __LINE__, "application data under handshake keys in state %s",
                              td_hs_state_name(c->state));
        }
        break;
    default:
        /* td_rec_open already rejects the other types (REC-CCS-PROTECTED, REC-UNKNOWN-TYPE). */
        if (!TD_SITE_OFF(TD_RULE_REC_UNKNOWN_TYPE))
            ret = td_diag_set(&c->status.diag, TD_ERR_UNEXPECTED, TD_RULE_REC_UNKNOWN_TYPE, 0,
                              __FILE__, __LINE__, "inner content type %u", inner);
        break;
    }
out:
    /* Application data (or what did not open) is wiped; handshake messages
     * and alerts are no secret (the transcript and the log keep them too). */
    if (inner != TD_CT_HANDSHAKE && inner != TD_CT_ALERT)
        td_cleanse(buf, rec->fragment_len);
    return ret;
}

static td_err handle_record(td_conn *c, const td_record *rec)
{
    c->status.record_index = c->records_in++;
    /* §5.1: a fragmented handshake message must not be interrupted by a
     * record of another type (for protected records: the inner type,
     * checked after decryption). */
    if (!c->read_protected || rec->type != TD_CT_APPLICATION_DATA)
        TD_CHECK(td_hs_reasm_check_interleave(&c->reasm, rec->type, &c->status.diag));
    switch (rec->type) {
    case TD_CT_CHANGE_CIPHER_SPEC:
        return handle_ccs(c, rec);
    case TD_CT_ALERT:
        /* §6, AL-KEYS: a client that fails on our ServerHello has no keys
         * yet and can only alert in plaintext; a server accepts that until
         * a record from the client has been decrypted. (A server always
         * has keys after its ServerHello: the client accepts no such alert.) */
        if (c->read_protected && (c->role == TD_ROLE_CLIENT || c->peer_sent_protected)) {
            c->status.alert_unreadable = true;
            break; /* unprotected alert while keys are on: unexpected below */
        }
        return handle_alert(c, rec->fragment, rec->fragment_len);
    case TD_CT_HANDSHAKE:
        if (c->read_protected)
            break;
        return handle_handshake_data(c, rec->fragment, rec->fragment_len);
    case TD_CT_APPLICATION_DATA:
        if (c->read_protected)
            return handle_protected(c, rec);
        if (c->role == TD_ROLE_SERVER && c->state == TD_HS_S_WAIT_CH2 &&
            skip_rejected_early_data(c, rec->fragment_len))
            return TD_OK;
        /* §5.1, §6.2: application data before any keys. */
        TD_ABORT(c, TD_ERR_UNEXPECTED, TD_RULE_REC_UNPROTECTED_APPDATA, 0,
                 "unprotected application_data record");
    default:
        break;
    }
    /* §5.2: once keys are on, every record but CCS is a TLSCiphertext. */
    TD_ABORT(c, TD_ERR_UNEXPECTED, TD_RULE_GEN_UNEXPECTED_ORDER, 0,
             "plaintext %s record after keys were installed", td_content_type_name(rec->type));
    TD_SITE_PASSED();
}

td_err td_conn_feed(td_conn *c, const uint8_t *data, size_t len)
{
    if (c->cfg->wire != NULL && len > 0 && data != NULL) {
        c->in_callback++;
        c->cfg->wire(c->cfg->wire_arg, false, data, len);
        c->in_callback--;
    }
    if (c->status.phase == TD_PHASE_FAILED || c->status.phase == TD_PHASE_CLOSED) {
        /* §6.1, §6.2: nothing more is read after a closure or an error
         * alert; what a peer sends after its own error alert is counted. */
        if (c->status.phase == TD_PHASE_FAILED && c->status.alert_received)
            c->status.bytes_after_alert += len;
        return TD_OK;
    }
    if (len == 0)
        return TD_OK; /* every whole record was handled already; c->in may still be NULL */
    c->status.bytes_in += len;
    TD_CHECK(buf_append(&c->in, &c->in_len, &c->in_cap, data, len));
    size_t pos = 0;
    while (c->status.phase == TD_PHASE_HANDSHAKE || c->status.phase == TD_PHASE_CONNECTED) {
        td_record rec;
        /* §4.2.10, §5.2: the rejected 0-RTT records a server skips after an
         * HRR are TLSCiphertext (up to 2^14+256 bytes), though it reads
         * without keys. */
        bool ciphertext = c->read_protected ||
                          (c->state == TD_HS_S_WAIT_CH2 && c->early_data_skip_left > 0);
        td_err err = td_rec_parse(c->in + pos, c->in_len - pos, ciphertext, &rec, &c->status.diag);
        if (err == TD_ERR_WANT_MORE) {
            td_diag_clear(&c->status.diag);
            break;
        }
        if (err == TD_OK)
            err = handle_record(c, &rec);
        else
            c->status.record_index = c->records_in; /* the record whose header failed */
        if (err == TD_ERR_NOMEM)
            return err;
        if (err != TD_OK) {
            conn_fail(c, err);
            break;
        }
        pos += rec.total_len;
    }
    if (c->status.phase == TD_PHASE_FAILED && c->status.alert_received)
        c->status.bytes_after_alert += c->in_len - pos; /* behind the peer's error alert */
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    c->status.state = td_hs_state_name(c->state);
    return TD_OK;
}

td_err td_conn_start(td_conn *c)
{
    if (c->role != TD_ROLE_CLIENT)
        return TD_OK;
    if (c->state != TD_HS_START)
        return TD_ERR_ARG;
    td_err err = td_client_start(c);
    if (err == TD_OK)
        err = td_conn_flush(c);
    if (err == TD_ERR_NOMEM)
        return err;
    if (err != TD_OK)
        conn_fail(c, err);
    c->status.state = td_hs_state_name(c->state);
    return TD_OK;
}

/* ---- application data, KeyUpdate, close ---- */

td_err td_conn_send_early_data(td_conn *c, const uint8_t *data, size_t len)
{
    if (c->role != TD_ROLE_CLIENT || !c->write_protected || len == 0)
        return TD_ERR_ARG;
    TD_CHECK(td_conn_flush(c));
    return emit_fragmented(c, TD_CT_APPLICATION_DATA, data, len);
}

td_err td_conn_write(td_conn *c, const uint8_t *data, size_t len)
{
    if (c->status.phase != TD_PHASE_CONNECTED)
        return TD_ERR_ARG;
    return emit_fragmented(c, TD_CT_APPLICATION_DATA, data, len);
}

size_t td_conn_read(td_conn *c, uint8_t *out, size_t cap)
{
    size_t n = c->app_in_len < cap ? c->app_in_len : cap;
    if (n == 0)
        return 0; /* app_in may still be NULL: no memcpy from NULL (UBSan) */
    memcpy(out, c->app_in, n);
    memmove(c->app_in, c->app_in + n, c->app_in_len - n);
    c->app_in_len -= n;
    return n;
}

/* §4.6.3 / §7.2: application_traffic_secret_N+1 for one direction. */
static td_err update_secret(td_conn *c, bool ours_is_client, bool write)
{
    uint8_t *secret = ours_is_client ? c->c_ap : c->s_ap;
    TD_CHECK(td_keysched_next_traffic_secret(c->crypto, c->suite->hash, secret, secret));
    return write ? td_conn_set_write_keys(c, secret) : td_conn_set_read_keys(c, secret);
}

static td_err send_key_update(td_conn *c, bool request)
{
    td_msg msg;
    td_msg_init(&msg, TD_MSG_KEY_UPDATE, false);
    msg.u.ku.request_update = request ? 1 : 0;
    TD_CHECK(td_conn_send_msg(c, &msg, NULL));
    TD_CHECK(td_conn_flush(c));
    return update_secret(c, c->role == TD_ROLE_CLIENT, true);
}

td_err td_conn_key_update(td_conn *c, bool request)
{
    if (c->status.phase != TD_PHASE_CONNECTED)
        return TD_ERR_ARG;
    td_err err = send_key_update(c, request);
    if (err != TD_OK && err != TD_ERR_NOMEM)
        conn_fail(c, err);
    return err == TD_ERR_NOMEM ? err : TD_OK;
}

/* Shared by both roles: a KeyUpdate from the peer after the handshake. */
td_err td_conn_handle_key_update(td_conn *c, const td_msg *msg)
{
    /* §4.6.3: update our read keys; if the peer asked, answer with our own
     * KeyUpdate (update_not_requested) and update our write keys. */
    TD_CHECK(update_secret(c, c->role != TD_ROLE_CLIENT, false));
    if (msg->u.ku.request_update == 1)
        TD_CHECK(send_key_update(c, false));
    return TD_OK;
}

td_err td_conn_close(td_conn *c)
{
    static const uint8_t close_notify[2] = {1 /* warning */, TD_ALERT_close_notify};
    /* §6.1: "Each party MUST send a "close_notify" alert before closing its
     * write side of the connection, unless it has already sent some error
     * alert" -- also when the peer's close_notify came first (CLOSED). */
    if (c->status.phase == TD_PHASE_FAILED || c->close_sent)
        return TD_OK;
    TD_CHECK(td_conn_flush(c));
    TD_CHECK(emit_record(c, TD_CT_ALERT, close_notify, sizeof(close_notify), TD_REC_VERSION_TLS12));
    c->close_sent = true;
    c->status.phase = TD_PHASE_CLOSED;
    c->state = TD_HS_CLOSED;
    c->status.state = td_hs_state_name(c->state);
    return TD_OK;
}

td_err td_conn_keep_pha_base(td_conn *c)
{
    td_hash_ctx_free(c->pha_base);
    c->pha_base = NULL;
    return td_transcript_snapshot(&c->transcript, &c->pha_base);
}

td_err td_conn_request_client_auth(td_conn *c)
{
    if (c->role != TD_ROLE_SERVER || c->state != TD_HS_CONNECTED ||
        !c->status.post_handshake_auth || c->pha_base == NULL)
        return TD_ERR_ARG;
    if (c->num_pha_pending == TD_MAX_PHA_PENDING)
        return TD_ERR_LIMIT;
    td_err err = td_srv_request_client_auth(c);
    if (err == TD_OK)
        err = td_conn_flush(c);
    if (err != TD_OK && err != TD_ERR_NOMEM)
        conn_fail(c, err);
    return err == TD_ERR_NOMEM ? err : TD_OK;
}

bool td_conn_session(const td_conn *c, td_session *out)
{
    if (!c->has_session)
        return false;
    *out = c->session;
    return true;
}

/* Defaults when the config leaves a list empty (see td_config). */
static const uint16_t default_groups[] = {TD_GROUP_X25519, TD_GROUP_SECP256R1, TD_GROUP_SECP384R1};
static const uint16_t default_sigalgs[] = {
    TD_SIG_ECDSA_SECP256R1_SHA256, TD_SIG_ECDSA_SECP384R1_SHA384, TD_SIG_RSA_PSS_RSAE_SHA256,
    TD_SIG_RSA_PSS_RSAE_SHA384,    TD_SIG_RSA_PSS_RSAE_SHA512,    TD_SIG_ED25519};

const uint16_t *td_conn_suites(const td_conn *c, size_t *out_num)
{
    if (c->cfg->num_suites > 0) {
        *out_num = c->cfg->num_suites;
        return c->cfg->suites;
    }
    *out_num = sizeof(default_suites) / sizeof(default_suites[0]);
    return default_suites;
}

const uint16_t *td_conn_groups(const td_conn *c, size_t *out_num)
{
    if (c->cfg->num_groups > 0) {
        *out_num = c->cfg->num_groups;
        return c->cfg->groups;
    }
    *out_num = sizeof(default_groups) / sizeof(default_groups[0]);
    return default_groups;
}

const uint16_t *td_conn_sigalgs(const td_conn *c, size_t *out_num)
{
    if (c->cfg->num_sigalgs > 0) {
        *out_num = c->cfg->num_sigalgs;
        return c->cfg->sigalgs;
    }
    *out_num = sizeof(default_sigalgs) / sizeof(default_sigalgs[0]);
    return default_sigalgs;
}
