/* engine/scenario/parse_side.c -- the `client`/`server` setting lines of a
 * case (scenarios/README.md): one row per setting keyword in k_settings
 * (or one per side, when the sides read it differently), each with the
 * side it belongs to and the function that reads its arguments into the
 * td_scn_side. */
#include <stdlib.h>
#include <string.h>

#include "scn_parse.h"

/* Which side a setting belongs to. */
typedef enum side_only {
    SIDE_BOTH,
    SIDE_CLIENT,
    SIDE_SERVER,
} side_only;

typedef void (*side_fn)(pctx *p, td_scn_side *s);

/* The words after the setting, read as values of |kind| into arr. */
static void side_list(pctx *p, scn_kind kind, uint16_t *arr, size_t *num)
{
    if (!scn_want_args(p, 2, 0))
        return;
    *num = 0;
    for (size_t i = 2; i < p->nw; i++) {
        if (*num == TD_SCN_MAX_LIST) {
            scn_perr(p, i, "more than %d values", TD_SCN_MAX_LIST);
            return;
        }
        uint16_t v;
        if (scn_value_at(p, i, kind, &v))
            arr[(*num)++] = v;
    }
}

/* The one argument as one of |names| (NULL-terminated); -1 (and the
 * diagnostic |usage|) when there is not exactly one or it is none of them. */
static int side_choice(pctx *p, const char *const *names, const char *usage)
{
    if (p->nw == 3)
        for (int i = 0; names[i] != NULL; i++)
            if (strcmp(p->w[2], names[i]) == 0)
                return i;
    scn_perr(p, 2, "%s", usage);
    return -1;
}

/* A setting that is a plain switch: no argument. */
static bool side_flag(pctx *p)
{
    if (p->nw != 2)
        scn_perr(p, 2, "'%s' takes no argument", p->w[1]);
    return p->nw == 2;
}

/* A byte count 0..|max|. */
static bool side_count(pctx *p, uint32_t max, const char *usage, uint32_t *out)
{
    if (p->nw != 3) {
        scn_perr(p, 2, "%s", usage);
        return false;
    }
    return scn_number_at(p, 2, max, out);
}

static void set_suites(pctx *p, td_scn_side *s)
{
    side_list(p, SCN_KIND_SUITE, s->suites, &s->num_suites);
}

static void set_groups(pctx *p, td_scn_side *s)
{
    side_list(p, SCN_KIND_GROUP, s->groups, &s->num_groups);
}

static void set_sigalgs(pctx *p, td_scn_side *s)
{
    side_list(p, SCN_KIND_SIGALG, s->sigalgs, &s->num_sigalgs);
}

static void set_key_shares(pctx *p, td_scn_side *s)
{
    if (p->nw == 3 && strcmp(p->w[2], "none") == 0)
        s->no_shares = true;
    else
        side_list(p, SCN_KIND_GROUP, s->shares, &s->num_shares);
}

static void set_alpn(pctx *p, td_scn_side *s)
{
    for (size_t i = 2; i < p->nw && s->num_alpn < TD_SCN_MAX_ALPN; i++)
        s->alpn[s->num_alpn++] = scn_sdup(p, p->w[i]);
    if (p->nw < 3)
        scn_perr(p, 2, "'alpn' needs protocol names");
}

static void set_cert(pctx *p, td_scn_side *s)
{
    if (p->nw != 3 && p->nw != 4) {
        scn_perr(p, p->nw < 3 ? 2 : 4,
                 "'cert' takes a name (p256, p384, rsa2048, ed25519) or CHAIN-FILE KEY-FILE");
        return;
    }
    free(s->cert);
    free(s->cert_key);
    s->cert = scn_sdup(p, p->w[2]);
    s->cert_key = p->nw == 4 ? scn_sdup(p, p->w[3]) : NULL;
}

static void set_trust(pctx *p, td_scn_side *s)
{
    if (p->nw != 3) {
        scn_perr(p, 2, "'trust' takes a certificate file (the peer's chain must reach it)");
        return;
    }
    free(s->trust);
    s->trust = scn_sdup(p, p->w[2]);
}

/* client: the server_name sent; server: the name its certificate is for. */
static void set_sni(pctx *p, td_scn_side *s)
{
    if (p->nw != 3) {
        scn_perr(p, 2, "'sni' takes one host name (or none)");
        return;
    }
    free(s->sni);
    s->sni = scn_sdup(p, p->w[2]);
}

static void set_client_auth(pctx *p, td_scn_side *s)
{
    static const char *const names[] = {"none", "request", "require", NULL};
    static const td_client_auth values[] = {TD_CLIENT_AUTH_NONE, TD_CLIENT_AUTH_REQUEST,
                                            TD_CLIENT_AUTH_REQUIRE};
    int i = side_choice(p, names, "'client-auth' takes none, request or require");
    if (i >= 0)
        s->client_auth = values[i];
}

/* RFC 8446 §4.6.2: client: offer post_handshake_auth; server: request a
 * certificate after the handshake. */
static void set_pha_client(pctx *p, td_scn_side *s)
{
    if (p->nw == 2)
        s->post_handshake_auth = TD_CLIENT_AUTH_REQUEST;
    else
        scn_perr(p, 2, "client 'post-handshake-auth' takes no argument");
}

static void set_pha_server(pctx *p, td_scn_side *s)
{
    static const char *const names[] = {"request", "require", NULL};
    static const td_client_auth values[] = {TD_CLIENT_AUTH_REQUEST, TD_CLIENT_AUTH_REQUIRE};
    int i = side_choice(p, names, "server 'post-handshake-auth' takes request or require");
    if (i >= 0)
        s->post_handshake_auth = values[i];
}

