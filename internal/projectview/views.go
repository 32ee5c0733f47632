// Package projectview builds the read views of a project — progress, guide,
// next steps and the list summary — from the database and the domain rules,
// and caches them in Redis. Views are written through whenever the project
// changes (the notify intake calls Refresh before answering 202) and rebuilt
// on a miss, once per key however many requests ask at the same time. When
// Redis is down, views are built from the database directly.
//
// A view is never served older than the project's committed version for
// longer than a few seconds, even when Redis stalls rather than fails: Redis
// is given a short time to answer (cacheReadTimeout, writeThroughTimeout);
// a write-through that failed leaves the project to a repairer that writes
// it again as soon as Redis answers (repairEvery); and whenever this instance
// has seen Redis fail, or its invalidation subscription come or go, it
// checks every view it reads from Redis against the project's version in
// the database for a while (verifyFor), rebuilding the ones that are behind,
// so an entry that missed a write-through on another instance (one that
// died before its repair) is caught too. The process's own copy is trusted
// as before: at most localTTL, and only while the subscription is live.
package projectview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"
	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/internal/localcache"
	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/internal/workdays"
	"github.com/weifang/kaigong-zsb/models"
)

// Kind names one cached view.
type Kind string

// The views of a project.
const (
	Progress  Kind = "progress"
	Guide     Kind = "guide"
	NextSteps Kind = "next"
	Summary   Kind = "summary"
)

// cacheTTL bounds how long an untouched project's views stay in Redis.
const cacheTTL = 48 * time.Hour

// The in-process copy of cached views (UseBus): how long an entry is kept
// at most (an invalidation normally ends it at once; the TTL bounds one that
// was lost) and how many bytes of views it holds.
const (
	localTTL      = 5 * time.Second
	localMaxBytes = 16 << 20
)

// How long Redis is given, and what a failure of it costs. A view read
// waits cacheReadTimeout for Redis before it builds from the database; a
// write-through waits writeThroughTimeout (the webhook answers after it) and
// leaves what failed to the repairer, which retries every repairEvery. After
// any sign that Redis missed a write (a failed command here, the
// invalidation subscription lost or regained), views read from Redis are
// checked against the database's version for verifyFor.
const (
	cacheReadTimeout    = 500 * time.Millisecond
	writeThroughTimeout = time.Second
	repairEvery         = 250 * time.Millisecond
	verifyFor           = time.Minute
)

// localViews is the in-process entry of one project: the views read so far,
// by kind. A stored entry is never modified; adding a view stores a copy.
type localViews map[Kind]View

// complete reports whether lv holds every kind of view, computed for day.
func (lv localViews) complete(day string) bool {
	for _, k := range allKinds {
		if view, ok := lv[k]; !ok || view.Day != day {
			return false
		}
	}
	return true
}

func (lv localViews) weight() int {
	n := 0
	for _, v := range lv {
		n += len(v.Body) + 256
	}
	return n
}

// View is one view of a project with what a reader needs to authorize and
// to answer conditional requests.
type View struct {
	ProjectID  string
	Version    int64
	Day        string // the Asia/Shanghai date the view was computed for
	Enterprise string
	AgentIDs   []int64
	Body       []byte
	etag       string // ETag(Version, Day), formatted once when the view is made
}

// ETag is the strong validator of the view: the project's version and the
// day (deadlines count down daily even when nothing changes).
func (v View) ETag() string {
	if v.etag != "" {
		return v.etag
	}
	return ETag(v.Version, v.Day)
}

// ETag formats a view validator.
func ETag(version int64, day string) string {
	return `"` + strconv.FormatInt(version, 10) + "." + strings.ReplaceAll(day, "-", "") + `"`
}

// SummaryView is the list entry of a project (GET /v1/projects).
type SummaryView struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	Type          string         `json:"type"`
	Stage         string         `json:"stage"`
	Percent       int            `json:"percent"`
	DueOn         *workdays.Date `json:"due_on"`
	Overdue       bool           `json:"overdue"`
	NextStepCount int            `json:"next_step_count"`
	UnreadCount   int64          `json:"unread_count"`
}

// Views builds and caches project views.
type Views struct {
	db     *store.DB
	rdb    redis.UniversalClient
	prefix string
	cat    *models.Catalog
	cal    *workdays.Calendar
	now    func() time.Time
	log    *slog.Logger
	group  singleflight.Group
	builds atomic.Int64 // database rebuilds, for tests and metrics
	day    atomic.Pointer[dayMemo]

	bus   *localcache.Bus
	pub   localcache.Publisher
	local *localcache.Cache[localViews] // nil without a bus

	// verifyUntil (unix nanoseconds) ends the current period of checking
	// Redis's views against the database; busResets is the subscription's
	// change count last seen.
	verifyUntil atomic.Int64
	busResets   atomic.Int64
	repair      repairs
}

