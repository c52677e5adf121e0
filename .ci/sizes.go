//go:build ignore

// Sizes checks that production code stays in pieces a reader can hold: no
// file over 400 lines and no function over 60 (from its func line to its
// closing brace). Tests and the text catalogues (views/catalogue*.go: one
// long literal each) are exempt, and the functions in known may stay as
// long as they were when the check came in, no longer. Run from the module
// root (-top n also lists the n longest functions):
//
//	go run ./.ci/sizes.go [-top 10]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

const (
	maxFileLines = 400
	maxFuncLines = 60
)

// known are the functions already over the limit when this check came in,
// with their length then: each may shrink but not grow. Delete a line once
// its function fits.
var known = map[string]int{
	// The route table: every route of the app in one place, read top to bottom.
	"handlers/app.go (*app).routes": 76,
}

type size struct {
	where string // path:line name
	key   string // path name, as in known
	lines int
}

func main() {
	top := flag.Int("top", 0, "also list the n longest functions")
	flag.Parse()
	var files, funcs []size
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasPrefix(d.Name(), "catalogue") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files = append(files, size{where: path, lines: bytes.Count(src, []byte("\n"))})
		f, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Body != nil {
				start, end := fset.Position(fn.Pos()), fset.Position(fn.End())
				name := funcName(fn)
				funcs = append(funcs, size{fmt.Sprintf("%s:%d %s", path, start.Line, name), path + " " + name, end.Line - start.Line + 1})
			}
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	sort.SliceStable(funcs, func(i, j int) bool { return funcs[i].lines > funcs[j].lines })
	for i := 0; i < *top && i < len(funcs); i++ {
		fmt.Printf("%4d %s\n", funcs[i].lines, funcs[i].where)
	}
	failed := false
	for _, f := range files {
		if f.lines > maxFileLines {
			fmt.Printf("file over %d lines: %s (%d)\n", maxFileLines, f.where, f.lines)
			failed = true
		}
	}
	for _, f := range funcs {
		limit := max(maxFuncLines, known[f.key])
		if f.lines > limit {
			fmt.Printf("function over %d lines: %s (%d)\n", limit, f.where, f.lines)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// funcName is a function's name, with its receiver's type for a method:
// "(*Store).Close", "Open".
func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	t := fn.Recv.List[0].Type
	star := ""
	if p, ok := t.(*ast.StarExpr); ok {
		star, t = "*", p.X
	}
	if g, ok := t.(*ast.IndexExpr); ok {
		t = g.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return "(" + star + id.Name + ")." + fn.Name.Name
	}
	return fn.Name.Name
}
