/* tests/unit/test_msg.c -- handshake message codec (engine/msg.c, msg_build.c):
 * (a) every RFC 8448 handshake message parses, decodes right and rebuilds
 *     byte-identically (raw and from the typed views);
 * (t) every truncation of every RFC 8448 message fails cleanly;
 * (d) a deterministic mutation loop: never crashes, always OK or a diagnosed
 *     error, and every accepted input rebuilds byte-identically.
 * Round trips from scratch and the malformed-input tables are in test_ext.c. */
#include "td_test.h"

#include "td_msg_test.h"
#include "td_vectors.h"

/* ---- RFC 8448 values: td_vectors.h (loaded in main) ---- */

typedef td_tsv_row vec_row;

static const char *const k_msg_names[] = {
    "ClientHello", "ServerHello",      "EncryptedExtensions", "Certificate",    "CertificateVerify",
    "Finished",    "NewSessionTicket", "CertificateRequest",  "EndOfEarlyData",
};

static bool is_msg_name(const char *name)
{
    if (name == NULL)
        return false;
    for (size_t i = 0; i < sizeof(k_msg_names) / sizeof(k_msg_names[0]); i++)
        if (strcmp(name, k_msg_names[i]) == 0)
            return true;
    return false;
}

/* The handshake message bytes of a row. §4's ClientHello row shows only the
 * 477-byte binder prefix; the whole 512-byte message is the payload of the
 * record sent next. */
static void msg_bytes(const vec_row *row, const uint8_t **out, size_t *out_len)
{
    *out = row->data;
    *out_len = row->len;
    if (row->name != NULL && strcmp(row->name, "ClientHello") == 0 && row->len >= 4) {
        size_t want = 4 + ((size_t)row->data[1] << 16 | (size_t)row->data[2] << 8 | row->data[3]);
        if (want != row->len) {
            const vec_row *p = td_vec_find(row->section, row->step + 2, "payload");
            if (p != NULL && p->len == want) {
                *out = p->data;
                *out_len = p->len;
            }
        }
    }
}

static const td_msg_ctx k_ctx32 = {32, TD_SH_AUTO};

/* Marks every extension block of |m| (including certificate entries, which
 * are re-encoded into |scratch|) to be encoded from its typed view. */
static int mark_all_typed(td_msg *m, td_cbb *scratch)
{
    td_exts *exts = td_msg_exts(m, NULL);
    if (exts != NULL)
        td_exts_mark_typed(exts);
    if (m->type != TD_MSG_CERTIFICATE)
        return 0;
    for (size_t i = 0; i < m->u.cert.num_entries; i++) {
        td_cert_entry *e = &m->u.cert.entries[i];
        td_exts ex;
        td_ext_data data;
        td_cbs cbs;
        if (td_exts_parse(TD_EXT_CTX_CT, e->extensions, e->extensions.data, &ex, &data, NULL) !=
            TD_OK)
            return -1;
        td_exts_mark_typed(&ex);
        if (!td_cbb_init(&scratch[i], 64) || td_exts_build(&ex, &data, &scratch[i]) != TD_OK)
            return -1;
        td_cbs_init(&cbs, td_cbb_data(&scratch[i]), td_cbb_len(&scratch[i]));
        (void)td_cbs_skip(&cbs, 2); /* the entry holds the block without its prefix */
        e->extensions = cbs;
    }
    return 0;
}

/* ---- (a) RFC 8448 ---- */

static void check_rt(const td_msg *m, const uint8_t *in, size_t len)
{
    size_t out_len = 0;
    uint8_t *out = build_msg(m, &out_len);
    TD_EXPECT(out != NULL);
    TD_EXPECT_MEM(out, out_len, in, len);
    free(out);
}

