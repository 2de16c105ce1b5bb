/* engine/peers/peer_engine.c -- the embedded engine as the system under
 * test: our side and the SUT are two td_conn in a td_pair. Other peers
 * (libssl in memory, TCP, a child process) implement the same td_scn_peer
 * interface (registry.c); only this one can also report the SUT's own
 * status. */
#include <stdio.h>
#include <string.h>

#include "observe.h"
#include "peer_kinds.h"
#include "tlsdrill/pair.h"

static td_err engine_run(void *arg, const td_config *ours, const td_config *sut,
                         unsigned max_rounds, td_scn_post_fn post, void *post_arg,
                         td_scn_outcome *out)
{
    (void)arg;
    const td_config *ccfg = ours->role == TD_ROLE_CLIENT ? ours : sut;
    const td_config *scfg = ours->role == TD_ROLE_CLIENT ? sut : ours;
    td_pair *pair = NULL;
    memset(out, 0, sizeof(*out));
    TD_CHECK(td_pair_new(ccfg, scfg, &pair));
    td_err err = td_pair_run(pair, max_rounds);
    td_conn *c = td_pair_client(pair), *s = td_pair_server(pair);
    bool completed = err == TD_OK && td_conn_status(c)->phase == TD_PHASE_CONNECTED &&
                     td_conn_status(s)->phase == TD_PHASE_CONNECTED;
    if (completed) {
        /* One more round so that NewSessionTickets reach the client. */
        bool moved = false;
        err = td_pair_step(pair, &moved);
        /* RFC 8446 §4.6.2: a post-handshake authentication takes a few more rounds. */
        bool pha = ccfg->offer_post_handshake_auth && scfg->post_handshake_auth != TD_CLIENT_AUTH_NONE;
        if (err == TD_OK && (post != NULL || pha)) {
            if (post != NULL)
                err = post(post_arg, ours->role == TD_ROLE_CLIENT ? c : s);
            /* Deliver our post-handshake messages and the answers (bounded). */
            moved = true;
            for (unsigned i = 0; err == TD_OK && moved && i < 8; i++)
                err = td_pair_step(pair, &moved);
        }
    }
    if (err == TD_OK) {
        td_conn *o = ours->role == TD_ROLE_CLIENT ? c : s;
        td_conn *u = ours->role == TD_ROLE_CLIENT ? s : c;
        out->ours = *td_conn_status(o);
        out->sut = *td_conn_status(u);
        out->has_sut_status = true;
        /* Both sides' status is known: the end is the SUT's own. */
        out->completed = completed;
        out->sut_confirmed = completed;
        if (out->ours.alert_received)
            out->end =
                out->ours.alert_received_desc == 0 ? TD_SCN_END_CLOSE_NOTIFY : TD_SCN_END_ALERT;
        else if (out->sut.phase == TD_PHASE_FAILED || out->sut.phase == TD_PHASE_CLOSED)
            out->end = TD_SCN_END_EOF;
        out->end_after_completed = completed && out->end != TD_SCN_END_NONE;
        out->has_session = td_conn_session(c, &out->session);
        td_peer_note_received(o, out);
        size_t n1 = 0, n2 = 0;
        const uint8_t *a = td_pair_stream(pair, TD_DIR_C2S, &n1);
        const uint8_t *b = td_pair_stream(pair, TD_DIR_S2C, &n2);
        if (ours->role == TD_ROLE_SERVER)
            td_peer_note_hello(a, n1, out);
        err = td_scn_outcome_digest(ours->crypto, a, n1, b, n2, out);
    }
    td_pair_free(pair);
    return err;
}

void td_scn_peer_engine(td_scn_peer *out)
{
    out->name = "engine";
    out->arg = NULL;
    out->run = engine_run;
}

td_err td_peer_engine_new(const char *spec, const td_peer_opts *opts, td_scn_peer *out, char *err,
                          size_t err_len)
{
    (void)spec;
    (void)opts;
    (void)err;
    (void)err_len;
    td_scn_peer_engine(out);
    return TD_OK;
}

void td_peer_engine_free(td_scn_peer *peer)
{
    (void)peer; /* no state */
}

bool td_peer_engine_version(const char *spec, char *buf, size_t len)
{
    (void)spec;
    snprintf(buf, len, "tlsdrill %s", TD_VERSION);
    return true;
}
