#!/usr/bin/env python3
"""tools/gen_expectations.py -- drafts scenarios/expectations/<peer>.txt from a run.

  tools/gen_expectations.py --peer PEER RUN.json [--keep OLD.txt] > scenarios/expectations/PEER.txt

RUN.json is `tlsdrill run scenarios/ --peer ... --json RUN.json`. Every case that did
not pass gets one line: CASE, the outcome seen (alert name, none, closed, timeout,
garbage, our-abort, unsupported; `tlsdrill run --expect` pins it), and a reason: the one
of --keep (the file as it was: reviewed reasons survive a regeneration), else this
file's table for the peer (by case name, name without [matrix], then rule), else an
UNREVIEWED marker for a human to explain before committing.
tools/matrix.py --update regenerates every peer's file (and MATRIX.md) at once."""
import argparse, functools, json, os, re, sys

OPENSSL = {
 'ku-trailing-data': 'real deviation (alert only): OpenSSL checks a handshake message\'s length against the largest it allows for the state before parsing it (its log: "read_state_machine:excessive message size", ssl/statem/statem.c: message_size > max_message_size -> SSLfatal(SSL_AD_ILLEGAL_PARAMETER, SSL_R_EXCESSIVE_MESSAGE_SIZE); KEY_UPDATE_MAX_LENGTH is 1), so a KeyUpdate with bytes after request_update gets illegal_parameter; RFC 8446 6: a message that cannot be parsed MUST be answered with decode_error',
 'client-ku-trailing-data': 'real deviation (alert only): OpenSSL checks a handshake message\'s length against the largest it allows for the state before parsing it (its log: "read_state_machine:excessive message size", ssl/statem/statem.c: message_size > max_message_size -> SSLfatal(SSL_AD_ILLEGAL_PARAMETER, SSL_R_EXCESSIVE_MESSAGE_SIZE); KEY_UPDATE_MAX_LENGTH is 1), so a KeyUpdate with bytes after request_update gets illegal_parameter; RFC 8446 6: a message that cannot be parsed MUST be answered with decode_error',
 'cv-sha1': 'unsupported: libssl 3.0 refuses ecdsa_sha1 in a TLS 1.3 signature_algorithms list, so the client cannot be configured to offer it',
 'CT-CONTEXT': 'real deviation: OpenSSL rejects a non-empty certificate_request_context in the handshake Certificate with decode_error (statem: SSL_R_INVALID_CONTEXT), RFC 8446 4.4.2 rule names illegal_parameter',
 'CR-CONTEXT-NONEMPTY': 'real deviation: OpenSSL accepts a non-empty certificate_request_context in the handshake CertificateRequest (RFC 8446 4.3.2: zero length) and answers with its own; our server then aborts on the mismatch',
 'EXT-UNSOLICITED': 'real deviation: OpenSSL ignores unknown extension types in ServerHello/EncryptedExtensions instead of unsupported_extension (RFC 8446 4.2)',
 'NST-LIFETIME': 'real deviation: OpenSSL accepts ticket_lifetime above 604800 s (RFC 8446 4.6.1 MUST NOT) and caps it locally',
 'ALPN-NOT-OFFERED': 'real deviation: OpenSSL sends decode_error (not illegal_parameter) for ALPN in EncryptedExtensions when it offered none',
 'HRR-EXT-UNSOLICITED': 'real deviation: OpenSSL ignores an unknown extension in the HelloRetryRequest (RFC 8446 4.1.4 MUST abort unsupported_extension)',
 'COOKIE-EMPTY': 'real deviation: OpenSSL ignores a zero-length cookie outside its stateless mode (RFC 8446 4.2.2 cookie<1..2^16-1>: decode_error)',
 'PSK-SH-KEYSHARE-REQUIRED': 'real deviation: OpenSSL answers a psk_dhe_ke ServerHello without key_share with missing_extension; the catalogue rule names illegal_parameter',
 'KS-PSK-KE-WITH-SHARE': 'unsupported: libssl always offers psk_dhe_ke, it cannot be made to offer psk_ke only',
 'TOL-RECORD-VERSION': 'real deviation: OpenSSL drops the connection without an alert when a record says legacy_record_version 0x0a0a (RFC 8446 5.1: MUST be ignored)',
 'TOL-CCS': 'real deviation: OpenSSL (middlebox compat off, as configured) rejects a change_cipher_spec before the ServerHello/HRR with unexpected_message (RFC 8446 5: MAY arrive any time after the first ClientHello)',
 'REC-BAD-MAC': 'real deviation: OpenSSL checks legacy_record_version of protected records and sends decode_error before AEAD decryption (RFC 8446 5.2: the header is AAD, failure is bad_record_mac)',
 'SV-SH-MISSING': 'real deviation: OpenSSL 3.0 accepts TLS 1.3 negotiated through ServerHello.legacy_version 0x0304 without supported_versions (RFC 8446 4.2.1)',
 'SH-LEGACY-VERSION': 'real deviation: OpenSSL ignores ServerHello.legacy_version when supported_versions selects TLS 1.3 (RFC 8446 4.1.3: MUST be 0x0303)',
 'EXT-WRONG-MESSAGE': 'real deviation: OpenSSL ignores an extension that is not allowed in ClientHello (RFC 8446 4.2: illegal_parameter)',
 'GEN-DECODE': 'real deviation: OpenSSL answers a malformed supported_versions with protocol_version instead of decode_error',
 'CH-COMPRESSION': 'real deviation: OpenSSL sends decode_error for a non-null compression method list (RFC 8446 4.1.2: illegal_parameter)',
 'SV-LEGACY-SSL3': 'real deviation: OpenSSL answers legacy_version 0x0300 without supported_versions with handshake_failure (RFC 8446 4.1.2/D.5: protocol_version)',
 'hrr-ok': 'unsupported: libssl sends a HelloRetryRequest only when no client key share is in its groups; with one group in common it cannot be forced',
 'cookie': 'unsupported: libssl sends an HRR cookie only from SSL_stateless() (DTLS-style), not in an ordinary handshake',
 'CH2-NOT-CONFORMANT': 'real deviation: OpenSSL does not compare the second ClientHello with the first beyond the key share (RFC 8446 4.1.2: illegal_parameter)',
 'ch2-session-id-changed': 'real deviation: OpenSSL does not check that the second ClientHello keeps legacy_session_id; it echoes the new one and our client aborts (RFC 8446 4.1.2)',
 'ch2-supported-versions-removed': 'real deviation: OpenSSL answers a second ClientHello without supported_versions with protocol_version (RFC 8446 4.1.2: illegal_parameter)',
 'COOKIE-CH2-MISMATCH': 'real deviation: OpenSSL (no cookie sent) does not check the second ClientHello against the first',
 'KS-DUPLICATE-GROUP': 'real deviation: OpenSSL 3.0 accepts two key shares for the same group (RFC 8446 4.2.8: illegal_parameter)',
 'PSK-BINDER-INVALID': 'real deviation: OpenSSL sends illegal_parameter for a binder that does not verify (tls_psk_do_binder), RFC 8446 4.2.11 names decrypt_error',
 'psk-binder-length': 'real deviation: OpenSSL sends decode_error for a binder of the wrong length (RFC 8446 4.2.11: decrypt_error/illegal_parameter)',
 # Binder lists that do not fit the identities (PSK-BINDER-COUNT, sender-only): OpenSSL
 # reads binders only up to the identity it selects (advisory). When the selected ticket
 # has no binder, it refuses (psk-binder-missing-for-ticket).
 'ee-alpn-two-protocols': 'deviation in the alert only: OpenSSL refuses an ALPN extension that names two protocols in EncryptedExtensions with decode_error; the list parses, and RFC 7301 3.1 ("MUST contain exactly one") binds the server that sent it (ALPN-NOT-OFFERED, sender-only; illegal_parameter is the alert that fits)',
 'psk-binder-missing-for-ticket': 'deviation in the alert only: OpenSSL looks for the binder of the identity it selects (the ticket, identity 1), finds that the list ends before it and answers decode_error (its error: bad extension); it refuses, as RFC 8446 4.2.11 requires ("If this value is not present or does not validate, the server MUST abort the handshake"), and the rule names no alert (decrypt_error or illegal_parameter expected): the alert is the SHOULD',
 'REC-CCS-BAD-VALUE': 'real deviation: OpenSSL sends illegal_parameter for a change_cipher_spec body other than 0x01 (RFC 8446 5: unexpected_message)',
 # Cases added with the suites of issue 4 (reviewed one by one against OpenSSL 3.0 runs).
 'ct-server-cert-md5': 'real deviation: OpenSSL refuses the MD5-signed server certificate (X.509 verification) but answers unsupported_certificate; RFC 8446 4.4.2.4 names bad_certificate',
 'ct-server-cert-sha1': 'real deviation: OpenSSL refuses the SHA-1-signed server certificate (security level) but answers unsupported_certificate; RFC 8446 4.4.2.4 names bad_certificate',
 'ee-record-size-limit-too-small': 'peer limitation: OpenSSL 3.0 does not implement record_size_limit (RFC 8449) and ignores it in EncryptedExtensions as an unknown, unsolicited extension',
 'ch-malformed-record-size-limit': 'peer limitation: OpenSSL 3.0 does not implement record_size_limit (RFC 8449): it skips the extension as unknown without parsing it',
 'ch-out-of-range': 'peer limitation: OpenSSL 3.0 does not implement record_size_limit (RFC 8449): it skips the extension as unknown, so a value below 64 is not refused',
 'ee-max-fragment-length-bad': 'defensible: OpenSSL did not offer max_fragment_length and refuses the extension in EncryptedExtensions as unsolicited (unsupported_extension, EXT-UNSOLICITED) before its value is looked at',
 'hrr-no-supported-versions': 'real deviation: OpenSSL 3.0 accepts a HelloRetryRequest without supported_versions and goes on (RFC 8446 4.1.4: an HRR negotiating TLS 1.3 carries supported_versions; missing_extension)',
 'alert-client-unknown-description': 'real deviation: the OpenSSL client ignores a warning-level alert with an unknown description during the handshake (RFC 8446 6: MUST be treated as an error alert)',
 'alert-client-warning-level-error': 'real deviation: the OpenSSL client ignores warning-level handshake_failure / illegal_parameter / internal_error before the ServerHello (RFC 8446 6: every 6.2 alert is fatal whatever the level byte says)',
 'rec-client-inner-padding-overflow': 'real deviation: the OpenSSL client accepts a TLSInnerPlaintext longer than 2^14+1 bytes when its content is within 2^14 (RFC 8446 5.4; record_overflow fits)',
 'rec-inner-padding-overflow': 'real deviation: the OpenSSL server does not bound the whole TLSInnerPlaintext (RFC 8446 5.4); it parses the 2^14 zero bytes as handshake data and answers unexpected_message',
 'rec-client-version-below-ssl3': 'SHOULD-level (Appendix D.5): OpenSSL drops a record whose version is below 0x0300 without an alert (passes with --lenient)',
 'rec-version-below-ssl3': 'SHOULD-level (Appendix D.5): OpenSSL drops a record whose version is below 0x0300 without an alert (passes with --lenient)',
 'sh-downgrade-sentinel': 'peer configuration: the libssl client is TLS 1.3-only (min_proto_version), so it refuses the TLS 1.2 ServerHello with protocol_version before it looks at the downgrade sentinel',
 'sh-tls12-after-0rtt': 'deviation in the alert only: the libssl client refuses our TLS 1.2 ServerHello after its 0-RTT data (its error: unsupported protocol, RFC 8446 D.3: "fail the connection"), but the record it sends is of content type alert and not one two-byte Alert (RFC 8446 5.1/6), so the alert cannot be named; graded as a refusal without a readable alert',
 'sh-0rtt-identity-not-first': 'tester limitation: OpenSSL sends its alert in plaintext while our server reads 0-RTT-protected records; our side aborts on the plaintext alert before reading it',
 'server-client-entry-ext-unsolicited': 'real deviation: the OpenSSL server accepts signed_certificate_timestamp in the client CertificateEntry although its CertificateRequest did not ask for it (RFC 8446 4.4.2: unsupported_extension)',
 'server-client-cv-sha1': 'unsupported: libssl 3.0 refuses SHA-1 schemes in a TLS 1.3 signature_algorithms list, so the server cannot be configured to offer them',
 'ch-malformed-server-name': 'real deviation: OpenSSL accepts a server_name entry with an empty HostName (RFC 6066 3: HostName<1..2^16-1>, decode_error)',
 'ch-malformed-cookie': 'real deviation: outside its stateless mode OpenSSL skips a ClientHello cookie without parsing it (RFC 8446 4.2.2 cookie<1..2^16-1>; 6: decode_error)',
 'ch-malformed-pre-shared-key': 'real deviation: OpenSSL ignores a pre_shared_key with an empty identities list or without a binders list and completes a full handshake (RFC 8446 4.2.11: identities<7..>, binders<33..>; decode_error)',
 'ch-fallback-scsv': 'real deviation: OpenSSL (TLS 1.3 only, as configured) checks the version before TLS_FALLBACK_SCSV and answers protocol_version (RFC 7507 3: inappropriate_fallback when its highest version is above the client\'s)',
 'ch-fallback-scsv-legacy': 'real deviation: OpenSSL (TLS 1.3 only, as configured) checks the version before TLS_FALLBACK_SCSV and answers protocol_version (RFC 7507 3: inappropriate_fallback when its highest version is above the client\'s)',
 'psk-sha384-binder-length': 'real deviation: OpenSSL sends decode_error for a binder of the wrong length (RFC 8446 4.2.11: decrypt_error/illegal_parameter)',
 'ed-bad-mac': 'real deviation: OpenSSL checks legacy_record_version of a 0-RTT record and sends decode_error before AEAD decryption (RFC 8446 5.2 / 4.2.10: the header is AAD, failure is bad_record_mac)',
 'psk-unknown-identity-no-fallback': 'real deviation: with no usable PSK OpenSSL answers missing_extension (for the absent key_share / supported_groups) where the PSK rule names unknown_psk_identity or decrypt_error (RFC 8446 4.2.11, 6.2)',
 'rec-hs-interleaved': 'real deviation: the OpenSSL server accepts a change_cipher_spec record between two fragments of the second ClientHello (RFC 8446 5.1: handshake messages MUST NOT be interleaved with other record types)',
 'ext-psk-client-resumed': 'peer limitation: the openssl peer adapter does not give a libssl client an external PSK (it offers only its own tickets), so the handshake is a full one',
 'external-psk-used': 'unsupported: the openssl peer adapter does not configure external PSKs on a libssl server',
 'ext-psk-age-ignored': 'unsupported: the openssl peer adapter does not configure external PSKs on a libssl server',
 'ext-psk-binder-flipped': 'unsupported: the openssl peer adapter does not configure external PSKs on a libssl server',
 'ext-psk-wrong-key': 'unsupported: the openssl peer adapter does not configure external PSKs on a libssl server',
 'ext-psk-unknown-identity': 'unsupported: the openssl peer adapter does not configure external PSKs on a libssl server',
}

