/* dissect_tls.c -- one TLS connection as a tree (td_dis_conn, tlsdrill/dissect.h):
 * record framing (RFC 8446 §5.1), decryption with key log secrets (§5.2,
 * §5.3, §7.3, KeyUpdate §4.6.3 / §7.2), handshake reassembly, alerts (§6);
 * and the NSS key log reader (td_dis_keys). */
#include <stdlib.h>
#include <string.h>

#include "dissect_internal.h"
#include "tlsdrill/keysched.h"
#include "tlsdrill/record.h"

/* ---- key log ---- */

enum { KL_EARLY, KL_C_HS, KL_S_HS, KL_C_AP, KL_S_AP, KL_NUM };

static const char *const k_labels[KL_NUM] = {
    "CLIENT_EARLY_TRAFFIC_SECRET", "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"};

typedef struct dis_key {
    int label;
    uint8_t random[TD_RANDOM_LEN];
    uint8_t secret[TD_MAX_HASH_LEN];
    size_t len;
} dis_key;

struct td_dis_keys {
    dis_key *list;
    size_t num, cap;
};

void td_dis_keys_free(td_dis_keys *keys)
{
    if (keys == NULL)
        return;
    if (keys->list != NULL)
        td_cleanse(keys->list, keys->cap * sizeof(*keys->list));
    free(keys->list);
    free(keys);
}

