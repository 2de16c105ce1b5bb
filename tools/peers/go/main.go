// Command tdgo is tlsdrill's `exec:` shim for Go's crypto/tls (standard
// library only; TD_ROLE=version prints the Go release): the SUT is a crypto/tls server (TD_ROLE=server: it listens on
// TD_HOST:TD_PORT, serves every connection, echoes application data) or a
// client (TD_ROLE=client: it connects, completes the handshake, reads until
// the connection ends). It is configured from the TD_* variables of the shim
// contract (tools/peers/README.md, engine/peers/peer_exec.c) as far as
// crypto/tls can express them; what it cannot express exits 89 with the reason
// on the first line of stderr, and the case is reported unsupported.
//
// What crypto/tls (Go 1.19) can express, and how:
//
//	certificate and key   Config.Certificates (server: GetCertificate when TD_SNI binds it)
//	client auth           Config.ClientAuth, Config.ClientCAs (TD_CA)
//	trust, verification   Config.RootCAs; the name TD_VERIFY_NAME (default
//	                      server.tlsdrill.test) while TD_SNI goes on the wire
//	ALPN                  Config.NextProtos
//	groups, HRR           Config.CurvePreferences (the server picks its first
//	                      preferred group the client has a share for, else asks
//	                      for its first preferred group the client supports)
//	tickets               one NewSessionTicket, or none (SessionTicketsDisabled)
//	resumption            within one process: a client with TD_RESUME=first
//	                      makes both connections with one ClientSessionCache
//	key log               Config.KeyLogWriter to TD_KEYLOG
//
// What it cannot express (exit 89): TLS 1.3 cipher suite lists (Config.CipherSuites
// applies to TLS 1.2 only), signature algorithm lists, groups other than
// X25519/P-256/P-384/P-521, 0-RTT (neither side), HRR cookies, psk_ke,
// external PSKs, key shares other than one for the first group, more than one
// ticket, record sizes, and resuming from a saved session (no session
// serialisation before Go 1.21).
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

const exitUnsupported = 89

// The engine's defaults (engine/include/tlsdrill/conn.h), which an empty list means.
var (
	defaultGroups = []string{"x25519", "secp256r1", "secp384r1"}
	// crypto/tls's own TLS 1.3 suites in its own order (cipher_suites.go,
	// defaultCipherSuitesTLS13, on a CPU with AES-GCM support): also the engine's.
	goSuites = "TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384,TLS_CHACHA20_POLY1305_SHA256"
)

var groupIDs = map[string]tls.CurveID{
	"x25519":    tls.X25519,
	"secp256r1": tls.CurveP256,
	"secp384r1": tls.CurveP384,
	"secp521r1": tls.CurveP521,
}

var role = os.Getenv("TD_ROLE")

func unsupported(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go %s: %s\n", role, fmt.Sprintf(format, args...))
	os.Exit(exitUnsupported)
}

func fatal(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go %s: %s\n", role, fmt.Sprintf(format, args...))
	os.Exit(1)
}

func logf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go %s: %s\n", role, fmt.Sprintf(format, args...))
}

// list splits a comma-separated TD_* list; empty means none.
func list(name string) []string {
	v := os.Getenv(name)
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func number(name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		fatal("%s=%q is not a number", name, v)
	}
	return n
}

func curves(names []string) []tls.CurveID {
	out := make([]tls.CurveID, 0, len(names))
	for _, n := range names {
		id, ok := groupIDs[n]
		if !ok {
			unsupported("crypto/tls has no group %s (X25519, P-256, P-384, P-521 only)", n)
		}
		out = append(out, id)
	}
	return out
}

func pool(path string) *x509.CertPool {
	pem, err := os.ReadFile(path)
	if err != nil {
		fatal("%v", err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		fatal("%s: no PEM certificate", path)
	}
	return p
}

// common is what both roles share: versions, the premises crypto/tls cannot
// honour, ALPN, the key log.
func common() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS13}
	if os.Getenv("TD_PSK_IDENTITY") != "" {
		unsupported("crypto/tls has no external PSKs (only resumption with its own tickets)")
	}
	if s := os.Getenv("TD_SUITES"); s != "" && s != goSuites {
		unsupported("the TLS 1.3 cipher suites of crypto/tls cannot be configured " +
			"(Config.CipherSuites applies to TLS 1.2 only); case needs " + s)
	}
	if os.Getenv("TD_SIGALGS") != "" {
		unsupported("the signature algorithms of crypto/tls cannot be configured")
	}
	if number("TD_RECORD_SIZE", 0) != 0 {
		unsupported("the size of the records crypto/tls sends cannot be set")
	}
	cfg.NextProtos = list("TD_ALPN")
	if path := os.Getenv("TD_KEYLOG"); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			fatal("TD_KEYLOG: %v", err)
		}
		cfg.KeyLogWriter = f
	}
	return cfg
}

