/* dissect_msg.c -- handshake messages and extensions as tree nodes, decoded
 * with the message codec (tlsdrill/msg.h). A message the codec rejects (a
 * scenario's deliberate mutation, a fuzz input) is still shown: the codec's
 * error (rule, offset) as a field, then, for the hellos and
 * EncryptedExtensions, a lenient walk of the fixed fields and of every
 * extension one by one, each decoded on its own. */
#include <stdio.h>
#include <string.h>

#include "dissect_internal.h"
#include "tlsdrill/record.h"

#define CHECKED(expr) TD_CHECK(expr)

/* ---- value names ---- */

static bool is_grease(uint16_t v)
{
    /* RFC 8701 §2: 0x0A0A, 0x1A1A, ... 0xFAFA. */
    return (v & 0x0f0f) == 0x0a0a && (v >> 12) == ((v >> 4) & 0xf);
}

void dis_group(uint16_t v, char *out, size_t cap)
{
    const char *n = td_group_name(v);
    if (n == NULL && v >= 0x0100 && v <= 0x0104) {
        static const char *const ff[] = {"ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144",
                                         "ffdhe8192"};
        n = ff[v - 0x0100];
    }
    snprintf(out, cap, "%s (0x%04x)", n ? n : is_grease(v) ? "GREASE" : "unknown", v);
}

void dis_sigalg(uint16_t v, char *out, size_t cap)
{
    static const struct {
        uint16_t v;
        const char *n;
    } legacy[] = {{0x0201, "rsa_pkcs1_sha1"},         {0x0203, "ecdsa_sha1"},
                  {0x0401, "rsa_pkcs1_sha256"},       {0x0501, "rsa_pkcs1_sha384"},
                  {0x0601, "rsa_pkcs1_sha512"},       {0x0808, "ed448"},
                  {0x0809, "rsa_pss_pss_sha256"},     {0x080a, "rsa_pss_pss_sha384"},
                  {0x080b, "rsa_pss_pss_sha512"},     {0x0603, "ecdsa_secp521r1_sha512"},
                  {0x0804, "rsa_pss_rsae_sha256"},    {0x0805, "rsa_pss_rsae_sha384"},
                  {0x0806, "rsa_pss_rsae_sha512"},    {0x0807, "ed25519"},
                  {0x0403, "ecdsa_secp256r1_sha256"}, {0x0503, "ecdsa_secp384r1_sha384"}};
    const char *n = td_sig_name(v);
    for (size_t i = 0; n == NULL && i < sizeof(legacy) / sizeof(legacy[0]); i++)
        if (legacy[i].v == v)
            n = legacy[i].n;
    snprintf(out, cap, "%s (0x%04x)", n ? n : is_grease(v) ? "GREASE" : "unknown", v);
}

void dis_suite(uint16_t v, char *out, size_t cap)
{
    const td_suite *s = td_suite_get(v);
    const char *n = s ? s->name : NULL;
    if (v == 0x1304)
        n = "TLS_AES_128_CCM_SHA256";
    else if (v == 0x1305)
        n = "TLS_AES_128_CCM_8_SHA256";
    else if (v == 0x00ff)
        n = "TLS_EMPTY_RENEGOTIATION_INFO_SCSV";
    else if (v == 0x5600)
        n = "TLS_FALLBACK_SCSV";
    snprintf(out, cap, "%s (0x%04x)", n ? n : is_grease(v) ? "GREASE" : "unknown", v);
}

const char *td_dis_version_name(uint16_t v, char buf[16])
{
    switch (v) {
    case 0x0300: return "SSL 3.0";
    case 0x0301: return "TLS 1.0";
    case 0x0302: return "TLS 1.1";
    case 0x0303: return "TLS 1.2";
    case 0x0304: return "TLS 1.3";
    default: break;
    }
    if (is_grease(v))
        return "GREASE";
    if ((v >> 8) == 0x7f) {
        snprintf(buf, 16, "draft-%u", v & 0xffu);
        return buf;
    }
    return "unknown";
}

