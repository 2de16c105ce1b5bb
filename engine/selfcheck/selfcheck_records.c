/* engine/selfcheck/selfcheck_records.c -- RFC 8448 records through record.c: each
 * printed record is parsed and decrypted to the printed payload, and the
 * payload re-encrypted (or re-framed) to the printed record, under the keys
 * of the epoch its sender is in; handshake payloads go through the
 * reassembler and must yield the messages the trace constructed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selfcheck_int.h"

static const char *const k_epoch_names[TD_SELFCHECK_NUM_EPOCHS] = {"plaintext", "early", "handshake",
                                                         "application"};

static uint8_t record_type(const char *desc)
{
    if (strcmp(desc, "send handshake record:") == 0)
        return TD_CT_HANDSHAKE;
    if (strcmp(desc, "send alert record:") == 0)
        return TD_CT_ALERT;
    if (strcmp(desc, "send application_data record:") == 0)
        return TD_CT_APPLICATION_DATA;
    if (strcmp(desc, "send change_cipher_spec record:") == 0)
        return TD_CT_CHANGE_CIPHER_SPEC;
    return TD_CT_INVALID;
}

static td_err ready_cipher(td_selfcheck_ctx *s, td_selfcheck_side *side, td_selfcheck_epoch e)
{
    if (side->ready[e])
        return TD_OK;
    if (!side->have_secret[e])
        return TD_ERR_ARG;
    TD_CHECK(td_rec_cipher_init(&side->open[e], s->run->crypto, s->suite, side->secret[e]));
    TD_CHECK(td_rec_cipher_init(&side->seal[e], s->run->crypto, s->suite, side->secret[e]));
    side->ready[e] = true;
    return TD_OK;
}

static void check_bytes(td_selfcheck_ctx *s, const td_tsv_row *row, const char *name, const uint8_t *got,
                        size_t got_len, const uint8_t *want, size_t want_len, const char *how)
{
    size_t i = 0;
    while (i < got_len && i < want_len && got[i] == want[i])
        i++;
    bool ok = got_len == want_len && i == got_len;
    if (ok)
        td_selfcheck_check(s, row->step, true, name, "%s, %zu bytes", how, got_len);
    else
        td_selfcheck_check(s, row->step, false, name, "line %zu: %s: %zu bytes vs %zu, first difference at %zu",
                 row->line, how, got_len, want_len, i);
}

/* Plaintext record: parse to the payload, re-frame to the record. §5.1:
 * 0x0301 for the initial ClientHello, 0x0303 otherwise. */
static void plain_record(td_selfcheck_ctx *s, td_selfcheck_side *side, const td_tsv_row *pay,
                         const td_tsv_row *rec, uint8_t type, const td_record *r)
{
    char name[112];
    snprintf(name, sizeof(name), "%s record %zu parsed", pay->desc, side->num_records);
    bool ok = r->type == type;
    if (!ok)
        td_selfcheck_check(s, pay->step, false, name, "line %zu: record type %u, expected %u", rec->line,
                 r->type, type);
    else
        check_bytes(s, pay, name, r->fragment, r->fragment_len, pay->data, pay->len,
                    "plaintext fragment");
    bool initial_ch = pay->who == TD_TSV_CLIENT && side->num_records == 0 &&
                      type == TD_CT_HANDSHAKE;
    td_cbb cbb;
    uint8_t *out = NULL;
    size_t out_len = 0;
    snprintf(name, sizeof(name), "%s record %zu re-framed", pay->desc, side->num_records);
    if (!td_cbb_init(&cbb, rec->len) ||
        td_rec_write_plain(&cbb, type, initial_ch ? TD_REC_VERSION_TLS10 : TD_REC_VERSION_TLS12,
                           pay->data, pay->len) != TD_OK ||
        !td_cbb_finish(&cbb, &out, &out_len)) {
        td_cbb_cleanup(&cbb);
        td_selfcheck_check(s, pay->step, false, name, "line %zu: could not write the record", rec->line);
        return;
    }
    check_bytes(s, pay, name, out, out_len, rec->data, rec->len, "TLSPlaintext");
    free(out);
}

