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
import argparse, json, sys

OPENSSL = {
 'ku-requested-client': 'peer limitation: libssl answers update_requested only when the application next writes (or SSL_do_handshake); no KeyUpdate seen in this exchange',
 'ku-requested-server': 'peer limitation: libssl answers update_requested only when the application next writes (or SSL_do_handshake); no KeyUpdate seen in this exchange',
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
 'PSK-BINDER-MISSING': 'real deviation: OpenSSL reads binders only up to the identity it selects and ignores a missing/short binder list (RFC 8446 4.2.11)',
 'GEN-ILLEGAL-PARAM': 'real deviation: OpenSSL reads binders only up to the identity it selects and ignores extra binders (RFC 8446 4.2.11: one binder per identity)',
 'REC-CCS-BAD-VALUE': 'real deviation: OpenSSL sends illegal_parameter for a change_cipher_spec body other than 0x01 (RFC 8446 5: unexpected_message)',
 'REC-ZERO-LENGTH': 'real deviation: OpenSSL accepts a zero-length handshake record (RFC 8446 5.1: MUST NOT, unexpected_message)',
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
 'sh-tls12-after-0rtt': 'tester limitation: OpenSSL sends its alert in plaintext while our server reads 0-RTT-protected records; our side aborts on the plaintext alert before reading it',
 'sh-0rtt-identity-not-first': 'tester limitation: OpenSSL sends its alert in plaintext while our server reads 0-RTT-protected records; our side aborts on the plaintext alert before reading it',
 'server-client-entry-ext-unsolicited': 'real deviation: the OpenSSL server accepts signed_certificate_timestamp in the client CertificateEntry although its CertificateRequest did not ask for it (RFC 8446 4.4.2: unsupported_extension)',
 'server-client-cv-sha1': 'unsupported: libssl 3.0 refuses SHA-1 schemes in a TLS 1.3 signature_algorithms list, so the server cannot be configured to offer them',
 'ch-malformed-server-name': 'real deviation: OpenSSL accepts a server_name entry with an empty HostName (RFC 6066 3: HostName<1..2^16-1>, decode_error)',
 'ch-malformed-cookie': 'real deviation: outside its stateless mode OpenSSL skips a ClientHello cookie without parsing it (RFC 8446 4.2.2 cookie<1..2^16-1>; 6: decode_error)',
 'ch-malformed-pre-shared-key': 'real deviation: OpenSSL ignores a pre_shared_key with an empty identities list or without a binders list and completes a full handshake (RFC 8446 4.2.11: identities<7..>, binders<33..>; decode_error)',
 'ch-fallback-scsv': 'real deviation: OpenSSL (TLS 1.3 only, as configured) checks the version before TLS_FALLBACK_SCSV and answers protocol_version (RFC 7507 3: inappropriate_fallback when its highest version is above the client\'s)',
 'ch-fallback-scsv-legacy': 'real deviation: OpenSSL (TLS 1.3 only, as configured) checks the version before TLS_FALLBACK_SCSV and answers protocol_version (RFC 7507 3: inappropriate_fallback when its highest version is above the client\'s)',
 'psk-sha384-binder-length': 'real deviation: OpenSSL sends decode_error for a binder of the wrong length (RFC 8446 4.2.11: decrypt_error/illegal_parameter)',
 'psk-binders-more-than-identities': 'real deviation: OpenSSL reads binders only up to the identity it selects and ignores extra binders (RFC 8446 4.2.11: one binder per identity)',
 'ed-bad-mac': 'real deviation: OpenSSL checks legacy_record_version of a 0-RTT record and sends decode_error before AEAD decryption (RFC 8446 5.2 / 4.2.10: the header is AAD, failure is bad_record_mac)',
 'psk-unknown-identity-no-fallback': 'real deviation: with no usable PSK OpenSSL answers missing_extension (for the absent key_share / supported_groups) where the PSK rule names unknown_psk_identity or decrypt_error (RFC 8446 4.2.11, 6.2)',
 'rec-hs-interleaved': 'real deviation: the OpenSSL server accepts a change_cipher_spec record between two fragments of the second ClientHello (RFC 8446 5.1: handshake messages MUST NOT be interleaved with other record types)',
 'ext-psk-client-resumed': 'peer limitation: the openssl peer adapter does not give a libssl client an external PSK (it offers only its own tickets), so the handshake is a full one',
 'external-psk-used': 'unsupported: the openssl peer adapter does not configure external PSKs on a libssl server',
 'ext-psk-age-ignored': 'unsupported: the openssl peer adapter does not configure external PSKs on a libssl server',
 'ext-psk-binder-flipped': 'unsupported: the openssl peer adapter does not configure external PSKs on a libssl server',
 'ext-psk-wrong-key': 'unsupported: the openssl peer adapter does not configure external PSKs on a libssl server',
 'ext-psk-unknown-identity': 'unsupported: the openssl peer adapter does not configure external PSKs on a libssl server',
 'ch-sigalgs-cert-no-match': 'deviation (SHOULD level): OpenSSL aborts with handshake_failure when signature_algorithms_cert rules out its chain; RFC 8446 4.4.2.2 says the server SHOULD continue with a chain of its choice',
}