# In process the openssl server sends cookies from SSL_stateless() (stateless mode).
OPENSSL_STATELESS = {
 'hrr-ok-cookie-compat': 'unsupported: libssl sends HRR cookies only from SSL_stateless(), which keeps nothing of the connection after its HRR, so the client\'s middlebox-compatibility change_cipher_spec is, to it, a record before any ClientHello (RFC 8446 5: a stateless server may not tell that from an allowed one); not a case of libssl\'s ordinary server',
 'ch2-cookie-missing': 'stateless mode: libssl (SSL_stateless) takes a second ClientHello without the cookie for a new first one and sends another HRR; our client aborts on the second HRR (RFC 8446 4.1.4)',
 'ch2-cookie-changed': 'real deviation: libssl answers a cookie that does not verify with decode_error (RFC 8446 4.1.2 / 4.2.2: illegal_parameter)',
}

# s_server / s_client over TCP run the same libssl: the in-process reasons hold, plus
# what the command-line tools cannot be configured for.
OPENSSL_TCP = dict(OPENSSL)
OPENSSL_TCP.update({
 'SNI-REQUIRED-MISSING': 'cannot be configured: s_server (-servername -servername_fatal) refuses another name but cannot require server_name; it completes the handshake without one',
})
OPENSSL.update(OPENSSL_STATELESS)
OPENSSL_TCP.update(OPENSSL_STATELESS)

GNUTLS_HRR_NO_CERT = 'real deviation (one root cause: HRR resumption that ends without a PSK): after a HelloRetryRequest in a resumption attempt whose second ClientHello leaves the server no PSK to select (the PSK dropped, its ticket age changed, or psk_key_exchange_modes dropped), GnuTLS sends EncryptedExtensions and Finished without Certificate and CertificateVerify, and our client aborts (CT-SERVER-MISSING); RFC 8446 4.4.2: "The server MUST send a Certificate message whenever the agreed-upon key exchange method uses certificates for authentication"'

GNUTLS_POST_CLOSE = ('deviation in the alert only: gnutls-cli refuses the message our server sent after the handshake '
                     '(its log: "An unexpected TLS packet was received", "An illegal parameter has been received" or '
                     '"Invalid TLS extensions length field") and closes the connection at once without an alert; '
                     'RFC 8446 6.2: "Whenever an implementation encounters a fatal error condition, it SHOULD send an '
                     'appropriate fatal alert and MUST close the connection"; it closes, the alert is the SHOULD')
GNUTLS_KEY_CHANGE_STALL = ('real deviation: gnutls-serv does not check that the ClientHello ends at a record boundary '
                           'before it switches to handshake keys: the bytes after it stay buffered as the start of an '
                           'encrypted message, it waits for the rest, never confirms our Finished (stalled) and only '
                           'answers our close_notify, with bad_record_mac (its log: "Decryption has failed"); RFC 8446 '
                           '5.1: "Implementations MUST verify that all messages immediately preceding a key change '
                           'align with a record boundary; if not, then they MUST terminate the connection with an '
                           '"unexpected_message" alert"')

