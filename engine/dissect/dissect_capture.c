/* dissect_capture.c -- capture files into TCP streams into td_dis_conn
 * (td_dissect_capture, tlsdrill/dissect.h). Formats: the classic libpcap
 * file (either byte order, micro- or nanosecond magic) and pcapng
 * (sections, interfaces, enhanced/simple/obsolete packet blocks, the
 * Decryption Secrets Block); link layers Ethernet (with VLAN tags), raw
 * IP, IPv4, IPv6, BSD loopback, Linux cooked v1/v2; RFC 791 IPv4 and
 * RFC 8200 IPv6 (extension headers skipped, fragments not reassembled);
 * RFC 9293 TCP, reassembled by sequence number. */
#include <stdlib.h>
#include <string.h>

#include "dissect_internal.h"
#include "tlsdrill/array.h"

#define CAP_MAX_PACKET (256u << 10) /* a captured packet larger than this is malformed */
#define CAP_MAX_PENDING (16u << 20) /* out-of-order bytes held per direction */
#define CAP_MAX_STREAMS (1u << 20)
#define CAP_MAX_IFACES 64

typedef struct cap_seg {
    uint32_t seq;
    uint8_t *data;
    size_t len;
} cap_seg;

typedef struct cap_half {
    bool has_isn;
    uint32_t next;
    cap_seg *pending;
    size_t num_pending, cap_pending, pending_bytes;
    uint64_t bytes, dropped;
    bool fin;
} cap_half;

typedef struct cap_stream {
    int af;              /* 4 or 6 */
    uint8_t addr[2][16]; /* [0] client, [1] server */
    uint16_t port[2];
    cap_half h[2];     /* by sender: [0] client, [1] server */
    td_dis_node *node; /* NULL: not selected */
    td_dis_conn *conn; /* NULL once finished */
    size_t packets;
    size_t records, decrypted; /* once closed */
    bool reset;
} cap_stream;

typedef struct cap_state {
    td_crypto *crypto;
    const td_dis_keys *keys;
    const td_dis_capture_opts *opts;
    td_dis_node *root;
    cap_stream *streams;
    size_t num_streams, cap_streams;
    size_t packets, non_tcp, fragments, malformed;
    char first_malformed[160];
    td_diag *diag;
    const uint8_t *comment; /* pcapng opt_comment of the packet being read, or NULL */
    size_t comment_len;
    bool cut;            /* the packet being read is cut by the end of the file: IP lengths
                          * past it are clamped (what is there is decoded) */
    char truncated[200]; /* the file ends inside a packet or block: where ("" if not) */
} cap_state;

typedef struct cap_reader {
    const uint8_t *p;
    size_t len;
    bool be; /* file byte order */
} cap_reader;

