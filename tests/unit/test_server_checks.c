/* tests/unit/test_server_checks.c -- engine/server*.c: what the server
 * refuses and what it tolerates. Tables of malformed or non-conformant
 * client flights (ClientHello, second ClientHello, messages in the wrong
 * state, client authentication), each with the catalogue rule and the
 * alert; tolerance rows (TOL-*); 0-RTT limits; ALPN and the key log. */
#include "cert_check.h"
#include "td_server_fixture.h"

/* ---- first ClientHello ---- */

static const uint8_t k_zero32[32];
static const uint8_t k_one_byte[] = {0x01};

static void e_no_sv(td_msg *m)
{
    remove_ext(m, TD_EXT_SUPPORTED_VERSIONS);
}
static void e_no_sv_13(td_msg *m)
{
    remove_ext(m, TD_EXT_SUPPORTED_VERSIONS);
    m->u.ch.legacy_version = 0x0304;
}
static void e_sv_12(td_msg *m)
{
    m->u.ch.ext.versions[0] = 0x0303;
    m->u.ch.ext.num_versions = 1;
    typed(m, TD_EXT_SUPPORTED_VERSIONS);
}
/* RFC 7507 §3: TLS_FALLBACK_SCSV from a client whose highest version is
 * below ours (TLS 1.3): in supported_versions, or in legacy_version. */
static void e_fallback_sv(td_msg *m)
{
    e_sv_12(m);
    m->u.ch.cipher_suites[m->u.ch.num_cipher_suites++] = 0x5600 /* TLS_FALLBACK_SCSV */;
}
static void e_fallback_legacy(td_msg *m)
{
    e_no_sv(m);
    m->u.ch.cipher_suites[m->u.ch.num_cipher_suites++] = 0x5600 /* TLS_FALLBACK_SCSV */;
}
static void e_sv_unknown(td_msg *m)
{
    m->u.ch.ext.versions[0] = 0x7f1c;
    m->u.ch.ext.num_versions = 1;
    typed(m, TD_EXT_SUPPORTED_VERSIONS);
}
static void e_ssl3(td_msg *m)
{
    m->u.ch.legacy_version = 0x0300;
}
static void e_compression(td_msg *m)
{
    td_cbs_init(&m->u.ch.legacy_compression_methods, k_one_byte, 1);
}
static void e_no_suite(td_msg *m)
{
    m->u.ch.cipher_suites[0] = 0x1304;
    m->u.ch.num_cipher_suites = 1;
}
static void e_no_group(td_msg *m)
{
    m->u.ch.ext.groups[0] = 0x0103; /* ffdhe6144: not implemented */
    m->u.ch.ext.num_groups = 1;
    m->u.ch.ext.num_key_shares = 0;
    typed(m, TD_EXT_SUPPORTED_GROUPS);
    typed(m, TD_EXT_KEY_SHARE);
}
static void e_ks_not_in_sg(td_msg *m)
{
    m->u.ch.ext.groups[0] = 0x0017;
    m->u.ch.ext.num_groups = 1;
    typed(m, TD_EXT_SUPPORTED_GROUPS);
}
static void e_dup_share(td_msg *m)
{
    m->u.ch.ext.key_shares[1] = m->u.ch.ext.key_shares[0];
    m->u.ch.ext.num_key_shares = 2;
    typed(m, TD_EXT_KEY_SHARE);
}
static void e_short_share(td_msg *m)
{
    td_cbs_init(&m->u.ch.ext.key_shares[0].key_exchange, k_zero32, 31);
    typed(m, TD_EXT_KEY_SHARE);
}
static void e_zero_share(td_msg *m)
{
    td_cbs_init(&m->u.ch.ext.key_shares[0].key_exchange, k_zero32, 32);
    typed(m, TD_EXT_KEY_SHARE);
}
static void e_no_sigalgs(td_msg *m)
{
    remove_ext(m, TD_EXT_SIGNATURE_ALGORITHMS);
}
static void e_no_groups(td_msg *m)
{
    remove_ext(m, TD_EXT_SUPPORTED_GROUPS);
}
static void e_no_key_share(td_msg *m)
{
    remove_ext(m, TD_EXT_KEY_SHARE);
}
static void e_only_pkcs1(td_msg *m)
{
    m->u.ch.ext.sigalgs[0] = 0x0401;
    m->u.ch.ext.num_sigalgs = 1;
    typed(m, TD_EXT_SIGNATURE_ALGORITHMS);
}
static const uint8_t k_http11[] = "http/1.1";
static void e_alpn(td_msg *m)
{
    td_ext *e;
    if (td_exts_insert_raw(&m->u.ch.exts, 0, TD_EXT_ALPN, (td_cbs){0}) != TD_OK)
        abort();
    e = td_exts_find(&m->u.ch.exts, TD_EXT_ALPN);
    e->from_typed = true;
    td_cbs_init(&m->u.ch.ext.alpn[0], k_http11, 8);
    m->u.ch.ext.num_alpn = 1;
}
/* §4 (PSK) ClientHello edits. */
static void e_no_psk_modes(td_msg *m)
{
    remove_ext(m, TD_EXT_PSK_KEY_EXCHANGE_MODES);
}
static void e_psk_first(td_msg *m)
{
    int i = td_exts_index(&m->u.ch.exts, TD_EXT_PRE_SHARED_KEY);
    if (td_exts_move(&m->u.ch.exts, (size_t)i, 0) != TD_OK)
        abort();
}
static uint8_t g_binder[32];
static void e_flip_binder(td_msg *m)
{
    memcpy(g_binder, td_cbs_data(&m->u.ch.ext.psk_binders[0]), 32);
    g_binder[5] ^= 0x10;
    td_cbs_init(&m->u.ch.ext.psk_binders[0], g_binder, 32);
    typed(m, TD_EXT_PRE_SHARED_KEY);
}