static void test_rfc8448_all_messages(void)
{
    td_msg *m = calloc(1, sizeof(*m));
    size_t count = 0, per_section[8] = {0};
    for (size_t i = 0; i < td_vec_tsv.num_rows && m != NULL; i++) {
        const vec_row *row = &td_vec_tsv.rows[i];
        if (!is_msg_name(row->name))
            continue;
        const uint8_t *in;
        size_t len;
        msg_bytes(row, &in, &len);
        td_diag diag;
        td_diag_clear(&diag);
        td_err err = td_msg_parse_handshake(in, len, &k_ctx32, m, &diag);
        if (err != TD_OK)
            fprintf(stderr, "  §%d step %d %s: %s %s at %zu: %s\n", row->section, row->step,
                    row->name, td_err_name(err),
                    td_rule_get(diag.rule) ? td_rule_get(diag.rule)->id : "-", diag.offset,
                    diag.text);
        TD_EXPECT_EQ(err, TD_OK);
        if (err != TD_OK)
            continue;
        TD_EXPECT_EQ(m->type, in[0]);
        TD_EXPECT_EQ(td_cbs_len(&m->body), len - 4);
        check_rt(m, in, len); /* raw extension bodies */
        td_cbb scratch[TD_MAX_CERT_ENTRIES];
        memset(scratch, 0, sizeof(scratch));
        TD_EXPECT_EQ(mark_all_typed(m, scratch), 0);
        check_rt(m, in, len); /* every extension re-encoded from its typed view */
        for (size_t j = 0; j < TD_MAX_CERT_ENTRIES; j++)
            td_cbb_cleanup(&scratch[j]);
        /* body-level parser agrees */
        TD_EXPECT_EQ(td_msg_parse(in[0], in + 4, len - 4, &k_ctx32, m, NULL), TD_OK);
        count++;
        if (row->section >= 3 && row->section <= 7)
            per_section[row->section]++;
    }
    /* 40 message values in the five traces: 8 + 6 + 9 + 10 + 7. */
    TD_EXPECT_EQ(count, 40);
    TD_EXPECT_EQ(per_section[3], 8);
    TD_EXPECT_EQ(per_section[4], 6);
    TD_EXPECT_EQ(per_section[5], 9);
    TD_EXPECT_EQ(per_section[6], 10);
    TD_EXPECT_EQ(per_section[7], 7);
    free(m);
}

