/* engine/scenario/scn_names.h -- name tables of the scenario language. */
#ifndef TD_SCN_NAMES_H
#define TD_SCN_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/crypto.h"
#include "tlsdrill/msg.h"

#define SCN_BY_CLIENT 1u
#define SCN_BY_SERVER 2u

typedef enum scn_kind {
    SCN_KIND_SUITE,
    SCN_KIND_GROUP,
    SCN_KIND_SIGALG,
    SCN_KIND_VERSION,
    SCN_KIND_PSK_MODE,
    SCN_KIND_NUMBER,
} scn_kind;

/* Decimal or 0x-hex, at most |max|. */
bool scn_number(const char *s, uint32_t max, uint32_t *out);
/* "ClientHello", ..., "HelloRetryRequest" (type 2, hrr). */
bool scn_msg_by_name(const char *s, uint8_t *type, bool *hrr, unsigned *senders);
const char *scn_msg_name(uint8_t type, bool hrr);
/* msg.h's extension names ("key_share"), "alpn", or a number. */
bool scn_ext_by_name(const char *s, uint16_t *out);
/* A name of |kind| or a number. */
bool scn_value_by_name(scn_kind kind, const char *s, uint16_t *out);
const char *scn_kind_name(scn_kind kind);
/* The names of |kind| for a diagnostic: "a, b, ..., or a number". */
void scn_kind_names(scn_kind kind, char *buf, size_t cap);

#endif
