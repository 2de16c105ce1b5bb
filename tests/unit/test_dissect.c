/* tests/unit/test_dissect.c -- the dissector (tlsdrill/dissect.h): a capture
 * of an in-memory handshake (with client auth, a KeyUpdate and application
 * data) decodes into the expected tree and decrypts with the key log; the
 * same bytes as pcapng (secrets embedded), big-endian pcap and Ethernet
 * frames give the same tree; feeding byte by byte changes nothing; key log
 * errors name their line; every truncation decodes up to the cut and says
 * where; and thousands of mutations of the capture end in TD_OK or a
 * reported error, never a crash (this test
 * also runs under ASan+UBSan). */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_test.h"

#include "dissect/dissect_internal.h"
#include "td_pair_fixture.h"
#include "tlsdrill/dissect.h"
#include "tlsdrill/record.h"
#include "tlsdrill/transcript.h"

static td_crypto *g_crypto;

typedef struct fixture {
    uint8_t *pcap;
    size_t pcap_len;
    char *keys;
    size_t keys_len;
} fixture;

static fixture g_fx;

static bool make_capture(void)
{
    pair_fx f;
    if (!fx_init(&f, g_crypto))
        return false;
    td_keylog *k = NULL;
    td_pcap *p = NULL;
    td_pair *pair = NULL;
    bool ok = false;
    if (td_keylog_new(&k) != TD_OK || td_pcap_new(0, &p) != TD_OK)
        goto out;
    f.ccfg.keylog = td_keylog_append;
    f.ccfg.keylog_arg = k;
    f.ccfg.certs = &f.cck;
    f.ccfg.num_certs = 1;
    f.scfg.client_auth = TD_CLIENT_AUTH_REQUIRE;
    static const uint16_t suite[] = {TD_TLS_AES_256_GCM_SHA384};
    f.ccfg.suites = suite;
    f.ccfg.num_suites = 1;
    if (td_pair_new(&f.ccfg, &f.scfg, &pair) != TD_OK || td_pair_run(pair, 0) != TD_OK)
        goto out;
    bool moved;
    if (td_conn_write(td_pair_client(pair), (const uint8_t *)"ping", 4) != TD_OK ||
        td_pair_step(pair, &moved) != TD_OK ||
        td_conn_key_update(td_pair_client(pair), true) != TD_OK ||
        td_pair_step(pair, &moved) != TD_OK || td_pair_step(pair, &moved) != TD_OK ||
        td_conn_write(td_pair_client(pair), (const uint8_t *)"pong", 4) != TD_OK ||
        td_conn_write(td_pair_server(pair), (const uint8_t *)"back", 4) != TD_OK ||
        td_pair_step(pair, &moved) != TD_OK)
        goto out;
    td_pcap_flow flow;
    td_pcap_flow_init(&flow, 0);
    if (td_pcap_pair(p, &flow, pair) != TD_OK)
        goto out;
    size_t n;
    const uint8_t *b = td_pcap_bytes(p, &n);
    g_fx.pcap = fx_copy(b, n);
    g_fx.pcap_len = n;
    const char *t = td_keylog_text(k, &n);
    g_fx.keys = t ? (char *)fx_copy((const uint8_t *)t, n + 1) : NULL;
    g_fx.keys_len = n;
    ok = g_fx.pcap != NULL && g_fx.keys != NULL;
out:
    td_pair_free(pair);
    td_pcap_free(p);
    td_keylog_free(k);
    fx_cleanup(&f);
    return ok;
}

/* Depth-first search: the number of nodes named |name| with attribute or
 * field |key| equal to |value| (NULL: any). */
static size_t count(const td_dis_node *n, const char *name, const char *key, const char *value)
{
    size_t c = 0;
    if (strcmp(td_dis_node_name(n), name) == 0 &&
        (key == NULL ||
         (td_dis_get(n, key) != NULL && (value == NULL || strcmp(td_dis_get(n, key), value) == 0))))
        c++;
    for (size_t i = 0; i < td_dis_num_children(n); i++)
        c += count(td_dis_child_at(n, i), name, key, value);
    return c;
}

