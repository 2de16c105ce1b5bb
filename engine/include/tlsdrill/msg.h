/* tlsdrill/msg.h -- TLS 1.3 handshake messages and extensions: parse and build
 * (RFC 8446 §4, RFC 8449, and the legacy extensions a TLS 1.3 ClientHello carries).
 *
 * Model
 * -----
 * A parsed message (td_msg, about 6.5 KB) is caller storage that holds views
 * (td_cbs) into the input, which it borrows: the input must outlive it.
 * Builders write into a caller's td_cbb. Lists have no capacity of ours:
 * RFC 8446 §9.3 has receivers ignore what they do not recognise, and the
 * vectors' own length bounds (<2..2^16-2> ...) are the only limits. Each
 * list is a pointer to storage inside the struct (TD_MAX_* elements, the
 * common case: parsing allocates nothing) or, for longer input, to a heap
 * block the message owns: td_msg_cleanup frees it, and must run before a
 * td_msg that may hold one is parsed into again or dropped. Parsing and
 * td_msg_init point every list at its inline storage (a zeroed list, NULL,
 * is empty and valid too); growth goes through td_list_push. A message is
 * not copied by value (its lists would point into the original).
 *
 * Extensions are kept twice:
 *   - td_exts: the ordered list of td_ext {type, raw body view, offset}, as on
 *     the wire, unknown extensions included;
 *   - td_ext_data: the decoded typed view of every recognised extension of the
 *     block (at most one of each type, since duplicates are rejected).
 * Building writes each td_ext from its raw |body|, unless its |from_typed| flag
 * is set, in which case the body is encoded from td_ext_data. Parsing leaves
 * |from_typed| false, so build(parse(x)) == x byte for byte; a caller that
 * edits a typed field sets |from_typed| on that extension (td_exts_add does it
 * for new recognised extensions). Message-level fields (random, cipher suites,
 * ...) are always re-encoded from the struct.
 *
 * Builders are deliberately lenient: they encode whatever the struct says
 * (empty cookies, 33-byte session ids, PSK not last ...) so that mutation and
 * misbehaviour knobs can produce invalid messages. They fail only when a value
 * does not fit its length prefix (or a fixed array, TD_MAX_VERSIONS and
 * TD_MAX_PSK_MODES, would overflow).
 *
 * Checks made by the parsers (each names a rule of rules.def, with the byte
 * offset of the offending field relative to the start of the parsed input):
 *   - syntax and vector-length ranges of the presentation language
 *     -> TD_ERR_DECODE, GEN-DECODE (or a specific rule, e.g. COOKIE-EMPTY);
 *   - values the RFC fixes (KeyUpdate request, compression method, record_size_limit >= 64
 *     in a ClientHello; in EncryptedExtensions the client judges it only after checking it
 *     offered it, RFC 8446 §4.2) -> TD_ERR_ILLEGAL_PARAMETER with GEN-ILLEGAL-PARAM or a
 *     specific rule;
 *   - the §4.2 extension/message table (TD_EXT_TABLE below)
 *     -> TD_ERR_UNSUPPORTED_EXT, EXT-WRONG-MESSAGE; in EncryptedExtensions
 *        TD_ERR_ILLEGAL_PARAMETER, EE-FORBIDDEN-EXT (§4.3.1); cookie in a
 *        ServerHello COOKIE-IN-SH;
 *   - duplicate extensions -> TD_ERR_DECODE, EXT-DUPLICATE (§4.2 names no
 *     alert; we treat the block as not parsing into an extension set, and the
 *     rule allows decode_error as well as illegal_parameter);
 *   - pre_shared_key not last in a ClientHello -> TD_ERR_ILLEGAL_PARAMETER, PSK-NOT-LAST;
 *   - fewer or more PSK binders than identities -> TD_ERR_ILLEGAL_PARAMETER, PSK-BINDER-COUNT;
 *   - out of memory -> TD_ERR_NOMEM (storage grows with the input, bounded by
 *     the vectors' lengths).
 * Negotiation and policy (was it offered? does the version match?) are not
 * checked here: that is the state machine's job. Rules that look structural
 * but depend on version or negotiation and are therefore left to it:
 * CH-COMPRESSION, CH-MANDATORY-EXT, KS-DUPLICATE-GROUP, KS-BAD-LENGTH,
 * SV-SH-INVALID / SV-HRR-INVALID, SH-LEGACY-VERSION and the legacy_version half
 * of HRR-LEGACY-FIELDS, CR-CONTEXT-NONEMPTY, CT-CONTEXT, NST-LIFETIME,
 * PSK-SH-IDENTITY-RANGE, and every *-UNSOLICITED / *-NOT-OFFERED rule. */
