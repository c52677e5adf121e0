package views

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"text/template/parse"
)

// TestEveryUsedTextExists finds every text key the program can ask for and
// fails on any that a language lacks, since Locale.T shows a missing key as
// itself (and English falls back to Spanish). Keys come from:
//
//   - templates (views/**/*.html, *.txt): {{.L.T "key"}}, {{$.L.T "key"}}, and
//     keys built with (print "prefix." .Value);
//   - Go code: x.T("key"), FieldError{Key: "key"}, any function that passes
//     its parameter named key to T (refuseChange, sentence, flagError, …),
//     "prefix." + value and fmt.Sprintf("prefix.%s", …), and any other string
//     literal shaped like a key in a namespace the catalogue uses
//     (flash messages, option tables, …);
//   - for each prefix, every value it can take, read from the constants,
//     functions and templates listed in keyValues. A prefix used without an
//     entry there fails the test until someone says where its values come from.
func TestEveryUsedTextExists(t *testing.T) {
	src := loadGoSource(t, "..")
	used := map[string][]string{} // key -> where it is used
	prefixes := map[string][]string{}
	templateKeys(t, used, prefixes)
	goKeys(t, src, used, prefixes)

	for prefix, where := range prefixes {
		values, ok := keyValues[prefix]
		if !ok {
			t.Errorf("key prefix %q (used at %s) has no entry in keyValues: say where its values come from", prefix, strings.Join(where, ", "))
			continue
		}
		vals, err := values(src)
		if err != nil || len(vals) == 0 {
			t.Errorf("values of key prefix %q: %v (found %d)", prefix, err, len(vals))
			continue
		}
		for _, v := range vals {
			if v != "" {
				note(used, prefix+v, "values of "+prefix+" (used at "+where[0]+")")
			}
		}
	}
	for prefix := range keyValues {
		if _, ok := prefixes[prefix]; !ok {
			t.Errorf("keyValues names prefix %q, which nothing uses any more: remove it", prefix)
		}
	}

	keys := make([]string, 0, len(used))
	for k := range used {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		for _, lang := range Languages {
			// col.* are the technical column names; English shows the Spanish
			// (identical) text on purpose, as TestEveryTextIsTranslated allows.
			if !hasText(lang, key) && !(lang != "es" && strings.HasPrefix(key, "col.") && hasText("es", key)) {
				t.Errorf("text %q is missing in %q; used at %s", key, lang, strings.Join(used[key], ", "))
			}
		}
	}
	if len(used) < 300 {
		t.Errorf("found only %d keys in use: the scan is missing something", len(used))
	}
}

// keyValues says, for each prefix a key is built from, every value that
// can follow it.
var keyValues = map[string]func(*goSource) ([]string, error){
	"status.":           constBlock("models", "StatusPending"),
	"link_status.":      constBlock("models", "LinkOpen"),
	"verdict.":          constBlock("models", "VerdictVerified"),
	"effect.":           constBlock("models", "EffectPaid"),
	"reason.":           all(funcReturns("etpay", "RejectReason"), constBlock("models", "ReasonOrderMismatch")),
	"review.":           constBlock("models", "ReviewDoublePayment"),
	"overview.review.":  constBlock("models", "ReviewDoublePayment"),
	"users.role.":       constBlock("models", "RoleAdmin"),
	"audit.action.":     constsNamed("models", "Audit"),
	"mail.status.":      constBlock("models", "MailQueued"),
	"mail.event.":       constBlock("models", "MailQueued"), // TimelineEvent.EmailState
	"mail.kind.":        constBlock("models", "MailLink"),
	"mail.lang.":        fixed(Languages...),
	"account.lang.":     fixed(Languages...),
	"source.":           constBlock("payments", "SourceWebhook"),
	"overview.mode.":    constBlock("handlers", "overviewLive"),
	"overview.showing.": constBlock("handlers", "overviewLive"),
	"overview.empty.":   constBlock("handlers", "overviewLive"),
	"golive.check.":     constBlock("handlers", "goLiveLiveMode"),
	"field.":            fieldNames,
	"mode.":             constBlock("config", "ModeLive"),
	"outcome.":          constBlock("etpay", "OutcomePaid"),

	// The shop's webhooks.
	"webhooks.event.":      constBlock("models", "EventPaymentSucceeded"),
	"webhooks.status.":     constBlock("models", "WebhookPending"),
	"webhooks.disabled.":   constBlock("models", "DisabledByStaff"),
	"webhooks.mode_other.": constBlock("config", "ModeLive"),
	"api_keys.scope.":      constBlock("models", "APIScopeRead"),
}