size_t td_dis_keys_count(const td_dis_keys *keys)
{
    return keys ? keys->num : 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* |n| hex digits at |p| into n/2 bytes; false on a non-hex digit. */
static bool unhex(const char *p, size_t n, uint8_t *out)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        int hi = hexval(p[i]), lo = hexval(p[i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static td_err keys_line(td_dis_keys *k, const char *s, size_t n, size_t no, td_diag *diag)
{
    size_t a = 0;
    while (a < n && (s[a] == ' ' || s[a] == '\t'))
        a++;
    if (a == n || s[a] == '#')
        return TD_OK;
    /* Three words: LABEL client_random secret. */
    const char *w[3] = {NULL, NULL, NULL};
    size_t wl[3] = {0, 0, 0}, nw = 0;
    for (size_t i = a; i < n && nw < 4;) {
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i == n)
            break;
        size_t j = i;
        while (j < n && s[j] != ' ' && s[j] != '\t')
            j++;
        if (nw == 3)
            return td_diag_set(diag, TD_ERR_FORMAT, TD_RULE_NONE, no, __FILE__, __LINE__,
                               "line %zu: more than three words", no);
        w[nw] = s + i, wl[nw] = j - i, nw++;
        i = j;
    }
    if (nw != 3)
        return td_diag_set(diag, TD_ERR_FORMAT, TD_RULE_NONE, no, __FILE__, __LINE__,
                           "line %zu: expected LABEL CLIENT_RANDOM SECRET", no);
    int label = -1;
    for (int i = 0; i < KL_NUM; i++)
        if (wl[0] == strlen(k_labels[i]) && memcmp(w[0], k_labels[i], wl[0]) == 0)
            label = i;
    if (label < 0)
        return TD_OK; /* exporter secrets, TLS 1.2 CLIENT_RANDOM, ...: not used here */
    dis_key key = {.label = label};
    if (wl[1] != 2 * TD_RANDOM_LEN || !unhex(w[1], wl[1], key.random))
        return td_diag_set(diag, TD_ERR_FORMAT, TD_RULE_NONE, no, __FILE__, __LINE__,
                           "line %zu: the client_random is not 64 hex digits", no);
    if ((wl[2] != 64 && wl[2] != 96) || !unhex(w[2], wl[2], key.secret))
        return td_diag_set(diag, TD_ERR_FORMAT, TD_RULE_NONE, no, __FILE__, __LINE__,
                           "line %zu: the secret is not 64 or 96 hex digits", no);
    key.len = wl[2] / 2;
    if (k->num == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 64;
        dis_key *p = malloc(cap * sizeof(*p));
        if (p == NULL)
            return TD_ERR_NOMEM;
        if (k->list != NULL) {
            memcpy(p, k->list, k->num * sizeof(*p));
            td_cleanse(k->list, k->cap * sizeof(*p));
            free(k->list);
        }
        k->list = p;
        k->cap = cap;
    }
    k->list[k->num++] = key;
    td_cleanse(&key, sizeof(key));
    return TD_OK;
}

td_err td_dis_keys_parse(const char *text, size_t len, td_dis_keys **out, td_diag *diag)
{
    *out = NULL;
    td_dis_keys *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return TD_ERR_NOMEM;
    size_t no = 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        size_t e = j;
        if (e > i && text[e - 1] == '\r')
            e--;
        td_err err = keys_line(k, text + i, e - i, ++no, diag);
        if (err != TD_OK) {
            td_dis_keys_free(k);
            return err;
        }
        i = j + 1;
    }
    *out = k;
    return TD_OK;
}

/* The first secret logged for (label, random); NULL if none. */
static const dis_key *keys_find(const td_dis_keys *k, int label, const uint8_t *random)
{
    for (size_t i = 0; k != NULL && i < k->num; i++)
        if (k->list[i].label == label && memcmp(k->list[i].random, random, TD_RANDOM_LEN) == 0)
            return &k->list[i];
    return NULL;
}

/* ---- connection ---- */

/* Protection epochs of one direction, in the order they can follow. */
enum { EP_NONE = -1, EP_EARLY, EP_HS, EP_AP, EP_NUM };

typedef struct dis_dir {
    uint8_t *buf; /* bytes not yet framed into records */
    size_t len, cap;
    uint64_t offset; /* stream offset of buf[0] */
    uint8_t *hs;     /* handshake bytes not yet a whole message */
    size_t hs_len, hs_cap;
    int epoch; /* EP_*, EP_NONE: plaintext */
    td_rec_cipher cipher;
    uint8_t app_secret[TD_MAX_HASH_LEN];
    unsigned app_gen;
    bool garbage; /* the stream stopped looking like TLS records */
    uint64_t garbage_bytes;
} dis_dir;

struct td_dis_conn {
    td_crypto *crypto;
    const td_dis_keys *keys;
    td_dis_opts opts;
    td_dis_node *parent;
    dis_dir d[2];
    bool has_random;
    uint8_t random[TD_RANDOM_LEN];
    const td_suite *suite; /* from the ServerHello */
    dis_scratch *scratch;
    size_t records, decrypted;
    bool fm;          /* the records are fuzzer mode's plaintext (td_dis_fm) */
    bool fm_detected; /* ... as the record being dissected just showed */
    uint8_t *plain; /* decrypted records; grown to the largest one, wiped when freed */
    size_t plain_cap;
};

static const char *dir_name(td_dir dir)
{
    return dir == TD_DIR_C2S ? "C->S" : "S->C";
}

td_err td_dis_conn_new(td_crypto *crypto, const td_dis_keys *keys, const td_dis_opts *opts,
                       td_dis_node *parent, td_dis_conn **out)
{
    *out = NULL;
    td_dis_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return TD_ERR_NOMEM;
    c->scratch = calloc(1, sizeof(*c->scratch));
    if (c->scratch == NULL) {
        free(c);
        return TD_ERR_NOMEM;
    }
    c->crypto = crypto;
    c->keys = keys;
    if (opts != NULL)
        c->opts = *opts;
    if (c->opts.max_hex == 0)
        c->opts.max_hex = 32;
    c->fm = c->opts.fuzzer_mode == TD_DIS_FM_ON;
    c->parent = parent;
    c->d[0].epoch = c->d[1].epoch = EP_NONE;
    *out = c;
    return TD_OK;
}

void td_dis_conn_free(td_dis_conn *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < 2; i++) {
        td_rec_cipher_cleanup(&c->d[i].cipher);
        td_cleanse(c->d[i].app_secret, sizeof(c->d[i].app_secret));
        free(c->d[i].buf);
        free(c->d[i].hs);
    }
    if (c->plain != NULL)
        td_cleanse(c->plain, c->plain_cap);
    free(c->plain);
    if (c->scratch != NULL) {
        td_msg_cleanup(&c->scratch->msg);
        td_ext_data_cleanup(&c->scratch->ext);
    }
    free(c->scratch);
    free(c);
}

size_t td_dis_conn_records(const td_dis_conn *c, size_t *out_decrypted)
{
    if (out_decrypted != NULL)
        *out_decrypted = c->decrypted;
    return c->records;
}