#ifndef TLSDRILL_MSG_H
#define TLSDRILL_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/bytes.h"
#include "tlsdrill/err.h"

/* ---- inline storage of the lists (longer lists grow on the heap) ---- */
#define TD_MAX_EXTENSIONS 64
#define TD_MAX_CIPHER_SUITES 256
#define TD_MAX_GROUPS 64
#define TD_MAX_SIGALGS 64
#define TD_MAX_KEY_SHARES 16
#define TD_MAX_PSK_IDENTITIES 16
#define TD_MAX_ALPN_PROTOCOLS 16
#define TD_MAX_SERVER_NAMES 4
#define TD_MAX_RESPONDER_IDS 8
#define TD_MAX_CERT_AUTHORITIES 32
#define TD_MAX_OID_FILTERS 16
#define TD_MAX_CERT_ENTRIES 16
/* Fixed arrays at the RFC's own bound: §4.2.1 versions<2..254> (127
 * entries), §4.2.9 ke_modes<1..255>. */
#define TD_MAX_VERSIONS 127
#define TD_MAX_PSK_MODES 255

#define TD_RANDOM_LEN 32
#define TD_HANDSHAKE_HEADER_LEN 4

/* RFC 8446 §4 / B.3: HandshakeType. */
typedef enum td_msg_type {
    TD_MSG_CLIENT_HELLO = 1,
    TD_MSG_SERVER_HELLO = 2, /* also HelloRetryRequest (§4.1.3) */
    TD_MSG_NEW_SESSION_TICKET = 4,
    TD_MSG_END_OF_EARLY_DATA = 5,
    TD_MSG_ENCRYPTED_EXTENSIONS = 8,
    TD_MSG_CERTIFICATE = 11,
    TD_MSG_CERTIFICATE_REQUEST = 13,
    TD_MSG_CERTIFICATE_VERIFY = 15,
    TD_MSG_FINISHED = 20,
    TD_MSG_KEY_UPDATE = 24,
    TD_MSG_MESSAGE_HASH = 254,
} td_msg_type;

/* The messages an extension block can appear in (the columns of §4.2's table). */
typedef enum td_ext_ctx {
    TD_EXT_CTX_CH,
    TD_EXT_CTX_SH,
    TD_EXT_CTX_HRR,
    TD_EXT_CTX_EE,
    TD_EXT_CTX_CT, /* a CertificateEntry's extensions */
    TD_EXT_CTX_CR,
    TD_EXT_CTX_NST,
    TD_EXT_NUM_CTX
} td_ext_ctx;
#define TD_EXT_IN(ctx) (1u << TD_EXT_CTX_##ctx)

/* THE extension/message table: RFC 8446 §4.2 (plus RFC 8449 record_size_limit
 * and the legacy extensions a ClientHello may carry). X(ENUM, name, value,
 * allowed messages). A recognised extension outside its row's messages is
 * rejected; an extension not in this table is unknown and allowed anywhere
 * (kept with its bytes). Rows not in RFC 8446's table: record_size_limit
 * (RFC 8449 §4: CH, EE) and the TLS 1.2 extensions ec_point_formats,
 * status_request_v2, encrypt_then_mac, extended_master_secret,
 * session_ticket and renegotiation_info, which are CH-only: a TLS 1.3 server
 * never sends them (a TLS 1.2 ServerHello is not checked against the table,
 * see td_server_hello.legacy). */
