/* engine/peers/peer_kinds.h -- the entry points of each row of the peer
 * registry (registry.c), one group per peer file. A new peer adds its
 * group here and its row there. */
#ifndef TD_PEER_KINDS_H
#define TD_PEER_KINDS_H

#include "tlsdrill/peers.h"

/* peer_engine.c */
td_err td_peer_engine_new(const char *spec, const td_peer_opts *opts, td_scn_peer *out, char *err,
                          size_t err_len);
void td_peer_engine_free(td_scn_peer *peer);
bool td_peer_engine_version(const char *spec, char *buf, size_t len);

/* sut.c: the in-process libraries (tlsdrill/sut.h), one row per adapter, spec = its name */
td_err td_peer_sut_new(const char *spec, const td_peer_opts *opts, td_scn_peer *out, char *err,
                       size_t err_len);
void td_peer_sut_free(td_scn_peer *peer);
bool td_peer_sut_version(const char *spec, char *buf, size_t len);

/* The adapters (openssl.c, gnutls.c, wolfssl.c; the last two when CMake found the library). */
struct td_sut_adapter;
extern const struct td_sut_adapter td_sut_openssl;
#ifdef TD_HAVE_GNUTLS
extern const struct td_sut_adapter td_sut_gnutls;
#endif
#ifdef TD_HAVE_WOLFSSL
extern const struct td_sut_adapter td_sut_wolfssl;
#endif
/* engine_sut.c: our engine behind the adapter API (td_sut_find("engine") only). */
extern const struct td_sut_adapter td_sut_engine;

/* peer_net.c: tcp:, listen:, exec: */
td_err td_peer_net_new(const char *spec, const td_peer_opts *opts, td_scn_peer *out, char *err,
                       size_t err_len);
void td_peer_net_free(td_scn_peer *peer);
/* peer_exec.c: an exec: shim's answer to TD_ROLE=version (first stdout line). */
bool td_peer_exec_version(const char *spec, char *buf, size_t len);

#endif
