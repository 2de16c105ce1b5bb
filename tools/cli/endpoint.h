/* tools/cli/endpoint.h -- what `tlsdrill serve` and `tlsdrill connect` set up
 * alike: crypto, an optional certificate chain + key and trust anchor from
 * PEM files, ALPN and group lists, the DRBG seed, pcap and key log. */
#ifndef TD_CLI_ENDPOINT_H
#define TD_CLI_ENDPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "tlsdrill/conn.h"
#include "tlsdrill/crypto.h"
#include "tlsdrill/transcript.h"

typedef struct td_cli_endpoint_opts {
    const char *cmd;           /* "serve" / "connect", for messages */
    const char *chain, *key;   /* PEM files of our certificate (both or neither) */
    const char *ca;            /* PEM trust anchor (the first certificate); NULL: none */
    const char *alpn, *groups; /* comma lists; NULL: defaults */
    const char *seed;          /* NULL: fresh random */
    bool pcap, keylog;         /* capture in memory (written by td_cli_endpoint_save) */
    bool pcapng;               /* the capture is pcapng (td_pcapng_new) and embeds the keys:
                                * the key log is collected too */
} td_cli_endpoint_opts;

/* Everything owned; td_cli_endpoint_cleanup frees it. */
typedef struct td_cli_endpoint {
    td_crypto *crypto;
    td_der *chain, *ca;
    size_t num_chain, num_ca;
    td_pkey *key;
    td_cert_key ck;
    char *alpn_buf;
    const char *alpn[16];
    uint16_t groups[8];
    uint8_t seed[32];
    td_keylog *keylog;
    td_pcap *pcap;
    bool pcapng;
} td_cli_endpoint;

/* Fills |ep| and the matching fields of |cfg| (crypto, certs, trust anchor,
 * alpn, groups, seed, keylog; the rest of |cfg| is left as it is). Returns
 * -1 on success, else the exit code (1 failure, 2 usage) after a message. */
int td_cli_endpoint_setup(const td_cli_endpoint_opts *o, td_cli_endpoint *ep, td_config *cfg);
/* Writes the capture and the key log if asked for (a pcapng capture with
 * the key log in a Decryption Secrets Block before its packets). */
void td_cli_endpoint_save(const td_cli_endpoint *ep, const char *cmd, const char *pcap_path,
                          const char *keylog_path);
void td_cli_endpoint_cleanup(td_cli_endpoint *ep);

#endif
