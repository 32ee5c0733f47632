package auth

import (
	"context"
	"errors"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/weifang/kaigong-zsb/models"
)

// ScopeProjects restricts a query on projects to those u may see: an
// enterprise user its enterprise's projects, an agent the projects it
// follows, anyone else (or a disabled account) none. Like any gorm Where it
// is joined to the query's other conditions with AND; an Or must therefore be
// grouped (db.Where(a).Or(b) passed to Where), never chained at the top
// level, or it would widen the scope.
func ScopeProjects(db *gorm.DB, u models.User) *gorm.DB {
	col := func(name string) clause.Column { return clause.Column{Table: clause.CurrentTable, Name: name} }
	switch {
	case u.Disabled:
	case u.Role == models.RoleEnterprise && u.EnterpriseCode != "":
		return db.Where(clause.Eq{Column: col("enterprise_code"), Value: u.EnterpriseCode})
	case u.Role == models.RoleAgent && u.ID > 0:
		followed := db.Session(&gorm.Session{NewDB: true}).
			Model(&models.ProjectAgent{}).Select("project_id").Where("user_id = ?", u.ID)
		return db.Where(clause.Expr{SQL: "? IN (?)", Vars: []any{col("id"), followed}})
	}
	return db.Where("1 = 0")
}

// CanSeeProject reports whether u may see the project; an unknown project
// is simply one u cannot see.
func CanSeeProject(ctx context.Context, db *gorm.DB, u models.User, projectID string) (bool, error) {
	var n int64
	err := ScopeProjects(db.WithContext(ctx).Model(&models.Project{}), u).
		Where(clause.Eq{Column: clause.Column{Table: clause.CurrentTable, Name: "id"}, Value: projectID}).
		Count(&n).Error
	if err != nil {
		return false, internal("cannot check project access", err)
	}
	return n > 0, nil
}

// RequireProject returns the project if u may see it, and models.ErrNotFound
// both when it does not exist and when u may not see it, so ids cannot be
// probed.
func RequireProject(ctx context.Context, db *gorm.DB, u models.User, projectID string) (models.Project, error) {
	var p models.Project
	err := ScopeProjects(db.WithContext(ctx).Model(&models.Project{}), u).
		Where(clause.Eq{Column: clause.Column{Table: clause.CurrentTable, Name: "id"}, Value: projectID}).
		Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.Project{}, models.ErrNotFound
	}
	if err != nil {
		return models.Project{}, internal("cannot load the project", err)
	}
	return p, nil
}
