/* fuzz/mutator.c -- structure-aware mutation of a client's record stream
 * (see mutator.h): the record model and its operators, handshake-message
 * operators, the driver, crossover and the byte-level fallback. The
 * ClientHello operators are in mutator_ch.c. */
#include <stdlib.h>
#include <string.h>

#include "mutator_internal.h"
#include "tlsdrill/record.h"

/* libFuzzer's own mutator, when the binary is linked with libFuzzer (or
 * AFL++'s libFuzzer driver); NULL otherwise. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size) __attribute__((weak));

/* ---- random numbers and value tables ---- */

void td_fz_rng_init(td_fz_rng *r, unsigned int seed, uint64_t salt)
{
    r->s = ((uint64_t)seed << 32 | seed) ^ (salt * 0x9e3779b97f4a7c15ull);
}

uint64_t td_fz_rng_next(td_fz_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

size_t td_fz_below(td_fz_rng *r, size_t n)
{
    return n == 0 ? 0 : (size_t)(td_fz_rng_next(r) % n);
}

bool td_fz_one_in(td_fz_rng *r, size_t n)
{
    return td_fz_below(r, n) == 0;
}

void td_fz_fill(td_fz_rng *r, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)td_fz_rng_next(r);
}

uint16_t td_fz_pick_u16(td_fz_rng *r, const uint16_t *table, size_t n)
{
    return table[td_fz_below(r, n)];
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 8446 §B.4 suites, TLS 1.2 ones, SCSVs, GREASE (RFC 8701). */
const uint16_t td_fz_suites[] = {0x1301, 0x1302, 0x1303, 0x1304, 0x1305, 0x1306, 0x00ff,
                                 0x5600, 0xc02b, 0xc02f, 0x009c, 0x0a0a, 0x0000, 0xffff};
const size_t td_fz_num_suites = COUNT(td_fz_suites);
/* §4.2.7 NamedGroup, hybrids, GREASE. */
const uint16_t td_fz_groups[] = {0x001d, 0x0017, 0x0018, 0x0019, 0x001e, 0x0100, 0x0101,
                                 0x0104, 0x11ec, 0x6399, 0x0a0a, 0x0000, 0x0016, 0xffff};
const size_t td_fz_num_groups = COUNT(td_fz_groups);
/* §4.2.3 SignatureScheme, legacy ones, GREASE. */
const uint16_t td_fz_sigalgs[] = {0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806,
                                  0x0807, 0x0808, 0x0809, 0x080a, 0x080b, 0x0401,
                                  0x0501, 0x0601, 0x0201, 0x0203, 0x0a0a, 0x0000};
const size_t td_fz_num_sigalgs = COUNT(td_fz_sigalgs);
const uint16_t td_fz_versions[] = {0x0304, 0x0303, 0x0302, 0x0301, 0x0300, 0x0200, 0x0305,
                                   0x7f1c, 0x7f17, 0xfefd, 0x0a0a, 0x0000, 0x0404};
const size_t td_fz_num_versions = COUNT(td_fz_versions);
/* Known types (some wrong in a ClientHello), GREASE, unassigned, ECH. */
const uint16_t td_fz_ext_types[] = {
    0,  1,  5,      10,     13,     14,     15,     16,     18,     21,     22,
    23, 28, 35,     41,     42,     43,     44,     45,     47,     48,     49,
    50, 51, 0xff01, 0x0a0a, 0x1a1a, 0xfafa, 0xfe0d, 0x3374, 0x4469, 0x0039, 0xffff};
const size_t td_fz_num_ext_types = COUNT(td_fz_ext_types);

/* ---- names ---- */

static const struct {
    const char *name;
    bool keeps;
} k_ops[] = {{"none", false},
#define TD_FZ_MUT_ROW_(e, name, keeps) {name, keeps},
             TD_FZ_MUT_LIST(TD_FZ_MUT_ROW_)
#undef TD_FZ_MUT_ROW_
};

const char *td_fz_mut_op_name(td_fz_mut_op op)
{
    return (unsigned)op < COUNT(k_ops) ? k_ops[op].name : "unknown";
}

bool td_fz_mut_op_keeps_syntax(td_fz_mut_op op)
{
    return (unsigned)op < COUNT(k_ops) && k_ops[op].keeps;
}

/* ---- the record model ---- */

#define MAX_RECS 256
#define MAX_BUFS 8

typedef struct orec {
    uint8_t type;
    uint16_t version;
    const uint8_t *p; /* payload (borrowed from the input or a scratch buffer) */
    size_t len;
    long len_lie; /* >= 0: the header says this instead of |len| */
} orec;

typedef struct mstream {
    size_t num;
    orec recs[MAX_RECS];
    const uint8_t *tail; /* bytes after the last whole record */
    size_t tail_len;
    uint8_t *bufs[MAX_BUFS];
    size_t num_bufs;
} mstream;

static uint8_t *ms_alloc(mstream *ms, size_t n)
{
    if (ms->num_bufs >= MAX_BUFS)
        return NULL;
    uint8_t *p = malloc(n ? n : 1);
    if (p != NULL)
        ms->bufs[ms->num_bufs++] = p;
    return p;
}

static void ms_free(mstream *ms)
{
    for (size_t i = 0; i < ms->num_bufs; i++)
        free(ms->bufs[i]);
    ms->num_bufs = 0;
}

static bool plausible_type(uint8_t type)
{
    return type >= TD_CT_CHANGE_CIPHER_SPEC && type <= TD_CT_APPLICATION_DATA;
}

/* RFC 8446 §5.1 framing. The first record must have a real content type;
 * after it, a header is a record if its type is real or its version looks
 * like one (so a mutated type does not end the stream). */
static bool ms_parse(const uint8_t *in, size_t len, mstream *ms)
{
    size_t off = 0;
    ms->num = 0;
    ms->num_bufs = 0;
    td_rec_frame rec;
    while (ms->num < MAX_RECS && td_rec_frame_read(in + off, len - off, &rec)) {
        if (!plausible_type(rec.type) && (ms->num == 0 || (rec.version >> 8) != 3))
            break;
        if (rec.avail_len < rec.body_len)
            break;
        ms->recs[ms->num++] = (orec){rec.type, rec.version, rec.body, rec.body_len, -1};
        off += TD_REC_HEADER_LEN + rec.body_len;
    }
    ms->tail = in + off;
    ms->tail_len = len - off;
    return ms->num > 0;
}

static size_t ms_size(const mstream *ms)
{
    size_t n = ms->tail_len;
    for (size_t i = 0; i < ms->num; i++)
        n += TD_REC_HEADER_LEN + ms->recs[i].len;
    return n;
}

/* Writes the stream to |out| (capacity |cap|); SIZE_MAX if it does not fit. */
static size_t ms_write(const mstream *ms, uint8_t *out, size_t cap)
{
    size_t need = ms_size(ms), o = 0;
    if (need > cap)
        return SIZE_MAX;
    for (size_t i = 0; i < ms->num; i++) {
        const orec *r = &ms->recs[i];
        size_t hl = r->len_lie >= 0 ? (size_t)r->len_lie : r->len;
        out[o++] = r->type;
        out[o++] = (uint8_t)(r->version >> 8);
        out[o++] = (uint8_t)r->version;
        out[o++] = (uint8_t)(hl >> 8);
        out[o++] = (uint8_t)hl;
        if (r->len > 0)
            memcpy(out + o, r->p, r->len);
        o += r->len;
    }
    if (ms->tail_len > 0)
        memcpy(out + o, ms->tail, ms->tail_len);
    return o + ms->tail_len;
}

/* Replaces |count| records at |at| with |n| new ones. */
static bool ms_splice(mstream *ms, size_t at, size_t count, const orec *recs, size_t n)
{
    if (at + count > ms->num || ms->num - count + n > MAX_RECS)
        return false;
    memmove(&ms->recs[at + n], &ms->recs[at + count], (ms->num - at - count) * sizeof(orec));
    if (n > 0)
        memcpy(&ms->recs[at], recs, n * sizeof(orec));
    ms->num = ms->num - count + n;
    return true;
}

/* ---- record operators ---- */

static bool rec_fragment(mstream *ms, td_fz_rng *r)
{
    size_t i = td_fz_below(r, ms->num);
    orec a = ms->recs[i], b = a;
    if (a.len == 0)
        return false;
    /* Empty halves are allowed (RFC 8446 §5.1 forbids empty handshake records). */
    size_t cut = td_fz_one_in(r, 8) ? (td_fz_one_in(r, 2) ? 0 : a.len) : 1 + td_fz_below(r, a.len);
    if (cut == a.len && a.len > 1 && !td_fz_one_in(r, 2))
        cut = a.len - 1;
    a.len = cut;
    a.len_lie = -1;
    b.p += cut;
    b.len -= cut;
    b.len_lie = -1;
    orec two[2] = {a, b};
    return ms_splice(ms, i, 1, two, 2);
}

static bool rec_coalesce(mstream *ms, td_fz_rng *r)
{
    size_t cand[MAX_RECS], n = 0;
    for (size_t i = 0; i + 1 < ms->num; i++)
        if (ms->recs[i].type == ms->recs[i + 1].type)
            cand[n++] = i;
    if (n == 0)
        return false;
    size_t i = cand[td_fz_below(r, n)], j = i + 1;
    /* Sometimes the whole run of that type. */
    while (td_fz_one_in(r, 2) && j + 1 < ms->num && ms->recs[j + 1].type == ms->recs[i].type)
        j++;
    size_t total = 0;
    for (size_t k = i; k <= j; k++)
        total += ms->recs[k].len;
    if (total > 0xffff)
        return false;
    uint8_t *p = ms_alloc(ms, total);
    if (p == NULL)
        return false;
    size_t o = 0;
    for (size_t k = i; k <= j; k++) {
        if (ms->recs[k].len > 0)
            memcpy(p + o, ms->recs[k].p, ms->recs[k].len);
        o += ms->recs[k].len;
    }
    orec m = ms->recs[i];
    m.p = p;
    m.len = total;
    m.len_lie = -1;
    return ms_splice(ms, i, j - i + 1, &m, 1);
}

static bool rec_inject(mstream *ms, td_fz_rng *r, bool ccs)
{
    static const uint8_t k_ccs[] = {1, 0, 2};
    uint8_t *p = ms_alloc(ms, 32);
    if (p == NULL)
        return false;
    orec x = {TD_CT_CHANGE_CIPHER_SPEC, 0x0303, p, 1, -1};
    if (ccs) {
        /* RFC 8446 §5: the value 0x01, sometimes another or two bytes. */
        p[0] = k_ccs[td_fz_one_in(r, 6) ? 1 + td_fz_below(r, 2) : 0];
        p[1] = 1;
        x.len = td_fz_one_in(r, 10) ? 2 : 1;
    } else {
        switch (td_fz_below(r, 3)) {
        case 0: /* alert: warning or fatal, some description */
            x.type = TD_CT_ALERT;
            p[0] = (uint8_t)(1 + td_fz_below(r, 2));
            p[1] = (uint8_t)(td_fz_one_in(r, 2) ? 0 : td_fz_rng_next(r));
            x.len = 2;
            break;
        case 1: /* application data (plaintext, or garbage that does not decrypt) */
            x.type = TD_CT_APPLICATION_DATA;
            x.len = td_fz_below(r, 33);
            td_fz_fill(r, p, x.len);
            break;
        default: /* an empty record of the run's type */
            x.type = ms->recs[td_fz_below(r, ms->num)].type;
            x.len = 0;
            break;
        }
    }
    if (ms->num > 0)
        x.version = ms->recs[0].version;
    return ms_splice(ms, td_fz_below(r, ms->num + 1), 0, &x, 1);
}

static bool rec_version(mstream *ms, td_fz_rng *r)
{
    static const uint16_t v[] = {0x0301, 0x0302, 0x0303, 0x0304, 0x0300, 0x0200, 0x0000, 0xfefd};
    orec *x = &ms->recs[td_fz_below(r, ms->num)];
    uint16_t nv = td_fz_one_in(r, 8) ? (uint16_t)td_fz_rng_next(r) : v[td_fz_below(r, COUNT(v))];
    if (nv == x->version)
        nv ^= 0x0001;
    x->version = nv;
    return true;
}

static bool rec_type(mstream *ms, td_fz_rng *r)
{
    static const uint8_t t[] = {20, 21, 22, 23, 24, 0, 25, 255};
    orec *x = &ms->recs[td_fz_below(r, ms->num)];
    uint8_t nt = t[td_fz_below(r, COUNT(t))];
    if (nt == x->type)
        nt = (uint8_t)(nt == 22 ? 23 : 22);
    x->type = nt;
    return true;
}

static bool rec_length_lie(mstream *ms, td_fz_rng *r)
{
    orec *x = &ms->recs[td_fz_below(r, ms->num)];
    long v;
    switch (td_fz_below(r, 4)) {
    case 0: v = (long)x->len + 1 + (long)td_fz_below(r, 4); break;
    case 1: v = (long)x->len - 1 - (long)td_fz_below(r, 4); break;
    case 2: v = td_fz_one_in(r, 2) ? 0x4001 : 0xffff; break; /* §5.1: > 2^14 */
    default: v = (long)(td_fz_rng_next(r) & 0xffff); break;
    }
    if (v < 0)
        v = 0;
    if (v == (long)x->len)
        v = (long)x->len + 1;
    x->len_lie = v & 0xffff;
    return true;
}

static bool rec_duplicate(mstream *ms, td_fz_rng *r)
{
    size_t i = td_fz_below(r, ms->num);
    orec x = ms->recs[i];
    return ms_splice(ms, i + 1, 0, &x, 1);
}

static bool rec_drop(mstream *ms, td_fz_rng *r)
{
    if (ms->num < 2 && ms->tail_len == 0)
        return false;
    if (ms->num < 2) {
        ms->tail_len = 0;
        return true;
    }
    return ms_splice(ms, td_fz_below(r, ms->num), 1, NULL, 0);
}

static bool rec_swap(mstream *ms, td_fz_rng *r)
{
    if (ms->num < 2)
        return false;
    size_t i = td_fz_below(r, ms->num - 1);
    orec t = ms->recs[i];
    ms->recs[i] = ms->recs[i + 1];
    ms->recs[i + 1] = t;
    return true;
}

/* ---- handshake runs ---- */

/* A maximal run of handshake records, reassembled. */
typedef struct hs_run {
    size_t first, count;
    uint8_t *payload; /* scratch (owned by the stream) */
    size_t len;
} hs_run;

/* Picks a run of handshake records (uniformly), reassembled. */
static bool pick_run(mstream *ms, td_fz_rng *r, hs_run *out)
{
    size_t starts[MAX_RECS], n = 0;
    for (size_t i = 0; i < ms->num; i++)
        if (ms->recs[i].type == TD_CT_HANDSHAKE &&
            (i == 0 || ms->recs[i - 1].type != TD_CT_HANDSHAKE))
            starts[n++] = i;
    if (n == 0)
        return false;
    /* Mostly the first run: the ClientHello. */
    size_t s = td_fz_one_in(r, 4) ? starts[td_fz_below(r, n)] : starts[0];
    size_t e = s, total = 0;
    while (e < ms->num && ms->recs[e].type == TD_CT_HANDSHAKE)
        total += ms->recs[e++].len;
    out->first = s;
    out->count = e - s;
    out->len = total;
    out->payload = ms_alloc(ms, total);
    if (out->payload == NULL)
        return false;
    size_t o = 0;
    for (size_t k = s; k < e; k++) {
        if (ms->recs[k].len > 0)
            memcpy(out->payload + o, ms->recs[k].p, ms->recs[k].len);
        o += ms->recs[k].len;
    }
    return true;
}

/* Replaces run |run| by |payload| (owned by the stream), framed like the
 * original: the same fragment sizes as far as they go, the last fragment
 * taking the rest (split at 2^14 bytes when longer). */
static bool replace_run(mstream *ms, const hs_run *run, const uint8_t *payload, size_t len)
{
    orec recs[MAX_RECS];
    size_t n = 0, o = 0;
    for (size_t k = 0; k < run->count && n < MAX_RECS; k++) {
        orec x = ms->recs[run->first + k];
        bool last = k + 1 == run->count;
        size_t want = last ? len - o : x.len;
        if (want > len - o)
            want = len - o;
        if (!last && want == 0 && x.len != 0)
            continue; /* payload shrank: fewer fragments */
        do {
            size_t piece = want > TD_REC_MAX_PLAINTEXT && !(x.len > TD_REC_MAX_PLAINTEXT)
                               ? TD_REC_MAX_PLAINTEXT
                               : want;
            if (piece > 0xffff)
                piece = 0xffff;
            if (n >= MAX_RECS)
                return false;
            recs[n++] = (orec){x.type, x.version, payload + o, piece, -1};
            o += piece;
            want -= piece;
        } while (want > 0);
    }
    if (o != len)
        return false;
    return ms_splice(ms, run->first, run->count, recs, n);
}

typedef struct hs_msg {
    size_t at, len;
} hs_msg;

/* Whole messages of a run (the incomplete rest is not listed). */
static size_t run_messages(const hs_run *run, hs_msg *out, size_t cap)
{
    td_cbs in;
    size_t n = 0;
    td_cbs_init(&in, run->payload, run->len);
    while (n < cap) {
        uint8_t type;
        td_cbs body, whole;
        if (td_msg_next(&in, &type, &body, &whole) != TD_OK)
            break;
        out[n].at = (size_t)(td_cbs_data(&whole) - run->payload);
        out[n].len = td_cbs_len(&whole);
        n++;
    }
    return n;
}

/* Builds a new run payload: prefix, |mid|, suffix around message |m|. */
static bool run_with(mstream *ms, const hs_run *run, const hs_msg *m, const uint8_t *mid,
                     size_t mid_len, bool keep_original)
{
    size_t before = m->at + (keep_original ? m->len : 0), after_at = m->at + m->len;
    size_t total = before + mid_len + (run->len - after_at);
    uint8_t *p = ms_alloc(ms, total);
    if (p == NULL)
        return false;
    memcpy(p, run->payload, before);
    if (mid_len > 0)
        memcpy(p + before, mid, mid_len);
    memcpy(p + before + mid_len, run->payload + after_at, run->len - after_at);
    return replace_run(ms, run, p, total);
}

static bool hs_op(mstream *ms, td_fz_rng *r, td_fz_mut_op op)
{
    hs_run run;
    hs_msg msgs[64];
    if (!pick_run(ms, r, &run))
        return false;
    size_t n = run_messages(&run, msgs, COUNT(msgs));
    if (n == 0)
        return false;
    const hs_msg *m = &msgs[td_fz_below(r, n)];
    uint8_t *copy = ms_alloc(ms, m->len + 64);
    if (copy == NULL)
        return false;
    memcpy(copy, run.payload + m->at, m->len);
    switch ((int)op) {
    case TD_FZ_MUT_HS_TYPE: {
        static const uint8_t t[] = {1, 2, 4, 5, 8, 11, 13, 15, 20, 24, 254, 0, 3, 255};
        uint8_t nt = t[td_fz_below(r, COUNT(t))];
        copy[0] = nt == copy[0] ? (uint8_t)(nt + 1) : nt;
        return run_with(ms, &run, m, copy, m->len, false);
    }
    case TD_FZ_MUT_HS_LENGTH_LIE: {
        uint32_t v = (uint32_t)copy[1] << 16 | (uint32_t)copy[2] << 8 | copy[3], nv;
        switch (td_fz_below(r, 4)) {
        case 0: nv = v + 1 + (uint32_t)td_fz_below(r, 4); break;
        case 1: nv = v - 1 - (uint32_t)td_fz_below(r, 4); break;
        case 2: nv = td_fz_one_in(r, 2) ? 0 : 0xffffff; break;
        default: nv = (uint32_t)td_fz_rng_next(r); break;
        }
        nv &= 0xffffff;
        if (nv == v)
            nv = (v + 1) & 0xffffff;
        copy[1] = (uint8_t)(nv >> 16), copy[2] = (uint8_t)(nv >> 8), copy[3] = (uint8_t)nv;
        return run_with(ms, &run, m, copy, m->len, false);
    }
    case TD_FZ_MUT_HS_DUPLICATE: return run_with(ms, &run, m, copy, m->len, true);
    case TD_FZ_MUT_HS_APPEND: {
        /* A message that has no business here (RFC 8446 §5.1: a key change
         * must align with a record boundary; §4: order). */
        uint8_t x[4 + 48];
        size_t bl;
        switch (td_fz_below(r, 5)) {
        case 0: x[0] = TD_MSG_FINISHED, bl = 32; break;
        case 1: x[0] = TD_MSG_KEY_UPDATE, bl = 1; break;
        case 2: x[0] = TD_MSG_END_OF_EARLY_DATA, bl = 0; break;
        case 3: x[0] = TD_MSG_CERTIFICATE, bl = 4; break;
        default: x[0] = (uint8_t)td_fz_rng_next(r), bl = td_fz_below(r, 48); break;
        }
        td_fz_fill(r, x + 4, bl);
        if (x[0] == TD_MSG_CERTIFICATE)
            memset(x + 4, 0, 4);
        if (x[0] == TD_MSG_KEY_UPDATE)
            x[4] &= 1;
        x[1] = 0, x[2] = 0, x[3] = (uint8_t)bl;
        return run_with(ms, &run, m, x, 4 + bl, true);
    }
    default: return false;
    }
}

static bool ch_op(mstream *ms, td_fz_rng *r, td_fz_mut_op op)
{
    hs_run run;
    hs_msg msgs[64], chs[64];
    if (!pick_run(ms, r, &run))
        return false;
    size_t n = run_messages(&run, msgs, COUNT(msgs)), nc = 0;
    for (size_t i = 0; i < n; i++)
        if (run.payload[msgs[i].at] == TD_MSG_CLIENT_HELLO)
            chs[nc++] = msgs[i];
    if (nc == 0)
        return false;
    const hs_msg *m = &chs[td_fz_below(r, nc)];
    td_cbb out;
    uint8_t *bytes = NULL, *p;
    size_t len = 0;
    if (!td_cbb_init(&out, m->len + 64))
        return false;
    bool ok = td_fz_ch_mutate(op, r, run.payload + m->at, m->len, &out) &&
              td_cbb_finish(&out, &bytes, &len);
    td_cbb_cleanup(&out);
    if (!ok || (p = ms_alloc(ms, len)) == NULL) {
        free(bytes);
        return false;
    }
    memcpy(p, bytes, len);
    free(bytes);
    return run_with(ms, &run, m, p, len, false);
}

/* ---- byte-level fallback ---- */

static size_t bytes_mutate(uint8_t *d, size_t size, size_t max, td_fz_rng *r)
{
    static const uint16_t interesting[] = {0x0000, 0x0001, 0x00ff, 0x0100, 0x7fff, 0x8000,
                                           0xffff, 0x0303, 0x0304, 0x1301, 0x001d, 0x0403,
                                           0x002b, 0x0033, 0x0029, 0x4000, 0x4001, 0x1603};
    if (max == 0)
        return 0;
    if (size == 0) {
        d[0] = (uint8_t)td_fz_rng_next(r);
        return 1;
    }
    size_t at = td_fz_below(r, size);
    switch (td_fz_below(r, 9)) {
    case 0: d[at] ^= (uint8_t)(1u << td_fz_below(r, 8)); break;
    case 1: d[at] = (uint8_t)td_fz_rng_next(r); break;
    case 2: d[at] = (uint8_t)(d[at] + 1 + td_fz_below(r, 8) - 4); break;
    case 3: { /* an interesting big-endian u16 */
        uint16_t v = td_fz_pick_u16(r, interesting, COUNT(interesting));
        d[at] = (uint8_t)(v >> 8);
        if (at + 1 < size)
            d[at + 1] = (uint8_t)v;
        break;
    }
    case 4: { /* insert 1..4 bytes */
        size_t n = 1 + td_fz_below(r, 4);
        if (n > max - size)
            n = max - size;
        if (n == 0)
            break;
        memmove(d + at + n, d + at, size - at);
        td_fz_fill(r, d + at, n);
        return size + n;
    }
    case 5: { /* erase 1..8 bytes */
        size_t n = 1 + td_fz_below(r, 8);
        if (n >= size)
            n = size - 1;
        if (at + n > size)
            n = size - at;
        if (n == 0)
            break;
        memmove(d + at, d + at + n, size - at - n);
        return size - n;
    }
    case 6: { /* copy a chunk over another place */
        size_t from = td_fz_below(r, size), n = 1 + td_fz_below(r, 16);
        if (from + n > size)
            n = size - from;
        if (at + n > size)
            n = size - at;
        memmove(d + at, d + from, n);
        break;
    }
    case 7: { /* duplicate a chunk (insert a copy) */
        size_t from = td_fz_below(r, size), n = 1 + td_fz_below(r, 16);
        if (from + n > size)
            n = size - from;
        if (n > max - size)
            n = max - size;
        if (n == 0)
            break;
        uint8_t tmp[16];
        memcpy(tmp, d + from, n);
        memmove(d + at + n, d + at, size - at);
        memcpy(d + at, tmp, n);
        return size + n;
    }
    default: /* truncate */
        if (size > 1)
            return 1 + td_fz_below(r, size - 1);
        d[0] ^= 0xff;
        break;
    }
    return size;
}

static size_t bytes_op(uint8_t *d, size_t size, size_t max, td_fz_rng *r)
{
    if (LLVMFuzzerMutate != NULL && max > 0)
        return LLVMFuzzerMutate(d, size, max);
    uint8_t *orig = malloc(size ? size : 1);
    if (orig == NULL)
        return bytes_mutate(d, size, max, r);
    memcpy(orig, d, size);
    size_t n = size;
    /* A few draws do nothing (a chunk copied onto itself): draw again. */
    for (int i = 0; i < 8 && n == size && memcmp(d, orig, size) == 0; i++)
        n = bytes_mutate(d, size, max, r);
    if (n == size && memcmp(d, orig, size) == 0)
        d[td_fz_below(r, size)] ^= 0x01;
    free(orig);
    return n;
}

/* ---- driver ---- */

static bool is_program(const uint8_t *d, size_t n)
{
    return n >= 4 && memcmp(d, "TDP1", 4) == 0;
}

static bool stream_op(mstream *ms, td_fz_rng *r, td_fz_mut_op op)
{
    switch (op) {
    case TD_FZ_MUT_REC_FRAGMENT: return rec_fragment(ms, r);
    case TD_FZ_MUT_REC_COALESCE: return rec_coalesce(ms, r);
    case TD_FZ_MUT_REC_CCS_INJECT: return rec_inject(ms, r, true);
    case TD_FZ_MUT_REC_INJECT: return rec_inject(ms, r, false);
    case TD_FZ_MUT_REC_VERSION: return rec_version(ms, r);
    case TD_FZ_MUT_REC_TYPE: return rec_type(ms, r);
    case TD_FZ_MUT_REC_LENGTH_LIE: return rec_length_lie(ms, r);
    case TD_FZ_MUT_REC_DUPLICATE: return rec_duplicate(ms, r);
    case TD_FZ_MUT_REC_DROP: return rec_drop(ms, r);
    case TD_FZ_MUT_REC_SWAP: return rec_swap(ms, r);
    case TD_FZ_MUT_HS_TYPE:
    case TD_FZ_MUT_HS_LENGTH_LIE:
    case TD_FZ_MUT_HS_DUPLICATE:
    case TD_FZ_MUT_HS_APPEND: return hs_op(ms, r, op);
    case TD_FZ_MUT_CH_EXT_DROP:
    case TD_FZ_MUT_CH_EXT_DUPLICATE:
    case TD_FZ_MUT_CH_EXT_REORDER:
    case TD_FZ_MUT_CH_EXT_INSERT_UNKNOWN:
    case TD_FZ_MUT_CH_EXT_ADD_TYPED:
    case TD_FZ_MUT_CH_EXT_BODY:
    case TD_FZ_MUT_CH_LIST_EDIT:
    case TD_FZ_MUT_CH_LEGACY_VERSION:
    case TD_FZ_MUT_CH_SESSION_ID:
    case TD_FZ_MUT_CH_COMPRESSION:
    case TD_FZ_MUT_CH_RANDOM:
    case TD_FZ_MUT_CH_KEY_SHARE:
    case TD_FZ_MUT_CH_PSK_IDENTITY:
    case TD_FZ_MUT_CH_PSK_BINDER:
    case TD_FZ_MUT_CH_BINDER_FLIP:
    case TD_FZ_MUT_CH_COOKIE:
    case TD_FZ_MUT_CH_LENGTH_LIE:
    case TD_FZ_MUT_CH_TRAILER: return ch_op(ms, r, op);
    case TD_FZ_MUT_NONE:
    case TD_FZ_MUT_BYTES:
    case TD_FZ_MUT_NUM_OPS: return false;
    }
    return false;
}

size_t td_fz_mutate_op(uint8_t *data, size_t size, size_t max_size, unsigned int seed,
                         td_fz_mut_op op)
{
    td_fz_rng r;
    size_t out_len = 0;
    if (is_program(data, size) || op <= TD_FZ_MUT_NONE || op >= TD_FZ_MUT_NUM_OPS || max_size == 0)
        return 0;
    td_fz_rng_init(&r, seed, (uint64_t)op);
    if (size > max_size)
        size = max_size;
    if (op == TD_FZ_MUT_BYTES)
        return bytes_op(data, size, max_size, &r);
    /* On the stack, not the heap: this runs once per mutation, and under
     * ASan every heap block of this size is filled and first touched anew
     * (ms_parse sets every member the stream reads). The new stream is
     * written straight to |data| (capacity |max_size|): the records point
     * into the copy |in| or into the stream's own buffers. ms_write writes
     * nothing when the stream does not fit. */
    mstream ms_storage, *ms = &ms_storage;
    uint8_t in_storage[4096];
    uint8_t *in = size <= sizeof(in_storage) ? in_storage : malloc(size);
    ms->num_bufs = 0;
    if (in == NULL)
        goto done;
    memcpy(in, data, size);
    if (!ms_parse(in, size, ms) || !stream_op(ms, &r, op))
        goto done;
    size_t n = ms_write(ms, data, max_size);
    if (n == SIZE_MAX || n == 0 || (n == size && memcmp(data, in, n) == 0))
        goto done;
    out_len = n;
done:
    ms_free(ms);
    if (in != in_storage)
        free(in);
    return out_len;
}

/* Picks an operator: the ClientHello ones most of the time. */
static td_fz_mut_op pick_op(td_fz_rng *r)
{
    size_t x = td_fz_below(r, 100);
    if (x < 8)
        return TD_FZ_MUT_BYTES;
    if (x < 30)
        return (td_fz_mut_op)(TD_FZ_MUT_REC_FRAGMENT + td_fz_below(r, 10));
    if (x < 40)
        return (td_fz_mut_op)(TD_FZ_MUT_HS_TYPE + td_fz_below(r, 4));
    return (td_fz_mut_op)(TD_FZ_MUT_CH_EXT_DROP +
                        td_fz_below(r, TD_FZ_MUT_CH_TRAILER - TD_FZ_MUT_CH_EXT_DROP + 1));
}

size_t td_fz_mutate_records(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    td_fz_rng r;
    if (is_program(data, size) || max_size == 0)
        return 0;
    if (size > max_size)
        size = max_size;
    td_fz_rng_init(&r, seed, 0);
    bool records = size >= TD_REC_HEADER_LEN; /* else: nothing to read as records */
    size_t rounds = td_fz_one_in(&r, 6) ? 2 + td_fz_below(&r, 3) : 1;
    for (size_t k = 0; k < rounds; k++) {
        size_t n = 0;
        for (int tries = 0; records && n == 0 && tries < 12; tries++) {
            td_fz_mut_op op = pick_op(&r);
            n = td_fz_mutate_op(data, size, max_size, (unsigned)td_fz_rng_next(&r), op);
        }
        if (n == 0)
            n = bytes_op(data, size, max_size, &r);
        if (n == 0 || is_program(data, n)) {
            /* Never hand back an empty input, nor a program we did not make. */
            data[0] = (uint8_t)(data[0] == 'T' ? 0x16 : data[0]);
            n = n == 0 ? 1 : n;
        }
        size = n;
    }
    return size;
}

/* ---- crossover ---- */

/* Splices the first ClientHello of |b| into the first of |a| (one of
 * several ways), writing the resulting stream of |a| to |out|. */
static size_t cross_ch(mstream *ma, mstream *mb, td_fz_rng *r, uint8_t *out, size_t max_out)
{
    hs_run ra, rb;
    hs_msg am[16], bm[16];
    size_t na, nb, res = 0;
    uint8_t *built = NULL;
    td_msg *x = calloc(2, sizeof(td_msg));
    if (x == NULL)
        return 0;
    td_msg *ca = &x[0], *cb = &x[1];
    td_cbs ta, tb;
    /* pick_run picks the first run 3 times in 4: ask for it until it does. */
    if (!pick_run(ma, r, &ra) || !pick_run(mb, r, &rb))
        goto out;
    na = run_messages(&ra, am, COUNT(am));
    nb = run_messages(&rb, bm, COUNT(bm));
    if (na == 0 || nb == 0 || ra.payload[am[0].at] != TD_MSG_CLIENT_HELLO ||
        rb.payload[bm[0].at] != TD_MSG_CLIENT_HELLO ||
        !td_fz_ch_read(ra.payload + am[0].at + 4, am[0].len - 4, ca, &ta) ||
        !td_fz_ch_read(rb.payload + bm[0].at + 4, bm[0].len - 4, cb, &tb))
        goto out;
    td_client_hello *a = &ca->u.ch, *b = &cb->u.ch;
    switch (td_fz_below(r, 4)) {
    case 0: { /* one extension of b into a: replaces a's of that type, or inserted */
        if (b->exts.num == 0)
            goto out;
        const td_ext *e = &b->exts.list[td_fz_below(r, b->exts.num)];
        td_ext *same = td_exts_find(&a->exts, e->type);
        if (same != NULL && !td_fz_one_in(r, 4)) {
            same->body = e->body;
        } else {
            size_t at = td_fz_below(r, a->exts.num + 1);
            if (at == a->exts.num && at > 0 && a->exts.list[at - 1].type == TD_EXT_PRE_SHARED_KEY)
                at--;
            if (td_exts_insert_raw(&a->exts, at, e->type, e->body) != TD_OK)
                goto out;
        }
        a->has_extensions = true;
        break;
    }
    case 1: /* a's fields, b's extensions */
        a->exts = b->exts;
        /* td_fz_ch_read keeps a block inline: the copy's list is a's own. */
        a->exts.list = a->exts.list_inline;
        a->has_extensions = b->has_extensions;
        ta = tb;
        break;
    case 2: /* b's cipher suites */
        memcpy(a->cipher_suites, b->cipher_suites, b->num_cipher_suites * sizeof(uint16_t));
        a->num_cipher_suites = b->num_cipher_suites;
        break;
    default: /* the tails of both extension lists */
        if (a->exts.num == 0 || b->exts.num == 0)
            goto out;
        {
            size_t ka = td_fz_below(r, a->exts.num + 1), kb = td_fz_below(r, b->exts.num);
            size_t n = ka + (b->exts.num - kb);
            if (n > TD_MAX_EXTENSIONS)
                goto out;
            memcpy(&a->exts.list[ka], &b->exts.list[kb], (b->exts.num - kb) * sizeof(td_ext));
            a->exts.num = n;
        }
        break;
    }
    td_cbb cbb, body;
    size_t blen = 0;
    if (!td_cbb_init(&cbb, 512))
        goto out;
    if (!td_cbb_add_u8(&cbb, TD_MSG_CLIENT_HELLO) || !td_cbb_add_u24_prefixed(&cbb, &body) ||
        td_msg_build_body(ca, &body) != TD_OK ||
        !td_cbb_add_bytes(&body, td_cbs_data(&ta), td_cbs_len(&ta)) ||
        !td_cbb_finish(&cbb, &built, &blen)) {
        td_cbb_cleanup(&cbb);
        goto out;
    }
    uint8_t *p = ms_alloc(ma, blen);
    if (p == NULL)
        goto out;
    memcpy(p, built, blen);
    if (!run_with(ma, &ra, &am[0], p, blen, false))
        goto out;
    size_t n = ms_write(ma, out, max_out);
    res = n == SIZE_MAX ? 0 : n;
out:
    free(built);
    td_msg_cleanup(ca);
    td_msg_cleanup(cb);
    free(x);
    return res;
}

size_t td_fz_crossover_records(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                                 uint8_t *out, size_t max_out, unsigned int seed)
{
    td_fz_rng r;
    size_t res = 0;
    if (is_program(a, a_len) || is_program(b, b_len) || max_out == 0)
        return 0;
    td_fz_rng_init(&r, seed, 0xc055);
    mstream ms[2]; /* on the stack: see td_fz_mutate_op */
    bool pa = ms_parse(a, a_len, &ms[0]), pb = ms_parse(b, b_len, &ms[1]);
    if (pa && pb) {
        for (int i = 0; i < 4 && res == 0; i++)
            res = cross_ch(&ms[0], &ms[1], &r, out, max_out);
        if (res == 0) {
            /* records of a up to i, then records of b from j */
            mstream *x = &ms[0];
            const mstream *y = &ms[1];
            size_t i = td_fz_below(&r, x->num + 1), j = td_fz_below(&r, y->num);
            x->num = i;
            x->tail = y->tail;
            x->tail_len = y->tail_len;
            for (size_t k = j; k < y->num && x->num < MAX_RECS; k++)
                x->recs[x->num++] = y->recs[k];
            size_t n = ms_write(x, out, max_out);
            res = n == SIZE_MAX || n == 0 ? 0 : n;
        }
    }
    if (res == 0) {
        /* byte splice: a[0, i) then b[j, ...) */
        size_t i = td_fz_below(&r, a_len + 1), j = td_fz_below(&r, b_len + 1);
        if (i > max_out)
            i = max_out;
        size_t rest = b_len - j < max_out - i ? b_len - j : max_out - i;
        memcpy(out, a, i);
        memcpy(out + i, b + j, rest);
        res = i + rest;
        if (res == 0) {
            out[0] = a_len ? a[0] : b_len ? b[0] : 0x16;
            res = 1;
        }
    }
    ms_free(&ms[0]);
    ms_free(&ms[1]);
    if (is_program(out, res))
        out[0] = 0x16;
    return res;
}

bool td_fz_records_parse(const uint8_t *data, size_t size, bool *out_ch_ok)
{
    bool ok = false;
    if (out_ch_ok != NULL)
        *out_ch_ok = false;
    mstream *ms = calloc(1, sizeof(*ms));
    td_msg *m = malloc(sizeof(td_msg));
    if (ms == NULL || m == NULL)
        goto out;
    if (!ms_parse(data, size, ms))
        goto out;
    ok = ms->tail_len == 0 && ms->num < MAX_RECS;
    if (out_ch_ok == NULL)
        goto out;
    /* The first run, reassembled, must start with a ClientHello that reads
     * with nothing left over. */
    td_fz_rng r;
    td_fz_rng_init(&r, 1, 1); /* pick_run: the first run when the draw says so */
    hs_run run;
    size_t first = 0;
    while (first < ms->num && ms->recs[first].type != TD_CT_HANDSHAKE)
        first++;
    if (first == ms->num)
        goto out;
    size_t e = first, total = 0;
    while (e < ms->num && ms->recs[e].type == TD_CT_HANDSHAKE)
        total += ms->recs[e++].len;
    run = (hs_run){first, e - first, ms_alloc(ms, total), total};
    if (run.payload == NULL)
        goto out;
    for (size_t k = first, o = 0; k < e; o += ms->recs[k].len, k++)
        if (ms->recs[k].len > 0)
            memcpy(run.payload + o, ms->recs[k].p, ms->recs[k].len);
    hs_msg hm;
    td_cbs tr;
    if (run_messages(&run, &hm, 1) == 1 && run.payload[hm.at] == TD_MSG_CLIENT_HELLO &&
        td_fz_ch_read(run.payload + hm.at + 4, hm.len - 4, m, &tr) && td_cbs_len(&tr) == 0)
        *out_ch_ok = true;
out:
    if (ms != NULL)
        ms_free(ms);
    free(ms);
    free(m);
    return ok;
}
