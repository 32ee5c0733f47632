package models_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/internal/workdays"
	"github.com/weifang/kaigong-zsb/models"
)

// TestFactsAndClockAreStored writes a project's facts and an item's clock
// and reads them back, on SQLite and on the test database (PostgreSQL when
// it is up).
func TestFactsAndClockAreStored(t *testing.T) {
	sqlite, err := store.Open(context.Background(), "sqlite:///"+filepath.Join(t.TempDir(), "t.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sqlite.Close() })
	if err := sqlite.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, db := range []*store.DB{sqlite, testenv.DB(t)} {
		t.Run(db.Dialect, func(t *testing.T) {
			height, hc := 99.0, false
			f := models.Facts{Use: ptr("residential"), HeightM: &height, HazardousChemicals: &hc, Zones: []string{}, RegionalAssessment: []string{"seismic"}}
			p := models.Project{ID: "WF-FACTS", Name: "住宅", Type: models.ProjectCivil, EnterpriseCode: "91370700MA3C000001", RegionCode: "370702"}
			if err := p.SetFacts(f); err != nil {
				t.Fatal(err)
			}
			legacy := models.Project{ID: "WF-OLD", Name: "旧项目", Type: models.ProjectCivil, EnterpriseCode: "91370700MA3C000001", RegionCode: "370702"}
			if err := db.Create(&p).Error; err != nil {
				t.Fatal(err)
			}
			// A project stored without facts gets the column default.
			if err := db.Omit("facts").Create(&legacy).Error; err != nil {
				t.Fatal(err)
			}
			var got, old models.Project
			if err := db.First(&got, "id = ?", p.ID).Error; err != nil {
				t.Fatal(err)
			}
			if err := db.First(&old, "id = ?", legacy.ID).Error; err != nil {
				t.Fatal(err)
			}
			if gf, err := got.Facts(); err != nil || !reflect.DeepEqual(gf, f) {
				t.Errorf("facts read back = %+v, %v; want %+v", gf, err, f)
			}
			if of, err := old.Facts(); err != nil || !of.IsZero() {
				t.Errorf("legacy facts = %+v, %v; want none", of, err)
			}

			cal, err := workdays.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			st := models.ItemState{ProjectID: p.ID, ItemCode: "LX-03"}
			for _, ev := range []struct{ day, status, reason string }{
				{"2026-09-01", models.StatusAccepted, ""},
				{"2026-09-03", models.StatusSuspended, models.SuspendPublicNotice},
				{"2026-09-10", models.StatusAccepted, ""},
				{"2026-09-11", models.StatusCorrectionRequired, ""},
			} {
				d, _ := workdays.ParseDate(ev.day)
				if _, err := models.ApplyItemStatus(cal, &st, ev.status, ev.reason, d.Midnight().Add(9*time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Create(&st).Error; err != nil {
				t.Fatal(err)
			}
			var back models.ItemState
			if err := db.First(&back, "project_id = ? AND item_code = ?", p.ID, "LX-03").Error; err != nil {
				t.Fatal(err)
			}
			if in, want := back.ProgressInput(), st.ProgressInput(); !reflect.DeepEqual(in, want) {
				t.Errorf("progress input read back = %+v, want %+v", in, want)
			}
			c, err := back.Clock()
			if err != nil || len(c.Pauses) != 1 || c.Pauses[0].Reason != models.SuspendPublicNotice {
				t.Errorf("clock read back = %+v, %v", c, err)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