void dis_printable(const uint8_t *p, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < cap; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
            out[o++] = (char)p[i];
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", p[i]);
    }
    if (cap > 0)
        out[o < cap ? o : cap - 1] = '\0';
}

/* A list of u16 values as "name (0x....), ...". */
static td_err u16_list(td_dis_node *n, const char *key, const uint16_t *v, size_t num,
                       void (*name)(uint16_t, char *, size_t))
{
    char buf[TD_MAX_CIPHER_SUITES * 48];
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < num && o < sizeof(buf); i++) {
        char one[64];
        name(v[i], one, sizeof(one));
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? ", " : "", one);
    }
    return td_dis_field(n, key, "%s", num ? buf : "(empty)");
}

static void version_value(uint16_t v, char *out, size_t cap)
{
    char tmp[16];
    snprintf(out, cap, "%s (0x%04x)", td_dis_version_name(v, tmp), v);
}

static td_err version_field(td_dis_node *n, const char *key, uint16_t v)
{
    char b[40];
    version_value(v, b, sizeof(b));
    return td_dis_field(n, key, "%s", b);
}

static td_err diag_field(td_dis_node *n, const td_diag *d)
{
    const td_rule_info *r = td_rule_get(d->rule);
    return td_dis_field(n, "error", "%s: %s (%s%s at byte %zu)", td_err_name(d->err), d->text,
                        r ? r->id : "", r ? "," : "", d->offset);
}

/* ---- extensions ---- */

