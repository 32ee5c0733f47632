package apidocs

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// newTestValidator builds a Validator or stops the test.
func newTestValidator(tb testing.TB) *Validator {
	tb.Helper()
	v, err := NewValidator()
	if err != nil {
		tb.Fatalf("NewValidator: %v", err)
	}
	return v
}

const (
	jsonCT    = "application/json; charset=utf-8"
	problemCT = "application/problem+json"
)

// hdr builds a header from name, value pairs.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

const meBody = `{"id": 1, "username": "ent-demo", "display_name": "示例用户", "role": "enterprise",
	"enterprise": {"credit_code": "91370700MA3DEMO001", "name": "潍坊示例建设有限公司"}}`

const taskBody = `{"id": 7, "project_id": "WF-DEMO-CIVIL", "project_name": "示例项目", "kind": "help_request",
	"level": "town", "region_code": "370702", "status": "open", "title": "新任务", "topic": "施工图",
	"message": "请帮忙", "created_at": "2025-03-01T09:30:00+08:00", "updated_at": "2025-03-01T09:30:00+08:00",
	"claimed_by": null}`

const projectBody = `{"id": "WF-DEMO-CIVIL", "name": "示例项目", "type": "civil", "stage": "工程建设许可", "percent": 40,
	"region_code": "370702", "key_project": false, "regional_assessment": true, "standard_land": false,
	"enterprise": {"credit_code": "91370700MA3DEMO001", "name": "潍坊示例建设有限公司"},
	"facts": {"investment": "private", "land_source": "transfer", "zones": []}, "unknown_facts": ["height_m", "use"],
	"requirements": {"required": 20, "lighter": 1, "commitment": 1, "not_required": 9},
	"started_on": "2025-02-10", "due_on": null, "working_days_limit": 35, "working_days_used": 35,
	"overdue": false, "finished": true, "calendar": "official", "version": 3, "agents": [],
	"updated_at": "2025-03-01T09:30:00+08:00"}`

// problem builds a problem body for a code and status.
func problem(code string, status int) string {
	return `{"type": "urn:zsb:problem:` + code + `", "title": "t", "status": ` + strconv.Itoa(status) +
		`, "detail": "d", "code": "` + code + `", "request_id": "r1"}`
}

