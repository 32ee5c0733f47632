package bff

import (
	"encoding/base64"
	"encoding/json"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/weifang/kaigong-zsb/models"
)

// Page bounds of every list.
const (
	defaultLimit = 20
	maxLimit     = 100
	maxCursorLen = 512
)

// page is a parsed ?limit= and ?cursor=.
type page struct {
	limit int
	after cursor
}

// cursor is the position after the last item of the previous page: the
// sort key of that item. Clients see it only as an opaque string.
type cursor struct {
	Time int64  `json:"t,omitempty"` // unix nanoseconds of the sort time, when sorting by time
	ID   string `json:"i,omitempty"` // the tie-breaking id
}

func (c cursor) empty() bool { return c.Time == 0 && c.ID == "" }

func encodeCursor(c cursor) *string {
	b, _ := json.Marshal(c)
	s := base64.RawURLEncoding.EncodeToString(b)
	return &s
}

func parsePage(c *fiber.Ctx) (page, error) {
	p := page{limit: defaultLimit}
	var bad fieldErrors
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxLimit {
			bad.add("limit", "must be a whole number from 1 to 100")
		} else {
			p.limit = n
		}
	}
	if raw := c.Query("cursor"); raw != "" {
		b, err := base64.RawURLEncoding.DecodeString(raw)
		if len(raw) > maxCursorLen || err != nil || json.Unmarshal(b, &p.after) != nil || p.after.empty() {
			bad.add("cursor", "is not a cursor this server gave out")
		}
	}
	return p, bad.err()
}

// list is the contract's list envelope.
type list[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// pageOf cuts a result fetched with limit+1 rows into a page and its cursor.
func pageOf[T any](rows []T, limit int, key func(T) cursor) list[T] {
	out := list[T]{Items: rows}
	if len(rows) > limit {
		out.Items = rows[:limit]
		out.NextCursor = encodeCursor(key(rows[limit-1]))
	}
	if out.Items == nil {
		out.Items = []T{}
	}
	return out
}

var errNotFound = models.ErrNotFound
