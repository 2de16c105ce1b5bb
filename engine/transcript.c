/* transcript.c -- pcap capture of TCP conversations and the NSS key log
 * (tlsdrill/transcript.h). Formats: the classic libpcap file format
 * (magic a1b2c3d4, version 2.4, little-endian here) or pcapng
 * (draft-ietf-opsawg-pcapng: SHB, IDB, EPB, DSB), RFC 791 IPv4 and
 * RFC 9293 TCP headers with their checksums (RFC 1071). */
#include "tlsdrill/transcript.h"

#include <stdlib.h>
#include <string.h>

#include "tlsdrill/crypto.h"

/* A growable byte buffer with a sticky allocation failure. */
typedef struct td_grow {
    uint8_t *data;
    size_t len, cap;
    bool failed;
} td_grow;

static bool grow_reserve(td_grow *g, size_t extra)
{
    if (g->failed)
        return false;
    if (extra > SIZE_MAX / 2 - g->len) {
        g->failed = true;
        return false;
    }
    if (g->len + extra <= g->cap)
        return true;
    size_t cap = g->cap ? g->cap : 4096;
    while (cap < g->len + extra)
        cap *= 2;
    uint8_t *p = realloc(g->data, cap);
    if (p == NULL) {
        g->failed = true;
        return false;
    }
    g->data = p;
    g->cap = cap;
    return true;
}

static void grow_add(td_grow *g, const void *data, size_t len)
{
    if (len == 0 || !grow_reserve(g, len))
        return;
    memcpy(g->data + g->len, data, len);
    g->len += len;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    put_be16(p, (uint16_t)(v >> 16));
    put_be16(p + 2, (uint16_t)v);
}

/* ---- pcap ---- */

struct td_pcap {
    td_grow buf;
    uint64_t next_us;
    size_t num_packets;
    uint16_t ip_id;
    bool ng;         /* pcapng: each packet an enhanced packet block */
    size_t head_len; /* pcapng: bytes of section header + interface still at the buffer start */
};

static void ng_head(td_grow *g);
static void ng_epb(td_grow *g, uint64_t ts, const uint8_t *pkt, size_t len);

static td_err pcap_new(uint64_t start_us, bool ng, td_pcap **out)
{
    if (out == NULL)
        return TD_ERR_ARG;
    *out = NULL;
    td_pcap *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return TD_ERR_NOMEM;
    p->next_us = start_us;
    p->ng = ng;
    if (ng) {
        ng_head(&p->buf);
        p->head_len = p->buf.len;
        if (p->buf.failed) {
            td_pcap_free(p);
            return TD_ERR_NOMEM;
        }
        *out = p;
        return TD_OK;
    }
    uint8_t hdr[24];
    put_le32(hdr, 0xa1b2c3d4u); /* magic: microsecond timestamps */
    hdr[4] = 2, hdr[5] = 0;     /* version 2.4 */
    hdr[6] = 4, hdr[7] = 0;
    put_le32(hdr + 8, 0);      /* thiszone */
    put_le32(hdr + 12, 0);     /* sigfigs */
    put_le32(hdr + 16, 65535); /* snaplen */
    put_le32(hdr + 20, TD_PCAP_LINKTYPE_RAW);
    grow_add(&p->buf, hdr, sizeof(hdr));
    if (p->buf.failed) {
        td_pcap_free(p);
        return TD_ERR_NOMEM;
    }
    *out = p;
    return TD_OK;
}

td_err td_pcap_new(uint64_t start_us, td_pcap **out)
{
    return pcap_new(start_us, false, out);
}

td_err td_pcapng_new(uint64_t start_us, td_pcap **out)
{
    return pcap_new(start_us, true, out);
}

void td_pcap_free(td_pcap *pcap)
{
    if (pcap == NULL)
        return;
    if (pcap->ng && pcap->buf.data != NULL)
        td_cleanse(pcap->buf.data, pcap->buf.cap); /* decryption secrets blocks */
    free(pcap->buf.data);
    free(pcap);
}

void td_pcap_set_time(td_pcap *pcap, uint64_t us)
{
    if (pcap != NULL && us > pcap->next_us)
        pcap->next_us = us;
}

