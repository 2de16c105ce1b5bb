/* engine/peers/sut.c -- what every in-process SUT adapter shares
 * (tlsdrill/sut.h): the list of adapters built in, the exchange between
 * our td_conn and the library, and the scenario peer made from an adapter
 * (the outcome the runner judges). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "observe.h"
#include "peer_kinds.h"
#include "tlsdrill/bytes.h"
#include "tlsdrill/sut.h"

/* ---- the adapters built in ---- */

static const td_sut_adapter *const k_adapters[] = {
    &td_sut_openssl,
#ifdef TD_HAVE_GNUTLS
    &td_sut_gnutls,
#endif
#ifdef TD_HAVE_WOLFSSL
    &td_sut_wolfssl,
#endif
};

const td_sut_adapter *const *td_sut_adapters(size_t *out_num)
{
    *out_num = sizeof(k_adapters) / sizeof(k_adapters[0]);
    return k_adapters;
}

const td_sut_adapter *td_sut_find(const char *name)
{
    for (size_t i = 0; i < sizeof(k_adapters) / sizeof(k_adapters[0]); i++)
        if (strcmp(k_adapters[i]->name, name) == 0)
            return k_adapters[i];
    return strcmp(name, td_sut_engine.name) == 0 ? &td_sut_engine : NULL;
}

/* ---- the exchange ---- */

/* Our side's bytes (edited by the interceptor, if any) to the SUT. */
static td_err to_sut(td_sut_link *l, td_peer_stream *out_s, size_t *moved)
{
    const uint8_t *p = NULL;
    size_t n = 0;
    td_conn_drain(l->ours, &p, &n);
    *moved = n;
    if (n == 0)
        return TD_OK;
    if (l->intercept == NULL) {
        TD_CHECK(td_peer_stream_add(out_s, p, n));
        return l->a->feed(l->conn, p, n);
    }
    td_cbb cbb;
    if (!td_cbb_init(&cbb, n + 64))
        return TD_ERR_NOMEM;
    td_err err = l->intercept(l->intercept_arg,
                              l->ours_role == TD_ROLE_CLIENT ? TD_DIR_C2S : TD_DIR_S2C, p, n, &cbb);
    if (err == TD_OK && td_cbb_len(&cbb) > 0) {
        err = td_peer_stream_add(out_s, td_cbb_data(&cbb), td_cbb_len(&cbb));
        if (err == TD_OK)
            err = l->a->feed(l->conn, td_cbb_data(&cbb), td_cbb_len(&cbb));
    }
    td_cbb_cleanup(&cbb);
    return err;
}

/* The SUT's bytes to our side, in 4 KiB pieces so that an abort of ours
 * is placed in its stream (in_at_abort: what came after answers ours). */
static td_err from_sut(td_sut_link *l, td_peer_stream *in_s, size_t *moved)
{
    const uint8_t *p = NULL;
    size_t n = 0;
    l->a->drain(l->conn, &p, &n);
    *moved = n;
    for (size_t at = 0; at < n;) {
        size_t k = n - at < 4096 ? n - at : 4096;
        TD_CHECK(td_peer_stream_add(in_s, p + at, k));
        TD_CHECK(td_conn_feed(l->ours, p + at, k));
        at += k;
        const td_status *st = td_conn_status(l->ours);
        if (st->phase == TD_PHASE_CONNECTED)
            l->completed = true;
        if (st->phase == TD_PHASE_FAILED && !st->alert_received && !l->aborted) {
            l->aborted = true;
            l->in_at_abort = in_s->len;
        }
    }
    return TD_OK;
}

td_err td_sut_exchange(td_sut_link *l)
{
    unsigned limit = (l->max_rounds ? l->max_rounds : 32) * 2;
    bool client = l->ours_role == TD_ROLE_CLIENT;
    td_peer_stream *out_s = client ? l->c2s : l->s2c, *in_s = client ? l->s2c : l->c2s;
    td_scn_post_fn post = l->post;
    TD_CHECK(td_conn_start(l->ours));
    unsigned round = 0;
    for (; round < limit; round++) {
        size_t a = 0, b = 0;
        bool changed = false;
        TD_CHECK(to_sut(l, out_s, &a));
        TD_CHECK(l->a->step(l->conn, &changed));
        td_sut_status st;
        l->a->status(l->conn, &st);
        l->confirmed |= st.state == TD_SUT_CONNECTED;
        TD_CHECK(from_sut(l, in_s, &b));
        if (post != NULL && st.state == TD_SUT_CONNECTED &&
            td_conn_status(l->ours)->phase == TD_PHASE_CONNECTED) {
            /* Once, when both sides are done: our post-handshake actions
             * (KeyUpdate ...); the next rounds deliver them and the answers. */
            TD_CHECK(post(l->post_arg, l->ours));
            post = NULL;
            changed = true;
        }
        if (a == 0 && b == 0 && !changed)
            break; /* quiet: both wait (or both ended) */
    }
    l->runaway = round == limit;
    return TD_OK;
}

