/* engine/ext.c -- extension blocks: the §4.2 table, parse/build of the block,
 * block editing. The typed bodies are in engine/ext_body.c. See tlsdrill/msg.h. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "msg_internal.h"

/* ---- list storage ---- */

/* A heap block starts with its capacity (in elements); the list points
 * just past this header. */
typedef union list_hdr {
    size_t cap;
    max_align_t align;
} list_hdr;

void *td_list_push_n(void *pptr, void *inl, size_t inl_cap, size_t *num, size_t n,
                     size_t elem_size)
{
    uint8_t *v;
    memcpy(&v, pptr, sizeof(v));
    if (v == NULL)
        v = inl;
    size_t cap = v == (uint8_t *)inl ? inl_cap : ((list_hdr *)(void *)v - 1)->cap;
    /* One compare while the list fits (*num <= cap always); the overflow
     * check is needed only to grow. */
    if (n > cap - *num) {
        if (n > SIZE_MAX / elem_size - *num)
            return NULL;
        size_t ncap = cap < 8 ? 8 : cap;
        while (ncap < *num + n)
            ncap *= 2;
        if (ncap > (SIZE_MAX - sizeof(list_hdr)) / elem_size)
            return NULL;
        list_hdr *h = malloc(sizeof(list_hdr) + ncap * elem_size);
        if (h == NULL)
            return NULL;
        h->cap = ncap;
        uint8_t *nv = (uint8_t *)(h + 1);
        if (*num > 0)
            memcpy(nv, v, *num * elem_size);
        if (v != (uint8_t *)inl)
            free((list_hdr *)(void *)v - 1);
        v = nv;
    }
    memcpy(pptr, &v, sizeof(v));
    uint8_t *first = v + *num * elem_size;
    *num += n;
    return first;
}

void td_list_free(void *pptr, void *inl)
{
    uint8_t *v;
    memcpy(&v, pptr, sizeof(v));
    if (v != NULL && v != (uint8_t *)inl)
        free((list_hdr *)(void *)v - 1);
    memcpy(pptr, &inl, sizeof(inl));
}

void td_exts_init(td_exts *exts, td_ext_ctx ctx)
{
    memset(exts, 0, sizeof(*exts));
    exts->ctx = ctx;
    exts->list = exts->list_inline;
}

void td_exts_cleanup(td_exts *exts)
{
    if (exts == NULL)
        return;
    td_list_free(&exts->list, exts->list_inline);
    exts->num = 0;
}

/* Every growable list of td_ext_data: X(name, inline capacity). */
#define EXT_DATA_LISTS(X)                                                                   \
    X(server_names) X(groups) X(sigalgs) X(sigalgs_cert) X(alpn) X(psk_identities)         \
    X(psk_binders) X(cert_authorities) X(oid_filters) X(key_shares)

void td_ext_data_init(td_ext_data *d)
{
    memset(d, 0, sizeof(*d));
    td_ext_data_point_lists(d);
}

void td_ext_data_point_lists(td_ext_data *d)
{
#define POINT_(name) d->name = d->name##_inline;
    EXT_DATA_LISTS(POINT_)
#undef POINT_
    d->status_request.responder_ids = d->status_request.responder_ids_inline;
}