/* Protected record: open to the payload, seal the payload to the record. */
static void protected_record(td_selfcheck_ctx *s, td_selfcheck_side *side, const td_tsv_row *pay,
                             const td_tsv_row *rec, uint8_t type, const td_record *r)
{
    char name[112];
    td_selfcheck_epoch e = side->epoch;
    snprintf(name, sizeof(name), "%s record %zu decrypted (%s keys, seq %llu)", pay->desc,
             side->num_records, k_epoch_names[e],
             (unsigned long long)(side->ready[e] ? side->open[e].seq : 0));
    td_err ret = ready_cipher(s, side, e);
    if (ret != TD_OK) {
        td_selfcheck_check(s, pay->step, false, name, "line %zu: no %s traffic keys (%s)", rec->line,
                 k_epoch_names[e], td_err_name(ret));
        return;
    }
    uint8_t *buf = malloc(r->fragment_len ? r->fragment_len : 1);
    if (buf == NULL) {
        s->run->oom = true;
        return;
    }
    uint8_t inner_type = 0;
    td_cbs content;
    td_diag diag;
    td_diag_clear(&diag);
    ret = td_rec_open(&side->open[e], r, buf, r->fragment_len, &inner_type, &content, &diag);
    if (ret != TD_OK)
        td_selfcheck_check(s, pay->step, false, name, "line %zu: %s: %s", rec->line, td_err_name(ret),
                 diag.text);
    else if (inner_type != type)
        td_selfcheck_check(s, pay->step, false, name, "line %zu: inner type %u, expected %u", rec->line,
                 inner_type, type);
    else
        check_bytes(s, pay, name, td_cbs_data(&content), td_cbs_len(&content), pay->data,
                    pay->len, "inner content");
    free(buf);

    td_cbb cbb;
    uint8_t *out = NULL;
    size_t out_len = 0;
    snprintf(name, sizeof(name), "%s record %zu re-encrypted", pay->desc, side->num_records);
    if (!td_cbb_init(&cbb, rec->len)) {
        s->run->oom = true;
        return;
    }
    /* The traces pad nothing. */
    ret = td_rec_seal(&side->seal[e], &cbb, type, pay->data, pay->len, 0, 0, &diag);
    if (ret != TD_OK || !td_cbb_finish(&cbb, &out, &out_len)) {
        td_cbb_cleanup(&cbb);
        td_selfcheck_check(s, pay->step, false, name, "line %zu: seal failed: %s", rec->line,
                 td_err_name(ret));
        return;
    }
    check_bytes(s, pay, name, out, out_len, rec->data, rec->len, "TLSCiphertext");
    free(out);
}

/* The next constructed message of |who|, or NULL. */
static const td_selfcheck_msg *next_expected(td_selfcheck_ctx *s, td_selfcheck_side *side, td_tsv_who who)
{
    while (side->next_msg < s->num_msgs && s->msgs[side->next_msg].who != who)
        side->next_msg++;
    if (side->next_msg == s->num_msgs)
        return NULL;
    return &s->msgs[side->next_msg++];
}

/* After a sender's message: the epoch changes it causes (§7.3 and the
 * message flow of §2). The record must end at the key change (§5.1). */
static void advance_epochs(td_selfcheck_ctx *s, const td_selfcheck_msg *m)
{
    td_selfcheck_side *client = &s->sides[TD_TSV_CLIENT], *server = &s->sides[TD_TSV_SERVER];
    if (m->who == TD_TSV_CLIENT) {
        if (m->type == TD_MSG_CLIENT_HELLO && s->early_data && m->has_early_data)
            client->epoch = TD_SELFCHECK_EPOCH_EARLY; /* the ClientHello that offers 0-RTT */
        else if (m->type == TD_MSG_END_OF_EARLY_DATA)
            client->epoch = TD_SELFCHECK_EPOCH_HS;
        else if (m->type == TD_MSG_FINISHED)
            client->epoch = TD_SELFCHECK_EPOCH_APP;
        return;
    }
    if (m->type == TD_MSG_SERVER_HELLO && !m->is_hrr) {
        server->epoch = TD_SELFCHECK_EPOCH_HS;        /* a ServerHello that is not an HRR */
    } else if (m->type == TD_MSG_FINISHED) {
        server->epoch = TD_SELFCHECK_EPOCH_APP;
        /* The client answers under handshake keys, or first ends 0-RTT. */
        if (client->epoch == TD_SELFCHECK_EPOCH_PLAIN)
            client->epoch = TD_SELFCHECK_EPOCH_HS;
    }
}

