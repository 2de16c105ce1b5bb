/* tests/unit/test_mutate.c -- the mutation operators: each edit, checked by
 * building the message and parsing it back; edits that cannot apply leave
 * the message unchanged and say TD_ERR_ARG; binder XOR on serialised bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_test.h"

#include "tlsdrill/crypto.h"
#include "tlsdrill/mutate.h"

static const uint8_t k_share[32] = {9};
static const uint8_t k_ticket[] = "ticket";
static const uint8_t k_binder[32] = {0};

/* A small ClientHello: two suites, groups, one key share, a PSK last. */
static void make_ch(td_msg *m)
{
    td_msg_init(m, TD_MSG_CLIENT_HELLO, false);
    td_client_hello *ch = &m->u.ch;
    static const uint8_t null_comp[1] = {0};
    td_cbs_init(&ch->legacy_compression_methods, null_comp, 1);
    ch->cipher_suites[0] = 0x1301;
    ch->cipher_suites[1] = 0x1302;
    ch->num_cipher_suites = 2;
    td_ext_data *d = &ch->ext;
    d->groups[0] = TD_GROUP_X25519;
    d->groups[1] = TD_GROUP_SECP256R1;
    d->num_groups = 2;
    d->key_shares[0].group = TD_GROUP_X25519;
    td_cbs_init(&d->key_shares[0].key_exchange, k_share, sizeof(k_share));
    d->num_key_shares = 1;
    d->versions[0] = 0x0304;
    d->num_versions = 1;
    d->psk_modes[0] = 1;
    d->num_psk_modes = 1;
    td_cbs_init(&d->psk_identities[0].identity, k_ticket, 6);
    d->num_psk_identities = 1;
    td_cbs_init(&d->psk_binders[0], k_binder, 32);
    d->num_psk_binders = 1;
    TD_EXPECT(td_exts_add(&ch->exts, TD_EXT_SUPPORTED_VERSIONS, NULL) == TD_OK);
    TD_EXPECT(td_exts_add(&ch->exts, TD_EXT_SUPPORTED_GROUPS, NULL) == TD_OK);
    TD_EXPECT(td_exts_add(&ch->exts, TD_EXT_KEY_SHARE, NULL) == TD_OK);
    TD_EXPECT(td_exts_add(&ch->exts, TD_EXT_PSK_KEY_EXCHANGE_MODES, NULL) == TD_OK);
    TD_EXPECT(td_exts_add(&ch->exts, TD_EXT_PRE_SHARED_KEY, NULL) == TD_OK);
}

/* Builds |m| and parses it back into |out| (views into *bytes, owned). */
static td_err round_trip(const td_msg *m, uint8_t **bytes, size_t *len, td_msg *out, td_diag *diag)
{
    td_cbb cbb;
    td_diag_clear(diag);
    if (!td_cbb_init(&cbb, 256))
        return TD_ERR_NOMEM;
    td_err err = td_msg_build(m, &cbb);
    if (err != TD_OK || !td_cbb_finish(&cbb, bytes, len)) {
        td_cbb_cleanup(&cbb);
        return err != TD_OK ? err : TD_ERR_NOMEM;
    }
    return td_msg_parse_handshake(*bytes, *len, NULL, out, diag);
}

static void test_baseline(void)
{
    td_msg m, back;
    td_diag diag;
    uint8_t *b = NULL;
    size_t n = 0;
    make_ch(&m);
    TD_EXPECT(round_trip(&m, &b, &n, &back, &diag) == TD_OK);
    TD_EXPECT_EQ(back.u.ch.exts.num, 5);
    TD_EXPECT_EQ(back.u.ch.ext.num_psk_binders, 1);
    free(b);
}

