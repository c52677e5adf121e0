// Package views holds the HTML templates, embedded in the binary, and the
// locale helpers that templates use for text, money and time.
package views

import "embed"

// FS holds every template; names are paths without the .html extension.
//
//go:embed layouts partials admin auth pay errors mail
var FS embed.FS