/* clang-format off */
#define TD_EXT_TABLE(X)                                                                     \
    X(SERVER_NAME, "server_name", 0, TD_EXT_IN(CH) | TD_EXT_IN(EE))                         \
    X(MAX_FRAGMENT_LENGTH, "max_fragment_length", 1, TD_EXT_IN(CH) | TD_EXT_IN(EE))         \
    X(STATUS_REQUEST, "status_request", 5, TD_EXT_IN(CH) | TD_EXT_IN(CR) | TD_EXT_IN(CT))   \
    X(SUPPORTED_GROUPS, "supported_groups", 10, TD_EXT_IN(CH) | TD_EXT_IN(EE))              \
    X(EC_POINT_FORMATS, "ec_point_formats", 11, TD_EXT_IN(CH))                              \
    X(SIGNATURE_ALGORITHMS, "signature_algorithms", 13, TD_EXT_IN(CH) | TD_EXT_IN(CR))      \
    X(USE_SRTP, "use_srtp", 14, TD_EXT_IN(CH) | TD_EXT_IN(EE))                              \
    X(HEARTBEAT, "heartbeat", 15, TD_EXT_IN(CH) | TD_EXT_IN(EE))                            \
    X(ALPN, "application_layer_protocol_negotiation", 16, TD_EXT_IN(CH) | TD_EXT_IN(EE))    \
    X(STATUS_REQUEST_V2, "status_request_v2", 17, TD_EXT_IN(CH))                            \
    X(SCT, "signed_certificate_timestamp", 18, TD_EXT_IN(CH) | TD_EXT_IN(CR) | TD_EXT_IN(CT)) \
    X(CLIENT_CERTIFICATE_TYPE, "client_certificate_type", 19, TD_EXT_IN(CH) | TD_EXT_IN(EE)) \
    X(SERVER_CERTIFICATE_TYPE, "server_certificate_type", 20, TD_EXT_IN(CH) | TD_EXT_IN(EE)) \
    X(PADDING, "padding", 21, TD_EXT_IN(CH))                                                \
    X(ENCRYPT_THEN_MAC, "encrypt_then_mac", 22, TD_EXT_IN(CH))                              \
    X(EXTENDED_MASTER_SECRET, "extended_master_secret", 23, TD_EXT_IN(CH))                  \
    X(RECORD_SIZE_LIMIT, "record_size_limit", 28, TD_EXT_IN(CH) | TD_EXT_IN(EE))            \
    X(SESSION_TICKET, "session_ticket", 35, TD_EXT_IN(CH))                                  \
    X(PRE_SHARED_KEY, "pre_shared_key", 41, TD_EXT_IN(CH) | TD_EXT_IN(SH))                  \
    X(EARLY_DATA, "early_data", 42, TD_EXT_IN(CH) | TD_EXT_IN(EE) | TD_EXT_IN(NST))         \
    X(SUPPORTED_VERSIONS, "supported_versions", 43, TD_EXT_IN(CH) | TD_EXT_IN(SH) | TD_EXT_IN(HRR)) \
    X(COOKIE, "cookie", 44, TD_EXT_IN(CH) | TD_EXT_IN(HRR))                                 \
    X(PSK_KEY_EXCHANGE_MODES, "psk_key_exchange_modes", 45, TD_EXT_IN(CH))                  \
    X(CERTIFICATE_AUTHORITIES, "certificate_authorities", 47, TD_EXT_IN(CH) | TD_EXT_IN(CR)) \
    X(OID_FILTERS, "oid_filters", 48, TD_EXT_IN(CR))                                        \
    X(POST_HANDSHAKE_AUTH, "post_handshake_auth", 49, TD_EXT_IN(CH))                        \
    X(SIGNATURE_ALGORITHMS_CERT, "signature_algorithms_cert", 50, TD_EXT_IN(CH) | TD_EXT_IN(CR)) \
    X(KEY_SHARE, "key_share", 51, TD_EXT_IN(CH) | TD_EXT_IN(SH) | TD_EXT_IN(HRR))           \
    X(RENEGOTIATION_INFO, "renegotiation_info", 0xff01, TD_EXT_IN(CH))
/* clang-format on */

typedef enum td_ext_type {
#define TD_EXT_ENUM_(e, name, value, allowed) TD_EXT_##e = value,
    TD_EXT_TABLE(TD_EXT_ENUM_)
#undef TD_EXT_ENUM_
} td_ext_type;

/* The special ServerHello.random of a HelloRetryRequest (§4.1.3). */
extern const uint8_t td_hrr_random[TD_RANDOM_LEN];

/* ---- extension block ---- */