GNUTLS = {
 # gnutls-serv's certificate callback (src/serv.c) sends access_denied, then the library's
 # error path sends bad_certificate: two fatal alerts (the in-process gnutls-lib sends one).
 'server-sees-client-cert-sha1': "real deviation: gnutls-serv refuses a SHA-1-signed client certificate with two fatal alerts, access_denied (its certificate callback) and then bad_certificate; refusing is allowed (CT-SHA1 is a SHOULD), the second alert is not; RFC 8446 6.2: \"Upon transmission or receipt of a fatal alert message, both parties MUST immediately close the connection. Whenever an implementation encounters a fatal error condition, it SHOULD send an appropriate fatal alert and MUST close the connection without sending or receiving any additional data.\"",
 'server-sees-untrusted-client-chain': "real deviation: gnutls-serv (--verify-client-cert) refuses an unacceptable client chain with two fatal alerts, access_denied (its certificate callback) and then bad_certificate; refusing is allowed (CT-CLIENT-CHAIN-UNACCEPTABLE, a MAY), the second alert is not; RFC 8446 6.2: \"Upon transmission or receipt of a fatal alert message, both parties MUST immediately close the connection. Whenever an implementation encounters a fatal error condition, it SHOULD send an appropriate fatal alert and MUST close the connection without sending or receiving any additional data.\"",
 'server-sees-client-cert-md5': "real deviation: gnutls-serv refuses an MD5-signed client certificate with access_denied (its certificate callback) and then bad_certificate: RFC 8446 4.4.2.4 names bad_certificate, and the second fatal alert breaks 6.2 as well; RFC 8446 6.2: \"Upon transmission or receipt of a fatal alert message, both parties MUST immediately close the connection. Whenever an implementation encounters a fatal error condition, it SHOULD send an appropriate fatal alert and MUST close the connection without sending or receiving any additional data.\"",
 'ext-psk-age-ignored': 'real deviation: gnutls-serv looks an external PSK up only when its obfuscated_ticket_age is 0 (lib/ext/pre_shared_key.c); with any other age it drops the PSK and completes a full handshake with its certificate; RFC 8446 4.2.11: "For identities established externally, an obfuscated_ticket_age of 0 SHOULD be used, and servers MUST ignore the value."',
 # The same randomness as in process (GNUTLS_LIB below): gnutls-serv's random
 # ticket_age_add decides whether the edited age is in its window (a CI run saw it change).
 '@unpinned': {'psk-binder-stale-after-age-edit': 'library randomness (as gnutls-lib.txt): gnutls-serv deobfuscates the edited age with its random ticket_age_add (obfuscated_ticket_age - ticket_age_add, mod 2^32) and skips a ticket whose age is past its lifetime (21600 s: about 1 run in 200 lands inside, as in ch2-ticket-age-updated); out of its window it declines the PSK and completes a full handshake (n/a: premise psk-accepted, no binder check was due), inside it refuses the stale binder with illegal_parameter (RFC 8446 4.2.11 names decrypt_error): either outcome, run to run (a CI run saw the pinned "none" change)',
               'ch2-ticket-age-updated': 'library randomness (as gnutls-lib.txt): gnutls-serv deobfuscates the updated age with its random ticket_age_add (obfuscated_ticket_age - ticket_age_add, mod 2^32) and skips a ticket whose age is past its lifetime (21600 s: about 1 run in 200 lands inside); inside it resumes (pass), out of it it declines the PSK and, after its HelloRetryRequest, sends EncryptedExtensions and Finished without a Certificate (our abort CT-SERVER-MISSING, RFC 8446 4.4.2: "The server MUST send a Certificate message whenever the agreed-upon key exchange method uses certificates for authentication", as in ch2-psk-dropped): either outcome, run to run'},
 'sh-tls12-after-0rtt': 'deviation in the alert only: gnutls-cli refuses our TLS 1.2 ServerHello after its 0-RTT data (its log: "A packet with illegal or unsupported version was received"; RFC 8446 D.3: "fail the connection"), but the record it sends is a 19-byte record of content type alert, not one two-byte Alert (RFC 8446 5.1/6), so the alert cannot be named; graded as a refusal without a readable alert',
 'nst-trailing-data': GNUTLS_POST_CLOSE, 'order-client-eoed-post-handshake': GNUTLS_POST_CLOSE,
 'order-client-post-handshake': GNUTLS_POST_CLOSE, 'order-client-pha-without-ext': GNUTLS_POST_CLOSE,
 'ku-bad-request-client': GNUTLS_POST_CLOSE, 'rec-client-ccs-after-finished': GNUTLS_POST_CLOSE,
 'rec-key-change-align[14]': GNUTLS_KEY_CHANGE_STALL, 'rec-key-change-align[1400]': GNUTLS_KEY_CHANGE_STALL,
 'psk-resumed[ke]': 'cannot be configured: gnutls-serv issues no ticket to a client that offers psk_ke only (GnuTLS resumes with psk_dhe_ke), so there is nothing to resume',
 'hrr-client-ok[secp256r1]': "real deviation: the gnutls-cli already sent a secp256r1 share, so our HelloRetryRequest (server hrr always) carries only a cookie and supported_versions; the cookie changes the ClientHello, so RFC 8446 4.1.4 does not call for an abort, yet GnuTLS refuses it with illegal_parameter (hrr-cookie-echoed, an HRR with a key_share and a cookie, passes); RFC 8446 4.1.2: \"The client will also send a ClientHello when the server has responded to its ClientHello with a HelloRetryRequest. In that case, the client MUST send the same ClientHello without modification, except as follows\"",
 'ku-requested-client': 'peer limitation: GnuTLS answers update_requested only when it next writes; gnutls-cli has nothing to send, no KeyUpdate seen',
 'ku-requested-server': 'peer limitation: GnuTLS answers update_requested only when it next writes; no KeyUpdate seen in this exchange',
 'hrr-ok': 'unsupported: gnutls-serv sends a HelloRetryRequest only when no client key share is in its groups; with one group in common it cannot be forced',
 'cookie': 'unsupported: a GnuTLS TLS server sends no HRR cookie',
 'ALPN-NOT-OFFERED': 'real deviation: GnuTLS accepts ALPN in EncryptedExtensions when it offered none (RFC 8446 4.2 / RFC 7301 3.2)',
 'CH-COMPRESSION': 'real deviation: GnuTLS accepts a TLS 1.3 ClientHello whose compression list is not exactly [null] (RFC 8446 4.1.2: illegal_parameter)',
 'CH-MANDATORY-EXT': 'real deviation: GnuTLS answers a ClientHello without supported_groups with handshake_failure (RFC 8446 9.2: missing_extension)',
 'CH2-EARLY-DATA': 'real deviation: GnuTLS accepts early_data in the second ClientHello after an HRR (RFC 8446 4.2.10: illegal_parameter)',
 'ch2-wrong-share-knob': 'real deviation: GnuTLS answers a second ClientHello whose share is not for the HRR group with handshake_failure (RFC 8446 4.2.8: illegal_parameter)',
 'ch2-no-share': 'real deviation: GnuTLS answers a second ClientHello without the requested share with handshake_failure (RFC 8446 4.2.8: illegal_parameter)',
 'ch2-two-shares': 'real deviation: GnuTLS accepts a second ClientHello with more key shares than the one the HRR asked for (RFC 8446 4.2.8)',
 'ch2-supported-versions-removed': 'real deviation: GnuTLS answers a second ClientHello without supported_versions with handshake_failure (RFC 8446 4.1.2: illegal_parameter)',
 'CH2-NOT-CONFORMANT': 'real deviation: GnuTLS does not check that the second ClientHello matches the first beyond the key share (RFC 8446 4.1.2: illegal_parameter)',
 'ch2-psk-dropped': GNUTLS_HRR_NO_CERT,
 'ch2-psk-modes-dropped': GNUTLS_HRR_NO_CERT,
 'ch2-suites-changed-knob': 'real deviation: GnuTLS selects a suite our second ClientHello no longer offers (kept from the first); our client aborts',
 'ch2-session-id-changed': 'real deviation: GnuTLS echoes the first ClientHello\'s legacy_session_id instead of checking the second kept it (RFC 8446 4.1.2); our client aborts',
 'COOKIE-CH2-MISMATCH': 'real deviation: GnuTLS accepts a cookie in the second ClientHello that its HRR never sent (RFC 8446 4.1.2)',
 'ch-cookie-empty': 'real deviation: GnuTLS ignores an empty cookie extension in a ClientHello (cookie<1..2^16-1>: decode_error)',
 'hrr-cookie-empty': 'real deviation: GnuTLS accepts an HRR with an empty cookie and echoes it (cookie<1..2^16-1>: decode_error); our server aborts on the echo',
 'CT-CLIENT-CHAIN-UNACCEPTABLE': 'real deviation: gnutls-serv (--verify-client-cert) refuses an unacceptable client chain with access_denied (RFC 8446 6.2: bad_certificate / unknown_ca)',
 'CT-MD5': 'real deviation: gnutls-serv refuses an MD5-signed client certificate with access_denied (RFC 8446 4.4.2.4: bad_certificate)',
 'CT-SHA1': 'real deviation: gnutls-serv refuses a SHA-1-signed client certificate with access_denied (RFC 8446 4.4.2.4: bad_certificate)',
 'CV-BAD-SIGNATURE': 'real deviation: GnuTLS answers a CertificateVerify whose signature is garbage with illegal_parameter (RFC 8446 4.4.3: decrypt_error)',
 'EXT-DUPLICATE': 'real deviation: GnuTLS answers a duplicated extension with unsupported_extension (RFC 8446 4.2: illegal_parameter)',
 'EXT-UNSOLICITED': 'real deviation: GnuTLS ignores unknown extension types in ServerHello/EncryptedExtensions (RFC 8446 4.2: unsupported_extension)',
 'EXT-WRONG-MESSAGE': 'real deviation: GnuTLS ignores an extension that is not allowed in ClientHello (RFC 8446 4.2: illegal_parameter)',
 'ch-groups-empty': 'real deviation: GnuTLS answers an empty supported_groups list with handshake_failure (RFC 8446 4.2.7: decode_error)',
 'psk-binders-none': 'real deviation: GnuTLS answers an empty binder list with illegal_parameter (RFC 8446 4.2.11 binders<33..2^16-1>: decode_error)',
 'psk-binder-truncated': 'real deviation: GnuTLS answers a truncated binder with illegal_parameter (RFC 8446 4.2.11: decode_error)',
 'ch-versions-empty': 'real deviation: GnuTLS answers an empty supported_versions list with protocol_version (RFC 8446 4.2.1: decode_error)',
 'ee-alpn-two-protocols': 'real deviation: GnuTLS accepts an ALPN extension naming two protocols in EncryptedExtensions (RFC 7301 3.1: exactly one)',
 'cr-no-extensions': 'real deviation: GnuTLS answers a CertificateRequest without extensions with unsupported_extension (RFC 8446 4.3.2: missing_extension)',
 'HRR-EXT-UNSOLICITED': 'real deviation: GnuTLS ignores an unknown extension in the HelloRetryRequest (RFC 8446 4.1.4: unsupported_extension)',
 'HRR-SESSION-ID': 'real deviation: GnuTLS does not check legacy_session_id_echo of the HelloRetryRequest (RFC 8446 4.1.4)',
 'KS-BAD-LENGTH': 'real deviation: GnuTLS completes the handshake although a key_share entry has the wrong length / encoding (RFC 8446 4.2.8.2)',
 'KS-DUPLICATE-GROUP': 'real deviation: GnuTLS accepts two key shares for the same group (RFC 8446 4.2.8: illegal_parameter)',
 'KS-EC-INVALID-POINT': 'real deviation: GnuTLS completes the handshake although a P-256 key share is not on the curve (it does not select that share; RFC 8446 4.2.8.2 checks every share it validates)',
 'KS-GROUP-NOT-IN-SUPPORTED': 'real deviation: GnuTLS accepts a key share for a group not in supported_groups (RFC 8446 4.2.8: illegal_parameter)',
 'KS-HRR-GROUP-ALREADY-SENT': 'real deviation: GnuTLS accepts an HRR asking for a group it already sent a share for (RFC 8446 4.2.8: illegal_parameter)',
 'KS-HRR-GROUP-NOT-SUPPORTED': 'real deviation: GnuTLS answers an HRR for a group it did not offer with handshake_failure (RFC 8446 4.2.8: illegal_parameter)',
 'KS-PSK-KE-WITH-SHARE': 'unsupported: gnutls-cli cannot be made to offer psk_ke only',
 'KU-BAD-REQUEST': 'real deviation: GnuTLS accepts a KeyUpdate whose request_update is neither 0 nor 1 (RFC 8446 4.6.3: illegal_parameter)',
 'NST-LIFETIME': 'real deviation: GnuTLS accepts ticket_lifetime above 604800 s (RFC 8446 4.6.1 MUST NOT)',
 'PSK-BINDER-INVALID': 'real deviation: GnuTLS answers a binder that does not verify with illegal_parameter (RFC 8446 4.2.11: decrypt_error)',
 'PSK-SH-HASH-MISMATCH': 'deviation: GnuTLS answers our bad ServerHello with a protected record our side cannot authenticate (keys from another PSK choice), so its alert cannot be read (RFC 8446 4.2.11: illegal_parameter)',
 'PSK-SH-IDENTITY-RANGE': 'deviation: GnuTLS answers a selected_identity out of range with a protected record our side cannot authenticate, so its alert cannot be read (RFC 8446 4.2.11: illegal_parameter)',
 'PSK-SH-KEYSHARE-REQUIRED': 'deviation: GnuTLS answers a psk_dhe_ke ServerHello without key_share with a protected record our side cannot authenticate, so its alert cannot be read',
 'PSKM-MISSING': 'real deviation: GnuTLS answers pre_shared_key without psk_key_exchange_modes with unsupported_extension (RFC 8446 4.2.9: missing_extension)',
 'REC-BAD-MAC': 'real deviation: GnuTLS checks legacy_record_version of protected records and sends protocol_version before AEAD decryption (RFC 8446 5.2: bad_record_mac)',
 'REC-CCS-OUT-OF-WINDOW': 'real deviation: GnuTLS accepts a change_cipher_spec before the first ClientHello (RFC 8446 5: unexpected_message)',
 'REC-UNKNOWN-TYPE': 'real deviation: GnuTLS answers a record of unknown content type 0xff with record_overflow (RFC 8446 5: unexpected_message)',
 'SH-CIPHER-NOT-OFFERED': 'real deviation: GnuTLS answers a ServerHello suite it did not offer with handshake_failure (RFC 8446 4.1.3: illegal_parameter)',
 'SH-LEGACY-VERSION': 'real deviation: GnuTLS answers a ServerHello.legacy_version other than 0x0303 with protocol_version (RFC 8446 4.1.3: illegal_parameter)',
 'SH-SESSION-ID': 'real deviation: GnuTLS does not check ServerHello.legacy_session_id_echo (RFC 8446 4.1.3: illegal_parameter)',
 'SIGALG-MISSING-CH': 'real deviation: GnuTLS answers a ClientHello without signature_algorithms with handshake_failure (RFC 8446 9.2: missing_extension)',
 'SIGALG-MISSING-CR': 'real deviation: GnuTLS answers a CertificateRequest without signature_algorithms with unsupported_extension (RFC 8446 4.3.2: missing_extension)',
 'SNI-REQUIRED-MISSING': 'cannot be configured: gnutls-serv (--sni-hostname-fatal) refuses another name but cannot require server_name; it completes the handshake without one',
 'SV-ABSENT-TOO-OLD': 'real deviation: GnuTLS (TLS 1.3 only) answers a ClientHello without supported_versions with handshake_failure (RFC 8446 4.2.1/D.5: protocol_version)',
 'SV-HRR-INVALID': 'real deviation: GnuTLS answers an HRR selecting an unknown version with protocol_version (RFC 8446 4.2.1: illegal_parameter)',
 'SV-SH-INVALID': 'real deviation: GnuTLS answers a ServerHello selecting an unknown or non-offered version with protocol_version (RFC 8446 4.2.1: illegal_parameter)',
 'SV-SH-MISSING': 'real deviation: GnuTLS (TLS 1.3 only) answers a ServerHello without supported_versions with protocol_version (catalogue: missing_extension)',
 'TOL-CCS': 'real deviation: GnuTLS rejects a change_cipher_spec before the ServerHello/HRR with unexpected_message (RFC 8446 5: MAY arrive any time after the first ClientHello)',
 'TOL-CH-LEGACY-VERSION': 'real deviation: GnuTLS rejects ClientHello.legacy_version 0x0301/0x0302 with protocol_version although supported_versions offers TLS 1.3 (RFC 8446 4.2.1: use only supported_versions)',
 'ed-rejected-by-hrr': 'real deviation: GnuTLS answers a 0-RTT ClientHello with an HRR and then tries to decrypt the early data instead of skipping it: bad_record_mac (RFC 8446 4.2.10)',
 'ed-client-rejected-by-hrr': 'deviation: gnutls-cli with 0-RTT data answers our HRR with a second ClientHello protected under the 0-RTT keys (an application_data record), which our server skips as rejected early data, so the case times out (RFC 8446 4.1.2: "Early data is not permitted after a HelloRetryRequest."; 4.2.10: after an HRR the server looks "for a cleartext ClientHello")',
 'TOL-RECORD-VERSION': 'real deviation: GnuTLS rejects records whose legacy_record_version is 0x0a0a with protocol_version (RFC 8446 5.1: MUST be ignored)',
 'TOL-UNKNOWN-PSK': 'real deviation: GnuTLS aborts with handshake_failure on a PSK whose hash is not that of the selected suite instead of ignoring it (RFC 8446 4.2.11)',
}