/* ---- the scenario peer ---- */

typedef struct sut_peer {
    const td_sut_adapter *a;
    void *keep;
} sut_peer;

/* What the runner judges, from our side's status, the SUT's and the streams. */
static void fill_outcome(const td_sut_link *l, const td_config *ours, td_scn_outcome *o)
{
    td_sut_status st;
    l->a->status(l->conn, &st);
    bool ended = st.state == TD_SUT_FAILED || st.state == TD_SUT_CLOSED;
    o->ours = *td_conn_status(l->ours);
    /* The library gave up without an alert (e.g. a first record whose
     * version is not 3.x): over a socket it would close it; tell our side's
     * story the same way instead of leaving it waiting. */
    if (ended && o->ours.phase == TD_PHASE_HANDSHAKE && !o->ours.alert_received)
        o->ours.phase = TD_PHASE_CLOSED;
    /* The SUT's own view, for the record; the runner judges by ours
     * (has_sut_status stays false: a library names no catalogue rule). */
    o->sut.phase = st.state == TD_SUT_CONNECTED ? TD_PHASE_CONNECTED
                   : st.state == TD_SUT_FAILED  ? TD_PHASE_FAILED
                   : st.state == TD_SUT_CLOSED  ? TD_PHASE_CLOSED
                                                : TD_PHASE_HANDSHAKE;
    o->sut.resumed = st.resumed;
    if (st.error[0] != '\0')
        snprintf(o->peer_log, sizeof(o->peer_log), "%s: %s", l->a->library, st.error);
    if (ours->role == TD_ROLE_SERVER)
        td_peer_note_hello(l->c2s->data, l->c2s->len, o);
    o->completed = l->completed || o->ours.phase == TD_PHASE_CONNECTED;
    o->sut_confirmed = o->completed && (l->confirmed || st.completed);
    if (o->ours.alert_received)
        o->end = o->ours.alert_received_desc == 0 ? TD_SCN_END_CLOSE_NOTIFY : TD_SCN_END_ALERT;
    else if (ended && !l->aborted)
        o->end = TD_SCN_END_EOF; /* after our own abort, its end answers ours: none */
    o->end_after_completed = o->completed && o->end != TD_SCN_END_NONE;
    /* An alert our side could not read (other keys, a plaintext alert where
     * it expected 0-RTT keys): read it with the library's own key log. */
    bool sut_client = ours->role == TD_ROLE_SERVER;
    const td_peer_stream *sin = sut_client ? l->c2s : l->s2c;
    size_t klen = 0;
    const char *klog = l->a->keylog != NULL ? l->a->keylog(l->conn, &klen) : NULL;
    o->sut_keylog = klog != NULL && klen > 0;
    if (!o->ours.alert_received && (l->aborted || o->ours.phase == TD_PHASE_HANDSHAKE) &&
        o->sut_keylog)
        td_peer_sut_alert(ours->crypto, klog, klen, l->c2s->data, l->c2s->len, l->s2c->data,
                          l->s2c->len, sut_client ? TD_DIR_C2S : TD_DIR_S2C,
                          l->aborted ? l->in_at_abort : sin->len, o);
    if (o->alert_from_sut_keylog) {
        o->end = TD_SCN_END_ALERT;
        o->end_after_completed = false;
    }
    if (ours->role == TD_ROLE_CLIENT) {
        o->has_session = td_conn_session(l->ours, &o->session);
    } else if (st.has_session) {
        /* The runner only needs to know there is one: the SUT client
         * resumes with its own kept session (conn_new). */
        o->has_session = true;
        o->session.suite = st.session_suite;
    }
    td_peer_note_received(l->ours, o);
    /* Failure leaves the digest zero: it only serves determinism checks. */
    if (td_scn_outcome_digest(ours->crypto, l->c2s->data, l->c2s->len, l->s2c->data, l->s2c->len,
                              o) != TD_OK)
        memset(o->digest, 0, sizeof(o->digest));
}

