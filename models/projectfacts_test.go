package models

import (
	"errors"
	"reflect"
	"slices"
	"testing"
)

func TestParseFacts(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		want       Facts
		wantFields []string // the bad fields, in order; nil when valid
	}{
		{name: "empty", in: ``, want: Facts{}},
		{name: "null", in: `null`, want: Facts{}},
		{name: "no facts", in: `{}`, want: Facts{}},
		{name: "every fact", in: `{"investment":"private","land_source":"transfer","new_construction_land":false,
			"use":"residential","floor_area_m2":48000,"height_m":99.5,"energy_tce_per_year":800,"electricity_mwh_per_year":3000,
			"eia_category":"none","site_area_ha":3.2,"earthwork_m3":42000,"zones":["relics"],"own_water_source":false,
			"hazardous_chemicals":false,"civil_air_defence":"basement","regional_assessment":["seismic","soil_water"]}`,
			want: Facts{Investment: ptr("private"), LandSource: ptr("transfer"), NewConstructionLand: ptr(false),
				Use: ptr("residential"), FloorAreaM2: ptr(48000.0), HeightM: ptr(99.5), EnergyTCEPerYear: ptr(800.0),
				ElectricityMWhPerYear: ptr(3000.0), EIACategory: ptr("none"), SiteAreaHa: ptr(3.2), EarthworkM3: ptr(42000.0),
				Zones: []string{"relics"}, OwnWaterSource: ptr(false), HazardousChemicals: ptr(false),
				CivilAirDefence: ptr("basement"), RegionalAssessment: []string{"seismic", "soil_water"}}},
		{name: "an empty list says none", in: `{"zones":[]}`, want: Facts{Zones: []string{}}},
		{name: "null is not given", in: `{"use":null,"zones":null}`, want: Facts{}},
		{name: "unknown key", in: `{"colour":"red"}`, wantFields: []string{"facts.colour"}},
		{name: "bad enum", in: `{"use":"villa"}`, wantFields: []string{"facts.use"}},
		{name: "wrong kind", in: `{"hazardous_chemicals":"yes","height_m":"tall"}`, wantFields: []string{"facts.hazardous_chemicals", "facts.height_m"}},
		{name: "negative number", in: `{"floor_area_m2":-1}`, wantFields: []string{"facts.floor_area_m2"}},
		{name: "bad list entries", in: `{"zones":["relics","moon","relics",3]}`, wantFields: []string{"facts.zones[1]", "facts.zones[2]", "facts.zones[3]"}},
		{name: "a list must be a list", in: `{"regional_assessment":true}`, wantFields: []string{"facts.regional_assessment"}},
		{name: "not an object", in: `["use"]`, wantFields: []string{"facts"}},
		{name: "several at once", in: `{"zz":1,"eia_category":"big","aa":2}`, wantFields: []string{"facts.aa", "facts.eia_category", "facts.zz"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFacts([]byte(tt.in))
			if tt.wantFields == nil {
				if err != nil {
					t.Fatalf("ParseFacts: %v", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("ParseFacts = %+v, want %+v", got, tt.want)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeValidationFailed {
				t.Fatalf("ParseFacts error = %v, want validation_failed", err)
			}
			var fields []string
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
				if f.Message == "" {
					t.Errorf("field %s has no message", f.Field)
				}
			}
			if !slices.Equal(fields, tt.wantFields) {
				t.Errorf("bad fields = %v, want %v", fields, tt.wantFields)
			}
		})
	}
}

func TestParseFactsAt(t *testing.T) {
	_, err := ParseFactsAt("project.facts", []byte(`{"zones":["moon"],"x":1}`))
	var e *Error
	if !errors.As(err, &e) || len(e.Fields) != 2 || e.Fields[0].Field != "project.facts.x" || e.Fields[1].Field != "project.facts.zones[0]" {
		t.Fatalf("ParseFactsAt error = %v (%+v)", err, e)
	}
}

func TestProjectFactsRoundTrip(t *testing.T) {
	f := Facts{Use: ptr("school"), FloorAreaM2: ptr(9000.0), Zones: []string{}, RegionalAssessment: []string{"flood"}, HazardousChemicals: ptr(false)}
	var p Project
	if got, err := p.Facts(); err != nil || !got.IsZero() {
		t.Fatalf("a project stored before facts: %+v, %v", got, err)
	}
	p.FactsJSON = "{}"
	if got, err := p.Facts(); err != nil || !got.IsZero() {
		t.Fatalf("the column default: %+v, %v", got, err)
	}
	if err := p.SetFacts(f); err != nil {
		t.Fatal(err)
	}
	got, err := p.Facts()
	if err != nil || !reflect.DeepEqual(got, f) {
		t.Fatalf("Facts() = %+v, %v; want %+v", got, err, f)
	}
	if !got.Known(FactZones) || got.Known(FactUse) == false || got.Known(FactHeight) {
		t.Errorf("Known: zones %v, use %v, height %v", got.Known(FactZones), got.Known(FactUse), got.Known(FactHeight))
	}
	p.Type = ProjectCivil
	if pf := FactsOf(&p); !reflect.DeepEqual(pf.Facts, f) || pf.Type != ProjectCivil {
		t.Errorf("FactsOf = %+v", pf)
	}
	p.FactsJSON = `{"use":"castle"}`
	if pf := FactsOf(&p); !pf.Facts.IsZero() {
		t.Errorf("unreadable stored facts gave %+v; want none (every item they decide stays required)", pf.Facts)
	}
}

func TestFactKeysAreTheContract(t *testing.T) {
	want := []string{"civil_air_defence", "earthwork_m3", "eia_category", "electricity_mwh_per_year", "energy_tce_per_year",
		"floor_area_m2", "hazardous_chemicals", "height_m", "investment", "land_source", "new_construction_land",
		"own_water_source", "regional_assessment", "site_area_ha", "use", "zones"}
	if got := FactKeys(); !slices.Equal(got, want) {
		t.Errorf("FactKeys = %v, want %v", got, want)
	}
	// Every key round-trips through its JSON name.
	for _, k := range want {
		f, err := ParseFacts([]byte(`{"` + k + `":null}`))
		if err != nil || !f.IsZero() {
			t.Errorf("%s: %v", k, err)
		}
	}
}
