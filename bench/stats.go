package bench

import (
	"fmt"
	"slices"
	"time"
)

// Dist is a set of durations.
type Dist []time.Duration

// P returns the q-quantile (0 < q ≤ 1) by the nearest-rank method; 0 if empty.
func (d Dist) P(q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

// Max is the largest duration; 0 if empty.
func (d Dist) Max() time.Duration {
	if len(d) == 0 {
		return 0
	}
	return slices.Max(d)
}

// Ms formats d in milliseconds with a precision that suits its size.
func Ms(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 1:
		return fmt.Sprintf("%.3f ms", ms)
	case ms < 100:
		return fmt.Sprintf("%.2f ms", ms)
	default:
		return fmt.Sprintf("%.0f ms", ms)
	}
}

// PP formats the p50 and p99 of d.
func (d Dist) PP() string { return Ms(d.P(0.5)) + " / " + Ms(d.P(0.99)) }

// PPP formats the p50, p90 and p99 of d.
func (d Dist) PPP() string { return Ms(d.P(0.5)) + " / " + Ms(d.P(0.9)) + " / " + Ms(d.P(0.99)) }

// Ratio is a/b formatted as "1.23×".
func Ratio(a, b time.Duration) string {
	if b <= 0 {
		return "–"
	}
	if r := float64(a) / float64(b); r < 0.01 {
		return fmt.Sprintf("%.4f×", r)
	} else {
		return fmt.Sprintf("%.2f×", r)
	}
}