static td_err append(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *p, size_t n)
{
    if (n > SIZE_MAX / 4 - *len)
        return TD_ERR_NOMEM;
    if (*len + n > *cap) {
        size_t nc = *cap ? *cap : 4096;
        while (nc < *len + n)
            nc *= 2;
        uint8_t *q = realloc(*buf, nc);
        if (q == NULL)
            return TD_ERR_NOMEM;
        *buf = q;
        *cap = nc;
    }
    if (n > 0)
        memcpy(*buf + *len, p, n);
    *len += n;
    return TD_OK;
}

/* The key log label of |epoch| in |dir|; -1 if the epoch has none. */
static int epoch_label(td_dir dir, int epoch)
{
    switch (epoch) {
    case EP_EARLY: return dir == TD_DIR_C2S ? KL_EARLY : -1;
    case EP_HS: return dir == TD_DIR_C2S ? KL_C_HS : KL_S_HS;
    case EP_AP: return dir == TD_DIR_C2S ? KL_C_AP : KL_S_AP;
    default: return -1;
    }
}

static const char *epoch_name(int epoch)
{
    switch (epoch) {
    case EP_EARLY: return "early traffic";
    case EP_HS: return "handshake traffic";
    case EP_AP: return "application traffic";
    default: return "none";
    }
}

/* Records a sender may have sent that do not authenticate (a deliberately
 * corrupted one) still take a sequence number: the next few are tried too. */
#define DIS_SEQ_WINDOW 4

/* §5.2, §5.3: opens |frag| under |cipher| with its next sequence number (or
 * one of the few after it) into c->plain; true if it authenticates. The
 * sequence number moves only then, past the one that worked. */
static bool open_with(td_dis_conn *c, td_rec_cipher *cipher, const uint8_t *hdr,
                      const uint8_t *frag, size_t flen, size_t *out_len)
{
    if (flen < TD_AEAD_TAG_LEN || flen > c->plain_cap || cipher->aead == NULL)
        return false;
    for (uint64_t k = 0; k < DIS_SEQ_WINDOW && cipher->seq + k >= cipher->seq; k++) {
        uint8_t nonce[TD_AEAD_NONCE_LEN];
        td_rec_nonce(cipher, cipher->seq + k, nonce);
        if (td_aead_open(cipher->aead, nonce, hdr, TD_REC_HEADER_LEN, frag, flen, c->plain) !=
            TD_OK)
            continue;
        cipher->seq += k + 1;
        *out_len = flen - TD_AEAD_TAG_LEN;
        return true;
    }
    return false;
}

/* TD_DIS_FM_AUTO: |frag|, which no logged key opened, is fuzzer mode's
 * (td_rec_cipher_init_null): nothing of this connection has opened under a
 * key, the tag is zeros (its first byte may be the 0-RTT mark), and the
 * TLSInnerPlaintext before it ends in a defined content type (§5.4). */
static bool looks_fuzzer_mode(const td_dis_conn *c, const uint8_t *frag, size_t flen)
{
    if (c->opts.fuzzer_mode != TD_DIS_FM_AUTO || c->decrypted > 0 || flen <= TD_AEAD_TAG_LEN)
        return false;
    size_t plen = flen - TD_AEAD_TAG_LEN;
    if (frag[plen] != 0 && frag[plen] != TD_REC_NULL_EARLY_MARK)
        return false;
    for (size_t i = plen + 1; i < flen; i++)
        if (frag[i] != 0)
            return false;
    size_t end = plen;
    while (end > 0 && frag[end - 1] == 0)
        end--;
    return end > 0 && td_content_type_name(frag[end - 1]) != NULL;
}

/* Tries the current epoch, then each later one with its logged secret
 * (each suite whose hash fits the secret while the suite is unknown).
 * On success the direction moves to that epoch. */