# Go 1.19's crypto/tls through tools/peers/go.sh (issue 13). One text per root cause,
# so MATRIX.md groups the cases under it; each cites the RFC 8446 sentence and the
# crypto/tls source (Debian: /usr/lib/go-1.19/src/crypto/tls/) it comes from.

GO_PARSE = ('real deviation (alert only): crypto/tls answers every handshake message its unmarshal rejects with '
            'unexpected_message (conn.go, (*Conn).readHandshake: "if !m.unmarshal(data) { ... '
            'c.sendAlert(alertUnexpectedMessage)"); its unmarshal functions (handshake_messages.go) reject bad '
            'lengths and trailing bytes, empty lists, duplicate extensions, pre_shared_key not last, a non-empty '
            'certificate_request_context and request_update other than 0/1; RFC 8446 6: "Peers which receive a '
            'message which cannot be parsed according to the syntax ... MUST terminate the connection with a '
            'decode_error alert", and the rule\'s own alert for a message that parses but is invalid')
GO_CLOSE_AFTER_FATAL = ('real deviation: after a fatal alert on an established connection crypto/tls still sends '
                        'close_notify when the application closes it (conn.go, (*Conn).Close -> closeNotify: sent '
                        'whenever the handshake had completed, whatever alert went before); the shim closes as any '
                        'Go program does (defer conn.Close()); RFC 8446 6.2: "Upon transmission or receipt of a fatal '
                        'alert message, both parties MUST immediately close the connection"')
