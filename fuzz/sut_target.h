/* fuzz/sut_target.h -- the sut_<lib>_server / sut_<lib>_client targets
 * (fuzz/sut.c): programs on our engine against a TLS library in process
 * (tlsdrill/sut.h). Used by harness.c only. */
#ifndef TD_FUZZ_SUT_TARGET_H
#define TD_FUZZ_SUT_TARGET_H

#include "fuzz.h"

/* The per-process state of a SUT target (owned by the context). */
typedef struct td_fz_sut td_fz_sut;

/* For target |target| ("sut_openssl_server" ...): TD_ERR_UNSUPPORTED when
 * its library is not in this build. Returns owned (td_fz_sut_free). */
td_err td_fz_sut_new(td_fz_ctx *ctx, const char *target, td_fz_sut **out) TD_WUR;
void td_fz_sut_free(td_fz_sut *s);
/* Runs one input; fills |r| (the SUT's status as our side saw it). */
td_err td_fz_sut_run(td_fz_ctx *ctx, td_fz_sut *s, const td_fz_target *t, const uint8_t *data,
                     size_t size, td_fz_result *r) TD_WUR;
/* The context's test-only plant (td_fz_ctx_plant_wrong_alert,
 * td_fz_ctx_plant_skip) on |cfg|, the side under test's configuration
 * (harness.c; only the engine reads it: sut_engine_*). */
void td_fz_ctx_plant(const td_fz_ctx *ctx, td_config *cfg);
/* Clears a wrong-alert-for-mutation finding that is a reviewed known
 * behaviour of the library (its expectations file says the same). */
void td_fz_sut_known(const td_fz_sut *s, td_fz_result *r);

#endif