static bool decrypt_keys(td_dis_conn *c, td_dir dir, const uint8_t *hdr, const uint8_t *frag,
                         size_t flen, size_t *out_len, int *out_epoch)
{
    dis_dir *d = &c->d[dir];
    if (d->epoch != EP_NONE && open_with(c, &d->cipher, hdr, frag, flen, out_len)) {
        *out_epoch = d->epoch;
        return true;
    }
    if (!c->has_random || c->keys == NULL)
        return false;
    static const uint16_t suites[] = {TD_TLS_AES_128_GCM_SHA256, TD_TLS_AES_256_GCM_SHA384,
                                      TD_TLS_CHACHA20_POLY1305_SHA256};
    for (int e = d->epoch + 1; e < EP_NUM; e++) {
        int label = epoch_label(dir, e);
        const dis_key *k = label >= 0 ? keys_find(c->keys, label, c->random) : NULL;
        if (k == NULL)
            continue;
        for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
            const td_suite *s = td_suite_get(suites[i]);
            /* Early data uses the PSK's suite, which the ServerHello may not name. */
            if (s == NULL || td_hash_len(s->hash) != k->len ||
                (e != EP_EARLY && c->suite != NULL && c->suite != s))
                continue;
            td_rec_cipher trial;
            memset(&trial, 0, sizeof(trial));
            if (td_rec_cipher_init(&trial, c->crypto, s, k->secret) != TD_OK)
                continue;
            if (open_with(c, &trial, hdr, frag, flen, out_len)) {
                td_rec_cipher_cleanup(&d->cipher);
                d->cipher = trial;
                d->epoch = e;
                if (e == EP_AP) {
                    memcpy(d->app_secret, k->secret, k->len);
                    d->app_gen = 0;
                }
                *out_epoch = e;
                return true;
            }
            td_rec_cipher_cleanup(&trial);
        }
    }
    /* §4.6.3: the sender may have updated its keys in a KeyUpdate we could
     * not read (a record that did not authenticate): try the next secret. */
    if (d->epoch == EP_AP && d->cipher.suite != NULL) {
        const td_suite *s = d->cipher.suite;
        uint8_t next[TD_MAX_HASH_LEN];
        td_rec_cipher trial;
        memset(&trial, 0, sizeof(trial));
        bool ok = td_keysched_next_traffic_secret(c->crypto, s->hash, d->app_secret, next) == TD_OK &&
                  td_rec_cipher_init(&trial, c->crypto, s, next) == TD_OK &&
                  open_with(c, &trial, hdr, frag, flen, out_len);
        if (ok) {
            td_rec_cipher_cleanup(&d->cipher);
            d->cipher = trial;
            memcpy(d->app_secret, next, sizeof(next));
            d->app_gen++;
            *out_epoch = EP_AP;
        } else {
            td_rec_cipher_cleanup(&trial);
        }
        td_cleanse(next, sizeof(next));
        return ok;
    }
    return false;
}

/* Fuzzer mode's records (c->fm), or the logged keys (decrypt_keys). */
static bool decrypt(td_dis_conn *c, td_dir dir, const uint8_t *hdr, const uint8_t *frag,
                    size_t flen, size_t *out_len, int *out_epoch)
{
    dis_dir *d = &c->d[dir];
    if (!c->fm) {
        if (decrypt_keys(c, dir, hdr, frag, flen, out_len, out_epoch))
            return true;
        if (!looks_fuzzer_mode(c, frag, flen))
            return false;
        c->fm = c->fm_detected = true;
    }
    /* Fuzzer mode's records: the plaintext, then a tag of zeros whose
     * first byte marks 0-RTT (td_rec_cipher_init_null). */
    if (flen < TD_AEAD_TAG_LEN || flen > c->plain_cap)
        return false;
    size_t plen = flen - TD_AEAD_TAG_LEN;
    memcpy(c->plain, frag, plen);
    if (frag[plen] == TD_REC_NULL_EARLY_MARK)
        d->epoch = EP_EARLY;
    else if (d->epoch != EP_AP)
        d->epoch = EP_HS;
    *out_len = plen;
    *out_epoch = d->epoch;
    return true;
}

