// Package static holds the CSS and JavaScript served under /static, embedded in the binary.
package static

import "embed"

// FS holds css/ and js/.
//
//go:embed css js
var FS embed.FS
