package bench

import (
	"math"
	"sort"
	"time"
)

// Percentile is the q-quantile (0..1) of ds by the nearest-rank method; 0
// for no samples. ds is sorted in place.
func Percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	rank := int(math.Ceil(q * float64(len(ds))))
	rank = min(max(rank, 1), len(ds))
	return ds[rank-1]
}

// Median of xs (the mean of the middle two for an even count); NaN for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// PairRatios divides each real figure by the floor figure of its own pair
// (the blocks ran back to back, so slow drift of a shared machine cancels).
// Pairs with a zero floor are skipped.
func PairRatios(real, floor []float64) []float64 {
	var out []float64
	for i, f := range floor {
		if i < len(real) && f > 0 {
			out = append(out, real[i]/f)
		}
	}
	return out
}

// MedianRatio is the median of PairRatios.
func MedianRatio(real, floor []float64) float64 { return Median(PairRatios(real, floor)) }

// Rate is n events over d, per second; 0 for an empty span.
func Rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Ms is d in milliseconds, rounded to 0.01.
func Ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }

// Round2 rounds to two decimals (what the report prints and stores).
func Round2(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return math.Round(x*100) / 100
}