void td_pcap_flow_init(td_pcap_flow *flow, unsigned index)
{
    memset(flow, 0, sizeof(*flow));
    static const uint8_t cip[4] = {10, 0, 0, 1}, sip[4] = {10, 0, 0, 2};
    memcpy(flow->client_ip, cip, 4);
    memcpy(flow->server_ip, sip, 4);
    flow->client_port = (uint16_t)(49152u + index % 16384u);
    flow->server_port = 443;
    /* Distinct, deterministic initial sequence numbers per flow. */
    flow->seq[TD_DIR_C2S] = 0x10000000u + index * 0x00100000u;
    flow->seq[TD_DIR_S2C] = 0x80000000u + index * 0x00100000u;
}

/* RFC 1071 one's complement sum, continued from |sum|. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

enum { TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_PSH = 0x08, TCP_ACK = 0x10 };

/* One IPv4/TCP packet from |dir|'s side with sequence number |seq|. */
static td_err pcap_packet(td_pcap *p, const td_pcap_flow *f, td_dir dir, uint8_t flags,
                          uint32_t seq, uint32_t ack, const uint8_t *data, size_t len)
{
    if (len > TD_PCAP_MSS)
        return TD_ERR_ARG;
    uint8_t rec[16], ip[20], tcp[20];
    size_t total = sizeof(ip) + sizeof(tcp) + len;
    const uint8_t *src = dir == TD_DIR_C2S ? f->client_ip : f->server_ip;
    const uint8_t *dst = dir == TD_DIR_C2S ? f->server_ip : f->client_ip;
    uint16_t sport = dir == TD_DIR_C2S ? f->client_port : f->server_port;
    uint16_t dport = dir == TD_DIR_C2S ? f->server_port : f->client_port;

    ip[0] = 0x45; /* version 4, 5 words */
    ip[1] = 0;
    put_be16(ip + 2, (uint16_t)total);
    put_be16(ip + 4, p->ip_id++);
    put_be16(ip + 6, 0x4000); /* don't fragment */
    ip[8] = 64;
    ip[9] = 6; /* TCP */
    put_be16(ip + 10, 0);
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    put_be16(ip + 10, csum_fold(csum_add(0, ip, sizeof(ip))));

    put_be16(tcp, sport);
    put_be16(tcp + 2, dport);
    put_be32(tcp + 4, seq);
    put_be32(tcp + 8, (flags & TCP_ACK) ? ack : 0);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    put_be16(tcp + 14, 65535);
    put_be16(tcp + 16, 0);
    put_be16(tcp + 18, 0);
    uint8_t pseudo[12];
    memcpy(pseudo, src, 4);
    memcpy(pseudo + 4, dst, 4);
    pseudo[8] = 0;
    pseudo[9] = 6;
    put_be16(pseudo + 10, (uint16_t)(sizeof(tcp) + len));
    uint32_t sum = csum_add(csum_add(0, pseudo, sizeof(pseudo)), tcp, sizeof(tcp));
    /* The data is summed as a continuation: the TCP header is even-sized. */
    put_be16(tcp + 16, csum_fold(csum_add(sum, data, len)));

    if (p->ng) {
        uint8_t pkt[40 + TD_PCAP_MSS];
        memcpy(pkt, ip, sizeof(ip));
        memcpy(pkt + sizeof(ip), tcp, sizeof(tcp));
        if (len > 0)
            memcpy(pkt + sizeof(ip) + sizeof(tcp), data, len);
        ng_epb(&p->buf, p->next_us, pkt, total);
    } else {
        put_le32(rec, (uint32_t)(p->next_us / 1000000u));
        put_le32(rec + 4, (uint32_t)(p->next_us % 1000000u));
        put_le32(rec + 8, (uint32_t)total);
        put_le32(rec + 12, (uint32_t)total);
        grow_add(&p->buf, rec, sizeof(rec));
        grow_add(&p->buf, ip, sizeof(ip));
        grow_add(&p->buf, tcp, sizeof(tcp));
        grow_add(&p->buf, data, len);
    }
    p->next_us += 1000;
    if (p->buf.failed)
        return TD_ERR_NOMEM;
    p->num_packets++;
    return TD_OK;
}

static td_err pcap_open(td_pcap *p, td_pcap_flow *f)
{
    uint32_t *c = &f->seq[TD_DIR_C2S], *s = &f->seq[TD_DIR_S2C];
    TD_CHECK(pcap_packet(p, f, TD_DIR_C2S, TCP_SYN, *c, 0, NULL, 0));
    TD_CHECK(pcap_packet(p, f, TD_DIR_S2C, TCP_SYN | TCP_ACK, *s, *c + 1, NULL, 0));
    /* SYN takes one sequence number each way. */
    ++*c, ++*s;
    TD_CHECK(pcap_packet(p, f, TD_DIR_C2S, TCP_ACK, *c, *s, NULL, 0));
    f->open = true;
    return TD_OK;
}