static char *render(const td_dis_node *n, bool json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return NULL;
    if (json)
        td_dis_print_json(n, f);
    else
        td_dis_print_text(n, f, 0);
    fclose(f);
    return buf;
}

static td_dis_node *dissect(const uint8_t *b, size_t n, const td_dis_keys *keys, td_err *err)
{
    td_dis_node *t = NULL;
    td_diag d;
    td_diag_clear(&d);
    *err = td_dissect_capture(g_crypto, b, n, keys, NULL, &t, &d);
    if (*err == TD_OK && t == NULL)
        *err = TD_ERR_ARG;
    return t;
}

static void test_tree_and_decryption(void)
{
    td_dis_keys *keys = NULL;
    td_diag d;
    TD_REQUIRE(td_dis_keys_parse(g_fx.keys, g_fx.keys_len, &keys, &d) == TD_OK);
    TD_EXPECT_EQ(td_dis_keys_count(keys), 4);
    td_err err;
    td_dis_node *plain = dissect(g_fx.pcap, g_fx.pcap_len, NULL, &err);
    td_dis_node *t = dissect(g_fx.pcap, g_fx.pcap_len, keys, &err);
    TD_REQUIRE(t != NULL && plain != NULL);
    TD_EXPECT_EQ(count(t, "stream", NULL, NULL), 1);
    TD_EXPECT_EQ(count(t, "handshake", "type", "client_hello (1)"), 1);
    TD_EXPECT_EQ(count(t, "handshake", "type", "server_hello (2)"), 1);
    /* Without keys nothing encrypted decodes; with them every message does. */
    TD_EXPECT_EQ(count(plain, "handshake", "type", "encrypted_extensions (8)"), 0);
    TD_EXPECT_EQ(count(plain, "record", "protection", "encrypted (no key log)"),
                 count(t, "record", "inner", NULL));
    TD_EXPECT_EQ(count(t, "handshake", "type", "encrypted_extensions (8)"), 1);
    TD_EXPECT_EQ(count(t, "handshake", "type", "certificate_request (13)"), 1);
    TD_EXPECT_EQ(count(t, "handshake", "type", "certificate (11)"), 2);
    TD_EXPECT_EQ(count(t, "handshake", "type", "certificate_verify (15)"), 2);
    TD_EXPECT_EQ(count(t, "handshake", "type", "finished (20)"), 2);
    TD_EXPECT_EQ(count(t, "handshake", "type", "new_session_ticket (4)"), 1);
    /* Both sides update their keys (the client asked for the server's). */
    TD_EXPECT_EQ(count(t, "handshake", "type", "key_update (24)"), 2);
    TD_EXPECT_EQ(count(t, "record", "protection", "application traffic (updated)"), 2);
    TD_EXPECT_EQ(count(t, "application_data", "length", "4"), 3);
    TD_EXPECT_EQ(count(t, "record", "protection", "encrypted (no logged key authenticates it)"), 0);
    TD_EXPECT_EQ(count(t, "extension", "type", "key_share (51)"), 2);
    TD_EXPECT_EQ(count(t, "key_share_entry", "group", "x25519 (0x001d)"), 2);
    char *text = render(t, false);
    TD_REQUIRE(text != NULL);
    TD_EXPECT(strstr(text, "cipher_suite: TLS_AES_256_GCM_SHA384 (0x1302)") != NULL);
    TD_EXPECT(strstr(text, "host_name: server.example") != NULL);
    TD_EXPECT(strstr(text, "request_update: update_requested (1)") != NULL);
    TD_EXPECT(strstr(text, "selected_version: TLS 1.3 (0x0304)") != NULL);
    char *json = render(t, true);
    TD_EXPECT(json != NULL && strncmp(json, "{\"node\": \"capture\"", 18) == 0);
    free(json);
    free(text);
    td_dis_node_free(t);
    td_dis_node_free(plain);
    td_dis_keys_free(keys);
}

