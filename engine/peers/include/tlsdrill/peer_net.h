/* tlsdrill/peer_net.h -- systems under test over TCP for the scenario
 * runner (engine/peers/peer_net.c, peer_exec.c; library tlsdrill_peers).
 *
 * Peer specs (`tlsdrill run --peer SPEC`):
 *   tcp:HOST:PORT        our side is the client; the SUT is a TLS server
 *                        already listening there. Cases whose SUT is a
 *                        client are `unsupported`.
 *   listen:[HOST:]PORT   our side is the server: per case it waits for one
 *                        connection of a client SUT started by someone else
 *                        (HOST defaults to 127.0.0.1). Cases whose SUT is a
 *                        server, and resumption cases, are `unsupported`.
 *   exec:CMD             per case a child process `/bin/sh -c CMD` (a CMD
 *                        that is only a path is executed directly, which is
 *                        what the shell would do; own
 *                        process group, stopped by that group's id): a server
 *                        SUT when our side is the client (it must listen on
 *                        127.0.0.1:{port}; we connect, retrying until it
 *                        does), a client SUT when our side is the server
 *                        (it must connect to 127.0.0.1:{port}). `{port}` and
 *                        `{role}` (server|client: the SUT's role) are
 *                        substituted; the SUT's configuration from the
 *                        scenario header is in the environment (TD_* below,
 *                        certificates as PEM files), BoGo-shim style. A
 *                        child that exits 89 says it cannot be configured
 *                        for the case: `unsupported`, its first stderr line
 *                        the reason. tools/peers/ holds the shims for
 *                        openssl s_server/s_client and gnutls-serv/-cli.
 *
 * Resumption (`resume ticket`: two connections per case): a server child is
 * kept for the second connection (our client resumes its ticket); a client
 * child gets TD_RESUME=first on the first connection -- the runner's
 * prerequisite connection is the one without hooks -- and may resume by
 * itself (gnutls-cli --resume), else a second child gets TD_RESUME=second
 * and the session file the first one saved (s_client -sess_in).
 *
 * A remote peer (tcp:, listen:) cannot be configured: it must already match
 * the reference configuration, which is the scenario defaults -- server:
 * certificate server-p256 of the cert dir (chain to ca.pem), suites
 * 1301 1302 1303, groups x25519 secp256r1 secp384r1, the default signature
 * schemes, no ALPN, no client auth, no HRR forced, no cookie, tickets on,
 * no 0-RTT; client: trusts ca.pem, default lists, one key share, no ALPN,
 * no client certificate, no 0-RTT. A case whose SUT header differs from
 * that is `unsupported` with the first differing setting as the reason;
 * cases that only configure our side run.
 *
 * Every wait has a deadline: connecting (connect_ms), each read
 * (read_ms), the whole connection (case_ms). A peer that never answers
 * ends the case as `timeout`, one that closes or resets as `closed`, one
 * whose first bytes are not a TLS record as `garbage` (the outcome's
 * |ended|); the runner never hangs. Our side holds the keys, so an alert
 * the SUT sends under handshake keys is decrypted and named.
 *
 * The whole connection is observed (td_scn_outcome: completed,
 * sut_confirmed, end): records are fed to our side one at a time; after an
 * alert the peer reads to EOF or the quiet time (linger_ms); a completed
 * exchange ends with our close_notify and the same window. exec: shims
 * write the SUT's key log to TD_KEYLOG, with which an alert our side could
 * not decrypt is read; their stderr becomes the outcome's peer_log. The
 * shim contract: tools/peers/README.md. A tcp: peer refused on the first
 * connection, or an exec: command the shell cannot execute (126, 127), is
 * `unreachable`: the runner stops. */
#ifndef TLSDRILL_PEER_NET_H
#define TLSDRILL_PEER_NET_H

#include "tlsdrill/peers.h"


/* Parses |spec| and fills |out| (state owned by out->arg: release with
 * td_scn_peer_net_free). A malformed spec: TD_ERR_ARG with the reason in
 * |err|. */
td_err td_scn_peer_net_new(const char *spec, const td_peer_opts *opts, td_scn_peer *out,
                           char *err, size_t err_len) TD_WUR;
void td_scn_peer_net_free(td_scn_peer *peer);
/* Whether |spec| names a network peer (tcp:, listen:, exec:). */
bool td_scn_peer_net_spec(const char *spec);

#endif
