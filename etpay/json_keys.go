package etpay

import (
	"bytes"
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
func checkUniqueKeys(doc []byte) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := walkValue(dec); err != nil && errors.Is(err, errDuplicateKey) {
		return err
	}
	return nil
}

func walkValue(dec *json.Decoder) error {
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
				return fmt.Errorf("%w %q", errDuplicateKey, k)
			}
			seen[k] = true
			if err := walkValue(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token() // the closing brace
		return err
	case json.Delim('['):
		for dec.More() {
			if err := walkValue(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	return nil
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
