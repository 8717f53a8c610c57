package reports

import (
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
)

// comparePage is what the comparison template renders.
type comparePage struct {
	Title, Period, Version, Generated string
	// SamePeriod is the one period every city is shown on ("" when each
	// has its own); Disjoint warns of cities whose periods do not overlap.
	SamePeriod, Disjoint string
	Omitted              []Omitted
	Notice               template.JS
	Headline             tableView
	Vocabularies         []tableView
}

// Omitted is a city of the database the comparison cannot show, and why.
type Omitted struct{ City, Reason string }

// datesOf writes a period as dates: "10 November 2025 to 8 November 2026".
func datesOf(p equity311.Period) string {
	return p.From.Format("2 January 2006") + " to " + p.To.Add(-time.Second).Format("2 January 2006")
}

// designWords says what a city's sources are, taken together.
func designWords(r results.CityRun) string {
	var w string
	switch r.Design {
	case results.DesignComplete:
		w = "complete (declared)"
	case results.DesignAssumedComplete:
		w = "taken as complete (not declared)"
	case results.DesignSamples:
		w = "a sample or an extract: shares only, no rates"
	default:
		w = r.Design
	}
	if r.DesignNote != "" {
		return r.DesignNote // a sentence of its own, naming the sources
	}
	return w
}

// WriteComparison writes the comparison of the cities' results (one per
// city, each of its own period or all of one): the headline figures side
// by side with each city's period and the design of its sources, a
// warning when periods do not overlap, the cities that could not be shown
// with the reason, and each city's channel vocabulary explained, since
// cities record channels differently.
func WriteComparison(cities []*results.Analysis, omitted []Omitted, dir string, opt Options) (Files, error) {
	f := Files{HTML: filepath.Join(dir, "index.html")}
	if len(cities) == 0 {
		var why []string
		for _, o := range omitted {
			why = append(why, o.City+": "+o.Reason)
		}
		return f, fmt.Errorf("comparison: no city to compare (%s)", strings.Join(why, "; "))
	}
	first := cities[0]
	p := &comparePage{Title: "Who reports through the app: cities compared", Period: first.Period.Label, Omitted: omitted,
		Version: equity311.Version, Notice: template.JS(echartsNotice)}
	same := true
	for _, c := range cities[1:] {
		same = same && c.Period.From.Equal(first.Period.From) && c.Period.To.Equal(first.Period.To)
	}
	if same {
		p.SamePeriod = datesOf(first.Period) + " (" + first.PeriodBasis + ")"
	} else {
		p.Period = "each city's own period"
	}
	for i, a := range cities {
		for _, b := range cities[i+1:] {
			if !a.Period.From.Before(b.Period.To) || !b.Period.From.Before(a.Period.To) {
				p.Disjoint = fmt.Sprintf("The periods of %s (%s) and %s (%s) do not overlap: their figures describe different times, and differences between them may be change over time rather than between cities.",
					a.City, datesOf(a.Period), b.City, datesOf(b.Period))
				break
			}
		}
		if p.Disjoint != "" {
			break
		}
	}
	if opt.Title != "" {
		p.Title = opt.Title
	}
	if !opt.Generated.IsZero() {
		p.Generated = opt.Generated.Format("2 January 2006 15:04 MST")
	}
	p.Headline = tableView{ID: "table-headline", Caption: "Headline figures by city",
		Head: []string{"City", "Period", "Sources", "Requests", "Resident", "From sources that record the app", "App share", "Digital share",
			"Resident requests per 1,000 a year", "Richest − poorest fifth of areas (points)", "Concentration index"}}
	for _, res := range cities {
		city := res.City
		c := res.CityRow()
		gap, conc := "—", "—"
		who := whoLayer(res, "") // as the city's own weekly report: the layer with most areas in income groups
		for _, g := range res.Gaps {
			if g.Grouping == "income_quintile" && g.Layer == who {
				d := g.Difference
				gap = fmt.Sprintf("%s (%s to %s) on %s", points(d.Value), points(d.Lo), points(d.Hi), g.Layer)
				break
			}
		}
		for _, x := range res.Concentration {
			if x.Layer == who {
				conc = dec(x.Index, 3) + " on " + x.Layer
			}
		}
		p.Headline.add(false, city, datesOf(res.Period)+" ("+res.PeriodBasis+")", designWords(res.Run), num(c.Tickets), num(c.Resident), num(c.ShareBase), shareWithCI(c.AppShare), shareWithCI(c.DigitalShare),
			rateWithCI(c.ResidentPer1000), gap, conc)
		v := tableView{ID: "table-vocabulary-" + city, Caption: city + ": the channels its sources record, and what each means",
			Head: []string{"Channel", "Requests", "Recorded by", "Means"}}
		by := map[equity311.Channel][]string{}
		for _, sc := range res.Sources {
			name := sc.Profile
			if !slices.Contains(by[sc.Channel], name) {
				by[sc.Channel] = append(by[sc.Channel], name)
			}
		}
		for _, ch := range equity311.Channels() {
			if n := c.Counts[ch]; n > 0 {
				v.add(false, string(ch), num(n), strings.Join(by[ch], ", "), ch.Meaning())
			}
		}
		p.Vocabularies = append(p.Vocabularies, v)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return f, err
	}
	tpl, err := template.New("compare").Parse(pageTemplate)
	if err != nil {
		return f, err
	}
	if tpl, err = tpl.New("comparison").Parse(compareTemplate); err != nil {
		return f, err
	}
	var b strings.Builder
	if err := tpl.ExecuteTemplate(&b, "comparison", p); err != nil {
		return f, fmt.Errorf("render comparison: %w", err)
	}
	return f, writeAtomic(f.HTML, []byte(b.String()))
}

const compareTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — {{.Period}}</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; margin: 0; line-height: 1.5; }
  main { max-width: 1100px; margin: 0 auto; padding: 1.25rem; }
  .scroll { overflow-x: auto; }
  table { border-collapse: collapse; width: 100%; font-size: .88rem; }
  caption { text-align: left; font-weight: 600; padding: .35rem 0; }
  th, td { padding: .3rem .5rem; border-bottom: 1px solid #e3e3e3; text-align: left; vertical-align: top; }
  th { background: #f5f5f5; }
  td.n, th.n { text-align: right; }
  td.n { white-space: nowrap; font-variant-numeric: tabular-nums; }
  .note { font-size: .9rem; color: #333; }
  footer { margin-top: 3rem; font-size: .8rem; color: #555; }
  @media print { main { padding: 0; } }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p class="note">{{if .SamePeriod}}Requests opened {{.SamePeriod}}{{else}}Each city is shown on its own period (beside its figures){{end}}{{if .Generated}} · made {{.Generated}}{{end}}. Each city's dump or feed records channels in its own words; equity311 maps them to the same canonical channels (below), and app shares count only sources that can tell an app request from others. Ranges are 95% intervals.</p>
{{if .Disjoint}}<p class="note"><b>Different times.</b> {{.Disjoint}}</p>{{end}}
{{template "table" .Headline}}
{{if .Omitted}}<p class="note"><b>Not shown:</b> {{range $i, $o := .Omitted}}{{if $i}}; {{end}}{{$o.City}} ({{$o.Reason}}){{end}}.</p>{{end}}
{{range .Vocabularies}}{{template "table" .}}{{end}}
<footer>Made by equity311 {{.Version}}.</footer>
</main>
</body>
</html>
`
