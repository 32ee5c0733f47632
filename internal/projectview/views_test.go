package projectview

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/internal/localcache"
	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/internal/workdays"
	"github.com/weifang/kaigong-zsb/models"
)

func setup(t *testing.T) (*Views, *store.DB, redis.UniversalClient) {
	t.Helper()
	db := testenv.DB(t)
	rdb, prefix := testenv.Redis(t)
	cal, err := workdays.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 11, 24, 10, 0, 0, 0, workdays.Location) }
	v := New(db, rdb, prefix, models.DefaultCatalog(), cal, now, slog.New(slog.DiscardHandler))
	started := time.Date(2026, 11, 2, 0, 0, 0, 0, workdays.Location)
	p := models.Project{ID: "WF-T-1", Name: "t", Type: models.ProjectCivil, EnterpriseCode: "91370700MA3DEMO001", RegionCode: "370702", Version: 1, StartedOn: &started}
	if err := db.Create(&p).Error; err != nil {
		t.Fatal(err)
	}
	return v, db, rdb
}

// useBus gives v a live invalidation bus, as the application does.
func useBus(t *testing.T, v *Views) {
	t.Helper()
	bus := localcache.NewBus(v.rdb, v.prefix, nil)
	bus.Start()
	t.Cleanup(func() { _ = bus.Close() })
	testenv.Eventually(t, "subscription", bus.Live)
	v.UseBus(bus)
}

func version(t *testing.T, view View) int64 {
	t.Helper()
	var p struct {
		Version int64 `json:"version"`
	}
	if err := json.Unmarshal(view.Body, &p); err != nil {
		t.Fatal(err)
	}
	return p.Version
}

