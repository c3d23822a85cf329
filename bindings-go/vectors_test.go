package charter_test

// The shared test vectors (../vectors, see its README) checked through the
// binding, case by case, as the Rust runner
// (vectors/generate/tests/vectors.rs) checks them through the core; plus
// independent oracles on the vector bytes: crypto/ed25519 for the token
// signatures, crypto/sha256 for principals, golang.org/x/mod/sumdb/tlog
// for the tree and golang.org/x/mod/sumdb/note for the checkpoints.

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"charter.dev/charter"
)

const vectorsDir = "../vectors"

// vectorCheckers check one file each and return how many cases they
// checked. Every file in the directory must have one.
var vectorCheckers = map[string]func(t *testing.T, raw []byte) int{
	"status.json": checkStatusVectors,
	"topics.json": checkTopicVectors,
	"tokens.json": checkTokenVectors,
	"audit.json":  checkAuditVectors,
}

func TestVectors(t *testing.T) {
	entries, err := os.ReadDir(vectorsDir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	total := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		check, ok := vectorCheckers[name]
		if !ok {
			t.Errorf("vectors/%s has no checker in vectors_test.go", name)
			continue
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			raw := readVectors(t, name)
			var head struct {
				Schema      int    `json:"schema"`
				Description string `json:"description"`
			}
			if err := json.Unmarshal(raw, &head); err != nil {
				t.Fatal(err)
			}
			if head.Schema != 1 || head.Description == "" {
				t.Fatalf("schema %d, description %q", head.Schema, head.Description)
			}
			n := check(t, raw)
			total += n
			t.Logf("%d cases", n)
		})
	}
	for name := range vectorCheckers {
		if !seen[name] {
			t.Errorf("vectors/%s is missing", name)
		}
	}
	t.Logf("%d cases in all", total)
}

