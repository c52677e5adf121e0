package models

import (
	"context"
	"strconv"

	"gorm.io/gorm"
)

// links_fts indexes what a link never changes once made: its order id,
// customer email and description, as trigrams (every run of 3 characters,
// case folded), so any part of them of 3 characters or more is found
// without reading the links. It is an external-content table: it keeps only
// the index, the text stays in links. columnsize=0: no ranking is ever
// asked of it, so it keeps no per-row sizes (a write less per link).
const linksFTSTable = "CREATE VIRTUAL TABLE links_fts USING fts5(merchant_order_id, customer_email, description, " +
	"content='links', content_rowid='id', tokenize='trigram', columnsize=0)"

// linksFTSInsertTrigger indexes each new link (the demo seed drops it during
// a batch and makes it again with this statement).
const linksFTSInsertTrigger = `CREATE TRIGGER IF NOT EXISTS links_fts_insert AFTER INSERT ON links BEGIN
  INSERT INTO links_fts (rowid, merchant_order_id, customer_email, description) VALUES (new.id, new.merchant_order_id, new.customer_email, new.description);
END`

// linksFTSTriggers keep links_fts in step with links. Only making or deleting
// a link writes to it: payments, cancellations and opens update other
// columns, which the update trigger does not watch, so recording a
// notification never touches the index. (Nothing updates the three columns
// today; the update trigger keeps the index right if something ever does.)
var linksFTSTriggers = []string{
	linksFTSInsertTrigger,
	`CREATE TRIGGER IF NOT EXISTS links_fts_delete AFTER DELETE ON links BEGIN
  INSERT INTO links_fts (links_fts, rowid, merchant_order_id, customer_email, description) VALUES ('delete', old.id, old.merchant_order_id, old.customer_email, old.description);
END`,
	`CREATE TRIGGER IF NOT EXISTS links_fts_update AFTER UPDATE OF merchant_order_id, customer_email, description ON links BEGIN
  INSERT INTO links_fts (links_fts, rowid, merchant_order_id, customer_email, description) VALUES ('delete', old.id, old.merchant_order_id, old.customer_email, old.description);
  INSERT INTO links_fts (rowid, merchant_order_id, customer_email, description) VALUES (new.id, new.merchant_order_id, new.customer_email, new.description);
END`,
}

// ftsHashSize is how much new index FTS5 gathers in memory before writing
// it out as a segment (1 MB by default). A demo batch of 20,000 links fits
// in a few segments instead of dozens, which then need no merging: filling
// the index for 200,000 links takes about a third of the time. It is only
// reached inside a large transaction; a link made from the panel adds a few
// hundred bytes.
const ftsHashSize = 16 << 20

// ensureSearchIndex creates links_fts and its triggers. On a database made
// before them, the index is filled from the links already stored, in the
// same transaction, so no link made meanwhile (the command line may write
// too) is missed or indexed twice.
func (s *Store) ensureSearchIndex(ctx context.Context) error {
	return s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Raw("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'links_fts'").Scan(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			for _, stmt := range []string{
				linksFTSTable,
				"INSERT INTO links_fts (links_fts, rank) VALUES ('hashsize', " + strconv.Itoa(ftsHashSize) + ")",
				"INSERT INTO links_fts (rowid, merchant_order_id, customer_email, description) " +
					"SELECT id, merchant_order_id, customer_email, description FROM links",
			} {
				if err := tx.Exec(stmt).Error; err != nil {
					return err
				}
			}
		}
		for _, stmt := range linksFTSTriggers {
			if err := tx.Exec(stmt).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// MergeSearchIndex merges links_fts into one segment, in one transaction.
// Every search opens each segment for every trigram it probes, and a bulk
// load (the demo seed) leaves many: 15 after 200,000 demo links, which
// made a search's probes and lookup about twice as slow as one segment
// (~1.1 ms against ~0.6 ms). It takes about 2 s for 200,000 links.
// (Links made one by one leave segments too, which FTS5 merges as it goes,
// four at a time.)
func (s *Store) MergeSearchIndex(ctx context.Context) error {
	if s.d.postgres {
		return s.mergeSearchIndexPG(ctx)
	}
	return s.write.WithContext(ctx).Exec("INSERT INTO links_fts (links_fts) VALUES ('optimize')").Error
}
