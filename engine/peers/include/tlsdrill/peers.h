/* tlsdrill/peers.h -- the registry of systems under test (library
 * tlsdrill_peers): one row per kind of peer the scenario runner can play
 * against (`tlsdrill run --peer SPEC`, `tlsdrill peers`, tools/matrix.py).
 *
 * A row is {prefix, new, free, version, help}. A spec names a row by its
 * prefix: "engine" and "openssl" exactly, "tcp:", "listen:" and "exec:"
 * followed by their argument. Adding an in-process peer is one source file
 * (engine/peers/<name>.c: its new/free/version functions, declared in
 * engine/peers/peer_kinds.h) plus one row in engine/peers/registry.c. */
#ifndef TLSDRILL_PEERS_H
#define TLSDRILL_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/scenario.h"

/* What every peer is given when it is made (members that do not apply to
 * a kind are ignored; zero = the default). */
typedef struct td_peer_opts {
    unsigned connect_ms;  /* network: connecting (exec: to a server SUT already up, as for a
                           * resumption); 0 = 5000 */
    /* exec: a fresh child's start-up, on its own clock, so that a slow
     * start (an interpreter, a first build) is not graded as a timeout: a
     * server SUT until it listens (its port refuses connections until
     * then), a client SUT until it connects to us. Not up within it: the
     * case is an error that says so (never a TLS verdict). 0 = 10000. */
    unsigned startup_ms;
    unsigned read_ms;     /* network: each wait for the SUT's bytes in the handshake; 0 = 3000 */
    unsigned case_ms;     /* network: one connection, start to end; 0 = 15000 */
    unsigned linger_ms;   /* network: the quiet time of the observation windows: after the
                           * handshake (tickets, late alerts), after the SUT's alert (bytes after
                           * it) and after our close_notify; 0 = 200 */
    const char *cert_dir; /* the runner's cert dir (tcp:/listen: reference certificates) */
    uint16_t port_lo, port_hi; /* exec: ports tried for a server SUT; 0 = 20000..29999 */
} td_peer_opts;

typedef struct td_peer_kind {
    const char
        *prefix; /* "engine", "openssl": the whole spec; "tcp:" ...: followed by an argument */
    /* Makes the peer for |spec| (which starts with |prefix|): state owned by
     * out->arg, released with free(). A bad spec or a peer that cannot be set
     * up: non-OK with the reason in |err|. */
    td_err (*new)(const char *spec, const td_peer_opts *opts, td_scn_peer *out, char *err,
                  size_t err_len);
    void (*free)(td_scn_peer *peer);
    /* The version of the SUT behind |spec| ("OpenSSL 3.0.19 ...", "tlsdrill 0.1.0") into
     * |buf|; false when it cannot be known (a remote peer; a shim that does not answer
     * TD_ROLE=version, tools/peers/README.md). NULL: never known. */
    bool (*version)(const char *spec, char *buf, size_t len);
    const char *usage; /* the spec's form, e.g. "tcp:HOST:PORT" */
    const char *help;  /* one line */
} td_peer_kind;

/* Every row, in the order `tlsdrill peers` lists them. */
const td_peer_kind *td_peer_kinds(size_t *out_num);
/* The row |spec| names; NULL if none. */
const td_peer_kind *td_peer_find(const char *spec);
/* td_peer_find + new(); an unknown spec: TD_ERR_ARG, the known forms in |err|.
 * On success *out_kind (may be NULL) is the row, whose free() releases |out|. */
td_err td_peer_new(const char *spec, const td_peer_opts *opts, td_scn_peer *out,
                   const td_peer_kind **out_kind, char *err, size_t err_len) TD_WUR;
/* Releases a peer made by td_peer_new (no-op on a zeroed |peer|). */
void td_peer_free(const td_peer_kind *kind, td_scn_peer *peer);

/* The in-process engine as the SUT (td_pair): the only peer that reports
 * the SUT's own status (rule, file:line). engine/peers/peer_engine.c. */
void td_scn_peer_engine(td_scn_peer *out);

#endif