static void test_rfc8448_simple_fields(void)
{
    td_msg *m = calloc(1, sizeof(*m));
    const vec_row *ch = td_vec_find(3, 1, "ClientHello"), *cpub = td_vec_find(3, 0, "public key");
    const vec_row *sh = td_vec_find(3, 5, "ServerHello"), *spub = td_vec_find(3, 4, "public key");
    const vec_row *nst = td_vec_find(3, 48, "NewSessionTicket");
    const vec_row *cert = td_vec_find(3, 15, "Certificate"),
                  *cv = td_vec_find(3, 16, "CertificateVerify");
    const vec_row *fin = td_vec_find(3, 18, "Finished");
    if (m == NULL || !ch || !cpub || !sh || !spub || !nst || !cert || !cv || !fin) {
        TD_EXPECT(0);
        goto out;
    }
    TD_REQUIRE(td_msg_parse_handshake(ch->data, ch->len, &k_ctx32, m, NULL) == TD_OK);
    const td_client_hello *c = &m->u.ch;
    TD_EXPECT_EQ(c->legacy_version, 0x0303);
    TD_EXPECT_EQ(c->num_cipher_suites, 3);
    TD_EXPECT_EQ(c->cipher_suites[0], 0x1301);
    TD_EXPECT_EQ(c->cipher_suites[1], 0x1303);
    TD_EXPECT_EQ(c->cipher_suites[2], 0x1302);
    TD_EXPECT_EQ(td_cbs_len(&c->legacy_session_id), 0);
    TD_EXPECT(c->has_extensions);
    TD_EXPECT(td_exts_find_const(&c->exts, TD_EXT_KEY_SHARE) != NULL);
    TD_EXPECT_EQ(c->ext.num_key_shares, 1);
    TD_EXPECT_EQ(c->ext.key_shares[0].group, 0x001d);
    TD_EXPECT(td_cbs_mem_equal(&c->ext.key_shares[0].key_exchange, cpub->data, cpub->len));
    TD_EXPECT_EQ(c->ext.num_versions, 1);
    TD_EXPECT_EQ(c->ext.versions[0], 0x0304);
    TD_EXPECT_EQ(c->ext.num_server_names, 1);
    TD_EXPECT(td_cbs_mem_equal(&c->ext.server_names[0].name, (const uint8_t *)"server", 6));
    TD_EXPECT_EQ(c->ext.num_groups, 9);
    TD_EXPECT_EQ(c->ext.num_sigalgs, 15);
    TD_EXPECT_EQ(c->ext.num_psk_modes, 1);
    TD_EXPECT_EQ(c->ext.psk_modes[0], 1);
    TD_EXPECT_EQ(c->ext.record_size_limit, 0x4001);
    TD_EXPECT(td_exts_find_const(&c->exts, TD_EXT_RENEGOTIATION_INFO) != NULL);
    TD_EXPECT_EQ(td_exts_index(&c->exts, TD_EXT_SERVER_NAME), 0);
    /* header 4, version 2, random 32, session id 1, suites 2+6, compression 2, block length 2 */
    TD_EXPECT_EQ(c->exts.list[0].offset, 4 + 2 + 32 + 1 + 8 + 2 + 2);

    TD_REQUIRE(td_msg_parse_handshake(sh->data, sh->len, &k_ctx32, m, NULL) == TD_OK);
    TD_EXPECT(!m->u.sh.is_hrr);
    TD_EXPECT(!m->u.sh.legacy);
    TD_EXPECT_EQ(m->u.sh.cipher_suite, 0x1301);
    TD_EXPECT_EQ(m->u.sh.ext.selected_version, 0x0304);
    TD_EXPECT_EQ(m->u.sh.ext.server_share.group, 0x001d);
    TD_EXPECT(td_cbs_mem_equal(&m->u.sh.ext.server_share.key_exchange, spub->data, spub->len));

    TD_REQUIRE(td_msg_parse_handshake(nst->data, nst->len, &k_ctx32, m, NULL) == TD_OK);
    TD_EXPECT_EQ(m->u.nst.ticket_lifetime, 30);
    TD_EXPECT_EQ(m->u.nst.ticket_age_add, 0xfad6aac5);
    TD_EXPECT_EQ(td_cbs_len(&m->u.nst.ticket_nonce), 2);
    TD_EXPECT_EQ(td_cbs_len(&m->u.nst.ticket), 178);
    TD_EXPECT(td_exts_find_const(&m->u.nst.exts, TD_EXT_EARLY_DATA) != NULL);
    TD_EXPECT_EQ(m->u.nst.ext.max_early_data_size, 1024);

    TD_REQUIRE(td_msg_parse_handshake(cert->data, cert->len, &k_ctx32, m, NULL) == TD_OK);
    TD_EXPECT_EQ(td_cbs_len(&m->u.cert.context), 0);
    TD_EXPECT_EQ(m->u.cert.num_entries, 1);
    TD_EXPECT_EQ(td_cbs_len(&m->u.cert.entries[0].cert_data), 432);
    TD_EXPECT_EQ(td_cbs_len(&m->u.cert.entries[0].extensions), 0);

    TD_REQUIRE(td_msg_parse_handshake(cv->data, cv->len, &k_ctx32, m, NULL) == TD_OK);
    TD_EXPECT_EQ(m->u.cv.algorithm, 0x0804);
    TD_EXPECT_EQ(td_cbs_len(&m->u.cv.signature), 128);

    TD_REQUIRE(td_msg_parse_handshake(fin->data, fin->len, &k_ctx32, m, NULL) == TD_OK);
    TD_EXPECT(td_cbs_mem_equal(&m->u.fin.verify_data, fin->data + 4, 32));
out:
    free(m);
}