/* The capture's packets (IPv4) as other containers. */
static uint8_t *convert(int kind, size_t *out_len)
{
    size_t cap = g_fx.pcap_len * 2 + g_fx.keys_len + 4096, o = 0;
    uint8_t *b = calloc(1, cap);
    const uint8_t *p = g_fx.pcap;
#define PUT32(v, be)                                                                               \
    do {                                                                                           \
        uint32_t v_ = (v);                                                                         \
        for (int i_ = 0; i_ < 4; i_++)                                                             \
            b[o + (size_t)i_] = (uint8_t)(v_ >> ((be) ? 24 - 8 * i_ : 8 * i_));                    \
        o += 4;                                                                                    \
    } while (0)
    if (b == NULL)
        return NULL;
    if (kind == 0 || kind == 1) { /* 0: big-endian pcap, 1: Ethernet link type */
        bool be = kind == 0;
        PUT32(0xa1b2c3d4u, be);
        b[o++] = be ? 0 : 2, b[o++] = be ? 2 : 0, b[o++] = be ? 0 : 4, b[o++] = be ? 4 : 0;
        PUT32(0, be);
        PUT32(0, be);
        PUT32(65535, be);
        PUT32(kind == 1 ? 1 : 101, be);
    } else { /* 2: pcapng with the key log embedded */
        PUT32(0x0a0d0d0au, false);
        PUT32(28, false);
        PUT32(0x1a2b3c4du, false);
        b[o++] = 1, b[o++] = 0, b[o++] = 0, b[o++] = 0;
        memset(b + o, 0xff, 8), o += 8;
        PUT32(28, false);
        PUT32(1, false); /* IDB */
        PUT32(20, false);
        b[o++] = 101, b[o++] = 0, b[o++] = 0, b[o++] = 0;
        PUT32(65535, false);
        PUT32(20, false);
        size_t pad = (4 - g_fx.keys_len % 4) % 4;
        PUT32(10, false); /* DSB */
        PUT32((uint32_t)(20 + g_fx.keys_len + pad), false);
        PUT32(0x544c534bu, false);
        PUT32((uint32_t)g_fx.keys_len, false);
        memcpy(b + o, g_fx.keys, g_fx.keys_len), o += g_fx.keys_len + pad;
        PUT32((uint32_t)(20 + g_fx.keys_len + pad), false);
    }
    for (size_t off = 24; off + 16 <= g_fx.pcap_len;) {
        uint32_t len = (uint32_t)p[off + 8] | (uint32_t)p[off + 9] << 8;
        const uint8_t *pkt = p + off + 16;
        if (kind == 2) {
            /* The first packet carries an opt_comment ("hello", padded) and opt_endofopt. */
            size_t pad = (4 - len % 4) % 4;
            uint32_t opts = off == 24 ? 4 + 8 + 4 : 0;
            PUT32(6, false);
            PUT32(32 + len + (uint32_t)pad + opts, false);
            PUT32(0, false);
            PUT32(0, false);
            PUT32(0, false);
            PUT32(len, false);
            PUT32(len, false);
            memcpy(b + o, pkt, len), o += len + pad;
            if (opts) {
                b[o++] = 1, b[o++] = 0, b[o++] = 5, b[o++] = 0;
                memcpy(b + o, "hello\0\0\0", 8), o += 8;
                PUT32(0, false);
            }
            PUT32(32 + len + (uint32_t)pad + opts, false);
        } else {
            uint32_t l = kind == 1 ? len + 14 : len;
            bool be = kind == 0;
            PUT32(0, be);
            PUT32(0, be);
            PUT32(l, be);
            PUT32(l, be);
            if (kind == 1) {
                memset(b + o, 0x02, 12), o += 12;
                b[o++] = 0x08, b[o++] = 0x00;
            }
            memcpy(b + o, pkt, len), o += len;
        }
        off += 16 + len;
    }
#undef PUT32
    *out_len = o;
    return b;
}

