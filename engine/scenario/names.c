/* engine/scenario/names.c -- the words of the scenario language: message,
 * extension, suite, group, signature scheme and version names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scn_names.h"

bool scn_number(const char *s, uint32_t max, uint32_t *out)
{
    char *end = NULL;
    if (s[0] == '\0' || s[0] == '-' || s[0] == '+')
        return false;
    unsigned long long v = strtoull(s, &end, 0);
    if (end == s || *end != '\0' || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

static const struct {
    const char *name;
    uint8_t type;
    bool hrr;
    unsigned senders; /* SCN_BY_* */
} k_msgs[] = {
    {"ClientHello", TD_MSG_CLIENT_HELLO, false, SCN_BY_CLIENT},
    {"ServerHello", TD_MSG_SERVER_HELLO, false, SCN_BY_SERVER},
    {"HelloRetryRequest", TD_MSG_SERVER_HELLO, true, SCN_BY_SERVER},
    {"EncryptedExtensions", TD_MSG_ENCRYPTED_EXTENSIONS, false, SCN_BY_SERVER},
    {"CertificateRequest", TD_MSG_CERTIFICATE_REQUEST, false, SCN_BY_SERVER},
    {"Certificate", TD_MSG_CERTIFICATE, false, SCN_BY_CLIENT | SCN_BY_SERVER},
    {"CertificateVerify", TD_MSG_CERTIFICATE_VERIFY, false, SCN_BY_CLIENT | SCN_BY_SERVER},
    {"Finished", TD_MSG_FINISHED, false, SCN_BY_CLIENT | SCN_BY_SERVER},
    {"NewSessionTicket", TD_MSG_NEW_SESSION_TICKET, false, SCN_BY_SERVER},
    {"EndOfEarlyData", TD_MSG_END_OF_EARLY_DATA, false, SCN_BY_CLIENT},
    /* After the handshake: a KeyUpdate step makes our side send one. */
    {"KeyUpdate", TD_MSG_KEY_UPDATE, false, SCN_BY_CLIENT | SCN_BY_SERVER},
};

bool scn_msg_by_name(const char *s, uint8_t *type, bool *hrr, unsigned *senders)
{
    for (size_t i = 0; i < sizeof(k_msgs) / sizeof(k_msgs[0]); i++)
        if (strcmp(s, k_msgs[i].name) == 0) {
            *type = k_msgs[i].type;
            *hrr = k_msgs[i].hrr;
            *senders = k_msgs[i].senders;
            return true;
        }
    return false;
}

const char *scn_msg_name(uint8_t type, bool hrr)
{
    for (size_t i = 0; i < sizeof(k_msgs) / sizeof(k_msgs[0]); i++)
        if (k_msgs[i].type == type && k_msgs[i].hrr == hrr)
            return k_msgs[i].name;
    return "?";
}

static const struct {
    const char *name;
    uint16_t value;
} k_exts[] = {
#define SCN_EXT_ROW_(e, name, value, allowed) {name, value},
    TD_EXT_TABLE(SCN_EXT_ROW_)
#undef SCN_EXT_ROW_
        {"alpn", TD_EXT_ALPN},
};

bool scn_ext_by_name(const char *s, uint16_t *out)
{
    for (size_t i = 0; i < sizeof(k_exts) / sizeof(k_exts[0]); i++)
        if (strcmp(s, k_exts[i].name) == 0) {
            *out = k_exts[i].value;
            return true;
        }
    uint32_t v;
    if ((s[0] >= '0' && s[0] <= '9') && scn_number(s, 0xffff, &v)) {
        *out = (uint16_t)v;
        return true;
    }
    return false;
}

static const uint16_t k_groups[] = {TD_GROUP_SECP256R1, TD_GROUP_SECP384R1, TD_GROUP_SECP521R1,
                                    TD_GROUP_X25519,    TD_GROUP_X448,      TD_GROUP_FFDHE2048};
static const uint16_t k_sigalgs[] = {TD_SIG_RSA_PKCS1_SHA256,
                                     TD_SIG_RSA_PKCS1_SHA384,
                                     TD_SIG_RSA_PKCS1_SHA512,
                                     TD_SIG_ECDSA_SECP256R1_SHA256,
                                     TD_SIG_ECDSA_SECP384R1_SHA384,
                                     TD_SIG_ECDSA_SECP521R1_SHA512,
                                     TD_SIG_RSA_PSS_RSAE_SHA256,
                                     TD_SIG_RSA_PSS_RSAE_SHA384,
                                     TD_SIG_RSA_PSS_RSAE_SHA512,
                                     TD_SIG_ED25519,
                                     TD_SIG_ED448,
                                     TD_SIG_RSA_PSS_PSS_SHA256,
                                     TD_SIG_RSA_PSS_PSS_SHA384,
                                     TD_SIG_RSA_PSS_PSS_SHA512,
                                     TD_SIG_RSA_PKCS1_SHA1,
                                     TD_SIG_ECDSA_SHA1};

