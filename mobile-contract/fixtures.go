package mobilecontract

import (
	_ "embed"
	"encoding/json"
)

//go:embed demo-fixtures.json
var demoFixtures []byte

// DemoFixtures is the development data set the mobile team's dev builds use
// (design/contract.md, "Demo data"). Item progress is given as how many of
// the project's first items (in catalog order, walking the prerequisites)
// are approved, pre-approved and accepted, so the fixture follows the
// catalog instead of repeating its codes.
type DemoFixtures struct {
	Enterprises []struct {
		CreditCode string `json:"credit_code"`
		Name       string `json:"name"`
	} `json:"enterprises"`
	Users []struct {
		Username             string `json:"username"`
		DisplayName          string `json:"display_name"`
		Role                 string `json:"role"`
		EnterpriseCreditCode string `json:"enterprise_credit_code"`
		AgentLevel           string `json:"agent_level"`
		RegionCode           string `json:"region_code"`
	} `json:"users"`
	Projects []DemoProject `json:"projects"`
}

// DemoProject is one demo project.
type DemoProject struct {
	ID                   string   `json:"id"`
	Name                 string   `json:"name"`
	Type                 string   `json:"type"`
	EnterpriseCreditCode string   `json:"enterprise_credit_code"`
	RegionCode           string   `json:"region_code"`
	KeyProject           bool     `json:"key_project"`
	RegionalAssessment   bool     `json:"regional_assessment"`
	StandardLand         bool     `json:"standard_land"`
	Agents               []string `json:"agents"`
	// Facts is the project's project.facts, as the upstream sends them
	// (design/contract.md, "The project's own guide"); models.ParseFacts
	// reads them.
	Facts json.RawMessage `json:"facts"`
	Items struct {
		Approved    int `json:"approved"`
		PreApproved int `json:"pre_approved"`
		Accepted    int `json:"accepted"`
	} `json:"items"`
}

// LoadDemoFixtures parses the embedded demo data set.
func LoadDemoFixtures() (DemoFixtures, error) {
	var f DemoFixtures
	err := json.Unmarshal(demoFixtures, &f)
	return f, err
}