static void test_rfc8448_resumption_psk(void)
{
    td_msg *m = calloc(1, sizeof(*m));
    const vec_row *ch = td_vec_find(4, 2, "ClientHello"),
                  *prefix = td_vec_find(4, 3, "ClientHello prefix");
    const vec_row *ee = td_vec_find(4, 23, "EncryptedExtensions"),
                  *eoed = td_vec_find(4, 43, "EndOfEarlyData");
    const vec_row *sh = td_vec_find(4, 14, "ServerHello");
    if (m == NULL || !ch || !prefix || !ee || !eoed || !sh) {
        TD_EXPECT(0);
        goto out;
    }
    const uint8_t *in;
    size_t len;
    msg_bytes(ch, &in, &len);
    TD_EXPECT_EQ(len, 512);
    TD_REQUIRE(td_msg_parse_handshake(in, len, &k_ctx32, m, NULL) == TD_OK);
    const td_client_hello *c = &m->u.ch;
    TD_EXPECT_EQ(td_exts_index(&c->exts, TD_EXT_PRE_SHARED_KEY), (int)c->exts.num - 1);
    TD_EXPECT_EQ(c->ext.num_psk_identities, 1);
    TD_EXPECT_EQ(td_cbs_len(&c->ext.psk_identities[0].identity), 178);
    TD_EXPECT_EQ(c->ext.psk_identities[0].obfuscated_ticket_age, 0xfad6aacb);
    TD_EXPECT_EQ(c->ext.num_psk_binders, 1);
    TD_EXPECT_EQ(td_cbs_len(&c->ext.psk_binders[0]), 32);
    TD_EXPECT(td_exts_find_const(&c->exts, TD_EXT_EARLY_DATA) != NULL);
    TD_EXPECT(td_exts_find_const(&c->exts, TD_EXT_PADDING) != NULL);
    TD_EXPECT_EQ(c->ext.padding_len, 0x57);
    /* The same prefix read off the parsed message; only from the bytes it views. */
    size_t parsed_prefix = 0;
    TD_EXPECT_EQ(td_msg_ch_binder_prefix_len(m, in, &parsed_prefix), TD_OK);
    TD_EXPECT_EQ(parsed_prefix, 477);
    TD_EXPECT_EQ(td_msg_ch_binder_prefix_len(m, in + 1, &parsed_prefix), TD_ERR_ARG);

    /* Truncate(ClientHello1) for the binder: 477 bytes, equal to the trace's prefix. */
    td_cbb cbb;
    uint8_t *out = NULL;
    size_t out_len = 0, prefix_len = 0;
    TD_REQUIRE(td_cbb_init(&cbb, 600));
    TD_EXPECT_EQ(td_msg_build_ch_truncated(m, &cbb, &prefix_len), TD_OK);
    TD_REQUIRE(td_cbb_finish(&cbb, &out, &out_len));
    TD_EXPECT_EQ(prefix_len, 477);
    TD_EXPECT_MEM(out, out_len, in, len);
    TD_EXPECT_MEM(out, prefix_len, prefix->data, prefix->len);
    free(out);
    /* The same from the typed view. */
    td_exts_mark_typed(&m->u.ch.exts);
    TD_REQUIRE(td_cbb_init(&cbb, 600));
    TD_EXPECT_EQ(td_msg_build_ch_truncated(m, &cbb, &prefix_len), TD_OK);
    TD_REQUIRE(td_cbb_finish(&cbb, &out, &out_len));
    TD_EXPECT_EQ(prefix_len, 477);
    TD_EXPECT_MEM(out, out_len, in, len);
    free(out);

    TD_REQUIRE(td_msg_parse_handshake(sh->data, sh->len, &k_ctx32, m, NULL) == TD_OK);
    TD_EXPECT(td_exts_find_const(&m->u.sh.exts, TD_EXT_PRE_SHARED_KEY) != NULL);
    TD_EXPECT_EQ(m->u.sh.ext.psk_selected_identity, 0);
    TD_EXPECT_EQ(td_msg_build_ch_truncated(m, &cbb, &prefix_len), TD_ERR_ARG); /* not a CH */
    TD_EXPECT_EQ(td_msg_ch_binder_prefix_len(m, sh->data, &prefix_len), TD_ERR_ARG);

    TD_REQUIRE(td_msg_parse_handshake(ee->data, ee->len, &k_ctx32, m, NULL) == TD_OK);
    TD_EXPECT(td_exts_find_const(&m->u.ee.exts, TD_EXT_EARLY_DATA) != NULL);
    TD_REQUIRE(td_msg_parse_handshake(eoed->data, eoed->len, &k_ctx32, m, NULL) == TD_OK);
    TD_EXPECT_EQ(m->type, TD_MSG_END_OF_EARLY_DATA);
out:
    free(m);
}

