/* tests/unit/test_transcript.c -- the pcap writer and the key log
 * (tlsdrill/transcript.h): the file parses back into coherent IPv4/TCP
 * packets (checksums, sequence/ack numbers, SYN/FIN), the reassembled
 * streams are the pair's streams byte for byte, and the key log holds the
 * secrets of both sides. tests/test_interop_net.py proves tshark decodes it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_test.h"
#include "td_test_file.h"

#include "tlsdrill/pair.h"
#include "tlsdrill/transcript.h"

static td_crypto *g_crypto;

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t sum16(uint32_t s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    return s;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* What a reader of the file sees: per direction, the payload bytes in
 * sequence order, and the flags seen. */
typedef struct parsed {
    uint8_t stream[2][65536];
    size_t len[2];
    size_t packets, syns, fins;
    bool bad;
    uint32_t last_ts_us;
} parsed;

static void parse_pcap(const uint8_t *b, size_t n, parsed *out)
{
    memset(out, 0, sizeof(*out));
    uint32_t next_seq[2] = {0, 0};
    bool have_seq[2] = {false, false};
    if (n < 24 || le32(b) != 0xa1b2c3d4u || le32(b + 20) != TD_PCAP_LINKTYPE_RAW) {
        out->bad = true;
        return;
    }
    uint64_t prev_ts = 0;
    for (size_t off = 24; off < n;) {
        if (n - off < 16) {
            out->bad = true;
            return;
        }
        uint64_t ts = (uint64_t)le32(b + off) * 1000000u + le32(b + off + 4);
        uint32_t incl = le32(b + off + 8);
        const uint8_t *ip = b + off + 16;
        if (incl < 40 || incl > n - off - 16 || le32(b + off + 12) != incl ||
            (out->packets > 0 && ts <= prev_ts)) {
            out->bad = true;
            return;
        }
        prev_ts = ts;
        off += 16 + incl;
        out->packets++;
        /* IPv4 header checksum verifies; total length is the packet. */
        if (ip[0] != 0x45 || ip[9] != 6 || be16(ip + 2) != incl || fold(sum16(0, ip, 20)) != 0xffff)
            out->bad = true;
        const uint8_t *tcp = ip + 20;
        size_t plen = incl - 40;
        uint8_t pseudo[12];
        memcpy(pseudo, ip + 12, 8);
        pseudo[8] = 0, pseudo[9] = 6;
        pseudo[10] = (uint8_t)((incl - 20) >> 8), pseudo[11] = (uint8_t)(incl - 20);
        if (fold(sum16(sum16(0, pseudo, 12), tcp, incl - 20)) != 0xffff)
            out->bad = true;
        int dir = be16(tcp + 2) == 443 ? TD_DIR_C2S : TD_DIR_S2C;
        uint8_t flags = tcp[13];
        uint32_t seq = be32(tcp + 4);
        if (flags & 0x02) {
            out->syns++;
            next_seq[dir] = seq + 1;
            have_seq[dir] = true;
            continue;
        }
        /* Every non-SYN packet acknowledges all the other side sent. */
        if (!have_seq[dir] || seq != next_seq[dir] || !(flags & 0x10) ||
            be32(tcp + 8) != next_seq[1 - dir])
            out->bad = true;
        if (plen > TD_PCAP_MSS || out->len[dir] + plen > sizeof(out->stream[0])) {
            out->bad = true;
            return;
        }
        memcpy(out->stream[dir] + out->len[dir], tcp + 20, plen);
        out->len[dir] += plen;
        next_seq[dir] += (uint32_t)plen;
        if (flags & 0x01) {
            out->fins++;
            next_seq[dir]++;
        }
    }
}