bool td_ext_data_lists_inline(const td_ext_data *d)
{
#define INLINE_(name)                  \
    if (d->name != d->name##_inline) \
        return false;
    EXT_DATA_LISTS(INLINE_)
#undef INLINE_
    return d->status_request.responder_ids == d->status_request.responder_ids_inline;
}

void td_ext_data_cleanup(td_ext_data *d)
{
    if (d == NULL)
        return;
#define FREE_(name)                                                                         \
    td_list_free(&d->name, d->name##_inline);                                             \
    d->num_##name = 0;
    EXT_DATA_LISTS(FREE_)
#undef FREE_
    td_list_free(&d->status_request.responder_ids, d->status_request.responder_ids_inline);
    d->status_request.num_responder_ids = 0;
}

typedef struct ext_row {
    uint16_t type;
    const char *name;
    uint32_t allowed;
} ext_row;

/* RFC 8446 §4.2: the one table of which extension may appear in which message. */
static const ext_row k_ext_rows[] = {
#define TD_EXT_ROW_(e, name, value, allowed) {value, name, allowed},
    TD_EXT_TABLE(TD_EXT_ROW_)
#undef TD_EXT_ROW_
};

/* The rows' indices, in table order. */
enum ext_row_index {
#define TD_EXT_INDEX_(e, name, value, allowed) EXT_ROW_##e,
    TD_EXT_TABLE(TD_EXT_INDEX_)
#undef TD_EXT_INDEX_
};

/* One switch over the table's values: a lookup is a single compare of the
 * type against every value for the coverage tracer (and a jump table for
 * the compiler), where a loop over the rows paid one traced compare per row. */
static const ext_row *ext_row_find(uint16_t type)
{
    switch (type) {
#define TD_EXT_CASE_(e, name, value, allowed)                                                   case value: return &k_ext_rows[EXT_ROW_##e];
        TD_EXT_TABLE(TD_EXT_CASE_)
#undef TD_EXT_CASE_
    default: return NULL;
    }
}

bool td_ext_is_known(uint16_t type)
{
    return ext_row_find(type) != NULL;
}

bool td_ext_allowed(td_ext_ctx ctx, uint16_t type)
{
    const ext_row *row = ext_row_find(type);
    if ((unsigned)ctx >= TD_EXT_NUM_CTX)
        return false;
    return row == NULL || (row->allowed & (1u << ctx)) != 0;
}

const char *td_ext_type_name(unsigned type)
{
    const ext_row *row = type <= 0xffff ? ext_row_find((uint16_t)type) : NULL;
    return row != NULL ? row->name : "unknown";
}

const char *td_ext_ctx_name(td_ext_ctx ctx)
{
    switch (ctx) {
    case TD_EXT_CTX_CH: return "ClientHello";
    case TD_EXT_CTX_SH: return "ServerHello";
    case TD_EXT_CTX_HRR: return "HelloRetryRequest";
    case TD_EXT_CTX_EE: return "EncryptedExtensions";
    case TD_EXT_CTX_CT: return "Certificate";
    case TD_EXT_CTX_CR: return "CertificateRequest";
    case TD_EXT_CTX_NST: return "NewSessionTicket";
    case TD_EXT_NUM_CTX: break;
    }
    return "unknown";
}

/* The rule and class for a recognised extension outside its table row. */
static td_err ext_wrong_message(td_ext_ctx ctx, uint16_t type, size_t at, td_diag *diag)
{
    const char *what = td_ext_type_name(type), *where = td_ext_ctx_name(ctx);
    /* RFC 8446 §4.3.1: EncryptedExtensions carries only extensions that are not
     * associated with the certificate or key exchange; the client MUST check
     * for forbidden extensions and abort with illegal_parameter. */
    if (ctx == TD_EXT_CTX_EE)
        TD_FAIL(diag, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_EE_FORBIDDEN_EXT, at,
                "%s is not allowed in %s", what, where);
    /* RFC 8446 §4.2 (table): cookie appears only in CH and HRR. */
    if (ctx == TD_EXT_CTX_SH && type == TD_EXT_COOKIE)
        TD_FAIL(diag, TD_ERR_UNSUPPORTED_EXT, TD_RULE_COOKIE_IN_SH, at, "cookie in a ServerHello");
    /* RFC 8446 §4.2: a recognised extension not specified for the message in
     * which it appears. */
    TD_FAIL(diag, TD_ERR_UNSUPPORTED_EXT, TD_RULE_EXT_WRONG_MESSAGE, at, "%s is not allowed in %s",
            what, where);
    TD_SITE_PASSED();
}

/* The extension types a block holds so far: one bit per type (a block
 * holds up to 16,383 extensions), in 64-bit words zeroed when first
 * touched, so that a parse clears 128 bytes instead of 8 KB. */
typedef struct ext_seen {
    uint64_t zeroed[65536 / 64 / 64]; /* bit w: words[w] is initialised */
    uint64_t words[65536 / 64];
} ext_seen;

/* Marks |type| seen; true if it was already. Never inlined: its branches
 * are bookkeeping (fuzz/coverage_ignore.txt names it), and the caller's
 * test of the result, the duplicate check, stays traced. */
__attribute__((noinline)) static bool ext_seen_add(ext_seen *s, uint16_t type)
{
    unsigned w = type >> 6;
    uint64_t zbit = (uint64_t)1 << (w & 63), bit = (uint64_t)1 << (type & 63);
    if ((s->zeroed[w >> 6] & zbit) == 0) {
        s->zeroed[w >> 6] |= zbit;
        s->words[w] = 0;
    }
    bool dup = (s->words[w] & bit) != 0;
    s->words[w] |= bit;
    return dup;
}

static td_err exts_parse(td_ext_ctx ctx, td_cbs block, const uint8_t *base, bool legacy_sh,
                         td_exts *out, td_ext_data *data, td_diag *diag)
{
    ext_seen seen;
    memset(seen.zeroed, 0, sizeof(seen.zeroed));
    /* Pass 1: framing, duplicates, position of pre_shared_key. */
    while (td_cbs_len(&block) > 0) {
        size_t at = td_cbs_offset(&block, base);
        uint16_t type;
        td_cbs body;
        /* RFC 8446 §4.2: struct { ExtensionType extension_type;
         * opaque extension_data<0..2^16-1>; } Extension. */
        if (!td_cbs_get_u16(&block, &type) || !td_cbs_get_u16_prefixed(&block, &body))
            TD_FAIL(diag, TD_ERR_DECODE, TD_RULE_GEN_DECODE, at,
                    "extension in %s runs past the end of the block", td_ext_ctx_name(ctx));
        /* RFC 8446 §4.2.11: pre_shared_key MUST be the last extension in the
         * ClientHello; servers MUST check this and abort with illegal_parameter. */
        if (ctx == TD_EXT_CTX_CH && out->num > 0 &&
            out->list[out->num - 1].type == TD_EXT_PRE_SHARED_KEY)
            TD_FAIL(diag, TD_ERR_ILLEGAL_PARAMETER, TD_RULE_PSK_NOT_LAST,
                    out->list[out->num - 1].offset, "pre_shared_key is followed by %s",
                    td_ext_type_name(type));
        /* RFC 8446 §4.2: There MUST NOT be more than one extension of the same
         * type in a given extension block. */
        if (ext_seen_add(&seen, type))
            TD_FAIL(diag, TD_ERR_DECODE, TD_RULE_EXT_DUPLICATE, at,
                    "second %s (0x%04x) extension in %s", td_ext_type_name(type), type,
                    td_ext_ctx_name(ctx));
        td_ext *ext = td_list_push_n(&out->list, out->list_inline, TD_MAX_EXTENSIONS, &out->num,
                                     1, sizeof(td_ext));
        if (ext == NULL)
            return TD_ERR_NOMEM;
        ext->type = type;
        ext->body = body;
        ext->offset = at;
        ext->from_typed = false;
    }
    if (legacy_sh)
        return TD_OK;
    /* Pass 2: the §4.2 table, then the bodies. */
    for (size_t i = 0; i < out->num; i++) {
        const td_ext *ext = &out->list[i];
        if (!td_ext_allowed(ctx, ext->type))
            return ext_wrong_message(ctx, ext->type, ext->offset, diag);
        TD_CHECK(td_ext_decode(ctx, ext->type, ext->body, base, data, diag));
    }
    return TD_OK;
}

td_err td_exts_parse_ex(td_ext_ctx ctx, td_cbs block, const uint8_t *base, bool legacy_sh,
                        td_exts *out, td_ext_data *data, td_diag *diag)
{
    td_exts_init(out, ctx);
    td_ext_data_init(data);
    return td_exts_parse_fresh(ctx, block, base, legacy_sh, out, data, diag);
}

td_err td_exts_parse_fresh(td_ext_ctx ctx, td_cbs block, const uint8_t *base, bool legacy_sh,
                           td_exts *out, td_ext_data *data, td_diag *diag)
{
    out->ctx = ctx;
    if ((unsigned)ctx >= TD_EXT_NUM_CTX)
        return td_diag_set(diag, TD_ERR_ARG, TD_RULE_NONE, 0, __FILE__, __LINE__, "bad context");
    td_err err = exts_parse(ctx, block, base, legacy_sh, out, data, diag);
    if (err != TD_OK) {
        /* A block that does not parse leaves nothing to free. */
        td_exts_cleanup(out);
        td_ext_data_cleanup(data);
    }
    return err;
}

td_err td_exts_parse(td_ext_ctx ctx, td_cbs block, const uint8_t *base, td_exts *out,
                     td_ext_data *data, td_diag *diag)
{
    return td_exts_parse_ex(ctx, block, base, false, out, data, diag);
}

/* Length of the identities vector (with its prefix) at the start of a raw
 * pre_shared_key body, or SIZE_MAX if it does not parse. */
static size_t psk_identities_len(td_cbs body)
{
    td_cbs ids;
    if (!td_cbs_get_u16_prefixed(&body, &ids))
        return SIZE_MAX;
    return 2 + td_cbs_len(&ids);
}

td_err td_exts_build_ex(const td_exts *exts, const td_ext_data *data, td_cbb *out,
                        size_t *out_binders_at)
{
    td_cbb list, body;
    if (out_binders_at != NULL)
        *out_binders_at = SIZE_MAX;
    if (exts->num > 0 && exts->list == NULL)
        return TD_ERR_ARG;
    if (!td_cbb_add_u16_prefixed(out, &list))
        return TD_ERR_ARG;
    for (size_t i = 0; i < exts->num; i++) {
        const td_ext *ext = &exts->list[i];
        size_t pos = td_cbb_len(&list);
        if (!td_cbb_add_u16(&list, ext->type) || !td_cbb_add_u16_prefixed(&list, &body))
            return TD_ERR_ARG;
        if (ext->from_typed) {
            TD_CHECK(td_ext_encode(exts->ctx, ext->type, data, &body));
        } else {
            if (!td_cbb_add_bytes(&body, td_cbs_data(&ext->body), td_cbs_len(&ext->body)))
                return TD_ERR_ARG;
        }
        /* Where the binders start: only for the one extension that has them
         * (the identities' length was worked out for every extension). */
        if (out_binders_at != NULL && exts->ctx == TD_EXT_CTX_CH &&
            ext->type == TD_EXT_PRE_SHARED_KEY) {
            size_t ids_len;
            if (ext->from_typed) {
                ids_len = 2;
                for (size_t j = 0; j < data->num_psk_identities; j++)
                    ids_len += 2 + td_cbs_len(&data->psk_identities[j].identity) + 4;
            } else {
                ids_len = psk_identities_len(ext->body);
            }
            if (ids_len != SIZE_MAX)
                *out_binders_at = 2 + pos + 4 + ids_len;
        }
    }
    if (!td_cbb_flush(out))
        return TD_ERR_ARG;
    return TD_OK;
}

td_err td_exts_build(const td_exts *exts, const td_ext_data *data, td_cbb *out)
{
    return td_exts_build_ex(exts, data, out, NULL);
}

/* ---- editing ---- */

int td_exts_index(const td_exts *exts, uint16_t type)
{
    for (size_t i = 0; i < exts->num; i++)
        if (exts->list[i].type == type)
            return (int)i;
    return -1;
}

td_ext *td_exts_find(td_exts *exts, uint16_t type)
{
    int i = td_exts_index(exts, type);
    return i < 0 ? NULL : &exts->list[i];
}

const td_ext *td_exts_find_const(const td_exts *exts, uint16_t type)
{
    int i = td_exts_index(exts, type);
    return i < 0 ? NULL : &exts->list[i];
}

td_err td_exts_insert_raw(td_exts *exts, size_t index, uint16_t type, td_cbs body)
{
    if (index > exts->num)
        return TD_ERR_ARG;
    if (td_list_push_n(&exts->list, exts->list_inline, TD_MAX_EXTENSIONS, &exts->num, 1,
                       sizeof(td_ext)) == NULL)
        return TD_ERR_NOMEM;
    exts->num--; /* counted again below */
    memmove(&exts->list[index + 1], &exts->list[index], (exts->num - index) * sizeof(td_ext));
    td_ext *ext = &exts->list[index];
    ext->type = type;
    ext->body = body;
    ext->offset = 0;
    ext->from_typed = false;
    exts->num++;
    return TD_OK;
}

td_err td_exts_add(td_exts *exts, uint16_t type, td_ext **out)
{
    static const uint8_t k_empty[1] = {0};
    td_cbs empty;
    td_cbs_init(&empty, k_empty, 0);
    TD_CHECK(td_exts_insert_raw(exts, exts->num, type, empty));
    td_ext *ext = &exts->list[exts->num - 1];
    ext->from_typed = td_ext_has_typed_form(exts->ctx, type);
    if (out != NULL)
        *out = ext;
    return TD_OK;
}

td_err td_exts_remove(td_exts *exts, size_t index)
{
    if (index >= exts->num)
        return TD_ERR_ARG;
    memmove(&exts->list[index], &exts->list[index + 1], (exts->num - index - 1) * sizeof(td_ext));
    exts->num--;
    return TD_OK;
}

td_err td_exts_move(td_exts *exts, size_t from, size_t to)
{
    if (from >= exts->num || to >= exts->num)
        return TD_ERR_ARG;
    td_ext tmp = exts->list[from];
    if (from < to)
        memmove(&exts->list[from], &exts->list[from + 1], (to - from) * sizeof(td_ext));
    else
        memmove(&exts->list[to + 1], &exts->list[to], (from - to) * sizeof(td_ext));
    exts->list[to] = tmp;
    return TD_OK;
}

void td_exts_mark_typed(td_exts *exts)
{
    for (size_t i = 0; i < exts->num; i++)
        if (td_ext_has_typed_form(exts->ctx, exts->list[i].type))
            exts->list[i].from_typed = true;
}