static void test_rfc8448_hrr(void)
{
    td_msg *m = calloc(1, sizeof(*m));
    const vec_row *ch1 = td_vec_find(5, 1, "ClientHello"), *hrr = td_vec_find(5, 3, "ServerHello");
    const vec_row *ch2 = td_vec_find(5, 6, "ClientHello"), *sh = td_vec_find(5, 10, "ServerHello");
    if (m == NULL || !ch1 || !hrr || !ch2 || !sh) {
        TD_EXPECT(0);
        goto out;
    }
    TD_REQUIRE(td_msg_parse_handshake(ch1->data, ch1->len, &k_ctx32, m, NULL) == TD_OK);
    TD_EXPECT_EQ(m->u.ch.ext.num_key_shares, 1);
    TD_EXPECT_EQ(m->u.ch.ext.key_shares[0].group, 0x001d);
    TD_REQUIRE(td_msg_parse_handshake(hrr->data, hrr->len, &k_ctx32, m, NULL) == TD_OK);
    TD_EXPECT(m->u.sh.is_hrr);
    TD_EXPECT_EQ(m->u.sh.exts.ctx, TD_EXT_CTX_HRR);
    TD_EXPECT_EQ(m->u.sh.ext.hrr_selected_group, 0x0017);
    TD_EXPECT(td_exts_find_const(&m->u.sh.exts, TD_EXT_COOKIE) != NULL);
    TD_EXPECT_EQ(td_cbs_len(&m->u.sh.ext.cookie), 0x72);
    TD_EXPECT_EQ(m->u.sh.ext.selected_version, 0x0304);
    td_cbs cookie = m->u.sh.ext.cookie;
    /* Forced SH reading of the HRR: key_share is then a KeyShareEntry and the
     * 2-byte body does not parse. */
    td_msg_ctx force_sh = {32, TD_SH_FORCE_SH};
    td_diag diag;
    td_diag_clear(&diag);
    TD_EXPECT_EQ(td_msg_parse_handshake(hrr->data, hrr->len, &force_sh, m, &diag), TD_ERR_DECODE);
    TD_EXPECT_EQ(diag.rule, TD_RULE_GEN_DECODE);
    /* The second ClientHello echoes the cookie and offers a P-256 share. */
    TD_REQUIRE(td_msg_parse_handshake(ch2->data, ch2->len, &k_ctx32, m, NULL) == TD_OK);
    TD_EXPECT(td_cbs_mem_equal(&m->u.ch.ext.cookie, td_cbs_data(&cookie), td_cbs_len(&cookie)));
    TD_EXPECT_EQ(m->u.ch.ext.num_key_shares, 1);
    TD_EXPECT_EQ(m->u.ch.ext.key_shares[0].group, 0x0017);
    TD_EXPECT_EQ(td_cbs_len(&m->u.ch.ext.key_shares[0].key_exchange), 65);
    TD_REQUIRE(td_msg_parse_handshake(sh->data, sh->len, &k_ctx32, m, NULL) == TD_OK);
    TD_EXPECT(!m->u.sh.is_hrr);
    TD_EXPECT_EQ(m->u.sh.ext.server_share.group, 0x0017);
out:
    free(m);
}

static void test_rfc8448_client_auth(void)
{
    td_msg *m = calloc(1, sizeof(*m));
    const vec_row *cr = td_vec_find(6, 15, "CertificateRequest"),
                  *ccert = td_vec_find(6, 40, "Certificate");
    const vec_row *ch7 = td_vec_find(7, 1, "ClientHello");
    if (m == NULL || !cr || !ccert || !ch7) {
        TD_EXPECT(0);
        goto out;
    }
    TD_REQUIRE(td_msg_parse_handshake(cr->data, cr->len, &k_ctx32, m, NULL) == TD_OK);
    TD_EXPECT_EQ(td_cbs_len(&m->u.cr.context), 0);
    TD_EXPECT_EQ(m->u.cr.exts.num, 1);
    TD_EXPECT_EQ(m->u.cr.ext.num_sigalgs, 15);
    TD_EXPECT_EQ(m->u.cr.ext.sigalgs[0], 0x0403);
    TD_REQUIRE(td_msg_parse_handshake(ccert->data, ccert->len, &k_ctx32, m, NULL) == TD_OK);
    TD_EXPECT_EQ(m->u.cert.num_entries, 1);
    /* §7 (compatibility mode): a 32-byte legacy_session_id. */
    TD_REQUIRE(td_msg_parse_handshake(ch7->data, ch7->len, &k_ctx32, m, NULL) == TD_OK);
    TD_EXPECT_EQ(td_cbs_len(&m->u.ch.legacy_session_id), 32);
out:
    free(m);
}