static void set_hrr(pctx *p, td_scn_side *s)
{
    static const char *const names[] = {"always", "auto", NULL};
    static const td_hrr_mode values[] = {TD_HRR_ALWAYS, TD_HRR_AUTO};
    int i = side_choice(p, names, "'hrr' takes always or auto");
    if (i >= 0)
        s->hrr = values[i];
}

static void set_cookie(pctx *p, td_scn_side *s)
{
    if (side_flag(p))
        s->cookie = true;
}

static void set_compat(pctx *p, td_scn_side *s)
{
    if (side_flag(p))
        s->compat = true;
}

static void set_tickets(pctx *p, td_scn_side *s)
{
    uint32_t n;
    if (side_count(p, 8, "'tickets' takes a count", &n)) {
        s->tickets = n;
        s->has_tickets = true;
    }
}

static void set_early_data(pctx *p, td_scn_side *s)
{
    uint32_t n;
    if (side_count(p, 16384, "'early-data' takes a byte count", &n))
        s->early_data = n;
}

static void set_record_size(pctx *p, td_scn_side *s)
{
    uint32_t n;
    if (!side_count(p, 16384, "'record-size' takes a byte count", &n))
        return;
    if (n == 0)
        scn_perr(p, 2, "'record-size' is 1..16384");
    s->record_size = n;
}

static void set_psk_modes(pctx *p, td_scn_side *s)
{
    static const char *const names[] = {"dhe", "ke", "both", NULL};
    switch (side_choice(p, names, "'psk-modes' takes dhe, ke or both")) {
    case 0: s->psk_ke = s->psk_ke_only = false; break;
    case 1: s->psk_ke_only = true; break;
    case 2: s->psk_ke = true; break;
    default: break;
    }
}

/* psk IDENTITY KEY [SUITE]: an external PSK (RFC 8446 4.2.11) both sides
 * are provisioned with; KEY is the hash length of SUITE. */
static void set_psk(pctx *p, td_scn_side *s)
{
    uint8_t *id = NULL, *key = NULL;
    size_t id_len = 0, key_len = 0;
    uint16_t suite = TD_TLS_AES_128_GCM_SHA256;
    if (!scn_want_args(p, 3, 4))
        return;
    if (p->nw == 5 && !scn_value_at(p, 4, SCN_KIND_SUITE, &suite))
        return;
    if (!scn_hex_at(p, 2, &id, &id_len))
        return;
    if (!scn_hex_at(p, 3, &key, &key_len)) {
        free(id);
        return;
    }
    const td_suite *su = td_suite_get(suite);
    if (id_len == 0 || su == NULL || key_len != td_hash_len(su->hash)) {
        scn_perr(p, id_len == 0 ? 2 : 3,
                 id_len == 0 ? "'psk' needs a non-empty identity"
                             : "'psk' key must be as long as the suite's hash");
        free(id);
        free(key);
        return;
    }
    free(s->psk_id);
    free(s->psk_key);
    s->psk_id = id;
    s->psk_id_len = id_len;
    s->psk_key = key;
    s->psk_key_len = key_len;
    s->psk_suite = suite;
}

static const struct {
    const char *name;
    side_only only;
    side_fn fn;
} k_settings[] = {
    {"suites", SIDE_BOTH, set_suites},
    {"groups", SIDE_BOTH, set_groups},
    {"sigalgs", SIDE_BOTH, set_sigalgs},
    {"key-shares", SIDE_CLIENT, set_key_shares},
    {"alpn", SIDE_BOTH, set_alpn},
    {"cert", SIDE_BOTH, set_cert},
    {"trust", SIDE_BOTH, set_trust},
    {"sni", SIDE_BOTH, set_sni},
    {"client-auth", SIDE_SERVER, set_client_auth},
    {"post-handshake-auth", SIDE_CLIENT, set_pha_client},
    {"post-handshake-auth", SIDE_SERVER, set_pha_server},
    {"hrr", SIDE_SERVER, set_hrr},
    {"cookie", SIDE_SERVER, set_cookie},
    {"tickets", SIDE_SERVER, set_tickets},
    {"early-data", SIDE_BOTH, set_early_data},
    {"psk-modes", SIDE_CLIENT, set_psk_modes},
    {"record-size", SIDE_BOTH, set_record_size},
    {"psk", SIDE_BOTH, set_psk},
    {"compat", SIDE_CLIENT, set_compat},
};

void scn_parse_side(pctx *p, td_scn_side *s, bool is_client)
{
    if (p->nw < 2) {
        scn_perr(p, 1,
                 "'%s' needs a setting (suites, groups, key-shares, sigalgs, cert, alpn, ...)",
                 p->w[0]);
        return;
    }
    /* A keyword may have a row per side; none fits: it is the other side's. */
    const char *other = NULL;
    for (size_t i = 0; i < sizeof(k_settings) / sizeof(k_settings[0]); i++) {
        if (strcmp(p->w[1], k_settings[i].name) != 0)
            continue;
        side_only only = k_settings[i].only;
        if (only == SIDE_BOTH || is_client == (only == SIDE_CLIENT)) {
            k_settings[i].fn(p, s);
            return;
        }
        other = only == SIDE_CLIENT ? "client" : "server";
    }
    if (other != NULL)
        scn_perr(p, 1, "'%s' is a %s setting", p->w[1], other);
    else
        scn_perr(p, 1, "unknown %s setting '%s'", p->w[0], p->w[1]);
}
