package notify

import (
	"time"

	"github.com/weifang/kaigong-zsb/internal/workdays"
)

// dateOf is the Asia/Shanghai civil date of t.
func dateOf(t time.Time) workdays.Date { return workdays.DateOf(t) }