/* Structural edits of a real message: the §4 ClientHello with its
 * pre_shared_key moved first, a duplicated key_share, a removed extension,
 * an edited typed field. */
static void test_rfc8448_structural_edits(void)
{
    td_msg *m = calloc(1, sizeof(*m)), *p = calloc(1, sizeof(*p));
    const vec_row *ch = td_vec_find(4, 2, "ClientHello");
    const uint8_t *in;
    size_t len, out_len;
    uint8_t *out;
    td_diag diag;
    if (m == NULL || p == NULL || ch == NULL) {
        TD_EXPECT(0);
        goto out;
    }
    msg_bytes(ch, &in, &len);
    TD_REQUIRE(td_msg_parse_handshake(in, len, &k_ctx32, m, NULL) == TD_OK);
    td_exts *ex = &m->u.ch.exts;
    size_t first_at = ex->list[0].offset, n = ex->num;
    /* pre_shared_key first: PSK-NOT-LAST, reported at the PSK extension. */
    TD_EXPECT_EQ(td_exts_move(ex, n - 1, 0), TD_OK);
    out = build_msg(m, &out_len);
    TD_REQUIRE(out != NULL);
    TD_EXPECT_EQ(out_len, len);
    td_diag_clear(&diag);
    TD_EXPECT_EQ(td_msg_parse_handshake(out, out_len, &k_ctx32, p, &diag),
                 TD_ERR_ILLEGAL_PARAMETER);
    TD_EXPECT_EQ(diag.rule, TD_RULE_PSK_NOT_LAST);
    TD_EXPECT_EQ(diag.offset, first_at);
    free(out);
    TD_EXPECT_EQ(td_exts_move(ex, 0, n - 1), TD_OK);
    /* key_share twice: EXT-DUPLICATE at the second one. */
    int ks = td_exts_index(ex, TD_EXT_KEY_SHARE);
    TD_REQUIRE(ks >= 0);
    TD_EXPECT_EQ(td_exts_insert_raw(ex, (size_t)ks + 1, TD_EXT_KEY_SHARE, ex->list[ks].body),
                 TD_OK);
    out = build_msg(m, &out_len);
    TD_REQUIRE(out != NULL);
    td_diag_clear(&diag);
    TD_EXPECT_EQ(td_msg_parse_handshake(out, out_len, &k_ctx32, p, &diag), TD_ERR_DECODE);
    TD_EXPECT_EQ(diag.rule, TD_RULE_EXT_DUPLICATE);
    TD_EXPECT_EQ(diag.offset, ex->list[ks].offset + 4 + td_cbs_len(&ex->list[ks].body));
    free(out);
    TD_EXPECT_EQ(td_exts_remove(ex, (size_t)ks + 1), TD_OK);
    /* remove padding, re-offer two PSK modes from the typed view: parses,
     * and the binder prefix shrinks by exactly the bytes removed and grows
     * by the byte added. */
    int pad = td_exts_index(ex, TD_EXT_PADDING);
    TD_REQUIRE(pad >= 0);
    TD_EXPECT_EQ(td_exts_remove(ex, (size_t)pad), TD_OK);
    td_ext *modes = td_exts_find(ex, TD_EXT_PSK_KEY_EXCHANGE_MODES);
    TD_REQUIRE(modes != NULL);
    m->u.ch.ext.num_psk_modes = 2;
    m->u.ch.ext.psk_modes[1] = 0;
    modes->from_typed = true;
    td_cbb cbb;
    size_t prefix = 0;
    TD_REQUIRE(td_cbb_init(&cbb, 0));
    TD_EXPECT_EQ(td_msg_build_ch_truncated(m, &cbb, &prefix), TD_OK);
    TD_REQUIRE(td_cbb_finish(&cbb, &out, &out_len));
    TD_EXPECT_EQ(prefix, 477 - (4 + 0x57) + 1);
    TD_EXPECT_EQ(out_len, len - (4 + 0x57) + 1);
    TD_EXPECT_EQ(td_msg_parse_handshake(out, out_len, &k_ctx32, p, NULL), TD_OK);
    size_t parsed_prefix = 0;
    TD_EXPECT_EQ(td_msg_ch_binder_prefix_len(p, out, &parsed_prefix), TD_OK);
    TD_EXPECT_EQ(parsed_prefix, prefix); /* agrees with the builder */
    TD_EXPECT_EQ(p->u.ch.ext.num_psk_modes, 2);
    TD_EXPECT(td_exts_find_const(&p->u.ch.exts, TD_EXT_PADDING) == NULL);
    TD_EXPECT_EQ(td_exts_index(&p->u.ch.exts, TD_EXT_PRE_SHARED_KEY), (int)p->u.ch.exts.num - 1);
    free(out);
out:
    free(m);
    free(p);
}