td_err td_pcap_data(td_pcap *pcap, td_pcap_flow *flow, td_dir dir, const uint8_t *data, size_t len)
{
    if (pcap == NULL || flow == NULL || (data == NULL && len > 0) || flow->closed)
        return TD_ERR_ARG;
    if (len == 0)
        return TD_OK;
    if (!flow->open)
        TD_CHECK(pcap_open(pcap, flow));
    td_dir other = dir == TD_DIR_C2S ? TD_DIR_S2C : TD_DIR_C2S;
    for (size_t off = 0; off < len;) {
        size_t n = len - off < TD_PCAP_MSS ? len - off : TD_PCAP_MSS;
        TD_CHECK(pcap_packet(pcap, flow, dir, TCP_PSH | TCP_ACK, flow->seq[dir], flow->seq[other],
                             data + off, n));
        flow->seq[dir] += (uint32_t)n; /* wraps modulo 2^32 like TCP's */
        off += n;
    }
    return TD_OK;
}

td_err td_pcap_close(td_pcap *pcap, td_pcap_flow *flow)
{
    if (pcap == NULL || flow == NULL)
        return TD_ERR_ARG;
    if (!flow->open || flow->closed)
        return TD_OK;
    uint32_t *c = &flow->seq[TD_DIR_C2S], *s = &flow->seq[TD_DIR_S2C];
    TD_CHECK(pcap_packet(pcap, flow, TD_DIR_C2S, TCP_FIN | TCP_ACK, *c, *s, NULL, 0));
    ++*c;
    TD_CHECK(pcap_packet(pcap, flow, TD_DIR_S2C, TCP_FIN | TCP_ACK, *s, *c, NULL, 0));
    ++*s;
    TD_CHECK(pcap_packet(pcap, flow, TD_DIR_C2S, TCP_ACK, *c, *s, NULL, 0));
    flow->closed = true;
    return TD_OK;
}

td_err td_pcap_pair(td_pcap *pcap, td_pcap_flow *flow, const td_pair *pair)
{
    if (pcap == NULL || flow == NULL || pair == NULL)
        return TD_ERR_ARG;
    size_t num = 0;
    const td_pair_record *recs = td_pair_records(pair, &num);
    /* Records delivered back to back in one direction are contiguous in that
     * direction's stream: each run goes out as one call (one flight). */
    for (size_t i = 0; i < num;) {
        td_dir dir = recs[i].dir;
        size_t j = i;
        while (j < num && recs[j].dir == dir) {
            TD_CHECK(td_pcap_data(pcap, flow, dir, recs[j].bytes, recs[j].len));
            j++;
        }
        i = j;
    }
    return td_pcap_close(pcap, flow);
}

const uint8_t *td_pcap_bytes(const td_pcap *pcap, size_t *out_len)
{
    *out_len = pcap->buf.len;
    return pcap->buf.data;
}

void td_pcap_discard(td_pcap *pcap, size_t len)
{
    if (pcap == NULL || len == 0)
        return;
    if (len > pcap->buf.len)
        len = pcap->buf.len;
    memmove(pcap->buf.data, pcap->buf.data + len, pcap->buf.len - len);
    pcap->buf.len -= len;
    pcap->head_len = pcap->head_len > len ? pcap->head_len - len : 0;
    if (pcap->ng)
        td_cleanse(pcap->buf.data + pcap->buf.len, len);
}

size_t td_pcap_num_packets(const td_pcap *pcap)
{
    return pcap->num_packets;
}

/* ---- pcapng (draft-ietf-opsawg-pcapng), little-endian ---- */

static void ng_u16(td_grow *g, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    grow_add(g, b, 2);
}

static void ng_u32(td_grow *g, uint32_t v)
{
    uint8_t b[4];
    put_le32(b, v);
    grow_add(g, b, 4);
}

static void ng_pad(td_grow *g, size_t len)
{
    static const uint8_t zero[4] = {0, 0, 0, 0};
    grow_add(g, zero, (4 - len % 4) % 4);
}

/* Opens a block: type and a length patched by ng_end. */
static size_t ng_begin(td_grow *g, uint32_t type)
{
    size_t at = g->len;
    ng_u32(g, type);
    ng_u32(g, 0);
    return at;
}

