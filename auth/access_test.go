package auth

import (
	"context"
	"errors"
	"slices"
	"testing"

	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/models"
)

// accessFixture holds two enterprises' projects and an agent following one
// project of the second.
type accessFixture struct {
	entDemo, entOther, agent, idleAgent, disabled, nobody models.User
}

func seedAccess(t *testing.T, db *gorm.DB) accessFixture {
	t.Helper()
	const demo, other = "91370700MA3DEMO001", "91370700MA3OTHER02"
	for _, p := range []models.Project{
		{ID: "WF-DEMO-CIVIL", Name: "civil", Type: models.ProjectCivil, EnterpriseCode: demo, RegionCode: "370702"},
		{ID: "WF-DEMO-INDUSTRIAL", Name: "industrial", Type: models.ProjectIndustrial, EnterpriseCode: demo, RegionCode: "370702"},
		{ID: "WF-OTHER-1", Name: "other", Type: models.ProjectCivil, EnterpriseCode: other, RegionCode: "370702"},
	} {
		if err := db.Create(&p).Error; err != nil {
			t.Fatal(err)
		}
	}
	f := accessFixture{
		entDemo:   models.User{ID: 1, Role: models.RoleEnterprise, EnterpriseCode: demo},
		entOther:  models.User{ID: 2, Role: models.RoleEnterprise, EnterpriseCode: other},
		agent:     models.User{ID: 3, Role: models.RoleAgent, AgentLevel: models.LevelCounty, RegionCode: "370702"},
		idleAgent: models.User{ID: 4, Role: models.RoleAgent, AgentLevel: models.LevelTown, RegionCode: "370702"},
		disabled:  models.User{ID: 5, Role: models.RoleEnterprise, EnterpriseCode: demo, Disabled: true},
		nobody:    models.User{ID: 6, Role: models.RoleEnterprise},
	}
	for _, pa := range []models.ProjectAgent{
		{ProjectID: "WF-DEMO-INDUSTRIAL", UserID: f.agent.ID},
		{ProjectID: "WF-OTHER-1", UserID: f.disabled.ID},
	} {
		if err := db.Create(&pa).Error; err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func TestProjectAccess(t *testing.T) {
	dbs := []struct {
		name string
		open func(testing.TB) *gorm.DB
	}{
		{"sqlite", testSQLite},
		{"postgres", testPostgres},
	}
	for _, d := range dbs {
		t.Run(d.name, func(t *testing.T) {
			db := d.open(t)
			f := seedAccess(t, db)
			ctx := context.Background()
			tests := []struct {
				name string
				user models.User
				sees []string
			}{
				{"enterprise sees its own", f.entDemo, []string{"WF-DEMO-CIVIL", "WF-DEMO-INDUSTRIAL"}},
				{"other enterprise sees its own", f.entOther, []string{"WF-OTHER-1"}},
				{"agent sees what it follows", f.agent, []string{"WF-DEMO-INDUSTRIAL"}},
				{"agent following nothing", f.idleAgent, nil},
				{"disabled account", f.disabled, nil},
				{"enterprise user without enterprise", f.nobody, nil},
				{"unknown role", models.User{ID: 7, Role: "admin", EnterpriseCode: "91370700MA3DEMO001"}, nil},
			}
			all := []string{"WF-DEMO-CIVIL", "WF-DEMO-INDUSTRIAL", "WF-OTHER-1", "WF-MISSING"}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var ids []string
					err := ScopeProjects(db.WithContext(ctx).Model(&models.Project{}), tt.user).
						Order("id").Pluck("id", &ids).Error
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(ids, tt.sees) {
						t.Fatalf("ScopeProjects = %v, want %v", ids, tt.sees)
					}
					for _, id := range all {
						want := slices.Contains(tt.sees, id)
						got, err := CanSeeProject(ctx, db, tt.user, id)
						if err != nil {
							t.Fatal(err)
						}
						if got != want {
							t.Errorf("CanSeeProject(%s) = %v, want %v", id, got, want)
						}
						p, err := RequireProject(ctx, db, tt.user, id)
						switch {
						case want && (err != nil || p.ID != id):
							t.Errorf("RequireProject(%s) = %q, %v", id, p.ID, err)
						case !want && !errors.Is(err, models.ErrNotFound):
							t.Errorf("RequireProject(%s) error = %v, want ErrNotFound", id, err)
						}
					}
				})
			}
		})
	}
}

func TestScopeProjectsComposesWithOtherConditions(t *testing.T) {
	db := testSQLite(t)
	f := seedAccess(t, db)
	tests := []struct {
		name  string
		query func(*gorm.DB) *gorm.DB
		want  []string
	}{
		{"condition before", func(q *gorm.DB) *gorm.DB {
			return ScopeProjects(q.Where("type = ?", models.ProjectIndustrial), f.entDemo)
		}, []string{"WF-DEMO-INDUSTRIAL"}},
		{"grouped OR after", func(q *gorm.DB) *gorm.DB {
			return ScopeProjects(q, f.entDemo).Where(db.Where("id = ?", "WF-OTHER-1").Or("type = ?", models.ProjectCivil))
		}, []string{"WF-DEMO-CIVIL"}},
		{"cursor and limit", func(q *gorm.DB) *gorm.DB {
			return ScopeProjects(q, f.entDemo).Where("id > ?", "WF-DEMO-CIVIL").Order("id").Limit(1)
		}, []string{"WF-DEMO-INDUSTRIAL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ids []string
			if err := tt.query(db.Model(&models.Project{})).Pluck("id", &ids).Error; err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids, tt.want) {
				t.Fatalf("ids = %v, want %v", ids, tt.want)
			}
		})
	}
}