static void test_pcap_header_segments_close(void)
{
    td_pcap *p = NULL;
    TD_REQUIRE(td_pcap_new(1700000000000000ull, &p) == TD_OK);
    size_t n;
    const uint8_t *b = td_pcap_bytes(p, &n);
    TD_EXPECT_EQ(n, 24);
    TD_EXPECT_EQ(le32(b), 0xa1b2c3d4u);
    TD_EXPECT_EQ(b[4], 2);
    TD_EXPECT_EQ(b[6], 4);
    TD_EXPECT_EQ(le32(b + 20), 101);

    td_pcap_flow f;
    td_pcap_flow_init(&f, 7);
    TD_EXPECT_EQ(f.client_port, 49159);
    TD_EXPECT_EQ(f.server_port, 443);
    static uint8_t big[4000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    TD_REQUIRE(td_pcap_data(p, &f, TD_DIR_C2S, (const uint8_t *)"hello", 5) == TD_OK);
    TD_REQUIRE(td_pcap_data(p, &f, TD_DIR_S2C, big, sizeof(big)) == TD_OK);
    TD_REQUIRE(td_pcap_data(p, &f, TD_DIR_S2C, big, 0) == TD_OK);
    /* 3 (SYN exchange) + 1 + 3 segments of at most 1460 bytes. */
    TD_EXPECT_EQ(td_pcap_num_packets(p), 7);
    TD_REQUIRE(td_pcap_close(p, &f) == TD_OK);
    TD_EXPECT_EQ(td_pcap_num_packets(p), 10);
    TD_REQUIRE(td_pcap_close(p, &f) == TD_OK); /* idempotent */
    TD_EXPECT_EQ(td_pcap_num_packets(p), 10);
    TD_EXPECT(td_pcap_data(p, &f, TD_DIR_C2S, big, 1) == TD_ERR_ARG); /* closed */

    static parsed r;
    b = td_pcap_bytes(p, &n);
    parse_pcap(b, n, &r);
    TD_EXPECT(!r.bad);
    TD_EXPECT_EQ(r.packets, 10);
    TD_EXPECT_EQ(r.syns, 2);
    TD_EXPECT_EQ(r.fins, 2);
    TD_EXPECT_MEM(r.stream[TD_DIR_C2S], r.len[TD_DIR_C2S], "hello", 5);
    TD_EXPECT_MEM(r.stream[TD_DIR_S2C], r.len[TD_DIR_S2C], big, sizeof(big));
    /* Deterministic timestamps: 1 ms per packet from the start. */
    size_t last = n - 16 - 40;
    TD_EXPECT_EQ(le32(b + last), 1700000000u);
    TD_EXPECT_EQ(le32(b + last + 4), 9000);

    /* A flow that never carried data writes nothing. */
    td_pcap_flow g;
    td_pcap_flow_init(&g, 8);
    TD_REQUIRE(td_pcap_close(p, &g) == TD_OK);
    TD_EXPECT_EQ(td_pcap_num_packets(p), 10);
    td_pcap_free(p);
    td_pcap_free(NULL);
}

/* A resumption-capable pair handshake written with td_pcap_pair: the file's
 * streams are td_pair_stream's, and both key logs carry the same lines. */
/* td_config.wire: what one side sent and received, in order. */
typedef struct wire_log {
    uint8_t bytes[2][65536]; /* [0] received, [1] sent */
    size_t len[2];
    bool overflow;
} wire_log;

static void wire_tap(void *arg, bool sent, const uint8_t *bytes, size_t len)
{
    wire_log *w = arg;
    if (w->len[sent] + len > sizeof(w->bytes[0])) {
        w->overflow = true;
        return;
    }
    memcpy(w->bytes[sent] + w->len[sent], bytes, len);
    w->len[sent] += len;
}

static void test_pcap_pair_and_keylog(void)
{
    size_t n1, n2, n3;
    char *chain_pem = td_test_read(TD_VECTORS_DIR "/certs/server-p256.chain.pem", &n1);
    char *key_pem = td_test_read(TD_VECTORS_DIR "/certs/server-p256.key", &n2);
    char *ca_pem = td_test_read(TD_VECTORS_DIR "/certs/ca.pem", &n3);
    td_der *chain = NULL, *ca = NULL;
    size_t num_chain = 0, num_ca = 0;
    td_pkey *key = NULL;
    td_keylog *ck = NULL, *sk = NULL;
    td_pcap *p = NULL;
    td_pair *pair = NULL;
    TD_REQUIRE(chain_pem && key_pem && ca_pem);
    TD_REQUIRE(td_certs_from_pem(chain_pem, n1, &chain, &num_chain) == TD_OK);
    TD_REQUIRE(td_certs_from_pem(ca_pem, n3, &ca, &num_ca) == TD_OK && num_ca == 1);
    TD_REQUIRE(td_pkey_from_pem(g_crypto, key_pem, n2, &key) == TD_OK);
    TD_REQUIRE(td_keylog_new(&ck) == TD_OK && td_keylog_new(&sk) == TD_OK);
    static const uint8_t seed[] = "transcript";
    static wire_log cw, sw;
    memset(&cw, 0, sizeof(cw));
    memset(&sw, 0, sizeof(sw));
    td_cert_key cert = {.chain = chain, .num_chain = num_chain, .key = key};
    td_config c = {.role = TD_ROLE_CLIENT,
                   .crypto = g_crypto,
                   .seed = seed,
                   .seed_len = 10,
                   .trust_anchor = ca[0].data,
                   .trust_anchor_len = ca[0].len,
                   .server_name = "server.tlsdrill.test",
                   .keylog = td_keylog_append,
                   .keylog_arg = ck,
                   .wire = wire_tap,
                   .wire_arg = &cw};
    td_config s = {.role = TD_ROLE_SERVER,
                   .crypto = g_crypto,
                   .seed = seed,
                   .seed_len = 10,
                   .certs = &cert,
                   .num_certs = 1,
                   .num_tickets = 2,
                   .keylog = td_keylog_append,
                   .keylog_arg = sk,
                   .wire = wire_tap,
                   .wire_arg = &sw};
    TD_REQUIRE(td_pair_new(&c, &s, &pair) == TD_OK);
    TD_REQUIRE(td_pair_run(pair, 0) == TD_OK);
    TD_EXPECT_EQ(td_conn_status(td_pair_client(pair))->phase, TD_PHASE_CONNECTED);
    TD_REQUIRE(td_conn_write(td_pair_client(pair), (const uint8_t *)"ping", 4) == TD_OK);
    bool moved;
    TD_REQUIRE(td_pair_step(pair, &moved) == TD_OK);

    TD_REQUIRE(td_pcap_new(0, &p) == TD_OK);
    td_pcap_flow f;
    td_pcap_flow_init(&f, 0);
    TD_REQUIRE(td_pcap_pair(p, &f, pair) == TD_OK);
    size_t n;
    const uint8_t *b = td_pcap_bytes(p, &n);
    static parsed r;
    parse_pcap(b, n, &r);
    TD_EXPECT(!r.bad);
    TD_EXPECT_EQ(r.syns, 2);
    TD_EXPECT_EQ(r.fins, 2);
    for (int d = 0; d < 2; d++) {
        size_t len;
        const uint8_t *stream = td_pair_stream(pair, (td_dir)d, &len);
        TD_EXPECT(len > 0);
        TD_EXPECT_MEM(r.stream[d], r.len[d], stream, len);
        /* The wire tap of each side saw the same bytes, in each direction. */
        const wire_log *sender = d == TD_DIR_C2S ? &cw : &sw,
                       *receiver = d == TD_DIR_C2S ? &sw : &cw;
        TD_EXPECT_MEM(sender->bytes[1], sender->len[1], stream, len);
        TD_EXPECT_MEM(receiver->bytes[0], receiver->len[0], stream, len);
    }
    TD_EXPECT(!cw.overflow && !sw.overflow);

    size_t cl, sl;
    const char *ct = td_keylog_text(ck, &cl), *st = td_keylog_text(sk, &sl);
    TD_REQUIRE(ct != NULL && st != NULL);
    TD_EXPECT_MEM(ct, cl, st, sl);
    static const char *const labels[] = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET ",
                                         "SERVER_HANDSHAKE_TRAFFIC_SECRET ",
                                         "CLIENT_TRAFFIC_SECRET_0 ", "SERVER_TRAFFIC_SECRET_0 "};
    for (size_t i = 0; i < 4; i++)
        TD_EXPECT(strstr(ct, labels[i]) != NULL);
    TD_EXPECT(cl > 0 && ct[cl - 1] == '\n');

    td_pair_free(pair);
    td_pcap_free(p);
    td_keylog_free(ck);
    td_keylog_free(sk);
    td_der_list_free(chain, num_chain);
    td_der_list_free(ca, num_ca);
    td_pkey_free(key);
    free(chain_pem);
    free(key_pem);
    free(ca_pem);
}