static void e_no_sni(td_msg *m)
{
    remove_ext(m, TD_EXT_SERVER_NAME);
}
static void e_psk_only(td_msg *m)
{
    remove_ext(m, TD_EXT_KEY_SHARE);
    remove_ext(m, TD_EXT_SUPPORTED_GROUPS);
}

typedef void (*cfg_edit_fn)(srv *s);
static const char *const k_h2[] = {"h2"};
static void c_alpn(srv *s)
{
    s->cfg.alpn = k_h2;
    s->cfg.num_alpn = 1;
}
static void c_sni(srv *s)
{
    s->ck.sni = "example.com";
}
static void c_no_psks(srv *s)
{
    s->cfg.num_psks = 0;
}

typedef struct ch_row {
    const char *name;
    int sec; /* 3: §3 ClientHello, 4: §4 (PSK) ClientHello */
    ch_edit_fn edit;
    cfg_edit_fn cfg;
    const char *rule;
    td_alert alert;
} ch_row;

static const ch_row k_ch_rows[] = {
    {"no supported_versions", 3, e_no_sv, NULL, "SV-ABSENT-TOO-OLD", TD_ALERT_protocol_version},
    {"no supported_versions, legacy 1.3", 3, e_no_sv_13, NULL, "SV-ABSENT-LEGACY-13",
     TD_ALERT_protocol_version},
    {"1.3 not offered", 3, e_sv_12, NULL, "SV-SERVER-NO-COMMON", TD_ALERT_protocol_version},
    {"fallback SCSV, 1.2 in supported_versions", 3, e_fallback_sv, NULL, "CH-FALLBACK-SCSV",
     TD_ALERT_inappropriate_fallback},
    {"fallback SCSV, 1.2 legacy_version only", 3, e_fallback_legacy, NULL, "CH-FALLBACK-SCSV",
     TD_ALERT_inappropriate_fallback},
    {"only unknown versions", 3, e_sv_unknown, NULL, "SV-SERVER-NO-COMMON",
     TD_ALERT_protocol_version},
    {"legacy_version SSL 3.0", 3, e_ssl3, NULL, "SV-LEGACY-SSL3", TD_ALERT_protocol_version},
    {"compression method 1", 3, e_compression, NULL, "CH-COMPRESSION", TD_ALERT_illegal_parameter},
    {"no common suite", 3, e_no_suite, NULL, "GEN-NO-COMMON-PARAMS", TD_ALERT_handshake_failure},
    {"no common group", 3, e_no_group, NULL, "SG-NO-OVERLAP", TD_ALERT_handshake_failure},
    {"share not in supported_groups", 3, e_ks_not_in_sg, NULL, "KS-GROUP-NOT-IN-SUPPORTED",
     TD_ALERT_illegal_parameter},
    {"duplicate share group", 3, e_dup_share, NULL, "KS-DUPLICATE-GROUP",
     TD_ALERT_illegal_parameter},
    {"x25519 share of 31 bytes", 3, e_short_share, NULL, "KS-BAD-LENGTH",
     TD_ALERT_illegal_parameter},
    {"x25519 all-zero share", 3, e_zero_share, NULL, "KS-X-ZERO-SECRET",
     TD_ALERT_illegal_parameter},
    {"no signature_algorithms", 3, e_no_sigalgs, NULL, "CH-MANDATORY-EXT",
     TD_ALERT_missing_extension},
    {"no supported_groups", 3, e_no_groups, NULL, "CH-MANDATORY-EXT", TD_ALERT_missing_extension},
    {"no key_share", 3, e_no_key_share, NULL, "CH-MANDATORY-EXT", TD_ALERT_missing_extension},
    {"only rsa_pkcs1 sigalgs", 3, e_only_pkcs1, NULL, "SIGALG-NO-OVERLAP",
     TD_ALERT_handshake_failure},
    {"ALPN without overlap", 3, e_alpn, c_alpn, "ALPN-NO-OVERLAP",
     TD_ALERT_no_application_protocol},
    {"no certificate for the SNI", 3, NULL, c_sni, "SNI-UNRECOGNIZED", TD_ALERT_unrecognized_name},
    {"PSK without psk_key_exchange_modes", 4, e_no_psk_modes, NULL, "PSKM-MISSING",
     TD_ALERT_missing_extension},
    {"pre_shared_key not last", 4, e_psk_first, NULL, "PSK-NOT-LAST", TD_ALERT_illegal_parameter},
    {"binder flipped", 4, e_flip_binder, NULL, "PSK-BINDER-INVALID", TD_ALERT_decrypt_error},
    {"unknown PSK, no signature_algorithms", 4, e_no_sigalgs, c_no_psks, "SIGALG-MISSING-CH",
     TD_ALERT_missing_extension},
    {"unknown PSK, no key_share", 4, e_psk_only, c_no_psks, "PSK-UNKNOWN-IDENTITY",
     TD_ALERT_decrypt_error},
    {"no SNI, only named certificates", 3, e_no_sni, c_sni, "SNI-REQUIRED-MISSING",
     TD_ALERT_missing_extension},
};

