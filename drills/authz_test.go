package drills

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/models"
)

// TestObjectLevelAuthorization drives every project-scoped route of the
// running binary as every kind of caller: the project's enterprise users and
// following agents get answers, everyone else 404 not_found, exactly like a
// project that does not exist. Another user's notification cannot be read
// either.
func TestObjectLevelAuthorization(t *testing.T) {
	drill(t)
	s := newStack(t)
	b := s.startBFF("bff")
	users := []string{"ent-demo", "ent-other", "agent-town", "agent-county", "agent-city"}
	tokens := map[string]string{}
	for _, u := range users {
		tokens[u] = b.login(u).AccessToken
	}
	type route struct {
		method, path string
		body         any
		ok           int
	}
	routes := func(id string) []route {
		return []route{
			{"GET", "/v1/projects/" + id, nil, 200},
			{"GET", "/v1/projects/" + id + "/progress", nil, 200},
			{"GET", "/v1/projects/" + id + "/guide", nil, 200},
			{"GET", "/v1/projects/" + id + "/next-steps", nil, 200},
			{"GET", "/v1/projects/" + id + "/timeline", nil, 200},
			{"POST", "/v1/projects/" + id + "/help-requests", map[string]string{"topic": "施工许可", "message": "请协助"}, 201},
		}
	}
	sees := map[string]map[string]bool{
		civil:      {"ent-demo": true},
		industrial: {"ent-demo": true, "agent-county": true},
		otherProj:  {"ent-other": true},
		"WF-NOPE":  {},
	}
	for id, allowed := range sees {
		for _, user := range users {
			for _, rt := range routes(id) {
				want := 404
				if allowed[user] && !(rt.method == "POST" && strings.HasPrefix(user, "agent")) {
					want = rt.ok
				}
				t.Run(fmt.Sprintf("%s %s as %s", rt.method, rt.path, user), func(t *testing.T) {
					r, err := b.call(rt.method, rt.path, tokens[user], rt.body)
					if err != nil {
						t.Fatal(err)
					}
					if r.status != want {
						t.Fatalf("%s, want %d", r, want)
					}
					b.checkContract(rt.method, rt.path, tokens[user], rt.body, r)
					if want == 404 && !strings.Contains(string(r.body), `"code":"not_found"`) {
						t.Fatalf("404 without not_found: %s", r.body)
					}
				})
			}
		}
	}
	// A conditional request must not leak either: a 304 needs access too.
	r := b.must("GET", "/v1/projects/"+otherProj+"/progress", tokens["ent-other"], nil, 200)
	b.must("GET", "/v1/projects/"+otherProj+"/progress", tokens["ent-demo"], nil, 404, "If-None-Match", r.header.Get("ETag"))
	// Agents' project list holds only what they follow.
	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	b.must("GET", "/v1/projects", tokens["agent-town"], nil, 200).decode(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("agent-town lists projects it does not follow: %+v", list.Items)
	}

	t.Run("another user's notification", func(t *testing.T) {
		other := b.phoneFor("ent-other")
		code := firstItem(t, b, other.access, otherProj)
		_, seq := s.projectVersion(otherProj)
		ev := itemEvent("drill-authz-1", otherProj, int(seq)+1, code, models.StatusAccepted)
		if r, err := b.post(ev); err != nil || r.status != 202 {
			t.Fatalf("event: %v %v", r, err)
		}
		var id string
		eventually(t, time.Minute, "ent-other's notification", func() (bool, string) {
			ids := s.inboxIDs(other.userID)
			if len(ids) > 0 {
				id = ids[0]
			}
			return id != "", ""
		})
		b.must("POST", "/v1/me/notifications/"+id+"/read", tokens["ent-demo"], nil, 404)
		b.must("POST", "/v1/me/notifications/"+id+"/read", tokens["agent-county"], nil, 404)
		b.must("POST", "/v1/me/notifications/read-all", tokens["ent-demo"], nil, 204)
		if n := count(t, s.db, "SELECT count(*) FROM notifications WHERE id = ? AND read_at IS NULL", id); n != 1 {
			t.Errorf("ent-other's notification was marked read by someone else")
		}
		var inbox struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		b.must("GET", "/v1/me/notifications", tokens["ent-demo"], nil, 200).decode(t, &inbox)
		for _, it := range inbox.Items {
			if it.ID == id {
				t.Errorf("ent-demo's inbox lists ent-other's notification %s", id)
			}
		}
		b.must("POST", "/v1/me/notifications/"+id+"/read", other.access, nil, 204)
	})
}

// firstItem returns the first next step of a project, as its user sees it.
func firstItem(t *testing.T, b *bff, token, project string) string {
	t.Helper()
	var next struct {
		Items []struct {
			Code string `json:"code"`
		} `json:"items"`
	}
	b.must("GET", "/v1/projects/"+project+"/next-steps", token, nil, 200).decode(t, &next)
	if len(next.Items) == 0 {
		t.Fatalf("%s has no next steps", project)
	}
	return next.Items[0].Code
}
