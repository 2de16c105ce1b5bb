/* engine/peers/observe.h -- what the peers observe of the SUT beyond our
 * side's status (observe.c): alerts read with the SUT's own key log (exec:
 * TD_KEYLOG, the in-process libssl's key log callback), and the SUT's
 * ClientHello as sent. */
#ifndef TD_PEER_OBSERVE_H
#define TD_PEER_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdrill/crypto.h"
#include "tlsdrill/pair.h"
#include "tlsdrill/scenario.h"

/* The first alert the SUT sent in direction |sut_dir| among the first
 * |limit| bytes of that direction (the bytes that came before our own
 * abort, so never a reaction to it), decrypted with the NSS key log text
 * |keylog| (the SUT's secrets; borrowed) over both streams as they crossed
 * (|c2s|, |s2c|). Sets out->ours.alert_received (level, desc) and
 * out->alert_from_sut_keylog when one is found and our side had read none.
 * Returns whether it did. Never fails: a key log or stream it cannot use
 * leaves |out| alone. */
bool td_peer_sut_alert(td_crypto *crypto, const char *keylog, size_t keylog_len, const uint8_t *c2s,
                       size_t c2s_len, const uint8_t *s2c, size_t s2c_len, td_dir sut_dir,
                       size_t limit, td_scn_outcome *out);

/* A client SUT's first ClientHello, from the client-to-server stream |c2s|
 * (plaintext handshake records): sets out->sut_hello_seen and
 * out->sut_psk_modes. Leaves |out| alone if it cannot be parsed. */
void td_peer_note_hello(const uint8_t *c2s, size_t len, td_scn_outcome *out);

/* The handshake messages our side (|ours|, with log_messages) received from
 * the SUT, in order, into out->received / out->received_hrr (every peer
 * fills them this way; at most sizeof(out->received)). */
void td_peer_note_received(td_conn *ours, td_scn_outcome *out);

#endif