/* TOL-UNKNOWN-CIPHER, TOL-UNKNOWN-EXT-CH, TOL-UNKNOWN-VERSION,
 * TOL-CH-LEGACY-VERSION, TOL-STATUS-REQUEST-V2, a TLS_FALLBACK_SCSV that is no
 * fallback: ignored, the handshake goes on. */
static const uint8_t k_unknown_body[] = {0xde, 0xad};
static void e_tolerated(td_msg *m)
{
    td_client_hello *ch = &m->u.ch;
    memmove(ch->cipher_suites + 1, ch->cipher_suites, ch->num_cipher_suites * sizeof(uint16_t));
    ch->cipher_suites[0] = 0x0a0a;
    ch->num_cipher_suites++;
    /* TLS_FALLBACK_SCSV next to TLS 1.3 in supported_versions is no fallback (RFC 7507 §3). */
    ch->cipher_suites[ch->num_cipher_suites++] = 0x5600 /* TLS_FALLBACK_SCSV */;
    ch->legacy_version = 0x0301;
    ch->ext.versions[ch->ext.num_versions++] = 0x7a7a;
    typed(m, TD_EXT_SUPPORTED_VERSIONS);
    td_cbs body;
    td_cbs_init(&body, k_unknown_body, sizeof(k_unknown_body));
    if (td_exts_insert_raw(&ch->exts, 0, 0x1a1a, body) != TD_OK ||
        td_exts_insert_raw(&ch->exts, 1, TD_EXT_STATUS_REQUEST_V2, body) != TD_OK)
        abort();
}
/* TOL-KEY-SHARE-SUBSET: an empty key_share list is answered with an HRR. */
static void e_empty_key_share(td_msg *m)
{
    m->u.ch.ext.num_key_shares = 0;
    typed(m, TD_EXT_KEY_SHARE);
}

static void test_tolerated_client_hellos(void)
{
    static uint8_t rec[4096];
    srv s;
    srv_trace(&s, 3, 5, 4, 15, 16);
    TD_REQUIRE(srv_start(&s) == 0);
    size_t n =
        ch_record(V(3, 1, "ClientHello"), VL(3, 1, "ClientHello"), e_tolerated, rec, sizeof(rec));
    feed(&s, rec, n);
    TD_EXPECT_EQ(td_conn_status(s.c)->phase, TD_PHASE_HANDSHAKE);
    TD_EXPECT(strcmp(td_conn_status(s.c)->state, "S_WAIT_FINISHED") == 0);
    srv_free(&s);
    srv_trace(&s, 3, 5, 4, 15, 16);
    TD_REQUIRE(srv_start(&s) == 0);
    n = ch_record(V(3, 1, "ClientHello"), VL(3, 1, "ClientHello"), e_empty_key_share, rec,
                  sizeof(rec));
    feed(&s, rec, n);
    TD_EXPECT(strcmp(td_conn_status(s.c)->state, "S_WAIT_CH2") == 0);
    TD_EXPECT_EQ(s.c->hrr_group, 0x001d);
    srv_free(&s);
}

static void test_bad_client_hellos(void)
{
    static uint8_t rec[4096];
    for (size_t i = 0; i < sizeof(k_ch_rows) / sizeof(k_ch_rows[0]); i++) {
        const ch_row *r = &k_ch_rows[i];
        srv s;
        if (r->sec == 3)
            srv_trace(&s, 3, 5, 4, 15, 16);
        else
            srv_resume(&s);
        if (r->cfg)
            r->cfg(&s);
        size_t n = r->sec == 3 ? ch_record(V(3, 1, "ClientHello"), VL(3, 1, "ClientHello"), r->edit,
                                           rec, sizeof(rec))
                               : ch_record(V(4, 4, "payload"), VL(4, 4, "payload"), r->edit, rec,
                                           sizeof(rec));
        TD_EXPECT(n > 0);
        if (n > 0 && srv_start(&s) == 0) {
            feed(&s, rec, n);
            expect_failed(&s, r->name, r->rule, r->alert);
        }
        srv_free(&s);
    }
}

/* Unedited, the rebuilt ClientHellos are the trace's: the edits above are the only change. */
static void test_rebuild_identity(void)
{
    static uint8_t rec[4096];
    size_t n = ch_record(V(3, 1, "ClientHello"), VL(3, 1, "ClientHello"), NULL, rec, sizeof(rec));
    TD_EXPECT_MEM(rec + 5, n - 5, V(3, 2, "payload"), VL(3, 2, "payload"));
    n = ch_record(V(5, 6, "ClientHello"), VL(5, 6, "ClientHello"), NULL, rec, sizeof(rec));
    TD_EXPECT_MEM(rec + 5, n - 5, V(5, 7, "payload"), VL(5, 7, "payload"));
}

/* ---- second ClientHello ---- */

