/* fuzz/fuzz_certs.h -- the test certificates of tests/vectors/certs/,
 * embedded at build time (fuzz/embed_certs.cmake generates fuzz_certs.c,
 * library td_fuzz_certs), so that fuzz binaries read no files.
 * NUL-terminated PEM; |*_len| excludes the NUL. Constant data. */
#ifndef TD_FUZZ_CERTS_H
#define TD_FUZZ_CERTS_H

#include <stddef.h>

/* The harness core's (harness.c): Ed25519 server (the cheapest signature),
 * P-256 client, their CA. */
extern const unsigned char td_fz_pem_server_chain[]; /* server-ed25519.chain.pem */
extern const size_t td_fz_pem_server_chain_len;
extern const unsigned char td_fz_pem_server_key[]; /* server-ed25519.key */
extern const size_t td_fz_pem_server_key_len;
extern const unsigned char td_fz_pem_ca[]; /* ca.pem */
extern const size_t td_fz_pem_ca_len;
extern const unsigned char td_fz_pem_client_chain[]; /* client-p256.chain.pem */
extern const size_t td_fz_pem_client_chain_len;
extern const unsigned char td_fz_pem_client_key[]; /* client-p256.key */
extern const size_t td_fz_pem_client_key_len;

/* The differential target's (differential.c): the P-256 server both
 * servers use. */
extern const unsigned char td_fz_diff_server_chain_pem[]; /* server-p256.chain.pem */
extern const size_t td_fz_diff_server_chain_pem_len;
extern const unsigned char td_fz_diff_server_key_pem[]; /* server-p256.key */
extern const size_t td_fz_diff_server_key_pem_len;

#endif
