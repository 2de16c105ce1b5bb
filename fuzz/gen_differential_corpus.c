/* fuzz/gen_differential_corpus.c -- writes the seed corpus of the
 * `differential` target: the first flight of the engine's client (records
 * as sent on the wire) for every suite, group, key-share combination, PSK
 * mode, SNI, ALPN, compatibility mode, 0-RTT, the NSS-shaped ClientHello
 * and fragmented records. Deterministic: the same files byte for byte on
 * every run (fixed seeds, no clock).
 *
 *   td_gen_differential_corpus OUTDIR     (e.g. corpus/differential) */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tlsdrill/conn.h"

typedef struct seed_case {
    const char *name;
    const uint16_t *suites;
    size_t num_suites;
    const uint16_t *groups;
    size_t num_groups;
    const uint16_t *shares;
    size_t num_shares;
    const uint16_t *sigalgs;
    size_t num_sigalgs;
    const char *sni;
    const char *const *alpn;
    size_t num_alpn;
    int psk;         /* 0 none, 1 psk_dhe_ke, 2 psk_ke + psk_dhe_ke, 3 psk_ke only */
    bool early;      /* 0-RTT data after the ClientHello */
    bool compat;     /* legacy_session_id + CCS (RFC 8446 §D.4) */
    bool nss;        /* renegotiation_info, session_ticket, record_size_limit, padding */
    size_t fragment; /* max record payload (0 = 2^14) */
} seed_case;

#define L(...) (const uint16_t[]){__VA_ARGS__}, sizeof((const uint16_t[]){__VA_ARGS__}) / 2

static const char *const k_h2[] = {"h2"};
static const char *const k_both[] = {"http/1.1", "h2"};
static const char *const k_other[] = {"spdy/3", "foo"};

static const seed_case k_cases[] = {
    {.name = "default"},
    {.name = "suite-1301", .suites = L(0x1301)},
    {.name = "suite-1302", .suites = L(0x1302)},
    {.name = "suite-1303", .suites = L(0x1303)},
    {.name = "suites-reversed", .suites = L(0x1303, 0x1302, 0x1301)},
    {.name = "suites-ccm", .suites = L(0x1304, 0x1305, 0x1301)},
    {.name = "suites-ccm-only", .suites = L(0x1304, 0x1305)},
    {.name = "group-x25519", .groups = L(0x001d)},
    {.name = "group-p256", .groups = L(0x0017)},
    {.name = "group-p384", .groups = L(0x0018)},
    {.name = "group-p521-p256", .groups = L(0x0019, 0x0017), .shares = L(0x0017)},
    {.name = "group-x448-x25519", .groups = L(0x001e, 0x001d)},
    {.name = "group-ffdhe2048-p256", .groups = L(0x0100, 0x0017), .shares = L(0x0017)},
    {.name = "shares-x25519-p256", .groups = L(0x001d, 0x0017), .shares = L(0x001d, 0x0017)},
    {.name = "shares-p256-p384", .groups = L(0x0017, 0x0018), .shares = L(0x0017, 0x0018)},
    {.name = "shares-all", .shares = L(0x001d, 0x0017, 0x0018)},
    {.name = "share-second-group", .groups = L(0x001d, 0x0017), .shares = L(0x0017)},
    {.name = "hrr-p384", .groups = L(0x001e, 0x0018), .shares = L(0x001e)},
    {.name = "hrr-x448", .groups = L(0x001e, 0x001d), .shares = L(0x001e)},
    {.name = "sigalgs-ecdsa", .sigalgs = L(0x0403)},
    {.name = "sigalgs-pss", .sigalgs = L(0x0804, 0x0805)},
    {.name = "sigalgs-ed25519-ecdsa", .sigalgs = L(0x0807, 0x0403)},
    {.name = "sni", .sni = "server.example"},
    {.name = "sni-alpn-h2", .sni = "server.example", .alpn = k_h2, .num_alpn = 1},
    {.name = "alpn-both", .alpn = k_both, .num_alpn = 2},
    {.name = "alpn-none-common", .alpn = k_other, .num_alpn = 2},
    {.name = "psk-dhe", .psk = 1},
    {.name = "psk-ke-dhe", .psk = 2},
    {.name = "psk-ke-only", .psk = 3},
    {.name = "psk-sni-alpn", .psk = 1, .sni = "server.example", .alpn = k_h2, .num_alpn = 1},
    {.name = "psk-early-data", .psk = 1, .early = true},
    {.name = "psk-1302", .psk = 1, .suites = L(0x1302)},
    {.name = "compat", .compat = true},
    {.name = "compat-psk-early", .compat = true, .psk = 1, .early = true},
    {.name = "nss-shape", .nss = true, .sni = "server.example"},
    {.name = "nss-psk", .nss = true, .psk = 2},
    {.name = "fragment-64", .fragment = 64, .sni = "server.example"},
    {.name = "fragment-512-psk", .fragment = 512, .psk = 1},
    {.name = "fragment-100-shares", .fragment = 100, .shares = L(0x001d, 0x0017, 0x0018)},
};