static void test_ext_ops(void)
{
    td_msg m, back;
    td_diag diag;
    uint8_t *b = NULL;
    size_t n = 0;
    static const uint8_t raw[] = {1, 2, 3};

    make_ch(&m);
    TD_EXPECT(td_mut_ext_remove(&m, TD_EXT_KEY_SHARE) == TD_OK);
    TD_EXPECT(td_mut_ext_remove(&m, TD_EXT_KEY_SHARE) == TD_ERR_ARG); /* gone */
    TD_EXPECT(td_mut_ext_add_raw(&m, 0xfafa, raw, 3, 0) == TD_OK);
    TD_EXPECT(round_trip(&m, &b, &n, &back, &diag) == TD_OK);
    TD_EXPECT_EQ(back.u.ch.exts.num, 5);
    TD_EXPECT_EQ(back.u.ch.exts.list[0].type, 0xfafa);
    TD_EXPECT_MEM(td_cbs_data(&back.u.ch.exts.list[0].body),
                  td_cbs_len(&back.u.ch.exts.list[0].body), raw, 3);
    TD_EXPECT(td_exts_index(&back.u.ch.exts, TD_EXT_KEY_SHARE) < 0);
    free(b);

    /* duplicate: the parser reports EXT-DUPLICATE */
    make_ch(&m);
    TD_EXPECT(td_mut_ext_duplicate(&m, TD_EXT_SUPPORTED_GROUPS) == TD_OK);
    TD_EXPECT_EQ(m.u.ch.exts.list[2].type, TD_EXT_SUPPORTED_GROUPS);
    TD_EXPECT(round_trip(&m, &b, &n, &back, &diag) == TD_ERR_DECODE);
    TD_EXPECT_EQ(diag.rule, TD_RULE_EXT_DUPLICATE);
    free(b);

    /* move pre_shared_key first: PSK-NOT-LAST */
    make_ch(&m);
    TD_EXPECT(td_mut_ext_move(&m, TD_EXT_PRE_SHARED_KEY, 0) == TD_OK);
    TD_EXPECT_EQ(m.u.ch.exts.list[0].type, TD_EXT_PRE_SHARED_KEY);
    TD_EXPECT(round_trip(&m, &b, &n, &back, &diag) == TD_ERR_ILLEGAL_PARAMETER);
    TD_EXPECT_EQ(diag.rule, TD_RULE_PSK_NOT_LAST);
    free(b);
    TD_EXPECT(td_mut_ext_move(&m, TD_EXT_PRE_SHARED_KEY, -1) == TD_OK);
    TD_EXPECT_EQ(m.u.ch.exts.list[4].type, TD_EXT_PRE_SHARED_KEY);
    TD_EXPECT(td_mut_ext_move(&m, TD_EXT_COOKIE, 0) == TD_ERR_ARG);
    TD_EXPECT(td_mut_ext_move(&m, TD_EXT_KEY_SHARE, 5) == TD_ERR_ARG);

    /* reverse twice is the identity */
    make_ch(&m);
    TD_EXPECT(td_mut_ext_reverse(&m) == TD_OK);
    TD_EXPECT_EQ(m.u.ch.exts.list[0].type, TD_EXT_PRE_SHARED_KEY);
    TD_EXPECT_EQ(m.u.ch.exts.list[4].type, TD_EXT_SUPPORTED_VERSIONS);
    TD_EXPECT(td_mut_ext_reverse(&m) == TD_OK);
    TD_EXPECT_EQ(m.u.ch.exts.list[0].type, TD_EXT_SUPPORTED_VERSIONS);

    /* raw body replaces the typed form; typed add of an extension with a form */
    make_ch(&m);
    static const uint8_t groups_raw[] = {0, 2, 0x00, 0x18};
    TD_EXPECT(td_mut_ext_set_raw(&m, TD_EXT_SUPPORTED_GROUPS, groups_raw, 4) == TD_OK);
    TD_EXPECT(td_mut_ext_add_typed(&m, TD_EXT_EARLY_DATA) == TD_OK);
    TD_EXPECT(td_mut_ext_add_typed(&m, 0xfafa) == TD_ERR_ARG);
    TD_EXPECT(td_mut_ext_move(&m, TD_EXT_PRE_SHARED_KEY, -1) == TD_OK);
    TD_EXPECT(round_trip(&m, &b, &n, &back, &diag) == TD_OK);
    TD_EXPECT_EQ(back.u.ch.ext.num_groups, 1);
    TD_EXPECT_EQ(back.u.ch.ext.groups[0], TD_GROUP_SECP384R1);
    TD_EXPECT(td_exts_index(&back.u.ch.exts, TD_EXT_EARLY_DATA) >= 0);
    free(b);
    /* no extension block: nothing to edit */
    td_msg fin;
    td_msg_init(&fin, TD_MSG_FINISHED, false);
    TD_EXPECT(td_mut_ext_remove(&fin, TD_EXT_KEY_SHARE) == TD_ERR_ARG);
    TD_EXPECT(td_mut_ext_reverse(&fin) == TD_ERR_ARG);
}

