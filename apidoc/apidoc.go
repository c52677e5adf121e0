// Package apidoc holds the API's OpenAPI 3.1 document, written by hand and
// served as it is at /api/v1/openapi.json. It is the truth: the handler
// tests check every request they send and every answer they get against it.
package apidoc

import _ "embed"

// OpenAPI is the document, in JSON.
//
//go:embed openapi.json
var OpenAPI []byte