static int write_case(const seed_case *sc, td_crypto *crypto, const char *dir)
{
    static const uint8_t seed[] = "differential corpus";
    static const uint8_t early[] = "GET / HTTP/1.1\r\n\r\n";
    td_session s;
    memset(&s, 0, sizeof(s));
    s.suite = sc->suites ? sc->suites[0] : 0x1301;
    s.psk_len = s.suite == 0x1302 ? 48 : 32;
    memset(s.psk, 0x5a, s.psk_len);
    s.ticket_len = 112;
    for (size_t i = 0; i < s.ticket_len; i++)
        s.ticket[i] = (uint8_t)(i * 7 + 3);
    s.lifetime_s = 7200;
    s.age_add = 0x01020304;
    s.max_early_data = sc->early ? 16384 : 0;
    td_config cfg = {.role = TD_ROLE_CLIENT,
                     .crypto = crypto,
                     .seed = seed,
                     .seed_len = sizeof(seed) - 1,
                     .suites = sc->suites,
                     .num_suites = sc->num_suites,
                     .groups = sc->groups,
                     .num_groups = sc->num_groups,
                     .share_groups = sc->shares,
                     .num_share_groups = sc->num_shares,
                     .sigalgs = sc->sigalgs,
                     .num_sigalgs = sc->num_sigalgs,
                     .server_name = sc->sni,
                     .alpn = sc->alpn,
                     .num_alpn = sc->num_alpn,
                     .resume = sc->psk ? &s : NULL,
                     .psk_ke = sc->psk >= 2,
                     .psk_ke_only = sc->psk == 3,
                     .compat_mode = sc->compat,
                     .early_data = sc->early ? early : NULL,
                     .early_data_len = sc->early ? sizeof(early) - 1 : 0,
                     .renegotiation_info = sc->nss,
                     .session_ticket_ext = sc->nss,
                     .record_size_limit = sc->nss ? 16385 : 0,
                     .ch_padding = sc->nss,
                     .max_fragment = sc->fragment};
    td_conn *c = NULL;
    const uint8_t *out;
    size_t n = 0;
    int rc = 1;
    if (td_conn_new(&cfg, &c) != TD_OK || td_conn_start(c) != TD_OK) {
        fprintf(stderr, "gen_differential_corpus: %s: the client did not start\n", sc->name);
        goto done;
    }
    td_conn_drain(c, &out, &n);
    if (td_conn_status(c)->phase == TD_PHASE_FAILED) {
        fprintf(stderr, "gen_differential_corpus: %s: the client failed: %s\n", sc->name,
                td_conn_status(c)->diag.text);
        goto done;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, sc->name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(out, 1, n, f) != n) {
        fprintf(stderr, "gen_differential_corpus: %s: %s\n", path, strerror(errno));
        if (f != NULL)
            fclose(f);
        goto done;
    }
    rc = fclose(f) == 0 ? 0 : 1;
done:
    td_conn_free(c);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    if (mkdir(argv[1], 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen_differential_corpus: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    td_crypto *crypto = NULL;
    if (td_crypto_new(&crypto) != TD_OK)
        return 1;
    int rc = 0;
    size_t n = sizeof(k_cases) / sizeof(k_cases[0]);
    for (size_t i = 0; i < n; i++)
        rc |= write_case(&k_cases[i], crypto, argv[1]);
    td_crypto_free(crypto);
    if (rc == 0)
        printf("%zu seeds written to %s\n", n, argv[1]);
    return rc;
}