func TestValidator(t *testing.T) {
	v := newTestValidator(t)
	sig := "v1=" + strings.Repeat("ab", 32)
	event := `{"event_id": "e1", "type": "item.status_changed", "occurred_at": "2025-03-01T09:30:00+08:00",
		"project_id": "WF-DEMO-CIVIL", "sequence": 2, "item_code": "X1", "status": "approved"}`

	tests := []struct {
		name      string
		method    string
		target    string
		reqHeader http.Header
		reqBody   string
		status    int
		header    http.Header
		body      string
		wantErr   string // "" means valid
	}{
		{name: "me ok", method: "GET", target: "/v1/me", status: 200,
			header: hdr("Content-Type", jsonCT), body: meBody},
		{name: "absolute URL", method: "GET", target: "http://127.0.0.1:8080/v1/me", status: 200,
			header: hdr("Content-Type", jsonCT), body: meBody},
		{name: "me missing role", method: "GET", target: "/v1/me", status: 200,
			header: hdr("Content-Type", jsonCT),
			body:   `{"id": 1, "username": "u", "display_name": "d"}`, wantErr: "role"},
		{name: "me extra field", method: "GET", target: "/v1/me", status: 200,
			header:  hdr("Content-Type", jsonCT),
			body:    `{"id": 1, "username": "u", "display_name": "d", "role": "agent", "password": "x"}`,
			wantErr: "password"},
		{name: "me wrong content type", method: "GET", target: "/v1/me", status: 200,
			header: hdr("Content-Type", "text/plain"), body: meBody, wantErr: "Content-Type"},
		{name: "unknown route", method: "GET", target: "/v1/nope", status: 200,
			header: hdr("Content-Type", jsonCT), body: `{}`, wantErr: "route not in the OpenAPI document"},
		{name: "unknown method", method: "DELETE", target: "/v1/me", status: 204,
			wantErr: "route not in the OpenAPI document"},
		{name: "undocumented status", method: "GET", target: "/v1/me", status: 418,
			header: hdr("Content-Type", problemCT), body: problem("internal", 418), wantErr: "not documented"},
		{name: "unauthorized ok", method: "GET", target: "/v1/me", status: 401,
			header: hdr("Content-Type", problemCT), body: problem("token_expired", 401)},
		{name: "login bad credentials", method: "POST", target: "/v1/auth/login",
			reqHeader: hdr("Content-Type", "application/json"), reqBody: `{"username": "x", "password": "y"}`,
			status: 401, header: hdr("Content-Type", problemCT), body: problem("invalid_credentials", 401)},
		{name: "login undocumented code", method: "POST", target: "/v1/auth/login",
			reqHeader: hdr("Content-Type", "application/json"), reqBody: `{"username": "x", "password": "y"}`,
			status: 401, header: hdr("Content-Type", problemCT), body: problem("token_expired", 401),
			wantErr: `problem code "token_expired" is not documented`},
		{name: "problem status mismatch", method: "GET", target: "/v1/me", status: 401,
			header: hdr("Content-Type", problemCT), body: problem("unauthorized", 400), wantErr: "differs"},
		{name: "problem as plain json", method: "GET", target: "/v1/me", status: 401,
			header: hdr("Content-Type", jsonCT), body: problem("unauthorized", 401), wantErr: "Content-Type"},
		{name: "rate limited without Retry-After", method: "POST", target: "/v1/auth/login",
			reqBody: `{}`, status: 429, header: hdr("Content-Type", problemCT),
			body: problem("rate_limited", 429), wantErr: "Retry-After"},
		{name: "rate limited with Retry-After", method: "POST", target: "/v1/auth/login",
			reqBody: `{}`, status: 429, header: hdr("Content-Type", problemCT, "Retry-After", "30"),
			body: problem("rate_limited", 429)},
		{name: "validation problem with errors", method: "PUT", target: "/v1/me/devices/abc",
			reqHeader: hdr("Content-Type", "application/json"), reqBody: `{"platform": "windows"}`,
			status: 422, header: hdr("Content-Type", problemCT),
			body: `{"type": "urn:zsb:problem:validation_failed", "title": "t", "status": 422, "detail": "d",
				"code": "validation_failed", "errors": [{"field": "platform", "message": "unknown"}]}`},
		{name: "device accepted with unknown field", method: "PUT", target: "/v1/me/devices/abc",
			reqHeader: hdr("Content-Type", "application/json"),
			reqBody:   `{"platform": "android", "push_token": "t", "colour": "red"}`,
			status:    200, header: hdr("Content-Type", jsonCT),
			body: `{"installation_id": "abc", "platform": "android", "provider": "fcm", "app_version": null,
				"locale": null, "active": true, "last_seen_at": "2025-03-01T09:30:00+08:00",
				"created_at": "2025-03-01T09:30:00+08:00", "updated_at": "2025-03-01T09:30:00+08:00"}`,
			wantErr: "request accepted but not conforming"},
		{name: "device ok", method: "PUT", target: "/v1/me/devices/abc",
			reqHeader: hdr("Content-Type", "application/json"),
			reqBody:   `{"platform": "android", "push_token": "t", "locale": "en"}`,
			status:    200, header: hdr("Content-Type", jsonCT),
			body: `{"installation_id": "abc", "platform": "android", "provider": "fcm", "app_version": null,
				"locale": "en", "active": true, "last_seen_at": "2025-03-01T09:30:00+08:00",
				"created_at": "2025-03-01T09:30:00+08:00", "updated_at": "2025-03-01T09:30:00+08:00"}`},
		{name: "device echoes push token", method: "PUT", target: "/v1/me/devices/abc",
			reqHeader: hdr("Content-Type", "application/json"),
			reqBody:   `{"platform": "android", "push_token": "t"}`,
			status:    200, header: hdr("Content-Type", jsonCT),
			body: `{"installation_id": "abc", "platform": "android", "provider": "fcm", "app_version": null,
				"locale": null, "active": true, "last_seen_at": "2025-03-01T09:30:00+08:00", "push_token": "t",
				"created_at": "2025-03-01T09:30:00+08:00", "updated_at": "2025-03-01T09:30:00+08:00"}`,
			wantErr: "push_token"},
		{name: "limit out of range accepted", method: "GET", target: "/v1/projects?limit=0", status: 200,
			header: hdr("Content-Type", jsonCT), body: `{"items": [], "next_cursor": null}`,
			wantErr: `query parameter "limit"`},
		{name: "projects page ok", method: "GET", target: "/v1/projects?limit=5", status: 200,
			header: hdr("Content-Type", jsonCT), body: `{"items": [], "next_cursor": "abc"}`},
		{name: "projects page missing next_cursor", method: "GET", target: "/v1/projects", status: 200,
			header: hdr("Content-Type", jsonCT), body: `{"items": []}`, wantErr: "next_cursor"},
		{name: "project ok", method: "GET", target: "/v1/projects/WF-DEMO-CIVIL", status: 200,
			header: hdr("Content-Type", jsonCT, "ETag", `"v3"`), body: projectBody},
		{name: "project without its facts", method: "GET", target: "/v1/projects/WF-DEMO-CIVIL", status: 200,
			header: hdr("Content-Type", jsonCT, "ETag", `"v3"`), body: strings.Replace(projectBody, `"facts": {`, `"facts_": {`, 1), wantErr: "facts"},
		{name: "project with an unknown fact", method: "GET", target: "/v1/projects/WF-DEMO-CIVIL", status: 200,
			header: hdr("Content-Type", jsonCT, "ETag", `"v3"`), body: strings.Replace(projectBody, `"zones": []`, `"zone": []`, 1), wantErr: "zone"},
		{name: "project without ETag", method: "GET", target: "/v1/projects/WF-DEMO-CIVIL", status: 200,
			header: hdr("Content-Type", jsonCT), body: projectBody, wantErr: "ETag"},
		{name: "project not modified", method: "GET", target: "/v1/projects/WF-DEMO-CIVIL",
			reqHeader: hdr("If-None-Match", `"v3"`), status: 304, header: hdr("ETag", `"v3"`)},
		{name: "not modified without ETag", method: "GET", target: "/v1/projects/WF-DEMO-CIVIL",
			status: 304, header: hdr(), wantErr: "ETag"},
		{name: "not modified with body", method: "GET", target: "/v1/projects/WF-DEMO-CIVIL",
			status: 304, header: hdr("ETag", `"v3"`), body: projectBody, wantErr: "must be empty"},
		{name: "next steps has no 304", method: "GET", target: "/v1/projects/WF-1/next-steps",
			status: 304, header: hdr("ETag", `"v3"`), wantErr: "not documented"},
		{name: "forbidden is never an answer", method: "GET", target: "/v1/projects/WF-OTHER-1", status: 403,
			header: hdr("Content-Type", problemCT), body: problem("forbidden", 403), wantErr: "not documented"},
		{name: "login account disabled", method: "POST", target: "/v1/auth/login", reqBody: `{}`, status: 401,
			header: hdr("Content-Type", problemCT), body: problem("account_disabled", 401)},
		{name: "project not found", method: "GET", target: "/v1/projects/WF-OTHER-1", status: 404,
			header: hdr("Content-Type", problemCT), body: problem("not_found", 404)},
		{name: "help request created", method: "POST", target: "/v1/projects/WF-DEMO-CIVIL/help-requests",
			reqHeader: hdr("Content-Type", "application/json"), reqBody: `{"topic": "t", "message": "m"}`,
			status: 201, header: hdr("Content-Type", jsonCT, "Location", "/v1/agent/tasks/7"), body: taskBody},
		{name: "help request without Location", method: "POST", target: "/v1/projects/WF-DEMO-CIVIL/help-requests",
			reqHeader: hdr("Content-Type", "application/json"), reqBody: `{"topic": "t", "message": "m"}`,
			status: 201, header: hdr("Content-Type", jsonCT), body: taskBody, wantErr: "Location"},
		{name: "task taken", method: "POST", target: "/v1/agent/tasks/7/claim", status: 409,
			header: hdr("Content-Type", problemCT), body: problem("task_taken", 409)},
		{name: "task wrong enum", method: "POST", target: "/v1/agent/tasks/7/claim", status: 200,
			header: hdr("Content-Type", jsonCT), body: strings.Replace(taskBody, `"open"`, `"closed"`, 1),
			wantErr: "/status"},
		{name: "logout no content", method: "POST", target: "/v1/auth/logout", status: 204},
		{name: "logout with body", method: "POST", target: "/v1/auth/logout", status: 204,
			body: `{}`, wantErr: "must be empty"},
		{name: "webhook ok", method: "POST", target: "/v1/upstream/events",
			reqHeader: hdr("Content-Type", "application/json", "X-Upstream-Timestamp", "1740792600",
				"X-Upstream-Signature", sig),
			reqBody: event, status: 202, header: hdr("Content-Type", jsonCT),
			body: `{"event_id": "e1", "result": "applied"}`},
		{name: "webhook accepted unsigned", method: "POST", target: "/v1/upstream/events",
			reqHeader: hdr("Content-Type", "application/json"),
			reqBody:   event, status: 202, header: hdr("Content-Type", jsonCT),
			body: `{"event_id": "e1", "result": "applied"}`, wantErr: "X-Upstream-Timestamp"},
		{name: "webhook bad signature", method: "POST", target: "/v1/upstream/events",
			reqBody: event, status: 401, header: hdr("Content-Type", problemCT),
			body: problem("signature_invalid", 401)},
		{name: "webhook unknown project", method: "POST", target: "/v1/upstream/events",
			reqBody: event, status: 422, header: hdr("Content-Type", problemCT),
			body: problem("unknown_project", 422)},
		{name: "webhook unavailable", method: "POST", target: "/v1/upstream/events",
			reqBody: event, status: 503, header: hdr("Content-Type", problemCT, "Retry-After", "5"),
			body: problem("unavailable", 503)},
		{name: "healthz", method: "GET", target: "/healthz", status: 200,
			header: hdr("Content-Type", "application/json"), body: `{"status": "ok"}`},
		{name: "readyz failing", method: "GET", target: "/readyz", status: 503,
			header: hdr("Content-Type", "application/json"),
			body:   `{"status": "unavailable", "checks": {"database": "ok", "redis": "connection refused"}}`},
		{name: "metrics", method: "GET", target: "/metrics", status: 200,
			header: hdr("Content-Type", "text/plain; version=0.0.4; charset=utf-8"), body: "up 1\n"},
		{name: "docs as json", method: "GET", target: "/docs", status: 200,
			header: hdr("Content-Type", jsonCT), body: `{}`, wantErr: "not documented"},
		{name: "spec", method: "GET", target: "/openapi.yaml", status: 200,
			header: hdr("Content-Type", "application/yaml"), body: "openapi: 3.0.3\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.reqBody))
			for k, vs := range tt.reqHeader {
				req.Header[k] = vs
			}
			err := v.Validate(req, []byte(tt.reqBody), tt.status, tt.header, []byte(tt.body))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate: unexpected error: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Validate: no error, want one mentioning %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("Validate: error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
}

// TestValidatorConcurrent shows one Validator serves parallel tests.
func TestValidatorConcurrent(t *testing.T) {
	v := newTestValidator(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				req := httptest.NewRequest("GET", "/v1/me", nil)
				if err := v.Validate(req, nil, 200, hdr("Content-Type", jsonCT), []byte(meBody)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
