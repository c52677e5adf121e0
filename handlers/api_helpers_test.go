package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	vconfig "github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"

	"etpay-dashboard/apidoc"
	"etpay-dashboard/models"
)

// The API's tests send every request through apiCaller, which checks the
// request and the answer against the OpenAPI document (apidoc): a field,
// status, header or type the document does not describe fails the test.

// openAPI is the validator of apidoc's document, made once; mu serialises
// its use across parallel tests.
var openAPI = struct {
	once sync.Once
	v    validator.Validator
	err  error
	mu   sync.Mutex
}{}

func openAPIValidator(t *testing.T) validator.Validator {
	t.Helper()
	openAPI.once.Do(func() {
		doc, err := libopenapi.NewDocument(apidoc.OpenAPI)
		if err != nil {
			openAPI.err = err
			return
		}
		v, errs := validator.NewValidator(doc, vconfig.WithFormatAssertions())
		if len(errs) > 0 {
			openAPI.err = fmt.Errorf("%v", errs)
			return
		}
		openAPI.v = v
	})
	if openAPI.err != nil {
		t.Fatalf("the OpenAPI document does not load: %v", openAPI.err)
	}
	return openAPI.v
}

// apiCaller calls the API with a key ("" for none).
type apiCaller struct {
	h    *harness
	key  string
	lang string // Accept-Language, when set
}

func (h *harness) api(key string) *apiCaller { return &apiCaller{h: h, key: key} }

// apiKey makes a key of scope in the app's mode through the Store and returns it.
func (h *harness) apiKey(name, scope string) string {
	h.t.Helper()
	return h.apiKeyIn(name, scope, string(h.cfg.Mode))
}

func (h *harness) apiKeyIn(name, scope, mode string) string {
	h.t.Helper()
	_, key, err := h.store.CreateAPIKey(context.Background(), name, scope, mode, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return key
}

// apiResponse is an answer with its body read.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

// call sends a request the document allows, and checks it and its answer
// against the document. header is name, value pairs.
func (c *apiCaller) call(method, path, body string, header ...string) apiResponse {
	c.h.t.Helper()
	return c.send(method, path, body, true, header...)
}

// callInvalid sends a request the document forbids (no key, a wrong field),
// checking that the document does forbid it and that the answer is one the
// document describes.
func (c *apiCaller) callInvalid(method, path, body string, header ...string) apiResponse {
	c.h.t.Helper()
	return c.send(method, path, body, false, header...)
}

func (c *apiCaller) send(method, path, body string, valid bool, header ...string) apiResponse {
	t := c.h.t
	t.Helper()
	req := c.request(method, path, body, header...)
	v := openAPIValidator(t)
	openAPI.mu.Lock()
	ok, errs := v.ValidateHttpRequestSync(c.request(method, path, body, header...))
	openAPI.mu.Unlock()
	switch {
	case valid && !ok:
		t.Errorf("%s %s: the OpenAPI document refuses the request:\n%s", method, path, describe(errs))
	case !valid && ok:
		t.Errorf("%s %s: the OpenAPI document allows a request the test means to be invalid", method, path)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(got))
	openAPI.mu.Lock()
	ok, errs = v.ValidateHttpResponse(c.request(method, path, body, header...), resp)
	openAPI.mu.Unlock()
	if !ok {
		t.Errorf("%s %s answered %d, which the OpenAPI document does not describe:\n%s\n%s", method, path, resp.StatusCode, describe(errs), got)
	}
	return apiResponse{status: resp.StatusCode, header: resp.Header, body: got}
}

// request builds the request anew each time: validating one reads its body.
func (c *apiCaller) request(method, path, body string, header ...string) *http.Request {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.h.base+path, r)
	if err != nil {
		c.h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if c.lang != "" {
		req.Header.Set("Accept-Language", c.lang)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

func describe(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  - %s: %s\n", e.Message, e.Reason)
		for _, s := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "      %s at %s (%s)\n", s.Reason, s.FieldPath, s.KeywordLocation)
		}
	}
	return b.String()
}

// decode reads the answer's JSON into v.
func (r apiResponse) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer %d is not the JSON expected: %v\n%s", r.status, err, r.body)
	}
}

// apiProblem is a problem answer, as a client reads it.
type apiProblem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors map[string]struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	} `json:"errors"`
	LinkID uint `json:"link_id"`
}

// problem checks that r is the problem name with status, and returns it.
func (r apiResponse) problem(t *testing.T, status int, name string) apiProblem {
	t.Helper()
	if r.status != status {
		t.Fatalf("answered %d, want %d (%s):\n%s", r.status, status, name, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("problem %s came as %q", name, ct)
	}
	var p apiProblem
	r.decode(t, &p)
	if want := "urn:etpay-dashboard:problem:" + name; p.Type != want || p.Status != status || p.Title == "" || p.Detail == "" {
		t.Errorf("problem %+v, want type %s and status %d with a title and a detail", p, want, status)
	}
	return p
}

// link reads a link answer.
func (r apiResponse) link(t *testing.T) models.LinkView {
	t.Helper()
	var l models.LinkView
	r.decode(t, &l)
	return l
}

// linkBody is a new link's JSON with the fields given (name, value pairs).
func linkBody(fields ...any) string {
	m := map[string]any{}
	for i := 0; i+1 < len(fields); i += 2 {
		m[fields[i].(string)] = fields[i+1]
	}
	b, _ := json.Marshal(m)
	return string(b)
}