// repairs are the projects whose write-through failed, each with the count
// of its last failure (a repair that began before it does not clear it).
type repairs struct {
	mu      sync.Mutex
	ids     map[string]uint64
	gen     uint64
	running bool
}

// New returns a Views. now is the clock (nil: time.Now).
func New(db *store.DB, rdb redis.UniversalClient, prefix string, cat *models.Catalog, cal *workdays.Calendar, now func() time.Time, log *slog.Logger) *Views {
	if now == nil {
		now = time.Now
	}
	return &Views{db: db, rdb: rdb, prefix: prefix, cat: cat, cal: cal, now: now, log: log, pub: localcache.NewPublisher(rdb, prefix)}
}

// UseBus keeps a copy of the views read from Redis in the process, trusted
// while bus is live and until Refresh (on any instance) announces that the
// project changed. Call it once, before the views are used.
func (v *Views) UseBus(bus *localcache.Bus) {
	v.bus = bus
	v.local = localcache.NewCache(bus, localcache.TopicProject, localTTL, localMaxBytes, localViews.weight)
}

// remember keeps view in the process, read from Redis in a read that began
// at t.
func (v *Views) remember(t localcache.Ticket, kind Kind, view View) {
	v.local.Update(t, view.ProjectID, func(cur localViews, ok bool) localViews {
		next := make(localViews, len(cur)+1)
		if ok {
			for k, x := range cur {
				if x.Version == view.Version && x.Day == view.Day {
					next[k] = x
				}
			}
		}
		next[kind] = view
		return next
	})
}

// rememberAll keeps every view of b in the process, built from a read that
// began at t.
func (v *Views) rememberAll(t localcache.Ticket, b built) {
	v.local.Put(t, b.projectID, b.views())
}

// announce tells every instance that projectID's views changed.
func (v *Views) announce(ctx context.Context, projectID string) error {
	if v.bus != nil {
		return v.bus.Publish(ctx, localcache.TopicProject, projectID)
	}
	return v.pub.Publish(ctx, localcache.TopicProject, projectID)
}

// Catalog returns the approval catalog the views are built from.
func (v *Views) Catalog() *models.Catalog { return v.cat }

func (v *Views) key(projectID string) string { return v.prefix + "{pv:" + projectID + "}" }

// today is the Asia/Shanghai date of v.now(), formatted once a second
// rather than on every read.
func (v *Views) today() string {
	now := v.now()
	sec := now.Unix()
	if m := v.day.Load(); m != nil && m.unix == sec {
		return m.day
	}
	d := workdays.DateOf(now).String()
	v.day.Store(&dayMemo{unix: sec, day: d})
	return d
}

type dayMemo struct {
	unix int64
	day  string
}

// Get returns one view of a project, from the cache when it is current.
// A project that does not exist answers models.ErrNotFound. projectID is
// copied before anything keeps it, so it may point into a request's buffer.
func (v *Views) Get(ctx context.Context, projectID string, kind Kind) (View, error) {
	// The process's own copy answers most reads, without the slice and the
	// copy of the id the general path needs.
	if view, ok := v.localView(projectID, kind, v.today()); ok {
		return view, nil
	}
	views, err := v.GetMany(ctx, []string{strings.Clone(projectID)}, kind)
	if err != nil {
		return View{}, err
	}
	return views[0], nil
}