static void test_other_containers_same_tree(void)
{
    td_dis_keys *keys = NULL;
    td_diag d;
    td_err err;
    TD_REQUIRE(td_dis_keys_parse(g_fx.keys, g_fx.keys_len, &keys, &d) == TD_OK);
    td_dis_node *ref = dissect(g_fx.pcap, g_fx.pcap_len, keys, &err);
    TD_REQUIRE(ref != NULL);
    char *want = render(td_dis_child_at(ref, 0), false);
    for (int kind = 0; kind < 3; kind++) {
        size_t n = 0;
        uint8_t *b = convert(kind, &n);
        TD_REQUIRE(b != NULL);
        /* pcapng carries its own secrets: no key log given. */
        td_dis_node *t = dissect(b, n, kind == 2 ? NULL : keys, &err);
        TD_EXPECT_EQ(err, TD_OK);
        if (t != NULL) {
            char *got = render(td_dis_child_at(t, 0), false);
            /* pcapng: the same tree plus the comment line. */
            char *cm = got != NULL ? strstr(got, "  comment: hello\n") : NULL;
            if (kind == 2 && cm != NULL)
                memmove(cm, cm + 17, strlen(cm + 17) + 1);
            TD_EXPECT(got != NULL && want != NULL && strcmp(got, want) == 0);
            if (kind == 2) {
                TD_EXPECT(td_dis_get(t, "keys") != NULL);
                const char *note = td_dis_get(td_dis_child_at(t, 0), "comment");
                TD_EXPECT(note != NULL && strcmp(note, "hello") == 0);
            }
            free(got);
        }
        td_dis_node_free(t);
        free(b);
    }
    free(want);
    td_dis_node_free(ref);
    td_dis_keys_free(keys);
}

/* td_dis_conn fed one byte at a time gives the tree of whole records. */
static void test_conn_byte_by_byte(void)
{
    td_dis_keys *keys = NULL;
    td_diag d;
    TD_REQUIRE(td_dis_keys_parse(g_fx.keys, g_fx.keys_len, &keys, &d) == TD_OK);
    char *texts[2] = {NULL, NULL};
    for (int mode = 0; mode < 2; mode++) {
        td_dis_node *root = NULL;
        td_dis_conn *c = NULL;
        TD_REQUIRE(td_dis_node_new("conn", NULL, &root) == TD_OK);
        TD_REQUIRE(td_dis_conn_new(g_crypto, keys, NULL, root, &c) == TD_OK);
        /* The records of the capture, straight from the TCP payloads. */
        const uint8_t *p = g_fx.pcap;
        for (size_t off = 24; off + 16 <= g_fx.pcap_len;) {
            size_t len = (size_t)p[off + 8] | (size_t)p[off + 9] << 8;
            const uint8_t *ip = p + off + 16;
            size_t payload = len - 40;
            td_dir dir = ip[15] == 1 ? TD_DIR_C2S : TD_DIR_S2C; /* 10.0.0.1 is the client */
            for (size_t i = 0; i < payload; i += mode ? 1 : payload)
                TD_EXPECT_EQ(td_dis_conn_feed(c, dir, ip + 40 + i, mode ? 1 : payload), TD_OK);
            off += 16 + len;
        }
        TD_EXPECT_EQ(td_dis_conn_finish(c), TD_OK);
        texts[mode] = render(root, false);
        td_dis_conn_free(c);
        td_dis_node_free(root);
    }
    TD_EXPECT(texts[0] != NULL && texts[1] != NULL && strcmp(texts[0], texts[1]) == 0);
    TD_EXPECT(texts[0] != NULL && strstr(texts[0], "finished (20)") != NULL);
    free(texts[0]);
    free(texts[1]);
    td_dis_keys_free(keys);
}

/* The TCP payloads of the fixture capture, per direction. */
static size_t payloads(td_dir dir, uint8_t *out, size_t cap)
{
    size_t n = 0;
    const uint8_t *p = g_fx.pcap;
    for (size_t off = 24; off + 16 <= g_fx.pcap_len;) {
        size_t len = (size_t)p[off + 8] | (size_t)p[off + 9] << 8;
        const uint8_t *ip = p + off + 16;
        if ((ip[15] == 1 ? TD_DIR_C2S : TD_DIR_S2C) == dir && len > 40 && n + len - 40 <= cap) {
            memcpy(out + n, ip + 40, len - 40);
            n += len - 40;
        }
        off += 16 + len;
    }
    return n;
}