static void test_list_ops(void)
{
    td_msg m, back;
    td_diag diag;
    uint8_t *b = NULL;
    size_t n = 0;
    make_ch(&m);
    TD_EXPECT(td_mut_list_edit(&m, TD_MUT_LIST_CIPHER_SUITES, TD_MUT_OP_PREPEND, 0xfafa) == TD_OK);
    TD_EXPECT(td_mut_list_edit(&m, TD_MUT_LIST_CIPHER_SUITES, TD_MUT_OP_REMOVE, 0x1301) == TD_OK);
    TD_EXPECT(td_mut_list_edit(&m, TD_MUT_LIST_CIPHER_SUITES, TD_MUT_OP_REMOVE, 0x1301) ==
              TD_ERR_ARG);
    TD_EXPECT(td_mut_list_edit(&m, TD_MUT_LIST_GROUPS, TD_MUT_OP_REMOVE, TD_GROUP_X25519) == TD_OK);
    TD_EXPECT(td_mut_list_edit(&m, TD_MUT_LIST_GROUPS, TD_MUT_OP_ADD, 0x0100) == TD_OK);
    TD_EXPECT(td_mut_list_edit(&m, TD_MUT_LIST_VERSIONS, TD_MUT_OP_PREPEND, 0x7f1c) == TD_OK);
    TD_EXPECT(td_mut_list_edit(&m, TD_MUT_LIST_PSK_MODES, TD_MUT_OP_ADD, 0) == TD_OK);
    TD_EXPECT(td_mut_list_edit(&m, TD_MUT_LIST_KEY_SHARES, TD_MUT_OP_REMOVE, TD_GROUP_X25519) ==
              TD_OK);
    TD_EXPECT(td_mut_key_share_add(&m, TD_GROUP_SECP256R1, k_share, 5) == TD_OK);
    /* signature_algorithms is absent */
    TD_EXPECT(td_mut_list_edit(&m, TD_MUT_LIST_SIGALGS, TD_MUT_OP_ADD, 0x0403) == TD_ERR_ARG);
    TD_EXPECT(round_trip(&m, &b, &n, &back, &diag) == TD_OK);
    const td_client_hello *ch = &back.u.ch;
    TD_EXPECT_EQ(ch->num_cipher_suites, 2);
    TD_EXPECT_EQ(ch->cipher_suites[0], 0xfafa);
    TD_EXPECT_EQ(ch->cipher_suites[1], 0x1302);
    TD_EXPECT_EQ(ch->ext.num_groups, 2);
    TD_EXPECT_EQ(ch->ext.groups[0], TD_GROUP_SECP256R1);
    TD_EXPECT_EQ(ch->ext.groups[1], 0x0100);
    TD_EXPECT_EQ(ch->ext.num_versions, 2);
    TD_EXPECT_EQ(ch->ext.versions[0], 0x7f1c);
    TD_EXPECT_EQ(ch->ext.num_psk_modes, 2);
    TD_EXPECT_EQ(ch->ext.num_key_shares, 1);
    TD_EXPECT_EQ(ch->ext.key_shares[0].group, TD_GROUP_SECP256R1);
    TD_EXPECT_EQ(td_cbs_len(&ch->ext.key_shares[0].key_exchange), 5);
    free(b);
    /* clear: an empty supported_versions does not parse */
    TD_EXPECT(td_mut_list_edit(&m, TD_MUT_LIST_VERSIONS, TD_MUT_OP_CLEAR, 0) == TD_OK);
    TD_EXPECT(round_trip(&m, &b, &n, &back, &diag) == TD_ERR_DECODE);
    free(b);
}