static void test_keylog_lines(void)
{
    td_keylog *k = NULL;
    TD_REQUIRE(td_keylog_new(&k) == TD_OK);
    size_t n;
    TD_EXPECT(strcmp(td_keylog_text(k, &n), "") == 0 && n == 0);
    td_keylog_append(k, "A 01 02\n");
    td_keylog_append(k, "B 03 04"); /* the newline is added */
    td_keylog_append(k, NULL);
    td_keylog_append(NULL, "ignored");
    const char *t = td_keylog_text(k, &n);
    TD_EXPECT(t != NULL && strcmp(t, "A 01 02\nB 03 04\n") == 0);
    TD_EXPECT_EQ(n, 16);
    /* Growth across the first block keeps every line. */
    char line[200];
    memset(line, 'x', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    for (int i = 0; i < 20; i++)
        td_keylog_append(k, line);
    t = td_keylog_text(k, &n);
    TD_EXPECT_EQ(n, 16 + 20 * 200);
    TD_EXPECT(t != NULL && strncmp(t, "A 01 02\n", 8) == 0 && t[n - 1] == '\n');
    td_keylog_free(k);
    td_keylog_free(NULL);
}

/* The blocks of a little-endian pcapng buffer: types and where each starts. */
static size_t ng_blocks(const uint8_t *b, size_t n, uint32_t *types, size_t *offs, size_t cap)
{
    size_t num = 0;
    for (size_t off = 0; off + 12 <= n && num < cap;) {
        uint32_t len = le32(b + off + 4);
        if (len < 12 || len % 4 != 0 || len > n - off || le32(b + off + len - 4) != len)
            return 0;
        types[num] = le32(b + off);
        offs[num++] = off;
        off += len;
    }
    return num;
}

/* td_pcapng_new: the same packets as the classic writer, as enhanced packet
 * blocks after a section header and an interface; td_pcap_secrets puts its
 * block before the packets not yet taken (after the header while that is
 * still there), so a file written as it goes has each key before the
 * packets it decrypts. */
static void test_pcapng_stream_and_secrets(void)
{
    td_pcap *ng = NULL, *classic = NULL;
    TD_REQUIRE(td_pcapng_new(1700000000000000ull, &ng) == TD_OK);
    TD_REQUIRE(td_pcap_new(1700000000000000ull, &classic) == TD_OK);
    td_pcap_flow f1, f2;
    td_pcap_flow_init(&f1, 0);
    td_pcap_flow_init(&f2, 0);
    TD_REQUIRE(td_pcap_data(ng, &f1, TD_DIR_C2S, (const uint8_t *)"hello", 5) == TD_OK);
    TD_REQUIRE(td_pcap_data(classic, &f2, TD_DIR_C2S, (const uint8_t *)"hello", 5) == TD_OK);
    TD_EXPECT_EQ(td_pcap_num_packets(ng), 4);
    TD_EXPECT(td_pcap_secrets(classic, "K 01 02\n", 8) == TD_ERR_ARG);
    TD_REQUIRE(td_pcap_secrets(ng, "K 01 02\n", 8) == TD_OK);
    TD_REQUIRE(td_pcap_secrets(ng, NULL, 0) == TD_OK); /* nothing */
    uint8_t *conv = NULL;
    size_t conv_len = 0;
    TD_EXPECT(td_pcap_to_pcapng(ng, NULL, 0, NULL, 0, &conv, &conv_len) == TD_ERR_ARG);

    size_t n, cn;
    const uint8_t *b = td_pcap_bytes(ng, &n);
    const uint8_t *c = td_pcap_bytes(classic, &cn);
    uint32_t types[16];
    size_t offs[16];
    size_t num = ng_blocks(b, n, types, offs, 16);
    TD_REQUIRE(num == 7);
    static const uint32_t want[] = {0x0a0d0d0au, 1, 10, 6, 6, 6, 6};
    for (size_t i = 0; i < num; i++)
        TD_EXPECT_EQ(types[i], want[i]);
    TD_EXPECT_EQ(le32(b + offs[0] + 8), 0x1a2b3c4du);
    TD_EXPECT_EQ(b[offs[1] + 8], 101); /* LINKTYPE_RAW */
    TD_EXPECT_EQ(le32(b + offs[2] + 8), 0x544c534bu);
    TD_EXPECT_EQ(le32(b + offs[2] + 12), 8);
    TD_EXPECT_MEM(b + offs[2] + 16, 8, "K 01 02\n", 8);
    /* Each EPB holds the classic record's packet and timestamp. */
    size_t co = 24;
    for (size_t i = 3; i < num; i++) {
        const uint8_t *e = b + offs[i] + 8;
        uint32_t len = le32(c + co + 8);
        uint64_t ts = (uint64_t)le32(c + co) * 1000000u + le32(c + co + 4);
        TD_EXPECT_EQ(le32(e), 0);
        TD_EXPECT_EQ(((uint64_t)le32(e + 4) << 32 | le32(e + 8)), ts);
        TD_EXPECT_EQ(le32(e + 12), len);
        TD_EXPECT_EQ(le32(e + 16), len);
        TD_EXPECT_MEM(e + 20, len, c + co + 16, len);
        co += 16 + len;
    }
    TD_EXPECT_EQ(co, cn);

    /* Streamed: what was taken leaves; the next keys go before the next packets. */
    td_pcap_discard(ng, n);
    TD_REQUIRE(td_pcap_close(ng, &f1) == TD_OK);
    TD_REQUIRE(td_pcap_secrets(ng, "L 03 04\n", 8) == TD_OK);
    b = td_pcap_bytes(ng, &n);
    num = ng_blocks(b, n, types, offs, 16);
    TD_REQUIRE(num == 4);
    TD_EXPECT_EQ(types[0], 10);
    TD_EXPECT_MEM(b + offs[0] + 16, 8, "L 03 04\n", 8);
    for (size_t i = 1; i < num; i++)
        TD_EXPECT_EQ(types[i], 6);
    td_pcap_free(ng);
    td_pcap_free(classic);
}

int main(void)
{
    if (td_crypto_new(&g_crypto) != TD_OK)
        return 1;
    TD_RUN(test_pcap_header_segments_close);
    TD_RUN(test_pcap_pair_and_keylog);
    TD_RUN(test_keylog_lines);
    TD_RUN(test_pcapng_stream_and_secrets);
    td_crypto_free(g_crypto);
    return td_test_report("test_transcript");
}
