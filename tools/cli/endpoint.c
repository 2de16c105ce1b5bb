/* tools/cli/endpoint.c -- the setup `serve` and `connect` share (endpoint.h). */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "endpoint.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tlsdrill/file.h"

int td_cli_endpoint_setup(const td_cli_endpoint_opts *o, td_cli_endpoint *ep, td_config *cfg)
{
    if (td_crypto_new(&ep->crypto) != TD_OK)
        return 1;
    cfg->crypto = ep->crypto;
    if ((o->chain == NULL) != (o->key == NULL)) {
        fprintf(stderr, "tlsdrill %s: a certificate needs both the chain and the key\n", o->cmd);
        return 2;
    }
    if (o->chain != NULL) {
        bool ok = td_certs_from_pem_file(o->chain, &ep->chain, &ep->num_chain) == TD_OK &&
                  ep->num_chain > 0 && td_pkey_from_pem_file(ep->crypto, o->key, &ep->key) == TD_OK;
        if (!ok) {
            fprintf(stderr, "tlsdrill %s: cannot load the certificate %s with key %s\n", o->cmd,
                    o->chain, o->key);
            return 1;
        }
        ep->ck = (td_cert_key){.chain = ep->chain, .num_chain = ep->num_chain, .key = ep->key};
        cfg->certs = &ep->ck;
        cfg->num_certs = 1;
    }
    if (o->ca != NULL) {
        if (td_certs_from_pem_file(o->ca, &ep->ca, &ep->num_ca) != TD_OK || ep->num_ca == 0) {
            fprintf(stderr, "tlsdrill %s: cannot load the CA certificate %s\n", o->cmd, o->ca);
            return 1;
        }
        cfg->trust_anchor = ep->ca[0].data;
        cfg->trust_anchor_len = ep->ca[0].len;
    }
    if (o->alpn != NULL) {
        size_t n;
        ep->alpn_buf = strdup(o->alpn);
        if (ep->alpn_buf == NULL || !td_cli_split_list(ep->alpn_buf, ep->alpn, 16, &n)) {
            fprintf(stderr, "tlsdrill %s: bad --alpn list\n", o->cmd);
            return 2;
        }
        cfg->alpn = ep->alpn;
        cfg->num_alpn = n;
    }
    if (o->groups != NULL) {
        size_t n;
        if (!td_cli_parse_groups(o->groups, ep->groups, 8, &n)) {
            fprintf(stderr, "tlsdrill %s: bad --groups %s\n", o->cmd, o->groups);
            return 2;
        }
        cfg->groups = ep->groups;
        cfg->num_groups = n;
    }
    /* The seed fixes every random value (a server's ticket key too, so
     * tickets survive across connections); without one it is fresh. */
    if (o->seed != NULL) {
        cfg->seed = (const uint8_t *)o->seed;
        cfg->seed_len = strlen(o->seed);
    } else {
        if (RAND_bytes(ep->seed, sizeof(ep->seed)) != 1)
            return 1;
        cfg->seed = ep->seed;
        cfg->seed_len = sizeof(ep->seed);
    }
    if (o->keylog || (o->pcap && o->pcapng)) {
        if (td_keylog_new(&ep->keylog) != TD_OK)
            return 1;
        cfg->keylog = td_keylog_append;
        cfg->keylog_arg = ep->keylog;
    }
    ep->pcapng = o->pcap && o->pcapng;
    if (o->pcap && (ep->pcapng ? td_pcapng_new(0, &ep->pcap) : td_pcap_new(0, &ep->pcap)) != TD_OK)
        return 1;
    return -1;
}

void td_cli_endpoint_save(const td_cli_endpoint *ep, const char *cmd, const char *pcap_path,
                          const char *keylog_path)
{
    size_t len;
    if (ep->pcap != NULL && pcap_path != NULL) {
        const char *keys =
            ep->pcapng && ep->keylog != NULL ? td_keylog_text(ep->keylog, &len) : NULL;
        if (keys != NULL && td_pcap_secrets(ep->pcap, keys, len) != TD_OK)
            fprintf(stderr, "tlsdrill %s: out of memory: %s holds no keys\n", cmd, pcap_path);
        const uint8_t *b = td_pcap_bytes(ep->pcap, &len);
        if (!td_cli_write_file(pcap_path, b, len))
            fprintf(stderr, "tlsdrill %s: cannot write %s\n", cmd, pcap_path);
    }
    if (ep->keylog != NULL && keylog_path != NULL) {
        const char *t = td_keylog_text(ep->keylog, &len);
        if (t == NULL || !td_cli_write_file(keylog_path, t, len))
            fprintf(stderr, "tlsdrill %s: cannot write %s\n", cmd, keylog_path);
    }
}

void td_cli_endpoint_cleanup(td_cli_endpoint *ep)
{
    td_der_list_free(ep->chain, ep->num_chain);
    td_der_list_free(ep->ca, ep->num_ca);
    td_pkey_free(ep->key);
    td_keylog_free(ep->keylog);
    td_pcap_free(ep->pcap);
    free(ep->alpn_buf);
    td_crypto_free(ep->crypto);
    memset(ep, 0, sizeof(*ep));
}