static td_err ext_fields(td_dis_node *e, td_ext_ctx ctx, uint16_t type, const td_ext_data *d,
                         size_t max_hex)
{
    bool server = ctx == TD_EXT_CTX_SH || ctx == TD_EXT_CTX_HRR;
    char b[512];
    switch (type) {
    case TD_EXT_SERVER_NAME:
        for (size_t i = 0; ctx == TD_EXT_CTX_CH && i < d->num_server_names; i++) {
            dis_printable(td_cbs_data(&d->server_names[i].name),
                          td_cbs_len(&d->server_names[i].name), b, sizeof(b));
            if (d->server_names[i].name_type == 0)
                CHECKED(td_dis_field(e, "host_name", "%s", b));
            else
                CHECKED(td_dis_field(e, "name", "type %u: %s", d->server_names[i].name_type, b));
        }
        return TD_OK;
    case TD_EXT_MAX_FRAGMENT_LENGTH:
        return td_dis_field(e, "max_fragment_length", "%u (2^%u)", d->max_fragment_length,
                            8u + d->max_fragment_length);
    case TD_EXT_STATUS_REQUEST:
        if (d->status_request.empty)
            return TD_OK;
        CHECKED(td_dis_field(e, "status_type", "%s (%u)",
                             d->status_request.status_type == 1 ? "ocsp" : "unknown",
                             d->status_request.status_type));
        if (ctx == TD_EXT_CTX_CT)
            return td_dis_hex(e, "response", td_cbs_data(&d->status_request.response),
                              td_cbs_len(&d->status_request.response), max_hex);
        return td_dis_field(e, "responder_ids", "%zu", d->status_request.num_responder_ids);
    case TD_EXT_SUPPORTED_GROUPS:
        return u16_list(e, "named_group_list", d->groups, d->num_groups, dis_group);
    case TD_EXT_SIGNATURE_ALGORITHMS:
        return u16_list(e, "supported_signature_algorithms", d->sigalgs, d->num_sigalgs,
                        dis_sigalg);
    case TD_EXT_SIGNATURE_ALGORITHMS_CERT:
        return u16_list(e, "supported_signature_algorithms", d->sigalgs_cert, d->num_sigalgs_cert,
                        dis_sigalg);
    case TD_EXT_ALPN: {
        size_t o = 0;
        b[0] = '\0';
        for (size_t i = 0; i < d->num_alpn && o + 4 < sizeof(b); i++) {
            char one[128];
            dis_printable(td_cbs_data(&d->alpn[i]), td_cbs_len(&d->alpn[i]), one, sizeof(one));
            o += (size_t)snprintf(b + o, sizeof(b) - o, "%s%s", i ? ", " : "", one);
        }
        return td_dis_field(e, "protocol_name_list", "%s", b);
    }
    case TD_EXT_SCT: return td_dis_field(e, "sct_list", "%zu bytes", td_cbs_len(&d->sct_list));
    case TD_EXT_PADDING: return td_dis_field(e, "padding", "%zu bytes", d->padding_len);
    case TD_EXT_RECORD_SIZE_LIMIT:
        return td_dis_field(e, "record_size_limit", "%u", d->record_size_limit);
    case TD_EXT_PRE_SHARED_KEY:
        if (server)
            return td_dis_field(e, "selected_identity", "%u", d->psk_selected_identity);
        for (size_t i = 0; i < d->num_psk_identities; i++) {
            td_dis_node *id;
            CHECKED(td_dis_child(e, "identity", &id));
            CHECKED(td_dis_attr(id, "index", "%zu", i));
            CHECKED(td_dis_hex(id, "identity", td_cbs_data(&d->psk_identities[i].identity),
                               td_cbs_len(&d->psk_identities[i].identity), max_hex));
            CHECKED(td_dis_field(id, "obfuscated_ticket_age", "%u",
                                 d->psk_identities[i].obfuscated_ticket_age));
        }
        for (size_t i = 0; i < d->num_psk_binders; i++) {
            td_dis_node *bn;
            CHECKED(td_dis_child(e, "binder", &bn));
            CHECKED(td_dis_attr(bn, "index", "%zu", i));
            CHECKED(td_dis_attr(bn, "length", "%zu", td_cbs_len(&d->psk_binders[i])));
            CHECKED(td_dis_hex(bn, "value", td_cbs_data(&d->psk_binders[i]),
                               td_cbs_len(&d->psk_binders[i]), 0));
        }
        return TD_OK;
    case TD_EXT_EARLY_DATA:
        if (ctx == TD_EXT_CTX_NST)
            return td_dis_field(e, "max_early_data_size", "%u", d->max_early_data_size);
        return TD_OK;
    case TD_EXT_SUPPORTED_VERSIONS: {
        if (server)
            return version_field(e, "selected_version", d->selected_version);
        size_t o = 0;
        b[0] = '\0';
        for (size_t i = 0; i < d->num_versions && o < sizeof(b); i++) {
            char one[48];
            version_value(d->versions[i], one, sizeof(one));
            o += (size_t)snprintf(b + o, sizeof(b) - o, "%s%s", i ? ", " : "", one);
        }
        return td_dis_field(e, "versions", "%s", b);
    }
    case TD_EXT_COOKIE:
        return td_dis_hex(e, "cookie", td_cbs_data(&d->cookie), td_cbs_len(&d->cookie), max_hex);
    case TD_EXT_PSK_KEY_EXCHANGE_MODES: {
        size_t o = 0;
        b[0] = '\0';
        for (size_t i = 0; i < d->num_psk_modes && o < sizeof(b); i++)
            o += (size_t)snprintf(b + o, sizeof(b) - o, "%s%s (%u)", i ? ", " : "",
                                  d->psk_modes[i] == 0   ? "psk_ke"
                                  : d->psk_modes[i] == 1 ? "psk_dhe_ke"
                                                         : "unknown",
                                  d->psk_modes[i]);
        return td_dis_field(e, "ke_modes", "%s", b);
    }
    case TD_EXT_CERTIFICATE_AUTHORITIES:
        return td_dis_field(e, "authorities", "%zu distinguished names", d->num_cert_authorities);
    case TD_EXT_OID_FILTERS: return td_dis_field(e, "filters", "%zu", d->num_oid_filters);
    case TD_EXT_KEY_SHARE:
        if (ctx == TD_EXT_CTX_HRR) {
            dis_group(d->hrr_selected_group, b, sizeof(b));
            return td_dis_field(e, "selected_group", "%s", b);
        }
        for (size_t i = 0; i < (server ? 1 : d->num_key_shares); i++) {
            const td_key_share_entry *k = server ? &d->server_share : &d->key_shares[i];
            td_dis_node *kn;
            CHECKED(td_dis_child(e, "key_share_entry", &kn));
            dis_group(k->group, b, sizeof(b));
            CHECKED(td_dis_attr(kn, "group", "%s", b));
            CHECKED(td_dis_attr(kn, "length", "%zu", td_cbs_len(&k->key_exchange)));
            CHECKED(td_dis_hex(kn, "key_exchange", td_cbs_data(&k->key_exchange),
                               td_cbs_len(&k->key_exchange), max_hex));
        }
        return TD_OK;
    case TD_EXT_RENEGOTIATION_INFO:
        return td_dis_hex(e, "renegotiated_connection", td_cbs_data(&d->renegotiated_connection),
                          td_cbs_len(&d->renegotiated_connection), max_hex);
    default: return TD_OK;
    }
}

