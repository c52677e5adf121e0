package etpay

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// decoderUniqueKeys is checkUniqueKeys as it was, through json.Decoder's
// tokens: the oracle the byte scanner must agree with on valid JSON.
func decoderUniqueKeys(doc []byte) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var walk func() error
	walk = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				key, err := dec.Token()
				if err != nil {
					return err
				}
				k, _ := key.(string)
				if seen[k] {
					return errDuplicateKey
				}
				seen[k] = true
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	if err := walk(); errors.Is(err, errDuplicateKey) {
		return err
	}
	return nil
}

var uniqueKeyDocs = []struct {
	doc string
	dup bool
}{
	{`{}`, false},
	{`[]`, false},
	{`"x"`, false},
	{`12.5e3`, false},
	{`{"a":1,"b":2}`, false},
	{`{"a":1,"a":2}`, true},
	{`{"a":1,"A":2}`, false},
	{` { "a" : 1 , "a" : 2 } `, true},
	{`{"payment":"x","pay\u006dent":"y"}`, true},
	{`{"a\"b":1,"a\u0022b":2}`, true},
	{`{"a\\":1,"a\u005c":2}`, true},
	{`{"\ud83d\ude00":1,"😀":2}`, true},
	{"{\"a\xff\":1,\"a\xfe\":2}", true}, // invalid UTF-8 reads as U+FFFD in both
	{"{\"é\":1,\"e\u0301\":2}", false},
	{`{"x":{"a":1,"a":2}}`, true},
	{`{"x":[{"a":1},{"a":2}]}`, false},
	{`[{"a":[1,2,{"b":null,"b":true}]}]`, true},
	{`{"a":{"a":{"a":1}}}`, false},
	{`{"s":"{\"a\":1,\"a\":2}"}`, false},
	{`{"a":"]}","a":1}`, true},
	{`{"a":[],"b":{},"c":"","a":0}`, true},
	{`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k3":3}`, true},
	{`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k17":3}`, true},
	{`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17}`, false},
	// Not JSON: the decoder refuses these; the checker must only not hang.
	{`{"a":1,"a"`, true},
	{`{"a":1`, false},
	{`{"a" 1}`, false},
	{`[1,,2]`, false},
	{`{"a":}`, false},
	{`{,}`, false},
	{"\"a\x01\"", false},
	{`"\`, false},
	{`{"a":1}}`, false},
	{strings.Repeat("[", 20000) + strings.Repeat("]", 20000), false},
}

func TestCheckUniqueKeys(t *testing.T) {
	for _, tt := range uniqueKeyDocs {
		err := checkUniqueKeys([]byte(tt.doc))
		if (err != nil) != tt.dup {
			t.Errorf("checkUniqueKeys(%.60q) = %v, want duplicate: %v", tt.doc, err, tt.dup)
		}
		if err != nil && !errors.Is(err, errDuplicateKey) {
			t.Errorf("checkUniqueKeys(%.60q) = %v, not errDuplicateKey", tt.doc, err)
		}
		if json.Valid([]byte(tt.doc)) && (err != nil) != (decoderUniqueKeys([]byte(tt.doc)) != nil) {
			t.Errorf("checkUniqueKeys(%.60q) = %v, json.Decoder's walk disagrees", tt.doc, err)
		}
	}
}

// FuzzCheckUniqueKeys: on any valid JSON the scanner finds a duplicate key
// exactly when json.Decoder's tokens show one; on anything it stops.
func FuzzCheckUniqueKeys(f *testing.F) {
	for _, tt := range uniqueKeyDocs {
		f.Add([]byte(tt.doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		err := checkUniqueKeys(doc)
		if !json.Valid(doc) {
			return
		}
		if want := decoderUniqueKeys(doc); (err != nil) != (want != nil) {
			t.Fatalf("checkUniqueKeys(%q) = %v, json.Decoder's walk: %v", doc, err, want)
		}
	})
}
