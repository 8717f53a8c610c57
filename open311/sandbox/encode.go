package sandbox

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/equity311/equity311/open311"
)

// requestOut is a request on the wire.
func requestOut(r open311.Request, ext bool) map[string]any {
	ts := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return t.Format(time.RFC3339)
	}
	str := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	m := map[string]any{
		"service_request_id": r.ID, "status": r.Status, "status_notes": str(r.StatusNotes),
		"service_name": str(r.ServiceName), "service_code": r.ServiceCode, "description": str(r.Description),
		"agency_responsible": str(r.AgencyResponsible), "service_notice": nil,
		"requested_datetime": r.Requested.Format(time.RFC3339), "updated_datetime": ts(r.Updated),
		"expected_datetime": nil, "address": str(r.Address), "address_id": str(r.AddressID), "zipcode": nil,
		"lat": nil, "long": nil, "media_url": nil,
	}
	if r.Lat != nil && r.Lon != nil {
		m["lat"], m["long"] = *r.Lat, *r.Lon
	}
	if ext {
		m["extended_attributes"] = map[string]any{"channel": str(r.Channel)}
	}
	return m
}

func (s *Server) writeRequests(w http.ResponseWriter, format string, reqs []open311.Request, ext bool) {
	out := make([]map[string]any, 0, len(reqs))
	for _, r := range reqs {
		out = append(out, requestOut(r, ext))
	}
	s.write(w, format, "service_requests", "request", out)
}

func servicesOut(svs []open311.Service) []map[string]any {
	out := make([]map[string]any, 0, len(svs))
	for _, sv := range svs {
		out = append(out, map[string]any{"service_code": sv.Code, "service_name": sv.Name, "description": sv.Description,
			"metadata": sv.Metadata, "type": sv.Type, "keywords": sv.Keywords, "group": sv.Group})
	}
	return out
}

// write sends a list as JSON (a bare array) or XML (<root><item>…).
func (s *Server) write(w http.ResponseWriter, format, root, item string, list []map[string]any) {
	if format == "json" {
		writeJSON(w, http.StatusOK, list)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	var b strings.Builder
	b.WriteString(xml.Header + "<" + root + ">")
	for _, m := range list {
		b.WriteString("<" + item + ">")
		writeXMLFields(&b, m)
		b.WriteString("</" + item + ">")
	}
	b.WriteString("</" + root + ">\n")
	w.Write([]byte(b.String()))
}

func writeXMLFields(b *strings.Builder, m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := m[k].(type) {
		case nil:
			b.WriteString("<" + k + "/>")
		case map[string]any:
			b.WriteString("<" + k + ">")
			writeXMLFields(b, v)
			b.WriteString("</" + k + ">")
		default:
			b.WriteString("<" + k + ">")
			xml.EscapeText(stringWriter{b}, []byte(fmt.Sprint(v)))
			b.WriteString("</" + k + ">")
		}
	}
}

type stringWriter struct{ b *strings.Builder }

func (w stringWriter) Write(p []byte) (int, error) { return w.b.Write(p) }

// fail writes the spec's error body.
func (s *Server) fail(w http.ResponseWriter, format string, code int, msg string) {
	if format == "xml" {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(code)
		var b strings.Builder
		b.WriteString(xml.Header + "<errors><error><code>" + strconv.Itoa(code) + "</code><description>")
		xml.EscapeText(stringWriter{&b}, []byte(msg))
		b.WriteString("</description></error></errors>\n")
		w.Write([]byte(b.String()))
		return
	}
	writeJSON(w, code, []open311.APIError{{Code: code, Description: msg}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeXML(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(code)
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(v)
}

// xmlDefinition renders a service definition as XML.
func xmlDefinition(def map[string]any) any {
	type value struct {
		Key  string `xml:"key"`
		Name string `xml:"name"`
	}
	type attr struct {
		Variable            bool    `xml:"variable"`
		Code                string  `xml:"code"`
		Datatype            string  `xml:"datatype"`
		Required            bool    `xml:"required"`
		DatatypeDescription string  `xml:"datatype_description"`
		Order               int     `xml:"order"`
		Description         string  `xml:"description"`
		Values              []value `xml:"values>value"`
	}
	out := struct {
		XMLName    xml.Name `xml:"service_definition"`
		Code       string   `xml:"service_code"`
		Attributes []attr   `xml:"attributes>attribute"`
	}{Code: def["service_code"].(string)}
	for _, a := range def["attributes"].([]map[string]any) {
		x := attr{Variable: a["variable"].(bool), Code: a["code"].(string), Datatype: a["datatype"].(string),
			Required: a["required"].(bool), Order: a["order"].(int), Description: a["description"].(string)}
		if d, ok := a["datatype_description"].(string); ok {
			x.DatatypeDescription = d
		}
		if vs, ok := a["values"].([]map[string]string); ok {
			for _, v := range vs {
				x.Values = append(x.Values, value{v["key"], v["name"]})
			}
		}
		out.Attributes = append(out.Attributes, x)
	}
	return out
}