static void test_fields(void)
{
    td_msg m, back;
    td_diag diag;
    uint8_t *b = NULL;
    size_t n = 0;
    static const uint8_t sid[3] = {1, 2, 3}, comp[2] = {1, 0}, rnd[32] = {7};
    make_ch(&m);
    TD_EXPECT(td_mut_set_field(&m, TD_MUT_FIELD_LEGACY_VERSION, 0x0301, NULL, 0) == TD_OK);
    TD_EXPECT(td_mut_set_field(&m, TD_MUT_FIELD_SESSION_ID, 0, sid, 3) == TD_OK);
    TD_EXPECT(td_mut_set_field(&m, TD_MUT_FIELD_COMPRESSION, 0, comp, 2) == TD_OK);
    TD_EXPECT(td_mut_set_field(&m, TD_MUT_FIELD_RANDOM, 0, rnd, 32) == TD_OK);
    TD_EXPECT(td_mut_set_field(&m, TD_MUT_FIELD_RANDOM, 0, rnd, 31) == TD_ERR_ARG);
    TD_EXPECT(td_mut_set_field(&m, TD_MUT_FIELD_CIPHER_SUITE, 0x1301, NULL, 0) == TD_ERR_ARG);
    TD_EXPECT(td_mut_set_field(&m, TD_MUT_FIELD_COOKIE, 0, sid, 3) ==
              TD_ERR_ARG); /* no cookie ext */
    /* The parser checks the compression method (CH-COMPRESSION is the state machine's). */
    TD_EXPECT(round_trip(&m, &b, &n, &back, &diag) == TD_OK);
    TD_EXPECT_EQ(back.u.ch.legacy_version, 0x0301);
    TD_EXPECT_MEM(td_cbs_data(&back.u.ch.legacy_session_id),
                  td_cbs_len(&back.u.ch.legacy_session_id), sid, 3);
    TD_EXPECT_MEM(back.u.ch.random, 32, rnd, 32);
    free(b);

    td_msg sh;
    td_msg_init(&sh, TD_MSG_SERVER_HELLO, true);
    sh.u.sh.cipher_suite = 0x1301;
    sh.u.sh.ext.selected_version = 0x0304;
    sh.u.sh.ext.hrr_selected_group = TD_GROUP_SECP256R1;
    TD_EXPECT(td_exts_add(&sh.u.sh.exts, TD_EXT_SUPPORTED_VERSIONS, NULL) == TD_OK);
    TD_EXPECT(td_exts_add(&sh.u.sh.exts, TD_EXT_KEY_SHARE, NULL) == TD_OK);
    TD_EXPECT(td_mut_set_field(&sh, TD_MUT_FIELD_CIPHER_SUITE, 0x1303, NULL, 0) == TD_OK);
    TD_EXPECT(td_mut_set_field(&sh, TD_MUT_FIELD_SELECTED_GROUP, TD_GROUP_X25519, NULL, 0) ==
              TD_OK);
    TD_EXPECT(td_mut_set_field(&sh, TD_MUT_FIELD_SELECTED_VERSION, 0x0303, NULL, 0) == TD_OK);
    TD_EXPECT(td_mut_set_field(&sh, TD_MUT_FIELD_SELECTED_IDENTITY, 1, NULL, 0) == TD_ERR_ARG);
    TD_EXPECT(round_trip(&sh, &b, &n, &back, &diag) == TD_OK);
    TD_EXPECT(back.u.sh.is_hrr);
    TD_EXPECT_EQ(back.u.sh.cipher_suite, 0x1303);
    TD_EXPECT_EQ(back.u.sh.ext.hrr_selected_group, TD_GROUP_X25519);
    TD_EXPECT_EQ(back.u.sh.ext.selected_version, 0x0303);
    free(b);
    /* The HRR parser checks legacy_compression_method itself (§4.1.4). */
    TD_EXPECT(td_mut_set_field(&sh, TD_MUT_FIELD_COMPRESSION, 1, NULL, 0) == TD_OK);
    TD_EXPECT(round_trip(&sh, &b, &n, &back, &diag) == TD_ERR_ILLEGAL_PARAMETER);
    free(b);
}

