package bff_test

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	apidocs "github.com/weifang/kaigong-zsb/api-docs"
)

var (
	exercisedMu sync.Mutex
	exercised   = map[string]bool{} // "METHOD /path" as sent
)

func record(method, path string) {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	exercisedMu.Lock()
	exercised[method+" "+path] = true
	exercisedMu.Unlock()
}

// TestMain runs the suite and then, when the whole suite ran, checks that
// every operation of the contract was exercised by some test: a route in the
// spec that no test calls is a route whose answers nobody validated.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" {
		if missing := unexercised(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: operations of api-docs/openapi.yaml no test exercised:\n  %s\n", strings.Join(missing, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}

func unexercised() []string {
	doc, err := apidocs.Load()
	if err != nil {
		return []string{err.Error()}
	}
	var missing []string
	for path, item := range doc.Paths.Map() {
		segs := strings.Split(path, "/")
		for i, seg := range segs {
			if strings.HasPrefix(seg, "{") {
				segs[i] = `[^/]+`
			} else {
				segs[i] = regexp.QuoteMeta(seg)
			}
		}
		re := regexp.MustCompile("^" + strings.Join(segs, "/") + "$")
		for method := range item.Operations() {
			found := false
			for key := range exercised {
				m, p, _ := strings.Cut(key, " ")
				if m == method && re.MatchString(p) {
					found = true
					break
				}
			}
			if !found {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	return missing
}

func TestOpsRoutes(t *testing.T) {
	e := start(t, nil)
	e.expect(e.do("GET", "/healthz", "", nil), 200)
	r := e.expect(e.do("GET", "/readyz", "", nil), 200)
	if !strings.Contains(string(r.Body), `"database":"ok"`) {
		t.Fatalf("readyz %s", r.Body)
	}
	e.expect(e.do("GET", "/v1/me", "", nil), 401) // something for the counters
	// Two methods on one route over one keep-alive connection: label values
	// must not alias the connection's buffer (a once-seen bug made /metrics
	// answer 500 for good after this).
	tok := e.login("ent-demo").AccessToken
	var prefs map[string]any
	e.expect(e.do("GET", "/v1/me/push-preferences", tok, nil), 200).json(t, &prefs)
	e.expect(e.do("PUT", "/v1/me/push-preferences", tok, prefs), 200)
	e.expect(e.do("GET", "/metrics", "", nil), 200)
	m := e.expect(e.do("GET", "/metrics", "", nil), 200)
	if !strings.Contains(string(m.Body), `zsb_http_requests_total{method="GET",route="/v1/me",status="401"}`) {
		t.Fatalf("metrics lack the request counter by route and status")
	}
	if !strings.Contains(string(e.expect(e.do("GET", "/openapi.yaml", "", nil), 200).Body), "openapi: 3.0") {
		t.Fatal("spec not served")
	}
	if !strings.Contains(string(e.expect(e.do("GET", "/docs", "", nil), 200).Body), "/v1/projects/{project_id}/progress") {
		t.Fatal("docs page lacks a route")
	}
}