static uint8_t g_cookie[256];
static void e2_two_shares(td_msg *m)
{
    m->u.ch.ext.key_shares[1] = m->u.ch.ext.key_shares[0];
    m->u.ch.ext.key_shares[1].group = 0x001d;
    td_cbs_init(&m->u.ch.ext.key_shares[1].key_exchange, V(5, 0, "public key"), 32);
    m->u.ch.ext.num_key_shares = 2;
    typed(m, TD_EXT_KEY_SHARE);
}
static void e2_wrong_group(td_msg *m)
{
    m->u.ch.ext.key_shares[0].group = 0x001d;
    td_cbs_init(&m->u.ch.ext.key_shares[0].key_exchange, V(5, 0, "public key"), 32);
    typed(m, TD_EXT_KEY_SHARE);
}
static void e2_early_data(td_msg *m)
{
    if (td_exts_add(&m->u.ch.exts, TD_EXT_EARLY_DATA, NULL) != TD_OK)
        abort();
}
static void e2_suites(td_msg *m)
{
    m->u.ch.cipher_suites[0] = m->u.ch.cipher_suites[1];
    m->u.ch.num_cipher_suites--;
}
static void e2_random(td_msg *m)
{
    m->u.ch.random[0] ^= 1;
}
static void e2_sigalgs(td_msg *m)
{
    m->u.ch.ext.num_sigalgs--;
    typed(m, TD_EXT_SIGNATURE_ALGORITHMS);
}
static void e2_cookie_flip(td_msg *m)
{
    size_t n = td_cbs_len(&m->u.ch.ext.cookie);
    memcpy(g_cookie, td_cbs_data(&m->u.ch.ext.cookie), n);
    g_cookie[n - 1] ^= 1;
    td_cbs_init(&m->u.ch.ext.cookie, g_cookie, n);
    typed(m, TD_EXT_COOKIE);
}
static void e2_no_cookie(td_msg *m)
{
    remove_ext(m, TD_EXT_COOKIE);
}

static const ch_row k_ch2_rows[] = {
    {"CH2 with two shares", 5, e2_two_shares, NULL, "CH2-KEYSHARE", TD_ALERT_illegal_parameter},
    {"CH2 share for another group", 5, e2_wrong_group, NULL, "CH2-KEYSHARE",
     TD_ALERT_illegal_parameter},
    {"CH2 with early_data", 5, e2_early_data, NULL, "CH2-EARLY-DATA", TD_ALERT_illegal_parameter},
    {"CH2 changed cipher suites", 5, e2_suites, NULL, "CH2-NOT-CONFORMANT",
     TD_ALERT_illegal_parameter},
    {"CH2 changed random", 5, e2_random, NULL, "CH2-NOT-CONFORMANT", TD_ALERT_illegal_parameter},
    {"CH2 changed signature_algorithms", 5, e2_sigalgs, NULL, "CH2-NOT-CONFORMANT",
     TD_ALERT_illegal_parameter},
    {"CH2 cookie altered", 5, e2_cookie_flip, NULL, "COOKIE-CH2-MISMATCH",
     TD_ALERT_illegal_parameter},
    {"CH2 without the cookie", 5, e2_no_cookie, NULL, "COOKIE-CH2-MISMATCH",
     TD_ALERT_illegal_parameter},
};

static void test_bad_second_client_hellos(void)
{
    static uint8_t rec[4096];
    for (size_t i = 0; i < sizeof(k_ch2_rows) / sizeof(k_ch2_rows[0]); i++) {
        const ch_row *r = &k_ch2_rows[i];
        srv s;
        srv_hrr(&s, true);
        size_t n =
            ch_record(V(5, 6, "ClientHello"), VL(5, 6, "ClientHello"), r->edit, rec, sizeof(rec));
        TD_EXPECT(n > 0);
        if (n > 0 && srv_start(&s) == 0) {
            feed(&s, REC(5, 2));
            expect_out(&s, REC(5, 4), NULL, 0, NULL, 0);
            feed(&s, rec, n);
            expect_failed(&s, r->name, r->rule, r->alert);
        }
        srv_free(&s);
    }
}

/* ---- messages in the wrong state, bad client authentication ---- */

static const uint8_t k_eoed[] = {0x05, 0x00, 0x00, 0x00};
static const uint8_t k_key_update[] = {0x18, 0x00, 0x00, 0x01, 0x00};
static const uint8_t k_nst[] = {0x04, 0x00, 0x00, 0x0f, 0,    0,    0,    1, 0, 0,
                                0,    0,    0x01, 0x00, 0x00, 0x01, 0x2a, 0, 0};
static const uint8_t k_ee[] = {0x08, 0x00, 0x00, 0x02, 0x00, 0x00};
static const uint8_t k_empty_cert[] = {0x0b, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00};

