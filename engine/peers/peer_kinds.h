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

/* openssl.c */
td_err td_peer_openssl_new(const char *spec, const td_peer_opts *opts, td_scn_peer *out, char *err,
                           size_t err_len);
void td_peer_openssl_free(td_scn_peer *peer);
bool td_peer_openssl_version(const char *spec, char *buf, size_t len);

/* peer_net.c: tcp:, listen:, exec: */
td_err td_peer_net_new(const char *spec, const td_peer_opts *opts, td_scn_peer *out, char *err,
                       size_t err_len);
void td_peer_net_free(td_scn_peer *peer);
/* peer_exec.c: an exec: shim's answer to TD_ROLE=version (first stdout line). */
bool td_peer_exec_version(const char *spec, char *buf, size_t len);

#endif
