// Package models is the domain core of 开工直通车: the approval catalog
// (themes, items, materials, intermediary services and their relations) and
// the rules that turn a project's item states into its guide, next steps
// and progress clock, plus the rows every other package stores.
//
// It knows no HTTP, Redis or push provider. The catalog data is
// catalog.json, embedded and validated at start (DefaultCatalog); BuildGuide,
// NextSteps and BuildProgress are pure functions of a project's facts and
// states, so the BFF's views, the intake's next-step pushes and the
// deadline scan all read the same answer.
package models
