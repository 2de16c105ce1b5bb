/* fuzz/program.h -- the mutation program of the structured fuzz inputs
 * ("TDP1" + ops, fuzz/README.md): decoding (every byte string decodes to
 * some program), the configuration ops, and the hooks that apply the edit
 * ops to the messages and flights a real engine counterpart sends:
 * td_config.msg_hook for message edits and binder modes, the td_pair
 * interceptor for record-level ops (fragmentation, coalescing, CCS
 * injection, binder XOR after serialisation). Ops known to break a rule
 * record it when they are applied. Caller storage; borrows the input. */
#ifndef TD_FUZZ_PROGRAM_H
#define TD_FUZZ_PROGRAM_H

#include "fuzz.h"

#define TD_FZ_MAX_OPS 48

typedef enum td_fz_opcode {
    TD_FZ_OP_CFG,         /* u8 flags (TD_FZ_CFG_*) */
    TD_FZ_OP_SUITE,       /* u8: the client offers only this suite (index mod 3) */
    TD_FZ_OP_GROUP,       /* u8: the client's key share group (index mod 3) */
    TD_FZ_OP_SELECT,      /* u8 msg type, u8 nth: later edit ops apply to that message */
    TD_FZ_OP_EXT_DROP,    /* u8 index (mod count) */
    TD_FZ_OP_EXT_DUP,     /* u8 index */
    TD_FZ_OP_EXT_MOVE,    /* u8 from, u8 to */
    TD_FZ_OP_EXT_REVERSE, /* - */
    TD_FZ_OP_EXT_INSERT,  /* u16 type, u8 at, u8 len, bytes: an extension with a raw body */
    TD_FZ_OP_EXT_SET_RAW, /* u8 index, u8 len, bytes: replace a body (length lies) */
    TD_FZ_OP_LIST_EDIT,   /* u8 list, u8 op, u16 value (mutate.h td_mut_list_edit) */
    TD_FZ_OP_KS_ADD,      /* u16 group, u8 len, bytes */
    TD_FZ_OP_KS_SWAP,     /* u8 i, u8 j: swap two key shares (group and key) */
    TD_FZ_OP_FIELD,       /* u8 field, u32 value, u8 len, bytes (td_mut_set_field) */
    TD_FZ_OP_BINDER_MODE, /* u8 mode: recompute / stale / corrupt / wrong transcript */
    TD_FZ_OP_BINDER_XOR,  /* u8 index, u8 len, bytes: after serialisation */
    TD_FZ_OP_BINDER_LEN,  /* u8 index, u8 len */
    TD_FZ_OP_BINDER_ADD,  /* u8 len */
    TD_FZ_OP_BINDER_DEL,  /* u8 index */
    TD_FZ_OP_PSK_AGE,     /* u8 index, u32 obfuscated age */
    TD_FZ_OP_PSK_ID_SET,  /* u8 index, u8 len, bytes */
    TD_FZ_OP_PSK_ID_ADD,  /* u8 len, bytes, u32 age */
    TD_FZ_OP_FRAGMENT,    /* u8 flight, u8 size: plaintext handshake records cut to size+1 bytes */
    TD_FZ_OP_COALESCE,    /* u8 flight: consecutive plaintext handshake records joined */
    TD_FZ_OP_CCS_INJECT,  /* u8 flight, u8 position: a change_cipher_spec record inserted */
    TD_FZ_OP_BUG,         /* u8 knob: a bugs.def knob of the counterpart */
    TD_FZ_OP_FLIP,        /* u8 flight, u8 record, u16 offset, u8 xor: a byte of a record */
    TD_FZ_NUM_OPS
} td_fz_opcode;

/* TD_FZ_OP_CFG flags. */
#define TD_FZ_CFG_HRR 0x01      /* the server always sends an HRR */
#define TD_FZ_CFG_COOKIE 0x02   /* ... with a cookie */
#define TD_FZ_CFG_AUTH 0x04     /* the server requests a client certificate */
#define TD_FZ_CFG_AUTH_REQ 0x08 /* ... and requires it */
#define TD_FZ_CFG_COMPAT 0x10   /* client compatibility mode (session id, CCS) */
#define TD_FZ_CFG_RESUME 0x20   /* the client offers the context's ticket */
#define TD_FZ_CFG_EARLY 0x40    /* ... with 0-RTT data */
#define TD_FZ_CFG_PSK_KE 0x80   /* ... psk_ke only */

typedef struct td_fz_op {
    uint8_t code;
    uint8_t sel_type, sel_nth; /* the message it edits */
    uint8_t a, b;
    uint16_t w;
    uint32_t v;
    const uint8_t *bytes; /* borrowed from the input */
    size_t len;
} td_fz_op;

typedef struct td_fz_prog {
    td_fz_op ops[TD_FZ_MAX_OPS];
    size_t num_ops;
    uint8_t cfg;
    int suite, group; /* -1: default */
    bool pure;        /* only ops whose effect is known (see program.c) */
    /* Run state (td_fz_prog_reset). */
    td_fz_kind kind;
    bool fuzzer_mode;
    unsigned seen[256]; /* messages of each type the hooked side built */
    unsigned flights, chs_in_flights;
    td_binder_mode ch_mode[4]; /* binder mode of each ClientHello the hook saw */
    unsigned ch_xors[4];       /* binder XORs applied to each */
    size_t num_applied;
    /* The BUG ops' knobs (k_knobs index; 0x80: its rule is judged), each
     * applied when its message goes out (bit i of fired). */
    uint8_t armed[TD_FZ_MAX_OPS];
    size_t num_armed;
    uint64_t fired;
    unsigned hrrs; /* HelloRetryRequests the hooked side built */
    td_rule broken[TD_FZ_MAX_BROKEN];
    size_t num_broken;
    uint8_t *scratch; /* intercept buffer (owned) */
    size_t scratch_cap;
} td_fz_prog;

/* Decodes |data| (after the magic, if any) for a target of |kind|. */
void td_fz_prog_decode(td_fz_prog *p, td_fz_kind kind, bool fuzzer_mode, const uint8_t *data,
                       size_t len);
/* Applies the configuration ops to the two configs of the run. */
void td_fz_prog_configure(td_fz_prog *p, td_config *client, td_config *server,
                          const td_session *ticket);
void td_fz_prog_reset(td_fz_prog *p);
void td_fz_prog_cleanup(td_fz_prog *p);

/* The hooks (arg: the td_fz_prog). The interceptor edits the flights of
 * |from| (the counterpart's direction). */
td_err td_fz_prog_msg_hook(void *arg, td_conn *conn, td_msg *msg, td_binder_mode *mode);
typedef struct td_fz_icpt {
    td_fz_prog *prog;
    td_dir from;
} td_fz_icpt;
td_err td_fz_prog_intercept(void *arg, td_dir dir, const uint8_t *bytes, size_t len, td_cbb *out);

/* Encoding helpers for corpus.c: append one op to |buf| (cap |cap|),
 * returns the new length (unchanged if it does not fit). */
size_t td_fz_prog_put(uint8_t *buf, size_t cap, size_t at, const uint8_t *op, size_t op_len);

#endif