static void test_wrong_state_messages(void)
{
    uint8_t rec[2048], msg[1024];
    size_t n;
    srv s;
    /* S_WAIT_CH: EndOfEarlyData. */
    srv_trace(&s, 3, 5, 4, 15, 16);
    TD_REQUIRE(srv_start(&s) == 0);
    n = plain_record(k_eoed, sizeof(k_eoed), rec, sizeof(rec));
    feed(&s, rec, n);
    expect_failed(&s, "EOED in S_WAIT_CH", "GEN-UNEXPECTED-ORDER", TD_ALERT_unexpected_message);
    srv_free(&s);
    /* S_WAIT_CH2: EndOfEarlyData. */
    srv_hrr(&s, true);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(5, 2));
    feed(&s, rec, n);
    expect_failed(&s, "EOED in S_WAIT_CH2", "GEN-UNEXPECTED-ORDER", TD_ALERT_unexpected_message);
    srv_free(&s);
    /* S_WAIT_FINISHED (§3): each wrong message under the client handshake keys. */
    struct {
        const char *name;
        const uint8_t *msg;
        size_t len;
        const char *rule;
    } rows[] = {
        {"unsolicited Certificate", k_empty_cert, sizeof(k_empty_cert), "CT-CLIENT-UNSOLICITED"},
        {"KeyUpdate before Finished", k_key_update, sizeof(k_key_update), "KU-BEFORE-FINISHED"},
        {"EndOfEarlyData without 0-RTT", k_eoed, sizeof(k_eoed), "ED-EOED-UNEXPECTED"},
        {"NewSessionTicket from the client", k_nst, sizeof(k_nst), "NST-FROM-CLIENT"},
        {"EncryptedExtensions from the client", k_ee, sizeof(k_ee), "GEN-UNEXPECTED-ORDER"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        srv_trace(&s, 3, 5, 4, 15, 16);
        TD_REQUIRE(srv_start(&s) == 0);
        feed(&s, REC(3, 2));
        n = sealed_record(V(3, 8, "expanded"), 0, TD_CT_HANDSHAKE, rows[i].msg, rows[i].len, rec,
                          sizeof(rec));
        feed(&s, rec, n);
        expect_failed(&s, rows[i].name, rows[i].rule, TD_ALERT_unexpected_message);
        srv_free(&s);
    }
    /* A bad client Finished (§4.4.4). */
    srv_trace(&s, 3, 5, 4, 15, 16);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(3, 2));
    memcpy(msg, V(3, 40, "Finished"), 36);
    msg[10] ^= 0x04;
    n = sealed_record(V(3, 8, "expanded"), 0, TD_CT_HANDSHAKE, msg, 36, rec, sizeof(rec));
    feed(&s, rec, n);
    expect_failed(&s, "bad client Finished", "FIN-BAD", TD_ALERT_decrypt_error);
    srv_free(&s);
    /* After the handshake (§3, client application keys). */
    struct {
        const char *name;
        const uint8_t *msg;
        size_t len;
        const char *rule;
    } post[] = {
        {"ClientHello after the handshake", V(3, 1, "ClientHello"), VL(3, 1, "ClientHello"),
         "PH-CLIENTHELLO"},
        {"NewSessionTicket after the handshake", k_nst, sizeof(k_nst), "NST-FROM-CLIENT"},
        {"EncryptedExtensions after the handshake", k_ee, sizeof(k_ee), "PH-UNEXPECTED-MSG"},
    };
    for (size_t i = 0; i < sizeof(post) / sizeof(post[0]); i++) {
        srv_trace(&s, 3, 5, 4, 15, 16);
        TD_REQUIRE(srv_start(&s) == 0);
        feed(&s, REC(3, 2));
        feed(&s, REC(3, 41));
        TD_EXPECT_EQ(td_conn_status(s.c)->phase, TD_PHASE_CONNECTED);
        n = sealed_record(V(3, 20, "expanded"), 0, TD_CT_HANDSHAKE, post[i].msg, post[i].len, rec,
                          sizeof(rec));
        feed(&s, rec, n);
        expect_failed(&s, post[i].name, post[i].rule, TD_ALERT_unexpected_message);
        srv_free(&s);
    }
    /* A KeyUpdate after the handshake is fine (and answered when requested). */
    srv_trace(&s, 3, 5, 4, 15, 16);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(3, 2));
    feed(&s, REC(3, 41));
    n = sealed_record(V(3, 20, "expanded"), 0, TD_CT_HANDSHAKE, k_key_update, sizeof(k_key_update),
                      rec, sizeof(rec));
    feed(&s, rec, n);
    TD_EXPECT_EQ(td_conn_status(s.c)->phase, TD_PHASE_CONNECTED);
    srv_free(&s);
}

/* §6 client flights: Certificate, CertificateVerify, Finished as the test says. */
static size_t concat(uint8_t *out, const uint8_t *a, size_t al, const uint8_t *b, size_t bl,
                     const uint8_t *c, size_t cl)
{
    memcpy(out, a, al);
    if (bl)
        memcpy(out + al, b, bl);
    if (cl)
        memcpy(out + al + bl, c, cl);
    return al + bl + cl;
}

static void run_auth_row(const char *name, cfg_edit_fn cfg, const uint8_t *msgs, size_t len,
                         const char *rule, td_alert alert)
{
    uint8_t rec[2048];
    srv s;
    srv_auth(&s);
    if (cfg)
        cfg(&s);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(6, 2));
    size_t n = sealed_record(V(6, 8, "expanded"), 0, TD_CT_HANDSHAKE, msgs, len, rec, sizeof(rec));
    feed(&s, rec, n);
    expect_failed(&s, name, rule, alert);
    srv_free(&s);
}

static uint8_t g_anchor[4096];
static size_t g_anchor_len;
static void c_other_anchor(srv *s)
{
    s->cfg.trust_anchor = g_anchor;
    s->cfg.trust_anchor_len = g_anchor_len;
}

static void c_request(srv *s)
{
    s->cfg.client_auth = TD_CLIENT_AUTH_REQUEST;
}

static void c_no_verify(srv *s)
{
    s->cfg.no_verify = true;
}