/* Every proper prefix of an RFC 8448 message fails cleanly with a decode
 * error and a rule, except where the prefix is itself a valid (pre-TLS 1.3)
 * hello that ends after the compression method(s). */
static void test_rfc8448_truncations(void)
{
    td_msg *m = calloc(1, sizeof(*m));
    size_t tried = 0;
    for (size_t i = 0; i < td_vec_tsv.num_rows && m != NULL; i++) {
        const vec_row *row = &td_vec_tsv.rows[i];
        if (!is_msg_name(row->name))
            continue;
        const uint8_t *in;
        size_t len;
        msg_bytes(row, &in, &len);
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *buf = malloc(cut ? cut : 1);
            if (buf == NULL)
                break;
            memcpy(buf, in, cut);
            td_diag diag;
            td_diag_clear(&diag);
            /* whole-message parser: header length no longer matches */
            td_err err = td_msg_parse_handshake(buf, cut, &k_ctx32, m, &diag);
            TD_EXPECT_EQ(err, TD_ERR_DECODE);
            TD_EXPECT_EQ(diag.rule, TD_RULE_GEN_DECODE);
            /* body parser on a truncated body */
            if (cut >= 4) {
                size_t blen = cut - 4;
                bool hello_end = false;
                if (in[0] == TD_MSG_CLIENT_HELLO) {
                    size_t sid = in[4 + 34],
                           suites = (size_t)in[4 + 35 + sid] << 8 | in[4 + 36 + sid];
                    size_t comp_at = 35 + sid + 2 + suites;
                    hello_end = blen == comp_at + 1 + in[4 + comp_at];
                } else if (in[0] == TD_MSG_SERVER_HELLO) {
                    hello_end = blen == 35 + (size_t)in[4 + 34] + 3;
                }
                td_diag_clear(&diag);
                err = td_msg_parse(in[0], buf + 4, blen, &k_ctx32, m, &diag);
                if (hello_end) {
                    TD_EXPECT_EQ(err, TD_OK);
                    TD_EXPECT(!(in[0] == TD_MSG_CLIENT_HELLO ? m->u.ch.has_extensions
                                                             : m->u.sh.has_extensions));
                } else {
                    TD_EXPECT_EQ(err, TD_ERR_DECODE);
                    TD_EXPECT(diag.rule == TD_RULE_GEN_DECODE ||
                              diag.rule == TD_RULE_CH_TRAILING_DATA);
                    TD_EXPECT(diag.offset <= blen);
                }
            }
            free(buf);
            tried++;
        }
    }
    TD_EXPECT(tried > 5000);
    free(m);
}

