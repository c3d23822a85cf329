package charter_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"charter.dev/charter"
)

// bridgeVectors is vectors/bridge/messages.json.
type bridgeVectors struct {
	AuthorityNow uint64              `json:"authority_now"`
	NowMs        int64               `json:"now_ms"`
	MaxSkewMs    int64               `json:"max_skew_ms"`
	TrustedRoots []charter.PublicKey `json:"trusted_roots"`
	RevokedLinks []string            `json:"revoked_links"`
	Keys         []struct {
		Name         string `json:"name"`
		Principal    string `json:"principal"`
		PublicKeyHex string `json:"public_key_hex"`
	} `json:"keys"`
	SealIDCases []struct {
		Name         string `json:"name"`
		Holder       string `json:"holder"`
		PrincipalHex string `json:"principal_hex"`
		Origin       string `json:"origin"`
		Seq          string `json:"seq"`
		HashedHex    string `json:"hashed_hex"`
		SealID       string `json:"seal_id"`
	} `json:"seal_id_cases"`
	SealCases []struct {
		Name           string      `json:"name"`
		Subject        string      `json:"subject"`
		Reply          *string     `json:"reply"`
		Headers        [][2]string `json:"headers"`
		PayloadHex     string      `json:"payload_hex"`
		SignedBytesHex string      `json:"signed_bytes_hex"`
	} `json:"seal_cases"`
	VerifyCases []struct {
		Name       string      `json:"name"`
		Subject    string      `json:"subject"`
		Reply      *string     `json:"reply"`
		Headers    [][2]string `json:"headers"`
		PayloadHex string      `json:"payload_hex"`
		Result     string      `json:"result"`
		Principal  string      `json:"principal"`
		Expect     struct {
			Kind    string `json:"kind"`
			Subject string `json:"subject"`
			Inbox   string `json:"inbox"`
			Nonce   string `json:"nonce"`
			SentMs  int64  `json:"sent_ms"`
		} `json:"expect"`
	} `json:"verify_cases"`
}