/* One extension: a node with its name, type and length; its body decoded
 * on its own (so one bad extension does not hide the others). */
static td_err ext_node(td_dis_node *parent, td_ext_ctx ctx, uint16_t type, td_cbs body,
                       size_t max_hex, dis_scratch *s)
{
    td_dis_node *e;
    CHECKED(td_dis_child(parent, "extension", &e));
    const char *name = td_ext_type_name(type);
    CHECKED(td_dis_attr(e, "type", "%s (%u)",
                        !td_ext_is_known(type) && is_grease(type) ? "GREASE" : name, type));
    CHECKED(td_dis_attr(e, "length", "%zu", td_cbs_len(&body)));
    if (!td_ext_allowed(ctx, type))
        CHECKED(td_dis_field(e, "note", "not allowed in %s (RFC 8446 4.2)", td_ext_ctx_name(ctx)));
    if (!td_ext_is_known(type) || !td_ext_has_typed_form(ctx, type)) {
        if (td_cbs_len(&body) > 0)
            CHECKED(td_dis_hex(e, "data", td_cbs_data(&body), td_cbs_len(&body), max_hex));
        return TD_OK;
    }
    td_diag d;
    td_diag_clear(&d);
    td_ext_data_cleanup(&s->ext);
    td_ext_data_init(&s->ext);
    td_err err = td_ext_decode(ctx, type, body, td_cbs_data(&body), &s->ext, &d);
    if (err == TD_ERR_NOMEM)
        return err;
    if (err != TD_OK) {
        CHECKED(diag_field(e, &d));
        return td_dis_hex(e, "data", td_cbs_data(&body), td_cbs_len(&body), max_hex);
    }
    return ext_fields(e, ctx, type, &s->ext, max_hex);
}

/* Walks an extensions<..> block (without its length) entry by entry. */
static td_err ext_block(td_dis_node *parent, td_ext_ctx ctx, td_cbs block, size_t max_hex,
                        dis_scratch *s)
{
    while (td_cbs_len(&block) > 0) {
        uint16_t type;
        td_cbs body;
        if (!td_cbs_get_u16(&block, &type) || !td_cbs_get_u16_prefixed(&block, &body))
            return td_dis_field(parent, "error", "extension list: %zu stray bytes at the end",
                                td_cbs_len(&block));
        CHECKED(ext_node(parent, ctx, type, body, max_hex, s));
    }
    return TD_OK;
}

/* ---- certificates (X.690 DER, RFC 5280 4.1): names and key type only ---- */