// notTexts are literals shaped like keys of a namespace the catalogue uses
// that are no text: the shop's webhook event types, a public interface
// (models.EventTypes).
var notTexts = map[string]bool{"link.created": true, "link.cancelled": true, "link.expired": true}

// keyShape is a literal that looks like a catalogue key: dotted lower-case words.
var keyShape = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)

// prefixShape is the start of a built key: dotted words ending in a dot.
var prefixShape = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*\.$`)

// templateKeys collects the keys and prefixes the templates use.
func templateKeys(t *testing.T, used, prefixes map[string][]string) {
	t.Helper()
	err := fs.WalkDir(FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".html") || strings.HasSuffix(path, ".txt")) {
			return err
		}
		text, err := fs.ReadFile(FS, path)
		if err != nil {
			return err
		}
		// embed is the layout's slot, a function the Fiber engine adds.
		engine := template.FuncMap{"embed": func() string { return "" }}
		tmpl, err := template.New(path).Funcs(Funcs()).Funcs(engine).Parse(string(text))
		if err != nil {
			return err
		}
		for _, tt := range tmpl.Templates() {
			if tt.Tree != nil {
				walkTemplate(t, tt.Tree, tt.Tree.Root, used, prefixes)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func walkTemplate(t *testing.T, file *parse.Tree, node parse.Node, used, prefixes map[string][]string) {
	if node == nil {
		return
	}
	where := func(n parse.Node) string {
		location, _ := file.ErrorContext(n)
		return "views/" + location
	}
	switch n := node.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkTemplate(t, file, c, used, prefixes)
		}
	case *parse.ActionNode:
		walkTemplate(t, file, n.Pipe, used, prefixes)
	case *parse.IfNode:
		walkBranch(t, file, &n.BranchNode, used, prefixes)
	case *parse.RangeNode:
		walkBranch(t, file, &n.BranchNode, used, prefixes)
	case *parse.WithNode:
		walkBranch(t, file, &n.BranchNode, used, prefixes)
	case *parse.TemplateNode:
		walkTemplate(t, file, n.Pipe, used, prefixes)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, cmd := range n.Cmds {
			walkTemplate(t, file, cmd, used, prefixes)
		}
	case *parse.CommandNode:
		if len(n.Args) >= 2 && callsT(n.Args[0]) {
			switch arg := n.Args[1].(type) {
			case *parse.StringNode:
				note(used, arg.Text, where(arg))
			case *parse.PipeNode:
				if prefix, ok := printPrefix(arg); ok {
					note(prefixes, prefix, where(arg))
				} else if key, ok := printLiteral(arg); ok {
					note(used, key, where(arg))
				} else {
					t.Errorf("%s: cannot tell which text %s asks for", where(arg), n)
				}
			case *parse.FieldNode, *parse.VariableNode, *parse.DotNode:
				// A key chosen in Go: its literals are checked there.
			default:
				t.Errorf("%s: cannot tell which text %s asks for", where(arg), n)
			}
		}
		for _, arg := range n.Args {
			walkTemplate(t, file, arg, used, prefixes)
		}
	}
}

func walkBranch(t *testing.T, file *parse.Tree, b *parse.BranchNode, used, prefixes map[string][]string) {
	walkTemplate(t, file, b.Pipe, used, prefixes)
	walkTemplate(t, file, b.List, used, prefixes)
	walkTemplate(t, file, b.ElseList, used, prefixes)
}

// callsT reports whether a command calls a locale's T: .L.T, $.L.T, $l.T.
func callsT(n parse.Node) bool {
	switch f := n.(type) {
	case *parse.FieldNode:
		return f.Ident[len(f.Ident)-1] == "T"
	case *parse.VariableNode:
		return len(f.Ident) > 1 && f.Ident[len(f.Ident)-1] == "T"
	case *parse.ChainNode:
		return f.Field[len(f.Field)-1] == "T"
	}
	return false
}

// printPrefix recognises (print "prefix." .Value).
func printPrefix(p *parse.PipeNode) (string, bool) {
	if len(p.Cmds) != 1 || len(p.Cmds[0].Args) < 3 {
		return "", false
	}
	args := p.Cmds[0].Args
	if id, ok := args[0].(*parse.IdentifierNode); !ok || id.Ident != "print" {
		return "", false
	}
	s, ok := args[1].(*parse.StringNode)
	if !ok || !prefixShape.MatchString(s.Text) {
		return "", false
	}
	for _, a := range args[2:] {
		if _, lit := a.(*parse.StringNode); lit {
			return "", false
		}
	}
	return s.Text, true
}

// printLiteral recognises (print "a" "b"): a key spelt in parts.
func printLiteral(p *parse.PipeNode) (string, bool) {
	if len(p.Cmds) != 1 {
		return "", false
	}
	args := p.Cmds[0].Args
	if id, ok := args[0].(*parse.IdentifierNode); !ok || id.Ident != "print" {
		return "", false
	}
	var b strings.Builder
	for _, a := range args[1:] {
		s, ok := a.(*parse.StringNode)
		if !ok {
			return "", false
		}
		b.WriteString(s.Text)
	}
	return b.String(), true
}

// fieldNames are the names given to partials/field, whose label is "field."+Name.
func fieldNames(*goSource) ([]string, error) {
	var names []string
	re := regexp.MustCompile(`\{\{template "partials/field" \(dict [^)]*"Name" "([a-z_]+)"`)
	err := fs.WalkDir(FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".html") {
			return err
		}
		text, err := fs.ReadFile(FS, path)
		for _, m := range re.FindAllStringSubmatch(string(text), -1) {
			names = append(names, m[1])
		}
		return err
	})
	return names, err
}

// goSource is the module's non-test Go code, parsed, by package directory.
type goSource struct {
	fset *token.FileSet
	pkgs map[string][]*ast.File // "models", "handlers", "." for main, …
}

func loadGoSource(t *testing.T, root string) *goSource {
	t.Helper()
	src := &goSource{fset: token.NewFileSet(), pkgs: map[string][]*ast.File{}}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(src.fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		src.pkgs[filepath.ToSlash(rel)] = append(src.pkgs[filepath.ToSlash(rel)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(src.pkgs["models"]) == 0 || len(src.pkgs["handlers"]) == 0 || len(src.pkgs["."]) == 0 {
		t.Fatalf("Go source not found from %s: %v", root, src.pkgs)
	}
	return src
}

// goKeys collects the keys and prefixes Go code uses.
func goKeys(t *testing.T, src *goSource, used, prefixes map[string][]string) {
	t.Helper()
	namespaces := map[string]bool{}
	for _, lang := range Languages {
		for k := range texts[lang] {
			ns, _, _ := strings.Cut(k, ".")
			namespaces[ns] = true
		}
	}
	keyParams := keyParameters(src)
	for _, files := range src.pkgs {
		for _, f := range files {
			where := func(n ast.Node) string {
				p := src.fset.Position(n.Pos())
				return fmt.Sprintf("%s:%d", strings.TrimPrefix(filepath.ToSlash(p.Filename), "../"), p.Line)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.ImportSpec:
					return false
				case *ast.CallExpr:
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "T" && len(n.Args) > 0 {
						switch arg := n.Args[0].(type) {
						case *ast.BasicLit:
							if s, ok := stringLit(arg); ok {
								note(used, s, where(arg))
							}
						case *ast.Ident, *ast.SelectorExpr, *ast.IndexExpr, *ast.BinaryExpr, *ast.CallExpr:
							// Variables hold literals checked below; built keys are found below.
						default:
							t.Errorf("%s: cannot tell which text this T call asks for", where(arg))
						}
					}
					if i, ok := keyParams[calledName(n)]; ok && i < len(n.Args) {
						if s, ok := stringLit(n.Args[i]); ok {
							note(used, s, where(n.Args[i]))
						}
					}
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Sprintf" && len(n.Args) > 0 {
						if s, ok := stringLit(n.Args[0]); ok {
							if before, _, found := strings.Cut(s, "%"); found && prefixShape.MatchString(before) {
								note(prefixes, before, where(n))
							}
						}
					}
				case *ast.BinaryExpr:
					if n.Op == token.ADD {
						if s, ok := stringLit(n.X); ok && prefixShape.MatchString(s) {
							note(prefixes, s, where(n))
						}
					}
				case *ast.KeyValueExpr:
					if id, ok := n.Key.(*ast.Ident); ok && id.Name == "Key" {
						if s, ok := stringLit(n.Value); ok {
							note(used, s, where(n.Value))
						}
					}
				case *ast.BasicLit:
					if s, ok := stringLit(n); ok && keyShape.MatchString(s) && !notTexts[s] {
						if ns, _, _ := strings.Cut(s, "."); namespaces[ns] {
							note(used, s, where(n))
						}
					}
				}
				return true
			})
		}
	}
}

// keyParameters maps the name of each function (or function literal bound
// to a name) that passes its parameter named key to T, to that parameter's
// position.
func keyParameters(src *goSource) map[string]int {
	out := map[string]int{}
	record := func(name string, ft *ast.FuncType, body *ast.BlockStmt) {
		passesKey := false
		ast.Inspect(body, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok && calledName(call) == "T" && len(call.Args) > 0 {
				if id, ok := call.Args[0].(*ast.Ident); ok && id.Name == "key" {
					passesKey = true
				}
			}
			return !passesKey
		})
		if !passesKey {
			return
		}
		i := 0
		for _, field := range ft.Params.List {
			names := field.Names
			if len(names) == 0 {
				i++
				continue
			}
			for _, n := range names {
				if n.Name == "key" {
					out[name] = i
				}
				i++
			}
		}
	}
	for _, files := range src.pkgs {
		for _, f := range files {
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.FuncDecl:
					if n.Body != nil {
						record(n.Name.Name, n.Type, n.Body)
					}
				case *ast.AssignStmt:
					for i, rhs := range n.Rhs {
						if lit, ok := rhs.(*ast.FuncLit); ok && i < len(n.Lhs) {
							if id, ok := n.Lhs[i].(*ast.Ident); ok {
								record(id.Name, lit.Type, lit.Body)
							}
						}
					}
				}
				return true
			})
		}
	}
	return out
}

// calledName is the name a call is made by: f(…) or x.f(…).
func calledName(call *ast.CallExpr) string {
	switch f := call.Fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	}
	return ""
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// constBlock is every string constant declared in the same const ( … ) block as name.
func constBlock(pkg, name string) func(*goSource) ([]string, error) {
	return func(src *goSource) ([]string, error) {
		for _, f := range src.pkgs[pkg] {
			for _, decl := range f.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.CONST {
					continue
				}
				var vals []string
				found := false
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, id := range vs.Names {
						found = found || id.Name == name
						if i < len(vs.Values) {
							if s, ok := stringLit(vs.Values[i]); ok {
								vals = append(vals, s)
							}
						}
					}
				}
				if found {
					return vals, nil
				}
			}
		}
		return nil, fmt.Errorf("no constant %s in %s", name, pkg)
	}
}

// constsNamed is every string constant of pkg whose name starts with prefix.
func constsNamed(pkg, prefix string) func(*goSource) ([]string, error) {
	return func(src *goSource) ([]string, error) {
		var vals []string
		for _, f := range src.pkgs[pkg] {
			for _, decl := range f.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.CONST {
					continue
				}
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, id := range vs.Names {
						if strings.HasPrefix(id.Name, prefix) && i < len(vs.Values) {
							if s, ok := stringLit(vs.Values[i]); ok {
								vals = append(vals, s)
							}
						}
					}
				}
			}
		}
		return vals, nil
	}
}

// funcReturns is every string the function name in pkg can return: the
// literals it returns, and those a returned variable was compared with
// (`case v == "failed": return v`).
func funcReturns(pkg, name string) func(*goSource) ([]string, error) {
	return func(src *goSource) ([]string, error) {
		for _, f := range src.pkgs[pkg] {
			for _, decl := range f.Decls {
				fd, ok := decl.(*ast.FuncDecl)
				if !ok || fd.Name.Name != name || fd.Recv != nil {
					continue
				}
				var vals []string
				returned := map[string]bool{}
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					if ret, ok := n.(*ast.ReturnStmt); ok {
						for _, r := range ret.Results {
							if s, ok := stringLit(r); ok {
								vals = append(vals, s)
							} else if id, ok := r.(*ast.Ident); ok {
								returned[id.Name] = true
							}
						}
					}
					return true
				})
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					if be, ok := n.(*ast.BinaryExpr); ok && be.Op == token.EQL {
						if id, ok := be.X.(*ast.Ident); ok && returned[id.Name] {
							if s, ok := stringLit(be.Y); ok {
								vals = append(vals, s)
							}
						}
					}
					return true
				})
				return vals, nil
			}
		}
		return nil, fmt.Errorf("no func %s in %s", name, pkg)
	}
}

func fixed(vals ...string) func(*goSource) ([]string, error) {
	return func(*goSource) ([]string, error) { return vals, nil }
}

func all(sources ...func(*goSource) ([]string, error)) func(*goSource) ([]string, error) {
	return func(src *goSource) ([]string, error) {
		var vals []string
		for _, s := range sources {
			v, err := s(src)
			if err != nil {
				return nil, err
			}
			vals = append(vals, v...)
		}
		return vals, nil
	}
}

// note records that key is used at where, once per place.
func note(m map[string][]string, key, where string) {
	if !slices.Contains(m[key], where) {
		m[key] = append(m[key], where)
	}
}
