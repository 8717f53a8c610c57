package dump

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/internal/fetch"
	"github.com/equity311/equity311/store"
)

// CKANOptions configure LoadCKAN.
type CKANOptions struct {
	URL      string // the portal, e.g. https://data.boston.gov
	Resource string // the datastore resource id
	Profile  *Profile
	City     string
	PageSize int // records per request (default 1000)
	MaxPages int // pages read before giving up on a server that never stops (default DefaultMaxPages)
	Design   store.Design
	Client   *fetch.Client
	Log      *slog.Logger
}

// LoadCKAN pages through a CKAN datastore resource (the API form of a
// dump: datastore_search with limit, offset and a stable sort by _id) and
// loads it through a profile like a dump. Loading the same records again
// changes nothing.
func LoadCKAN(ctx context.Context, st *store.Store, opt CKANOptions) (Result, error) {
	if opt.URL == "" || opt.Resource == "" {
		return Result{}, equity311.OptionErrorf("url/resource", "ckan: the portal URL and the resource id are required")
	}
	if opt.PageSize <= 0 {
		opt.PageSize = 1000
	}
	c := opt.Client
	if c == nil {
		c = fetch.New()
	}
	name := trimSlash(opt.URL) + "/dataset/resource/" + opt.Resource
	var fields []string
	page := func(ctx context.Context, offset int) ([]map[string]any, error) {
		q := url.Values{"resource_id": {opt.Resource}, "limit": {strconv.Itoa(opt.PageSize)},
			"offset": {strconv.Itoa(offset)}, "sort": {"_id asc"}}
		var body struct {
			Success bool `json:"success"`
			Error   any  `json:"error"`
			Result  struct {
				Fields []struct {
					ID string `json:"id"`
				} `json:"fields"`
				Records []map[string]any `json:"records"`
			} `json:"result"`
		}
		u := trimSlash(opt.URL) + "/api/3/action/datastore_search?" + q.Encode()
		if err := c.GetJSON(ctx, u, nil, &body); err != nil {
			return nil, err
		}
		if !body.Success {
			return nil, fmt.Errorf("ckan %s: datastore_search failed: %v", name, body.Error)
		}
		if fields == nil {
			for _, f := range body.Result.Fields {
				if f.ID != "_id" && f.ID != "_full_text" {
					fields = append(fields, f.ID)
				}
			}
		}
		return body.Result.Records, nil
	}
	// The first page names the fields, which pick the profile.
	first, err := page(ctx, 0)
	if err != nil {
		return Result{File: name}, err
	}
	p, err := pickProfile(opt.Profile, fields)
	if err != nil {
		return Result{File: name}, fmt.Errorf("ckan %s: %w", name, err)
	}
	served := false
	recs := newAPIRecords(ctx, fields, func(ctx context.Context, offset int) ([]map[string]any, error) {
		if offset == 0 && !served {
			served = true
			return first, nil
		}
		return page(ctx, offset)
	}, opt.MaxPages)
	city := p.City
	if opt.City != "" {
		city = opt.City
	}
	return LoadRecords(ctx, st, Records{Kind: "ckan", Name: name, Profile: p, City: city, Headers: fields,
		Reader: recs, Checksum: recs.checksum, Log: opt.Log, Design: opt.Design})
}