/* A Name (SEQUENCE OF RDN) as "CN=..., O=...". */
static bool der_name(td_cbs name, char *out, size_t cap)
{
    static const struct {
        uint8_t last;
        const char *n;
    } attrs[] = {{3, "CN"}, {6, "C"}, {7, "L"}, {8, "ST"}, {10, "O"}, {11, "OU"}};
    size_t o = 0;
    out[0] = '\0';
    while (td_cbs_len(&name) > 0) {
        uint8_t tag;
        td_cbs rdn, atv, oid, val;
        if (!td_cbs_get_asn1(&name, TD_ASN1_SET, &rdn))
            return false;
        while (td_cbs_len(&rdn) > 0) {
            if (!td_cbs_get_asn1(&rdn, TD_ASN1_SEQUENCE, &atv) ||
                !td_cbs_get_asn1(&atv, TD_ASN1_OID, &oid) ||
                !td_cbs_get_any_asn1(&atv, &tag, &val, NULL))
                return false;
            const char *an = NULL;
            /* id-at (2.5.4.x) is 55 04 x. */
            for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
                if (td_cbs_len(&oid) == 3 && td_cbs_data(&oid)[0] == 0x55 &&
                    td_cbs_data(&oid)[1] == 0x04 && td_cbs_data(&oid)[2] == attrs[i].last)
                    an = attrs[i].n;
            char v[128];
            dis_printable(td_cbs_data(&val), td_cbs_len(&val), v, sizeof(v));
            if (o < cap)
                o += (size_t)snprintf(out + o, cap - o, "%s%s=%s", o ? ", " : "", an ? an : "?", v);
        }
    }
    return true;
}

/* Subject and issuer of a DER certificate: best effort (a field says when
 * the bytes are not a certificate). */
static td_err cert_names(td_dis_node *e, td_cbs der)
{
    uint8_t tag;
    td_cbs cert, tbs, f, issuer, subject;
    char buf[512];
    bool ok = td_cbs_get_asn1(&der, TD_ASN1_SEQUENCE, &cert) &&
              td_cbs_get_asn1(&cert, TD_ASN1_SEQUENCE, &tbs) &&
              td_cbs_get_any_asn1(&tbs, &tag, &f, NULL); /* [0] version, or the serial */
    if (ok && tag == 0xa0)
        ok = td_cbs_get_any_asn1(&tbs, &tag, &f, NULL);       /* serialNumber */
    ok = ok && td_cbs_get_asn1(&tbs, TD_ASN1_SEQUENCE, &f) && /* signature AlgorithmIdentifier */
         td_cbs_get_asn1(&tbs, TD_ASN1_SEQUENCE, &issuer) &&
         td_cbs_get_asn1(&tbs, TD_ASN1_SEQUENCE, &f) && /* validity */
         td_cbs_get_asn1(&tbs, TD_ASN1_SEQUENCE, &subject);
    if (!ok)
        return td_dis_field(e, "x509", "not a DER X.509 certificate");
    if (der_name(subject, buf, sizeof(buf)))
        TD_CHECK(td_dis_field(e, "subject", "%s", buf));
    if (der_name(issuer, buf, sizeof(buf)))
        TD_CHECK(td_dis_field(e, "issuer", "%s", buf));
    return TD_OK;
}

/* ---- messages ---- */

/* Fixed fields of a ClientHello / ServerHello read leniently (the codec
 * refused the message): as much as is there. Returns the extension block. */