// decodeVectors decodes raw into v, refusing fields v does not name, so a
// field added to the vectors cannot go unchecked here.
// readVectors reads the vector file at the path parts name under
// vectorsDir.
func readVectors(t *testing.T, parts ...string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(append([]string{vectorsDir}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func decodeVectors(t *testing.T, raw []byte, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("decoding: %v", err)
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return b
}

func hashOf(t *testing.T, s string) charter.Hash {
	t.Helper()
	b := unhex(t, s)
	if len(b) != charter.HashLen {
		t.Fatalf("a hash of %d bytes: %s", len(b), s)
	}
	return charter.Hash(b)
}

// statusName is the C name of err's status: "CHARTER_OK" for nil.
func statusName(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return "CHARTER_OK"
	}
	var e *charter.Error
	if !errors.As(err, &e) {
		t.Fatalf("%v is not a *charter.Error", err)
	}
	return e.Code.String()
}

// ---- status.json ----

// statusSentinels maps every error status to its sentinel, or to nil for
// the statuses a Go caller never receives (errors.go says why), which have
// none.
var statusSentinels = map[string]error{
	"CHARTER_E_NULL_ARGUMENT":     charter.ErrNullArgument,
	"CHARTER_E_INVALID_ARGUMENT":  charter.ErrInvalidArgument,
	"CHARTER_E_INVALID_UTF8":      charter.ErrInvalidUTF8,
	"CHARTER_E_INVALID_HANDLE":    nil,
	"CHARTER_E_WRONG_HANDLE_TYPE": nil,
	"CHARTER_E_HANDLE_FREED":      nil,
	"CHARTER_E_ALREADY_FREED":     nil,
	"CHARTER_E_LIMIT_EXCEEDED":    charter.ErrLimitExceeded,
	"CHARTER_E_NOT_FOUND":         charter.ErrNotFound,
	"CHARTER_E_DENIED":            charter.ErrDenied,
	"CHARTER_E_EXPIRED":           charter.ErrExpired,
	"CHARTER_E_NOT_YET_VALID":     charter.ErrNotYetValid,
	"CHARTER_E_REVOKED":           charter.ErrRevoked,
	"CHARTER_E_BAD_SIGNATURE":     charter.ErrBadSignature,
	"CHARTER_E_MALFORMED":         charter.ErrMalformed,
	"CHARTER_E_UNTRUSTED_ROOT":    charter.ErrUntrustedRoot,
	"CHARTER_E_WOULD_BLOCK":       charter.ErrWouldBlock,
	"CHARTER_E_TIMEOUT":           charter.ErrTimeout,
	"CHARTER_E_CLOSED":            charter.ErrClosed,
	"CHARTER_E_IO":                charter.ErrIO,
	"CHARTER_E_CORRUPT":           charter.ErrCorrupt,
	"CHARTER_E_PANIC":             nil,
	"CHARTER_E_INTERNAL":          nil,
	"CHARTER_E_CANCELLED":         charter.ErrCancelled,
}

// Each status has its name, and every error status a Go caller can
// receive has its sentinel, which an error of that code matches.
func checkStatusVectors(t *testing.T, raw []byte) int {
	var v struct {
		Schema      int    `json:"schema"`
		Description string `json:"description"`
		Cases       []struct {
			Code int32  `json:"code"`
			Name string `json:"name"`
		} `json:"cases"`
	}
	decodeVectors(t, raw, &v)
	if len(v.Cases) != len(statusSentinels)+1 || v.Cases[0].Name != "CHARTER_OK" || v.Cases[0].Code != 0 {
		t.Errorf("%d cases, the first %+v; the binding has CHARTER_OK and %d errors", len(v.Cases), v.Cases[0],
			len(statusSentinels))
	}
	for _, c := range v.Cases {
		code := charter.Status(c.Code)
		if code.String() != c.Name {
			t.Errorf("Status(%d) is %s, expected %s", c.Code, code, c.Name)
		}
		if c.Code == 0 {
			continue
		}
		sentinel, ok := statusSentinels[c.Name]
		if !ok {
			t.Errorf("the binding has no sentinel for %s", c.Name)
		} else if sentinel != nil && !errors.Is(&charter.Error{Code: code, Message: "m"}, sentinel) {
			t.Errorf("an error of code %d does not match the sentinel of %s", c.Code, c.Name)
		}
	}
	return len(v.Cases)
}

// ---- topics.json ----

// checkValidity is nil for a valid text; otherwise the error must be an
// *Error matching ErrInvalidArgument.
func checkValidity(t *testing.T, what, text string, valid bool, err error) {
	t.Helper()
	if valid {
		if err != nil {
			t.Errorf("%s(%q): %v, expected valid", what, text, err)
		}
		return
	}
	var e *charter.Error
	if !errors.As(err, &e) || !errors.Is(err, charter.ErrInvalidArgument) || e.Message == "" {
		t.Errorf("%s(%q) = %v, expected an INVALID_ARGUMENT *charter.Error with a message", what, text, err)
	}
}

func checkTopicVectors(t *testing.T, raw []byte) int {
	var v struct {
		Schema        int    `json:"schema"`
		Description   string `json:"description"`
		MaxTopicBytes int    `json:"max_topic_bytes"`
		Validity      []struct {
			Text         string `json:"text"`
			ValidTopic   bool   `json:"valid_topic"`
			ValidPattern bool   `json:"valid_pattern"`
		} `json:"validity"`
		Matching []struct {
			Pattern string `json:"pattern"`
			Topic   string `json:"topic"`
			Matches bool   `json:"matches"`
		} `json:"matching"`
		Containment []struct {
			Inner     string `json:"inner"`
			Outer     string `json:"outer"`
			Contained bool   `json:"contained"`
		} `json:"containment"`
	}
	decodeVectors(t, raw, &v)
	for _, c := range v.Validity {
		checkValidity(t, "ValidateTopic", c.Text, c.ValidTopic, charter.ValidateTopic(c.Text))
		checkValidity(t, "ValidatePattern", c.Text, c.ValidPattern, charter.ValidatePattern(c.Text))
		if c.ValidTopic && len(c.Text) > v.MaxTopicBytes {
			t.Errorf("%q is valid but over max_topic_bytes", c.Text)
		}
	}
	for _, c := range v.Matching {
		got, err := charter.TopicMatches(c.Pattern, c.Topic)
		if err != nil || got != c.Matches {
			t.Errorf("TopicMatches(%q, %q) = %v, %v; expected %v", c.Pattern, c.Topic, got, err, c.Matches)
		}
	}
	for _, c := range v.Containment {
		got, err := charter.PatternContains(c.Inner, c.Outer)
		if err != nil || got != c.Contained {
			t.Errorf("PatternContains(%q, %q) = %v, %v; expected %v", c.Inner, c.Outer, got, err, c.Contained)
		}
	}
	return len(v.Validity) + len(v.Matching) + len(v.Containment)
}

// ---- tokens.json ----

type vectorKey struct {
	Name         string `json:"name"`
	PKCS8Hex     string `json:"pkcs8_hex"`
	Principal    string `json:"principal"`
	PublicKey    string `json:"public_key"`
	PublicKeyHex string `json:"public_key_hex"`
}

type tokenCase struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	TokenHex    string   `json:"token_hex"`
	Roots       []string `json:"roots"`
	Now         int64    `json:"now"`
	Revoked     []string `json:"revoked"`
	Expect      string   `json:"expect"`
	TokenText   string   `json:"token_text"`
	Subject     string   `json:"subject"`
	Grants      []string `json:"grants"`
	NotBefore   int64    `json:"not_before"`
	NotAfter    int64    `json:"not_after"`
	LinkIDs     []string `json:"link_ids"`
	Signatures  []struct {
		PublicKeyHex string `json:"public_key_hex"`
		MessageHex   string `json:"message_hex"`
		SignatureHex string `json:"signature_hex"`
	} `json:"signatures"`
}

// keyBytes is the 32-byte key in the text form pk ("charter-pk1:" and
// unpadded base64url).
func keyBytes(t *testing.T, pk string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(pk, "charter-pk1:"))
	if err != nil || len(b) != ed25519.PublicKeySize || !strings.HasPrefix(pk, "charter-pk1:") {
		t.Fatalf("public key %q: %d bytes, %v", pk, len(b), err)
	}
	return b
}

