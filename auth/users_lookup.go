package auth

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/models"
)

// DBUserLookup returns a UserLookup reading the users table through db.
func DBUserLookup(db *gorm.DB) UserLookup {
	return func(ctx context.Context, id int64) (models.User, error) {
		var u models.User
		err := db.WithContext(ctx).Where("id = ?", id).Take(&u).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return models.User{}, models.ErrNotFound
		}
		if err != nil {
			return models.User{}, internal("cannot load the user", err)
		}
		return u, nil
	}
}