/* A server record that does not authenticate (corrupted tag) stays
 * encrypted, and every later record still decrypts: its sequence number
 * was used. */
static void test_corrupt_record_skipped(void)
{
    td_dis_keys *keys = NULL;
    td_diag d;
    TD_REQUIRE(td_dis_keys_parse(g_fx.keys, g_fx.keys_len, &keys, &d) == TD_OK);
    static uint8_t c2s[16384], s2c[16384];
    size_t nc = payloads(TD_DIR_C2S, c2s, sizeof(c2s)), ns = payloads(TD_DIR_S2C, s2c, sizeof(s2c));
    size_t ends[64], num = 0, encrypted = 0;
    for (size_t off = 0; off + 5 <= ns && num < 64;
         off += 5 + ((size_t)s2c[off + 3] << 8 | s2c[off + 4])) {
        ends[num++] = off + 5 + ((size_t)s2c[off + 3] << 8 | s2c[off + 4]);
        encrypted += s2c[off] == TD_CT_APPLICATION_DATA;
    }
    TD_REQUIRE(encrypted >= 4);
    for (size_t i = 0; i < num; i++) {
        size_t start = i ? ends[i - 1] : 0;
        if (s2c[start] != TD_CT_APPLICATION_DATA)
            continue;
        static uint8_t bad[16384];
        memcpy(bad, s2c, ns);
        bad[ends[i] - 1] ^= 0x80;
        td_dis_node *root = NULL;
        td_dis_conn *c = NULL;
        TD_REQUIRE(td_dis_node_new("conn", NULL, &root) == TD_OK);
        TD_REQUIRE(td_dis_conn_new(g_crypto, keys, NULL, root, &c) == TD_OK);
        /* The client's first flight, then the server's, then the rest. */
        TD_EXPECT_EQ(td_dis_conn_feed(c, TD_DIR_C2S, c2s, 5 + ((size_t)c2s[3] << 8 | c2s[4])),
                     TD_OK);
        TD_EXPECT_EQ(td_dis_conn_feed(c, TD_DIR_S2C, bad, ns), TD_OK);
        size_t dec_s2c = 0;
        td_dis_conn_records(c, &dec_s2c);
        TD_EXPECT_EQ(dec_s2c, encrypted - 1);
        TD_EXPECT_EQ(
            count(root, "record", "protection", "encrypted (no logged key authenticates it)"), 1);
        (void)nc;
        td_dis_conn_free(c);
        td_dis_node_free(root);
    }
    td_dis_keys_free(keys);
}