/* §4.6.3, §7.2: after a KeyUpdate its sender uses the next application secret. */
static td_err key_update(td_dis_conn *c, td_dir dir, td_dis_node *rec)
{
    dis_dir *d = &c->d[dir];
    const td_suite *s = d->cipher.suite;
    if (d->epoch != EP_AP || s == NULL)
        return td_dis_field(rec, "note", "KeyUpdate outside the application epoch: keys kept");
    uint8_t next[TD_MAX_HASH_LEN];
    td_err err = td_keysched_next_traffic_secret(c->crypto, s->hash, d->app_secret, next);
    td_rec_cipher fresh;
    memset(&fresh, 0, sizeof(fresh));
    if (err == TD_OK)
        err = td_rec_cipher_init(&fresh, c->crypto, s, next);
    if (err == TD_OK)
        memcpy(d->app_secret, next, sizeof(next));
    td_cleanse(next, sizeof(next));
    if (err == TD_ERR_NOMEM)
        return err;
    if (err != TD_OK)
        return td_dis_field(rec, "note", "KeyUpdate: cannot derive the next keys (%s)",
                            td_err_name(err));
    td_rec_cipher_cleanup(&d->cipher);
    d->cipher = fresh;
    d->app_gen++;
    return td_dis_field(rec, "note", "%s now sends under application traffic secret %u",
                        dir_name(dir), d->app_gen);
}

#define DIS_MAX_HS_MSG (1u << 20) /* larger announced lengths are reported, not buffered */

/* Handshake bytes of one record: whole messages become nodes under |rec|. */
static td_err handshake_bytes(td_dis_conn *c, td_dir dir, td_dis_node *rec, const uint8_t *p,
                              size_t n)
{
    dis_dir *d = &c->d[dir];
    if (n == 0)
        return td_dis_field(rec, "error", "an empty handshake fragment (RFC 8446 5.1)");
    TD_CHECK(append(&d->hs, &d->hs_len, &d->hs_cap, p, n));
    size_t pos = 0;
    while (d->hs_len - pos >= TD_HANDSHAKE_HEADER_LEN) {
        const uint8_t *m = d->hs + pos;
        size_t body = (size_t)m[1] << 16 | (size_t)m[2] << 8 | m[3];
        if (body > DIS_MAX_HS_MSG) {
            TD_CHECK(td_dis_field(rec, "error",
                                  "a handshake message of %zu bytes announced: the rest of this "
                                  "direction's handshake bytes are not decoded",
                                  body));
            pos = d->hs_len;
            break;
        }
        if (d->hs_len - pos < TD_HANDSHAKE_HEADER_LEN + body)
            break;
        dis_hs_info info;
        size_t hash_len = c->suite != NULL ? td_hash_len(c->suite->hash) : 0;
        TD_CHECK(dis_handshake(rec, m, TD_HANDSHAKE_HEADER_LEN + body, hash_len, c->opts.max_hex,
                               c->scratch, &info));
        if (info.has_random && dir == TD_DIR_C2S && !c->has_random) {
            memcpy(c->random, info.random, TD_RANDOM_LEN);
            c->has_random = true;
        }
        if (info.has_suite && dir == TD_DIR_S2C && c->suite == NULL)
            c->suite = td_suite_get(info.suite);
        if (info.key_update && !c->fm)
            TD_CHECK(key_update(c, dir, rec));
        /* Fuzzer mode: the sender's records after its Finished are under
         * application keys (§7.1), which no tag tells. */
        if (c->fm && m[0] == TD_MSG_FINISHED && d->epoch != EP_NONE)
            d->epoch = EP_AP;
        pos += TD_HANDSHAKE_HEADER_LEN + body;
    }
    memmove(d->hs, d->hs + pos, d->hs_len - pos);
    d->hs_len -= pos;
    if (d->hs_len > 0)
        TD_CHECK(td_dis_field(rec, "partial",
                              "%zu bytes of a handshake message continue in a "
                              "later record",
                              d->hs_len));
    return TD_OK;
}

/* §6: Alert {level, description}, one or more in a record. */
static td_err alert_bytes(td_dis_node *rec, const uint8_t *p, size_t n)
{
    if (n == 0 || n % 2 != 0)
        TD_CHECK(td_dis_field(rec, "error", "an alert record of %zu bytes (RFC 8446 6: 2)", n));
    for (size_t i = 0; i + 1 < n; i += 2) {
        td_dis_node *a;
        TD_CHECK(td_dis_child(rec, "alert", &a));
        TD_CHECK(td_dis_attr(a, "level", "%s (%u)",
                             p[i] == 1   ? "warning"
                             : p[i] == 2 ? "fatal"
                                         : "unknown",
                             p[i]));
        const char *name = td_alert_name(p[i + 1]);
        TD_CHECK(td_dis_attr(a, "description", "%s (%u)", name ? name : "unknown", p[i + 1]));
    }
    return TD_OK;
}