static void test_bad_client_auth(void)
{
    uint8_t msgs[2048], cv[256];
    size_t n;
#define CERT6 V(6, 40, "Certificate"), VL(6, 40, "Certificate")
#define CV6 V(6, 41, "CertificateVerify"), VL(6, 41, "CertificateVerify")
#define FIN6 V(6, 43, "Finished"), VL(6, 43, "Finished")
    n = concat(msgs, FIN6, NULL, 0, NULL, 0);
    run_auth_row("Finished instead of Certificate", NULL, msgs, n, "GEN-UNEXPECTED-ORDER",
                 TD_ALERT_unexpected_message);
    n = concat(msgs, CERT6, FIN6, NULL, 0);
    run_auth_row("Certificate then Finished", NULL, msgs, n, "CV-MISSING",
                 TD_ALERT_unexpected_message);
    n = concat(msgs, k_empty_cert, sizeof(k_empty_cert), FIN6, NULL, 0);
    run_auth_row("empty Certificate with REQUIRE", NULL, msgs, n, "CT-CLIENT-EMPTY",
                 TD_ALERT_certificate_required);
    n = concat(msgs, k_empty_cert, sizeof(k_empty_cert), CV6, NULL, 0);
    run_auth_row("CertificateVerify after an empty Certificate", c_request, msgs, n,
                 "CV-AFTER-EMPTY-CERT", TD_ALERT_unexpected_message);
    memcpy(cv, V(6, 41, "CertificateVerify"), VL(6, 41, "CertificateVerify"));
    cv[40] ^= 0x01;
    n = concat(msgs, CERT6, cv, VL(6, 41, "CertificateVerify"), FIN6);
    run_auth_row("CertificateVerify signature flipped", NULL, msgs, n, "CV-BAD-SIGNATURE",
                 TD_ALERT_decrypt_error);
    struct {
        uint16_t scheme;
        const char *rule;
    } schemes[] = {{0x0807, "CV-SCHEME-NOT-OFFERED"},
                   {0x0401, "CV-RSA-PKCS1"},
                   {0x0201, "CV-SHA1"},
                   {0x0403, "CV-KEY-MISMATCH"}};
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        memcpy(cv, V(6, 41, "CertificateVerify"), VL(6, 41, "CertificateVerify"));
        cv[4] = (uint8_t)(schemes[i].scheme >> 8);
        cv[5] = (uint8_t)schemes[i].scheme;
        n = concat(msgs, CERT6, cv, VL(6, 41, "CertificateVerify"), FIN6);
        run_auth_row(schemes[i].rule, NULL, msgs, n, schemes[i].rule, TD_ALERT_illegal_parameter);
    }
    /* The client Certificate with a context, or with an entry extension we did not ask for. */
    static const uint8_t ctx1[] = {0x2a}, unknown_ext[] = {0x77, 0x77, 0x00, 0x00};
    for (int variant = 0; variant < 2; variant++) {
        td_msg m;
        td_msg_ctx mctx = {.hash_len = 32, .sh_mode = TD_SH_AUTO};
        td_cbb cbb;
        uint8_t *data;
        size_t len;
        TD_REQUIRE(td_msg_parse_handshake(CERT6, &mctx, &m, NULL) == TD_OK);
        if (variant == 0)
            td_cbs_init(&m.u.cert.context, ctx1, sizeof(ctx1));
        else
            td_cbs_init(&m.u.cert.entries[0].extensions, unknown_ext, sizeof(unknown_ext));
        TD_REQUIRE(td_cbb_init(&cbb, 1024) && td_msg_build(&m, &cbb) == TD_OK &&
                   td_cbb_finish(&cbb, &data, &len));
        n = concat(msgs, data, len, CV6, FIN6);
        free(data);
        if (variant == 0)
            run_auth_row("certificate_request_context not echoed", NULL, msgs, n, "CT-CONTEXT",
                         TD_ALERT_illegal_parameter);
        else
            run_auth_row("unsolicited CertificateEntry extension", NULL, msgs, n,
                         "CT-EXT-UNSOLICITED", TD_ALERT_unsupported_extension);
    }
    /* §4.4.2.4, §6.2: an end-entity certificate that is not DER is a
     * bad_certificate, also for a server that does not verify chains (it
     * still needs the key for the CertificateVerify). */
    static const uint8_t not_der[] = {11,   0,    0,    17,   0, 0, 0, 13, 0, 0, 8,
                                      0x30, 0x82, 0xff, 0xff, 1, 2, 3, 4,  0, 0};
    n = concat(msgs, not_der, sizeof(not_der), CV6, FIN6);
    run_auth_row("client certificate not DER", c_no_verify, msgs, n, "CT-CLIENT-CHAIN-UNACCEPTABLE",
                 TD_ALERT_bad_certificate);
    /* A chain that does not reach our anchor. */
    size_t pem_len;
    char *pem = read_file(TD_VECTORS_DIR "/certs/other-ca.pem", &pem_len);
    td_der *list = NULL;
    size_t num = 0;
    TD_REQUIRE(pem != NULL && td_certs_from_pem(pem, pem_len, &list, &num) == TD_OK && num == 1);
    memcpy(g_anchor, list[0].data, list[0].len);
    g_anchor_len = list[0].len;
    td_der_list_free(list, num);
    free(pem);
    n = concat(msgs, CERT6, CV6, FIN6);
    run_auth_row("untrusted client chain", c_other_anchor, msgs, n, "CT-CLIENT-CHAIN-UNACCEPTABLE",
                 TD_ALERT_bad_certificate);
}

