package vendorkit

import (
	"strings"
	"unicode/utf8"
)

// ellipsis ends a shortened text.
const ellipsis = "…"

// Truncate shortens s to at most max characters (runes), ending it with an
// ellipsis when cut; a character is never split.
func Truncate(s string, max int) string {
	return TruncateUnits(s, max, func(rune) int { return 1 })
}

// WideUnits counts a character the way vivo does: one for ASCII, two for
// anything else (a Chinese character counts as two).
func WideUnits(r rune) int {
	if r < utf8.RuneSelf {
		return 1
	}
	return 2
}

// TruncateUnits shortens s so that its characters weigh at most max by
// weight, ending it with an ellipsis (weighed too) when cut.
func TruncateUnits(s string, max int, weight func(rune) int) string {
	total := 0
	for _, r := range s {
		total += weight(r)
	}
	if total <= max {
		return s
	}
	budget := max
	for _, r := range ellipsis {
		budget -= weight(r)
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		w := weight(r)
		if used+w > budget {
			break
		}
		used += w
		b.WriteRune(r)
	}
	if budget < 0 {
		return b.String()
	}
	return b.String() + ellipsis
}
