/* engine/peers/registry.c -- the table of peer kinds (tlsdrill/peers.h).
 * A new in-process peer: its file in engine/peers/, its prototypes in
 * peer_kinds.h and one row here. */
#include <stdio.h>
#include <string.h>

#include "peer_kinds.h"

static const td_peer_kind k_kinds[] = {
    {"engine", td_peer_engine_new, td_peer_engine_free, td_peer_engine_version, "engine",
     "the embedded engine (td_pair), configured fully; the SUT's rule and file:line known"},
    {"openssl", td_peer_sut_new, td_peer_sut_free, td_peer_sut_version, "openssl",
     "OpenSSL's libssl in process (memory BIOs); its key log read through the library callback"},
#ifdef TD_HAVE_GNUTLS
    {"gnutls-lib", td_peer_sut_new, td_peer_sut_free, td_peer_sut_version, "gnutls-lib",
     "GnuTLS in process (memory transport); the exec: shim tools/peers/gnutls.sh is the "
     "network cross-check (matrix column gnutls)"},
#endif
#ifdef TD_HAVE_WOLFSSL
    {"wolfssl", td_peer_sut_new, td_peer_sut_free, td_peer_sut_version, "wolfssl",
     "wolfSSL in process (memory I/O callbacks)"},
#endif
    {"tcp:", td_peer_net_new, td_peer_net_free, NULL, "tcp:HOST:PORT",
     "a TLS server already listening there (our side the client; reference configuration)"},
    {"listen:", td_peer_net_new, td_peer_net_free, NULL, "listen:[HOST:]PORT",
     "per case one connection of a client someone else starts (our side the server)"},
    {"exec:", td_peer_net_new, td_peer_net_free, td_peer_exec_version, "exec:CMD",
     "per case a shim process, configured through TD_* variables (tools/peers/README.md)"},
};

const td_peer_kind *td_peer_kinds(size_t *out_num)
{
    *out_num = sizeof(k_kinds) / sizeof(k_kinds[0]);
    return k_kinds;
}

const td_peer_kind *td_peer_find(const char *spec)
{
    for (size_t i = 0; i < sizeof(k_kinds) / sizeof(k_kinds[0]); i++) {
        const char *p = k_kinds[i].prefix;
        size_t n = strlen(p);
        bool arg = n > 0 && p[n - 1] == ':';
        if (arg ? strncmp(spec, p, n) == 0 : strcmp(spec, p) == 0)
            return &k_kinds[i];
    }
    return NULL;
}

td_err td_peer_new(const char *spec, const td_peer_opts *opts, td_scn_peer *out,
                   const td_peer_kind **out_kind, char *err, size_t err_len)
{
    memset(out, 0, sizeof(*out));
    if (out_kind != NULL)
        *out_kind = NULL;
    const td_peer_kind *k = td_peer_find(spec);
    if (k == NULL) {
        size_t o = (size_t)snprintf(err, err_len, "unknown peer '%s' (available:", spec);
        for (size_t i = 0; i < sizeof(k_kinds) / sizeof(k_kinds[0]) && o < err_len; i++)
            o += (size_t)snprintf(err + o, err_len - o, "%s %s", i ? "," : "", k_kinds[i].usage);
        if (o < err_len)
            snprintf(err + o, err_len - o, ")");
        return TD_ERR_ARG;
    }
    td_err e = k->new (spec, opts, out, err, err_len);
    if (e == TD_OK && out_kind != NULL)
        *out_kind = k;
    return e;
}

void td_peer_free(const td_peer_kind *kind, td_scn_peer *peer)
{
    if (kind != NULL && peer != NULL && peer->arg != NULL)
        kind->free(peer);
}
