/* engine/scenario/scn_judge.h -- the runner's judge: one outcome of a case,
 * graded (pass, alert-differs, fail, advisory, n/a) from the level of the
 * case's rules and what the SUT did. */
#ifndef TD_SCN_JUDGE_H
#define TD_SCN_JUDGE_H

#include "tlsdrill/conn.h"
#include "tlsdrill/scenario.h"

/* What the SUT itself sent in the case's connection, as our side received
 * it (for premises): extension types of its ClientHello(s), of its
 * ServerHello and EncryptedExtensions, and whether it answered our first
 * ClientHello with a HelloRetryRequest. */
#define SCN_SEEN_MAX_EXTS 64
typedef struct scn_seen {
    bool ch; /* a ClientHello of the SUT was seen */
    uint16_t ch_exts[SCN_SEEN_MAX_EXTS];
    size_t num_ch_exts;
    bool resp; /* its ServerHello (not an HRR) or EncryptedExtensions was seen */
    /* Extension types of its ServerHello, HRR, EncryptedExtensions and
     * CertificateRequest(s): any of them shows the SUT implements the type. */
    uint16_t resp_exts[SCN_SEEN_MAX_EXTS];
    size_t num_resp_exts;
    /* Its (latest) ClientHello's psk_key_exchange_modes: bit 0 psk_ke, bit 1
     * psk_dhe_ke (RFC 8446 §4.2.9); its first ClientHello's key share groups;
     * the group our first HelloRetryRequest asked for (-1: none sent). */
    bool ch_modes_seen;
    unsigned ch_psk_modes;
    uint16_t ch1_share_groups[16];
    size_t num_ch1_share_groups;
    bool ch1_shares_seen;
    int our_hrr_group;
    bool ee; /* its EncryptedExtensions was seen */
    bool cr; /* a CertificateRequest of the SUT was seen */
    uint16_t cr_exts[SCN_SEEN_MAX_EXTS];
    size_t num_cr_exts;
    bool first_answer_seen, hrr_first; /* its first ServerHello, and whether it was an HRR */
    /* A server SUT's baseline probe (run.c, cached per run): in a clean
     * handshake whose ClientHello offered |probe_ext| with a valid body, it
     * answered it (SCN_PROBE_ANSWERS) or went on without (SCN_PROBE_SILENT). */
    uint16_t probe_ext;
    int probe_state;
} scn_seen;

enum { SCN_PROBE_NONE, SCN_PROBE_ANSWERS, SCN_PROBE_SILENT };

/* Records the SUT's messages that |conn| (our side, log_messages on) has
 * received so far into |seen| (idempotent: rescans the whole log). */
void scn_seen_update(scn_seen *seen, td_conn *conn);
/* Our record |rec| (|len| bytes, header first, plaintext) on its way out:
 * notes our HelloRetryRequest's group before the message log has it. */
void scn_seen_our_record(scn_seen *seen, const uint8_t *rec, size_t len);

/* Fills |res| (expected, actual, level, premise, sut_rule, sut_where,
 * reason, verdict) for case |c| from outcome |o|. |res| is zeroed by the
 * caller. Borrows everything. */
void scn_judge(const td_scn_case *c, const td_scn_outcome *o, const scn_seen *seen,
               td_scn_result *res);

/* snprintf that may truncate: reasons are one line, cut if they must be. */
void scn_say(char *out, size_t cap, const char *fmt, ...) TD_PRINTF(3, 4);

#endif