static td_err content(td_dis_conn *c, td_dir dir, td_dis_node *rec, uint8_t type, const uint8_t *p,
                      size_t n)
{
    switch (type) {
    case TD_CT_HANDSHAKE: return handshake_bytes(c, dir, rec, p, n);
    case TD_CT_ALERT: return alert_bytes(rec, p, n);
    case TD_CT_CHANGE_CIPHER_SPEC:
        if (n == 1 && p[0] == 1)
            return td_dis_field(rec, "change_cipher_spec", "01 (compatibility, RFC 8446 D.4)");
        return td_dis_hex(rec, "change_cipher_spec", p, n, c->opts.max_hex);
    case TD_CT_APPLICATION_DATA: {
        td_dis_node *a;
        TD_CHECK(td_dis_child(rec, "application_data", &a));
        TD_CHECK(td_dis_attr(a, "length", "%zu", n));
        if (c->opts.show_app_data)
            TD_CHECK(td_dis_hex(a, "data", p, n, 0));
        return TD_OK;
    }
    default: return td_dis_hex(rec, "data", p, n, c->opts.max_hex);
    }
}

static td_err one_record(td_dis_conn *c, td_dir dir, const uint8_t *r, size_t flen)
{
    dis_dir *d = &c->d[dir];
    td_dis_node *rec;
    uint8_t type = r[0];
    uint16_t version = (uint16_t)(r[1] << 8 | r[2]);
    char vb[16];
    c->records++;
    TD_CHECK(td_dis_child(c->parent, "record", &rec));
    TD_CHECK(td_dis_attr(rec, "dir", "%s", dir_name(dir)));
    const char *tn = td_content_type_name(type);
    TD_CHECK(td_dis_attr(rec, "type", "%s (%u)", tn ? tn : "unknown", type));
    TD_CHECK(td_dis_attr(rec, "version", "%s (0x%04x)", td_dis_version_name(version, vb), version));
    TD_CHECK(td_dis_attr(rec, "length", "%zu", flen));
    TD_CHECK(td_dis_attr(rec, "offset", "%llu", (unsigned long long)d->offset));
    const uint8_t *frag = r + TD_REC_HEADER_LEN;
    if (tn == NULL)
        TD_CHECK(td_dis_field(rec, "error", "content type %u is not defined (RFC 8446 5.1)", type));
    /* §5.2: application_data after the keys are on is a TLSCiphertext. */
    if (type == TD_CT_APPLICATION_DATA && (d->epoch != EP_NONE || c->has_random)) {
        if (flen > TD_REC_MAX_CIPHERTEXT)
            TD_CHECK(td_dis_field(rec, "error", "longer than 2^14 + 256 (RFC 8446 5.2)"));
        size_t plen = 0;
        int epoch = EP_NONE;
        if (flen > c->plain_cap) {
            /* Plaintext buffers are wiped, not realloc'ed. */
            uint8_t *p = malloc(flen);
            if (p == NULL)
                return TD_ERR_NOMEM;
            if (c->plain != NULL)
                td_cleanse(c->plain, c->plain_cap);
            free(c->plain);
            c->plain = p;
            c->plain_cap = flen;
        }
        if (!decrypt(c, dir, r, frag, flen, &plen, &epoch)) {
            if (c->keys == NULL)
                return td_dis_attr(rec, "protection", "encrypted (no key log)");
            return td_dis_attr(rec, "protection", "encrypted (no logged key authenticates it)");
        }
        c->decrypted++;
        TD_CHECK(td_dis_attr(rec, "protection", "%s%s", epoch_name(epoch),
                             epoch == EP_AP && d->app_gen ? " (updated)" : ""));
        if (c->fm_detected) {
            c->fm_detected = false;
            TD_CHECK(td_dis_field(rec, "fuzzer_mode",
                                  "detected: no logged key opens this record, its tag is zeros "
                                  "(td_rec_cipher_init_null); this connection's records are read "
                                  "as plaintext"));
        }
        /* §5.4: the content type is the last non-zero byte; zeros after it are padding. */
        size_t end = plen;
        while (end > 0 && c->plain[end - 1] == 0)
            end--;
        if (end == 0)
            return td_dis_field(rec, "error",
                                "no non-zero content type in the %zu-byte "
                                "TLSInnerPlaintext (RFC 8446 5.4)",
                                plen);
        uint8_t inner = c->plain[end - 1];
        const char *in = td_content_type_name(inner);
        TD_CHECK(td_dis_attr(rec, "inner", "%s (%u)", in ? in : "unknown", inner));
        if (plen - end > 0)
            TD_CHECK(td_dis_attr(rec, "padding", "%zu", plen - end));
        return content(c, dir, rec, inner, c->plain, end - 1);
    }
    if (flen > TD_REC_MAX_PLAINTEXT)
        TD_CHECK(td_dis_field(rec, "error", "longer than 2^14 (RFC 8446 5.1)"));
    return content(c, dir, rec, type, frag, flen);
}