// GetMany returns one view of each project, in order, reading the cache for
// all of them in one Redis round trip (a list page would otherwise cost one
// per project) and rebuilding only the ones missing or out of date.
func (v *Views) GetMany(ctx context.Context, projectIDs []string, kind Kind) ([]View, error) {
	day := v.today()
	out := make([]View, len(projectIDs))
	var missing []int // indexes of projectIDs not current in the process
	for i, id := range projectIDs {
		if view, ok := v.localView(id, kind, day); ok {
			out[i] = view
			continue
		}
		missing = append(missing, i)
	}
	if len(missing) == 0 {
		return out, nil
	}
	verify := v.verifying()
	ticket := v.local.Begin()
	cmds := make([]*redis.SliceCmd, len(projectIDs))
	rctx, cancel := context.WithTimeout(ctx, cacheReadTimeout)
	_, err := v.rdb.Pipelined(rctx, func(pipe redis.Pipeliner) error {
		for _, i := range missing {
			cmds[i] = pipe.HMGet(rctx, v.key(projectIDs[i]), "v", "day", "ent", "agents", string(kind))
		}
		return nil
	})
	cancel()
	cacheOK := err == nil
	if !cacheOK {
		v.troubled()
		v.log.WarnContext(ctx, "project view cache unavailable; reading the database", "err", err)
	}
	var current map[string]int64 // the database's versions, when verifying
	if cacheOK && verify {
		current = v.versions(ctx, projectIDs, missing)
	}
	for _, i := range missing {
		id := projectIDs[i]
		if cacheOK {
			if view, ok := decodeCached(id, cmds[i].Val()); ok && view.Day == day {
				if ver, known := current[id]; !known || view.Version >= ver {
					v.remember(ticket, kind, view)
					out[i] = view
					continue
				}
				// Behind the database: a write-through was lost. The
				// rebuild below stores the current views.
				v.log.WarnContext(ctx, "project view cache behind the database; rebuilding", "project_id", id,
					"cached_version", view.Version, "version", current[id])
			}
		}
		view, err := v.rebuild(ctx, id, kind, day, cacheOK)
		if err != nil {
			return nil, err
		}
		out[i] = view
	}
	return out, nil
}

// verifying reports whether views read from Redis are to be checked
// against the database now: for verifyFor after this instance saw a Redis
// command fail or its invalidation subscription come or go (invalidations
// may have been missed meanwhile, and another instance's write-through may
// have failed).
func (v *Views) verifying() bool {
	if v.bus != nil {
		if r := v.bus.Resets(); r != v.busResets.Load() {
			v.busResets.Store(r)
			v.troubled()
		}
	}
	return time.Now().UnixNano() < v.verifyUntil.Load()
}

// troubled starts (or extends) a period of checking Redis's views.
func (v *Views) troubled() {
	v.verifyUntil.Store(time.Now().Add(verifyFor).UnixNano())
}

// versions reads the committed versions of projectIDs[missing] in one
// query. If the database does not answer, it returns nil: the cached views
// are served unchecked (nothing can have committed in the database they
// could not be read from, unless it answers again).
func (v *Views) versions(ctx context.Context, projectIDs []string, missing []int) map[string]int64 {
	ids := make([]string, len(missing))
	for j, i := range missing {
		ids[j] = projectIDs[i]
	}
	var rows []struct {
		ID      string
		Version int64
	}
	if err := v.db.WithContext(ctx).Model(&models.Project{}).Select("id, version").Where("id IN ?", ids).Find(&rows).Error; err != nil {
		v.log.WarnContext(ctx, "project versions unreadable; serving cached views unchecked", "err", err)
		return nil
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Version
	}
	return out
}

// localView is the process's current copy of one view of a project, if it
// has one computed for day.
func (v *Views) localView(projectID string, kind Kind, day string) (View, bool) {
	if lv, ok := v.local.Get(projectID); ok {
		if view, ok := lv[kind]; ok && view.Day == day {
			return view, true
		}
	}
	return View{}, false
}

// allKinds lists every view kind.
var allKinds = []Kind{Progress, Guide, NextSteps, Summary}

func decodeCached(projectID string, vals []any) (View, bool) {
	s := make([]string, len(vals))
	for i, x := range vals {
		str, ok := x.(string)
		if !ok {
			return View{}, false
		}
		s[i] = str
	}
	ver, err := strconv.ParseInt(s[0], 10, 64)
	if err != nil {
		return View{}, false
	}
	view := View{ProjectID: projectID, Version: ver, Day: s[1], Enterprise: s[2], Body: []byte(s[4]), etag: ETag(ver, s[1])}
	view.AgentIDs = parseIDs(s[3])
	return view, true
}