/* §4.2.10 rejected 0-RTT is skipped (TOL-EARLY-DATA-REJECT); accepted
 * 0-RTT beyond max_early_data_size fails (ED-TOO-MUCH). */
static void test_early_data_limits(void)
{
    static uint8_t rec[4096], big[2000];
    srv s;
    srv_resume(&s);
    s.cfg.accept_early_data = false;
    s.cfg.num_certs = 0;
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(4, 4));
    TD_EXPECT(td_conn_status(s.c)->resumed && !td_conn_status(s.c)->early_data_accepted);
    feed(&s, REC(4, 8));  /* 0-RTT data: skipped */
    feed(&s, REC(4, 44)); /* EndOfEarlyData under early keys: skipped too */
    TD_EXPECT_EQ(td_conn_status(s.c)->phase, TD_PHASE_HANDSHAKE);
    TD_EXPECT(strcmp(td_conn_status(s.c)->state, "S_WAIT_FINISHED") == 0);
    srv_free(&s);
    srv_resume(&s);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(4, 4));
    memset(big, 'x', sizeof(big));
    size_t n =
        sealed_record(V(4, 5, "expanded"), 0, TD_CT_APPLICATION_DATA, big, 1025, rec, sizeof(rec));
    feed(&s, rec, n);
    expect_failed(&s, "1025 bytes of 0-RTT, max 1024", "ED-TOO-MUCH", TD_ALERT_unexpected_message);
    srv_free(&s);
    srv_resume(&s);
    TD_REQUIRE(srv_start(&s) == 0);
    feed(&s, REC(4, 4));
    memcpy(rec, V(4, 8, "complete record"), VL(4, 8, "complete record"));
    rec[10] ^= 0x01;
    feed(&s, rec, VL(4, 8, "complete record"));
    expect_failed(&s, "accepted 0-RTT record that does not decrypt", "ED-BAD-MAC",
                  TD_ALERT_bad_record_mac);
    srv_free(&s);
}

static int g_keylog_lines;
static char g_keylog_first[256];
static void keylog(void *arg, const char *line)
{
    (void)arg;
    if (g_keylog_lines++ == 0)
        snprintf(g_keylog_first, sizeof(g_keylog_first), "%s", line);
}

static void test_keylog_and_alpn(void)
{
    static const char *const alpn[] = {"h2", "http/1.1"};
    static uint8_t rec[4096];
    srv s;
    srv_trace(&s, 3, 5, 4, 15, 16);
    s.cfg.keylog = keylog;
    s.cfg.alpn = alpn;
    s.cfg.num_alpn = 2;
    TD_REQUIRE(srv_start(&s) == 0);
    size_t n = ch_record(V(3, 1, "ClientHello"), VL(3, 1, "ClientHello"), e_alpn, rec, sizeof(rec));
    feed(&s, rec, n);
    const td_status *st = td_conn_status(s.c);
    TD_EXPECT_EQ(st->phase, TD_PHASE_HANDSHAKE);
    TD_EXPECT(strcmp(st->alpn, "http/1.1") == 0);
    TD_EXPECT_EQ(g_keylog_lines, 5);
    TD_EXPECT(strncmp(g_keylog_first, "CLIENT_HANDSHAKE_TRAFFIC_SECRET ", 32) == 0);
    srv_free(&s);
}

/* ---- engine/cert_check.c ---- */

static td_rule weak_of(const char *path)
{
    td_der *list = NULL;
    size_t num = 0;
    size_t len;
    char *pem = read_file(path, &len);
    td_rule r = TD_NUM_RULES;
    if (pem != NULL && td_certs_from_pem(pem, len, &list, &num) == TD_OK && num > 0)
        r = td_cert_weak_signature(list[0].data, list[0].len);
    td_der_list_free(list, num);
    free(pem);
    return r;
}

static void test_cert_weak_signature(void)
{
    TD_EXPECT_EQ(weak_of(TD_VECTORS_DIR "/certs/client-p256-sha1.pem"), TD_RULE_CT_SHA1);
    TD_EXPECT_EQ(weak_of(TD_VECTORS_DIR "/certs/client-p256-md5.pem"), TD_RULE_CT_MD5);
    TD_EXPECT_EQ(weak_of(TD_VECTORS_DIR "/certs/client-p256.pem"), TD_RULE_NONE);
    TD_EXPECT_EQ(weak_of(TD_VECTORS_DIR "/certs/server-rsa2048.pem"), TD_RULE_NONE);
    TD_EXPECT_EQ(weak_of(TD_VECTORS_DIR "/certs/ca.pem"), TD_RULE_NONE);
    /* The RFC 8448 certificates are self-signed (exempt whatever they use). */
    td_der d = cert_of(V(3, 15, "Certificate"));
    TD_EXPECT_EQ(td_cert_weak_signature(d.data, d.len), TD_RULE_NONE);
    /* Truncations and garbage parse as nothing (no crash, no rule). */
    td_der *list = NULL;
    size_t num = 0, len;
    char *pem = read_file(TD_VECTORS_DIR "/certs/client-p256-sha1.pem", &len);
    TD_REQUIRE(pem != NULL && td_certs_from_pem(pem, len, &list, &num) == TD_OK && num == 1);
    int found = 0;
    for (size_t cut = 0; cut < list[0].len; cut++)
        found += td_cert_weak_signature(list[0].data, cut) != TD_RULE_NONE;
    TD_EXPECT_EQ(found, 0);
    td_der_list_free(list, num);
    free(pem);
}