/* ---- (d) mutation loop ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static void test_mutation_loop(void)
{
    const vec_row *msgs[64];
    size_t num = 0;
    for (size_t i = 0; i < td_vec_tsv.num_rows && num < 64; i++)
        if (is_msg_name(td_vec_tsv.rows[i].name))
            msgs[num++] = &td_vec_tsv.rows[i];
    TD_REQUIRE(num > 0);
    td_msg *m = calloc(1, sizeof(*m));
    TD_REQUIRE(m != NULL);
    uint64_t seed = 0x7d1f5eedULL;
    size_t ok = 0, bad = 0, rebuilt = 0;
    for (int iter = 0; iter < 4000; iter++) {
        const uint8_t *in;
        size_t len;
        msg_bytes(msgs[rng_next(&seed) % num], &in, &len);
        uint8_t *buf = malloc(len + 16);
        if (buf == NULL)
            break;
        memcpy(buf, in, len);
        int nmut = 1 + (int)(rng_next(&seed) % 4);
        for (int k = 0; k < nmut && len > 0; k++) {
            size_t pos = rng_next(&seed) % len;
            switch (rng_next(&seed) % 5) {
            case 0: buf[pos] ^= (uint8_t)(1u << (rng_next(&seed) % 8)); break;
            case 1: buf[pos] = (uint8_t)rng_next(&seed); break;
            case 2: len = pos; break; /* truncate */
            case 3:                   /* insert (at most 4 mutations, 16 bytes of slack) */
                memmove(buf + pos + 1, buf + pos, len - pos);
                buf[pos] = (uint8_t)rng_next(&seed);
                len++;
                break;
            default: /* delete */
                memmove(buf + pos, buf + pos + 1, len - pos - 1);
                len--;
                break;
            }
        }
        /* exact-size copy so ASan sees any overread */
        uint8_t *exact = malloc(len ? len : 1);
        if (exact == NULL) {
            free(buf);
            break;
        }
        memcpy(exact, buf, len);
        free(buf);
        td_diag diag;
        td_diag_clear(&diag);
        td_err err = td_msg_parse_handshake(exact, len, &k_ctx32, m, &diag);
        if (err == TD_OK) {
            ok++;
            size_t out_len = 0;
            uint8_t *out = build_msg(m, &out_len);
            TD_EXPECT(out != NULL);
            if (out != NULL && out_len == len && memcmp(out, exact, len) == 0)
                rebuilt++;
            else
                TD_EXPECT_MEM(out, out_len, exact, len);
            free(out);
        } else {
            bad++;
            TD_EXPECT_EQ(diag.err, err);
            TD_EXPECT(diag.rule != TD_RULE_NONE || err == TD_ERR_LIMIT);
            TD_EXPECT(diag.offset <= len);
            TD_EXPECT(diag.text[0] != '\0');
        }
        if (len >= 4) {
            td_diag_clear(&diag);
            err = td_msg_parse(exact[0], exact + 4, len - 4, &k_ctx32, m, &diag);
            TD_EXPECT(err == TD_OK ||
                      (diag.err == err && (diag.rule != TD_RULE_NONE || err == TD_ERR_LIMIT)));
            /* a ServerHello body read both ways, whatever its random says */
            for (int mode = TD_SH_FORCE_SH; mode <= TD_SH_FORCE_HRR; mode++) {
                td_msg_ctx forced = {32, (td_sh_mode)mode};
                td_diag_clear(&diag);
                err = td_msg_parse(TD_MSG_SERVER_HELLO, exact + 4, len - 4, &forced, m, &diag);
                TD_EXPECT(err == TD_OK ||
                          (diag.err == err && (diag.rule != TD_RULE_NONE || err == TD_ERR_LIMIT)));
            }
        }
        free(exact);
    }
    TD_EXPECT(ok > 0);
    TD_EXPECT(bad > 0);
    TD_EXPECT_EQ(rebuilt, ok);
    printf("mutation loop: %zu accepted (all rebuilt identically), %zu rejected\n", ok, bad);
    free(m);
}

int main(void)
{
    if (td_vec_load() != 0) {
        fprintf(stderr, "td_vec_load failed\n");
        return 1;
    }
    TD_RUN(test_rfc8448_all_messages);
    TD_RUN(test_rfc8448_simple_fields);
    TD_RUN(test_rfc8448_resumption_psk);
    TD_RUN(test_rfc8448_hrr);
    TD_RUN(test_rfc8448_client_auth);
    TD_RUN(test_rfc8448_structural_edits);
    TD_RUN(test_rfc8448_truncations);
    TD_RUN(test_mutation_loop);
    td_vec_free();
    return td_test_report("test_msg");
}
