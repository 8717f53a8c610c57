// Package equity311 holds the vocabulary every stage of the equity311
// pipeline shares: the canonical channel values and whether each is
// resident-initiated, where a channel came from, geo-quality flags and
// reporting periods. It imports nothing of the project and no database
// driver; the DuckDB store is package store.
//
// The pipeline runs ingest → store → geo → analysis → reports: the ingest
// packages (ingest/dump, ingest/census, ingest/open311sync) and geo write
// the store; analysis reads what they wrote and writes its own tables;
// reports reads analysis results. cmd/equity311 wires them.
package equity311

import (
	"fmt"
	"strings"
)

// Channel is the canonical intake channel of a service request (DESIGN.md §4).
type Channel string

// The canonical channels.
const (
	App         Channel = "app"         // smartphone apps
	Web         Channel = "web"         // web forms, self service
	Online      Channel = "online"      // app or web; the source does not say which
	Phone       Channel = "phone"       // call centre, voice
	Email       Channel = "email"       // e-mail, letters
	Social      Channel = "social"      // Twitter and other social media
	WalkIn      Channel = "walk_in"     // in person
	Employee    Channel = "employee"    // staff and city-worker apps
	Integration Channel = "integration" // other city systems
	Other       Channel = "other"       // known but none of the above
	Unknown     Channel = "unknown"     // not recorded or not mapped
)

// Channels returns every canonical channel in report order.
func Channels() []Channel {
	return []Channel{App, Web, Online, Phone, Email, Social, WalkIn, Employee, Integration, Other, Unknown}
}

// ParseChannel returns the canonical channel named s (case-insensitive).
func ParseChannel(s string) (Channel, error) {
	c := Channel(strings.ToLower(strings.TrimSpace(s)))
	for _, k := range Channels() {
		if c == k {
			return c, nil
		}
	}
	return "", fmt.Errorf("unknown channel %q (want one of %v)", s, Channels())
}

// ResidentInitiated reports whether requests on channel c come from residents.
// ok is false for channels where that is not known (other, unknown): the
// tickets table stores NULL for them.
func (c Channel) ResidentInitiated() (resident, ok bool) {
	switch c {
	case App, Web, Online, Phone, Email, Social, WalkIn:
		return true, true
	case Employee, Integration:
		return false, true
	}
	return false, false
}

// Digital reports whether c is an app or web channel.
func (c Channel) Digital() bool { return c == App || c == Web || c == Online }

// ChannelBasis says where a ticket's channel came from.
type ChannelBasis string

// Channel bases.
const (
	BasisReported ChannelBasis = "reported" // the source's own channel column
	BasisOpen311  ChannelBasis = "open311"  // inferred from the city's Open311 feed
	BasisNone     ChannelBasis = "none"     // no channel information
)

// GeoQuality classifies a ticket's coordinates (DESIGN.md §4). Tickets with
// coordinates have a NULL geo_quality until assign has placed them.
type GeoQuality string

// Geo-quality values.
const (
	GeoOK           GeoQuality = "ok"            // inside an area
	GeoMissing      GeoQuality = "missing"       // no coordinates
	GeoDefaultPoint GeoQuality = "default_point" // the city's placeholder point
	GeoOutside      GeoQuality = "outside"       // outside every area
	GeoInvalid      GeoQuality = "invalid"       // out of range or unparseable
)

// ResidentSQL returns an SQL expression giving resident_initiated for the
// channel that the SQL expression ch names: true, false or NULL, as
// Channel.ResidentInitiated says.
func ResidentSQL(ch string) string {
	var yes, no []string
	for _, c := range Channels() {
		switch r, ok := c.ResidentInitiated(); {
		case ok && r:
			yes = append(yes, "'"+string(c)+"'")
		case ok:
			no = append(no, "'"+string(c)+"'")
		}
	}
	return fmt.Sprintf("(CASE WHEN %s IN (%s) THEN true WHEN %s IN (%s) THEN false END)",
		ch, strings.Join(yes, ", "), ch, strings.Join(no, ", "))
}

// Meaning explains a channel in plain words, for reports.
func (c Channel) Meaning() string {
	switch c {
	case App:
		return "a smartphone app (the city's own or an Open311 client)"
	case Web:
		return "a web form or self-service portal"
	case Online:
		return "the app or the web: the source records only that the request came online, not which"
	case Phone:
		return "a call to the 311 centre"
	case Email:
		return "e-mail or a letter"
	case Social:
		return "Twitter or another social network"
	case WalkIn:
		return "in person at a city office"
	case Employee:
		return "city staff, including city-worker apps: not a resident's request"
	case Integration:
		return "another city system: not a resident's request"
	case Other:
		return "a channel the source names but equity311 does not group"
	case Unknown:
		return "not recorded, or a value the source's profile does not map"
	}
	return ""
}

// Version is equity311's version, printed in reports' provenance.
const Version = "0.4.0"
