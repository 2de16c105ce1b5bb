/* tlsdrill/peer_openssl.h -- OpenSSL's libssl, in process, as the system
 * under test of the scenario runner (engine/peers/openssl.c).
 *
 * Our side (a td_conn) and an SSL object talk through memory BIOs. The SSL
 * is configured from the SUT's td_config as far as libssl can express it;
 * a configuration it cannot express makes run() return TD_ERR_UNSUPPORTED
 * with the reason in the outcome's |note| (the runner's `unsupported`
 * verdict), never a false failure.
 *
 * This peer is the only code that links libssl (library `tlsdrill_peers`);
 * the engine library links libcrypto only. */
#ifndef TLSDRILL_PEER_OPENSSL_H
#define TLSDRILL_PEER_OPENSSL_H

#include "tlsdrill/scenario.h"

/* Fills |out| with the libssl peer. Its state (the ticket key an openssl
 * server keeps across the two connections of a `resume ticket` case, the
 * SSL_SESSION an openssl client keeps) is owned by |out->arg|: release it
 * with td_scn_peer_openssl_free. TD_ERR_NOMEM only. */
td_err td_scn_peer_openssl(td_scn_peer *out) TD_WUR;
void td_scn_peer_openssl_free(td_scn_peer *peer);
/* "OpenSSL 3.0.19 ..." of the libssl linked in. */
const char *td_scn_peer_openssl_version(void);

#endif