static void test_keylog_errors(void)
{
    static const struct {
        const char *text;
        const char *want;
    } bad[] = {
        {"# ok\nCLIENT_HANDSHAKE_TRAFFIC_SECRET 00 "
         "0000000000000000000000000000000000000000000000000000000000000000\n",
         "line 2: the client_random"},
        {"CLIENT_TRAFFIC_SECRET_0 "
         "0000000000000000000000000000000000000000000000000000000000000000 abc\n",
         "line 1: the secret"},
        {"SERVER_TRAFFIC_SECRET_0 onlytwo\n", "line 1: expected"},
        {"\n\nA b c d\n", "line 3: more than three words"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        td_dis_keys *k = NULL;
        td_diag d;
        td_diag_clear(&d);
        TD_EXPECT_EQ(td_dis_keys_parse(bad[i].text, strlen(bad[i].text), &k, &d), TD_ERR_FORMAT);
        TD_EXPECT(k == NULL);
        if (strstr(d.text, bad[i].want) == NULL)
            fprintf(stderr, "  key log %zu: '%s' lacks '%s'\n", i, d.text, bad[i].want);
        TD_EXPECT(strstr(d.text, bad[i].want) != NULL);
    }
    /* Labels we do not use and TLS 1.2 lines are skipped, not errors. */
    const char *ok = "CLIENT_RANDOM 00 11\nEXPORTER_SECRET x y\n";
    td_dis_keys *k = NULL;
    td_diag d;
    TD_EXPECT_EQ(td_dis_keys_parse(ok, strlen(ok), &k, &d), TD_OK);
    TD_EXPECT_EQ(td_dis_keys_count(k), 0);
    td_dis_keys_free(k);
}

static void test_malformed_files_are_errors(void)
{
    static const struct {
        const char *bytes;
        size_t len;
        td_err err;
        const char *want;
    } bad[] = {
        {"", 0, TD_ERR_FORMAT, "too short"},
        {"{\"cases\": []}", 13, TD_ERR_FORMAT, "not a capture file"},
        {"\xd4\xc3\xb2\xa1\x02\x00\x04\x00", 8, TD_ERR_FORMAT, "file header is truncated"},
        {"\xd4\xc3\xb2\xa1\x02\x00\x04\x00\0\0\0\0\0\0\0\0\xff\xff\0\0\x69\0\0\0", 24,
         TD_ERR_UNSUPPORTED, "link type 105"},
        {"\xd4\xc3\xb2\xa1\x02\x00\x04\x00\0\0\0\0\0\0\0\0\xff\xff\0\0\x65\0\0\0"
         "\0\0\0\0\0\0\0\0\x00\0\x10\0\x30\0\0\0\x45",
         41, TD_ERR_FORMAT, "packet 1: a packet's captured length is larger than 256 KiB"},
        {"\x0a\x0d\x0d\x0a\x1c\0\0\0\x4d\x3c\x2b\x1a\1\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff"
         "\x1d\0\0\0",
         28, TD_ERR_FORMAT, "trailing length"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        td_dis_node *t = NULL;
        td_diag d;
        td_diag_clear(&d);
        TD_EXPECT_EQ(td_dissect_capture(g_crypto, (const uint8_t *)bad[i].bytes, bad[i].len, NULL,
                                        NULL, &t, &d),
                     bad[i].err);
        TD_EXPECT(t == NULL);
        if (strstr(d.text, bad[i].want) == NULL)
            fprintf(stderr, "  case %zu: '%s' lacks '%s'\n", i, d.text, bad[i].want);
        TD_EXPECT(strstr(d.text, bad[i].want) != NULL);
    }
}

static bool acceptable(td_err err)
{
    return err == TD_OK || err == TD_ERR_FORMAT || err == TD_ERR_UNSUPPORTED;
}

/* Every prefix of the capture (a copy cut short, a capture still being
 * written): past the file header each one decodes up to the cut, with a
 * `truncated` field ("at byte N, packet K") exactly when the cut is inside
 * a packet; the records decoded never decrease as the cut moves on, and a
 * cut inside a packet decodes the part of it that is there. The pcapng
 * copy likewise once its section header and interface are whole. */
static void test_every_truncation(void)
{
    td_dis_keys *keys = NULL;
    td_diag d;
    TD_REQUIRE(td_dis_keys_parse(g_fx.keys, g_fx.keys_len, &keys, &d) == TD_OK);
    size_t ng_len = 0;
    uint8_t *ng = convert(2, &ng_len);
    TD_REQUIRE(ng != NULL);
    static bool boundary[1 << 16];
    TD_REQUIRE(g_fx.pcap_len < sizeof(boundary));
    for (size_t off = 24; off + 16 <= g_fx.pcap_len;) {
        boundary[off] = true;
        off += 16 + ((size_t)g_fx.pcap[off + 8] | (size_t)g_fx.pcap[off + 9] << 8);
    }
    boundary[g_fx.pcap_len] = true;
    td_err ferr;
    td_dis_node *full = dissect(g_fx.pcap, g_fx.pcap_len, keys, &ferr);
    TD_REQUIRE(ferr == TD_OK && count(full, "record", NULL, NULL) >= 10);
    size_t ok = 0, errors = 0, cut_ok = 0, last_records = 0;
    for (int kind = 0; kind < 2; kind++) {
        const uint8_t *src = kind == 0 ? g_fx.pcap : ng;
        size_t len = kind == 0 ? g_fx.pcap_len : ng_len;
        last_records = 0;
        for (size_t n = 0; n <= len; n++) {
            uint8_t *b = fx_copy(src, n); /* exact size: ASan sees any overread */
            td_err err;
            td_dis_node *t = dissect(b, n, keys, &err);
            TD_EXPECT(acceptable(err));
            ok += err == TD_OK;
            errors += err != TD_OK;
            if (kind == 0 && n >= 24)
                TD_EXPECT_EQ(err, TD_OK);
            if (err == TD_OK) {
                const char *tr = td_dis_get(t, "truncated");
                if (kind == 0 && n >= 24)
                    TD_EXPECT((tr != NULL) == !boundary[n]);
                if (tr != NULL) {
                    char want[32];
                    snprintf(want, sizeof(want), "at byte %zu, packet ", n);
                    TD_EXPECT(strncmp(tr, want, strlen(want)) == 0);
                    cut_ok++;
                }
                size_t records = count(t, "record", NULL, NULL);
                TD_EXPECT(records >= last_records);
                last_records = records;
                char *s = render(t, true);
                free(s);
            }
            td_dis_node_free(t);
            free(b);
        }
        /* The whole file: every record, nothing cut. */
        TD_EXPECT_EQ(last_records, count(full, "record", NULL, NULL));
    }
    TD_EXPECT(ok > 1000 && errors > 10 && cut_ok > 1000);
    /* A cut in the middle of a record's data: the part present is shown. */
    size_t at = 0;
    for (size_t off = 24, k = 0; off + 16 <= g_fx.pcap_len && at == 0; k++) {
        size_t incl = (size_t)g_fx.pcap[off + 8] | (size_t)g_fx.pcap[off + 9] << 8;
        if (incl > 200)
            at = off + 16 + incl / 2;
        off += 16 + incl;
    }
    TD_REQUIRE(at > 0);
    td_err err;
    td_dis_node *t = dissect(g_fx.pcap, at, keys, &err);
    TD_REQUIRE(err == TD_OK);
    TD_EXPECT(count(t, "truncated", NULL, NULL) == 1);
    td_dis_node_free(t);
    td_dis_node_free(full);
    free(ng);
    td_dis_keys_free(keys);
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Random byte flips anywhere (file headers, IP/TCP headers, TLS records,
 * ciphertext): decoded or refused, never a crash. */
static void test_mutations(void)
{
    td_dis_keys *keys = NULL;
    td_diag d;
    TD_REQUIRE(td_dis_keys_parse(g_fx.keys, g_fx.keys_len, &keys, &d) == TD_OK);
    size_t ng_len = 0;
    uint8_t *ng = convert(2, &ng_len); /* pcapng: blocks, options, secrets */
    TD_REQUIRE(ng != NULL);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    size_t decoded = 0;
    for (int i = 0; i < 4000; i++) {
        const uint8_t *src = i % 4 == 3 ? ng : g_fx.pcap;
        size_t n = i % 4 == 3 ? ng_len : g_fx.pcap_len;
        uint8_t *b = fx_copy(src, n);
        TD_REQUIRE(b != NULL);
        int flips = 1 + (int)(xorshift(&seed) % 4);
        for (int k = 0; k < flips; k++) {
            size_t at = (size_t)(xorshift(&seed) % n);
            uint64_t r = xorshift(&seed);
            b[at] = (r & 3) == 0 ? 0xff : (r & 3) == 1 ? 0x00 : (uint8_t)(b[at] ^ (r >> 8));
        }
        td_err err;
        td_dis_node *t = dissect(b, n, (i & 1) ? keys : NULL, &err);
        TD_EXPECT(acceptable(err));
        if (err == TD_OK) {
            decoded++;
            char *s = render(t, (i & 2) != 0);
            TD_EXPECT(s != NULL);
            free(s);
        }
        td_dis_node_free(t);
        free(b);
    }
    TD_EXPECT(decoded > 1000);
    free(ng);
    td_dis_keys_free(keys);
}

/* A Certificate message around |der| (one entry, no extensions). */
static size_t cert_msg(const uint8_t *der, size_t n, uint8_t *out)
{
    size_t list = 3 + n + 2, body = 1 + 3 + list;
    uint8_t *p = out;
    *p++ = TD_MSG_CERTIFICATE;
    *p++ = (uint8_t)(body >> 16), *p++ = (uint8_t)(body >> 8), *p++ = (uint8_t)body;
    *p++ = 0; /* certificate_request_context */
    *p++ = (uint8_t)(list >> 16), *p++ = (uint8_t)(list >> 8), *p++ = (uint8_t)list;
    *p++ = (uint8_t)(n >> 16), *p++ = (uint8_t)(n >> 8), *p++ = (uint8_t)n;
    memcpy(p, der, n), p += n;
    *p++ = 0, *p++ = 0;
    return (size_t)(p - out);
}

/* The subject/issuer reader walks DER by hand: every truncation and many
 * mutations of a real certificate are read or refused, never overread. */
static void test_certificate_names(void)
{
    td_der *der = NULL;
    size_t num = 0;
    TD_REQUIRE(td_certs_from_pem_file(TD_VECTORS_DIR "/certs/server-p256.pem", &der, &num) ==
                   TD_OK &&
               num == 1);
    static dis_scratch scratch;
    static uint8_t msg[4096];
    TD_REQUIRE(der[0].len + 16 <= sizeof(msg));
    uint64_t seed = 42;
    for (size_t i = 0; i <= der[0].len + 2000; i++) {
        uint8_t *c = fx_copy(der[0].data, der[0].len);
        size_t len = der[0].len;
        if (i < der[0].len)
            len = i; /* truncated */
        else if (i > der[0].len)
            for (int k = 0; k < 3; k++)
                c[xorshift(&seed) % len] ^= (uint8_t)(1 + xorshift(&seed) % 255);
        size_t ml = cert_msg(c, len, msg);
        uint8_t *exact = fx_copy(msg, ml);
        td_dis_node *root = NULL;
        dis_hs_info info;
        TD_REQUIRE(td_dis_node_new("r", NULL, &root) == TD_OK);
        TD_EXPECT_EQ(dis_handshake(root, exact, ml, 32, 32, &scratch, &info), TD_OK);
        const td_dis_node *entry = td_dis_child_at(td_dis_child_at(root, 0), 0);
        if (i == der[0].len) {
            TD_EXPECT(entry != NULL && td_dis_get(entry, "subject") != NULL &&
                      strcmp(td_dis_get(entry, "subject"), "CN=server.tlsdrill.test") == 0);
            TD_EXPECT(entry != NULL && td_dis_get(entry, "issuer") != NULL &&
                      strcmp(td_dis_get(entry, "issuer"), "CN=tlsdrill test CA") == 0);
        } else if (i > 0 && i < 8 && entry != NULL) {
            TD_EXPECT(td_dis_get(entry, "x509") != NULL);
        }
        td_dis_node_free(root);
        free(exact);
        free(c);
    }
    td_der_list_free(der, num);
}

int main(void)
{
    if (td_crypto_new(&g_crypto) != TD_OK)
        return 1;
    if (!make_capture()) {
        fprintf(stderr, "test_dissect: cannot build the capture\n");
        return 1;
    }
    TD_RUN(test_tree_and_decryption);
    TD_RUN(test_other_containers_same_tree);
    TD_RUN(test_conn_byte_by_byte);
    TD_RUN(test_corrupt_record_skipped);
    TD_RUN(test_keylog_errors);
    TD_RUN(test_malformed_files_are_errors);
    TD_RUN(test_every_truncation);
    TD_RUN(test_mutations);
    TD_RUN(test_certificate_names);
    free(g_fx.pcap);
    if (g_fx.keys != NULL)
        td_cleanse(g_fx.keys, g_fx.keys_len);
    free(g_fx.keys);
    td_crypto_free(g_crypto);
    return td_test_report("test_dissect");
}