static td_err sut_run(void *arg, const td_config *ours, const td_config *sut, unsigned max_rounds,
                      td_scn_post_fn post, void *post_arg, td_scn_outcome *out)
{
    sut_peer *p = arg;
    memset(out, 0, sizeof(*out));
    if (ours->role == sut->role)
        return TD_ERR_ARG;
    td_peer_stream c2s = {0}, s2c = {0};
    td_sut_link l = {.a = p->a,
                     .ours_role = ours->role,
                     .post = post,
                     .post_arg = post_arg,
                     .max_rounds = max_rounds,
                     .c2s = &c2s,
                     .s2c = &s2c};
    td_err err = p->a->conn_new(p->keep, sut, ours, &l.conn, out->note, sizeof(out->note));
    if (err == TD_OK)
        err = td_conn_new(ours, &l.ours);
    if (err == TD_OK)
        err = td_sut_exchange(&l);
    if (err == TD_OK)
        fill_outcome(&l, ours, out);
    td_conn_free(l.ours);
    if (l.conn != NULL)
        p->a->conn_free(l.conn);
    free(c2s.data);
    free(s2c.data);
    return err;
}

td_err td_sut_scn_peer(const td_sut_adapter *a, td_scn_peer *out)
{
    sut_peer *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return TD_ERR_NOMEM;
    p->a = a;
    td_err err = a->keep_new(&p->keep);
    if (err != TD_OK) {
        free(p);
        return err;
    }
    out->name = a->name;
    out->arg = p;
    out->run = sut_run;
    return TD_OK;
}

void td_sut_scn_peer_free(td_scn_peer *peer)
{
    if (peer == NULL || peer->arg == NULL)
        return;
    sut_peer *p = peer->arg;
    p->a->keep_free(p->keep);
    free(p);
    peer->arg = NULL;
}

/* ---- the registry rows (peer_kinds.h): one per adapter, spec = its name ---- */

td_err td_peer_sut_new(const char *spec, const td_peer_opts *opts, td_scn_peer *out, char *err,
                       size_t err_len)
{
    (void)opts;
    const td_sut_adapter *a = td_sut_find(spec);
    if (a == NULL) {
        snprintf(err, err_len, "no in-process adapter '%s' in this build", spec);
        return TD_ERR_ARG;
    }
    td_err e = td_sut_scn_peer(a, out);
    if (e != TD_OK)
        snprintf(err, err_len, "%s: cannot set up the library (%s)", spec, td_err_name(e));
    return e;
}

void td_peer_sut_free(td_scn_peer *peer)
{
    td_sut_scn_peer_free(peer);
}

bool td_peer_sut_version(const char *spec, char *buf, size_t len)
{
    const td_sut_adapter *a = td_sut_find(spec);
    if (a == NULL)
        return false;
    a->version(buf, len);
    return true;
}

/* ---- helpers for adapters ---- */

td_err td_sut_key_der(const td_pkey *key, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    EVP_PKEY *pk = td_pkey_evp(key);
    if (pk == NULL)
        return TD_ERR_ARG;
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pk);
    if (p8 == NULL)
        return TD_ERR_CRYPTO;
    unsigned char *der = NULL;
    int n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (n <= 0)
        return TD_ERR_CRYPTO;
    *out = malloc((size_t)n);
    if (*out != NULL)
        memcpy(*out, der, (size_t)n);
    OPENSSL_clear_free(der, (size_t)n);
    if (*out == NULL)
        return TD_ERR_NOMEM;
    *out_len = (size_t)n;
    return TD_OK;
}

void td_sut_secret_free(void *p, size_t len)
{
    if (p == NULL)
        return;
    td_cleanse(p, len);
    free(p);
}

td_err td_sut_pem_add(td_peer_stream *pem, const char *label, const uint8_t *der, size_t len)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char line[80];
    int n = snprintf(line, sizeof(line), "-----BEGIN %s-----\n", label);
    if (pem->len > 0 && pem->data[pem->len - 1] == '\0')
        pem->len--; /* append after the previous block */
    TD_CHECK(td_peer_stream_add(pem, (const uint8_t *)line, (size_t)n));
    size_t col = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)der[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)der[i + 1] << 8;
        if (i + 2 < len)
            v |= der[i + 2];
        char q[4] = {b64[(v >> 18) & 63], b64[(v >> 12) & 63],
                     i + 1 < len ? b64[(v >> 6) & 63] : '=', i + 2 < len ? b64[v & 63] : '='};
        TD_CHECK(td_peer_stream_add(pem, (const uint8_t *)q, 4));
        col += 4;
        if (col == 64 || i + 3 >= len) {
            TD_CHECK(td_peer_stream_add(pem, (const uint8_t *)"\n", 1));
            col = 0;
        }
    }
    n = snprintf(line, sizeof(line), "-----END %s-----\n", label);
    TD_CHECK(td_peer_stream_add(pem, (const uint8_t *)line, (size_t)n));
    return td_peer_stream_add(pem, (const uint8_t *)"", 1);
}

