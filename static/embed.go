// Package static holds the CSS and JavaScript served under /static, embedded in the binary.
package static

import "embed"

// FS holds css/, js/ and favicon.svg.
//
//go:embed css js favicon.svg
var FS embed.FS
