package proj

import (
	"math"

	"github.com/paulmach/orb"
)

// The transverse Mercator is computed by Krüger's series in the third
// flattening n to sixth order, as Karney gives it ("Transverse Mercator
// with an accuracy of a few nanometers", J. Geodesy 85, 2011, eqs. 7–36)
// and as PROJ's tmerc uses by default: within a state plane zone it is
// exact far below a millimetre, where Snyder's series in the longitude
// difference loses accuracy away from the central meridian.

// krueger holds the series' coefficients for the GRS80 ellipsoid.
type krueger struct {
	e     float64    // eccentricity
	A     float64    // rectifying radius
	alpha [6]float64 // forward
	beta  [6]float64 // inverse
}

func newKrueger() krueger {
	a, e := ellipsoid()
	n := flattening / (2 - flattening)
	n2, n3 := n*n, n*n*n
	n4, n5, n6 := n2*n2, n2*n3, n3*n3
	return krueger{
		e: e,
		A: a / (1 + n) * (1 + n2/4 + n4/64 + n6/256),
		alpha: [6]float64{
			n/2 - 2*n2/3 + 5*n3/16 + 41*n4/180 - 127*n5/288 + 7891*n6/37800,
			13*n2/48 - 3*n3/5 + 557*n4/1440 + 281*n5/630 - 1983433*n6/1935360,
			61*n3/240 - 103*n4/140 + 15061*n5/26880 + 167603*n6/181440,
			49561*n4/161280 - 179*n5/168 + 6601661*n6/7257600,
			34729*n5/80640 - 3418889*n6/1995840,
			212378941 * n6 / 319334400,
		},
		beta: [6]float64{
			n/2 - 2*n2/3 + 37*n3/96 - n4/360 - 81*n5/512 + 96199*n6/604800,
			n2/48 + n3/15 - 437*n4/1440 + 46*n5/105 - 1118711*n6/3870720,
			17*n3/480 - 37*n4/840 - 209*n5/4480 + 5569*n6/90720,
			4397*n4/161280 - 11*n5/504 - 830251*n6/7257600,
			4583*n5/161280 - 108847*n6/3991680,
			20648693 * n6 / 638668800,
		},
	}
}

// conformal returns tan of the conformal latitude for latitude phi.
func (k krueger) conformal(phi float64) float64 {
	s := math.Sin(phi)
	return math.Sinh(math.Atanh(s) - k.e*math.Atanh(k.e*s))
}

// forward maps latitude and longitude from the central meridian
// (radians) to the scaled plane (ξ, η), in units of A.
func (k krueger) forward(phi, lam float64) (xi, eta float64) {
	t := k.conformal(phi)
	xi1 := math.Atan2(t, math.Cos(lam))
	eta1 := math.Atanh(math.Sin(lam) / math.Hypot(1, t))
	xi, eta = xi1, eta1
	for j, a := range k.alpha {
		f := 2 * float64(j+1)
		xi += a * math.Sin(f*xi1) * math.Cosh(f*eta1)
		eta += a * math.Cos(f*xi1) * math.Sinh(f*eta1)
	}
	return xi, eta
}

// inverse maps (ξ, η) back to latitude and longitude (radians).
func (k krueger) inverse(xi, eta float64) (phi, lam float64) {
	xi1, eta1 := xi, eta
	for j, b := range k.beta {
		f := 2 * float64(j+1)
		xi1 -= b * math.Sin(f*xi) * math.Cosh(f*eta)
		eta1 -= b * math.Cos(f*xi) * math.Sinh(f*eta)
	}
	tau1 := math.Sin(xi1) / math.Hypot(math.Sinh(eta1), math.Cos(xi1))
	lam = math.Atan2(math.Sinh(eta1), math.Cos(xi1))
	// tan φ from the conformal latitude's tangent by Newton's method
	// (Karney 2011, eqs. 19–21).
	e2 := k.e * k.e
	tau := tau1
	for i := 0; i < 10; i++ {
		sigma := math.Sinh(k.e * math.Atanh(k.e*tau/math.Hypot(1, tau)))
		taui := tau*math.Hypot(1, sigma) - sigma*math.Hypot(1, tau)
		d := (tau1 - taui) / math.Hypot(1, taui) * (1 + (1-e2)*tau*tau) / ((1 - e2) * math.Hypot(1, tau))
		tau += d
		if math.Abs(d) < 1e-14 {
			break
		}
	}
	return math.Atan(tau), lam
}

func (m TM) withUnit(unit, fe, fn float64) Projection {
	m.Unit, m.FalseEasting, m.FalseNorthing = unit, fe, fn
	return m
}

// Forward returns the transform from lon/lat to projected coordinates.
func (m TM) Forward() func(lon, lat float64) (x, y float64) {
	k := newKrueger()
	xi0, _ := k.forward(rad(m.Lat0), 0)
	return func(lon, lat float64) (float64, float64) {
		xi, eta := k.forward(rad(lat), rad(lon-m.Lon0))
		x := m.FalseEasting + m.K0*k.A*eta
		y := m.FalseNorthing + m.K0*k.A*(xi-xi0)
		return x / m.Unit, y / m.Unit
	}
}

// Inverse returns the transform from projected coordinates to lon/lat.
func (m TM) Inverse() Transform {
	k := newKrueger()
	xi0, _ := k.forward(rad(m.Lat0), 0)
	return func(p orb.Point) orb.Point {
		eta := (p[0]*m.Unit - m.FalseEasting) / (m.K0 * k.A)
		xi := (p[1]*m.Unit-m.FalseNorthing)/(m.K0*k.A) + xi0
		phi, lam := k.inverse(xi, eta)
		return orb.Point{lam*180/math.Pi + m.Lon0, phi * 180 / math.Pi}
	}
}