func keyPair() (tls.Certificate, bool) {
	cert, key := os.Getenv("TD_CERT"), os.Getenv("TD_KEY")
	if cert == "" {
		return tls.Certificate{}, false
	}
	kp, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		fatal("%s, %s: %v", cert, key, err)
	}
	return kp, true
}

func addr() string {
	host := os.Getenv("TD_HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, os.Getenv("TD_PORT"))
}

func serverConfig() *tls.Config {
	cfg := common()
	kp, ok := keyPair()
	if !ok {
		unsupported("no server certificate")
	}
	if sni := os.Getenv("TD_SNI"); sni != "" {
		// The certificate serves only this name. With no Certificates,
		// Config.getCertificate (common.go) asks GetCertificate; a nil
		// answer is errNoCertificates, which the server answers with
		// unrecognized_name (handshake_server_tls13.go, pickCertificate).
		cfg.GetCertificate = func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if strings.EqualFold(h.ServerName, sni) {
				return &kp, nil
			}
			return nil, nil
		}
	} else {
		cfg.Certificates = []tls.Certificate{kp}
	}
	if os.Getenv("TD_COOKIE") == "1" {
		unsupported("a crypto/tls server sends no HRR cookie")
	}
	if number("TD_EARLY_DATA", 0) != 0 {
		unsupported("a crypto/tls server never accepts 0-RTT data")
	}
	switch n := number("TD_TICKETS", 1); {
	case n == 0:
		cfg.SessionTicketsDisabled = true
	case n > 1:
		unsupported("a crypto/tls server sends exactly one NewSessionTicket; case needs %d", n)
	}
	groups := list("TD_GROUPS")
	if groups == nil {
		groups = defaultGroups
	}
	if os.Getenv("TD_HRR") == "always" {
		// processClientHello (handshake_server_tls13.go) picks its first
		// preferred group the client sent a share for, else asks (HRR) for
		// its first preferred group the client supports: preferring only
		// groups without a share makes it ask.
		groups = list("TD_HRR_GROUPS")
		if groups == nil {
			unsupported("hrr always: every group both sides share has a key share, crypto/tls would not ask again")
		}
	}
	cfg.CurvePreferences = curves(groups)
	noVerify := os.Getenv("TD_NO_VERIFY") == "1"
	switch os.Getenv("TD_CLIENT_AUTH") {
	case "", "none":
		cfg.ClientAuth = tls.NoClientCert
	case "request":
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if noVerify {
			cfg.ClientAuth = tls.RequestClientCert
		}
	case "require":
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		if noVerify {
			cfg.ClientAuth = tls.RequireAnyClientCert
		}
	default:
		fatal("TD_CLIENT_AUTH=%q", os.Getenv("TD_CLIENT_AUTH"))
	}
	if ca := os.Getenv("TD_CA"); ca != "" {
		cfg.ClientCAs = pool(ca)
	}
	return cfg
}

// serve runs one connection: the handshake, then an echo of the application
// data until the client ends the connection (Close sends close_notify).
func serve(n int, c *tls.Conn) {
	defer c.Close()
	if err := c.Handshake(); err != nil {
		logf("connection %d: %v", n, err)
		return
	}
	st := c.ConnectionState()
	logf("connection %d: handshake complete: %s, resumed %v, alpn %q", n,
		tls.CipherSuiteName(st.CipherSuite), st.DidResume, st.NegotiatedProtocol)
	buf := make([]byte, 1<<16)
	for {
		k, err := c.Read(buf)
		if k > 0 {
			if _, werr := c.Write(buf[:k]); werr != nil {
				logf("connection %d: %v", n, werr)
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				logf("connection %d: %v", n, err)
			}
			return
		}
	}
}

func runServer() {
	cfg := serverConfig()
	ln, err := net.Listen("tcp", addr())
	if err != nil {
		fatal("%v", err)
	}
	// Every connection of a case (a resumption is the second) is served by
	// this process with one Config: the same session ticket keys.
	for n := 1; ; n++ {
		conn, err := ln.Accept()
		if err != nil {
			fatal("%v", err)
		}
		go serve(n, tls.Server(conn, cfg))
	}
}

// recordingCache is a ClientSessionCache that notes whether a ticket arrived.
type recordingCache struct {
	tls.ClientSessionCache
	mu  sync.Mutex
	got bool
}

func (r *recordingCache) Put(key string, cs *tls.ClientSessionState) {
	if cs != nil {
		r.mu.Lock()
		r.got = true
		r.mu.Unlock()
	}
	r.ClientSessionCache.Put(key, cs)
}

func (r *recordingCache) hasTicket() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got
}