static td_err hello_lenient(td_dis_node *m, bool client, td_cbs b, size_t max_hex, dis_scratch *s,
                            dis_hs_info *info)
{
    uint16_t v;
    td_cbs random, sid, list;
    uint8_t comp;
    if (!td_cbs_get_u16(&b, &v) || !td_cbs_get_bytes(&b, &random, TD_RANDOM_LEN) ||
        !td_cbs_get_u8_prefixed(&b, &sid))
        return td_dis_field(m, "truncated", "the fixed fields end early");
    CHECKED(version_field(m, "legacy_version", v));
    CHECKED(td_dis_hex(m, "random", td_cbs_data(&random), TD_RANDOM_LEN, 0));
    if (client) {
        memcpy(info->random, td_cbs_data(&random), TD_RANDOM_LEN);
        info->has_random = true;
    }
    CHECKED(td_dis_hex(m, client ? "legacy_session_id" : "legacy_session_id_echo",
                       td_cbs_data(&sid), td_cbs_len(&sid), max_hex));
    if (client) {
        if (!td_cbs_get_u16_prefixed(&b, &list))
            return td_dis_field(m, "truncated", "cipher_suites");
        char buf[80];
        size_t o = 0;
        char all[2048];
        all[0] = '\0';
        while (td_cbs_len(&list) >= 2 && o < sizeof(all)) {
            (void)td_cbs_get_u16(&list, &v);
            dis_suite(v, buf, sizeof(buf));
            o += (size_t)snprintf(all + o, sizeof(all) - o, "%s%s", o ? ", " : "", buf);
        }
        CHECKED(td_dis_field(m, "cipher_suites", "%s", all));
        if (!td_cbs_get_u8_prefixed(&b, &list))
            return td_dis_field(m, "truncated", "legacy_compression_methods");
        CHECKED(td_dis_hex(m, "legacy_compression_methods", td_cbs_data(&list), td_cbs_len(&list),
                           max_hex));
    } else {
        char buf[80];
        if (!td_cbs_get_u16(&b, &v) || !td_cbs_get_u8(&b, &comp))
            return td_dis_field(m, "truncated", "cipher_suite");
        dis_suite(v, buf, sizeof(buf));
        CHECKED(td_dis_field(m, "cipher_suite", "%s", buf));
        CHECKED(td_dis_field(m, "legacy_compression_method", "%u", comp));
    }
    if (td_cbs_len(&b) == 0)
        return TD_OK;
    td_cbs exts;
    if (!td_cbs_get_u16_prefixed(&b, &exts))
        return td_dis_field(m, "truncated", "extensions length runs past the end");
    bool hrr = !client && memcmp(td_cbs_data(&random), td_hrr_random, TD_RANDOM_LEN) == 0;
    CHECKED(ext_block(m,
                      client ? TD_EXT_CTX_CH
                      : hrr  ? TD_EXT_CTX_HRR
                             : TD_EXT_CTX_SH,
                      exts, max_hex, s));
    if (td_cbs_len(&b) > 0)
        CHECKED(td_dis_field(m, "trailing", "%zu bytes after the extensions", td_cbs_len(&b)));
    return TD_OK;
}

static td_err exts_of(td_dis_node *m, const td_exts *x, size_t max_hex, dis_scratch *s)
{
    /* The parsed block's entries are views into the message: decode each. */
    for (size_t i = 0; i < x->num; i++)
        CHECKED(ext_node(m, x->ctx, x->list[i].type, x->list[i].body, max_hex, s));
    return TD_OK;
}