GO_CLOSE_AFTER_FATAL_PINNED = (GO_CLOSE_AFTER_FATAL + '; the close_notify follows the alert at once and our side '
                               'reads it within the observation window after the alert (tlsdrill run --linger), so '
                               'the case fails the same way in every run')
GO_CLIENT_EXT = ('real deviation: the crypto/tls client skips every ServerHello, HelloRetryRequest and '
                 'EncryptedExtensions extension it does not parse itself, and never checks that it offered, or may '
                 'receive there, the others (handshake_messages.go, serverHelloMsg.unmarshal / '
                 'encryptedExtensionsMsg.unmarshal: "Ignore unknown extensions"); RFC 8446 4.2: "Upon receiving such '
                 'an extension, an endpoint MUST abort the handshake with an unsupported_extension alert" and "If an '
                 'implementation receives an extension which it recognizes and which is not specified for the '
                 'message in which it appears, it MUST abort the handshake with an illegal_parameter alert"')
GO_NOT_IMPL = ('peer limitation (premise does not hold): crypto/tls implements neither record_size_limit (RFC 8449) '
               'nor max_fragment_length (RFC 6066) nor oid_filters and skips them as unknown without looking at their '
               'bodies (handshake_messages.go, clientHelloMsg.unmarshal / encryptedExtensionsMsg.unmarshal: "Ignore '
               'unknown extensions"); RFC 8446 4.2 binds an endpoint only for extensions "which it recognizes"; the '
               'client also does not refuse them as unsolicited (the EXT-UNSOLICITED deviation)')
GO_ENTRY_SOLICITED = ('premise does not hold: crypto/tls asks for both CertificateEntry extensions: its ClientHello '
                      'offers status_request and signed_certificate_timestamp (handshake_client.go, makeClientHello: '
                      'ocspStapling, scts) and its CertificateRequest requests them (handshake_server_tls13.go, '
                      'sendServerCertificate: certReq.ocspStapling = true, certReq.scts = true); RFC 8446 4.4.2: '
                      '"Extensions in the Certificate message from the server MUST correspond to ones from the '
                      'ClientHello message" (from the client: to the CertificateRequest), which they do')
GO_CR_SIGALGS = ('real deviation: the crypto/tls client accepts a CertificateRequest without signature_algorithms, '
                 'even with an empty extensions block (handshake_messages.go, certificateRequestMsgTLS13.unmarshal '
                 'requires neither), and answers with an empty Certificate; RFC 8446 4.3.2: "The '
                 'signature_algorithms extension MUST be specified", extensions<2..2^16-1>')
GO_WARNING_ALERT = ('real deviation: before the version is negotiated crypto/tls takes an alert of level warning '
                    'for a TLS 1.2 warning and drops it (conn.go, (*Conn).readRecordOrCCS, case recordTypeAlert: '
                    '"Drop the record on the floor and retry", reached while c.vers is not yet TLS 1.3); RFC 8446 6: '
                    'the 6.2 alerts "MUST be treated as error alerts when received regardless of the AlertLevel in '
                    'the message. Unknown Alert types MUST be treated as error alerts"')
GO_FIRST_RECORD = ('real deviation: until the version is negotiated (the client: until it has processed the '
                   'ServerHello) crypto/tls accepts only handshake and alert records and drops the connection '
                   'without an alert on any other (conn.go, (*Conn).readRecordOrCCS: "first record does not look '
                   'like a TLS handshake", checked while !c.haveVers); RFC 8446 5: an unencrypted change_cipher_spec '
                   '0x01 received "any time after the first ClientHello message has been sent or received ... MUST '
                   'simply drop it", any other value, a record type not expected there and a change_cipher_spec '
                   'before the first ClientHello are unexpected_message')
GO_CCS_ANY_TIME = ('real deviation: once TLS 1.3 is negotiated crypto/tls drops every change_cipher_spec whose body '
                   'is 0x01, protected or not, at any point of the connection (conn.go, (*Conn).readRecordOrCCS, '
                   'case recordTypeChangeCipherSpec: "if c.vers == VersionTLS13 { return c.retryReadRecord(...) }"); '
                   'RFC 8446 5: "An implementation which receives ... a protected change_cipher_spec record MUST '
                   'abort the handshake with an unexpected_message alert. If an implementation detects a '
                   'change_cipher_spec record received ... after the peer\'s Finished message, it MUST be treated as '
                   'an unexpected record type"')
GO_CCS_VALUE = ('real deviation (alert only): crypto/tls answers a change_cipher_spec whose body is not the single '
                'byte 0x01 with decode_error, protected or not (conn.go, (*Conn).readRecordOrCCS: "if len(data) != 1 '
                '|| data[0] != 1 { ... alertDecodeError"); RFC 8446 5: "An implementation which receives any other '
                'change_cipher_spec value or which receives a protected change_cipher_spec record MUST abort the '
                'handshake with an unexpected_message alert"')
GO_KEY_CHANGE = ('real deviation: crypto/tls does not check that the ClientHello ends at a record boundary before it '
                 'switches to handshake keys: the leftover bytes stay in its handshake buffer and start the next, '
                 'encrypted, message (conn.go, (*Conn).readHandshake on c.hand; no check in handshake_server_tls13.go); '
                 'it then answers internal_error (a length above maxHandshake), decrypt_error (a Finished made of '
                 'the wrong bytes) or waits for a 5120-byte message (stalled: it never confirms our Finished and only answers our close_notify, with bad_record_mac); RFC 8446 5.1: '
                 '"Implementations MUST verify that all messages immediately preceding a key change align with a '
                 'record boundary; if not, then they MUST terminate the connection with an unexpected_message alert"')
GO_RECORD_VERSION = ('SHOULD-level (Appendix D.5): crypto/tls ignores legacy_record_version in TLS 1.3 except '
                     '"vers >= 0x1000" on the first record (conn.go, (*Conn).readRecordOrCCS), so a plaintext record '
                     'below 0x0300 is accepted; RFC 8446 5.1: legacy_record_version "MUST be ignored for all purposes"')
GO_RECORD_VERSION_PROTECTED = ('SHOULD-level (Appendix D.5): the changed header of a protected record is its AEAD '
                               'additional data, so crypto/tls fails to deprotect it and answers bad_record_mac '
                               '(conn.go, (*halfConn).decrypt), which RFC 8446 5.2 requires for a record that does '
                               'not deprotect')
GO_SV_SELECTED = ('real deviation (alert only): crypto/tls takes the version from supported_versions and answers one '
                  'it does not support (the shim is TLS 1.3 only, like the other shims) with protocol_version '
                  '(handshake_client.go, (*Conn).pickTLSVersion: mutualVersion fails -> alertProtocolVersion); RFC '
                  '8446 4.2.1: a version "not offered by the client or ... prior to TLS 1.3, the client MUST abort '
                  'the handshake with an illegal_parameter alert"')
GO_TLS12_OFFERED = ('defensible (Appendix D.1): without supported_versions the ServerHello/HelloRetryRequest '
                    'negotiates TLS 1.2 through legacy_version; the crypto/tls client, TLS 1.3 only here '
                    '(Config.MinVersion, as the other shims), refuses that version with protocol_version before it '
                    'looks at a downgrade sentinel or a missing extension (handshake_client.go, (*Conn).pickTLSVersion); '
                    'RFC 8446 6.2: protocol_version for a version "recognized but not supported"')
GO_BAD_LENGTH_MAC = ('real deviation (alert only): crypto/tls parses a Finished of any length and a PSK binder of any '
                     'non-zero length (handshake_messages.go, finishedMsg.unmarshal; clientHelloMsg.unmarshal: '
                     '"len(binder) == 0"), then fails the MAC comparison with decrypt_error '
                     '(handshake_client_tls13.go readServerFinished, handshake_server_tls13.go readClientFinished / '
                     'checkForResumption); RFC 8446 4.4.4 verify_data[Hash.length], 4.2.11 PskBinderEntry<32..255>, '
                     '6: a message that cannot be parsed MUST be answered with decode_error')
GO_FALLBACK = ('defensible (RFC 7507 3): the crypto/tls server, TLS 1.3 only as configured, supports no version the '
               'client offers and answers protocol_version before its TLS_FALLBACK_SCSV check (handshake_server.go, '
               '(*Conn).readClientHello: "client offered only unsupported versions"; the SCSV check is in '
               'handshake_server_tls13.go, processClientHello); RFC 7507 3 asks for inappropriate_fallback from a '
               'server that could have negotiated a higher version with that client')
GO_LEGACY13 = ('MAY-level: crypto/tls negotiates TLS 1.3 only through supported_versions and answers a ClientHello '
               'whose legacy_version says 0x0304 or later without it with illegal_parameter '
               '(handshake_server_tls13.go, processClientHello: "client used the legacy version field to negotiate '
               'TLS 1.3"); RFC 8446 4.2.1 lets the server abort and names no alert')
