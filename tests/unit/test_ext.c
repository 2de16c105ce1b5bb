/* tests/unit/test_ext.c -- handshake message codec, the half that needs no
 * vectors (engine/ext.c, ext_body.c, msg.c, msg_build.c):
 * (b) round trips of messages built from scratch: every message type and
 *     every typed extension form, checked field by field;
 * the §4.2 table, names, block editing, td_msg_next.
 * Malformed inputs and caps are in test_msg_malformed.c. */
#include "td_test.h"
#include "td_msg_test.h"

/* Builds |m|, parses the bytes into |out| (views into the returned buffer,
 * which the caller frees), and checks that |out| rebuilds identically both
 * from the raw extension bodies and from the typed views. */
static uint8_t *roundtrip(const td_msg *m, size_t hash_len, td_msg *out, size_t *out_len)
{
    td_msg_ctx ctx = {hash_len, TD_SH_AUTO};
    size_t len = 0, len2 = 0;
    uint8_t *bytes = build_msg(m, &len);
    TD_EXPECT(bytes != NULL);
    if (bytes == NULL)
        return NULL;
    td_diag diag;
    td_diag_clear(&diag);
    td_err err = td_msg_parse_handshake(bytes, len, &ctx, out, &diag);
    if (err != TD_OK)
        fprintf(stderr, "  %s: %s at %zu: %s\n", td_msg_type_name(m->type), td_err_name(err),
                diag.offset, diag.text);
    TD_EXPECT_EQ(err, TD_OK);
    uint8_t *again = build_msg(out, &len2);
    TD_EXPECT_MEM(again, len2, bytes, len);
    free(again);
    td_exts *exts = td_msg_exts(out, NULL);
    if (exts != NULL) {
        td_exts_mark_typed(exts);
        again = build_msg(out, &len2);
        TD_EXPECT_MEM(again, len2, bytes, len);
        free(again);
    }
    *out_len = len;
    return bytes;
}