static td_err parsed_fields(td_dis_node *m, const td_msg *msg, size_t max_hex, dis_scratch *s,
                            dis_hs_info *info)
{
    char buf[80];
    switch (msg->type) {
    case TD_MSG_CLIENT_HELLO: {
        const td_client_hello *ch = &msg->u.ch;
        CHECKED(version_field(m, "legacy_version", ch->legacy_version));
        CHECKED(td_dis_hex(m, "random", ch->random, TD_RANDOM_LEN, 0));
        memcpy(info->random, ch->random, TD_RANDOM_LEN);
        info->has_random = true;
        CHECKED(td_dis_hex(m, "legacy_session_id", td_cbs_data(&ch->legacy_session_id),
                           td_cbs_len(&ch->legacy_session_id), max_hex));
        CHECKED(u16_list(m, "cipher_suites", ch->cipher_suites, ch->num_cipher_suites, dis_suite));
        CHECKED(td_dis_hex(m, "legacy_compression_methods",
                           td_cbs_data(&ch->legacy_compression_methods),
                           td_cbs_len(&ch->legacy_compression_methods), max_hex));
        return exts_of(m, &ch->exts, max_hex, s);
    }
    case TD_MSG_SERVER_HELLO: {
        const td_server_hello *sh = &msg->u.sh;
        CHECKED(version_field(m, "legacy_version", sh->legacy_version));
        CHECKED(td_dis_hex(m, "random", sh->random, TD_RANDOM_LEN, 0));
        CHECKED(td_dis_hex(m, "legacy_session_id_echo", td_cbs_data(&sh->legacy_session_id_echo),
                           td_cbs_len(&sh->legacy_session_id_echo), max_hex));
        dis_suite(sh->cipher_suite, buf, sizeof(buf));
        CHECKED(td_dis_field(m, "cipher_suite", "%s", buf));
        CHECKED(td_dis_field(m, "legacy_compression_method", "%u", sh->legacy_compression_method));
        if (sh->legacy)
            CHECKED(
                td_dis_field(m, "note", "no supported_versions: a TLS 1.2 or older ServerHello"));
        return exts_of(m, &sh->exts, max_hex, s);
    }
    case TD_MSG_ENCRYPTED_EXTENSIONS: return exts_of(m, &msg->u.ee.exts, max_hex, s);
    case TD_MSG_CERTIFICATE_REQUEST:
        CHECKED(td_dis_hex(m, "certificate_request_context", td_cbs_data(&msg->u.cr.context),
                           td_cbs_len(&msg->u.cr.context), max_hex));
        return exts_of(m, &msg->u.cr.exts, max_hex, s);
    case TD_MSG_CERTIFICATE: {
        const td_certificate *c = &msg->u.cert;
        CHECKED(td_dis_hex(m, "certificate_request_context", td_cbs_data(&c->context),
                           td_cbs_len(&c->context), max_hex));
        for (size_t i = 0; i < c->num_entries; i++) {
            td_dis_node *e;
            CHECKED(td_dis_child(m, "certificate_entry", &e));
            CHECKED(td_dis_attr(e, "index", "%zu", i));
            CHECKED(td_dis_attr(e, "length", "%zu", td_cbs_len(&c->entries[i].cert_data)));
            CHECKED(cert_names(e, c->entries[i].cert_data));
            CHECKED(td_dis_hex(e, "cert_data", td_cbs_data(&c->entries[i].cert_data),
                               td_cbs_len(&c->entries[i].cert_data), max_hex));
            CHECKED(ext_block(e, TD_EXT_CTX_CT, c->entries[i].extensions, max_hex, s));
        }
        return TD_OK;
    }
    case TD_MSG_CERTIFICATE_VERIFY:
        dis_sigalg(msg->u.cv.algorithm, buf, sizeof(buf));
        CHECKED(td_dis_field(m, "algorithm", "%s", buf));
        return td_dis_hex(m, "signature", td_cbs_data(&msg->u.cv.signature),
                          td_cbs_len(&msg->u.cv.signature), max_hex);
    case TD_MSG_FINISHED:
        return td_dis_hex(m, "verify_data", td_cbs_data(&msg->u.fin.verify_data),
                          td_cbs_len(&msg->u.fin.verify_data), 0);
    case TD_MSG_NEW_SESSION_TICKET: {
        const td_new_session_ticket *t = &msg->u.nst;
        CHECKED(td_dis_field(m, "ticket_lifetime", "%u s", t->ticket_lifetime));
        CHECKED(td_dis_field(m, "ticket_age_add", "%u", t->ticket_age_add));
        CHECKED(td_dis_hex(m, "ticket_nonce", td_cbs_data(&t->ticket_nonce),
                           td_cbs_len(&t->ticket_nonce), max_hex));
        CHECKED(td_dis_hex(m, "ticket", td_cbs_data(&t->ticket), td_cbs_len(&t->ticket), max_hex));
        return exts_of(m, &t->exts, max_hex, s);
    }
    case TD_MSG_KEY_UPDATE:
        info->key_update = true;
        return td_dis_field(m, "request_update", "%s (%u)",
                            msg->u.ku.request_update == 0   ? "update_not_requested"
                            : msg->u.ku.request_update == 1 ? "update_requested"
                                                            : "invalid",
                            msg->u.ku.request_update);
    case TD_MSG_MESSAGE_HASH:
        return td_dis_hex(m, "hash", td_cbs_data(&msg->u.mh.hash), td_cbs_len(&msg->u.mh.hash), 0);
    case TD_MSG_END_OF_EARLY_DATA: return TD_OK;
    }
    return TD_OK;
}