static void ng_end(td_grow *g, size_t at)
{
    size_t len = g->len - at + 4;
    ng_u32(g, (uint32_t)len);
    if (!g->failed)
        put_le32(g->data + at + 4, (uint32_t)len);
}

/* An option: code, length, value padded to 4. */
static void ng_opt(td_grow *g, uint16_t code, const void *value, size_t len)
{
    ng_u16(g, code);
    ng_u16(g, (uint16_t)len);
    grow_add(g, value, len);
    ng_pad(g, len);
}

/* Section Header Block (byte-order magic, version 1.0, unknown section
 * length, shb_userappl) and one raw-IP Interface Description Block. */
static void ng_head(td_grow *g)
{
    static const char app[] = "tlsdrill";
    size_t at = ng_begin(g, 0x0a0d0d0au); /* Section Header Block */
    ng_u32(g, 0x1a2b3c4du);               /* byte-order magic */
    ng_u16(g, 1);
    ng_u16(g, 0);
    ng_u32(g, 0xffffffffu); /* section length: not given */
    ng_u32(g, 0xffffffffu);
    ng_opt(g, 4, app, sizeof(app) - 1); /* shb_userappl */
    ng_opt(g, 0, NULL, 0);
    ng_end(g, at);
    at = ng_begin(g, 1); /* Interface Description Block */
    ng_u16(g, TD_PCAP_LINKTYPE_RAW);
    ng_u16(g, 0);
    ng_u32(g, 65535);
    ng_end(g, at);
}

/* Decryption Secrets Block: TLS key log text. */
static void ng_dsb(td_grow *g, const char *keylog, size_t len)
{
    size_t at = ng_begin(g, 10);
    ng_u32(g, 0x544c534bu); /* TLS key log */
    ng_u32(g, (uint32_t)len);
    grow_add(g, keylog, len);
    ng_pad(g, len);
    ng_end(g, at);
}

/* An Enhanced Packet Block on interface 0, |ts| in microseconds, left
 * open for options (ng_end closes it). */
static size_t ng_epb_begin(td_grow *g, uint64_t ts, const uint8_t *pkt, size_t len)
{
    size_t at = ng_begin(g, 6);
    ng_u32(g, 0);
    ng_u32(g, (uint32_t)(ts >> 32));
    ng_u32(g, (uint32_t)ts);
    ng_u32(g, (uint32_t)len);
    ng_u32(g, (uint32_t)len);
    grow_add(g, pkt, len);
    ng_pad(g, len);
    return at;
}

static void ng_comment(td_grow *g, const char *text)
{
    size_t tl = strlen(text);
    ng_opt(g, 1, text, tl < 0xffff ? tl : 0xffff); /* opt_comment */
}

static void ng_epb(td_grow *g, uint64_t ts, const uint8_t *pkt, size_t len)
{
    ng_end(g, ng_epb_begin(g, ts, pkt, len));
}

td_err td_pcap_secrets(td_pcap *pcap, const char *keylog, size_t len)
{
    if (pcap == NULL || !pcap->ng || (keylog == NULL && len > 0) || len > UINT32_MAX / 2)
        return TD_ERR_ARG;
    if (len == 0)
        return TD_OK;
    /* Built at the end, then rotated in front of the packets not yet taken. */
    td_grow *g = &pcap->buf;
    size_t from = g->len;
    ng_dsb(g, keylog, len);
    if (g->failed)
        return TD_ERR_NOMEM;
    size_t n = g->len - from, at = pcap->head_len;
    uint8_t *tmp = malloc(n);
    if (tmp == NULL) {
        td_cleanse(g->data + from, n);
        g->len = from;
        return TD_ERR_NOMEM;
    }
    memcpy(tmp, g->data + from, n);
    memmove(g->data + at + n, g->data + at, from - at);
    memcpy(g->data + at, tmp, n);
    td_cleanse(tmp, n);
    free(tmp);
    return TD_OK;
}