func clientConfig() *tls.Config {
	cfg := common()
	if kp, ok := keyPair(); ok {
		cfg.Certificates = []tls.Certificate{kp}
	}
	groups := list("TD_GROUPS")
	if groups == nil {
		groups = defaultGroups
	}
	cfg.CurvePreferences = curves(groups)
	// The client sends one key share, for its first preferred group
	// (makeClientHello, handshake_client.go).
	if s := list("TD_SHARES"); s != nil && (len(s) != 1 || s[0] != groups[0]) {
		unsupported("a crypto/tls client sends one key share, for its first group (%s); case needs %s",
			groups[0], os.Getenv("TD_SHARES"))
	}
	if os.Getenv("TD_PSK_KE_ONLY") == "1" || os.Getenv("TD_PSK_KE") == "1" {
		unsupported("a crypto/tls client offers psk_dhe_ke only")
	}
	if number("TD_EARLY_DATA", 0) != 0 {
		unsupported("a crypto/tls client never sends 0-RTT data")
	}
	// TD_COMPAT: crypto/tls's client always uses middlebox compatibility mode
	// (a 32-byte legacy_session_id, a change_cipher_spec before its second
	// flight), so compat 1 is honoured and compat 0 is a hint it ignores.
	sni := os.Getenv("TD_SNI")
	name := os.Getenv("TD_VERIFY_NAME")
	if name == "" {
		name = "server.tlsdrill.test"
	}
	cfg.ServerName = sni // what goes on the wire (empty: no server_name)
	var roots *x509.CertPool
	if ca := os.Getenv("TD_CA"); ca != "" {
		roots = pool(ca)
	}
	cfg.RootCAs = roots
	switch {
	case os.Getenv("TD_NO_VERIFY") == "1":
		cfg.InsecureSkipVerify = true
	case sni == name:
		// crypto/tls's own verification (verifyServerCertificate).
	default:
		// ServerName is both the SNI and the name verified; to send one
		// and verify another, the same verification by hand (the alert
		// for a failure is bad_certificate either way).
		cfg.InsecureSkipVerify = true
		cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			certs := make([]*x509.Certificate, len(raw))
			for i, der := range raw {
				c, err := x509.ParseCertificate(der)
				if err != nil {
					return err
				}
				certs[i] = c
			}
			if len(certs) == 0 {
				return errors.New("no server certificate")
			}
			opts := x509.VerifyOptions{Roots: roots, DNSName: name, Intermediates: x509.NewCertPool()}
			for _, c := range certs[1:] {
				opts.Intermediates.AddCert(c)
			}
			_, err := certs[0].Verify(opts)
			return err
		}
	}
	return cfg
}

// connect makes one connection: the handshake, then reads (tickets,
// KeyUpdates, data) until the server ends it. False if the handshake failed.
func connect(n int, cfg *tls.Config) bool {
	raw, err := net.DialTimeout("tcp", addr(), 10*time.Second)
	if err != nil {
		fatal("connection %d: %v", n, err)
	}
	c := tls.Client(raw, cfg)
	defer c.Close()
	if err := c.Handshake(); err != nil {
		logf("connection %d: %v", n, err)
		return false
	}
	st := c.ConnectionState()
	logf("connection %d: handshake complete: %s, resumed %v, alpn %q", n,
		tls.CipherSuiteName(st.CipherSuite), st.DidResume, st.NegotiatedProtocol)
	buf := make([]byte, 1<<16)
	for {
		if _, err := c.Read(buf); err != nil {
			if !errors.Is(err, io.EOF) {
				logf("connection %d: %v", n, err)
			}
			return true
		}
	}
}

func runClient() {
	if os.Getenv("TD_RESUME") == "second" {
		// The runner starts a second process only when the first one ended
		// without resuming by itself.
		unsupported("crypto/tls 1.19 cannot resume from a saved session (no session " +
			"serialisation before Go 1.21): this shim resumes within one process, and " +
			"the first connection left no ticket")
	}
	cfg := clientConfig()
	cache := &recordingCache{ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	cfg.ClientSessionCache = cache
	if !connect(1, cfg) {
		os.Exit(1)
	}
	if os.Getenv("TD_RESUME") != "first" {
		return
	}
	// TD_RESUME=first: a resumption follows; the same process makes it, with
	// the session the first connection's NewSessionTicket left in the cache.
	if !cache.hasTicket() {
		fatal("the first connection left no usable NewSessionTicket to resume with")
	}
	if !connect(2, cfg) {
		os.Exit(1)
	}
}

func main() {
	switch role {
	case "server":
		runServer()
	case "client":
		runClient()
	case "version":
		// tlsdrill peers --version, tools/matrix.py: the Go release that
		// built this shim, whose crypto/tls is the SUT.
		fmt.Printf("Go %s crypto/tls (tools/peers/go)\n", strings.TrimPrefix(runtime.Version(), "go"))
	default:
		fatal("TD_ROLE=%q (server, client or version)", role)
	}
}
