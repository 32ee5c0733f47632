package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Fact keys of the contract's project.facts (情形): the answers that decide
// which items a project needs. Every fact is optional; one not given is
// unknown, and the rules treat what it would decide as required.
const (
	FactInvestment          = "investment"
	FactLandSource          = "land_source"
	FactNewConstructionLand = "new_construction_land"
	FactUse                 = "use"
	FactFloorArea           = "floor_area_m2"
	FactHeight              = "height_m"
	FactEnergy              = "energy_tce_per_year"
	FactElectricity         = "electricity_mwh_per_year"
	FactEIACategory         = "eia_category"
	FactSiteArea            = "site_area_ha"
	FactEarthwork           = "earthwork_m3"
	FactZones               = "zones"
	FactOwnWaterSource      = "own_water_source"
	FactHazardousChemicals  = "hazardous_chemicals"
	FactCivilAirDefence     = "civil_air_defence"
	FactRegionalAssessment  = "regional_assessment"
)

// factKind is how a fact's value is written.
type factKind int

const (
	kindEnum factKind = iota
	kindBool
	kindNumber
	kindList
)

// factSpec describes one fact: its kind and, for enums and lists, the
// allowed values.
type factSpec struct {
	kind   factKind
	values []string
}

// factSpecs is the contract's table of facts.
var factSpecs = map[string]factSpec{
	FactInvestment:          {kindEnum, []string{"government", "state_owned", "private"}},
	FactLandSource:          {kindEnum, []string{"transfer", "allocation", "owned"}},
	FactNewConstructionLand: {kind: kindBool},
	FactUse: {kindEnum, []string{"residential", "office", "commercial", "hotel", "public_assembly", "school",
		"hospital", "elderly_care", "industrial", "warehouse", "hazardous_goods"}},
	FactFloorArea:          {kind: kindNumber},
	FactHeight:             {kind: kindNumber},
	FactEnergy:             {kind: kindNumber},
	FactElectricity:        {kind: kindNumber},
	FactEIACategory:        {kindEnum, []string{"report", "report_form", "registration", "none"}},
	FactSiteArea:           {kind: kindNumber},
	FactEarthwork:          {kind: kindNumber},
	FactZones:              {kindList, []string{"relics", "minerals", "geohazard", "flood"}},
	FactOwnWaterSource:     {kind: kindBool},
	FactHazardousChemicals: {kind: kindBool},
	FactCivilAirDefence:    {kindEnum, []string{"basement", "fee", "none"}},
	FactRegionalAssessment: {kindList, RegionalAssessmentTypes},
}

// RegionalAssessmentTypes are the assessments a regional assessment (区域评估)
// can cover; each covered type removes the individual assessment item.
var RegionalAssessmentTypes = []string{"energy", "eia", "soil_water", "seismic", "geohazard", "minerals", "relics", "flood"}

