/* engine/peers/engine_sut.c -- our own engine behind the SUT adapter API
 * (tlsdrill/sut.h): a td_conn configured from the SUT's td_config, as the
 * system under test of the sut_engine_* fuzz targets (fuzz/sut.c). It is
 * the planted SUT of issue 15's proof: the engine honours the test-only
 * td_config.plant_wrong_alert / plant_skip, so a wrong alert planted in it
 * must be found by the same oracle that judges a foreign library, from
 * what crosses the wire only (tests/test_fuzz_sut.py). Not a scenario peer
 * (`--peer engine` is the td_pair peer, peer_engine.c), not in
 * td_sut_adapters(): td_sut_find("engine") only.
 *
 * Also the shortest example of an adapter: the engine takes everything a
 * td_config says, processes bytes as they are fed (step() has nothing
 * left to do) and keeps a client's session (its last NewSessionTicket)
 * for the next connection that resumes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer_kinds.h"
#include "tlsdrill/sut.h"

typedef struct eng_keep {
    td_session session; /* a client SUT's last ticket */
    bool has_session;
} eng_keep;

typedef struct eng_conn {
    eng_keep *keep;
    const td_config *sut; /* borrowed (conn_new) */
    td_config cfg;        /* *sut with our key log and the kept session */
    td_session resume;    /* the kept session this connection offers */
    td_conn *c;
    td_peer_stream keylog;
} eng_conn;

static void eng_version(char *buf, size_t len)
{
    snprintf(buf, len, "tlsdrill engine %s", TD_VERSION);
}

static td_err eng_keep_new(void **out)
{
    *out = calloc(1, sizeof(eng_keep));
    return *out != NULL ? TD_OK : TD_ERR_NOMEM;
}

static void eng_keep_free(void *keep)
{
    if (keep != NULL)
        td_cleanse(keep, sizeof(eng_keep));
    free(keep);
}

static void keylog_cb(void *arg, const char *line)
{
    eng_conn *e = arg;
    if (td_peer_stream_add(&e->keylog, (const uint8_t *)line, strlen(line)) != TD_OK ||
        td_peer_stream_add(&e->keylog, (const uint8_t *)"\n", 1) != TD_OK)
        return; /* past the cap: the rest is not needed */
}

/* A fresh td_conn from the configuration (conn_new, reset); a client
 * starts at once (its ClientHello is what the first drain hands out). */
static td_err make_conn(eng_conn *e, char *why, size_t why_len)
{
    td_conn_free(e->c);
    e->c = NULL;
    e->keylog.len = 0;
    e->cfg = *e->sut;
    e->cfg.keylog = keylog_cb;
    e->cfg.keylog_arg = e;
    if (e->sut->role == TD_ROLE_CLIENT && e->sut->resume != NULL && !e->sut->resume->external) {
        /* As the libraries' clients do: the session of the previous
         * connection, not the one our side's configuration names. */
        if (!e->keep->has_session) {
            if (why != NULL)
                snprintf(why, why_len, "resume: the first connection left the engine no session");
            return TD_ERR_UNSUPPORTED;
        }
        e->resume = e->keep->session;
        e->cfg.resume = &e->resume;
    }
    TD_CHECK(td_conn_new(&e->cfg, &e->c));
    return td_conn_start(e->c);
}

static td_err eng_conn_new(void *keep, const td_config *sut, const td_config *ours, void **out,
                           char *why, size_t why_len)
{
    (void)ours;
    *out = NULL;
    eng_conn *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return TD_ERR_NOMEM;
    e->keep = keep;
    e->sut = sut;
    td_err err = make_conn(e, why, why_len);
    if (err != TD_OK) {
        td_conn_free(e->c);
        td_sut_keylog_free(&e->keylog);
        free(e);
        return err;
    }
    *out = e;
    return TD_OK;
}

static td_err eng_reset(void *conn)
{
    return make_conn(conn, NULL, 0);
}

static td_err eng_feed(void *conn, const uint8_t *p, size_t n)
{
    eng_conn *e = conn;
    TD_CHECK(td_conn_feed(e->c, p, n));
    /* A client keeps its newest ticket for the next connection. */
    if (e->sut->role == TD_ROLE_CLIENT && td_conn_session(e->c, &e->keep->session))
        e->keep->has_session = true;
    return TD_OK;
}

static td_err eng_step(void *conn, bool *out_changed)
{
    (void)conn;
    *out_changed = false; /* the engine processed every byte when it was fed */
    return TD_OK;
}

static void eng_drain(void *conn, const uint8_t **out, size_t *out_len)
{
    eng_conn *e = conn;
    td_conn_drain(e->c, out, out_len);
}

static void eng_status(void *conn, td_sut_status *out)
{
    eng_conn *e = conn;
    const td_status *st = td_conn_status(e->c);
    memset(out, 0, sizeof(*out));
    out->state = st->phase == TD_PHASE_CONNECTED ? TD_SUT_CONNECTED
                 : st->phase == TD_PHASE_FAILED  ? TD_SUT_FAILED
                 : st->phase == TD_PHASE_CLOSED  ? TD_SUT_CLOSED
                                                 : TD_SUT_HANDSHAKE;
    out->completed = st->completed;
    out->resumed = st->resumed;
    out->alert_desc = st->alert_sent ? st->alert_sent_desc : -1;
    if (e->sut->role == TD_ROLE_CLIENT && e->keep->has_session) {
        out->has_session = true;
        out->session_suite = e->keep->session.suite;
    }
    if (st->phase == TD_PHASE_FAILED)
        snprintf(out->error, sizeof(out->error), "%.95s", st->diag.text);
}

static const char *eng_keylog(void *conn, size_t *out_len)
{
    eng_conn *e = conn;
    *out_len = e->keylog.len;
    return (const char *)e->keylog.data;
}

static void eng_conn_free(void *conn)
{
    eng_conn *e = conn;
    if (e == NULL)
        return;
    td_conn_free(e->c);
    td_sut_keylog_free(&e->keylog);
    td_cleanse(&e->resume, sizeof(e->resume));
    free(e);
}

const td_sut_adapter td_sut_engine = {
    .name = "engine",
    .library = "tlsdrill engine",
    .version = eng_version,
    .keep_new = eng_keep_new,
    .keep_free = eng_keep_free,
    .conn_new = eng_conn_new,
    .reset = eng_reset,
    .feed = eng_feed,
    .step = eng_step,
    .drain = eng_drain,
    .status = eng_status,
    .keylog = eng_keylog,
    .conn_free = eng_conn_free,
    .virtual_clock = true,
};