func TestMissBuildsOnceThenServesFromCache(t *testing.T) {
	v, db, rdb := setup(t)
	useBus(t, v)
	ctx := context.Background()
	// Hold the first build until all 20 readers have found the cache empty,
	// so most meet it in flight; a reader late to the group finds the
	// finished views in the process and builds nothing either.
	reads := testenv.CountCommands(rdb, "hmget")
	var first atomic.Bool
	if err := db.Callback().Query().Before("gorm:query").Register("test:hold_first_build", func(tx *gorm.DB) {
		if tx.Statement.Table == "item_states" && first.CompareAndSwap(false, true) {
			// Not t.Fatal here (another goroutine); if the reads never
			// come, the build count below fails the test.
			for deadline := time.Now().Add(10 * time.Second); reads.Load() < 20 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.Get(ctx, "WF-T-1", Progress); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := v.builds.Load(); n != 1 {
		t.Fatalf("%d concurrent misses made %d rebuilds, want 1", 20, n)
	}
	view, err := v.Get(ctx, "WF-T-1", Progress)
	if err != nil {
		t.Fatal(err)
	}
	if v.builds.Load() != 1 || view.Enterprise != "91370700MA3DEMO001" || version(t, view) != 1 {
		t.Fatalf("cached read rebuilt or wrong: builds=%d view=%+v", v.builds.Load(), view)
	}
	if view.ETag() != `"1.20261124"` {
		t.Fatalf("etag %s", view.ETag())
	}
}

func TestRefreshWritesThroughAndNeverGoesBack(t *testing.T) {
	v, db, _ := setup(t)
	ctx := context.Background()
	if _, err := v.Get(ctx, "WF-T-1", Summary); err != nil {
		t.Fatal(err)
	}
	// A change: version 2 with an accepted item; the write-through makes the
	// next read see it without a miss.
	if err := db.Model(&models.Project{}).Where("id = ?", "WF-T-1").Update("version", 2).Error; err != nil {
		t.Fatal(err)
	}
	if err := v.Refresh(ctx, "WF-T-1"); err != nil {
		t.Fatal(err)
	}
	builds := v.builds.Load()
	view, err := v.Get(ctx, "WF-T-1", Progress)
	if err != nil || version(t, view) != 2 || v.builds.Load() != builds {
		t.Fatalf("after refresh: v=%d err=%v builds %d→%d", version(t, view), err, builds, v.builds.Load())
	}
	// Refresh leaves the guide out; its first read builds it, once.
	guide, err := v.Get(ctx, "WF-T-1", Guide)
	if err != nil || guide.Version != 2 || len(guide.Body) == 0 || v.builds.Load() != builds+1 {
		t.Fatalf("guide after refresh: version %d, %d bytes, err %v, builds %d→%d", guide.Version, len(guide.Body), err, builds, v.builds.Load())
	}
	if _, err := v.Get(ctx, "WF-T-1", Guide); err != nil || v.builds.Load() != builds+1 {
		t.Fatalf("the rebuilt guide was not cached: builds %d→%d (err %v)", builds, v.builds.Load(), err)
	}
	if view, _ := v.Get(ctx, "WF-T-1", Progress); version(t, view) != 2 {
		t.Fatalf("the guide's rebuild lost the progress view: version %d", version(t, view))
	}
	// A slow rebuild that read version 1 must not overwrite version 2.
	old := built{projectID: "WF-T-1", version: 1, day: "2026-11-24", bodies: map[Kind][]byte{Progress: []byte(`{"version":1}`)}}
	if err := v.store(ctx, old); err != nil {
		t.Fatal(err)
	}
	if view, _ := v.Get(ctx, "WF-T-1", Progress); version(t, view) != 2 {
		t.Fatalf("an older build replaced the newer view: version %d", version(t, view))
	}
}

func TestUnknownProjectAndRedisDown(t *testing.T) {
	v, db, _ := setup(t)
	ctx := context.Background()
	if _, err := v.Get(ctx, "WF-NOPE", Progress); models.ErrorCode(err) != models.CodeNotFound {
		t.Fatalf("unknown project: %v", err)
	}
	// With Redis unreachable, reads still answer from the database.
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer down.Close()
	cal, _ := workdays.New(nil)
	dv := New(db, down, "x:", models.DefaultCatalog(), cal, nil, slog.New(slog.DiscardHandler))
	view, err := dv.Get(ctx, "WF-T-1", NextSteps)
	if err != nil || len(view.Body) == 0 {
		t.Fatalf("read with Redis down: %v", err)
	}
}

func TestETagMovesWithTheDay(t *testing.T) {
	if ETag(7, "2026-11-24") == ETag(7, "2026-11-25") || ETag(7, "2026-11-24") == ETag(8, "2026-11-24") {
		t.Fatal("ETag must change with the version and with the day")
	}
}

func TestGetManyMixesCachedAndRebuilt(t *testing.T) {
	v, db, _ := setup(t)
	ctx := context.Background()
	started := time.Date(2026, 11, 2, 0, 0, 0, 0, workdays.Location)
	if err := db.Create(&models.Project{ID: "WF-T-2", Name: "t2", Type: models.ProjectIndustrial, EnterpriseCode: "91370700MA3DEMO001", RegionCode: "370702", Version: 3, StartedOn: &started}).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := v.Get(ctx, "WF-T-1", Summary); err != nil { // cache one of the two
		t.Fatal(err)
	}
	builds := v.builds.Load()
	views, err := v.GetMany(ctx, []string{"WF-T-2", "WF-T-1"}, Summary)
	if err != nil {
		t.Fatal(err)
	}
	if len(views) != 2 || views[0].ProjectID != "WF-T-2" || views[0].Version != 3 || views[1].ProjectID != "WF-T-1" {
		t.Fatalf("views %+v", views)
	}
	if n := v.builds.Load() - builds; n != 1 {
		t.Fatalf("%d rebuilds, want 1 (only the uncached project)", n)
	}
	if _, err := v.GetMany(ctx, []string{"WF-T-1", "WF-NOPE"}, Summary); models.ErrorCode(err) != models.CodeNotFound {
		t.Fatalf("unknown project in a batch: %v", err)
	}
}

// Two instances share the database and Redis. Instance b keeps what it read
// in the process and reads Redis again only after a's Refresh announced a
// change.
func TestLocalCopyForgottenOnRefreshAnywhere(t *testing.T) {
	a, db, _ := setup(t)
	ctx := context.Background()
	prefix := a.prefix
	opts, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdbB := redis.NewClient(opts)
	count := testenv.CountCommands(rdbB, "hmget")
	t.Cleanup(func() { rdbB.Close() })
	cal, _ := workdays.New(nil)
	b := New(db, rdbB, prefix, models.DefaultCatalog(), cal, a.now, slog.New(slog.DiscardHandler))
	useBus(t, a)
	useBus(t, b)

	for range 3 {
		view, err := b.Get(ctx, "WF-T-1", Progress)
		if err != nil || version(t, view) != 1 {
			t.Fatalf("read: %v", err)
		}
	}
	if n := count.Load(); n != 1 {
		t.Fatalf("%d Redis reads for 3 reads of one view; want 1", n)
	}
	// The miss rebuilt every view of the project; the other kinds are kept
	// too.
	for range 2 {
		if _, err := b.Get(ctx, "WF-T-1", Guide); err != nil {
			t.Fatal(err)
		}
	}
	if n := count.Load(); n != 1 {
		t.Fatalf("reading the guide after a rebuild: %d Redis reads, want still 1", n)
	}

	if err := db.Model(&models.Project{}).Where("id = ?", "WF-T-1").Update("version", 2).Error; err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx, "WF-T-1"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "b sees version 2", func() bool {
		view, err := b.Get(ctx, "WF-T-1", Progress)
		return err == nil && version(t, view) == 2
	})
	// That read found a's write-through in Redis and kept it.
	before := count.Load()
	if view, _ := b.Get(ctx, "WF-T-1", Progress); version(t, view) != 2 || count.Load() != before {
		t.Fatal("the new version was not kept in the process")
	}
	if b.builds.Load() != 1 {
		t.Fatalf("b rebuilt %d times; only its first miss should have", b.builds.Load())
	}
}

// Refresh must build from the database as it is after the change, even
// when a rebuild for a reader is in flight with the state from before.
func TestRefreshDoesNotJoinAnOlderRebuild(t *testing.T) {
	v, db, _ := setup(t)
	ctx := context.Background()
	var first atomic.Bool
	blocked, release := make(chan struct{}), make(chan struct{})
	if err := db.Callback().Query().Before("gorm:query").Register("test:hold_first_states_read", func(tx *gorm.DB) {
		if tx.Statement.Table == "item_states" && first.CompareAndSwap(false, true) {
			close(blocked)
			<-release
		}
	}); err != nil {
		t.Fatal(err)
	}
	readerDone := make(chan error, 1)
	go func() {
		_, err := v.Get(ctx, "WF-T-1", Progress) // a miss: reads version 1, then waits
		readerDone <- err
	}()
	<-blocked
	if err := db.Model(&models.Project{}).Where("id = ?", "WF-T-1").Update("version", 2).Error; err != nil {
		t.Fatal(err)
	}
	refreshed := make(chan error, 1)
	go func() { refreshed <- v.Refresh(ctx, "WF-T-1") }()
	select {
	case err := <-refreshed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("Refresh waited for the reader's rebuild (it joined it)")
	}
	close(release)
	if err := <-readerDone; err != nil {
		t.Fatal(err)
	}
	view, err := v.Get(ctx, "WF-T-1", Progress)
	if err != nil || version(t, view) != 2 {
		t.Fatalf("after the refresh the cache serves version %d (err %v), want 2", version(t, view), err)
	}
}

// RefreshFrom, given the committed rows, caches exactly what Refresh builds
// from the database.
func TestRefreshFromEqualsRefresh(t *testing.T) {
	v, db, _ := setup(t)
	ctx := context.Background()
	acc := time.Date(2026, 11, 10, 0, 0, 0, 0, workdays.Location)
	for _, st := range []models.ItemState{
		{ProjectID: "WF-T-1", ItemCode: "GH01", Status: models.StatusApproved, AcceptedOn: &acc, DecidedOn: &acc},
		{ProjectID: "WF-T-1", ItemCode: "ST01", Status: models.StatusAccepted, AcceptedOn: &acc},
	} {
		if err := db.Create(&st).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Refresh(ctx, "WF-T-1"); err != nil {
		t.Fatal(err)
	}
	fromDB := map[Kind]View{}
	for _, k := range []Kind{Progress, NextSteps, Summary} {
		view, err := v.Get(ctx, "WF-T-1", k)
		if err != nil {
			t.Fatal(err)
		}
		fromDB[k] = view
	}
	var p models.Project
	var states []models.ItemState
	if err := db.Take(&p, "id = ?", "WF-T-1").Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Where("project_id = ?", "WF-T-1").Find(&states).Error; err != nil {
		t.Fatal(err)
	}
	if err := v.RefreshFrom(ctx, p, states); err != nil {
		t.Fatal(err)
	}
	builds := v.builds.Load()
	for k, want := range fromDB {
		got, err := v.Get(ctx, "WF-T-1", k)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Body) != string(want.Body) || got.ETag() != want.ETag() || got.Enterprise != want.Enterprise {
			t.Fatalf("%s differs:\nRefresh     %s\nRefreshFrom %s", k, want.Body, got.Body)
		}
	}
	if v.builds.Load() != builds {
		t.Fatal("reads after RefreshFrom rebuilt from the database")
	}
}

// The progress is built from the stored clock (models.ItemState.ProgressInput):
// a suspended item shows its reason, is not overdue, and its suspension is
// not counted; items the project's facts rule out are not in the views.
func TestProgressSeesSuspensionsAndFacts(t *testing.T) {
	v, db, _ := setup(t)
	ctx := context.Background()
	var p models.Project
	if err := db.Take(&p, "id = ?", "WF-T-1").Error; err != nil {
		t.Fatal(err)
	}
	f, err := models.ParseFacts([]byte(`{"land_source":"transfer","energy_tce_per_year":200,"electricity_mwh_per_year":900}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetFacts(f); err != nil {
		t.Fatal(err)
	}
	if err := db.Model(&p).Update("facts", p.FactsJSON).Error; err != nil {
		t.Fatal(err)
	}
	cal, _ := workdays.New(nil)
	st := models.ItemState{ProjectID: "WF-T-1", ItemCode: "LX-01", Status: models.StatusNotStarted}
	at := func(d int) time.Time { return time.Date(2026, 11, d, 10, 0, 0, 0, workdays.Location) }
	for _, step := range []struct {
		day            int
		status, reason string
	}{{2, models.StatusAccepted, ""}, {3, models.StatusSuspended, models.SuspendPublicNotice}} {
		if _, err := models.ApplyItemStatus(cal, &st, step.status, step.reason, at(step.day)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Create(&st).Error; err != nil {
		t.Fatal(err)
	}
	if err := v.Refresh(ctx, "WF-T-1"); err != nil {
		t.Fatal(err)
	}
	view, err := v.Get(ctx, "WF-T-1", Progress)
	if err != nil {
		t.Fatal(err)
	}
	var prog models.Progress
	if err := json.Unmarshal(view.Body, &prog); err != nil {
		t.Fatal(err)
	}
	// Only 2 November, the acceptance day, counts: from 3 November the
	// public notice (公示) stops the clock.
	if prog.Overall.WorkingDaysUsed != 1 || prog.Overall.Overdue || prog.Overall.Finished || prog.Overall.Calendar != models.CalendarOfficial {
		t.Fatalf("overall %+v", prog.Overall)
	}
	var lx01 *models.ItemProgress
	for _, th := range prog.Themes {
		for i, it := range th.Items {
			switch it.Code {
			case "LX-01":
				lx01 = &th.Items[i]
			case "LX-02", "YD-01":
				t.Errorf("%s is not required by the facts but is in the progress", it.Code)
			}
		}
	}
	if lx01 == nil || lx01.Status != models.StatusSuspended || lx01.SuspendReason != models.SuspendPublicNotice || lx01.Overdue || lx01.DeadlineWarnable() {
		t.Fatalf("LX-01 %+v", lx01)
	}
}