static const struct {
    const char *name;
    uint16_t id;
} k_group_aliases[] = {{"P-256", TD_GROUP_SECP256R1},
                       {"P-384", TD_GROUP_SECP384R1},
                       {"P-521", TD_GROUP_SECP521R1},
                       {"X25519", TD_GROUP_X25519},
                       {"X448", TD_GROUP_X448}};

void scn_kind_names(scn_kind kind, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
#define ADD(...) (n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, __VA_ARGS__))
    switch (kind) {
    case SCN_KIND_SUITE:
        for (uint16_t id = TD_TLS_AES_128_GCM_SHA256; id <= TD_TLS_CHACHA20_POLY1305_SHA256; id++)
            if (td_suite_get(id) != NULL)
                ADD("%s, ", td_suite_get(id)->name);
        break;
    case SCN_KIND_GROUP:
        for (size_t i = 0; i < sizeof(k_groups) / sizeof(k_groups[0]); i++)
            if (td_group_name(k_groups[i]) != NULL)
                ADD("%s, ", td_group_name(k_groups[i]));
        for (size_t i = 0; i < sizeof(k_group_aliases) / sizeof(k_group_aliases[0]); i++)
            ADD("%s, ", k_group_aliases[i].name);
        break;
    case SCN_KIND_SIGALG:
        for (size_t i = 0; i < sizeof(k_sigalgs) / sizeof(k_sigalgs[0]); i++)
            if (td_sig_name(k_sigalgs[i]) != NULL)
                ADD("%s, ", td_sig_name(k_sigalgs[i]));
        break;
    case SCN_KIND_VERSION: ADD("tls10, tls11, tls12, tls13, "); break;
    case SCN_KIND_PSK_MODE: ADD("psk_ke, psk_dhe_ke, "); break;
    case SCN_KIND_NUMBER: break;
    }
    ADD("or a number");
#undef ADD
    if (n >= cap && cap > 4)
        memcpy(buf + cap - 4, "...", 4);
}

bool scn_value_by_name(scn_kind kind, const char *s, uint16_t *out)
{
    uint32_t v;
    if (s[0] >= '0' && s[0] <= '9') {
        if (!scn_number(s, kind == SCN_KIND_PSK_MODE ? 0xff : 0xffff, &v))
            return false;
        *out = (uint16_t)v;
        return true;
    }
    switch (kind) {
    case SCN_KIND_SUITE:
        for (uint16_t id = TD_TLS_AES_128_GCM_SHA256; id <= TD_TLS_CHACHA20_POLY1305_SHA256; id++)
            if (td_suite_get(id) != NULL && strcmp(td_suite_get(id)->name, s) == 0) {
                *out = id;
                return true;
            }
        return false;
    case SCN_KIND_GROUP:
        for (size_t i = 0; i < sizeof(k_groups) / sizeof(k_groups[0]); i++)
            if (td_group_name(k_groups[i]) != NULL && strcmp(td_group_name(k_groups[i]), s) == 0) {
                *out = k_groups[i];
                return true;
            }
        /* The names the CLI's --groups takes (NIST and RFC 7748 spellings). */
        for (size_t i = 0; i < sizeof(k_group_aliases) / sizeof(k_group_aliases[0]); i++)
            if (strcmp(k_group_aliases[i].name, s) == 0) {
                *out = k_group_aliases[i].id;
                return true;
            }
        return false;
    case SCN_KIND_SIGALG:
        for (size_t i = 0; i < sizeof(k_sigalgs) / sizeof(k_sigalgs[0]); i++)
            if (td_sig_name(k_sigalgs[i]) != NULL && strcmp(td_sig_name(k_sigalgs[i]), s) == 0) {
                *out = k_sigalgs[i];
                return true;
            }
        return false;
    case SCN_KIND_VERSION: {
        static const char *const names[] = {"tls10", "tls11", "tls12", "tls13"};
        for (unsigned i = 0; i < 4; i++)
            if (strcmp(names[i], s) == 0) {
                *out = (uint16_t)(0x0301 + i);
                return true;
            }
        return false;
    }
    case SCN_KIND_PSK_MODE:
        if (strcmp(s, "psk_ke") == 0 || strcmp(s, "psk_dhe_ke") == 0) {
            *out = s[4] == 'k' ? 0 : 1;
            return true;
        }
        return false;
    case SCN_KIND_NUMBER: return false;
    }
    return false;
}

const char *scn_kind_name(scn_kind kind)
{
    switch (kind) {
    case SCN_KIND_SUITE: return "cipher suite";
    case SCN_KIND_GROUP: return "group";
    case SCN_KIND_SIGALG: return "signature scheme";
    case SCN_KIND_VERSION: return "version";
    case SCN_KIND_PSK_MODE: return "psk mode";
    case SCN_KIND_NUMBER: return "number";
    }
    return "value";
}