/* ---- mutation sweep: never a crash, always an alert its rule allows ---- */

/* Feeds |rec| with one bit flipped at every byte (after |prefix| bytes that
 * the server must accept) and checks the outcome: the server either goes
 * on, or fails naming a rule whose allowed alerts include the one it sent. */
static void sweep(void (*setup)(srv *s), const uint8_t *prefix, size_t prefix_len,
                  const uint8_t *rec, size_t len, const char *what)
{
    static uint8_t buf[4096];
    int failures = 0, aborted = 0;
    for (size_t i = 5; i < len && len <= sizeof(buf); i++) {
        srv s;
        setup(&s);
        if (srv_start(&s) != 0)
            return;
        if (prefix_len > 0) {
            feed(&s, prefix, prefix_len);
            const uint8_t *out;
            size_t n;
            td_conn_drain(s.c, &out, &n);
        }
        memcpy(buf, rec, len);
        buf[i] ^= (uint8_t)(1u << (i % 8));
        feed(&s, buf, len);
        const td_status *st = td_conn_status(s.c);
        if (st->phase == TD_PHASE_FAILED) {
            aborted++;
            if (st->diag.rule != TD_RULE_NONE &&
                !td_rule_allows(st->diag.rule, (td_alert)st->alert_sent_desc)) {
                failures++;
                fprintf(stderr, "%s: byte %zu: rule %s does not allow alert %s\n", what, i,
                        td_rule_get(st->diag.rule)->id, td_alert_name(st->alert_sent_desc));
            }
            if (!st->alert_sent)
                failures++;
        }
        srv_free(&s);
    }
    TD_EXPECT_EQ(failures, 0);
    TD_EXPECT(aborted > 0);
}

static void setup_simple(srv *s)
{
    srv_trace(s, 3, 5, 4, 15, 16);
}
static void setup_hrr(srv *s)
{
    srv_hrr(s, true);
}

/* The §6 client flight (Certificate, CertificateVerify, Finished) with a
 * bit flipped in the plaintext, sealed under the client's handshake keys. */
static void sweep_client_auth(void)
{
    uint8_t msgs[2048], rec[2048];
    size_t len = 0;
    int failures = 0;
    memcpy(msgs, V(6, 44, "payload"), VL(6, 44, "payload"));
    len = VL(6, 44, "payload");
    for (size_t i = 0; i < len; i += 3) {
        srv s;
        srv_auth(&s);
        if (srv_start(&s) != 0)
            break;
        feed(&s, REC(6, 2));
        msgs[i] ^= (uint8_t)(1u << (i % 8));
        size_t n =
            sealed_record(V(6, 8, "expanded"), 0, TD_CT_HANDSHAKE, msgs, len, rec, sizeof(rec));
        msgs[i] ^= (uint8_t)(1u << (i % 8));
        feed(&s, rec, n);
        const td_status *st = td_conn_status(s.c);
        /* Every byte of the flight matters (the Finished covers it all),
         * except a longer message length: then the server waits for more. */
        if (st->phase == TD_PHASE_HANDSHAKE && td_hs_reasm_pending(&s.c->reasm)) {
            srv_free(&s);
            continue;
        }
        if (st->phase != TD_PHASE_FAILED || !st->alert_sent ||
            (st->diag.rule != TD_RULE_NONE &&
             !td_rule_allows(st->diag.rule, (td_alert)st->alert_sent_desc))) {
            failures++;
            fprintf(stderr, "client flight byte %zu: phase %s rule %s\n", i,
                    td_phase_name(st->phase),
                    td_rule_get(st->diag.rule) ? td_rule_get(st->diag.rule)->id : "-");
        }
        srv_free(&s);
    }
    TD_EXPECT_EQ(failures, 0);
}

static void test_mutation_sweep(void)
{
    sweep_client_auth();
    sweep(setup_simple, NULL, 0, REC(3, 2), "§3 ClientHello");
    sweep(srv_resume, NULL, 0, REC(4, 4), "§4 ClientHello (PSK)");
    sweep(setup_hrr, REC(5, 2), REC(5, 7), "§5 second ClientHello");
}

int main(void)
{
    if (td_vec_load() != 0 || td_crypto_new(&g_crypto) != TD_OK) {
        fprintf(stderr, "cannot load vectors or crypto\n");
        return 1;
    }
    TD_RUN(test_rebuild_identity);
    TD_RUN(test_bad_client_hellos);
    TD_RUN(test_tolerated_client_hellos);
    TD_RUN(test_bad_second_client_hellos);
    TD_RUN(test_wrong_state_messages);
    TD_RUN(test_bad_client_auth);
    TD_RUN(test_early_data_limits);
    TD_RUN(test_keylog_and_alpn);
    TD_RUN(test_cert_weak_signature);
    TD_RUN(test_mutation_sweep);
    td_crypto_free(g_crypto);
    td_vec_free();
    return td_test_report("test_server_checks");
}