td_err td_sut_keylog_add(td_peer_stream *log, const char *label, const uint8_t *client_random,
                         const uint8_t *secret, size_t secret_len)
{
    char line[64 + 2 * 32 + 2 * 64 + 4];
    size_t n = (size_t)snprintf(line, sizeof(line), "%s ", label);
    if (secret_len > 64 || n > 64)
        return TD_ERR_LIMIT;
    for (size_t i = 0; i < 32; i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%02x", client_random[i]);
    line[n++] = ' ';
    for (size_t i = 0; i < secret_len; i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%02x", secret[i]);
    line[n++] = '\n';
    td_err err = td_peer_stream_add(log, (const uint8_t *)line, n);
    td_cleanse(line, sizeof(line));
    return err;
}

void td_sut_keylog_free(td_peer_stream *log)
{
    td_sut_secret_free(log->data, log->cap);
    *log = (td_peer_stream){0};
}

/* ---- the frame of an adapter's connection ---- */

td_err td_sut_conn_new(size_t size, void *keep, const td_config *sut, const td_config *ours,
                       char *why, size_t why_len, td_err (*setup)(void *conn, void *keep),
                       void (*conn_free)(void *conn), void **out)
{
    *out = NULL;
    td_sut_conn_head *h = calloc(1, size);
    if (h == NULL)
        return TD_ERR_NOMEM;
    *h = (td_sut_conn_head){.sut = sut, .ours = ours, .why = why, .why_len = why_len};
    td_err err = setup(h, keep);
    h->why = NULL; /* the caller's buffer, for conn_new only */
    if (err != TD_OK) {
        conn_free(h);
        return err;
    }
    *out = h;
    return TD_OK;
}

td_err td_sut_unsupported(td_sut_conn_head *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (h->why != NULL)
        vsnprintf(h->why, h->why_len, fmt, ap);
    va_end(ap);
    return TD_ERR_UNSUPPORTED;
}

size_t td_sut_hrr_groups(const td_config *ours, const uint16_t *groups, size_t num,
                         const uint16_t *defaults, size_t num_defaults, uint16_t *out, size_t cap)
{
    const uint16_t *shares = ours->share_groups;
    size_t ns = ours->num_share_groups;
    const uint16_t *cg = ours->groups ? ours->groups : defaults;
    size_t ncg = ours->groups ? ours->num_groups : num_defaults;
    uint16_t first = cg[0];
    if (shares == NULL) {
        shares = &first;
        ns = 1;
    }
    size_t n = 0;
    for (size_t i = 0; i < num && n < cap; i++)
        if (!td_u16_in(shares, ns, groups[i]) && td_u16_in(cg, ncg, groups[i]))
            out[n++] = groups[i];
    return n;
}

/* ---- the memory transport of callback libraries ---- */

size_t td_sut_pipe_read(td_sut_pipe *p, uint8_t *buf, size_t n)
{
    size_t left = p->in.len - p->in_at;
    if (n > left)
        n = left;
    if (n > 0)
        memcpy(buf, p->in.data + p->in_at, n);
    p->in_at += n;
    if (p->in_at == p->in.len)
        p->in.len = p->in_at = 0;
    return n;
}

void td_sut_pipe_drain(td_sut_pipe *p, const uint8_t **out, size_t *out_len)
{
    /* Swap: the view is the drained buffer, |out| starts empty again. */
    td_peer_stream t = p->drained;
    p->drained = p->out;
    p->out = t;
    p->out.len = 0;
    *out = p->drained.data;
    *out_len = p->drained.len;
}

void td_sut_pipe_clear(td_sut_pipe *p)
{
    p->in.len = p->in_at = p->out.len = p->drained.len = 0;
}

void td_sut_pipe_free(td_sut_pipe *p)
{
    free(p->in.data);
    free(p->out.data);
    free(p->drained.data);
    *p = (td_sut_pipe){0};
}

td_err td_sut_feed(void *conn, const uint8_t *p, size_t n)
{
    return td_peer_stream_add(&((td_sut_conn_head *)conn)->io.in, p, n);
}

void td_sut_drain(void *conn, const uint8_t **out, size_t *out_len)
{
    td_sut_pipe_drain(&((td_sut_conn_head *)conn)->io, out, out_len);
}
