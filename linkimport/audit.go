package linkimport

import "encoding/json"

// Audit is the detail of an import's audit entry, whoever imported (the
// panel or the command line), stored as JSON.
type Audit struct {
	File    string `json:"file"`
	Created int    `json:"created"`
	Refused int    `json:"refused"`
	Emails  bool   `json:"emails"`
}

// String is the detail as stored.
func (a Audit) String() string {
	b, _ := json.Marshal(a)
	return string(b)
}

// ParseAudit reads a stored detail back; ok is false for any other shape.
func ParseAudit(detail string) (a Audit, ok bool) {
	err := json.Unmarshal([]byte(detail), &a)
	return a, err == nil && a.File != ""
}

// AuditOf is the audit detail of rows imported from file.
func AuditOf(file string, rows []Row, emails bool) Audit {
	c := Count(rows)
	return Audit{File: file, Created: c.Good, Refused: c.Bad, Emails: emails}
}