typedef struct td_ext {
    uint16_t type;
    td_cbs body;     /* extension_data, raw (a view; borrowed) */
    size_t offset;   /* of extension_type, from the start of the parsed input
                      * (the body for td_msg_parse, the header for
                      * td_msg_parse_handshake); 0 if built */
    bool from_typed; /* build encodes the body from td_ext_data instead of |body| */
} td_ext;

typedef struct td_exts {
    td_ext_ctx ctx; /* which message the block belongs to */
    size_t num;
    td_ext *list; /* list_inline or a heap block (see Model) */
    td_ext list_inline[TD_MAX_EXTENSIONS];
} td_exts;

typedef struct td_key_share_entry {
    uint16_t group;
    td_cbs key_exchange;
} td_key_share_entry;

typedef struct td_psk_identity {
    td_cbs identity;
    uint32_t obfuscated_ticket_age;
} td_psk_identity;

typedef struct td_server_name {
    uint8_t name_type; /* 0 = host_name */
    td_cbs name;
} td_server_name;

typedef struct td_oid_filter {
    td_cbs oid;
    td_cbs values;
} td_oid_filter;

/* RFC 6066 §8 status_request; RFC 8446 §4.4.2.1. */
typedef struct td_status_request {
    bool empty;          /* CR: empty extension_data (§4.4.2.1) */
    uint8_t status_type; /* 1 = ocsp */
    /* CH / CR with status_type ocsp: OCSPStatusRequest */
    size_t num_responder_ids;
    td_cbs *responder_ids;
    td_cbs responder_ids_inline[TD_MAX_RESPONDER_IDS];
    td_cbs request_extensions;
    /* CT: CertificateStatus.ocsp_response; other status types: the rest of the body */
    td_cbs response;
} td_status_request;

/* Decoded view of the recognised extensions of one block. A field is
 * meaningful only if the block holds that extension (td_exts_find). Forms
 * depend on the block's context as noted. */
typedef struct td_ext_data {
    size_t num_server_names; /* CH (EE form is empty) */
    td_server_name *server_names;
    td_server_name server_names_inline[TD_MAX_SERVER_NAMES];
    uint8_t max_fragment_length;
    td_status_request status_request;
    size_t num_groups;
    uint16_t *groups;
    uint16_t groups_inline[TD_MAX_GROUPS];
    size_t num_sigalgs;
    uint16_t *sigalgs;
    uint16_t sigalgs_inline[TD_MAX_SIGALGS];
    size_t num_sigalgs_cert;
    uint16_t *sigalgs_cert;
    uint16_t sigalgs_cert_inline[TD_MAX_SIGALGS];
    size_t num_alpn; /* EE: exactly one */
    td_cbs *alpn;
    td_cbs alpn_inline[TD_MAX_ALPN_PROTOCOLS];
    td_cbs sct_list;    /* CT: SignedCertificateTimestampList contents; CH/CR: empty */
    size_t padding_len; /* typed form writes this many zero bytes */
    uint16_t record_size_limit;
    /* pre_shared_key: CH */
    size_t num_psk_identities;
    td_psk_identity *psk_identities;
    td_psk_identity psk_identities_inline[TD_MAX_PSK_IDENTITIES];
    size_t num_psk_binders;
    td_cbs *psk_binders;
    td_cbs psk_binders_inline[TD_MAX_PSK_IDENTITIES];
    /* pre_shared_key: SH */
    uint16_t psk_selected_identity;
    uint32_t max_early_data_size; /* early_data in NST (CH/EE: empty) */
    /* supported_versions: CH list, SH/HRR selected */
    size_t num_versions;
    uint16_t versions[TD_MAX_VERSIONS];
    uint16_t selected_version;
    td_cbs cookie;
    size_t num_psk_modes;
    uint8_t psk_modes[TD_MAX_PSK_MODES];
    size_t num_cert_authorities;
    td_cbs *cert_authorities;
    td_cbs cert_authorities_inline[TD_MAX_CERT_AUTHORITIES];
    size_t num_oid_filters;
    td_oid_filter *oid_filters;
    td_oid_filter oid_filters_inline[TD_MAX_OID_FILTERS];
    /* key_share: CH list, SH entry, HRR selected_group */
    size_t num_key_shares;
    td_key_share_entry *key_shares;
    td_key_share_entry key_shares_inline[TD_MAX_KEY_SHARES];
    td_key_share_entry server_share;
    uint16_t hrr_selected_group;
    td_cbs renegotiated_connection;
} td_ext_data;

