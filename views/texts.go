package views

import (
	"fmt"
	"sync"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// texts is the catalogue being assembled by the catalogue files' init
// functions, by language and key; it is frozen into printers on first use.
var texts = map[string]map[string]string{"es": {}, "en": {}}

// tags maps our language codes to the locales texts are formatted in.
var tags = map[string]language.Tag{"es": language.MustParse("es-CL"), "en": language.English}

// register adds texts for a language; a key registered twice is a bug that
// would silently hide one text, so it stops the program at start.
func register(lang string, m map[string]string) {
	for k, v := range m {
		if _, dup := texts[lang][k]; dup {
			panic(fmt.Sprintf("views: text %q registered twice for %s", k, lang))
		}
		texts[lang][k] = v
	}
}

// printers formats catalogue texts per language with golang.org/x/text.
// English falls back to Spanish key by key, so a missing translation shows
// the Spanish text rather than a key.
var printers = sync.OnceValue(func() map[string]*message.Printer {
	b := catalog.NewBuilder(catalog.Fallback(tags["es"]))
	for lang, tag := range tags {
		for k, v := range texts["es"] {
			if translated, ok := texts[lang][k]; ok {
				v = translated
			}
			if err := b.SetString(tag, k, v); err != nil {
				panic(err)
			}
		}
	}
	out := map[string]*message.Printer{}
	for lang, tag := range tags {
		out[lang] = message.NewPrinter(tag, message.Catalog(b))
	}
	return out
})

// hasText reports whether key is in the catalogue for lang.
func hasText(lang, key string) bool {
	_, ok := texts[lang][key]
	return ok
}