static void test_auth_fields(void)
{
    td_msg m, back;
    td_diag diag;
    uint8_t *b = NULL;
    size_t n = 0;
    static const uint8_t ctx[2] = {1, 2}, sig[3] = {4, 5, 6}, vd[32] = {9};
    td_msg_init(&m, TD_MSG_CERTIFICATE_REQUEST, false);
    m.u.cr.ext.sigalgs[0] = 0x0403;
    m.u.cr.ext.num_sigalgs = 1;
    TD_EXPECT(td_exts_add(&m.u.cr.exts, TD_EXT_SIGNATURE_ALGORITHMS, NULL) == TD_OK);
    TD_EXPECT(td_mut_set_field(&m, TD_MUT_FIELD_CONTEXT, 0, ctx, 2) == TD_OK);
    TD_EXPECT(round_trip(&m, &b, &n, &back, &diag) == TD_OK);
    TD_EXPECT_MEM(td_cbs_data(&back.u.cr.context), td_cbs_len(&back.u.cr.context), ctx, 2);
    free(b);
    td_msg_init(&m, TD_MSG_CERTIFICATE_VERIFY, false);
    TD_EXPECT(td_mut_set_field(&m, TD_MUT_FIELD_CV_ALGORITHM, 0x0807, NULL, 0) == TD_OK);
    TD_EXPECT(td_mut_set_field(&m, TD_MUT_FIELD_CV_SIGNATURE, 0, sig, 3) == TD_OK);
    TD_EXPECT(td_mut_set_field(&m, TD_MUT_FIELD_VERIFY_DATA, 0, vd, 32) == TD_ERR_ARG);
    TD_EXPECT(round_trip(&m, &b, &n, &back, &diag) == TD_OK);
    TD_EXPECT_EQ(back.u.cv.algorithm, 0x0807);
    TD_EXPECT_MEM(td_cbs_data(&back.u.cv.signature), td_cbs_len(&back.u.cv.signature), sig, 3);
    free(b);
    td_msg_init(&m, TD_MSG_FINISHED, false);
    TD_EXPECT(td_mut_set_field(&m, TD_MUT_FIELD_VERIFY_DATA, 0, vd, 32) == TD_OK);
    TD_EXPECT(td_mut_set_field(&m, TD_MUT_FIELD_CONTEXT, 0, ctx, 2) == TD_ERR_ARG);
    td_cbb cbb;
    TD_REQUIRE(td_cbb_init(&cbb, 64));
    TD_EXPECT(td_msg_build(&m, &cbb) == TD_OK);
    TD_EXPECT(td_cbb_finish(&cbb, &b, &n));
    TD_EXPECT_EQ(n, 36);
    TD_EXPECT_MEM(b + 4, 32, vd, 32);
    free(b);
}

static void test_psk_ops(void)
{
    td_msg m, back;
    td_diag diag;
    uint8_t *b = NULL;
    size_t n = 0;
    static const uint8_t other[] = "other";
    make_ch(&m);
    TD_EXPECT(td_mut_psk_identity_add(&m, other, 5, 1234) == TD_OK);
    TD_EXPECT(td_mut_psk_binder_add(&m, 48) == TD_OK);
    TD_EXPECT(td_mut_psk_binder_length(&m, 0, 33) == TD_OK);
    TD_EXPECT(td_mut_psk_binder_length(&m, 2, 33) == TD_ERR_ARG);
    TD_EXPECT(td_mut_psk_binder_length(&m, 0, 256) == TD_ERR_ARG);
    TD_EXPECT(td_mut_psk_identity_age(&m, 0, 77) == TD_OK);
    TD_EXPECT(td_mut_psk_identity_set(&m, 0, other, 3) == TD_OK);
    TD_EXPECT(td_mut_psk_identity_age(&m, 2, 1) == TD_ERR_ARG);
    TD_EXPECT(round_trip(&m, &b, &n, &back, &diag) == TD_OK);
    const td_ext_data *d = &back.u.ch.ext;
    TD_EXPECT_EQ(d->num_psk_identities, 2);
    TD_EXPECT_EQ(d->num_psk_binders, 2);
    TD_EXPECT_EQ(td_cbs_len(&d->psk_binders[0]), 33);
    TD_EXPECT_EQ(td_cbs_len(&d->psk_binders[1]), 48);
    TD_EXPECT_EQ(d->psk_identities[0].obfuscated_ticket_age, 77);
    TD_EXPECT_MEM(td_cbs_data(&d->psk_identities[0].identity),
                  td_cbs_len(&d->psk_identities[0].identity), "oth", 3);
    TD_EXPECT_EQ(d->psk_identities[1].obfuscated_ticket_age, 1234);
    free(b);
    /* fewer binders than identities: PSK-BINDER-COUNT from the codec */
    TD_EXPECT(td_mut_psk_binder_remove(&m, 1) == TD_OK);
    TD_EXPECT(round_trip(&m, &b, &n, &back, &diag) == TD_ERR_ILLEGAL_PARAMETER);
    TD_EXPECT_EQ(diag.rule, TD_RULE_PSK_BINDER_COUNT);
    free(b);
    td_msg sh;
    td_msg_init(&sh, TD_MSG_SERVER_HELLO, false);
    TD_EXPECT(td_mut_psk_binder_add(&sh, 32) == TD_ERR_ARG);
    TD_EXPECT(td_mut_psk_identity_insert(&sh, 0, other, 5, 0) == TD_ERR_ARG);
}

