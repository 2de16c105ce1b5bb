/* engine/client_internal.h -- shared by the two halves of the client state
 * machine: client_hello.c (ClientHello construction, ServerHello and
 * HelloRetryRequest processing, handshake keys) and client.c (the states
 * after ServerHello, the second flight, post-handshake messages). Not public. */
#ifndef TD_CLIENT_INTERNAL_H
#define TD_CLIENT_INTERNAL_H

#include "conn_internal.h"

/* Builds and sends ClientHello1 (|hrr| NULL) or ClientHello2 (|hrr| the
 * HelloRetryRequest being answered, §4.1.2), remembering what was offered
 * in c->ch. */
td_err td_client_send_hello(td_conn *c, const td_msg *hrr) TD_WUR;

/* True if the last ClientHello we sent carried an extension of |type|. */
bool td_client_offered_ext(const td_conn *c, uint16_t type);

#endif