static const uint8_t k_share32[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                      12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                      23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t k_binder[32] = {
    0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf};
static const uint8_t k_binder48[48] = {0x48};

static td_ext *add_ext(td_msg *m, uint16_t type)
{
    td_ext *ext = NULL;
    td_exts *exts = td_msg_exts(m, NULL);
    TD_EXPECT(exts != NULL && td_exts_add(exts, type, &ext) == TD_OK);
    return ext;
}

static void test_build_client_hello(void)
{
    td_msg *m = calloc(1, sizeof(*m)), *p = calloc(1, sizeof(*p));
    TD_REQUIRE(m != NULL && p != NULL);
    td_msg_init(m, TD_MSG_CLIENT_HELLO, false);
    td_client_hello *ch = &m->u.ch;
    memset(ch->random, 0x5a, sizeof(ch->random));
    ch->legacy_session_id = STR("0123456789abcdef0123456789abcdef");
    ch->num_cipher_suites = 3;
    ch->cipher_suites[0] = 0x1301;
    ch->cipher_suites[1] = 0x1302;
    ch->cipher_suites[2] = 0x1303;
    ch->legacy_compression_methods = STR("\0");
    td_ext_data *d = &ch->ext;
    add_ext(m, TD_EXT_SERVER_NAME);
    d->num_server_names = 1;
    d->server_names[0].name = STR("example.com");
    add_ext(m, TD_EXT_MAX_FRAGMENT_LENGTH);
    d->max_fragment_length = 2;
    add_ext(m, TD_EXT_STATUS_REQUEST);
    d->status_request.status_type = 1;
    d->status_request.num_responder_ids = 2;
    d->status_request.responder_ids[0] = STR("r1");
    d->status_request.responder_ids[1] = STR("r22");
    d->status_request.request_extensions = STR("xyz");
    add_ext(m, TD_EXT_SUPPORTED_GROUPS);
    d->num_groups = 3;
    d->groups[0] = 0x001d, d->groups[1] = 0x0017, d->groups[2] = 0x0100;
    add_ext(m, TD_EXT_SIGNATURE_ALGORITHMS);
    d->num_sigalgs = 2;
    d->sigalgs[0] = 0x0804, d->sigalgs[1] = 0x0403;
    add_ext(m, TD_EXT_SIGNATURE_ALGORITHMS_CERT);
    d->num_sigalgs_cert = 1;
    d->sigalgs_cert[0] = 0x0807;
    add_ext(m, TD_EXT_ALPN);
    d->num_alpn = 2;
    d->alpn[0] = STR("h2"), d->alpn[1] = STR("http/1.1");
    add_ext(m, TD_EXT_SCT);
    add_ext(m, TD_EXT_RECORD_SIZE_LIMIT);
    d->record_size_limit = 16385;
    add_ext(m, TD_EXT_SUPPORTED_VERSIONS);
    d->num_versions = 2;
    d->versions[0] = 0x0304, d->versions[1] = 0x0303;
    add_ext(m, TD_EXT_COOKIE);
    d->cookie = STR("cookie!");
    add_ext(m, TD_EXT_PSK_KEY_EXCHANGE_MODES);
    d->num_psk_modes = 2;
    d->psk_modes[0] = 1, d->psk_modes[1] = 0;
    add_ext(m, TD_EXT_CERTIFICATE_AUTHORITIES);
    d->num_cert_authorities = 2;
    d->cert_authorities[0] = STR("CN=a"), d->cert_authorities[1] = STR("CN=bb");
    add_ext(m, TD_EXT_POST_HANDSHAKE_AUTH);
    add_ext(m, TD_EXT_KEY_SHARE);
    d->num_key_shares = 2;
    d->key_shares[0].group = 0x001d;
    d->key_shares[0].key_exchange = view(k_share32, 32);
    d->key_shares[1].group = 0x0017;
    d->key_shares[1].key_exchange =
        STR("\x04"
            "0123456789012345678901234567890123456789012345678901234567890123");
    add_ext(m, TD_EXT_RENEGOTIATION_INFO);
    add_ext(m, TD_EXT_EARLY_DATA);
    TD_EXPECT_EQ(
        td_exts_insert_raw(&ch->exts, ch->exts.num, TD_EXT_EC_POINT_FORMATS, STR("\x01\x00")),
        TD_OK);
    TD_EXPECT_EQ(td_exts_insert_raw(&ch->exts, ch->exts.num, 0x1a1a, STR("grease")),
                 TD_OK); /* unknown */
    add_ext(m, TD_EXT_PADDING);
    d->padding_len = 17;
    add_ext(m, TD_EXT_PRE_SHARED_KEY);
    d->num_psk_identities = 2;
    d->psk_identities[0].identity = STR("ticket-one");
    d->psk_identities[0].obfuscated_ticket_age = 0x01020304;
    d->psk_identities[1].identity = STR("external");
    d->psk_identities[1].obfuscated_ticket_age = 0;
    d->num_psk_binders = 2;
    d->psk_binders[0] = view(k_binder, 32);
    d->psk_binders[1] = view(k_binder48, 48);

    size_t len = 0;
    uint8_t *bytes = roundtrip(m, 32, p, &len);
    TD_REQUIRE(bytes != NULL);
    const td_client_hello *c = &p->u.ch;
    const td_ext_data *e = &c->ext;
    TD_EXPECT_EQ(c->exts.num, ch->exts.num);
    for (size_t i = 0; i < c->exts.num; i++)
        TD_EXPECT_EQ(c->exts.list[i].type, ch->exts.list[i].type);
    TD_EXPECT(cbs_eq(c->legacy_session_id, ch->legacy_session_id));
    TD_EXPECT_EQ(c->num_cipher_suites, 3);
    TD_EXPECT_EQ(c->cipher_suites[2], 0x1303);
    TD_EXPECT_EQ(e->num_server_names, 1);
    TD_EXPECT(cbs_eq(e->server_names[0].name, STR("example.com")));
    TD_EXPECT_EQ(e->max_fragment_length, 2);
    TD_EXPECT_EQ(e->status_request.status_type, 1);
    TD_EXPECT_EQ(e->status_request.num_responder_ids, 2);
    TD_EXPECT(cbs_eq(e->status_request.responder_ids[1], STR("r22")));
    TD_EXPECT(cbs_eq(e->status_request.request_extensions, STR("xyz")));
    TD_EXPECT_EQ(e->num_groups, 3);
    TD_EXPECT_EQ(e->groups[2], 0x0100);
    TD_EXPECT_EQ(e->num_sigalgs, 2);
    TD_EXPECT_EQ(e->sigalgs[1], 0x0403);
    TD_EXPECT_EQ(e->num_sigalgs_cert, 1);
    TD_EXPECT_EQ(e->sigalgs_cert[0], 0x0807);
    TD_EXPECT_EQ(e->num_alpn, 2);
    TD_EXPECT(cbs_eq(e->alpn[1], STR("http/1.1")));
    TD_EXPECT_EQ(e->record_size_limit, 16385);
    TD_EXPECT_EQ(e->num_versions, 2);
    TD_EXPECT_EQ(e->versions[1], 0x0303);
    TD_EXPECT(cbs_eq(e->cookie, STR("cookie!")));
    TD_EXPECT_EQ(e->num_psk_modes, 2);
    TD_EXPECT_EQ(e->psk_modes[1], 0);
    TD_EXPECT_EQ(e->num_cert_authorities, 2);
    TD_EXPECT(cbs_eq(e->cert_authorities[1], STR("CN=bb")));
    TD_EXPECT_EQ(e->num_key_shares, 2);
    TD_EXPECT_EQ(e->key_shares[1].group, 0x0017);
    TD_EXPECT_EQ(td_cbs_len(&e->key_shares[1].key_exchange), 65);
    TD_EXPECT(cbs_eq(e->key_shares[0].key_exchange, view(k_share32, 32)));
    TD_EXPECT_EQ(td_cbs_len(&e->renegotiated_connection), 0);
    TD_EXPECT_EQ(e->padding_len, 17);
    TD_EXPECT_EQ(e->num_psk_identities, 2);
    TD_EXPECT(cbs_eq(e->psk_identities[1].identity, STR("external")));
    TD_EXPECT_EQ(e->psk_identities[0].obfuscated_ticket_age, 0x01020304);
    TD_EXPECT_EQ(e->num_psk_binders, 2);
    TD_EXPECT(cbs_eq(e->psk_binders[1], view(k_binder48, 48)));
    const td_ext *grease = td_exts_find_const(&c->exts, 0x1a1a);
    TD_EXPECT(grease != NULL && cbs_eq(grease->body, STR("grease")));

    /* Truncated ClientHello: everything before the binders list. */
    td_cbb cbb;
    uint8_t *out = NULL;
    size_t out_len = 0, prefix = 0;
    TD_REQUIRE(td_cbb_init(&cbb, 0));
    TD_EXPECT_EQ(td_msg_build_ch_truncated(m, &cbb, &prefix), TD_OK);
    TD_REQUIRE(td_cbb_finish(&cbb, &out, &out_len));
    TD_EXPECT_MEM(out, out_len, bytes, len);
    TD_EXPECT_EQ(prefix, len - (2 + 33 + 49));
    TD_EXPECT(prefix < len && bytes[prefix] == 0 && bytes[prefix + 1] == 33 + 49);
    free(out);
    /* ... and the same when the PSK extension is built from raw bytes. */
    TD_REQUIRE(td_cbb_init(&cbb, 0));
    TD_EXPECT_EQ(td_msg_build_ch_truncated(p, &cbb, &out_len), TD_OK);
    td_cbb_cleanup(&cbb);
    TD_EXPECT_EQ(out_len, prefix);

    /* A ClientHello without a PSK has no truncated form. */
    TD_EXPECT_EQ(td_exts_remove(&ch->exts, ch->exts.num - 1), TD_OK);
    TD_REQUIRE(td_cbb_init(&cbb, 0));
    TD_EXPECT_EQ(td_msg_build_ch_truncated(m, &cbb, &out_len), TD_ERR_ARG);
    td_cbb_cleanup(&cbb);
    free(bytes);

    /* A pre-TLS 1.3 ClientHello: no extensions block at all. */
    ch->has_extensions = false;
    bytes = roundtrip(m, 32, p, &len);
    TD_EXPECT(bytes != NULL && !p->u.ch.has_extensions && p->u.ch.exts.num == 0);
    TD_EXPECT_EQ(len, 4 + 2 + 32 + 33 + 8 + 2);
    free(bytes);
    free(m);
    free(p);
}

static void test_build_server_hello_and_hrr(void)
{
    td_msg *m = calloc(1, sizeof(*m)), *p = calloc(1, sizeof(*p));
    TD_REQUIRE(m != NULL && p != NULL);
    size_t len;
    uint8_t *bytes;
    /* ServerHello: supported_versions selected, key_share entry, PSK selected_identity. */
    td_msg_init(m, TD_MSG_SERVER_HELLO, false);
    memset(m->u.sh.random, 0x11, TD_RANDOM_LEN);
    m->u.sh.cipher_suite = 0x1302;
    m->u.sh.legacy_session_id_echo = STR("abc");
    add_ext(m, TD_EXT_SUPPORTED_VERSIONS);
    m->u.sh.ext.selected_version = 0x0304;
    add_ext(m, TD_EXT_KEY_SHARE);
    m->u.sh.ext.server_share.group = 0x001d;
    m->u.sh.ext.server_share.key_exchange = view(k_share32, 32);
    add_ext(m, TD_EXT_PRE_SHARED_KEY);
    m->u.sh.ext.psk_selected_identity = 1;
    bytes = roundtrip(m, 32, p, &len);
    TD_EXPECT(!p->u.sh.is_hrr && !p->u.sh.legacy);
    TD_EXPECT_EQ(p->u.sh.cipher_suite, 0x1302);
    TD_EXPECT(cbs_eq(p->u.sh.legacy_session_id_echo, STR("abc")));
    TD_EXPECT_EQ(p->u.sh.ext.selected_version, 0x0304);
    TD_EXPECT_EQ(p->u.sh.ext.server_share.group, 0x001d);
    TD_EXPECT(cbs_eq(p->u.sh.ext.server_share.key_exchange, view(k_share32, 32)));
    TD_EXPECT_EQ(p->u.sh.ext.psk_selected_identity, 1);
    free(bytes);

    /* HelloRetryRequest: recognised by its random; selected_group, cookie. */
    td_msg_init(m, TD_MSG_SERVER_HELLO, true);
    m->u.sh.cipher_suite = 0x1301;
    add_ext(m, TD_EXT_KEY_SHARE);
    m->u.sh.ext.hrr_selected_group = 0x0018;
    add_ext(m, TD_EXT_COOKIE);
    m->u.sh.ext.cookie = STR("state");
    add_ext(m, TD_EXT_SUPPORTED_VERSIONS);
    m->u.sh.ext.selected_version = 0x0304;
    bytes = roundtrip(m, 32, p, &len);
    TD_EXPECT(p->u.sh.is_hrr);
    TD_EXPECT_EQ(memcmp(p->u.sh.random, td_hrr_random, TD_RANDOM_LEN), 0);
    TD_EXPECT_EQ(p->u.sh.ext.hrr_selected_group, 0x0018);
    TD_EXPECT(cbs_eq(p->u.sh.ext.cookie, STR("state")));
    /* Forced HRR reading of an SH random is honoured too. */
    td_msg_ctx force = {32, TD_SH_FORCE_HRR};
    bytes[4 + 2] ^= 1; /* random no longer the HRR value */
    TD_EXPECT_EQ(td_msg_parse_handshake(bytes, len, &force, p, NULL), TD_OK);
    TD_EXPECT(p->u.sh.is_hrr);
    TD_EXPECT_EQ(td_msg_parse_handshake(bytes, len, NULL, p, NULL), TD_ERR_DECODE); /* read as SH */
    free(bytes);

    /* A TLS 1.2 ServerHello: no supported_versions, legacy extensions, not
     * checked against the TLS 1.3 table and kept raw. */
    td_msg_init(m, TD_MSG_SERVER_HELLO, false);
    m->u.sh.cipher_suite = 0xc02f;
    m->u.sh.exts.list[0].type = TD_EXT_RENEGOTIATION_INFO;
    m->u.sh.exts.list[0].body = STR("\0");
    m->u.sh.exts.list[1].type = TD_EXT_EXTENDED_MASTER_SECRET;
    m->u.sh.exts.num = 2;
    bytes = roundtrip(m, 32, p, &len);
    TD_EXPECT(p->u.sh.legacy);
    TD_EXPECT_EQ(p->u.sh.exts.num, 2);
    free(bytes);
    m->u.sh.has_extensions = false;
    bytes = roundtrip(m, 32, p, &len);
    TD_EXPECT(p->u.sh.legacy && !p->u.sh.has_extensions);
    free(bytes);
    free(m);
    free(p);
}

static void test_build_server_messages(void)
{
    td_msg *m = calloc(1, sizeof(*m)), *p = calloc(1, sizeof(*p));
    TD_REQUIRE(m != NULL && p != NULL);
    size_t len;
    uint8_t *bytes;
    /* EncryptedExtensions: every EE form. */
    td_msg_init(m, TD_MSG_ENCRYPTED_EXTENSIONS, false);
    td_ext_data *d = &m->u.ee.ext;
    add_ext(m, TD_EXT_SERVER_NAME);
    add_ext(m, TD_EXT_MAX_FRAGMENT_LENGTH);
    d->max_fragment_length = 4;
    add_ext(m, TD_EXT_SUPPORTED_GROUPS);
    d->num_groups = 2, d->groups[0] = 0x0017, d->groups[1] = 0x001d;
    add_ext(m, TD_EXT_ALPN);
    d->num_alpn = 1, d->alpn[0] = STR("h2");
    add_ext(m, TD_EXT_RECORD_SIZE_LIMIT);
    d->record_size_limit = 64;
    add_ext(m, TD_EXT_EARLY_DATA);
    TD_EXPECT_EQ(td_exts_insert_raw(&m->u.ee.exts, 0, TD_EXT_USE_SRTP, STR("\0\2\0\1\0")), TD_OK);
    bytes = roundtrip(m, 32, p, &len);
    TD_EXPECT_EQ(p->u.ee.exts.num, 7);
    TD_EXPECT_EQ(p->u.ee.exts.list[0].type, TD_EXT_USE_SRTP);
    TD_EXPECT_EQ(p->u.ee.ext.max_fragment_length, 4);
    TD_EXPECT_EQ(p->u.ee.ext.num_alpn, 1);
    TD_EXPECT_EQ(p->u.ee.ext.record_size_limit, 64);
    TD_EXPECT(td_exts_find_const(&p->u.ee.exts, TD_EXT_EARLY_DATA) != NULL);
    free(bytes);

    /* CertificateRequest: every CR form. */
    td_msg_init(m, TD_MSG_CERTIFICATE_REQUEST, false);
    d = &m->u.cr.ext;
    m->u.cr.context = STR("\x07\x08");
    add_ext(m, TD_EXT_STATUS_REQUEST);
    d->status_request.empty = true;
    add_ext(m, TD_EXT_SCT);
    add_ext(m, TD_EXT_SIGNATURE_ALGORITHMS);
    d->num_sigalgs = 1, d->sigalgs[0] = 0x0804;
    add_ext(m, TD_EXT_SIGNATURE_ALGORITHMS_CERT);
    d->num_sigalgs_cert = 2, d->sigalgs_cert[0] = 0x0804, d->sigalgs_cert[1] = 0x0401;
    add_ext(m, TD_EXT_CERTIFICATE_AUTHORITIES);
    d->num_cert_authorities = 1, d->cert_authorities[0] = STR("CN=root");
    add_ext(m, TD_EXT_OID_FILTERS);
    d->num_oid_filters = 2;
    d->oid_filters[0].oid = STR("\x55\x1d\x25");
    d->oid_filters[0].values = STR("\x30\x0a");
    d->oid_filters[1].oid = STR("\x55\x1d\x0f");
    TD_EXPECT_EQ(td_exts_insert_raw(&m->u.cr.exts, 1, 0xfe0d, STR("?")), TD_OK); /* unknown */
    bytes = roundtrip(m, 32, p, &len);
    TD_EXPECT(cbs_eq(p->u.cr.context, STR("\x07\x08")));
    TD_EXPECT(p->u.cr.ext.status_request.empty);
    TD_EXPECT_EQ(p->u.cr.ext.num_sigalgs_cert, 2);
    TD_EXPECT_EQ(p->u.cr.ext.num_oid_filters, 2);
    TD_EXPECT(cbs_eq(p->u.cr.ext.oid_filters[0].values, STR("\x30\x0a")));
    TD_EXPECT_EQ(td_cbs_len(&p->u.cr.ext.oid_filters[1].values), 0);
    TD_EXPECT(cbs_eq(p->u.cr.ext.cert_authorities[0], STR("CN=root")));
    free(bytes);
    /* CR status_request in its OCSPStatusRequest form, and a non-OCSP
     * status_type kept opaque in a ClientHello. */
    m->u.cr.ext.status_request.empty = false;
    m->u.cr.ext.status_request.status_type = 1;
    m->u.cr.ext.status_request.request_extensions = STR("e");
    bytes = roundtrip(m, 32, p, &len);
    TD_EXPECT(!p->u.cr.ext.status_request.empty);
    TD_EXPECT_EQ(p->u.cr.ext.status_request.num_responder_ids, 0);
    TD_EXPECT(cbs_eq(p->u.cr.ext.status_request.request_extensions, STR("e")));
    free(bytes);
    td_msg_init(m, TD_MSG_CLIENT_HELLO, false);
    m->u.ch.num_cipher_suites = 1, m->u.ch.cipher_suites[0] = 0x1301;
    m->u.ch.legacy_compression_methods = STR("\0");
    add_ext(m, TD_EXT_STATUS_REQUEST);
    m->u.ch.ext.status_request.status_type = 2;
    m->u.ch.ext.status_request.response = STR("future");
    bytes = roundtrip(m, 32, p, &len);
    TD_EXPECT_EQ(p->u.ch.ext.status_request.status_type, 2);
    TD_EXPECT(cbs_eq(p->u.ch.ext.status_request.response, STR("future")));
    free(bytes);

    /* NewSessionTicket: early_data max_early_data_size and an unknown extension. */
    td_msg_init(m, TD_MSG_NEW_SESSION_TICKET, false);
    m->u.nst.ticket_lifetime = 604800;
    m->u.nst.ticket_age_add = 0xdeadbeef;
    m->u.nst.ticket_nonce = STR("\0");
    m->u.nst.ticket = STR("opaque-ticket");
    add_ext(m, TD_EXT_EARLY_DATA);
    m->u.nst.ext.max_early_data_size = 0x4000;
    TD_EXPECT_EQ(td_exts_insert_raw(&m->u.nst.exts, 1, 0x7777, STR("")), TD_OK);
    bytes = roundtrip(m, 32, p, &len);
    TD_EXPECT_EQ(p->u.nst.ticket_lifetime, 604800);
    TD_EXPECT_EQ(p->u.nst.ticket_age_add, 0xdeadbeef);
    TD_EXPECT(cbs_eq(p->u.nst.ticket, STR("opaque-ticket")));
    TD_EXPECT_EQ(p->u.nst.ext.max_early_data_size, 0x4000);
    free(bytes);
    free(m);
    free(p);
}

static void test_build_auth_and_small_messages(void)
{
    td_msg *m = calloc(1, sizeof(*m)), *p = calloc(1, sizeof(*p));
    TD_REQUIRE(m != NULL && p != NULL);
    size_t len;
    uint8_t *bytes;
    /* Certificate: two entries, the first with CT-form status_request and SCT. */
    td_exts ex;
    td_ext_data ed;
    memset(&ex, 0, sizeof(ex));
    memset(&ed, 0, sizeof(ed));
    ex.ctx = TD_EXT_CTX_CT;
    TD_EXPECT_EQ(td_exts_add(&ex, TD_EXT_STATUS_REQUEST, NULL), TD_OK);
    ed.status_request.status_type = 1;
    ed.status_request.response = STR("ocsp-response");
    TD_EXPECT_EQ(td_exts_add(&ex, TD_EXT_SCT, NULL), TD_OK);
    ed.sct_list = STR("\x00\x03sct\x00\x01x");
    td_cbb cbb;
    TD_REQUIRE(td_cbb_init(&cbb, 0));
    TD_EXPECT_EQ(td_exts_build(&ex, &ed, &cbb), TD_OK);
    td_msg_init(m, TD_MSG_CERTIFICATE, false);
    m->u.cert.context = STR("ctx");
    m->u.cert.num_entries = 2;
    m->u.cert.entries[0].cert_data = STR("\x30\x03\x02\x01\x01");
    m->u.cert.entries[0].extensions = view(td_cbb_data(&cbb) + 2, td_cbb_len(&cbb) - 2);
    m->u.cert.entries[1].cert_data = STR("second");
    bytes = roundtrip(m, 32, p, &len);
    TD_EXPECT_EQ(p->u.cert.num_entries, 2);
    TD_EXPECT(cbs_eq(p->u.cert.context, STR("ctx")));
    TD_EXPECT(cbs_eq(p->u.cert.entries[1].cert_data, STR("second")));
    td_exts ex2;
    td_ext_data ed2;
    TD_EXPECT_EQ(
        td_exts_parse(TD_EXT_CTX_CT, p->u.cert.entries[0].extensions, bytes, &ex2, &ed2, NULL),
        TD_OK);
    TD_EXPECT_EQ(ex2.num, 2);
    TD_EXPECT(cbs_eq(ed2.status_request.response, STR("ocsp-response")));
    TD_EXPECT(cbs_eq(ed2.sct_list, STR("\x00\x03sct\x00\x01x")));
    free(bytes);
    td_cbb_cleanup(&cbb);

    td_msg_init(m, TD_MSG_CERTIFICATE_VERIFY, false);
    m->u.cv.algorithm = 0x0403;
    m->u.cv.signature = STR("sig");
    bytes = roundtrip(m, 32, p, &len);
    TD_EXPECT_EQ(p->u.cv.algorithm, 0x0403);
    TD_EXPECT(cbs_eq(p->u.cv.signature, STR("sig")));
    free(bytes);

    td_msg_init(m, TD_MSG_FINISHED, false);
    m->u.fin.verify_data = view(k_binder48, 48);
    bytes = roundtrip(m, 48, p, &len);
    TD_EXPECT(cbs_eq(p->u.fin.verify_data, view(k_binder48, 48)));
    TD_EXPECT_EQ(len, 4 + 48);
    free(bytes);

    td_msg_init(m, TD_MSG_MESSAGE_HASH, false);
    m->u.mh.hash = view(k_share32, 32);
    bytes = roundtrip(m, 32, p, &len);
    TD_EXPECT_EQ(p->type, TD_MSG_MESSAGE_HASH);
    TD_EXPECT(bytes != NULL && bytes[0] == 254 && bytes[3] == 32);
    free(bytes);

    td_msg_init(m, TD_MSG_END_OF_EARLY_DATA, false);
    bytes = roundtrip(m, 32, p, &len);
    TD_EXPECT_EQ(len, 4);
    free(bytes);

    for (uint8_t v = 0; v < 2; v++) {
        td_msg_init(m, TD_MSG_KEY_UPDATE, false);
        m->u.ku.request_update = v;
        bytes = roundtrip(m, 32, p, &len);
        TD_EXPECT_EQ(p->u.ku.request_update, v);
        free(bytes);
    }
    /* Lenient builders: an out-of-range KeyUpdate can be built (for
     * mutations); the parser rejects it. */
    m->u.ku.request_update = 7;
    bytes = build_msg(m, &len);
    TD_EXPECT(bytes != NULL && len == 5 && bytes[4] == 7);
    free(bytes);
    free(m);
    free(p);
}

/* The §4.2 table, spot-checked against the RFC's rows, and the names. */
static void test_table_and_names(void)
{
    TD_EXPECT(td_ext_allowed(TD_EXT_CTX_CH, TD_EXT_KEY_SHARE));
    TD_EXPECT(td_ext_allowed(TD_EXT_CTX_SH, TD_EXT_KEY_SHARE));
    TD_EXPECT(td_ext_allowed(TD_EXT_CTX_HRR, TD_EXT_KEY_SHARE));
    TD_EXPECT(!td_ext_allowed(TD_EXT_CTX_EE, TD_EXT_KEY_SHARE));
    TD_EXPECT(td_ext_allowed(TD_EXT_CTX_HRR, TD_EXT_COOKIE));
    TD_EXPECT(!td_ext_allowed(TD_EXT_CTX_SH, TD_EXT_COOKIE));
    TD_EXPECT(td_ext_allowed(TD_EXT_CTX_NST, TD_EXT_EARLY_DATA));
    TD_EXPECT(!td_ext_allowed(TD_EXT_CTX_SH, TD_EXT_EARLY_DATA));
    TD_EXPECT(td_ext_allowed(TD_EXT_CTX_CT, TD_EXT_STATUS_REQUEST));
    TD_EXPECT(td_ext_allowed(TD_EXT_CTX_CT, TD_EXT_SCT));
    TD_EXPECT(!td_ext_allowed(TD_EXT_CTX_EE, TD_EXT_STATUS_REQUEST));
    TD_EXPECT(td_ext_allowed(TD_EXT_CTX_CR, TD_EXT_OID_FILTERS));
    TD_EXPECT(!td_ext_allowed(TD_EXT_CTX_CH, TD_EXT_OID_FILTERS));
    TD_EXPECT(td_ext_allowed(TD_EXT_CTX_EE, TD_EXT_RECORD_SIZE_LIMIT));
    TD_EXPECT(!td_ext_allowed(TD_EXT_CTX_EE, TD_EXT_PADDING));
    TD_EXPECT(!td_ext_allowed(TD_EXT_CTX_EE, TD_EXT_RENEGOTIATION_INFO));
    TD_EXPECT(td_ext_allowed(TD_EXT_CTX_NST, 0x4242)); /* unknown: anywhere */
    TD_EXPECT(!td_ext_is_known(0x4242));
    TD_EXPECT(td_ext_is_known(TD_EXT_POST_HANDSHAKE_AUTH));
    /* every message column has at least one allowed extension */
    for (int c = 0; c < TD_EXT_NUM_CTX; c++) {
        int n = 0;
        for (unsigned t = 0; t < 0x10000; t += (t < 64 ? 1 : 0xfec1))
            n += td_ext_is_known((uint16_t)t) && td_ext_allowed((td_ext_ctx)c, (uint16_t)t);
        TD_EXPECT(n > 0);
    }
    TD_EXPECT(strcmp(td_ext_type_name(51), "key_share") == 0);
    TD_EXPECT(strcmp(td_ext_type_name(0xff01), "renegotiation_info") == 0);
    TD_EXPECT(strcmp(td_ext_type_name(0x4242), "unknown") == 0);
    TD_EXPECT(strcmp(td_ext_type_name(0x12345), "unknown") == 0);
    TD_EXPECT(strcmp(td_msg_type_name(1), "client_hello") == 0);
    TD_EXPECT(strcmp(td_msg_type_name(254), "message_hash") == 0);
    TD_EXPECT(strcmp(td_msg_type_name(3), "unknown") == 0);
    TD_EXPECT(strcmp(td_ext_ctx_name(TD_EXT_CTX_HRR), "HelloRetryRequest") == 0);
}

/* Structural edits: insert, remove, reorder, then rebuild and reparse. */
static void test_block_editing(void)
{
    td_msg *m = calloc(1, sizeof(*m)), *p = calloc(1, sizeof(*p));
    TD_REQUIRE(m != NULL && p != NULL);
    td_msg_init(m, TD_MSG_CLIENT_HELLO, false);
    m->u.ch.num_cipher_suites = 1, m->u.ch.cipher_suites[0] = 0x1301;
    m->u.ch.legacy_compression_methods = STR("\0");
    td_exts *ex = &m->u.ch.exts;
    add_ext(m, TD_EXT_SUPPORTED_VERSIONS);
    m->u.ch.ext.num_versions = 1, m->u.ch.ext.versions[0] = 0x0304;
    add_ext(m, TD_EXT_KEY_SHARE); /* empty client_shares: allowed */
    add_ext(m, TD_EXT_PRE_SHARED_KEY);
    m->u.ch.ext.num_psk_identities = 1, m->u.ch.ext.psk_identities[0].identity = STR("id");
    m->u.ch.ext.num_psk_binders = 1, m->u.ch.ext.psk_binders[0] = view(k_binder, 32);
    size_t len;
    uint8_t *bytes = roundtrip(m, 32, p, &len);
    free(bytes);
    /* Move pre_shared_key first: builds (lenient), parse says PSK-NOT-LAST. */
    TD_EXPECT_EQ(td_exts_move(ex, 2, 0), TD_OK);
    TD_EXPECT_EQ(ex->list[0].type, TD_EXT_PRE_SHARED_KEY);
    TD_EXPECT_EQ(ex->list[2].type, TD_EXT_KEY_SHARE);
    bytes = build_msg(m, &len);
    TD_REQUIRE(bytes != NULL);
    td_diag diag;
    td_diag_clear(&diag);
    TD_EXPECT_EQ(td_msg_parse_handshake(bytes, len, NULL, p, &diag), TD_ERR_ILLEGAL_PARAMETER);
    TD_EXPECT_EQ(diag.rule, TD_RULE_PSK_NOT_LAST);
    TD_EXPECT_EQ(diag.offset, 4 + 41 + 2);
    free(bytes);
    /* The truncated form still finds the binders wherever the PSK is. */
    td_cbb cbb;
    size_t prefix = 0;
    TD_REQUIRE(td_cbb_init(&cbb, 0));
    TD_EXPECT_EQ(td_msg_build_ch_truncated(m, &cbb, &prefix), TD_OK);
    TD_EXPECT_EQ(prefix, 4 + 41 + 2 + 4 + 2 + 2 + 2 + 4);
    td_cbb_cleanup(&cbb);
    /* Move it back, duplicate supported_versions: EXT-DUPLICATE. */
    TD_EXPECT_EQ(td_exts_move(ex, 0, 2), TD_OK);
    TD_EXPECT_EQ(ex->list[2].type, TD_EXT_PRE_SHARED_KEY);
    TD_EXPECT_EQ(td_exts_insert_raw(ex, 1, TD_EXT_SUPPORTED_VERSIONS, STR("\x02\x03\x04")), TD_OK);
    bytes = build_msg(m, &len);
    td_diag_clear(&diag);
    TD_EXPECT_EQ(td_msg_parse_handshake(bytes, len, NULL, p, &diag), TD_ERR_DECODE);
    TD_EXPECT_EQ(diag.rule, TD_RULE_EXT_DUPLICATE);
    free(bytes);
    /* Remove it again and edit a typed field. */
    TD_EXPECT_EQ(td_exts_remove(ex, 1), TD_OK);
    TD_EXPECT_EQ(td_exts_remove(ex, 9), TD_ERR_ARG);
    TD_EXPECT_EQ(td_exts_move(ex, 0, 9), TD_ERR_ARG);
    TD_EXPECT_EQ(td_exts_insert_raw(ex, 9, 1, STR("")), TD_ERR_ARG);
    m->u.ch.ext.versions[0] = 0x7f1c;
    bytes = roundtrip(m, 32, p, &len);
    TD_EXPECT_EQ(p->u.ch.ext.versions[0], 0x7f1c);
    TD_EXPECT_EQ(p->u.ch.ext.num_key_shares, 0);
    TD_EXPECT(td_exts_find(&p->u.ch.exts, TD_EXT_COOKIE) == NULL);
    free(bytes);
    /* A raw body edit wins over typed data when from_typed is false. */
    td_ext *sv = td_exts_find(ex, TD_EXT_SUPPORTED_VERSIONS);
    TD_REQUIRE(sv != NULL);
    sv->from_typed = false;
    sv->body = STR("\x04\x03\x04\x03\x03");
    bytes = roundtrip(m, 32, p, &len);
    TD_EXPECT_EQ(p->u.ch.ext.num_versions, 2);
    free(bytes);
    /* Encoding a legacy opaque extension from typed data is refused. */
    TD_REQUIRE(td_cbb_init(&cbb, 0));
    TD_EXPECT_EQ(td_ext_encode(TD_EXT_CTX_CH, TD_EXT_EC_POINT_FORMATS, &m->u.ch.ext, &cbb),
                 TD_ERR_ARG);
    td_cbb_cleanup(&cbb);
    free(m);
    free(p);
}

/* The block's own checks name their rule (the engine's reports and the
 * judge's "the SUT failed rule X" read it): a forbidden extension in
 * EncryptedExtensions is EE-FORBIDDEN-EXT with illegal_parameter (RFC 8446
 * §4.3.1), not the generic EXT-WRONG-MESSAGE; a cookie in a ServerHello is
 * COOKIE-IN-SH; an extension running past the end of its block is
 * GEN-DECODE at that extension. */
static void test_block_checks(void)
{
    td_exts exts;
    td_ext_data data;
    td_diag diag;
    /* key_share (0x0033) in EncryptedExtensions, after an allowed one (an
     * empty server_name). */
    static const uint8_t ee[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x33, 0x00, 0x02, 0xab, 0xcd};
    td_diag_clear(&diag);
    TD_EXPECT_EQ(td_exts_parse(TD_EXT_CTX_EE, view(ee, sizeof(ee)), ee, &exts, &data, &diag),
                 TD_ERR_ILLEGAL_PARAMETER);
    TD_EXPECT_EQ(diag.rule, TD_RULE_EE_FORBIDDEN_EXT);
    TD_EXPECT_EQ(diag.offset, 4);
    /* psk_key_exchange_modes (0x002d) in a ServerHello: the generic rule. */
    static const uint8_t sh_modes[] = {0x00, 0x2d, 0x00, 0x02, 0x01, 0x01};
    td_diag_clear(&diag);
    TD_EXPECT_EQ(td_exts_parse(TD_EXT_CTX_SH, view(sh_modes, sizeof(sh_modes)), sh_modes, &exts,
                               &data, &diag),
                 TD_ERR_UNSUPPORTED_EXT);
    TD_EXPECT_EQ(diag.rule, TD_RULE_EXT_WRONG_MESSAGE);
    /* cookie (0x002c) in a ServerHello. */
    static const uint8_t sh_cookie[] = {0x00, 0x2c, 0x00, 0x03, 0x00, 0x01, 0xaa};
    td_diag_clear(&diag);
    TD_EXPECT_EQ(td_exts_parse(TD_EXT_CTX_SH, view(sh_cookie, sizeof(sh_cookie)), sh_cookie, &exts,
                               &data, &diag),
                 TD_ERR_UNSUPPORTED_EXT);
    TD_EXPECT_EQ(diag.rule, TD_RULE_COOKIE_IN_SH);
    /* A whole extension, then one whose length (5) runs past the block, then
     * a lone byte where a type should be. */
    static const uint8_t cut[] = {0xfa, 0xfa, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x05, 0x03};
    static const uint8_t cut1[] = {0xfa, 0xfa, 0x00, 0x00, 0x00};
    td_diag_clear(&diag);
    TD_EXPECT_EQ(td_exts_parse(TD_EXT_CTX_CH, view(cut, sizeof(cut)), cut, &exts, &data, &diag),
                 TD_ERR_DECODE);
    TD_EXPECT_EQ(diag.rule, TD_RULE_GEN_DECODE);
    TD_EXPECT_EQ(diag.offset, 4);
    td_diag_clear(&diag);
    TD_EXPECT_EQ(td_exts_parse(TD_EXT_CTX_CH, view(cut1, sizeof(cut1)), cut1, &exts, &data, &diag),
                 TD_ERR_DECODE);
    TD_EXPECT_EQ(diag.rule, TD_RULE_GEN_DECODE);
    TD_EXPECT_EQ(diag.offset, 4);
}

/* td_msg_next splits a flight; partial input asks for more. */
static void test_next(void)
{
    static const uint8_t flight[] = {20, 0, 0, 2, 0xaa, 0xbb, 24, 0, 0, 1, 1, 5, 0};
    td_cbs in = view(flight, sizeof(flight)), body, whole;
    uint8_t type;
    TD_EXPECT_EQ(td_msg_next(&in, &type, &body, &whole), TD_OK);
    TD_EXPECT_EQ(type, 20);
    TD_EXPECT_EQ(td_cbs_len(&body), 2);
    TD_EXPECT_EQ(td_cbs_len(&whole), 6);
    TD_EXPECT_EQ(td_msg_next(&in, &type, &body, NULL), TD_OK);
    TD_EXPECT_EQ(type, 24);
    TD_EXPECT_EQ(td_msg_next(&in, &type, &body, NULL), TD_ERR_WANT_MORE);
    TD_EXPECT_EQ(td_cbs_len(&in), 2); /* nothing consumed */
    /* NULL input: empty is a decode error, NULL with a length is misuse. */
    td_msg *m = calloc(1, sizeof(*m));
    TD_REQUIRE(m != NULL);
    td_diag diag;
    td_diag_clear(&diag);
    TD_EXPECT_EQ(td_msg_parse(TD_MSG_CLIENT_HELLO, NULL, 0, NULL, m, &diag), TD_ERR_DECODE);
    TD_EXPECT_EQ(diag.rule, TD_RULE_GEN_DECODE);
    TD_EXPECT_EQ(td_msg_parse(TD_MSG_END_OF_EARLY_DATA, NULL, 0, NULL, m, NULL), TD_OK);
    TD_EXPECT_EQ(td_msg_parse_handshake(NULL, 0, NULL, m, NULL), TD_ERR_DECODE);
    TD_EXPECT_EQ(td_msg_parse(TD_MSG_CLIENT_HELLO, NULL, 5, NULL, m, NULL), TD_ERR_ARG);
    free(m);
}

int main(void)
{
    TD_RUN(test_build_client_hello);
    TD_RUN(test_build_server_hello_and_hrr);
    TD_RUN(test_build_server_messages);
    TD_RUN(test_build_auth_and_small_messages);
    TD_RUN(test_table_and_names);
    TD_RUN(test_block_editing);
    TD_RUN(test_block_checks);
    TD_RUN(test_next);
    return td_test_report("test_ext");
}