// principalOf computes the principal of the key pk as docs/formats.md
// defines it: SHA-256 of the key.
func principalOf(t *testing.T, pk string) string {
	t.Helper()
	sum := sha256.Sum256(keyBytes(t, pk))
	return "charter-id1:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

func checkTokenVectors(t *testing.T, raw []byte) int {
	var v struct {
		Schema      int         `json:"schema"`
		Description string      `json:"description"`
		Keys        []vectorKey `json:"keys"`
		ClockSkew   int64       `json:"clock_skew"`
		MaxLifetime int64       `json:"max_lifetime"`
		Cases       []tokenCase `json:"cases"`
	}
	decodeVectors(t, raw, &v)
	principals := map[string]string{}
	for _, k := range v.Keys {
		if got := principalOf(t, k.PublicKey); got != k.Principal {
			t.Errorf("key %s: SHA-256 of its public key gives %s, the vector says %s", k.Name, got, k.Principal)
		}
		if hex.EncodeToString(keyBytes(t, k.PublicKey)) != k.PublicKeyHex {
			t.Errorf("key %s: public_key and public_key_hex differ", k.Name)
		}
		pair, err := charter.KeyPairFromPKCS8(unhex(t, k.PKCS8Hex))
		if err != nil {
			t.Fatalf("key %s: %v", k.Name, err)
		}
		if pk := pair.PublicKey(); string(pk) != k.PublicKey {
			t.Errorf("key %s: its PKCS#8 gives %s", k.Name, pk)
		}
		pair.Close()
		principals[k.PublicKey] = k.Principal
	}
	for _, c := range v.Cases {
		checkTokenCase(t, c, principals, time.Duration(v.ClockSkew)*time.Second,
			time.Duration(v.MaxLifetime)*time.Second)
	}
	return len(v.Cases)
}

func checkTokenCase(t *testing.T, c tokenCase, principals map[string]string, skew, lifetime time.Duration) {
	roots := make([]charter.PublicKey, len(c.Roots))
	for i, r := range c.Roots {
		roots[i] = charter.PublicKey(r)
	}
	a, err := charter.NewAuthority(roots, charter.WithClockSkew(skew), charter.WithMaxLifetime(lifetime),
		charter.WithFixedTime(time.Unix(c.Now, 0)))
	if err != nil {
		t.Fatalf("%s: NewAuthority: %v", c.Name, err)
	}
	defer a.Close()
	for _, id := range c.Revoked {
		if fresh, err := a.Revoke(id); err != nil || !fresh {
			t.Errorf("%s: Revoke(%s) = %v, %v", c.Name, id, fresh, err)
		}
	}
	tokenBytes := unhex(t, c.TokenHex)
	var principal string
	tok, err := charter.DecodeToken(tokenBytes)
	if err == nil {
		defer tok.Close()
		principal, err = a.Verify(tok)
	}
	if got := statusName(t, err); got != c.Expect {
		t.Errorf("%s: the outcome is %s (%v), expected %s", c.Name, got, err, c.Expect)
		return
	}
	if c.Expect != "CHARTER_OK" {
		return
	}
	if want := principalOf(t, c.Subject); principal != want || principals[c.Subject] != want {
		t.Errorf("%s: the holder is %s; SHA-256 of the subject gives %s, the key table %s", c.Name, principal,
			want, principals[c.Subject])
	}
	parsed, err := charter.ParseToken(c.TokenText)
	if err != nil {
		t.Fatalf("%s: ParseToken: %v", c.Name, err)
	}
	if b, err := parsed.Bytes(); err != nil || !bytes.Equal(b, tokenBytes) {
		t.Errorf("%s: token_text gives %x, %v", c.Name, b, err)
	}
	parsed.Close()
	if n := tok.LinkCount(); n != len(c.LinkIDs) || n != len(c.Signatures) {
		t.Errorf("%s: %d links, %d link ids, %d signatures", c.Name, n, len(c.LinkIDs),
			len(c.Signatures))
	}
	for i, want := range c.LinkIDs {
		if id, err := tok.LinkID(i); err != nil || id != want {
			t.Errorf("%s: link %d has id %s (%v), expected %s", c.Name, i, id, err, want)
		}
	}
	checkLinks(t, c, tokenBytes)
}

// checkLinks is the independent oracle on each link, from the layout of
// docs/formats.md: crypto/ed25519 accepts its signature over its message,
// which is "charter/token-link/v1", a NUL and the body exactly as the token
// holds it; the signer is the root key for link 0, the previous subject
// after; the anchor is the root key, then the previous link's id; the id
// is SHA-256 of body_len, body and signature; the last link names the
// holder, the window and the grants of the case.
func checkLinks(t *testing.T, c tokenCase, tokenBytes []byte) {
	signer, anchor := keyBytes(t, c.Roots[0]), keyBytes(t, c.Roots[0])
	var last []byte
	for i, s := range c.Signatures {
		pub, msg, sig := unhex(t, s.PublicKeyHex), unhex(t, s.MessageHex), unhex(t, s.SignatureHex)
		if !bytes.Equal(pub, signer) {
			t.Errorf("%s: link %d is signed by %x, expected %x", c.Name, i, pub, signer)
		}
		if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, msg, sig) {
			t.Errorf("%s: crypto/ed25519 rejects the signature of link %d", c.Name, i)
		}
		body, ok := bytes.CutPrefix(msg, []byte("charter/token-link/v1\x00"))
		if !ok || len(body) < 83 {
			t.Fatalf("%s: link %d's message is not a domain and a body", c.Name, i)
		}
		link := append([]byte{byte(len(body) >> 8), byte(len(body))}, body...)
		link = append(link, sig...)
		if !bytes.Contains(tokenBytes, link) {
			t.Errorf("%s: link %d (body_len, body, signature) is not in the token", c.Name, i)
		}
		if !bytes.Equal(body[2:34], anchor) {
			t.Errorf("%s: link %d's anchor is %x, expected %x", c.Name, i, body[2:34], anchor)
		}
		id := sha256.Sum256(link)
		if i < len(c.LinkIDs) && hex.EncodeToString(id[:]) != c.LinkIDs[i] {
			t.Errorf("%s: SHA-256 of link %d is %x, link_ids has %s", c.Name, i, id, c.LinkIDs[i])
		}
		signer, anchor, last = body[34:66], id[:], body
	}
	if last == nil {
		t.Fatalf("%s: no signatures", c.Name)
	}
	if !bytes.Equal(signer, keyBytes(t, c.Subject)) {
		t.Errorf("%s: the last link's subject is %x, expected %s", c.Name, signer, c.Subject)
	}
	notBefore, notAfter := binary.BigEndian.Uint64(last[66:74]), binary.BigEndian.Uint64(last[74:82])
	if notBefore != uint64(c.NotBefore) || notAfter != uint64(c.NotAfter) {
		t.Errorf("%s: the last link's window is %d..%d, expected %d..%d", c.Name, notBefore, notAfter,
			c.NotBefore, c.NotAfter)
	}
	actions := map[byte]string{1: "publish", 2: "subscribe", 3: "request"}
	var grants []string
	rest := last[83:]
	for n := int(last[82]); n > 0 && len(rest) >= 2 && len(rest) >= 2+int(rest[1]); n-- {
		grants = append(grants, actions[rest[0]]+" "+string(rest[2:2+int(rest[1])]))
		rest = rest[2+int(rest[1]):]
	}
	if strings.Join(grants, "\n") != strings.Join(c.Grants, "\n") || len(rest) != 0 {
		t.Errorf("%s: the last link grants %q (%d bytes left), expected %q", c.Name, grants, len(rest), c.Grants)
	}
}