/* ---- list storage ---- */

/* Makes room for |n| more elements of |elem_size| bytes after the |*num|
 * already in a list whose pointer is at |pptr| (a T **: NULL, its inline
 * storage |inl| of |inl_cap| elements, or a heap block of ours) and returns
 * the address of the first new one; *num grows by |n|. NULL if out of memory
 * (nothing changed). A heap block keeps its capacity; it is freed by
 * td_list_free (or the owner's cleanup). */
void *td_list_push_n(void *pptr, void *inl, size_t inl_cap, size_t *num, size_t n,
                     size_t elem_size);
/* Frees a heap block (not the inline storage) and points the list at |inl|. */
void td_list_free(void *pptr, void *inl);
#define TD_LIST_PUSH(s, name)                                                              \
    td_list_push_n(&(s)->name, (s)->name##_inline,                                        \
                   sizeof((s)->name##_inline) / sizeof((s)->name##_inline[0]),              \
                   &(s)->num_##name, 1, sizeof((s)->name##_inline[0]))

/* Empty block / typed data with every list at its inline storage. */
void td_exts_init(td_exts *exts, td_ext_ctx ctx);
void td_ext_data_init(td_ext_data *data);
/* Free the heap blocks (lists back to inline storage, counts kept only if
 * they fit: a cleaned block is empty). NULL is a no-op. */
void td_exts_cleanup(td_exts *exts);
void td_ext_data_cleanup(td_ext_data *data);

/* Parses the contents of an Extension extensions<..> vector (without its
 * length prefix) for message context |ctx| into |out| and |data| (both
 * overwritten). Offsets are relative to |base|, which must point at or before
 * |block|'s bytes. Applies the §4.2 table, duplicate and PSK-last checks and
 * decodes every recognised extension. */
td_err td_exts_parse(td_ext_ctx ctx, td_cbs block, const uint8_t *base, td_exts *out,
                     td_ext_data *data, td_diag *diag) TD_WUR;
/* Writes the u16-prefixed extensions block. */
td_err td_exts_build(const td_exts *exts, const td_ext_data *data, td_cbb *out) TD_WUR;

/* Decodes one extension's body for |ctx| into |data|. |base| as above. Does
 * not check the table (td_ext_allowed). */
td_err td_ext_decode(td_ext_ctx ctx, uint16_t type, td_cbs body, const uint8_t *base,
                     td_ext_data *data, td_diag *diag) TD_WUR;
/* Encodes the body (extension_data contents, no prefix) of a recognised
 * extension from |data| for |ctx|. TD_ERR_ARG for an unknown type or a form
 * the type has no typed encoding for (legacy opaque extensions). */
td_err td_ext_encode(td_ext_ctx ctx, uint16_t type, const td_ext_data *data, td_cbb *out) TD_WUR;
/* True if |type| has a typed form in |ctx| (td_ext_encode can build it). */
bool td_ext_has_typed_form(td_ext_ctx ctx, uint16_t type);

/* Table queries. */
bool td_ext_is_known(uint16_t type);
/* True if |type| may appear in |ctx| (always true for unknown types). */
bool td_ext_allowed(td_ext_ctx ctx, uint16_t type);

/* Block editing (|body| views are borrowed; the list grows as needed).
 * Index-based functions return TD_ERR_ARG for a bad index, TD_ERR_NOMEM
 * when out of memory. */
td_ext *td_exts_find(td_exts *exts, uint16_t type);
const td_ext *td_exts_find_const(const td_exts *exts, uint16_t type);
/* Index of |type|, or -1. */
int td_exts_index(const td_exts *exts, uint16_t type);
/* Appends |type|. The new entry has an empty raw body and from_typed set if
 * the type has a typed form in the block's context; |*out| (may be NULL)
 * points at it. */
td_err td_exts_add(td_exts *exts, uint16_t type, td_ext **out) TD_WUR;
/* Inserts a raw extension at |index| (0..num). */
td_err td_exts_insert_raw(td_exts *exts, size_t index, uint16_t type, td_cbs body) TD_WUR;
td_err td_exts_remove(td_exts *exts, size_t index) TD_WUR;
/* Moves the extension at |from| so that it ends up at index |to|. */
td_err td_exts_move(td_exts *exts, size_t from, size_t to) TD_WUR;
/* Sets from_typed on every extension with a typed form (re-encode all). */
void td_exts_mark_typed(td_exts *exts);

/* ---- messages ---- */

typedef struct td_client_hello {
    uint16_t legacy_version;
    uint8_t random[TD_RANDOM_LEN];
    td_cbs legacy_session_id;
    size_t num_cipher_suites;
    uint16_t *cipher_suites;
    uint16_t cipher_suites_inline[TD_MAX_CIPHER_SUITES];
    td_cbs legacy_compression_methods;
    /* false: nothing after legacy_compression_methods (a pre-TLS 1.3
     * ClientHello; §4.1.2 lets the server tell them apart). */
    bool has_extensions;
    td_exts exts;
    td_ext_data ext;
} td_client_hello;

/* ServerHello and HelloRetryRequest (§4.1.3, §4.1.4). */
typedef struct td_server_hello {
    bool is_hrr; /* parsed/built with HRR extension forms (key_share selected_group) */
    /* Parse only: no supported_versions, i.e. a TLS 1.2-or-older ServerHello.
     * The §4.2 table (a TLS 1.3 table) is not applied to it and its
     * recognised extensions are kept raw (not decoded). */
    bool legacy;
    uint16_t legacy_version;
    uint8_t random[TD_RANDOM_LEN];
    td_cbs legacy_session_id_echo;
    uint16_t cipher_suite;
    uint8_t legacy_compression_method;
    bool has_extensions;
    td_exts exts;
    td_ext_data ext;
} td_server_hello;

typedef struct td_encrypted_extensions {
    td_exts exts;
    td_ext_data ext;
} td_encrypted_extensions;

typedef struct td_certificate_request {
    td_cbs context;
    td_exts exts;
    td_ext_data ext;
} td_certificate_request;

/* One CertificateEntry. Its extensions are validated by the parser (table
 * context CT) and kept as the raw block contents (without the u16 prefix),
 * which the builder writes back as is; decode them with td_exts_parse(
 * TD_EXT_CTX_CT, entry->extensions, ...) and re-encode with td_exts_build. */
typedef struct td_cert_entry {
    td_cbs cert_data; /* cert_data or ASN1_subjectPublicKeyInfo */
    td_cbs extensions;
    size_t offset; /* of cert_data's length field */
} td_cert_entry;

typedef struct td_certificate {
    td_cbs context;
    size_t num_entries;
    td_cert_entry *entries;
    td_cert_entry entries_inline[TD_MAX_CERT_ENTRIES];
} td_certificate;

typedef struct td_certificate_verify {
    uint16_t algorithm;
    td_cbs signature;
} td_certificate_verify;

typedef struct td_finished {
    td_cbs verify_data;
} td_finished;

typedef struct td_new_session_ticket {
    uint32_t ticket_lifetime;
    uint32_t ticket_age_add;
    td_cbs ticket_nonce;
    td_cbs ticket;
    td_exts exts;
    td_ext_data ext;
} td_new_session_ticket;

typedef struct td_key_update {
    uint8_t request_update; /* 0 update_not_requested, 1 update_requested */
} td_key_update;

/* §4.4.1: the synthetic message that replaces ClientHello1 in the transcript
 * after a HelloRetryRequest; its body is Hash(ClientHello1). */
typedef struct td_message_hash {
    td_cbs hash;
} td_message_hash;

typedef struct td_msg {
    td_msg_type type;
    td_cbs body; /* the parsed body (view); ignored by the builder */
    union {
        td_client_hello ch;
        td_server_hello sh;
        td_encrypted_extensions ee;
        td_certificate_request cr;
        td_certificate cert;
        td_certificate_verify cv;
        td_finished fin;
        td_new_session_ticket nst;
        td_key_update ku;
        td_message_hash mh;
    } u; /* EndOfEarlyData has no fields */
} td_msg;

/* How a ServerHello body is read. */
typedef enum td_sh_mode {
    TD_SH_AUTO, /* HRR iff random == td_hrr_random (§4.1.3) */
    TD_SH_FORCE_SH,
    TD_SH_FORCE_HRR,
} td_sh_mode;

typedef struct td_msg_ctx {
    size_t hash_len; /* Finished and message_hash length (Hash.length); required for those */
    td_sh_mode sh_mode;
} td_msg_ctx;

/* Parses a handshake message body (no 4-byte header) of |type| into |out|
 * (overwritten; holds views into |body|). |ctx| may be NULL (hash_len 0,
 * TD_SH_AUTO). Offsets in |diag| are relative to |body|. Unknown types and
 * the reserved ones: TD_ERR_UNEXPECTED, GEN-UNEXPECTED-ORDER. Finished or
 * message_hash without ctx->hash_len: TD_ERR_ARG. */
td_err td_msg_parse(uint8_t type, const uint8_t *body, size_t len, const td_msg_ctx *ctx,
                    td_msg *out, td_diag *diag) TD_WUR;

/* Parses one complete handshake message (msg_type, uint24 length, body) that
 * must fill |len| exactly. Offsets in |diag| are relative to |data|. */
td_err td_msg_parse_handshake(const uint8_t *data, size_t len, const td_msg_ctx *ctx, td_msg *out,
                              td_diag *diag) TD_WUR;

/* Splits the first handshake message off |in| without parsing the body:
 * TD_ERR_WANT_MORE if |in| holds less than a whole message (nothing consumed). */
td_err td_msg_next(td_cbs *in, uint8_t *out_type, td_cbs *out_body, td_cbs *out_whole) TD_WUR;

/* Writes the message body (no header). */
td_err td_msg_build_body(const td_msg *msg, td_cbb *out) TD_WUR;
/* Writes the whole handshake message: msg_type, uint24 length, body. */
td_err td_msg_build(const td_msg *msg, td_cbb *out) TD_WUR;

/* Builds the whole ClientHello handshake message |msg| into |out| and sets
 * |*out_prefix_len| to the length of its prefix the PSK binders are computed
 * over: everything before the binders list (§4.2.11.2 Truncate(ClientHello1)),
 * counted from the start of the bytes this call writes. The binders list
 * follows at that offset (uint16 length, then each binder with a uint8
 * length), so a caller may hash the prefix and then overwrite the binder
 * bytes in place (their lengths do not change). TD_ERR_ARG if |msg| is not a
 * ClientHello with a pre_shared_key extension. */
td_err td_msg_build_ch_truncated(const td_msg *msg, td_cbb *out, size_t *out_prefix_len) TD_WUR;

/* The length of the prefix of a parsed ClientHello that its PSK binders are
 * computed over (§4.2.11.2): the whole message up to, not including, the
 * PreSharedKeyExtension.binders list (its uint16 length is cut too). |ch| was
 * parsed by td_msg_parse_handshake from |raw|, the whole message with its
 * 4-byte header (|ch| views |raw|), so the parser has already checked that
 * pre_shared_key is well formed and last (PSK-NOT-LAST). TD_ERR_ARG if |ch|
 * is not a ClientHello parsed from |raw| or has no pre_shared_key. */
td_err td_msg_ch_binder_prefix_len(const td_msg *ch, const uint8_t *raw, size_t *out) TD_WUR;

/* Frees the heap blocks of |msg|'s lists (by its type) and leaves it an
 * empty message of that type. NULL is a no-op. */
void td_msg_cleanup(td_msg *msg);

/* Largest body a handshake message of |type| can have by its structure
 * (RFC 8446 §4: the sum of its vectors' upper bounds; Certificate: the
 * uint24 length); SIZE_MAX for a type that is not a TLS 1.3 message on the
 * wire. */
size_t td_msg_max_body(uint8_t type);

/* Resets |msg| to an empty message of |type| (for building from scratch):
 * zeroes everything, sets the extension block context, legacy_version 0x0303
 * and has_extensions for hellos, and for |is_hrr| the HRR random. */
void td_msg_init(td_msg *msg, td_msg_type type, bool is_hrr);

/* The extension block of a message and its typed data; NULL (and *out_data
 * NULL) for types without one. */
td_exts *td_msg_exts(td_msg *msg, td_ext_data **out_data);

/* Names: "client_hello", "key_share", ... Never NULL ("unknown"). */
const char *td_msg_type_name(unsigned type);
const char *td_ext_type_name(unsigned type);
const char *td_ext_ctx_name(td_ext_ctx ctx);

#endif