/* An identity inserted before the first: it takes the first binder, and the
 * identity that had it is left without one. */
static void test_psk_identity_insert(void)
{
    td_msg m, back;
    td_diag diag;
    uint8_t *b = NULL;
    size_t n = 0;
    static const uint8_t first[] = "abcde", last[] = "zz";
    make_ch(&m);
    const td_ext_data *d0 = &m.u.ch.ext;
    TD_REQUIRE(d0->num_psk_identities == 1);
    uint8_t orig[64];
    size_t orig_len = td_cbs_len(&d0->psk_identities[0].identity);
    TD_REQUIRE(orig_len <= sizeof(orig));
    memcpy(orig, td_cbs_data(&d0->psk_identities[0].identity), orig_len);
    uint32_t orig_age = d0->psk_identities[0].obfuscated_ticket_age;
    TD_EXPECT(td_mut_psk_identity_insert(&m, 2, first, 5, 0) == TD_ERR_ARG);
    TD_EXPECT(td_mut_psk_identity_insert(&m, 0, first, 5, 99) == TD_OK);
    TD_EXPECT(td_mut_psk_identity_insert(&m, 2, last, 2, 7) == TD_OK); /* == count: appends */
    /* Three identities, one binder: the codec refuses the count. */
    TD_EXPECT(round_trip(&m, &b, &n, &back, &diag) == TD_ERR_ILLEGAL_PARAMETER);
    free(b);
    b = NULL;
    TD_EXPECT(td_mut_psk_binder_add(&m, 32) == TD_OK);
    TD_EXPECT(td_mut_psk_binder_add(&m, 32) == TD_OK);
    TD_EXPECT(round_trip(&m, &b, &n, &back, &diag) == TD_OK);
    const td_ext_data *d = &back.u.ch.ext;
    TD_REQUIRE(d->num_psk_identities == 3);
    TD_EXPECT_MEM(td_cbs_data(&d->psk_identities[0].identity),
                  td_cbs_len(&d->psk_identities[0].identity), "abcde", 5);
    TD_EXPECT_EQ(d->psk_identities[0].obfuscated_ticket_age, 99);
    TD_EXPECT_MEM(td_cbs_data(&d->psk_identities[1].identity),
                  td_cbs_len(&d->psk_identities[1].identity), orig, orig_len);
    TD_EXPECT_EQ(d->psk_identities[1].obfuscated_ticket_age, orig_age);
    TD_EXPECT_MEM(td_cbs_data(&d->psk_identities[2].identity),
                  td_cbs_len(&d->psk_identities[2].identity), "zz", 2);
    TD_EXPECT_EQ(d->psk_identities[2].obfuscated_ticket_age, 7);
    free(b);
}

static void test_binder_xor(void)
{
    td_msg m, back;
    td_diag diag;
    uint8_t *b = NULL;
    size_t n = 0;
    make_ch(&m);
    TD_REQUIRE(round_trip(&m, &b, &n, &back, &diag) == TD_OK);
    static const uint8_t x[3] = {0x01, 0x80, 0xff};
    TD_EXPECT(td_mut_ch_binder_xor(b, n, 0, x, 3) == TD_OK);
    /* The binder is the last 32 bytes. */
    TD_EXPECT_EQ(b[n - 32], 0x01);
    TD_EXPECT_EQ(b[n - 31], 0x80);
    TD_EXPECT_EQ(b[n - 30], 0xff);
    TD_EXPECT_EQ(b[n - 29], 0x00);
    TD_EXPECT(td_mut_ch_binder_xor(b, n, 1, x, 3) == TD_ERR_ARG);
    TD_EXPECT(td_mut_ch_binder_xor(b, n - 1, 0, x, 3) == TD_ERR_ARG);
    free(b);
}

int main(void)
{
    TD_RUN(test_baseline);
    TD_RUN(test_ext_ops);
    TD_RUN(test_list_ops);
    TD_RUN(test_fields);
    TD_RUN(test_auth_fields);
    TD_RUN(test_psk_ops);
    TD_RUN(test_psk_identity_insert);
    TD_RUN(test_binder_xor);
    return td_test_report("mutate");
}
