package synthcity

// Service is one request type in the synthetic city's catalog.
type Service struct {
	Name       string  `json:"name"`
	Department string  `json:"department"` // Boston-style department code
	Subject    string  `json:"subject"`
	Reason     string  `json:"reason"`
	AppOffered bool    `json:"app_offered"` // on the smartphone app's menu
	Weight     float64 `json:"weight"`      // relative volume
	Employee   float64 `json:"employee"`    // share of requests made by staff
}

// catalog returns the city's 50 request types; 8 are offered in the app,
// as Boston's Citizens Connect offered a handful of ~170 types.
func catalog() []Service {
	return []Service{
		{"Request for Pothole Repair", "PWDx", "Public Works Department", "Highway Maintenance", true, 6, 0.15},
		{"Street Light Outages", "PWDx", "Public Works Department", "Street Lights", true, 5, 0.35},
		{"Graffiti Removal", "PROP", "Property Management", "Graffiti", true, 3, 0.20},
		{"Missed Trash/Recycling/Yard Waste/Bulk Item", "PWDx", "Public Works Department", "Sanitation", true, 5, 0.05},
		{"Sidewalk Repair (Make Safe)", "PWDx", "Public Works Department", "Highway Maintenance", true, 3, 0.40},
		{"Abandoned Vehicles", "BTDT", "Transportation - Traffic Division", "Enforcement & Abandoned Vehicles", true, 2.5, 0.10},
		{"Illegal Dumping", "PWDx", "Public Works Department", "Sanitation", true, 2, 0.15},
		{"Request for Snow Plowing", "PWDx", "Public Works Department", "Street Cleaning", true, 3, 0.05},
		{"Parking Enforcement", "BTDT", "Transportation - Traffic Division", "Enforcement & Abandoned Vehicles", false, 8, 0.05},
		{"Schedule a Bulk Item Pickup", "PWDx", "Public Works Department", "Sanitation", false, 7, 0.02},
		{"Requests for Street Cleaning", "PWDx", "Public Works Department", "Street Cleaning", false, 4, 0.20},
		{"Needle Pickup", "GEN_", "Mayor's 24 Hour Hotline", "Needle Program", false, 2, 0.10},
		{"Rodent Activity", "ISD", "Inspectional Services", "Environmental Services", false, 2, 0.10},
		{"Unsatisfactory Living Conditions", "ISD", "Inspectional Services", "Housing", false, 1.5, 0.02},
		{"Heat - Excessive  Insufficient", "ISD", "Inspectional Services", "Housing", false, 1, 0.01},
		{"Improper Storage of Trash (Barrels)", "ISD", "Inspectional Services", "Code Enforcement", false, 2, 0.30},
		{"Tree Maintenance Requests", "PARK", "Parks & Recreation Department", "Trees", false, 1.5, 0.10},
		{"New Tree Requests", "PARK", "Parks & Recreation Department", "Trees", false, 0.5, 0.02},
		{"Park Maintenance & Safety", "PARK", "Parks & Recreation Department", "Park Maintenance & Safety", false, 0.8, 0.25},
		{"Traffic Signal Inspection", "BTDT", "Transportation - Traffic Division", "Signs & Signals", false, 1, 0.30},
		{"Sign Repair", "BTDT", "Transportation - Traffic Division", "Signs & Signals", false, 0.8, 0.40},
		{"Pavement Marking Maintenance", "BTDT", "Transportation - Traffic Division", "Signs & Signals", false, 0.6, 0.45},
		{"Catchbasin", "BWSC", "Boston Water & Sewer Commission", "Catchbasin", false, 0.5, 0.20},
		{"Sewage/Septic Back-Up", "BWSC", "Boston Water & Sewer Commission", "Sewer", false, 0.3, 0.05},
		{"Water in Basement", "BWSC", "Boston Water & Sewer Commission", "Sewer", false, 0.2, 0.02},
		{"Noise Disturbance", "BPD_", "Boston Police Department", "Noise Disturbance", false, 1.5, 0.01},
		{"Loud Parties/Music/People", "BPD_", "Boston Police Department", "Noise Disturbance", false, 1.2, 0.01},
		{"Animal Generic Request", "ANML", "Animal Control", "Animal Issues", false, 0.6, 0.05},
		{"Dead Animal Pick-up", "PWDx", "Public Works Department", "Sanitation", false, 0.8, 0.20},
		{"Pick up Dead Animal", "ANML", "Animal Control", "Animal Issues", false, 0.3, 0.10},
		{"Unshoveled Sidewalk", "PWDx", "Public Works Department", "Code Enforcement", false, 1, 0.15},
		{"Overflowing or Un-kept Dumpster", "ISD", "Inspectional Services", "Code Enforcement", false, 0.7, 0.10},
		{"Poor Conditions of Property", "ISD", "Inspectional Services", "Housing", false, 0.8, 0.05},
		{"Building Inspection Request", "ISD", "Inspectional Services", "Building", false, 0.6, 0.10},
		{"Mice Infestation - Residential", "ISD", "Inspectional Services", "Environmental Services", false, 0.4, 0.02},
		{"Bed Bugs", "ISD", "Inspectional Services", "Housing", false, 0.2, 0.01},
		{"Snow Removal", "PWDx", "Public Works Department", "Street Cleaning", false, 0.8, 0.10},
		{"Space Saver Removal", "PWDx", "Public Works Department", "Street Cleaning", false, 0.3, 0.20},
		{"Street Light Knock Downs", "PWDx", "Public Works Department", "Street Lights", false, 0.2, 0.60},
		{"Contractor Complaints", "PWDx", "Public Works Department", "Highway Maintenance", false, 0.3, 0.05},
		{"Roadway Repair", "PWDx", "Public Works Department", "Highway Maintenance", false, 0.6, 0.50},
		{"Equipment Repair", "PWDx", "Public Works Department", "Highway Maintenance", false, 0.3, 0.70},
		{"General Comments For a Program or Policy", "GEN_", "Mayor's 24 Hour Hotline", "Employee & General Comments", false, 0.7, 0.02},
		{"PRINTED: Street Light Knockdown", "PWDx", "Public Works Department", "Street Lights", false, 0.1, 0.80},
		{"Student Transportation", "BPS_", "Boston Public Schools", "School Transportation", false, 0.3, 0.02},
		{"Illegal Occupancy", "ISD", "Inspectional Services", "Building", false, 0.2, 0.05},
		{"Abandoned Bicycle", "BTDT", "Transportation - Traffic Division", "Enforcement & Abandoned Vehicles", false, 0.3, 0.05},
		{"Work w/out Permit", "ISD", "Inspectional Services", "Building", false, 0.3, 0.10},
		{"Fire Hydrant", "BWSC", "Boston Water & Sewer Commission", "Water Issues", false, 0.1, 0.30},
		{"City/State Snow Issues", "PWDx", "Public Works Department", "Street Cleaning", false, 0.3, 0.05},
	}
}

// neighborhoodNames are invented; none is a real place.

func neighborhoodNames() []string {
	return []string{
		"Alder Point", "Beacon Reach", "Brightwater", "Cedar Flats", "Copper Hill",
		"Dunmore", "East Landing", "Fairhaven Heights", "Foundry Row", "Glenmere",
		"Harbor View", "Ironside", "Juniper Park", "Kingsbridge", "Larkfield",
		"Millbrook", "North Wharf", "Oakridge", "Pinecrest", "Quarry Square",
		"Riverbend", "Saltmarsh", "Tanner's Gate", "Upper Vale", "Westmoor",
		"Willow Island",
	}
}

// closeMean is the planted mean days to close of the type (before the
// channel factor): a few days for the app's quick fixes, longer for
// inspections and housing.
func (s Service) closeMean() float64 {
	switch s.Department {
	case "ISD":
		return 9
	case "BWSC", "PARK":
		return 6
	case "BTDT":
		return 2
	}
	if s.AppOffered {
		return 2.5
	}
	return 4
}

// targetDays is the type's service-level target: the on-time limit.
func (s Service) targetDays() float64 {
	if s.AppOffered {
		return 3
	}
	return 7
}