func loadBridgeVectors(t *testing.T) bridgeVectors {
	t.Helper()
	var v bridgeVectors
	if err := json.Unmarshal(readVectors(t, "bridge", "messages.json"), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

var envelopeHeaders = map[string]bool{
	"Charter-Origin": true, "Charter-Seq": true, "Charter-Time": true, "Charter-Token": true, "Charter-Proof": true,
}

// signedBytes builds the bytes a proof signs from docs/formats.md alone.
func signedBytes(t *testing.T, subject string, reply *string, headers [][2]string, payload []byte) []byte {
	t.Helper()
	fields := map[string]string{}
	var others [][2]string
	for _, h := range headers {
		if envelopeHeaders[h[0]] {
			fields[h[0]] = h[1]
		} else {
			others = append(others, h)
		}
	}
	sort.Slice(others, func(i, j int) bool {
		if others[i][0] != others[j][0] {
			return others[i][0] < others[j][0]
		}
		return others[i][1] < others[j][1]
	})
	token, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(fields["Charter-Token"], "charter-tok1:"))
	if err != nil {
		t.Fatal(err)
	}
	origin, err := hex.DecodeString(fields["Charter-Origin"])
	if err != nil {
		t.Fatal(err)
	}
	number := func(name string) uint64 {
		n, err := strconv.ParseUint(fields[name], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	var out bytes.Buffer
	str := func(s string) {
		_ = binary.Write(&out, binary.BigEndian, uint16(len(s)))
		out.WriteString(s)
	}
	out.WriteString("charter/bridge-message/v1\x00")
	out.Write(origin)
	_ = binary.Write(&out, binary.BigEndian, number("Charter-Seq"))
	_ = binary.Write(&out, binary.BigEndian, number("Charter-Time"))
	str(subject)
	if reply != nil {
		str(*reply)
	} else {
		str("")
	}
	tokenHash, payloadHash := sha256.Sum256(token), sha256.Sum256(payload)
	out.Write(tokenHash[:])
	out.Write(payloadHash[:])
	_ = binary.Write(&out, binary.BigEndian, uint16(len(others)))
	for _, h := range others {
		str(h[0])
		str(h[1])
	}
	return out.Bytes()
}

func header(headers [][2]string, name string) string {
	for _, h := range headers {
		if h[0] == name {
			return h[1]
		}
	}
	return ""
}

// TestBridgeSealVectors rebuilds each seal case's signed bytes from the
// spec and checks its proof with crypto/ed25519, not Charter's.
func TestBridgeSealVectors(t *testing.T) {
	v := loadBridgeVectors(t)
	if len(v.SealCases) < 4 {
		t.Fatalf("%d seal cases", len(v.SealCases))
	}
	auth := vectorAuthority(t, v)
	for _, c := range v.SealCases {
		payload, _ := hex.DecodeString(c.PayloadHex)
		signed := signedBytes(t, c.Subject, c.Reply, c.Headers, payload)
		if got := hex.EncodeToString(signed); got != c.SignedBytesHex {
			t.Errorf("%s: signed bytes\n got %s\nwant %s", c.Name, got, c.SignedBytesHex)
		}
		token, err := charter.ParseToken(header(c.Headers, "Charter-Token"))
		if err != nil {
			t.Fatal(err)
		}
		holder := holderKey(t, v, auth, token)
		proof, err := base64.RawURLEncoding.DecodeString(header(c.Headers, "Charter-Proof"))
		if err != nil {
			t.Fatal(err)
		}
		if !ed25519.Verify(holder, signed, proof) {
			t.Errorf("%s: the proof does not verify with the holder's key", c.Name)
		}
		if ed25519.Verify(holder, append(signed, 'x'), proof) {
			t.Errorf("%s: the proof verifies altered bytes", c.Name)
		}
		_ = token.Close()
	}
}

// TestBridgeSealIDVectors rebuilds each seal id from docs/formats.md
// ("Stored messages") with crypto/sha256.
func TestBridgeSealIDVectors(t *testing.T) {
	v := loadBridgeVectors(t)
	if len(v.SealIDCases) < 4 {
		t.Fatalf("%d seal id cases", len(v.SealIDCases))
	}
	for _, c := range v.SealIDCases {
		var public []byte
		for _, k := range v.Keys {
			if k.Name == c.Holder {
				public, _ = hex.DecodeString(k.PublicKeyHex)
			}
		}
		principal := sha256.Sum256(public)
		if got := hex.EncodeToString(principal[:]); len(public) != 32 || got != c.PrincipalHex {
			t.Errorf("%s: principal %s, want %s", c.Name, got, c.PrincipalHex)
		}
		origin, err := hex.DecodeString(c.Origin)
		if err != nil || len(origin) != 16 {
			t.Fatalf("%s: origin %q", c.Name, c.Origin)
		}
		seq, err := strconv.ParseUint(c.Seq, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		hashed := append([]byte("charter/bridge-seal-id/v1\x00"), principal[:]...)
		hashed = binary.BigEndian.AppendUint64(append(hashed, origin...), seq)
		if got := hex.EncodeToString(hashed); len(hashed) != 82 || got != c.HashedHex {
			t.Errorf("%s: hashed bytes\n got %s\nwant %s", c.Name, got, c.HashedHex)
		}
		sum := sha256.Sum256(hashed)
		if got := strconv.FormatUint(binary.BigEndian.Uint64(sum[:8]), 10); got != c.SealID {
			t.Errorf("%s: seal id %s, want %s", c.Name, got, c.SealID)
		}
	}
}

// holderKey is the token holder's key: the vectors' key whose principal
// (a hash of the key) is the one the authority verifies the token to.
func holderKey(t *testing.T, v bridgeVectors, auth *charter.Authority, token *charter.Token) ed25519.PublicKey {
	t.Helper()
	principal, err := auth.Verify(token)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range v.Keys {
		if k.Principal == principal {
			raw, err := hex.DecodeString(k.PublicKeyHex)
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}
	}
	t.Fatalf("no vector key has principal %s", principal)
	return nil
}

// vectorAuthority trusts the vectors' roots, its clock at authority_now.
func vectorAuthority(t *testing.T, v bridgeVectors) *charter.Authority {
	t.Helper()
	auth, err := charter.NewAuthority(v.TrustedRoots, charter.WithFixedTime(time.Unix(int64(v.AuthorityNow), 0)),
		charter.WithClockSkew(time.Duration(v.MaxSkewMs)*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = auth.Close() })
	return auth
}

// TestBridgeVerifyVectors runs every verify case, in order, through one
// BridgeVerifier (the replay window carries from case to case).
func TestBridgeVerifyVectors(t *testing.T) {
	v := loadBridgeVectors(t)
	skew := time.Duration(v.MaxSkewMs) * time.Millisecond
	auth := vectorAuthority(t, v)
	for _, link := range v.RevokedLinks {
		if _, err := auth.Revoke(link); err != nil {
			t.Fatal(err)
		}
	}
	verifier, err := charter.NewBridgeVerifier(auth, charter.BridgeVerifierOptions{
		MaxSkew: skew, FixedTime: time.UnixMilli(v.NowMs),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer verifier.Close()
	kinds := map[string]charter.BridgeExpectKind{
		"publish": charter.ExpectPublish, "request": charter.ExpectRequest, "reply": charter.ExpectReply,
	}
	seen := map[string]bool{}
	for _, c := range v.VerifyCases {
		payload, _ := hex.DecodeString(c.PayloadHex)
		in := charter.BridgeInbound{Subject: c.Subject, Payload: payload}
		if c.Reply != nil {
			in.Reply = *c.Reply
		}
		for _, h := range c.Headers {
			in.Headers = append(in.Headers, charter.Header{Name: h[0], Value: h[1]})
		}
		kind, ok := kinds[c.Expect.Kind]
		if !ok {
			t.Fatalf("%s: unknown kind %q", c.Name, c.Expect.Kind)
		}
		expect := charter.BridgeExpect{Kind: kind, Subject: c.Expect.Subject, Inbox: c.Expect.Inbox,
			Nonce: c.Expect.Nonce, Sent: time.UnixMilli(c.Expect.SentMs)}
		principal, err := verifier.Check(in, expect)
		got := "accepted"
		var refusal *charter.BridgeRefusal
		switch {
		case err == nil:
			if principal != c.Principal {
				t.Errorf("%s: principal %s, want %s", c.Name, principal, c.Principal)
			}
		case errors.As(err, &refusal):
			got = refusal.Reason
			var e *charter.Error
			if !errors.As(err, &e) {
				t.Errorf("%s: the refusal does not wrap a *charter.Error: %v", c.Name, err)
			}
		default:
			t.Fatalf("%s: not a refusal: %v", c.Name, err)
		}
		if got != c.Result {
			t.Errorf("%s: %s, want %s", c.Name, got, c.Result)
		}
		seen[got] = true
	}
	for _, r := range []string{"accepted", "unsigned", "malformed", "chain", "bad_proof", "not_granted", "stale",
		"replayed", "revoked", "misdirected"} {
		if !seen[r] {
			t.Errorf("the vectors do not cover %s", r)
		}
	}
	_, err = verifier.Check(charter.BridgeInbound{Subject: "a.b"}, charter.BridgeExpect{Kind: charter.ExpectPublish})
	if !errors.Is(err, charter.ErrDenied) {
		t.Errorf("an unsigned message: %v", err)
	}
	closeTwice(t, verifier)
	if _, err := verifier.Check(charter.BridgeInbound{Subject: "a.b"}, charter.BridgeExpect{}); !errors.Is(err, charter.ErrClosed) {
		t.Errorf("Check after Close: %v", err)
	}
	var none *charter.BridgeVerifier
	if err := none.Close(); err != nil {
		t.Errorf("Close on nil: %v", err)
	}
}