// ---- audit.json ----

type auditVectors struct {
	Schema      int       `json:"schema"`
	Description string    `json:"description"`
	Origin      string    `json:"origin"`
	Signer      vectorKey `json:"signer"`
	Actor       vectorKey `json:"actor"`
	VerifierKey string    `json:"verifier_key"`
	Records     []struct {
		Index       uint64  `json:"index"`
		Time        int64   `json:"time"`
		Actor       *string `json:"actor"`
		Unproven    bool    `json:"actor_unproven"`
		Action      string  `json:"action"`
		Resource    string  `json:"resource"`
		Decision    string  `json:"decision"`
		Reason      int32   `json:"reason"`
		Detail      string  `json:"detail"`
		LeafHex     string  `json:"leaf_hex"`
		LeafHashHex string  `json:"leaf_hash_hex"`
	} `json:"records"`
	Roots     []string `json:"roots"`
	Inclusion []struct {
		Index uint64   `json:"index"`
		Size  uint64   `json:"size"`
		Proof []string `json:"proof"`
	} `json:"inclusion"`
	Consistency []struct {
		OldSize uint64   `json:"old_size"`
		NewSize uint64   `json:"new_size"`
		Proof   []string `json:"proof"`
	} `json:"consistency"`
	Checkpoints []struct {
		Size    uint64 `json:"size"`
		RootHex string `json:"root_hex"`
		Note    string `json:"note"`
	} `json:"checkpoints"`
	Witnesses []struct {
		Name        string    `json:"name"`
		Key         vectorKey `json:"key"`
		VerifierKey string    `json:"verifier_key"`
	} `json:"witnesses"`
	Cosignatures []struct {
		Name       string   `json:"name"`
		Note       string   `json:"note"`
		Quorum     int      `json:"quorum"`
		Valid      bool     `json:"valid"`
		Size       uint64   `json:"size"`
		CosignedBy []string `json:"cosigned_by"`
		Timestamps []uint64 `json:"timestamps"`
		Status     string   `json:"status"`
	} `json:"cosignatures"`
	WitnessRequest struct {
		Witness       string `json:"witness"`
		OldSize       uint64 `json:"old_size"`
		Note          string `json:"note"`
		Request       string `json:"request"`
		Timestamp     int64  `json:"timestamp"`
		SignedMessage string `json:"signed_message"`
		Cosignature   string `json:"cosignature"`
	} `json:"witness_request"`
}