// FactKeys returns every fact key, sorted.
func FactKeys() []string {
	keys := make([]string, 0, len(factSpecs))
	for k := range factSpecs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Facts are a project's answers to the situation questions (情形引导), as the
// contract's project.facts and the guide preview carry them. A nil field is
// a fact not given; a nil list likewise, while an empty list says "none".
type Facts struct {
	Investment            *string  `json:"investment,omitempty"`
	LandSource            *string  `json:"land_source,omitempty"`
	NewConstructionLand   *bool    `json:"new_construction_land,omitempty"`
	Use                   *string  `json:"use,omitempty"`
	FloorAreaM2           *float64 `json:"floor_area_m2,omitempty"`
	HeightM               *float64 `json:"height_m,omitempty"`
	EnergyTCEPerYear      *float64 `json:"energy_tce_per_year,omitempty"`
	ElectricityMWhPerYear *float64 `json:"electricity_mwh_per_year,omitempty"`
	EIACategory           *string  `json:"eia_category,omitempty"`
	SiteAreaHa            *float64 `json:"site_area_ha,omitempty"`
	EarthworkM3           *float64 `json:"earthwork_m3,omitempty"`
	Zones                 []string `json:"zones,omitzero"`
	OwnWaterSource        *bool    `json:"own_water_source,omitempty"`
	HazardousChemicals    *bool    `json:"hazardous_chemicals,omitempty"`
	CivilAirDefence       *string  `json:"civil_air_defence,omitempty"`
	RegionalAssessment    []string `json:"regional_assessment,omitzero"`
}

// maxFactsBytes bounds a facts object; a full one is a few hundred bytes.
const maxFactsBytes = 16 << 10

// ParseFacts decodes and checks a facts object strictly: an unknown key, a
// value of the wrong kind, a value outside the contract's list, a negative
// or non-finite number, or a repeated list entry is a validation_failed
// *Error naming each bad field by its path ("facts.use",
// "facts.zones[1]"); a JSON null is a fact not given. An empty input or
// "null" is no facts at all.
func ParseFacts(data []byte) (Facts, error) { return ParseFactsAt("facts", data) }

// ParseFactsAt is ParseFacts with the field paths under path, such as
// "project.facts" for the webhook's project.upserted.
func ParseFactsAt(path string, data []byte) (Facts, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		return Facts{}, nil
	}
	if len(data) > maxFactsBytes {
		return Facts{}, ValidationError(FieldError{Field: path, Message: fmt.Sprintf("must be at most %d bytes", maxFactsBytes)})
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Facts{}, ValidationError(FieldError{Field: path, Message: "must be a JSON object"})
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var f Facts
	var errs []FieldError
	for _, k := range keys {
		field := path + "." + k
		spec, ok := factSpecs[k]
		if !ok {
			errs = append(errs, FieldError{Field: field, Message: "unknown fact"})
			continue
		}
		v := bytes.TrimSpace(raw[k])
		if string(v) == "null" {
			continue
		}
		if fe := f.set(k, spec, field, v); len(fe) > 0 {
			errs = append(errs, fe...)
		}
	}
	if len(errs) > 0 {
		return Facts{}, ValidationError(errs...)
	}
	return f, nil
}

// set decodes one fact's value into f.
func (f *Facts) set(key string, spec factSpec, path string, v json.RawMessage) []FieldError {
	bad := func(msg string) []FieldError { return []FieldError{{Field: path, Message: msg}} }
	switch spec.kind {
	case kindEnum:
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return bad("must be a string")
		}
		if !slices.Contains(spec.values, s) {
			return bad(fmt.Sprintf("must be one of %v", spec.values))
		}
		*f.enumField(key) = &s
	case kindBool:
		var b bool
		if err := json.Unmarshal(v, &b); err != nil {
			return bad("must be a boolean")
		}
		*f.boolField(key) = &b
	case kindNumber:
		var n float64
		if err := json.Unmarshal(v, &n); err != nil {
			return bad("must be a number")
		}
		if n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
			return bad("must be a finite number, 0 or more")
		}
		*f.numberField(key) = &n
	case kindList:
		var list []json.RawMessage
		if err := json.Unmarshal(v, &list); err != nil {
			return bad("must be an array of strings")
		}
		out := make([]string, 0, len(list))
		var errs []FieldError
		for i, e := range list {
			ep := fmt.Sprintf("%s[%d]", path, i)
			var s string
			switch {
			case json.Unmarshal(e, &s) != nil:
				errs = append(errs, FieldError{Field: ep, Message: "must be a string"})
			case !slices.Contains(spec.values, s):
				errs = append(errs, FieldError{Field: ep, Message: fmt.Sprintf("must be one of %v", spec.values)})
			case slices.Contains(out, s):
				errs = append(errs, FieldError{Field: ep, Message: "is listed twice"})
			default:
				out = append(out, s)
			}
		}
		if len(errs) > 0 {
			return errs
		}
		*f.listField(key) = out
	}
	return nil
}

func (f *Facts) enumField(key string) **string {
	switch key {
	case FactInvestment:
		return &f.Investment
	case FactLandSource:
		return &f.LandSource
	case FactUse:
		return &f.Use
	case FactEIACategory:
		return &f.EIACategory
	case FactCivilAirDefence:
		return &f.CivilAirDefence
	}
	panic("models: no enum fact " + key)
}

func (f *Facts) boolField(key string) **bool {
	switch key {
	case FactNewConstructionLand:
		return &f.NewConstructionLand
	case FactOwnWaterSource:
		return &f.OwnWaterSource
	case FactHazardousChemicals:
		return &f.HazardousChemicals
	}
	panic("models: no boolean fact " + key)
}

func (f *Facts) numberField(key string) **float64 {
	switch key {
	case FactFloorArea:
		return &f.FloorAreaM2
	case FactHeight:
		return &f.HeightM
	case FactEnergy:
		return &f.EnergyTCEPerYear
	case FactElectricity:
		return &f.ElectricityMWhPerYear
	case FactSiteArea:
		return &f.SiteAreaHa
	case FactEarthwork:
		return &f.EarthworkM3
	}
	panic("models: no number fact " + key)
}

func (f *Facts) listField(key string) *[]string {
	switch key {
	case FactZones:
		return &f.Zones
	case FactRegionalAssessment:
		return &f.RegionalAssessment
	}
	panic("models: no list fact " + key)
}

// Known reports whether the fact key was given.
func (f Facts) Known(key string) bool {
	spec, ok := factSpecs[key]
	if !ok {
		return false
	}
	switch spec.kind {
	case kindEnum:
		return *f.enumField(key) != nil
	case kindBool:
		return *f.boolField(key) != nil
	case kindNumber:
		return *f.numberField(key) != nil
	default:
		return *f.listField(key) != nil
	}
}

// IsZero reports whether no fact is given.
func (f Facts) IsZero() bool {
	for k := range factSpecs {
		if f.Known(k) {
			return false
		}
	}
	return true
}

// SetFacts stores f on the project as JSON text (the facts column).
func (p *Project) SetFacts(f Facts) error {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("models: facts: %w", err)
	}
	p.FactsJSON = string(b)
	return nil
}

// Facts reads back the facts stored on the project; a project stored
// before facts existed has none.
func (p *Project) Facts() (Facts, error) {
	return ParseFacts([]byte(p.FactsJSON))
}