func parseIDs(s string) []int64 {
	var out []int64
	for _, f := range strings.Split(s, ",") {
		if id, err := strconv.ParseInt(f, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// Refresh rebuilds a project's views from the database and writes them to
// the cache. The notify intake calls it after committing a change and before
// answering 202, so no reader sees the old state afterwards. If the cache
// cannot be written the entry is deleted instead, and the error returned.
//
// Whatever happened to the Redis entry, every instance is then told to
// forget its in-process copy of the project's views.
func (v *Views) Refresh(ctx context.Context, projectID string) error {
	// Not through the singleflight group: a rebuild already in flight may
	// have read the database before the change being refreshed committed.
	// The guide (the heaviest view, read once per project rather than per
	// change) is left out: its first read after the change rebuilds it.
	b, err := v.build(ctx, projectID, false)
	return v.writeThrough(ctx, projectID, b, err)
}

// RefreshFrom is Refresh given the project row and all its item states as
// the change committed them (the notify intake has them at hand), which
// spares reading them back.
func (v *Views) RefreshFrom(ctx context.Context, p models.Project, states []models.ItemState) error {
	b, err := v.compose(ctx, p, states, false)
	return v.writeThrough(ctx, p.ID, b, err)
}

// writeThrough stores b (built, or failed with err) as the project's cached
// views, drops the entry when they could not be built or stored, and then
// tells every instance to forget its in-process copy. Redis is given
// writeThroughTimeout for all of it; whatever failed is left to the
// repairer, which writes the project's views again once Redis answers.
func (v *Views) writeThrough(ctx context.Context, projectID string, b built, err error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeThroughTimeout)
	defer cancel()
	defer func() {
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			v.needsRepair(projectID)
		}
	}()
	if err == nil {
		if err = v.store(ctx, b); err != nil {
			err = fmt.Errorf("projectview: write %s: %w", projectID, err)
		}
	}
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		if derr := v.rdb.Del(ctx, v.key(projectID)).Err(); derr != nil {
			err = fmt.Errorf("projectview: refresh %s failed (%v) and the stale entry could not be dropped: %w", projectID, err, derr)
		}
	}
	if aerr := v.announce(ctx, projectID); aerr != nil {
		err = errors.Join(err, fmt.Errorf("projectview: announce the change of %s: %w", projectID, aerr))
	}
	return err
}

// needsRepair leaves projectID to the repairer, started if it is not
// running.
func (v *Views) needsRepair(projectID string) {
	v.troubled()
	r := &v.repair
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil {
		r.ids = map[string]uint64{}
	}
	r.gen++
	r.ids[strings.Clone(projectID)] = r.gen
	if !r.running {
		r.running = true
		go v.repairLoop()
	}
}

// repairLoop writes the views of every project whose write-through failed
// again, and announces them, once Redis answers; it ends when none is left.
func (v *Views) repairLoop() {
	t := time.NewTicker(repairEvery)
	defer t.Stop()
	for range t.C {
		r := &v.repair
		r.mu.Lock()
		todo := make(map[string]uint64, len(r.ids))
		for id, gen := range r.ids {
			todo[id] = gen
		}
		r.mu.Unlock()
		for id, gen := range todo {
			if err := v.repairOne(id); err != nil {
				break // Redis (or the database) is not answering yet
			}
			v.log.Info("project views written again after a failed write-through", "project_id", id)
			r.mu.Lock()
			if r.ids[id] == gen {
				delete(r.ids, id)
			}
			r.mu.Unlock()
		}
		r.mu.Lock()
		if len(r.ids) == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
	}
}

// repairOne writes a project's views from the database and announces them
// (or drops the entry of a project that is gone).
func (v *Views) repairOne(projectID string) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeThroughTimeout)
	defer cancel()
	b, err := v.build(ctx, projectID, false)
	switch {
	case errors.Is(err, models.ErrNotFound):
		err = v.rdb.Del(ctx, v.key(projectID)).Err()
	case err == nil:
		// The script keeps a newer version written meanwhile.
		err = v.store(ctx, b)
	}
	if err != nil {
		return err
	}
	return v.announce(ctx, projectID)
}

// built is every view of one project at one version.
type built struct {
	projectID  string
	version    int64
	day        string
	enterprise string
	agents     []int64
	bodies     map[Kind][]byte
}

// views is every view of b, by kind.
func (b built) views() localViews {
	lv := make(localViews, len(b.bodies))
	for kind := range b.bodies {
		lv[kind] = b.view(kind)
	}
	return lv
}

func (b built) view(kind Kind) View {
	return View{ProjectID: b.projectID, Version: b.version, Day: b.day, Enterprise: b.enterprise, AgentIDs: b.agents, Body: b.bodies[kind], etag: ETag(b.version, b.day)}
}