static void handshake_payload(td_selfcheck_ctx *s, td_selfcheck_side *side, const td_tsv_row *pay,
                              const td_tsv_row *rec)
{
    char name[112];
    snprintf(name, sizeof(name), "%s record %zu carries the constructed messages", pay->desc,
             side->num_records);
    td_diag diag;
    td_diag_clear(&diag);
    td_err ret = td_hs_reasm_add(&side->reasm, pay->data, pay->len, &diag);
    size_t count = 0;
    bool ok = ret == TD_OK;
    td_selfcheck_epoch before = s->sides[pay->who].epoch;
    while (ok) {
        td_cbs msg;
        ret = td_hs_reasm_next(&side->reasm, &msg, &diag);
        if (ret == TD_ERR_WANT_MORE) {
            ret = TD_OK;
            break;
        }
        const td_selfcheck_msg *want = ret == TD_OK ? next_expected(s, side, pay->who) : NULL;
        ok = want != NULL && td_cbs_mem_equal(&msg, want->data, want->len);
        count++;
        if (ok) /* |msg| is |want|'s bytes */
            advance_epochs(s, want);
    }
    /* §5.1: a key change must fall on a record boundary. */
    if (ok && s->sides[pay->who].epoch != before)
        ok = td_hs_reasm_check_key_change(&side->reasm, &diag) == TD_OK;
    if (ok && count > 0)
        td_selfcheck_check(s, pay->step, true, name, "%zu message(s) reassembled", count);
    else
        td_selfcheck_check(s, pay->step, false, name, "line %zu: message %zu: %s %s", rec->line, count,
                 td_err_name(ret), diag.text);
}

void td_selfcheck_replay_record(td_selfcheck_ctx *s, const td_tsv_row *pay, const td_tsv_row *rec)
{
    char name[112];
    td_selfcheck_side *side = &s->sides[pay->who];
    uint8_t type = record_type(pay->desc);
    snprintf(name, sizeof(name), "%s record %zu", pay->desc, side->num_records);
    if (rec == NULL || type == TD_CT_INVALID) {
        td_selfcheck_check(s, pay->step, false, name, "line %zu: %s", pay->line,
                 rec ? "unknown record kind" : "no complete record follows the payload");
        return;
    }
    /* §5: change_cipher_spec is never protected; the rest is once the
     * sender has keys. */
    bool protect = side->epoch != TD_SELFCHECK_EPOCH_PLAIN && type != TD_CT_CHANGE_CIPHER_SPEC;
    td_record r;
    td_diag diag;
    td_diag_clear(&diag);
    td_err ret = td_rec_parse(rec->data, rec->len, protect, &r, &diag);
    if (ret != TD_OK || r.total_len != rec->len) {
        td_selfcheck_check(s, pay->step, false, name, "line %zu: %s %s", rec->line,
                 ret == TD_OK ? "trailing bytes" : td_err_name(ret), diag.text);
        side->num_records++;
        return;
    }
    if (protect)
        protected_record(s, side, pay, rec, type, &r);
    else
        plain_record(s, side, pay, rec, type, &r);
    if (type == TD_CT_CHANGE_CIPHER_SPEC) {
        /* §5: the compatibility-mode CCS is exactly 0x01. */
        bool ok = td_rec_check_ccs(&r, &diag) == TD_OK;
        snprintf(name, sizeof(name), "%s record %zu value", pay->desc, side->num_records);
        td_selfcheck_check(s, pay->step, ok, name, ok ? "0x01" : "line %zu: %s", rec->line, diag.text);
    }
    if (type == TD_CT_HANDSHAKE) {
        handshake_payload(s, side, pay, rec);
    } else if (td_hs_reasm_check_interleave(&side->reasm, type, &diag) != TD_OK) {
        td_selfcheck_check(s, pay->step, false, name, "line %zu: %s", rec->line, diag.text);
    }
    side->num_records++;
}

void td_selfcheck_finish_section(td_selfcheck_ctx *s)
{
    static const char *const names[2] = {"every client message sent in a record",
                                         "every server message sent in a record"};
    for (int who = 0; who < 2; who++) {
        td_selfcheck_side *side = &s->sides[who];
        size_t left = 0;
        for (size_t i = side->next_msg; i < s->num_msgs; i++)
            left += s->msgs[i].who == (td_tsv_who)who;
        bool ok = left == 0 && !td_hs_reasm_pending(&side->reasm);
        td_selfcheck_check(s, -1, ok, names[who],
                 ok ? "%zu records" : "%zu message(s) never sent or partly buffered",
                 ok ? side->num_records : left);
    }
}