var decisions = map[string]charter.Decision{
	"allow": charter.DecisionAllow,
	"deny":  charter.DecisionDeny,
	"error": charter.DecisionError,
}

func proofOf(t *testing.T, hexes []string) []charter.Hash {
	t.Helper()
	proof := make([]charter.Hash, len(hexes))
	for i, h := range hexes {
		proof[i] = hashOf(t, h)
	}
	return proof
}

func sameProof(a, b []charter.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func checkAuditVectors(t *testing.T, raw []byte) int {
	var v auditVectors
	decodeVectors(t, raw, &v)
	if len(v.Roots) != len(v.Records)+1 {
		t.Fatalf("%d roots for %d records", len(v.Roots), len(v.Records))
	}
	roots := proofOf(t, v.Roots)
	leaves := make([]charter.Hash, len(v.Records))
	for i, r := range v.Records {
		leaves[i] = hashOf(t, r.LeafHashHex)
		leaf := unhex(t, r.LeafHex)
		if got := charter.LeafHash(leaf); got != leaves[i] {
			t.Errorf("records[%d]: LeafHash(leaf_hex) = %v, expected %v", i, got, leaves[i])
		}
		if got := tlog.RecordHash(leaf); got != tlog.Hash(leaves[i]) {
			t.Errorf("records[%d]: tlog.RecordHash(leaf_hex) = %v, expected %v", i, got, leaves[i])
		}
	}
	checkTlogRoots(t, leaves, roots)
	l := checkAuditAppends(t, &v, leaves, roots)
	defer l.Close()

	for _, c := range v.Inclusion {
		if c.Index >= c.Size || c.Size >= uint64(len(roots)) {
			t.Fatalf("inclusion of %d in %d, past the records", c.Index, c.Size)
		}
		proof := proofOf(t, c.Proof)
		if err := charter.VerifyInclusion(leaves[c.Index], c.Index, c.Size, proof, roots[c.Size]); err != nil {
			t.Errorf("VerifyInclusion(%d in %d): %v", c.Index, c.Size, err)
		}
		if err := tlog.CheckRecord(tlogProof(proof), int64(c.Size), tlog.Hash(roots[c.Size]), int64(c.Index),
			tlog.Hash(leaves[c.Index])); err != nil {
			t.Errorf("tlog.CheckRecord(%d in %d): %v", c.Index, c.Size, err)
		}
		if got, err := l.ProveInclusion(c.Index, c.Size); err != nil || !sameProof(got, proof) {
			t.Errorf("ProveInclusion(%d, %d) = %v, %v; the vector has %v", c.Index, c.Size, got, err, proof)
		}
	}
	for _, c := range v.Consistency {
		m, n := c.OldSize, c.NewSize
		if m > n || n >= uint64(len(roots)) {
			t.Fatalf("consistency of %d to %d, past the records", m, n)
		}
		proof := proofOf(t, c.Proof)
		if err := charter.VerifyConsistency(m, n, roots[m], roots[n], proof); err != nil {
			t.Errorf("VerifyConsistency(%d, %d): %v", m, n, err)
		}
		// tlog proves trees of at least one leaf; the proof from the empty
		// tree is empty (RFC 9162).
		if m == 0 && len(proof) != 0 {
			t.Errorf("consistency from 0 to %d has %d hashes", n, len(proof))
		} else if m > 0 {
			if err := tlog.CheckTree(tlogProof(proof), int64(n), tlog.Hash(roots[n]), int64(m),
				tlog.Hash(roots[m])); err != nil {
				t.Errorf("tlog.CheckTree(%d to %d): %v", m, n, err)
			}
		}
		if got, err := l.ProveConsistency(m, n); err != nil || !sameProof(got, proof) {
			t.Errorf("ProveConsistency(%d, %d) = %v, %v; the vector has %v", m, n, got, err, proof)
		}
	}
	checkCheckpointVectors(t, &v, roots)
	checkCosignatureVectors(t, &v)
	// And the log signature on each cosigned note, by x/mod's note (which
	// leaves the cosignature lines, by keys it is not given, unverified).
	logKey, err := note.NewVerifier(v.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range v.Cosignatures {
		if _, err := note.Open([]byte(c.Note), note.VerifierList(logKey)); err != nil {
			t.Errorf("cosignatures %q: the log signature: %v", c.Name, err)
		}
	}
	return 1 + len(v.Records) + len(v.Inclusion) + len(v.Consistency) + len(v.Checkpoints) + len(v.Witnesses) +
		len(v.Cosignatures) + 1
}

// checkTlogRoots is the tlog oracle: the roots recomputed from the vector
// leaf hashes are the vector roots.
func checkTlogRoots(t *testing.T, leaves, roots []charter.Hash) {
	var store hashStore
	for n := range leaves {
		added, err := tlog.StoredHashesForRecordHash(int64(n), tlog.Hash(leaves[n]), store)
		if err != nil {
			t.Fatal(err)
		}
		store = append(store, added...)
		want, err := tlog.TreeHash(int64(n+1), store)
		if err != nil {
			t.Fatal(err)
		}
		if tlog.Hash(roots[n+1]) != want {
			t.Errorf("roots[%d] is %v, tlog.TreeHash gives %v", n+1, roots[n+1], want)
		}
	}
	if empty := sha256.Sum256(nil); roots[0] != charter.Hash(empty) {
		t.Errorf("roots[0] is %v, not SHA-256 of nothing", roots[0])
	}
}

// checkAuditAppends appends every record to a fresh log signing as the
// vector signer: each gets its index and leaf hash, the root after n
// appends is roots[n], and the log signs exactly the vector checkpoints
// (Ed25519 is deterministic). It returns the log.
func checkAuditAppends(t *testing.T, v *auditVectors, leaves, roots []charter.Hash) *charter.AuditLog {
	signer, err := charter.KeyPairFromPKCS8(unhex(t, v.Signer.PKCS8Hex))
	if err != nil {
		t.Fatal(err)
	}
	defer signer.Close()
	l, err := charter.OpenAuditInMemory(charter.WithSigner(signer), charter.WithOrigin(v.Origin))
	if err != nil {
		t.Fatal(err)
	}
	if vkey, err := l.VerifierKey(); err != nil || vkey != v.VerifierKey {
		t.Errorf("VerifierKey() = %q, %v; expected %q", vkey, err, v.VerifierKey)
	}
	notes := map[uint64]string{}
	for _, c := range v.Checkpoints {
		notes[c.Size] = c.Note
	}
	checkNote := func(size uint64) {
		want, ok := notes[size]
		if !ok {
			return
		}
		if got, err := l.Checkpoint(); err != nil || got != want {
			t.Errorf("the checkpoint of %d records is %q, %v; expected %q", size, got, err, want)
		}
	}
	if root, err := l.Root(); err != nil || root != roots[0] {
		t.Errorf("the empty log's root is %v, %v", root, err)
	}
	checkNote(0)
	for i, r := range v.Records {
		rec := charter.Record{
			Time:     time.UnixMilli(r.Time),
			Action:   r.Action,
			Resource: r.Resource,
			Decision: decisions[r.Decision],
			Reason:   charter.Status(r.Reason),
			Detail:   r.Detail,
		}
		if r.Actor != nil {
			rec.Actor = *r.Actor
		}
		rec.ActorUnproven = r.Unproven
		index, err := l.Append(rec)
		if err != nil || index != r.Index || index != uint64(i) {
			t.Fatalf("records[%d]: Append = %d, %v", i, index, err)
		}
		if h, err := l.RecordHash(index); err != nil || h != leaves[i] {
			t.Errorf("records[%d]: RecordHash = %v, %v; expected %v", i, h, err, leaves[i])
		}
		if root, err := l.Root(); err != nil || root != roots[i+1] {
			t.Errorf("records[%d]: the root is %v, %v; expected roots[%d] %v", i, root, err, i+1, roots[i+1])
		}
		checkNote(uint64(i + 1))
	}
	return l
}

// checkCosignatureVectors derives each witness's cosigner key, verifies
// each cosigned note k-of-n as the vector says, and has a witness answer the
// add-checkpoint request with exactly the vector's cosignature (Ed25519 is
// deterministic). The binding has no request parser (the C ABI has none), so
// the request's old size and proof lines are read here.
func checkCosignatureVectors(t *testing.T, v *auditVectors) {
	keys := map[string]*charter.KeyPair{}
	var wkeys []string
	for _, w := range v.Witnesses {
		pair, err := charter.KeyPairFromPKCS8(unhex(t, w.Key.PKCS8Hex))
		if err != nil {
			t.Fatal(err)
		}
		defer pair.Close()
		keys[w.Name] = pair
		if got, err := charter.CosignerKey(w.Name, pair); err != nil || got != w.VerifierKey {
			t.Errorf("CosignerKey(%s) = %q, %v; expected %q", w.Name, got, err, w.VerifierKey)
		}
		wkeys = append(wkeys, w.VerifierKey)
	}
	for _, c := range v.Cosignatures {
		got, err := charter.VerifyCosigned(c.Note, v.VerifierKey, wkeys, c.Quorum)
		switch {
		case c.Valid && (err != nil || got.Size != c.Size || got.Witnesses != len(c.CosignedBy)):
			t.Errorf("%s: VerifyCosigned = %+v, %v; expected size %d by %v", c.Name, got, err, c.Size, c.CosignedBy)
		case !c.Valid && statusName(t, err) != c.Status:
			t.Errorf("%s: VerifyCosigned: %v; expected %s", c.Name, err, c.Status)
		}
	}

	r := v.WitnessRequest
	key := keys[r.Witness]
	if key == nil {
		t.Fatalf("witness_request by unknown witness %q", r.Witness)
	}
	line, err := charter.Cosign(r.Note, r.Witness, key, time.Unix(r.Timestamp, 0))
	if err != nil || line != r.Cosignature {
		t.Errorf("Cosign(witness_request) = %q, %v; expected %q", line, err, r.Cosignature)
	}
	head, rest, _ := strings.Cut(r.Request, "\n\n")
	lines := strings.Split(head, "\n")
	if lines[0] != "old "+strconv.FormatUint(r.OldSize, 10) || rest != r.Note {
		t.Fatalf("witness_request: request %q does not hold old_size and note", r.Request)
	}
	var proof []charter.Hash
	for _, b64 := range lines[1:] {
		h, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(h) != charter.HashLen {
			t.Fatalf("witness_request: proof line %q", b64)
		}
		proof = append(proof, charter.Hash(h))
	}
	var older string
	for _, cp := range v.Checkpoints {
		if cp.Size == r.OldSize {
			older = cp.Note
		}
	}
	if older == "" {
		t.Fatalf("no checkpoint of the request's old size %d", r.OldSize)
	}
	w, err := charter.OpenWitness(filepath.Join(t.TempDir(), "state"), r.Witness, key, v.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.AddCheckpointAt(0, nil, older, time.Unix(r.Timestamp, 0)); err != nil {
		t.Fatalf("the witness's first sight of size %d: %v", r.OldSize, err)
	}
	if got, err := w.AddCheckpointAt(r.OldSize, proof, r.Note, time.Unix(r.Timestamp, 0)); err != nil || got != r.Cosignature {
		t.Errorf("the witness's answer = %q, %v; expected %q", got, err, r.Cosignature)
	}
}

// checkCheckpointVectors verifies each checkpoint with the binding and with
// golang.org/x/mod/sumdb/note.
func checkCheckpointVectors(t *testing.T, v *auditVectors, roots []charter.Hash) {
	verifier, err := note.NewVerifier(v.VerifierKey)
	if err != nil {
		t.Fatalf("note.NewVerifier(%q): %v", v.VerifierKey, err)
	}
	for _, c := range v.Checkpoints {
		if c.Size >= uint64(len(roots)) || hashOf(t, c.RootHex) != roots[c.Size] {
			t.Errorf("checkpoint of %d: root_hex is not roots[size]", c.Size)
			continue
		}
		cp, err := charter.VerifyCheckpoint(c.Note, v.VerifierKey)
		if err != nil || cp.Origin != v.Origin || cp.Size != c.Size || cp.Root != roots[c.Size] {
			t.Errorf("VerifyCheckpoint(checkpoint of %d) = %+v, %v", c.Size, cp, err)
		}
		n, err := note.Open([]byte(c.Note), note.VerifierList(verifier))
		if err != nil {
			t.Errorf("note.Open(checkpoint of %d): %v", c.Size, err)
			continue
		}
		want := v.Origin + "\n" + strconv.FormatUint(c.Size, 10) + "\n" +
			base64.StdEncoding.EncodeToString(roots[c.Size][:]) + "\n"
		if n.Text != want || len(n.Sigs) != 1 || n.Sigs[0].Name != v.Origin {
			t.Errorf("checkpoint of %d: note text %q, signatures %+v", c.Size, n.Text, n.Sigs)
		}
	}
}