GO_LEGACY_SSL3 = ('real deviation: crypto/tls reads ClientHello.legacy_version only when supported_versions is '
                  'absent (handshake_server.go, (*Conn).readClientHello), so 0x0300 and below pass; RFC 8446 D.5: '
                  '"Any endpoint receiving a Hello message with ClientHello.legacy_version ... set to 0x0300 MUST '
                  'abort the handshake with a protocol_version alert"')
GO_SESSION_ID = ('real deviation: crypto/tls reads legacy_session_id with any length up to 255 (handshake_messages.go, '
                 'clientHelloMsg.unmarshal: readUint8LengthPrefixed(&s, &m.sessionId)) and echoes 33 bytes, which our '
                 'client refuses (GEN-DECODE); RFC 8446 4.1.2: legacy_session_id<0..32>, 6: decode_error')
GO_PSK_MODES_EMPTY = ('real deviation: crypto/tls accepts an empty ke_modes list (handshake_messages.go, '
                      'clientHelloMsg.unmarshal: readUint8LengthPrefixed(&extData, &m.pskModes)) and completes a full '
                      'handshake; RFC 8446 4.2.9: PskKeyExchangeMode ke_modes<1..255>, 6: decode_error')
GO_PSK_NO_MODES = ('real deviation: a crypto/tls server given pre_shared_key without psk_key_exchange_modes ignores '
                   'the PSK and completes a full handshake (handshake_server_tls13.go, checkForResumption: returns '
                   'without a PSK when psk_dhe_ke is not listed); RFC 8446 4.2.9: "If clients offer pre_shared_key '
                   'without a psk_key_exchange_modes extension, servers MUST abort the handshake"')
GO_NO_GROUPS = ('real deviation: crypto/tls picks a key share without looking for supported_groups '
                '(handshake_server_tls13.go, processClientHello: the group loop reads clientHello.keyShares first), so '
                'a ClientHello with key_share and no supported_groups completes; RFC 8446 9.2: "If containing a '
                'supported_groups extension, it MUST also contain a key_share extension, and vice versa" and '
                '"Servers receiving a ClientHello which does not conform to these requirements MUST abort the '
                'handshake with a missing_extension alert"')
GO_NO_KEY_SHARE = ('real deviation: crypto/tls takes a ClientHello with supported_groups and no key_share for an '
                   'empty client_shares list and answers with a HelloRetryRequest for x25519 '
                   '(handshake_server_tls13.go, processClientHello / doHelloRetryRequest); our client, which had a '
                   'share of x25519 before the edit removed it, aborts (KS-HRR-GROUP-ALREADY-SENT); RFC 8446 9.2: '
                   'supported_groups without key_share MUST be answered with missing_extension')
GO_SHARES_MAY = ('MAY-level: crypto/tls checks key shares neither against supported_groups nor for a repeated group; '
                 'it uses the first share of its most preferred group (handshake_server_tls13.go, processClientHello); '
                 'RFC 8446 4.2.8: "Servers MAY check for violations of these rules and abort the handshake with an '
                 'illegal_parameter alert if one is violated"')
GO_SNI = ('SHOULD-level: crypto/tls has no "require server_name" setting; the shim serves its certificate only for '
          'TD_SNI (Config.GetCertificate), and a ClientHello without server_name gets no certificate, which '
          'crypto/tls answers with unrecognized_name (common.go, (*Config).getCertificate -> errNoCertificates; '
          'handshake_server_tls13.go, pickCertificate); RFC 8446 9.2: "Servers requiring this extension SHOULD '
          'respond to a ClientHello lacking a server_name extension by terminating the connection with a '
          'missing_extension alert"')
GO_CERT_REQUIRED = ('real deviation (alert only): crypto/tls answers an empty client Certificate under '
                    'RequireAndVerifyClientCert with bad_certificate (handshake_server.go, '
                    '(*Conn).processCertsFromClient: "client didn\'t provide a certificate"); RFC 8446 4.4.2.4: the '
                    'server MAY "abort the handshake with a certificate_required alert"')
GO_RENEG = ('policy: crypto/tls applies RFC 5746 3.6 in TLS 1.3 too and aborts on a non-empty renegotiation_info '
            'with handshake_failure (handshake_server_tls13.go, processClientHello: "initial handshake had non-empty '
            'renegotiation extension"); RFC 8446 does not define renegotiation_info, the baseline expects it ignored')
GO_EARLY_DATA = ('real deviation: a crypto/tls server aborts on early_data in a ClientHello with unsupported_extension '
                 'instead of rejecting the 0-RTT data (handshake_server_tls13.go, processClientHello: "client sent '
                 'unexpected early data", a limitation its source comments on); RFC 8446 4.2.10: a server that '
                 'rejects 0-RTT may "Ignore the extension and return a regular 1-RTT response. The server then skips '
                 'past early data ..."')
GO_CH2 = ('real deviation: crypto/tls compares the second ClientHello with the first only in the fields it parses '
          '(handshake_server_tls13.go, illegalClientHelloChange), so an added unknown extension passes; RFC 8446 '
          '4.1.2: the client MUST send the same ClientHello except for the listed changes')
GO_ALPN = ('real deviation (alert only): the crypto/tls client answers an ALPN protocol it did not offer with '
           'unsupported_extension (handshake_client.go, checkALPN: "server selected unadvertised ALPN protocol", '
           'called from handshake_client_tls13.go, readServerParameters); the catalogue rule (RFC 7301 3.2) names '
           'illegal_parameter')
GO_SH_PSK = ('defensible (RFC 8446 4.2.11): with no PSK offered the crypto/tls client checks selected_identity '
             'against an empty list and answers illegal_parameter (handshake_client_tls13.go, processServerHello: '
             '"server selected an invalid PSK"); RFC 8446 4.2.11: "Clients MUST verify that the server\'s '
             'selected_identity is within the range supplied by the client", illegal_parameter')
GO_HRR_FULL_KS = ('real deviation (alert only): crypto/tls reads a HelloRetryRequest key_share longer than two bytes '
                  'as a KeyShareEntry (handshake_messages.go, serverHelloMsg.unmarshal), so the HRR has no '
                  'selected_group and it answers illegal_parameter (handshake_client_tls13.go, '
                  'processHelloRetryRequest: "unnecessary HelloRetryRequest") before its own decode_error check of '
                  'that case; RFC 8446 4.2.8: in a HelloRetryRequest the extension is only selected_group; 6: '
                  'decode_error')
GO_NO_TICKET = ('cannot be configured: our client offers psk_ke only, and a crypto/tls server sends no ticket to a '
                'client without psk_dhe_ke (handshake_server_tls13.go, shouldSendSessionTickets: "Don\'t send tickets '
                'the client wouldn\'t use. See RFC 8446, Section 4.2.9."), so the first handshake leaves nothing to '
                'resume; the shim is not told the client\'s modes')
