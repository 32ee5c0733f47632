package models

import "strings"

// RegionScope trims the zero pairs that pad an administrative division
// code: a city agent's 370700 covers every 3707…, a district's 370702 its
// towns 370702xxx.
func RegionScope(region string) string {
	s := region
	for len(s) > 2 && strings.HasSuffix(s, "00") {
		s = s[:len(s)-2]
	}
	return s
}

// RegionCovers reports whether an agent of agentRegion serves taskRegion.
func RegionCovers(agentRegion, taskRegion string) bool {
	return agentRegion != "" && strings.HasPrefix(taskRegion, RegionScope(agentRegion))
}