static uint16_t rd16(const cap_reader *r, size_t off)
{
    const uint8_t *p = r->p + off;
    return r->be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static uint32_t rd32(const cap_reader *r, size_t off)
{
    const uint8_t *p = r->p + off;
    return r->be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                 : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* |packet|: 1-based number of the packet being read; 0 when none. */
static td_err file_error(cap_state *s, td_err err, size_t off, const char *what, size_t packet)
{
    if (packet > 0)
        return td_diag_set(s->diag, err, TD_RULE_NONE, off, __FILE__, __LINE__,
                           "byte %zu, packet %zu: %s", off, packet, what);
    return td_diag_set(s->diag, err, TD_RULE_NONE, off, __FILE__, __LINE__, "byte %zu: %s", off,
                       what);
}

/* A packet whose IP/TCP headers do not hold together: counted, the first
 * one described; the capture goes on. */
static void malformed(cap_state *s, const char *why)
{
    if (s->cut)
        return; /* the end of the file cut it: `truncated` says so */
    if (s->malformed++ == 0)
        snprintf(s->first_malformed, sizeof(s->first_malformed), "packet %zu: %s", s->packets, why);
}

/* The file ends inside packet |packet| (1-based), whose record or block
 * starts at |start|: reading stops there, what came before stays decoded. */
static void truncated_at(cap_state *s, size_t len, size_t packet, size_t start, const char *what)
{
    snprintf(s->truncated, sizeof(s->truncated), "at byte %zu, packet %zu (%s at byte %zu)", len,
             packet, what, start);
}

/* ---- TCP streams ---- */

static void addr_text(const cap_stream *st, int side, char *out, size_t cap)
{
    const uint8_t *a = st->addr[side];
    if (st->af == 4) {
        snprintf(out, cap, "%u.%u.%u.%u:%u", a[0], a[1], a[2], a[3], st->port[side]);
        return;
    }
    size_t o = 0;
    o += (size_t)snprintf(out + o, cap - o, "[");
    for (int i = 0; i < 16 && o < cap; i += 2)
        o += (size_t)snprintf(out + o, cap - o, "%s%x", i ? ":" : "", be16(a + i));
    if (o < cap)
        snprintf(out + o, cap - o, "]:%u", st->port[side]);
}

static td_err stream_new(cap_state *s, int af, const uint8_t *src, const uint8_t *dst,
                         uint16_t sport, uint16_t dport, bool src_is_client, cap_stream **out)
{
    if (s->num_streams == CAP_MAX_STREAMS)
        return TD_ERR_LIMIT;
    cap_stream *p = td_array_grow(s->streams, s->num_streams, &s->cap_streams, sizeof(*p), 16);
    if (p == NULL)
        return TD_ERR_NOMEM;
    s->streams = p;
    size_t index = s->num_streams++;
    cap_stream *st = &s->streams[index];
    memset(st, 0, sizeof(*st));
    st->af = af;
    size_t alen = af == 4 ? 4 : 16;
    int c = src_is_client ? 0 : 1;
    memcpy(st->addr[c], src, alen);
    memcpy(st->addr[1 - c], dst, alen);
    st->port[c] = sport;
    st->port[1 - c] = dport;
    *out = st;
    if (s->opts->stream >= 0 && (size_t)s->opts->stream != index)
        return TD_OK;
    char a[64], b[64];
    addr_text(st, 0, a, sizeof(a));
    addr_text(st, 1, b, sizeof(b));
    TD_CHECK(td_dis_child(s->root, "stream", &st->node));
    TD_CHECK(td_dis_attr(st->node, "index", "%zu", index));
    if (index < s->opts->num_labels && s->opts->labels[index] != NULL)
        TD_CHECK(td_dis_attr(st->node, "case", "%s", s->opts->labels[index]));
    if (s->comment != NULL) {
        /* The comment on a stream's first packet (tlsdrill run names the case there). */
        char text[256];
        dis_printable(s->comment, s->comment_len, text, sizeof(text));
        TD_CHECK(td_dis_field(st->node, "comment", "%s", text));
    }
    TD_CHECK(td_dis_attr(st->node, "client", "%s", a));
    TD_CHECK(td_dis_attr(st->node, "server", "%s", b));
    return td_dis_conn_new(s->crypto, s->keys, &s->opts->conn, st->node, &st->conn);
}

static void half_cleanup(cap_half *h)
{
    for (size_t i = 0; i < h->num_pending; i++)
        free(h->pending[i].data);
    free(h->pending);
    h->pending = NULL;
    h->num_pending = h->cap_pending = h->pending_bytes = 0;
}

/* The end of a stream's bytes (both FINs, a reset, a reused 4-tuple or
 * the end of the file): partial records are reported and the connection
 * state released. */
static td_err stream_close(cap_stream *st)
{
    if (st->conn == NULL)
        return TD_OK;
    td_err err = td_dis_conn_finish(st->conn);
    st->records = td_dis_conn_records(st->conn, &st->decrypted);
    td_dis_conn_free(st->conn);
    st->conn = NULL;
    return err;
}

/* Counts and gaps, once the whole file is read. */
static td_err stream_fields(cap_stream *st)
{
    if (st->node == NULL)
        return TD_OK;
    TD_CHECK(td_dis_field(st->node, "packets", "%zu", st->packets));
    TD_CHECK(td_dis_field(st->node, "bytes", "C->S %llu, S->C %llu",
                          (unsigned long long)st->h[0].bytes, (unsigned long long)st->h[1].bytes));
    TD_CHECK(td_dis_field(st->node, "records", "%zu (%zu decrypted)", st->records, st->decrypted));
    for (int i = 0; i < 2; i++) {
        cap_half *h = &st->h[i];
        uint64_t missing = h->pending_bytes + h->dropped;
        if (missing > 0)
            TD_CHECK(td_dis_field(st->node, i == 0 ? "gap C->S" : "gap S->C",
                                  "%llu bytes after a missing segment (seq %u) not decoded",
                                  (unsigned long long)missing, h->next));
    }
    return TD_OK;
}

static td_err deliver(cap_stream *st, int side, const uint8_t *p, size_t n)
{
    st->h[side].bytes += n;
    if (st->conn == NULL || n == 0)
        return TD_OK;
    return td_dis_conn_feed(st->conn, side == 0 ? TD_DIR_C2S : TD_DIR_S2C, p, n);
}

/* In-order bytes go out at once; later ones wait for the gap to fill;
 * retransmitted bytes are dropped. */
static td_err tcp_data(cap_stream *st, int side, uint32_t seq, const uint8_t *p, size_t n)
{
    cap_half *h = &st->h[side];
    if (!h->has_isn) {
        h->has_isn = true;
        h->next = seq;
    }
    int32_t rel = (int32_t)(seq - h->next);
    if (rel > 0) {
        if (h->pending_bytes + n > CAP_MAX_PENDING) {
            h->dropped += n;
            return TD_OK;
        }
        cap_seg *q = td_array_grow(h->pending, h->num_pending, &h->cap_pending, sizeof(*q), 8);
        if (q == NULL)
            return TD_ERR_NOMEM;
        h->pending = q;
        uint8_t *copy = malloc(n);
        if (copy == NULL)
            return TD_ERR_NOMEM;
        memcpy(copy, p, n);
        h->pending[h->num_pending++] = (cap_seg){.seq = seq, .data = copy, .len = n};
        h->pending_bytes += n;
        return TD_OK;
    }
    size_t skip = (size_t)(-(int64_t)rel);
    if (skip < n) {
        TD_CHECK(deliver(st, side, p + skip, n - skip));
        h->next += (uint32_t)(n - skip);
    }
    /* Segments that now fit. */
    for (bool moved = true; moved && h->num_pending > 0;) {
        moved = false;
        for (size_t i = 0; i < h->num_pending; i++) {
            cap_seg sg = h->pending[i];
            int32_t r = (int32_t)(sg.seq - h->next);
            if (r > 0)
                continue;
            h->pending[i] = h->pending[--h->num_pending];
            h->pending_bytes -= sg.len;
            size_t k = (size_t)(-(int64_t)r);
            td_err err = TD_OK;
            if (k < sg.len) {
                err = deliver(st, side, sg.data + k, sg.len - k);
                h->next += (uint32_t)(sg.len - k);
            }
            free(sg.data);
            TD_CHECK(err);
            moved = true;
            break;
        }
    }
    return TD_OK;
}

enum { TH_FIN = 0x01, TH_SYN = 0x02, TH_RST = 0x04, TH_ACK = 0x10 };

static td_err tcp_segment(cap_state *s, int af, const uint8_t *src, const uint8_t *dst,
                          const uint8_t *t, size_t len)
{
    if (len < 20) {
        malformed(s, "a TCP header shorter than 20 bytes");
        return TD_OK;
    }
    size_t hl = (size_t)(t[12] >> 4) * 4;
    if (hl < 20 || hl > len) {
        malformed(s, "a TCP data offset outside the segment");
        return TD_OK;
    }
    uint16_t sport = be16(t), dport = be16(t + 2);
    uint32_t seq = be32(t + 4);
    uint8_t flags = t[13];
    size_t alen = af == 4 ? 4 : 16;
    cap_stream *st = NULL;
    int side = 0;
    for (size_t i = s->num_streams; i-- > 0 && st == NULL;) {
        cap_stream *c = &s->streams[i];
        if (c->af != af)
            continue;
        for (int k = 0; k < 2; k++)
            if (c->port[k] == sport && c->port[1 - k] == dport &&
                memcmp(c->addr[k], src, alen) == 0 && memcmp(c->addr[1 - k], dst, alen) == 0) {
                st = c;
                side = k;
                break;
            }
    }
    bool syn_only = (flags & (TH_SYN | TH_ACK)) == TH_SYN;
    /* A new SYN on a finished 4-tuple starts a new stream (port reuse). */
    if (st != NULL && syn_only && (st->h[0].fin || st->h[1].fin || st->reset)) {
        TD_CHECK(stream_close(st));
        st = NULL;
    }
    if (st == NULL) {
        bool src_client;
        if (flags & TH_SYN)
            src_client = !(flags & TH_ACK);
        else if ((sport < 1024) != (dport < 1024))
            src_client = dport < 1024;
        else
            src_client = true;
        TD_CHECK(stream_new(s, af, src, dst, sport, dport, src_client, &st));
        side = src_client ? 0 : 1;
    }
    st->packets++;
    cap_half *h = &st->h[side];
    if (flags & TH_SYN) {
        h->has_isn = true;
        h->next = seq + 1; /* SYN takes one sequence number */
        seq++;
    }
    if (len > hl)
        TD_CHECK(tcp_data(st, side, seq, t + hl, len - hl));
    if (flags & TH_FIN)
        h->fin = true;
    if (flags & TH_RST)
        st->reset = true;
    /* Both FINs, or a reset: the stream is over. */
    if ((st->h[0].fin && st->h[1].fin) || st->reset)
        TD_CHECK(stream_close(st));
    return TD_OK;
}

/* ---- IP ---- */

static td_err ip_packet(cap_state *s, const uint8_t *p, size_t len)
{
    if (len < 1) {
        malformed(s, "an empty IP packet");
        return TD_OK;
    }
    if ((p[0] >> 4) == 4) {
        size_t hl = (size_t)(p[0] & 15) * 4;
        if (len < 20 || hl < 20 || hl > len) {
            malformed(s, "an IPv4 header outside the packet");
            return TD_OK;
        }
        size_t total = be16(p + 2);
        if (s->cut && total > len)
            total = len;
        if (total < hl || total > len) {
            malformed(s, "an IPv4 total length outside the packet (snap length too short?)");
            return TD_OK;
        }
        if (p[9] != 6) {
            s->non_tcp++;
            return TD_OK;
        }
        /* RFC 791: MF set or a fragment offset: not reassembled here. */
        if ((be16(p + 6) & 0x3fff) != 0) {
            s->fragments++;
            return TD_OK;
        }
        return tcp_segment(s, 4, p + 12, p + 16, p + hl, total - hl);
    }
    if ((p[0] >> 4) == 6) {
        if (len < 40) {
            malformed(s, "an IPv6 header shorter than 40 bytes");
            return TD_OK;
        }
        size_t plen = be16(p + 4);
        if (s->cut && 40 + plen > len)
            plen = len - 40;
        if (40 + plen > len) {
            malformed(s, "an IPv6 payload length outside the packet");
            return TD_OK;
        }
        uint8_t next = p[6];
        size_t off = 40, end = 40 + plen;
        /* RFC 8200 §4: hop-by-hop, routing, destination options: skip them. */
        for (int i = 0; i < 8 && (next == 0 || next == 43 || next == 60); i++) {
            if (off + 8 > end) {
                malformed(s, "an IPv6 extension header outside the packet");
                return TD_OK;
            }
            size_t elen = ((size_t)p[off + 1] + 1) * 8;
            next = p[off];
            off += elen;
            if (off > end) {
                malformed(s, "an IPv6 extension header outside the packet");
                return TD_OK;
            }
        }
        if (next == 44) {
            s->fragments++;
            return TD_OK;
        }
        if (next != 6) {
            s->non_tcp++;
            return TD_OK;
        }
        return tcp_segment(s, 6, p + 8, p + 24, p + off, end - off);
    }
    s->non_tcp++;
    return TD_OK;
}

/* The IP packet inside a frame of |linktype|; unsupported link types were
 * refused before. */
static td_err frame(cap_state *s, uint32_t linktype, const uint8_t *p, size_t len)
{
    s->packets++;
    switch (linktype) {
    case 1: { /* Ethernet II, with up to two 802.1Q / 802.1ad tags */
        size_t off = 12;
        for (int i = 0; i < 3; i++) {
            if (off + 2 > len) {
                malformed(s, "an Ethernet header shorter than 14 bytes");
                return TD_OK;
            }
            uint16_t et = be16(p + off);
            if ((et == 0x8100 || et == 0x88a8) && i < 2) {
                off += 4;
                continue;
            }
            if (et != 0x0800 && et != 0x86dd) {
                s->non_tcp++;
                return TD_OK;
            }
            return ip_packet(s, p + off + 2, len - off - 2);
        }
        return TD_OK;
    }
    case 0: { /* BSD loopback: a 4-byte address family in the writer's byte order */
        if (len < 4) {
            malformed(s, "a loopback header shorter than 4 bytes");
            return TD_OK;
        }
        return ip_packet(s, p + 4, len - 4);
    }
    case 113:   /* Linux cooked v1: protocol at 14 */
    case 276: { /* Linux cooked v2: protocol at 0, 20 bytes */
        size_t hl = linktype == 113 ? 16 : 20;
        if (len < hl) {
            malformed(s, "a Linux cooked header outside the packet");
            return TD_OK;
        }
        uint16_t proto = be16(p + (linktype == 113 ? 14 : 0));
        if (proto != 0x0800 && proto != 0x86dd) {
            s->non_tcp++;
            return TD_OK;
        }
        return ip_packet(s, p + hl, len - hl);
    }
    default: /* 101, 12, 14 raw IP; 228 IPv4; 229 IPv6 */ return ip_packet(s, p, len);
    }
}

static bool linktype_ok(uint32_t lt)
{
    switch (lt) {
    case 0:
    case 1:
    case 12:
    case 14:
    case 101:
    case 113:
    case 228:
    case 229:
    case 276: return true;
    default: return false;
    }
}

static const char *linktype_name(uint32_t lt)
{
    switch (lt) {
    case 0: return "BSD loopback";
    case 1: return "Ethernet";
    case 12:
    case 14:
    case 101: return "raw IP";
    case 113: return "Linux cooked";
    case 276: return "Linux cooked v2";
    case 228: return "IPv4";
    case 229: return "IPv6";
    default: return "unsupported";
    }
}

/* ---- file formats ---- */

static td_err read_pcap(cap_state *s, const uint8_t *data, size_t len)
{
    cap_reader r = {.p = data, .len = len};
    uint32_t magic = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                     (uint32_t)data[3] << 24;
    r.be = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
    if (len < 24)
        return file_error(s, TD_ERR_FORMAT, len, "the pcap file header is truncated (24 bytes)", 0);
    uint32_t lt = rd32(&r, 20) & 0xffff;
    if (!linktype_ok(lt)) {
        char why[96];
        snprintf(why, sizeof(why), "link type %u is not supported", lt);
        return file_error(s, TD_ERR_UNSUPPORTED, 20, why, 0);
    }
    TD_CHECK(td_dis_attr(s->root, "format", "pcap"));
    TD_CHECK(td_dis_attr(s->root, "linktype", "%s (%u)", linktype_name(lt), lt));
    size_t off = 24;
    while (off < len) {
        if (len - off < 16) {
            truncated_at(s, len, s->packets + 1, off, "inside its record header, which starts");
            return TD_OK;
        }
        uint32_t incl = rd32(&r, off + 8);
        if (incl > CAP_MAX_PACKET)
            return file_error(s, TD_ERR_FORMAT, off + 8,
                              "a packet's captured length is larger than 256 KiB", s->packets + 1);
        if (incl > len - off - 16) {
            /* Cut mid-packet (a copy interrupted, a capture still being
             * written): the part that is there is decoded. */
            char what[96];
            snprintf(what, sizeof(what), "%zu of its %u bytes present; its record starts",
                     len - off - 16, incl);
            truncated_at(s, len, s->packets + 1, off, what);
            s->cut = true;
            td_err err = frame(s, lt, data + off + 16, len - off - 16);
            s->cut = false;
            return err;
        }
        TD_CHECK(frame(s, lt, data + off + 16, incl));
        off += 16 + (size_t)incl;
    }
    return TD_OK;
}

/* A pcapng block cut by the end of the file (at |off|, after at least
 * one whole block): reading stops; of a packet block, the captured bytes
 * that are there are decoded. */
static td_err pcapng_cut(cap_state *s, const cap_reader *r, const uint8_t *data, size_t len,
                         size_t off, uint32_t type, const uint32_t *ifaces, size_t num_ifaces)
{
    size_t have = len - off - 8; /* body bytes present (the header is whole) */
    char what[96];
    if (type != 6 || have < 20) {
        truncated_at(s, len, s->packets + 1, off,
                     type == 6 || type == 2 || type == 3
                         ? "inside its packet block header, which starts"
                         : "inside a block that starts");
        return TD_OK;
    }
    cap_reader br = {.p = data + off + 8, .len = have, .be = r->be};
    uint32_t iface = rd32(&br, 0), caplen = rd32(&br, 12);
    size_t avail = have - 20 < caplen ? have - 20 : caplen;
    snprintf(what, sizeof(what), "%zu of its %u bytes present; its packet block starts", avail,
             caplen);
    truncated_at(s, len, s->packets + 1, off, what);
    if (iface >= num_ifaces || caplen > CAP_MAX_PACKET)
        return TD_OK;
    s->cut = true;
    td_err err = frame(s, ifaces[iface], data + off + 8 + 20, avail);
    s->cut = false;
    return err;
}

/* pcapng (draft-ietf-opsawg-pcapng): blocks of type, total length, body,
 * total length again. */
static td_err read_pcapng(cap_state *s, const uint8_t *data, size_t len, char **out_secrets,
                          size_t *out_secrets_len)
{
    cap_reader r = {.p = data, .len = len};
    uint32_t ifaces[CAP_MAX_IFACES];
    size_t num_ifaces = 0;
    TD_CHECK(td_dis_attr(s->root, "format", "pcapng"));
    size_t off = 0;
    while (off < len) {
        if (len - off < 12 && off > 0) {
            truncated_at(s, len, s->packets + 1, off,
                         "inside the next block's header, which starts");
            return TD_OK;
        }
        if (len - off < 12)
            return file_error(s, TD_ERR_FORMAT, off, "a block header is truncated", 0);
        uint32_t type = rd32(&r, off);
        if (type == 0x0a0d0d0au) {
            /* Section Header Block: its byte-order magic sets the order. */
            if (len - off < 28 && off > 0) {
                truncated_at(s, len, s->packets + 1, off,
                             "inside a section header block, which starts");
                return TD_OK;
            }
            if (len - off < 28)
                return file_error(s, TD_ERR_FORMAT, off, "a section header is truncated", 0);
            const uint8_t *bom = data + off + 8;
            if (bom[0] == 0x1a && bom[1] == 0x2b && bom[2] == 0x3c && bom[3] == 0x4d)
                r.be = true;
            else if (bom[0] == 0x4d && bom[1] == 0x3c && bom[2] == 0x2b && bom[3] == 0x1a)
                r.be = false;
            else
                return file_error(s, TD_ERR_FORMAT, off + 8, "bad byte-order magic", 0);
            num_ifaces = 0;
        }
        uint32_t blen = rd32(&r, off + 4);
        if (blen >= 12 && blen % 4 == 0 && blen > len - off && off > 0)
            return pcapng_cut(s, &r, data, len, off, type, ifaces, num_ifaces);
        if (blen < 12 || blen % 4 != 0 || blen > len - off)
            return file_error(s, TD_ERR_FORMAT, off + 4,
                              "a block length is not a multiple of 4 within the file", 0);
        if (rd32(&r, off + blen - 4) != blen)
            return file_error(s, TD_ERR_FORMAT, off + blen - 4,
                              "a block's trailing length differs from its leading one", 0);
        const uint8_t *b = data + off + 8;
        size_t bl = blen - 12;
        cap_reader br = {.p = b, .len = bl, .be = r.be};
        if (type == 1) { /* Interface Description Block */
            if (bl < 8)
                return file_error(s, TD_ERR_FORMAT, off, "an interface block is truncated", 0);
            uint32_t lt = rd16(&br, 0);
            if (!linktype_ok(lt)) {
                char why[96];
                snprintf(why, sizeof(why), "link type %u is not supported", lt);
                return file_error(s, TD_ERR_UNSUPPORTED, off + 8, why, 0);
            }
            if (num_ifaces == CAP_MAX_IFACES)
                return file_error(s, TD_ERR_FORMAT, off, "more than 64 interfaces", 0);
            if (num_ifaces == 0 && td_dis_get(s->root, "linktype") == NULL)
                TD_CHECK(td_dis_attr(s->root, "linktype", "%s (%u)", linktype_name(lt), lt));
            ifaces[num_ifaces++] = lt;
        } else if (type == 6 || type == 2 || type == 3) { /* enhanced / obsolete / simple packet */
            size_t hdr = type == 6 ? 20 : type == 2 ? 20 : 4;
            if (bl < hdr)
                return file_error(s, TD_ERR_FORMAT, off, "a packet block is truncated",
                                  s->packets + 1);
            uint32_t iface = type == 6 ? rd32(&br, 0) : type == 2 ? rd16(&br, 0) : 0;
            uint32_t caplen = type == 3 ? (uint32_t)(bl - 4) : rd32(&br, 12);
            if (type == 3 && rd32(&br, 0) < caplen)
                caplen = rd32(&br, 0);
            if (iface >= num_ifaces)
                return file_error(s, TD_ERR_FORMAT, off + 8,
                                  "a packet names an interface that was not described",
                                  s->packets + 1);
            if (caplen > bl - hdr || caplen > CAP_MAX_PACKET)
                return file_error(s, TD_ERR_FORMAT, off + 8,
                                  "a packet's captured length runs past its block", s->packets + 1);
            s->comment = NULL;
            /* EPB options after the padded data: opt_comment (1). */
            for (size_t o = hdr + caplen + (4 - caplen % 4) % 4; type == 6 && o + 4 <= bl;) {
                uint16_t code = rd16(&br, o), olen = rd16(&br, o + 2);
                if (code == 0 || olen > bl - o - 4)
                    break;
                if (code == 1 && s->comment == NULL) {
                    s->comment = b + o + 4;
                    s->comment_len = olen;
                }
                o += 4 + (size_t)olen + (4 - olen % 4) % 4;
            }
            td_err err = frame(s, ifaces[iface], b + hdr, caplen);
            s->comment = NULL;
            TD_CHECK(err);
        } else if (type == 10) { /* Decryption Secrets Block */
            if (bl < 8)
                return file_error(s, TD_ERR_FORMAT, off, "a secrets block is truncated", 0);
            uint32_t stype = rd32(&br, 0), slen = rd32(&br, 4);
            if (slen > bl - 8)
                return file_error(s, TD_ERR_FORMAT, off + 12,
                                  "a secrets length runs past its block", 0);
            if (stype == 0x544c534bu) { /* "TLSK": NSS key log text */
                char *p = realloc(*out_secrets, *out_secrets_len + slen + 1);
                if (p == NULL)
                    return TD_ERR_NOMEM;
                memcpy(p + *out_secrets_len, b + 8, slen);
                *out_secrets_len += slen;
                p[*out_secrets_len] = '\n';
                *out_secrets_len += 1;
                *out_secrets = p;
            }
        }
        off += blen;
    }
    return TD_OK;
}

static void state_cleanup(cap_state *s)
{
    for (size_t i = 0; i < s->num_streams; i++) {
        td_dis_conn_free(s->streams[i].conn);
        half_cleanup(&s->streams[i].h[0]);
        half_cleanup(&s->streams[i].h[1]);
    }
    free(s->streams);
}

td_err td_dissect_capture(td_crypto *crypto, const uint8_t *data, size_t len,
                          const td_dis_keys *keys, const td_dis_capture_opts *opts,
                          td_dis_node **out, td_diag *diag)
{
    *out = NULL;
    td_dis_capture_opts none = {.stream = -1};
    cap_state s = {.crypto = crypto, .keys = keys, .opts = opts ? opts : &none, .diag = diag};
    char *secrets = NULL;
    size_t secrets_len = 0;
    td_dis_keys *embedded = NULL;
    td_err err = td_dis_node_new("capture", NULL, &s.root);
    if (err != TD_OK)
        return err;
    uint32_t m = len >= 4 ? (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
                                (uint32_t)data[2] << 8 | data[3]
                          : 0;
    if (len < 4)
        err = file_error(&s, TD_ERR_FORMAT, len, "too short for a capture file", 0);
    else if (m == 0xd4c3b2a1u || m == 0xa1b2c3d4u || m == 0x4d3cb2a1u || m == 0xa1b23c4du)
        err = read_pcap(&s, data, len);
    else if (m == 0x0a0d0d0au) {
        /* A first pass collects embedded secrets, so that packets before
         * the secrets block decrypt too. */
        if (keys == NULL) {
            td_dis_node *scratch_root = s.root;
            cap_state pre = {.crypto = crypto, .opts = s.opts, .diag = diag};
            err = td_dis_node_new("capture", NULL, &pre.root);
            td_dis_capture_opts only = *s.opts;
            only.stream = (long)CAP_MAX_STREAMS; /* no stream selected: framing only */
            pre.opts = &only;
            if (err == TD_OK)
                err = read_pcapng(&pre, data, len, &secrets, &secrets_len);
            td_dis_node_free(pre.root);
            state_cleanup(&pre);
            s.root = scratch_root;
            if (err == TD_OK && secrets != NULL) {
                err = td_dis_keys_parse(secrets, secrets_len, &embedded, diag);
                s.keys = embedded;
            }
            free(secrets);
            secrets = NULL;
            secrets_len = 0;
        }
        if (err == TD_OK)
            err = read_pcapng(&s, data, len, &secrets, &secrets_len);
    } else
        err = file_error(&s, TD_ERR_FORMAT, 0,
                         "not a capture file (no pcap or pcapng magic number)", 0);
    for (size_t i = 0; err == TD_OK && i < s.num_streams; i++)
        err = stream_close(&s.streams[i]);
    for (size_t i = 0; err == TD_OK && i < s.num_streams; i++)
        err = stream_fields(&s.streams[i]);
    if (err == TD_OK)
        err = td_dis_field(s.root, "packets", "%zu", s.packets);
    if (err == TD_OK)
        err = td_dis_field(s.root, "tcp_streams", "%zu", s.num_streams);
    if (err == TD_OK && embedded != NULL)
        err = td_dis_field(s.root, "keys", "%zu secrets from the file's decryption secrets block",
                           td_dis_keys_count(embedded));
    if (err == TD_OK && s.non_tcp > 0)
        err = td_dis_field(s.root, "skipped", "%zu packets that are not TCP over IP", s.non_tcp);
    if (err == TD_OK && s.fragments > 0)
        err = td_dis_field(s.root, "fragments", "%zu IP fragments (not reassembled)", s.fragments);
    if (err == TD_OK && s.malformed > 0)
        err = td_dis_field(s.root, "malformed", "%zu packets; the first: %s", s.malformed,
                           s.first_malformed);
    if (err == TD_OK && s.truncated[0] != '\0')
        err = td_dis_field(s.root, "truncated",
                           "%s; the file ends there, what came before is decoded", s.truncated);
    if (err == TD_ERR_LIMIT)
        err = file_error(&s, TD_ERR_LIMIT, 0, "more than 2^20 TCP streams", 0);
    state_cleanup(&s);
    free(secrets);
    td_dis_keys_free(embedded);
    if (err != TD_OK) {
        td_dis_node_free(s.root);
        return err;
    }
    *out = s.root;
    return TD_OK;
}
