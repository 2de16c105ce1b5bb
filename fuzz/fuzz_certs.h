/* fuzz/fuzz_certs.h -- the test certificates of tests/vectors/certs/,
 * embedded at build time (fuzz/mutator.cmake generates fuzz_certs.c), so
 * that fuzz binaries read no files. NUL-terminated PEM; |*_len| excludes
 * the NUL. Constant data. */
#ifndef TD_FUZZ_CERTS_H
#define TD_FUZZ_CERTS_H

#include <stddef.h>

extern const unsigned char td_fz_diff_server_chain_pem[]; /* server-p256.chain.pem */
extern const size_t td_fz_diff_server_chain_pem_len;
extern const unsigned char td_fz_diff_server_key_pem[]; /* server-p256.key */
extern const size_t td_fz_diff_server_key_pem_len;

#endif
