// Package apig implements the "SDK-HMAC-SHA256" AK/SK request signature of
// Huawei Cloud's API gateway, as Huawei's Go SDK v3 computes it, and its
// verification. It is shared by the lease client and the ModelArts simulator.
package apig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Header names and formats of the signature.
const (
	Algorithm     = "SDK-HMAC-SHA256"
	DateHeader    = "X-Sdk-Date"
	DateFormat    = "20060102T150405Z"
	contentSHA256 = "X-Sdk-Content-Sha256"
)

// Sign signs req with the access key pair: it sets X-Sdk-Date (unless req
// already carries a parsable one, which is then used) and Authorization.
// Every header in req.Header is signed except Content-Type, Authorization
// and names containing '_'; "host" is signed only when req.Header has it,
// with the value of req.Host (or req.URL.Host).
func Sign(req *http.Request, body []byte, ak, sk string, t time.Time) error {
	if ak == "" || sk == "" {
		return errors.New("AK/SK signing: access key or secret key is empty")
	}
	date := req.Header.Get(DateHeader)
	if _, err := time.Parse(DateFormat, date); err != nil {
		date = t.UTC().Format(DateFormat)
		req.Header.Set(DateHeader, date)
	}
	signed := signedHeaders(req.Header)
	req.Header.Set("Authorization", fmt.Sprintf("%s Access=%s, SignedHeaders=%s, Signature=%s",
		Algorithm, ak, strings.Join(signed, ";"), signature(req, body, signed, date, sk)))
	return nil
}

// Verify checks the signature of a received request. secret returns the
// secret key of an access key. The X-Sdk-Date must be signed and lie
// within skew of now. The error says what is wrong, never with a secret.
func Verify(r *http.Request, body []byte, secret func(ak string) (string, bool), now time.Time, skew time.Duration) error {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, Algorithm+" ")
	if !ok {
		return errors.New("missing or unsupported Authorization")
	}
	var ak, sig string
	var signed []string
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Access":
			ak = v
		case "SignedHeaders":
			signed = strings.Split(v, ";")
		case "Signature":
			sig = v
		}
	}
	if ak == "" || sig == "" || len(signed) == 0 {
		return errors.New("malformed Authorization")
	}
	if !slices.Contains(signed, strings.ToLower(DateHeader)) {
		return errors.New("x-sdk-date is not signed")
	}
	date := r.Header.Get(DateHeader)
	t, err := time.Parse(DateFormat, date)
	if err != nil {
		return errors.New("missing or malformed X-Sdk-Date")
	}
	if d := now.Sub(t); d > skew || d < -skew {
		return fmt.Errorf("X-Sdk-Date %s is more than %s away from server time", date, skew)
	}
	sk, ok := secret(ak)
	if !ok {
		return errors.New("unknown access key")
	}
	want := signature(r, body, signed, date, sk)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return errors.New("signature mismatch")
	}
	return nil
}

func signedHeaders(h http.Header) []string {
	names := make([]string, 0, len(h))
	for k := range h {
		k = strings.ToLower(k)
		if k == "content-type" || k == "authorization" || strings.Contains(k, "_") {
			continue
		}
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func signature(r *http.Request, body []byte, signed []string, date, sk string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.URL.Path))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.Query()))
	b.WriteByte('\n')
	for _, k := range signed {
		b.WriteString(k)
		b.WriteByte(':')
		b.WriteString(headerValue(r, k))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	if h := r.Header.Get(contentSHA256); h != "" {
		b.WriteString(h)
	} else {
		sum := sha256.Sum256(body)
		b.WriteString(hex.EncodeToString(sum[:]))
	}
	crHash := sha256.Sum256([]byte(b.String()))
	mac := hmac.New(sha256.New, []byte(sk))
	mac.Write([]byte(Algorithm + "\n" + date + "\n" + hex.EncodeToString(crHash[:])))
	return hex.EncodeToString(mac.Sum(nil))
}

func headerValue(r *http.Request, name string) string {
	if name == "host" {
		if r.Host != "" {
			return r.Host
		}
		return r.URL.Host
	}
	return strings.TrimSpace(strings.Join(r.Header.Values(name), ","))
}

func canonicalURI(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = escape(s)
	}
	p := strings.Join(segs, "/")
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		vs := slices.Clone(q[k])
		slices.Sort(vs)
		for _, v := range vs {
			parts = append(parts, escape(k)+"="+escape(v))
		}
	}
	return strings.Join(parts, "&")
}

// escape percent-encodes everything but the unreserved characters A-Z a-z 0-9 - _ . ~
func escape(s string) string {
	const hexdig = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
	return b.String()
}
