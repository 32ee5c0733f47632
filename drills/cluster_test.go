package drills

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/models"
)

// TestRedisCluster runs the BFF on a three-node Redis Cluster and goes
// through the whole flow: login and refresh, progress read and its cache,
// an upstream event to the inbox and the phone, a help request to an
// agent's phone, logout. Any cluster error the BFF logs (CROSSSLOT, MOVED,
// …) is reported with the line.
func TestRedisCluster(t *testing.T) {
	drill(t)
	addrs := redisCluster(t)
	s := newStack(t)
	s.redisURL = "redis+cluster://" + strings.Join(addrs, ",")
	b := s.startBFF("bff")

	ent := b.phoneFor("ent-demo")
	town := b.phoneFor("agent-town")
	r := b.must("GET", "/v1/projects/"+civil+"/progress", ent.access, nil, 200)
	b.must("GET", "/v1/projects/"+civil+"/progress", ent.access, nil, 304, "If-None-Match", r.header.Get("ETag"))
	var before struct {
		Version int64 `json:"version"`
	}
	r.decode(t, &before)

	code := firstItem(t, b, ent.access, civil)
	_, seq := s.projectVersion(civil)
	ev := itemEvent("drill-cluster-1", civil, int(seq)+1, code, models.StatusAccepted)
	if r, err := b.post(ev); err != nil || r.status != 202 {
		t.Fatalf("event: %v %v", r, err)
	}
	var after struct {
		Version int64 `json:"version"`
	}
	b.must("GET", "/v1/projects/"+civil+"/progress", ent.access, nil, 200).decode(t, &after)
	if after.Version != before.Version+1 {
		t.Errorf("progress version %d after the event, want %d", after.Version, before.Version+1)
	}
	b.must("POST", "/v1/projects/"+civil+"/help-requests", ent.access, map[string]string{"topic": "施工许可", "message": "请协助"}, 201)
	rep := s.waitDelivered(t, 2*time.Minute, map[string][]phone{civil: {ent}})
	t.Logf("on the cluster: %s", rep)
	eventually(t, time.Minute, "the help request's push to agent-town", func() (bool, string) {
		rep := s.pushReport(town)
		return rep.complete() && rep.expected > 0, rep.String()
	})

	var pair tokenPair
	login := b.login("ent-demo")
	b.must("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": login.RefreshToken}, 200).decode(t, &pair)
	b.must("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": login.RefreshToken}, 401)
	b.must("GET", "/v1/me", pair.AccessToken, nil, 401)
	b.must("POST", "/v1/auth/logout", ent.access, nil, 204)
	b.must("GET", "/v1/me", ent.access, nil, 401)
	b.must("GET", "/readyz", "", nil, 200)

	clusterErr := regexp.MustCompile(`CROSSSLOT|MOVED|ASK |CLUSTERDOWN|TRYAGAIN|slot`)
	for _, line := range strings.Split(b.p.out.String(), "\n") {
		switch {
		case clusterErr.MatchString(line):
			t.Errorf("cluster error in the BFF log: %s", line)
		case strings.Contains(line, `"msg":"slow query"`): // the machine is busy, not the cluster
		case strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`):
			t.Errorf("the BFF complained on the cluster: %s", line)
		}
	}
}