td_err dis_handshake(td_dis_node *parent, const uint8_t *msg, size_t len, size_t hash_len,
                     size_t max_hex, dis_scratch *s, dis_hs_info *info)
{
    memset(info, 0, sizeof(*info));
    td_dis_node *m;
    CHECKED(td_dis_child(parent, "handshake", &m));
    if (len < TD_HANDSHAKE_HEADER_LEN)
        return td_dis_field(m, "error", "a %zu-byte handshake header", len);
    uint8_t type = msg[0];
    const uint8_t *body = msg + TD_HANDSHAKE_HEADER_LEN;
    size_t blen = len - TD_HANDSHAKE_HEADER_LEN;
    info->type = type;
    bool hrr = type == TD_MSG_SERVER_HELLO && blen >= 2 + TD_RANDOM_LEN &&
               memcmp(body + 2, td_hrr_random, TD_RANDOM_LEN) == 0;
    info->is_hrr = hrr;
    CHECKED(td_dis_attr(m, "type", "%s (%u)", hrr ? "hello_retry_request" : td_msg_type_name(type),
                        type));
    CHECKED(td_dis_attr(m, "length", "%zu", blen));
    /* A Finished before the hash is known is read as whatever length it has. */
    td_msg_ctx ctx = {.hash_len = type == TD_MSG_FINISHED && hash_len == 0 ? blen : hash_len,
                      .sh_mode = TD_SH_AUTO};
    if (type == TD_MSG_MESSAGE_HASH && ctx.hash_len == 0)
        ctx.hash_len = blen;
    td_diag d;
    td_diag_clear(&d);
    td_msg_cleanup(&s->msg); /* the previous message's lists */
    td_err err = td_msg_parse(type, body, blen, &ctx, &s->msg, &d);
    if (err == TD_ERR_NOMEM)
        return err;
    if (err == TD_OK) {
        if (type == TD_MSG_SERVER_HELLO && !s->msg.u.sh.is_hrr) {
            info->has_suite = true;
            info->suite = s->msg.u.sh.cipher_suite;
        }
        return parsed_fields(m, &s->msg, max_hex, s, info);
    }
    CHECKED(diag_field(m, &d));
    td_cbs b;
    td_cbs_init(&b, body, blen);
    if (type == TD_MSG_CLIENT_HELLO || type == TD_MSG_SERVER_HELLO) {
        if (type == TD_MSG_SERVER_HELLO && !hrr && blen >= 2 + TD_RANDOM_LEN + 1) {
            /* The suite still decides the keys, even if an extension is bad. */
            size_t sid = body[2 + TD_RANDOM_LEN];
            if (blen >= 2 + TD_RANDOM_LEN + 1 + sid + 2) {
                info->has_suite = true;
                info->suite =
                    (uint16_t)(body[3 + TD_RANDOM_LEN + sid] << 8 | body[4 + TD_RANDOM_LEN + sid]);
            }
        }
        return hello_lenient(m, type == TD_MSG_CLIENT_HELLO, b, max_hex, s, info);
    }
    if (type == TD_MSG_ENCRYPTED_EXTENSIONS) {
        td_cbs exts;
        if (td_cbs_get_u16_prefixed(&b, &exts))
            return ext_block(m, TD_EXT_CTX_EE, exts, max_hex, s);
    }
    return td_dis_hex(m, "body", body, blen, max_hex);
}