# In process the openssl server sends cookies from SSL_stateless() (stateless mode).
OPENSSL_STATELESS = {
 'hrr-ok-cookie-compat': 'peer limitation: libssl sends cookies only in its stateless mode, which forgets the connection after the HRR; the middlebox-compatibility change_cipher_spec that follows is then "before the first ClientHello" and libssl drops the connection without an alert',
 'ch2-cookie-missing': 'stateless mode: libssl (SSL_stateless) takes a second ClientHello without the cookie for a new first one and sends another HRR; our client aborts on the second HRR (RFC 8446 4.1.4)',
 'ch2-cookie-changed': 'real deviation: libssl answers a cookie that does not verify with decode_error (RFC 8446 4.1.2 / 4.2.2: illegal_parameter)',
}

# s_server / s_client over TCP run the same libssl: the in-process reasons hold, plus
# what the command-line tools cannot be configured for.
OPENSSL_TCP = dict(OPENSSL)
OPENSSL_TCP.update({
 'SNI-REQUIRED-MISSING': 'cannot be configured: s_server (-servername -servername_fatal) refuses another name but cannot require server_name; it completes the handshake without one',
 'ku-requested-client': 'peer limitation: s_client answers update_requested only when it next writes; no KeyUpdate seen in this exchange',
 'ku-requested-server': 'peer limitation: s_server answers update_requested only when it next writes; no KeyUpdate seen in this exchange',
})
OPENSSL.update(OPENSSL_STATELESS)
OPENSSL_TCP.update(OPENSSL_STATELESS)

GNUTLS = {
 'psk-resumed[ke]': 'cannot be configured: gnutls-serv issues no ticket to a client that offers psk_ke only (GnuTLS resumes with psk_dhe_ke), so there is nothing to resume',
 'hrr-client-ok[secp256r1]': 'cannot be configured: gnutls-cli sends key shares for x25519 and secp256r1; our HRR asking for secp256r1 then names a group it has a share of and GnuTLS rightly aborts',
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
 'ch2-psk-dropped': 'real deviation: after an HRR GnuTLS goes on without a Certificate (resuming the first ClientHello\'s PSK) although our second ClientHello dropped it; our client aborts (CT-SERVER-MISSING)',
 'ch2-ticket-age-updated': 'deviation, not investigated to the byte: after an HRR with an updated ticket age GnuTLS sends no Certificate while our client saw no accepted PSK; our client aborts (CT-SERVER-MISSING)',
 'ch2-psk-modes-dropped': 'real deviation: GnuTLS resumes with the first ClientHello\'s PSK after our second dropped psk_key_exchange_modes (RFC 8446 4.1.2); our client aborts (CT-SERVER-MISSING)',
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
 'GEN-ILLEGAL-PARAM': 'real deviation: GnuTLS ignores binders beyond the identities (RFC 8446 4.2.11: one binder per identity)',
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
 'PSK-BINDER-MISSING': 'real deviation: GnuTLS checks only the binder of the identity it selects and accepts a short or missing binder list (RFC 8446 4.2.11)',
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
 'ed-client-rejected-by-hrr': 'deviation: gnutls-cli with 0-RTT data sends nothing after our HRR (the case times out) instead of a second ClientHello (RFC 8446 4.2.10)',
 'TOL-RECORD-VERSION': 'real deviation: GnuTLS rejects records whose legacy_record_version is 0x0a0a with protocol_version (RFC 8446 5.1: MUST be ignored)',
 'TOL-UNKNOWN-PSK': 'real deviation: GnuTLS aborts with handshake_failure on a PSK whose hash is not that of the selected suite instead of ignoring it (RFC 8446 4.2.11)',
}

TABLES = {'openssl': OPENSSL, 'openssl-tcp': OPENSSL_TCP, 'gnutls': GNUTLS}
TITLES = {
    'openssl': 'libssl in process, tlsdrill run --peer openssl',
    'openssl-tcp': "openssl s_server/s_client over TCP, tlsdrill run --peer 'exec:tools/peers/openssl.sh'",
    'gnutls': "gnutls-serv/gnutls-cli over TCP, tlsdrill run --peer 'exec:tools/peers/gnutls.sh'",
}


def outcome(c):
    a = c['actual']
    if c['verdict'] == 'unsupported':
        return 'unsupported'
    if a.startswith('alert '):
        return a[6:]
    if a.split(' ')[0] in ('handshake', 'resumed'):
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
    for r in c['rules']:
        if r in table:
            return table[r]
    return 'UNREVIEWED: explain this deviation (rule, alert sent, RFC section) before committing'


def draft(peer, run, old, out):
    table = TABLES.get(peer, {})
    out.write('# scenarios/expectations/%s.txt -- %s (%s)\n' % (peer, run.get('peer_version', peer), TITLES.get(peer, peer)))
    out.write('# Known deviations from the RFC-strict verdicts. One line per case:\n')
    out.write('#   CASE  OUTCOME  REASON   (OUTCOME: the alert the peer sent, none, closed, timeout, garbage,\n')
    out.write('#   our-abort, unsupported; a different outcome fails the case)\n')
    out.write('# Regenerate every peer\'s file with tools/matrix.py --update (reviewed reasons are kept).\n')
    for c in run['cases']:
        if c['verdict'] == 'pass':
            continue
        o = outcome(c)
        r = old[c['name']][1] if c['name'] in old and old[c['name']][0] == o else reason(table, c)
        out.write('%-48s %-18s %s\n' % (c['name'], o, r))


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