/* A record header? Any content type with a 0x03xx version, or a defined
 * content type with any version (mutated headers stay readable). */
static bool looks_like_record(const uint8_t *h)
{
    return h[1] == 3 || td_content_type_name(h[0]) != NULL;
}

td_err td_dis_conn_feed(td_dis_conn *c, td_dir dir, const uint8_t *data, size_t len)
{
    if (len == 0)
        return TD_OK;
    if (data == NULL || (dir != TD_DIR_C2S && dir != TD_DIR_S2C))
        return TD_ERR_ARG;
    dis_dir *d = &c->d[dir];
    if (d->garbage) {
        d->garbage_bytes += len;
        return TD_OK;
    }
    TD_CHECK(append(&d->buf, &d->len, &d->cap, data, len));
    size_t pos = 0;
    while (d->len - pos >= TD_REC_HEADER_LEN) {
        const uint8_t *r = d->buf + pos;
        if (!looks_like_record(r)) {
            td_dis_node *g;
            TD_CHECK(td_dis_child(c->parent, "garbage", &g));
            TD_CHECK(td_dis_attr(g, "dir", "%s", dir_name(dir)));
            TD_CHECK(td_dis_attr(g, "offset", "%llu", (unsigned long long)d->offset));
            TD_CHECK(td_dis_field(g, "error",
                                  "not a TLS record header: the rest of this direction is not "
                                  "decoded"));
            TD_CHECK(td_dis_hex(g, "bytes", r, d->len - pos, c->opts.max_hex));
            d->garbage = true;
            d->garbage_bytes = d->len - pos;
            pos = d->len;
            break;
        }
        td_rec_frame f;
        if (!td_rec_frame_read(r, d->len - pos, &f) || f.avail_len < f.body_len)
            break;
        size_t flen = f.body_len;
        TD_CHECK(one_record(c, dir, r, flen));
        pos += TD_REC_HEADER_LEN + flen;
        d->offset += TD_REC_HEADER_LEN + flen;
    }
    memmove(d->buf, d->buf + pos, d->len - pos);
    d->len -= pos;
    return TD_OK;
}

td_err td_dis_conn_finish(td_dis_conn *c)
{
    for (int i = 0; i < 2; i++) {
        dis_dir *d = &c->d[i];
        if (d->garbage)
            d->len = 0; /* already shown as garbage */
        if (d->len == 0 && d->hs_len == 0)
            continue;
        td_dis_node *t;
        TD_CHECK(td_dis_child(c->parent, "truncated", &t));
        TD_CHECK(td_dis_attr(t, "dir", "%s", dir_name((td_dir)i)));
        if (d->len > 0) {
            td_rec_frame f;
            size_t want = td_rec_frame_read(d->buf, d->len, &f) ? TD_REC_HEADER_LEN + f.body_len
                                                                : TD_REC_HEADER_LEN;
            TD_CHECK(td_dis_field(t, "record", "the stream ends %zu bytes into a %zu-byte record",
                                  d->len, want));
            TD_CHECK(td_dis_hex(t, "bytes", d->buf, d->len, c->opts.max_hex));
        }
        if (d->hs_len > 0)
            TD_CHECK(td_dis_field(t, "handshake", "%zu bytes of an unfinished handshake message",
                                  d->hs_len));
    }
    return TD_OK;
}