// rebuild builds every view once per project at a time (singleflight),
// keeps them in the process and, when write is set, stores them unless the
// cache already holds a newer version. A reader that arrives just after a
// rebuild finished finds its views in the process and builds nothing.
func (v *Views) rebuild(ctx context.Context, projectID string, kind Kind, day string, write bool) (View, error) {
	res, err, _ := v.group.Do(projectID, func() (any, error) {
		// A rebuild that finished just before this one began has left the
		// views in the process.
		if lv, ok := v.local.Get(projectID); ok && lv.complete(day) {
			return lv, nil
		}
		// The ticket is taken before the database is read, so an
		// invalidation during the build keeps the result out of the process.
		ticket := v.local.Begin()
		b, err := v.build(ctx, projectID, true)
		if err != nil {
			return nil, err
		}
		if write {
			if err := v.store(ctx, b); err != nil {
				v.log.WarnContext(ctx, "project view cache write failed", "project_id", projectID, "err", err)
			}
		}
		v.rememberAll(ticket, b)
		return b.views(), nil
	})
	if err != nil {
		return View{}, err
	}
	return res.(localViews)[kind], nil
}

// storeScript replaces the cached views unless the cache holds a newer
// version, so a slow rebuild can never overwrite a fresher write-through.
var storeScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'v')
if cur and tonumber(cur) > tonumber(ARGV[3]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1`)

func (v *Views) store(ctx context.Context, b built) error {
	ids := make([]string, len(b.agents))
	for i, id := range b.agents {
		ids[i] = strconv.FormatInt(id, 10)
	}
	// ARGV: ttl, then the hash's field/value pairs, the version first.
	args := []any{int(cacheTTL.Seconds()), "v", b.version, "day", b.day, "ent", b.enterprise, "agents", strings.Join(ids, ",")}
	for k, body := range b.bodies {
		args = append(args, string(k), body)
	}
	return storeScript.Run(ctx, v.rdb, []string{v.key(b.projectID)}, args...).Err()
}

// build computes the views of a project from the database: every kind, or
// every kind but the guide when withGuide is false.
func (v *Views) build(ctx context.Context, projectID string, withGuide bool) (built, error) {
	v.builds.Add(1)
	db := v.db.WithContext(ctx)
	var p models.Project
	if err := db.Take(&p, "id = ?", projectID).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return built{}, models.ErrNotFound
		}
		return built{}, unavailable(err)
	}
	var states []models.ItemState
	if err := db.Where("project_id = ?", projectID).Find(&states).Error; err != nil {
		return built{}, unavailable(err)
	}
	return v.compose(ctx, p, states, withGuide)
}

// compose builds the views from the project row and its item states; the
// project's agents are read here.
func (v *Views) compose(ctx context.Context, p models.Project, states []models.ItemState, withGuide bool) (built, error) {
	var agents []int64
	if err := v.db.WithContext(ctx).Model(&models.ProjectAgent{}).Where("project_id = ?", p.ID).Order("user_id").Pluck("user_id", &agents).Error; err != nil {
		return built{}, unavailable(err)
	}
	today := workdays.DateOf(v.now())
	facts := models.FactsOf(&p)
	statuses := make(map[string]string, len(states))
	in := models.ProgressInput{ProjectID: p.ID, Version: p.Version, Facts: facts, StartedOn: dateOf(p.StartedOn)}
	for _, s := range states {
		statuses[s.ItemCode] = s.Status
		in.Items = append(in.Items, s.ProgressInput())
	}
	slices.SortFunc(in.Items, func(a, b models.ItemProgressInput) int { return strings.Compare(a.Code, b.Code) })
	progress := models.BuildProgress(v.cat, v.cal, in, today)
	next := v.cat.NextSteps(facts, statuses)
	summary := SummaryView{
		ID: p.ID, Name: p.Name, Type: p.Type, Stage: progress.Stage, Percent: progress.Percent,
		DueOn: progress.Overall.DueOn, Overdue: progress.Overall.Overdue, NextStepCount: len(next),
	}
	b := built{projectID: p.ID, version: p.Version, day: today.String(), enterprise: p.EnterpriseCode, agents: agents, bodies: map[Kind][]byte{}}
	views := map[Kind]any{Progress: progress, NextSteps: map[string]any{"items": next}, Summary: summary}
	if withGuide {
		views[Guide] = v.cat.Guide(facts, statuses)
	}
	for kind, val := range views {
		body, err := json.Marshal(val)
		if err != nil {
			return built{}, err
		}
		b.bodies[kind] = body
	}
	return b, nil
}

func dateOf(t *time.Time) *workdays.Date {
	if t == nil {
		return nil
	}
	d := workdays.DateOf(*t)
	return &d
}

func unavailable(err error) error {
	return &models.Error{Code: models.CodeUnavailable, Message: "the database is unavailable; retry shortly", RetryAfter: 2, Err: err}
}