GO = {
 # AL-CLOSE-AFTER-FATAL: once unpinned (the close_notify was read in some runs only); with
 # the observation window after the SUT's alert (run --linger, 200 ms) it is read in every
 # run: two runs of each (2026-12-05) gave the same grade and outcome.
 'order-post-handshake': GO_CLOSE_AFTER_FATAL_PINNED, 'order-client-post-handshake': GO_CLOSE_AFTER_FATAL_PINNED,
 'order-client-pha-without-ext': GO_CLOSE_AFTER_FATAL_PINNED,
 'order-clienthello-after-handshake': GO_CLOSE_AFTER_FATAL_PINNED,
 'order-nst-from-client[KeyUpdate]': GO_CLOSE_AFTER_FATAL_PINNED,
 'order-client-eoed-post-handshake': GO_CLOSE_AFTER_FATAL_PINNED,
 'nst-lifetime-too-long': GO_CLOSE_AFTER_FATAL_PINNED,

 'outcome:unexpected_message': GO_PARSE,
 'ee-forbidden': GO_CLIENT_EXT, 'ee-unsolicited-early-data': GO_CLIENT_EXT, 'ee-unknown-ext': GO_CLIENT_EXT,
 'ee-record-size-limit-unsolicited': GO_CLIENT_EXT,
 'hrr-ext-unsolicited': GO_CLIENT_EXT, 'hrr-early-data': GO_CLIENT_EXT, 'sh-ext-not-allowed': GO_CLIENT_EXT,
 'sh-ext-unknown': GO_CLIENT_EXT, 'ee-early-data-not-offered-resumed': GO_CLIENT_EXT,
 'ch-malformed-record-size-limit': GO_NOT_IMPL, 'ch-malformed-max-fragment-length': GO_NOT_IMPL,
 'ch-out-of-range': GO_NOT_IMPL, 'ch-max-fragment-length-out-of-range': GO_NOT_IMPL,
 'ch-wrong-message-ext': GO_NOT_IMPL, 'ee-record-size-limit-too-small': GO_NOT_IMPL,
 'ee-max-fragment-length-bad': GO_NOT_IMPL,
 'ct-server-entry-ext-unsolicited': GO_ENTRY_SOLICITED, 'server-client-entry-ext-unsolicited': GO_ENTRY_SOLICITED,
 'cr-no-extensions': GO_CR_SIGALGS, 'cr-sigalgs-missing': GO_CR_SIGALGS,
 'alert-client-unknown-description': GO_WARNING_ALERT, 'alert-client-warning-level-error': GO_WARNING_ALERT,
 'alert-unknown-description': GO_WARNING_ALERT, 'alert-warning-level-error': GO_WARNING_ALERT,
 'rec-ccs-before-ch1': GO_FIRST_RECORD, 'rec-unknown-type': GO_FIRST_RECORD, 'rec-plaintext-appdata': GO_FIRST_RECORD,
 'rec-client-ccs-before-sh': GO_FIRST_RECORD, 'rec-client-ccs-before-hrr': GO_FIRST_RECORD,
 'rec-client-ccs-bad-value': GO_FIRST_RECORD, 'rec-client-unknown-type': GO_FIRST_RECORD,
 'rec-client-plaintext-appdata': GO_FIRST_RECORD, 'rec-client-hs-interleaved': GO_FIRST_RECORD,
 'rec-ccs-protected[01]': GO_CCS_ANY_TIME, 'rec-client-ccs-protected[01]': GO_CCS_ANY_TIME,
 'rec-client-ccs-after-finished': GO_CCS_ANY_TIME,
 'rec-ccs-protected[02]': GO_CCS_VALUE, 'rec-client-ccs-protected[02]': GO_CCS_VALUE, 'rec-ccs-bad-value': GO_CCS_VALUE,
 'rec-key-change-align': GO_KEY_CHANGE,
 'rec-version-below-ssl3': GO_RECORD_VERSION, 'rec-client-version-below-ssl3': GO_RECORD_VERSION,
 'rec-version-below-ssl3-protected': GO_RECORD_VERSION_PROTECTED,
 'rec-client-version-below-ssl3-protected': GO_RECORD_VERSION_PROTECTED,
 'hrr-selected-version': GO_SV_SELECTED, 'sh-selected-version': GO_SV_SELECTED,
 'hrr-no-supported-versions': GO_TLS12_OFFERED, 'sh-downgrade-sentinel': GO_TLS12_OFFERED,
 'fin-wrong-length': GO_BAD_LENGTH_MAC, 'server-sees-short-finished': GO_BAD_LENGTH_MAC,
 'psk-binder-truncated': GO_BAD_LENGTH_MAC,
 'ch-fallback-scsv': GO_FALLBACK, 'ch-fallback-scsv-legacy': GO_FALLBACK,
 'ch-legacy-version-13-without-supported-versions': GO_LEGACY13,
 'ch-legacy-version-ssl3': GO_LEGACY_SSL3,
 'ch-session-id-too-long': GO_SESSION_ID,
 'ch-malformed-psk-modes[00]': GO_PSK_MODES_EMPTY,
 'psk-no-modes': GO_PSK_NO_MODES,
 'ch-mandatory-missing[supported_groups]': GO_NO_GROUPS, 'ch-mandatory-missing[key_share]': GO_NO_KEY_SHARE,
 'ks-not-in-groups': GO_SHARES_MAY, 'ks-duplicate-group': GO_SHARES_MAY, 'ks-duplicate-group-knob': GO_SHARES_MAY,
 'sni-required-missing': GO_SNI, 'sni-removed': GO_SNI,
 'server-requires-client-cert': GO_CERT_REQUIRED,
 'ch-renegotiation-info': GO_RENEG,
 'ch-early-data-not-enabled': GO_EARLY_DATA,
 'ch2-ext-added': GO_CH2,
 'ee-alpn-not-offered': GO_ALPN,
 'sh-psk-unsolicited': GO_SH_PSK,
 'hrr-full-key-share': GO_HRR_FULL_KS,
 'psk-ke-binder-flipped': GO_NO_TICKET, 'psk-resumed[ke]': GO_NO_TICKET,
 'psk-unknown-identity-no-fallback': GO_NO_TICKET,
}

# In-process GnuTLS (engine/peers/gnutls.c): the same library as the gnutls shim, so the
# shim's reviewed reasons held where the outcome was the same (gnutls-lib.txt was drafted
# with --keep gnutls.txt); what only the in-process run shows is here or composed (below).
GNUTLS_LIB = {
 '@library': 'GnuTLS 3.7.9',
 'pha-server-ok': 'unsupported in memory: the adapter does not drive post-handshake client authentication',
 'hrr-client-ok[secp256r1]': "real deviation: the GnuTLS client already sent a secp256r1 share, so our HelloRetryRequest (server hrr always) carries only a cookie and supported_versions; the cookie changes the ClientHello, so RFC 8446 4.1.4 does not call for an abort, yet GnuTLS refuses it with illegal_parameter (hrr-cookie-echoed, an HRR with a key_share and a cookie, passes); RFC 8446 4.1.2: \"The client will also send a ClientHello when the server has responded to its ClientHello with a HelloRetryRequest. In that case, the client MUST send the same ClientHello without modification, except as follows\"",
 'ku-requested-client': 'peer limitation: GnuTLS answers update_requested only when the application next writes (gnutls_record_send); the adapter writes nothing, no KeyUpdate seen',
 'ku-requested-server': 'peer limitation: GnuTLS answers update_requested only when the application next writes (gnutls_record_send); the adapter writes nothing, no KeyUpdate seen',
 'ed-client-rejected-by-hrr': 'real deviation: a GnuTLS client that sent 0-RTT data answers our HelloRetryRequest with a second ClientHello protected under the 0-RTT keys (an application_data record; its log: Handshake in epoch 1), which our server skips as rejected early data, so the case stalls (RFC 8446 4.1.2: "Early data is not permitted after a HelloRetryRequest."; 4.2.10: after an HRR the server looks "for a cleartext ClientHello")',
 'rec-client-key-change-align': 'real deviation: GnuTLS keeps a partial handshake header appended to the ServerHello record across the key change and waits for the rest (the case stalls) instead of unexpected_message (RFC 8446 5.1: messages preceding a key change MUST align with a record boundary)',
 # Early data into a GnuTLS server: the runner's second connection says (virtual clock,
 # engine/scenario/run.c) the ticket is 1000 ms old; in process it is a few ms old to GnuTLS,
 # whose anti-replay check (lib/tls13/anti_replay.c, RFC 8446 8.3 freshness) rejects 0-RTT
 # when the client's age exceeds its own view, so every 0-RTT case sees early data rejected.
 'ed-accepted': 'peer limitation: GnuTLS rejects the 0-RTT because the client (virtual clock) says the ticket is 1000 ms old while GnuTLS saw it issued a few ms ago in process (anti-replay freshness, RFC 8446 8.3); over TCP (gnutls column) it is accepted',
 'ed-at-limit': 'peer limitation: GnuTLS rejects the 0-RTT (anti-replay freshness: client ticket age 1000 ms, GnuTLS age a few ms in process, RFC 8446 8.3), so the early data is skipped and there is no limit to reach',
 'ed-too-much': 'peer limitation: GnuTLS rejects the 0-RTT (anti-replay freshness: client ticket age 1000 ms, GnuTLS age a few ms in process, RFC 8446 8.3), so the EndOfEarlyData step never applies',
 'ed-bad-mac': 'peer limitation: GnuTLS rejects the 0-RTT (anti-replay freshness: client ticket age 1000 ms, GnuTLS age a few ms in process, RFC 8446 8.3) and skips the early records, so the bad record is never decrypted',
 'ed-bad-mac-garbage': 'peer limitation: GnuTLS rejects the 0-RTT (anti-replay freshness: client ticket age 1000 ms, GnuTLS age a few ms in process, RFC 8446 8.3) and skips the early records, so the bad record is never decrypted',
 # GnuTLS's randomness decides this one: the edited obfuscated_ticket_age minus GnuTLS's own
 # random ticket_age_add is the age GnuTLS sees; out of its window it declines the PSK (a full
 # handshake, RFC 8446 4.2.11 allows ignoring a PSK), inside it checks the stale binder
 # (illegal_parameter, GnuTLS's alert for a bad binder).
 # ch2-ticket-age-updated likewise (seen: 1 run of 3 resumed): in the window GnuTLS resumes;
 # out of it it declines the PSK after its HRR and shows the ch2-psk-dropped deviation.
 '@unpinned': {'psk-binder-stale-after-age-edit': 'library randomness: GnuTLS deobfuscates the edited age with its random ticket_age_add; out of its window it declines the PSK and completes a full handshake (n/a: premise psk-accepted, no binder check was due), inside it refuses the stale binder with illegal_parameter (RFC 8446 4.2.11 names decrypt_error): either outcome, run to run',
               'ch2-ticket-age-updated': 'library randomness: GnuTLS deobfuscates the updated age with its random ticket_age_add; inside its window it resumes (pass), out of it it declines the PSK and, after its HelloRetryRequest, sends EncryptedExtensions and Finished without a Certificate (our abort CT-SERVER-MISSING, RFC 8446 4.4.2: "The server MUST send a Certificate message whenever the agreed-upon key exchange method uses certificates for authentication", as in ch2-psk-dropped): either outcome, run to run'},
}

