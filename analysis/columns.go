package analysis

import (
	"database/sql/driver"
	"math"
	"strings"
)

// metricColumn is one column of analysis_area_metrics: its name, how an
// AreaMetrics gives its value to the table, and the field a loaded value
// goes to. The one list of the table's columns, for writing and loading.
type metricColumn struct {
	name string
	get  func(a *AreaMetrics) driver.Value
	// dest returns where Load scans the column into; nil scans into a
	// float that load assigns with set.
	dest func(a *AreaMetrics) any
	set  func(a *AreaMetrics, v float64)
}

func estimateColumns(prefix string, e func(a *AreaMetrics) *Estimate) []metricColumn {
	return []metricColumn{
		{name: prefix, get: func(a *AreaMetrics) driver.Value { return nan2nil(e(a).Value) }, set: func(a *AreaMetrics, v float64) { e(a).Value = v }},
		{name: prefix + "_lo", get: func(a *AreaMetrics) driver.Value { return nan2nil(e(a).Lo) }, set: func(a *AreaMetrics, v float64) { e(a).Lo = v }},
		{name: prefix + "_hi", get: func(a *AreaMetrics) driver.Value { return nan2nil(e(a).Hi) }, set: func(a *AreaMetrics, v float64) { e(a).Hi = v }},
	}
}

// metricColumns lists analysis_area_metrics after its period column.
func metricColumns() []metricColumn {
	cols := []metricColumn{
		{name: "layer", get: func(a *AreaMetrics) driver.Value { return a.Layer }, dest: func(a *AreaMetrics) any { return &a.Layer }},
		{name: "area_id", get: func(a *AreaMetrics) driver.Value { return a.AreaID }, dest: func(a *AreaMetrics) any { return &a.AreaID }},
		{name: "name", get: func(a *AreaMetrics) driver.Value { return a.Name }, dest: func(a *AreaMetrics) any { return &a.Name }},
		{name: "population", get: func(a *AreaMetrics) driver.Value { return nan2nil(a.Population) }, set: func(a *AreaMetrics, v float64) { a.Population = v }},
		{name: "population_basis", get: func(a *AreaMetrics) driver.Value { return emptyNil(a.PopulationBasis) }, dest: func(a *AreaMetrics) any { return nullString{&a.PopulationBasis} }},
		{name: "tickets", get: func(a *AreaMetrics) driver.Value { return a.Tickets }, dest: func(a *AreaMetrics) any { return &a.Tickets }},
		{name: "resident", get: func(a *AreaMetrics) driver.Value { return a.Resident }, dest: func(a *AreaMetrics) any { return &a.Resident }},
		{name: "app", get: func(a *AreaMetrics) driver.Value { return a.App }, dest: func(a *AreaMetrics) any { return &a.App }},
		{name: "digital", get: func(a *AreaMetrics) driver.Value { return a.Digital }, dest: func(a *AreaMetrics) any { return &a.Digital }},
		{name: "share_base", get: func(a *AreaMetrics) driver.Value { return a.ShareBase }, dest: func(a *AreaMetrics) any { return &a.ShareBase }},
	}
	cols = append(cols, estimateColumns("app_share", func(a *AreaMetrics) *Estimate { return &a.AppShare })...)
	cols = append(cols, estimateColumns("digital_share", func(a *AreaMetrics) *Estimate { return &a.DigitalShare })...)
	cols = append(cols, estimateColumns("resident_per_1000", func(a *AreaMetrics) *Estimate { return &a.ResidentPer1000 })...)
	cols = append(cols, estimateColumns("app_per_1000", func(a *AreaMetrics) *Estimate { return &a.AppPer1000 })...)
	cols = append(cols, metricColumn{name: "low_count", get: func(a *AreaMetrics) driver.Value { return a.LowCount }, dest: func(a *AreaMetrics) any { return &a.LowCount }})
	return cols
}

// columnList joins the names of cols for SQL.
func columnList(cols []metricColumn) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

func nan2nil(v float64) driver.Value {
	if math.IsNaN(v) {
		return nil
	}
	return v
}

func emptyNil(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}

// nullString scans a nullable VARCHAR into a string, "" for NULL.
type nullString struct{ s *string }

func (n nullString) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*n.s = ""
	case string:
		*n.s = x
	case []byte:
		*n.s = string(x)
	}
	return nil
}
