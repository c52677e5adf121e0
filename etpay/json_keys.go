package etpay

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// errDuplicateKey reports a JSON object that names one key twice. Go's
// encoding/json (and so the JWT library) keeps the last value, while another
// reader may keep the first: a document that two readers see differently is
// refused rather than guessed at.
var errDuplicateKey = errors.New("duplicate key")

// checkUniqueKeys walks a JSON document and fails on any object, at any
// depth, that names a key twice (after unescaping, so "pay\u006dent" is
// "payment"). Syntax errors are left to the real decoder.
//
// It scans the bytes itself rather than through json.Decoder.Token, which
// allocated for every token and was a third of the webhook's verification
// CPU; a key with an escape or a non-ASCII byte is unquoted by encoding/json,
// so keys compare as their unescaped bytes. Keys differing only in case
// ("a" and "A") pass, as they did before, although encoding/json fills one
// struct field from both (the last wins): the claims are signed by ETpay.
func checkUniqueKeys(doc []byte) error {
	sc := keyScanner{doc: doc}
	sc.value(0)
	return sc.dup
}

// maxKeyDepth is encoding/json's own nesting limit; deeper is a syntax error.
const maxKeyDepth = 10000

// keyScanner is checkUniqueKeys' pass over one document. A syntax error
// stops it (bad is set) without an error of its own.
type keyScanner struct {
	doc []byte
	i   int
	bad bool
	dup error
}

func (sc *keyScanner) stopped() bool { return sc.bad || sc.dup != nil }

func (sc *keyScanner) skipSpace() {
	for sc.i < len(sc.doc) {
		switch sc.doc[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

// value scans one value at sc.i.
func (sc *keyScanner) value(depth int) {
	sc.skipSpace()
	if sc.i >= len(sc.doc) || depth > maxKeyDepth {
		sc.bad = true
		return
	}
	switch c := sc.doc[sc.i]; {
	case c == '{':
		sc.object(depth + 1)
	case c == '[':
		sc.array(depth + 1)
	case c == '"':
		sc.str()
	default:
		// Numbers and literals: their syntax is the decoder's to judge.
		for sc.i < len(sc.doc) && !strings.ContainsRune(",:]}[{\" \t\n\r", rune(sc.doc[sc.i])) {
			sc.i++
		}
	}
}

// str scans a string at sc.i and returns it raw, quotes included, and
// whether it needs unquoting (an escape or a non-ASCII byte in it).
func (sc *keyScanner) str() (raw []byte, escaped bool) {
	start := sc.i
	for sc.i++; sc.i < len(sc.doc); sc.i++ {
		switch c := sc.doc[sc.i]; {
		case c == '"':
			sc.i++
			return sc.doc[start:sc.i], escaped
		case c == '\\':
			escaped = true
			sc.i++ // the escaped byte; \uXXXX's digits are plain bytes
		case c < 0x20:
			sc.bad = true
			return nil, false
		case c >= 0x80:
			escaped = true
		}
	}
	sc.bad = true
	return nil, false
}

func (sc *keyScanner) array(depth int) {
	sc.i++ // [
	sc.skipSpace()
	if sc.i < len(sc.doc) && sc.doc[sc.i] == ']' {
		sc.i++
		return
	}
	for !sc.stopped() {
		sc.value(depth)
		if sc.endOfElement(']') {
			return
		}
	}
}

func (sc *keyScanner) object(depth int) {
	sc.i++ // {
	var seen keySet
	sc.skipSpace()
	if sc.i < len(sc.doc) && sc.doc[sc.i] == '}' {
		sc.i++
		return
	}
	for !sc.stopped() {
		sc.skipSpace()
		if sc.i >= len(sc.doc) || sc.doc[sc.i] != '"' {
			sc.bad = true
			return
		}
		raw, escaped := sc.str()
		if sc.bad {
			return
		}
		key := string(raw[1 : len(raw)-1])
		if escaped && json.Unmarshal(raw, &key) != nil {
			sc.bad = true
			return
		}
		if !seen.add(key) {
			sc.dup = fmt.Errorf("%w %q", errDuplicateKey, key)
			return
		}
		sc.skipSpace()
		if sc.i >= len(sc.doc) || sc.doc[sc.i] != ':' {
			sc.bad = true
			return
		}
		sc.i++
		sc.value(depth)
		if sc.endOfElement('}') {
			return
		}
	}
}

// endOfElement reads what follows an array's or object's element: a comma
// (more to come) or closing, which ends it. Anything else is malformed.
func (sc *keyScanner) endOfElement(closing byte) (ended bool) {
	sc.skipSpace()
	if sc.stopped() || sc.i >= len(sc.doc) {
		sc.bad = true
		return true
	}
	sc.i++
	switch sc.doc[sc.i-1] {
	case closing:
		return true
	case ',':
		return false
	}
	sc.bad = true
	return false
}

// keySet is the keys of one object: a slice while it is small (ETpay's have
// a handful), a map beyond, so a hostile object of thousands of keys costs
// linear time.
type keySet struct {
	few  []string
	many map[string]bool
}

// add records key and says whether it was new.
func (s *keySet) add(key string) bool {
	if s.many != nil {
		if s.many[key] {
			return false
		}
		s.many[key] = true
		return true
	}
	for _, k := range s.few {
		if k == key {
			return false
		}
	}
	if len(s.few) < 16 {
		s.few = append(s.few, key)
		return true
	}
	s.many = make(map[string]bool, 2*len(s.few))
	for _, k := range s.few {
		s.many[k] = true
	}
	s.many[key] = true
	return true
}

// checkTokenUniqueKeys applies checkUniqueKeys to a JWT's header and claims.
// A segment that does not decode is left for the JWT parser to refuse.
func checkTokenUniqueKeys(token string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil
	}
	for _, seg := range parts[:2] {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
		if err != nil {
			continue
		}
		if err := checkUniqueKeys(raw); err != nil {
			return err
		}
	}
	return nil
}