# In-process wolfSSL (engine/peers/wolfssl.c), Debian's 5.5.4 build: no WOLFSSL_EARLY_DATA,
# no middlebox compatibility, no key log callback. wolfSSL sends no alert on many of its
# TLS 1.3 error paths (wolfSSL_accept/connect return the error to the application, which has
# no call to send one): those cases are `closed`, an alert-differs under RFC 8446 6.2 rules.
WOLFSSL = {
 '@library': 'wolfSSL 5.5.4',
 'pha-server-ok': 'unsupported in memory: the adapter does not drive post-handshake client authentication',
 # Seen to vary run to run (2 of 6 runs closed): the bytes wolfSSL reads where the
 # interleaved record cut the message differ with the connection's randoms.
 '@unpinned': {'rec-client-hs-interleaved[10]': 'library randomness: sender-only rule (advisory when wolfSSL completes); in some runs wolfSSL takes the bytes around the interleaved record as a handshake header too large ("Handshake message too large Error") and closes without an alert (RFC 8446 5.1: MUST NOT be interleaved binds the sender)'},
}

TABLES = {'openssl': OPENSSL, 'openssl-tcp': OPENSSL_TCP, 'gnutls': GNUTLS, 'go': GO,
          'gnutls-lib': GNUTLS_LIB, 'wolfssl': WOLFSSL}
TITLES = {
    'openssl': 'libssl in process, tlsdrill run --peer openssl',
    'openssl-tcp': "openssl s_server/s_client over TCP, tlsdrill run --peer 'exec:tools/peers/openssl.sh'",
    'gnutls': "gnutls-serv/gnutls-cli over TCP, tlsdrill run --peer 'exec:tools/peers/gnutls.sh'",
    'go': "crypto/tls through the shim tools/peers/go/ over TCP, tlsdrill run --peer 'exec:tools/peers/go.sh'",
    'gnutls-lib': 'GnuTLS in process over memory buffers, tlsdrill run --peer gnutls-lib',
    'wolfssl': 'wolfSSL in process over memory buffers, tlsdrill run --peer wolfssl',
}


@functools.lru_cache(maxsize=1)
def rule_quotes():
    """Rule ID -> (section, RFC 8446 sentence) from engine/catalogue/quotes.md."""
    import os
    q = {}
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'engine', 'catalogue', 'quotes.md')
    try:
        for line in open(path):
            parts = [p.strip() for p in line.strip().strip('|').split('|')]
            if len(parts) == 3 and parts[0] and parts[0][0].isupper() and parts[1][:1].isalnum() and parts[1] != '§':
                q[parts[0]] = (parts[1], parts[2])
    except FileNotFoundError:
        pass
    return q


def composed(table, c):
    """For the in-process libraries: the library's own behaviour as the run showed it (the
    outcome, the library's error string from the peer log) and the RFC 8446 sentence the
    case's rule stands on (quotes.md). None when the case has no rule with a quote."""
    lib = table.get('@library')
    if lib is None:
        return None
    if grade(c) == 'error':
        return 'case error with this peer (the case did not run as written): ' + c['reason'].split(': ', 1)[-1][:200]
    o = outcome(c)
    err = ' '.join((c.get('peer_log') or '').split()).split(': ', 1)[-1][:90]
    said = ' (its error: %s)' % err if err else ''
    if 'unreadable alert' in c['actual']:
        why = c['reason'].split('could not read (', 1)[-1].split(')', 1)[0]
        what = '%s refuses it with an alert record our side cannot read (%s)%s' % (lib, why, said)
    elif o == 'closed':
        what = '%s refuses it but sends no alert%s' % (lib, said)
    elif o == 'none':
        what = '%s accepts it and goes on (%s)' % (lib, c['actual'])
    elif o == 'our-abort':
        what = '%s does not refuse it and goes on; our side refused its next flight first (%s)' % (lib, c['actual'])
    elif o in ('stalled', 'timeout'):
        what = '%s waits for more and the case stalls (%s)' % (lib, c['actual'])
    else:
        what = '%s answers with %s%s' % (lib, o, said)
    rules = c['rules']
    if 'more bytes after it' in c['reason']:
        # The alert was right; what broke a MUST is what came after it.
        what = '%s answers with %s, then writes %s' % (lib, o, c['reason'].split('sent ', 1)[-1].split(' (')[0])
        rules = ['AL-CLOSE-AFTER-FATAL']
    for r in rules:
        q = rule_quotes().get(r)
        if q:
            kind = 'real deviation' if c.get('grade') == 'fail' else 'deviation in the alert'
            return '%s: %s; RFC 8446 %s (%s): "%s"' % (kind, what, q[0], r, q[1][:300])
    return None


def grade(c):
    """The case's grade (run --json format 2), or its older verdict."""
    return c.get('grade', c['verdict'])


def outcome(c):
    a = c['actual']
    if c['verdict'] == 'unsupported':
        return 'unsupported'
    if a.startswith('alert '):
        return a[6:]
    if a.split(' ')[0].rstrip(',') in ('handshake', 'resumed'):
        return 'none'
    if a.startswith('our abort'):
        return 'our-abort'
    return a.split()[0] if a else 'error'


def kept(path):
    old = {}
    try:
        for line in open(path):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            parts = line.split(None, 2)
            if len(parts) == 3:
                old[parts[0]] = (parts[1], parts[2])
    except FileNotFoundError:
        pass
    return old


def reason(table, c):
    n = c['name']
    base = n.split('[')[0]
    for k in (n, base):
        if k in table:
            return table[k]
    if c['verdict'] == 'unsupported':
        if 'cookie' in c['reason'] and 'cookie' in table:
            return table['cookie']
        if base == 'hrr-ok' and 'hrr-ok' in table:
            return table['hrr-ok']
        # The peer said why it cannot be configured: that is the reason.
        return 'unsupported: ' + c['reason'].split(': ', 1)[-1]
    # A root cause that shows as one outcome whatever the rule (Go: unexpected_message
    # for every message its parser rejects).
    if 'outcome:' + outcome(c) in table:
        return table['outcome:' + outcome(c)]
    for r in c['rules']:
        if r in table:
            return table[r]
    if composed(table, c) is not None:
        return composed(table, c)
    return 'UNREVIEWED: explain this deviation (rule, alert sent, RFC section) before committing'


def rule_quotes():
    """Rule ID -> (RFC 8446 section, the sentence) from engine/catalogue/quotes.md."""
    q = {}
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'engine', 'catalogue',
                        'quotes.md')
    try:
        for line in open(path, encoding='utf-8'):
            cells = [x.strip() for x in line.strip().strip('|').split('|')]
            if line.startswith('| ') and len(cells) == 3 and re.match(r'^[A-Z][A-Z0-9-]+$', cells[0]):
                q.setdefault(cells[0], (cells[1], cells[2]))
    except FileNotFoundError:
        pass
    return q


def with_quote(c, why, quotes):
    """A `fail` line quotes the MUST sentence the SUT broke: the reason's own quote when it has
    one with MUST in it, else the quote of the case's first rule whose sentence says MUST."""
    if grade(c) != 'fail' or re.search(r'"[^"]*MUST[^"]*"', why):
        return why
    # A syntax or value rule whose own sentence is a struct: the section 6 sentence of its alert.
    generic = [g for a, g in (('decode_error', 'GEN-DECODE'), ('illegal_parameter', 'GEN-ILLEGAL-PARAM'))
               if a in c.get('expected', '').split('|')]
    for r in list(c['rules']) + generic:
        if r in quotes and 'MUST' in quotes[r][1]:
            return '%s; RFC 8446 %s: "%s"' % (why, quotes[r][0], quotes[r][1])
    return why


def draft(peer, run, old, out):
    table = TABLES.get(peer, {})
    out.write('# scenarios/expectations/%s.txt -- %s (%s)\n' % (peer, run.get('peer_version', peer), TITLES.get(peer, peer)))
    out.write('# Known deviations: the cases that fail a strict run (grades fail, alert-differs, error,\n')
    out.write('# unsupported; advisory and n/a cases fail nothing and have no line). One line per case:\n')
    out.write('#   CASE  OUTCOME  REASON   (OUTCOME: the alert the peer sent, none, closed, timeout, garbage,\n')
    out.write('#   our-abort, unsupported; a different outcome fails the case)\n')
    out.write('# Regenerate every peer\'s file with tools/matrix.py --update (reviewed reasons are kept).\n')
    quotes = rule_quotes()
    unpinned = dict(table.get('@unpinned', {}), **table.get('@unpinned-extra', {}))
    for c in run['cases']:
        key = next((k for k in (c['name'], c['name'].split('[')[0]) if k in unpinned), None)
        if key is not None and c['verdict'] != 'unsupported':
            # The word `unpinned` is no outcome: `run --expect` accepts any.
            out.write('%-48s %-18s %s\n' % (c['name'], 'unpinned', unpinned[key]))
            continue
        # Only what fails a strict run needs a line: pass, advisory (a SHOULD/MAY or
        # sender-only rule) and n/a (a premise that does not hold) never fail.
        if grade(c) in ('pass', 'advisory', 'n/a'):
            continue
        o = outcome(c)
        r = old[c['name']][1] if c['name'] in old and old[c['name']][0] == o else reason(table, c)
        out.write('%-48s %-18s %s\n' % (c['name'], o, with_quote(c, r, quotes)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--peer', default='openssl', choices=sorted(TABLES))
    ap.add_argument('--keep', help='the current expectations file: its reasons are kept')
    ap.add_argument('run')
    a = ap.parse_args()
    draft(a.peer, json.load(open(a.run)), kept(a.keep) if a.keep else {}, sys.stdout)
    return 0


if __name__ == '__main__':
    sys.exit(main())
