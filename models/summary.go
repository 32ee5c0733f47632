package models

// CatalogSummary is the catalog as the app's "about this service" screen
// shows it (GET /v1/catalog): the themes, the seed's numbers computed from
// the data, and the documents they come from.
type CatalogSummary struct {
	Themes  []SummaryTheme `json:"themes"`
	Counts  CatalogCounts  `json:"counts"`
	Sources []Source       `json:"sources"`
}

// SummaryTheme is one theme of the summary.
type SummaryTheme struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Stage    string `json:"stage"`
	Modelled bool   `json:"modelled"`
}

// CatalogCounts are the seed's numbers, computed from the catalog: the
// themes; the pre-start themes (我要立项 to 我要开工); the approval items
// (kind approval) of those themes before merging, each merged item counting
// as the items it merges; how many of them were merged, and into how many
// items.
type CatalogCounts struct {
	Themes                   int `json:"themes"`
	PreStartThemes           int `json:"pre_start_themes"`
	PreStartItemsBeforeMerge int `json:"pre_start_items_before_merge"`
	MergedFrom               int `json:"merged_from"`
	MergedInto               int `json:"merged_into"`
}

// Summary computes the catalog's summary.
func (c *Catalog) Summary() CatalogSummary {
	out := CatalogSummary{Themes: make([]SummaryTheme, 0, len(c.Themes)), Sources: nonNil(c.Sources)}
	for _, t := range c.Themes {
		out.Themes = append(out.Themes, SummaryTheme{Code: t.Code, Name: t.Name, Stage: t.Stage, Modelled: t.Modelled})
		if t.PreStart {
			out.Counts.PreStartThemes++
		}
	}
	out.Counts.Themes = len(c.Themes)
	for i := range c.Items {
		it := &c.Items[i]
		if t, ok := c.themes[it.Theme]; !ok || !t.PreStart || it.Kind != KindApproval {
			continue
		}
		if n := len(it.MergedFrom); n > 0 {
			out.Counts.PreStartItemsBeforeMerge += n
			out.Counts.MergedFrom += n
			out.Counts.MergedInto++
		} else {
			out.Counts.PreStartItemsBeforeMerge++
		}
	}
	return out
}