td_err td_pcap_to_pcapng(const td_pcap *pcap, const char *keylog, size_t keylog_len,
                         const td_pcap_note *notes, size_t num_notes, uint8_t **out,
                         size_t *out_len)
{
    if (pcap == NULL || pcap->ng || out == NULL || out_len == NULL ||
        (keylog == NULL && keylog_len > 0) || keylog_len > UINT32_MAX / 2)
        return TD_ERR_ARG;
    *out = NULL;
    *out_len = 0;
    td_grow g = {0};
    ng_head(&g);
    if (keylog_len > 0)
        ng_dsb(&g, keylog, keylog_len);
    const uint8_t *b = pcap->buf.data;
    size_t n = pcap->buf.len, note = 0;
    for (size_t off = 24, i = 0; off + 16 <= n; i++) {
        uint32_t sec = (uint32_t)b[off] | (uint32_t)b[off + 1] << 8 | (uint32_t)b[off + 2] << 16 |
                       (uint32_t)b[off + 3] << 24;
        uint32_t usec = (uint32_t)b[off + 4] | (uint32_t)b[off + 5] << 8 |
                        (uint32_t)b[off + 6] << 16 | (uint32_t)b[off + 7] << 24;
        uint32_t len = (uint32_t)b[off + 8] | (uint32_t)b[off + 9] << 8 |
                       (uint32_t)b[off + 10] << 16 | (uint32_t)b[off + 11] << 24;
        uint64_t ts = (uint64_t)sec * 1000000u + usec;
        size_t at = ng_epb_begin(&g, ts, b + off + 16, len);
        bool opts = false;
        for (; note < num_notes && notes[note].packet <= i; note++)
            if (notes[note].packet == i && notes[note].text != NULL) {
                ng_comment(&g, notes[note].text);
                opts = true;
            }
        if (opts)
            ng_opt(&g, 0, NULL, 0);
        ng_end(&g, at);
        off += 16 + len;
    }
    if (g.failed) {
        free(g.data);
        return TD_ERR_NOMEM;
    }
    *out = g.data;
    *out_len = g.len;
    return TD_OK;
}

/* ---- key log ---- */

struct td_keylog {
    td_grow buf;
};

td_err td_keylog_new(td_keylog **out)
{
    if (out == NULL)
        return TD_ERR_ARG;
    *out = calloc(1, sizeof(**out));
    return *out == NULL ? TD_ERR_NOMEM : TD_OK;
}

void td_keylog_free(td_keylog *keylog)
{
    if (keylog == NULL)
        return;
    if (keylog->buf.data != NULL)
        td_cleanse(keylog->buf.data, keylog->buf.cap);
    free(keylog->buf.data);
    free(keylog);
}

/* Grows by hand rather than with realloc so the old copy of the secrets is
 * wiped before it is released. */
static bool keylog_reserve(td_grow *g, size_t extra)
{
    if (g->failed)
        return false;
    if (extra > SIZE_MAX / 4 - g->len) {
        g->failed = true;
        return false;
    }
    if (g->len + extra <= g->cap)
        return true;
    size_t cap = g->cap ? g->cap * 2 : 1024;
    while (cap < g->len + extra)
        cap *= 2;
    uint8_t *p = malloc(cap);
    if (p == NULL) {
        g->failed = true;
        return false;
    }
    if (g->data != NULL) {
        memcpy(p, g->data, g->len);
        td_cleanse(g->data, g->cap);
        free(g->data);
    }
    g->data = p;
    g->cap = cap;
    return true;
}

void td_keylog_append(void *arg, const char *line)
{
    td_keylog *k = arg;
    if (k == NULL || line == NULL)
        return;
    size_t n = strlen(line);
    bool nl = n > 0 && line[n - 1] == '\n';
    /* + newline + the terminating NUL td_keylog_text hands out. */
    if (!keylog_reserve(&k->buf, n + 2))
        return;
    memcpy(k->buf.data + k->buf.len, line, n);
    k->buf.len += n;
    if (!nl)
        k->buf.data[k->buf.len++] = '\n';
    k->buf.data[k->buf.len] = '\0';
}

const char *td_keylog_text(const td_keylog *keylog, size_t *out_len)
{
    *out_len = 0;
    if (keylog->buf.failed)
        return NULL;
    if (keylog->buf.data == NULL)
        return "";
    *out_len = keylog->buf.len;
    return (const char *)keylog->buf.data;
}

void td_keylog_discard(td_keylog *keylog, size_t len)
{
    if (keylog == NULL || len == 0)
        return;
    if (len > keylog->buf.len)
        len = keylog->buf.len;
    memmove(keylog->buf.data, keylog->buf.data + len, keylog->buf.len - len);
    keylog->buf.len -= len;
    td_cleanse(keylog->buf.data + keylog->buf.len, len);
}
